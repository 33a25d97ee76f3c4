// See sema.h.
#include "frontend/sema.h"

#include <cmath>
#include <map>
#include <set>

#include "frontend/parser.h"
#include "tp/builder.h"
#include "tp/covariance.h"
#include "tp/errors.h"
#include "tp/printer.h"

namespace tp::frontend {

namespace {

// Most vectors one 'input' statement may declare. Their joint covariance is a dense d x d matrix, checked by an
// O(d^3) eigensolver (in sema, the builder and the verifier) and printed with d^2 entries by `tpc dump`, so a
// short script such as 'input a0, ..., a99999 ~ N(0, 1)' must not ask for 80 GB; at d = 256 a check takes
// well under a second even under the sanitizers.
constexpr std::size_t kMaxInputGroup = 256;

// The value of an expression during lowering.
struct Sym {
  enum Kind { Poison, Matrix, Coord } kind = Poison;
  ValueId matrix = -1;       // Matrix
  bool transposed = false;   // Matrix
  ExprPtr expr;              // Coord: over leaves
  std::vector<ValueId> leaves;
  bool vector = false;       // Coord: depends on a vector
  SourceRange range;
};

// c * n^p, for matrix variances.
struct Monomial {
  double coef = 0;
  double power = 0;
};

class Sema {
 public:
  explicit Sema(DiagnosticEngine& diags) : diags_(diags) {}

  std::optional<Program> run(const Ast& ast) {
    if (ast.statements.empty() && !diags_.has_errors()) {
      diags_.error(start_of_file(), "the file has no statements: it is empty or holds only comments")
          .notes.push_back("a program declares inputs and matrices, computes, and ends with outputs, e.g. "
                           "'input x ~ N(0, 1)' ... 'output avg(x * x)'");
      return std::nullopt;
    }
    for (const Stmt& s : ast.statements) {
      if (diags_.at_limit()) break;
      try {
        statement(s);
      } catch (const IrError& e) {
        // The checks below should pre-empt every builder error; if one slips through, report it at the statement.
        diags_.error(s.range, std::string("internal: ") + e.what());
      }
    }
    if (!diags_.has_errors() && !any_output_)  // issue #13 item 11: nothing to compute is an error, not a success
      diags_.error(ast.statements.empty() ? start_of_file() : ast.statements.back().range,
                   "the program has no 'output' statement, so there is nothing to compute; end it with e.g. "
                   "'output avg(x * x)'");
    if (diags_.has_errors()) return std::nullopt;
    return builder_.finish();
  }

 private:
  // ---- names ----
  bool declare(const std::string& name, SourceRange r) {
    if (name == "n") {
      diags_.error(r, "'n' is the width and cannot be redefined").notes.push_back("choose another name");
      return false;
    }
    Function f;
    if (function_from_spelling(name, f) || name == "avg" || name == "outer_avg" || name == "N") {
      diags_.error(r, "'" + name + "' is a built-in function and cannot be redefined");
      return false;
    }
    if (auto it = decl_.find(name); it != decl_.end()) {
      diags_.error(r, "'" + name + "' is already defined")
          .notes.push_back("the previous definition is at line " + std::to_string(it->second.begin.line) +
                           "; values are immutable, pick a new name");
      return false;
    }
    return true;
  }
  void bind(const std::string& name, ValueId id, SourceRange r) {
    symbols_[name] = id;
    decl_[name] = r;
  }
  static std::vector<std::string> function_names() {
    std::vector<std::string> names{"avg", "outer_avg"};
    for (Function g : all_functions()) names.push_back(function_spelling(g));
    return names;
  }
  std::vector<std::string> known_names() const {
    std::vector<std::string> v;
    for (const auto& [k, _] : symbols_) v.push_back(k);
    return v;
  }

  // ---- statements ----
  void statement(const Stmt& s) {
    switch (s.kind) {
      case StmtKind::Input: return input(s);
      case StmtKind::Matrix: return matrix(s);
      case StmtKind::Assign: return assign(s);
      case StmtKind::Output: return output(s);
    }
  }

  // Checks that e is N(mean, var) and returns its two arguments.
  bool distribution(const AstExpr& e, const char* example, const AstExpr*& mean, const AstExpr*& var) {
    if (e.kind != AstExprKind::Call || e.text != "N" || e.args.size() != 2) {
      auto& d = diags_.error(e.range, "expected a Gaussian distribution N(mean, variance)");
      d.notes.push_back(std::string("write e.g. '") + example + "'");
      return false;
    }
    mean = e.args[0].get();
    var = e.args[1].get();
    return true;
  }

  void input(const Stmt& s) {
    const AstExpr *mean = nullptr, *var = nullptr;
    if (!distribution(*s.distribution, "input x1, x2 ~ N(0, [[1, 0.5], [0.5, 1]])", mean, var)) {
      poisoned_.insert(s.names.begin(), s.names.end());
      return;
    }
    const std::size_t d = s.names.size();
    if (d > kMaxInputGroup) {
      diags_.error(s.name_ranges[kMaxInputGroup], "an 'input' statement declares at most " +
                                                       std::to_string(kMaxInputGroup) + " vectors, found " +
                                                       std::to_string(d))
          .notes.push_back("their joint covariance is a dense " + std::to_string(d) + "x" + std::to_string(d) +
                           " matrix; declare independent inputs in separate 'input' statements");
      poisoned_.insert(s.names.begin(), s.names.end());
      return;
    }
    bool ok = true;
    // Mean: zero (a number or a list of numbers).
    std::vector<double> mu;
    if (constant_list(*mean, mu, "the mean")) {
      for (double m : mu)
        if (m != 0) {
          diags_.error(mean->range, "initial vectors must have mean 0 (found " + format_number(m) + ")")
              .notes.push_back("shift inside an expression instead, e.g. 'input z ~ N(0, 1)' then 'x = z + " +
                               format_number(m) + "'");
          ok = false;
          break;
        }
      if (ok && mean->kind == AstExprKind::List && mu.size() != d) {
        diags_.error(mean->range, "the mean has " + std::to_string(mu.size()) + " entries but " + std::to_string(d) +
                                      " input" + (d == 1 ? " is" : "s are") + " declared");
        ok = false;
      }
    } else {
      ok = false;
    }
    Eigen::MatrixXd cov;
    if (!covariance(*var, d, cov)) ok = false;
    for (std::size_t i = 0; i < d; ++i)
      if (!declare(s.names[i], s.name_ranges[i])) ok = false;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < d; ++i)
      if (!seen.insert(s.names[i]).second) {
        diags_.error(s.name_ranges[i], "'" + s.names[i] + "' is declared twice in this statement");
        ok = false;
      }
    if (!ok) {
      poisoned_.insert(s.names.begin(), s.names.end());
      return;
    }
    auto ids = builder_.add_inputs(s.names, cov, s.name_ranges, s.range);
    for (std::size_t i = 0; i < d; ++i) bind(s.names[i], ids[i], s.name_ranges[i]);
  }

  // variance: a number (independent inputs with that variance) or a d×d list of lists.
  bool covariance(const AstExpr& e, std::size_t d, Eigen::MatrixXd& cov) {
    if (e.kind != AstExprKind::List) {
      double v;
      if (!constant(e, v, "the variance")) return false;
      if (!(v >= 0)) {
        diags_.error(e.range, "variance must be non-negative, found " + format_number(v));
        return false;
      }
      cov = Eigen::MatrixXd::Identity(d, d) * v;
      return true;
    }
    if (e.args.size() != d) {
      diags_.error(e.range, "covariance has " + std::to_string(e.args.size()) + " rows but " + std::to_string(d) +
                                " input" + (d == 1 ? " is" : "s are") + " declared")
          .notes.push_back("give a " + std::to_string(d) + "x" + std::to_string(d) + " matrix, or one number for independent inputs");
      return false;
    }
    cov.resize(d, d);
    for (std::size_t r = 0; r < d; ++r) {
      const AstExpr& row = *e.args[r];
      if (row.kind != AstExprKind::List) {
        diags_.error(row.range, "expected row " + std::to_string(r + 1) + " of the covariance as a list [..]");
        return false;
      }
      if (row.args.size() != d) {
        diags_.error(row.range, "row " + std::to_string(r + 1) + " of the covariance has " +
                                    std::to_string(row.args.size()) + " entries, expected " + std::to_string(d));
        return false;
      }
      for (std::size_t c = 0; c < d; ++c)
        if (!constant(*row.args[c], cov(r, c), "a covariance entry")) return false;
    }
    if (auto problem = covariance_problem(cov); !problem.empty()) {
      diags_.error(e.range, "covariance is " + problem)
          .notes.push_back("a covariance must be symmetric positive semidefinite");
      return false;
    }
    return true;
  }

  void matrix(const Stmt& s) {
    const AstExpr *mean = nullptr, *var = nullptr;
    if (!distribution(*s.distribution, "matrix W ~ N(0, 1/n)", mean, var)) {
      poisoned_.insert(s.names.begin(), s.names.end());
      return;
    }
    bool ok = true;
    double m;
    if (!constant(*mean, m, "the mean")) ok = false;
    else if (m != 0) {
      diags_.error(mean->range, "matrix entries must have mean 0 (found " + format_number(m) + ")");
      ok = false;
    }
    Monomial mono;
    if (!monomial(*var, mono)) {
      ok = false;
    } else if (mono.power != -1) {
      auto& d = diags_.error(var->range, "matrix entries must have variance sigma^2/n, found " +
                                            (mono.power == 0 ? format_number(mono.coef)
                                                             : format_number(mono.coef) + "*n^" + format_number(mono.power)));
      d.notes.push_back("Tensor Program matrices are N(0, sigma^2/n); write e.g. N(0, " +
                        format_number(mono.power == 0 ? mono.coef : 1.0) + "/n)");
      ok = false;
    } else if (!(mono.coef > 0) || !std::isfinite(mono.coef)) {
      diags_.error(var->range, "matrix variance sigma^2/n needs sigma^2 > 0, found " + format_number(mono.coef));
      ok = false;
    }
    for (std::size_t i = 0; i < s.names.size(); ++i)
      if (!declare(s.names[i], s.name_ranges[i])) ok = false;
    if (!ok) {
      poisoned_.insert(s.names.begin(), s.names.end());
      return;
    }
    for (std::size_t i = 0; i < s.names.size(); ++i)
      bind(s.names[i], builder_.add_matrix(s.names[i], mono.coef, s.name_ranges[i]), s.name_ranges[i]);
  }

  void assign(const Stmt& s) {
    if (!s.value) {
      // A statement the parser dropped after reporting its error: its names are in error, so later uses of
      // them stay quiet. Reserved names keep their own diagnostics.
      Function f;
      for (const std::string& name : s.names)
        if (name != "n" && name != "avg" && name != "outer_avg" && name != "N" && !function_from_spelling(name, f)) poisoned_.insert(name);
      return;
    }
    const std::string& name = s.names[0];
    const bool fresh = declare(name, s.name_ranges[0]);
    Sym v = lower(*s.value, name);
    if (!fresh || v.kind == Sym::Poison) {
      poisoned_.insert(name);
      return;
    }
    if (v.kind == Sym::Matrix) {
      poisoned_.insert(name);
      diags_.error(s.value->range, "cannot assign a matrix to '" + name + "'")
          .notes.push_back("matrices are declared with 'matrix " + name + " ~ N(0, 1/n)'; apply them to a vector, e.g. '" +
                           name + " = W x'");
      return;
    }
    ValueId id = materialize(v, name, s.range);
    if (builder_.value(id).name != name) id = copy(v, id, name, s.range);
    bind(name, id, s.name_ranges[0]);
  }

  void output(const Stmt& s) {
    for (const OutputItem& item : s.outputs) {
      // A fresh identifier label also names the value it reports: `output k = avg(x*x)` defines k.
      const bool names_value = !item.label.empty() && is_plain_identifier(item.label) && !decl_.count(item.label) &&
                               !poisoned_.count(item.label) && item.label != "n";
      Sym v = lower(*item.expr, names_value ? item.label : "");
      std::string label = item.label.empty() ? item.source_text : item.label;
      if (v.kind == Sym::Poison) continue;
      if (v.kind == Sym::Matrix || v.vector) {
        auto& d = diags_.error(item.expr->range, "an output must be a scalar, but this is a " +
                                                     std::string(v.kind == Sym::Matrix ? "matrix" : "vector"));
        d.notes.push_back("report a moment instead, e.g. 'output avg(" + item.source_text + " * " + item.source_text +
                          ")'");
        continue;
      }
      if (!outputs_.insert(label).second) {
        diags_.error(item.label.empty() ? item.expr->range : item.label_range, "output '" + label + "' is reported twice")
            .notes.push_back("give it another label, e.g. 'output other = ...'");
        continue;
      }
      any_output_ = true;
      const ValueId id = materialize(v, names_value ? item.label : "", item.expr->range);
      if (names_value && builder_.value(id).name == item.label) bind(item.label, id, item.label_range);
      builder_.add_output(label, id, item.expr->range);
    }
  }

  // ---- constants ----
  bool constant(const AstExpr& e, double& out, const char* what) {
    Monomial m;
    if (!monomial(e, m)) return false;
    if (m.power != 0) {
      diags_.error(e.range, std::string(what) + " cannot depend on the width n");
      return false;
    }
    out = m.coef;
    return true;
  }
  bool constant_list(const AstExpr& e, std::vector<double>& out, const char* what) {
    if (e.kind != AstExprKind::List) {
      double v;
      if (!constant(e, v, what)) return false;
      out.push_back(v);
      return true;
    }
    for (const auto& a : e.args) {
      double v;
      if (!constant(*a, v, what)) return false;
      out.push_back(v);
    }
    return true;
  }

  // Evaluates a constant expression in which n (the width) may appear as a monomial c*n^p.
  bool monomial(const AstExpr& e, Monomial& out) {
    switch (e.kind) {
      case AstExprKind::Number: out = {e.number, 0}; return true;
      case AstExprKind::Name:
        if (e.text == "n") {
          out = {1, 1};
          return true;
        }
        diags_.error(e.range, "expected a number here, found the name '" + e.text + "'")
            .notes.push_back("distribution parameters are constants; the width is written 'n'");
        return false;
      case AstExprKind::Neg:
        if (!monomial(*e.args[0], out)) return false;
        out.coef = -out.coef;
        return true;
      case AstExprKind::Binary: {
        Monomial a, b;
        if (!monomial(*e.args[0], a) || !monomial(*e.args[1], b)) return false;
        switch (e.op) {
          case '+':
          case '-':
            if (a.power != b.power && a.coef != 0 && b.coef != 0) {
              diags_.error(e.range, "cannot add terms with different powers of n");
              return false;
            }
            out = {e.op == '+' ? a.coef + b.coef : a.coef - b.coef, a.coef != 0 ? a.power : b.power};
            return true;
          case '*': out = {a.coef * b.coef, a.power + b.power}; return true;
          case '/':
            if (b.coef == 0) {
              diags_.error(e.args[1]->range, "division by zero");
              return false;
            }
            out = {a.coef / b.coef, a.power - b.power};
            return true;
          case '^':
            if (b.power != 0) {
              diags_.error(e.args[1]->range, "an exponent cannot depend on n");
              return false;
            }
            out = {std::pow(a.coef, b.coef), a.power * b.coef};
            if (!std::isfinite(out.coef)) {
              diags_.error(e.range, "this constant is not a finite number");
              return false;
            }
            return true;
        }
        return false;
      }
      case AstExprKind::Call: {
        Function f;
        if (function_from_spelling(e.text, f) && e.args.size() == 1) {
          Monomial a;
          if (!monomial(*e.args[0], a)) return false;
          if (a.power != 0) {
            diags_.error(e.range, "a function of n is not allowed here");
            return false;
          }
          out = {apply_constant(f, a.coef), 0};
          if (!std::isfinite(out.coef)) {
            diags_.error(e.range, "this constant is not a finite number");
            return false;
          }
          return true;
        }
        diags_.error(e.range, "expected a constant here");
        return false;
      }
      case AstExprKind::Apply:
      case AstExprKind::Transpose:
      case AstExprKind::List:
        diags_.error(e.range, "expected a constant number here");
        return false;
    }
    return false;
  }
  static double apply_constant(Function f, double x) {
    ExprPtr c = tp::call(f, tp::constant(x));
    return c->kind == ExprKind::Const ? c->value : std::nan("");
  }

  // ---- expressions ----
  Sym poison(SourceRange r) {
    Sym s;
    s.range = r;
    return s;
  }
  Sym coord(ExprPtr e, std::vector<ValueId> leaves, bool vector, SourceRange r) {
    Sym s;
    s.kind = Sym::Coord;
    s.expr = std::move(e);
    s.leaves = std::move(leaves);
    s.vector = vector;
    s.range = r;
    return s;
  }
  Sym leaf(ValueId id, SourceRange r) {
    return coord(argument(0), {id}, builder_.value(id).kind == ValueKind::Vector, r);
  }
  // Inside outer_avg(...), x' is the column (β-indexed) copy of the vector x: a leaf with id −(x + 2).
  static bool is_column(ValueId leaf) { return leaf <= -2; }
  static ValueId column_leaf(ValueId id) { return -id - 2; }
  // False (with an error) when s uses a column vector x' outside the coordinatewise arithmetic of outer_avg.
  bool no_column(const Sym& s, const char* where) {
    for (ValueId l : s.leaves)
      if (is_column(l)) {
        diags_.error(s.range, std::string("a column vector x' of outer_avg(...) cannot be used ") + where)
            .notes.push_back("x' stands for the summed coordinate x_β only in outer_avg's coordinatewise expression");
        return false;
      }
    return true;
  }

  // Merges the operand lists of a and b; returns b's expression re-indexed into the merged list.
  ExprPtr merge(Sym& a, const Sym& b) {
    std::vector<int> map(b.leaves.size());
    for (std::size_t i = 0; i < b.leaves.size(); ++i) {
      auto it = std::find(a.leaves.begin(), a.leaves.end(), b.leaves[i]);
      if (it == a.leaves.end()) {
        a.leaves.push_back(b.leaves[i]);
        it = a.leaves.end() - 1;
      }
      map[i] = static_cast<int>(it - a.leaves.begin());
    }
    return remap_arguments(b.expr, map);
  }

  bool not_matrix(const Sym& s, const char* context) {
    if (s.kind != Sym::Matrix) return true;
    auto& d = diags_.error(s.range, std::string("a matrix cannot be used ") + context);
    d.notes.push_back("matrices only multiply vectors: write 'W x' for the MatMul of W and x");
    return false;
  }

  // Lowers an expression. hint names the value created by a top-level MatMul or avg.
  Sym lower(const AstExpr& e, const std::string& hint) {
    switch (e.kind) {
      case AstExprKind::Number: return coord(tp::constant(e.number), {}, false, e.range);
      case AstExprKind::Name:
        if (is_width(e)) return width_power(e, 1, 1, hint);
        return name(e);
      case AstExprKind::Neg: {
        Sym a = lower(*e.args[0], "");
        if (a.kind == Sym::Poison || !not_matrix(a, "in arithmetic")) return poison(e.range);
        a.expr = neg(a.expr);
        a.range = e.range;
        return a;
      }
      case AstExprKind::Binary: {
        if (e.op == '^' && is_width(*e.args[0])) return width_power_of(e, hint);
        Sym a = lower(*e.args[0], ""), b = lower(*e.args[1], "");
        if (a.kind == Sym::Poison || b.kind == Sym::Poison) return poison(e.range);
        const bool a_ok = not_matrix(a, "in arithmetic"), b_ok = not_matrix(b, "in arithmetic");  // report both
        if (!a_ok || !b_ok) return poison(e.range);
        ExprPtr rhs = merge(a, b);
        switch (e.op) {
          case '+': a.expr = add(a.expr, rhs); break;
          case '-': a.expr = sub(a.expr, rhs); break;
          case '*': a.expr = mul(a.expr, rhs); break;
          case '/': a.expr = div(a.expr, rhs); break;
          case '^': a.expr = pow(a.expr, rhs); break;
        }
        if (!finite_constant(a)) {
          diags_.error(e.range, "this constant expression is not a finite number");
          return poison(e.range);
        }
        a.vector = a.vector || b.vector;
        a.range = e.range;
        prune(a);
        return a;
      }
      case AstExprKind::Call: return call_expr(e, hint);
      case AstExprKind::Apply: return apply(e, hint);
      case AstExprKind::Transpose: {
        Sym a = lower(*e.args[0], "");
        if (a.kind == Sym::Poison) return poison(e.range);
        if (outer_depth_ > 0 && a.kind == Sym::Coord && a.vector && a.leaves.size() == 1 && !is_column(a.leaves[0]) &&
            a.expr->kind == ExprKind::Arg)
          return coord(argument(0), {column_leaf(a.leaves[0])}, true, e.range);  // the column copy x'_β
        if (a.kind != Sym::Matrix || a.transposed) {
          diags_.error(e.range, a.kind == Sym::Matrix ? "a transposed matrix cannot be transposed again"
                                                      : std::string("only matrices can be transposed, but this is a ") +
                                                            (a.vector ? "vector" : "scalar"));
          return poison(e.range);
        }
        a.transposed = true;
        a.range = e.range;
        return a;
      }
      case AstExprKind::List:
        diags_.error(e.range, "a list [..] is only allowed as the covariance or mean of an input");
        return poison(e.range);
    }
    return poison(e.range);
  }

  // The width n, when the program does not define a value of that name.
  bool is_width(const AstExpr& e) const {
    return e.kind == AstExprKind::Name && e.text == "n" && !symbols_.count("n") && !poisoned_.count("n");
  }
  // n^e with a constant rational exponent: one WidthPower value per exponent.
  Sym width_power_of(const AstExpr& e, const std::string& hint) {
    double x = 0;
    if (!constant(*e.args[1], x, "the exponent of the width n")) return poison(e.range);
    // The exponent as a fraction p/q with q <= 10^6 (continued fractions), exact to rounding.
    std::int64_t p0 = 0, q0 = 1, p1 = 1, q1 = 0;
    double r = x;
    for (int k = 0; k < 40; ++k) {
      const double a = std::floor(r);
      if (std::abs(a) > 1e12) break;
      const std::int64_t ai = static_cast<std::int64_t>(a);
      const std::int64_t p2 = ai * p1 + p0, q2 = ai * q1 + q0;
      if (q2 > 1000000) break;
      p0 = p1; q0 = q1; p1 = p2; q1 = q2;
      if (std::abs(static_cast<double>(p1) / static_cast<double>(q1) - x) <= 1e-12 * std::max(1.0, std::abs(x))) break;
      if (r - a == 0) break;
      r = 1.0 / (r - a);
    }
    if (q1 == 0 || std::abs(static_cast<double>(p1) / static_cast<double>(q1) - x) > 1e-12 * std::max(1.0, std::abs(x))) {
      diags_.error(e.args[1]->range, "the exponent of the width n must be a rational number p/q with q <= 1000000")
          .notes.push_back("write e.g. 'n^(-1/2)'");
      return poison(e.range);
    }
    return width_power(e, p1, q1, hint);
  }
  Sym width_power(const AstExpr& e, std::int64_t num, std::int64_t den, const std::string& hint) {
    const auto key = std::make_pair(num, den);
    if (auto it = width_powers_.find(key); it != width_powers_.end() && hint.empty()) return leaf(it->second, e.range);
    const ValueId id = builder_.add_width_power(hint_name(hint), num, den, e.range);
    width_powers_.emplace(key, id);
    return leaf(id, e.range);
  }

  // False for an operand-free expression that is not a finite number: folding leaves 1/0 and log(0) unfolded,
  // and overflow folds to inf.
  static bool finite_constant(const Sym& s) {
    if (s.expr->kind == ExprKind::Const) return std::isfinite(s.expr->value);
    return !s.leaves.empty();
  }

  // Drops operands that constant folding removed (e.g. 0 * x).
  void prune(Sym& s) {
    auto used = arguments_used(s.expr);
    if (used.size() == s.leaves.size()) return;
    std::vector<int> map(s.leaves.size(), -1);
    std::vector<ValueId> leaves;
    for (int u : used) {
      map[u] = static_cast<int>(leaves.size());
      leaves.push_back(s.leaves[u]);
    }
    s.expr = remap_arguments(s.expr, map);
    s.leaves = std::move(leaves);
    s.vector = false;
    for (ValueId id : s.leaves) s.vector |= is_column(id) || builder_.value(id).kind == ValueKind::Vector;
  }

  Sym leaf_matrix(ValueId id, SourceRange r) {
    Sym s;
    s.kind = Sym::Matrix;
    s.matrix = id;
    s.range = r;
    return s;
  }

  Sym name(const AstExpr& e) {
    if (auto it = symbols_.find(e.text); it != symbols_.end()) {
      const Value& v = builder_.value(it->second);
      if (v.kind == ValueKind::Matrix) return leaf_matrix(it->second, e.range);
      return leaf(it->second, e.range);
    }
    if (poisoned_.count(e.text)) return poison(e.range);
    Function f;
    if (function_from_spelling(e.text, f) || e.text == "avg" || e.text == "outer_avg") {
      diags_.error(e.range, "'" + e.text + "' is a function; call it with an argument, e.g. '" + e.text + "(x)'");
      return poison(e.range);
    }
    if (e.text == "n") {
      diags_.error(e.range, "the width 'n' can only appear in a matrix variance, e.g. 'N(0, 1/n)'");
      return poison(e.range);
    }
    auto& d = diags_.error(e.range, "use of undefined name '" + e.text + "'");
    if (auto best = closest_match(e.text, known_names()); !best.empty()) {
      d.notes.push_back("did you mean '" + best + "'?");
      d.fixit = best;
    } else if (auto fn = closest_match(e.text, function_names()); !fn.empty()) {
      d.notes.push_back("did you mean '" + fn + "'? it is a function: call it, e.g. '" + fn + "(x)'");
    }
    return poison(e.range);
  }

  Sym call_expr(const AstExpr& e, const std::string& hint) {
    if (e.text == "avg") {
      if (e.args.size() != 1) {
        diags_.error(e.range, "avg takes one argument, found " + std::to_string(e.args.size()));
        return poison(e.range);
      }
      Sym a = lower(*e.args[0], "");
      if (a.kind == Sym::Poison || !not_matrix(a, "inside avg(...)") || !no_column(a, "inside avg(...)")) return poison(e.range);
      if (!a.vector) {
        diags_.error(e.args[0]->range, "avg(...) averages a vector over its coordinates, but its argument is a scalar");
        return poison(e.range);
      }
      ValueId id = builder_.add_moment(hint_name(hint), a.expr, a.leaves, e.range);
      return leaf(id, e.range);
    }
    if (e.text == "outer_avg") return outer_avg(e, hint);
    if (e.text == "N") {
      diags_.error(e.range, "a distribution N(..) can only follow '~' in an 'input' or 'matrix' declaration");
      return poison(e.range);
    }
    Function f;
    if (!function_from_spelling(e.text, f)) {
      // `W (x)` is the MatMul of W and x, not a call; a name in error stays quiet.
      if (auto it = symbols_.find(e.text);
          it != symbols_.end() && builder_.value(it->second).kind == ValueKind::Matrix && e.args.size() == 1)
        return matmul(e, leaf_matrix(it->second, e.name_range), lower(*e.args[0], ""), *e.args[0], hint);
      if (!symbols_.count(e.text) && poisoned_.count(e.text)) {
        for (const auto& a : e.args) lower(*a, "");
        return poison(e.range);
      }
      auto& d = diags_.error(e.name_range, "unknown function '" + e.text + "'");
      const std::vector<std::string> names = function_names();
      if (auto best = closest_match(e.text, names); !best.empty()) {
        d.notes.push_back("did you mean '" + best + "'?");
        d.fixit = best;
      } else if (symbols_.count(e.text)) {
        d.notes.push_back("'" + e.text + "' is a value, not a function; use '*' to multiply");
      } else {
        std::string list;
        for (const auto& nm : names) list += (list.empty() ? "" : ", ") + nm;
        d.notes.push_back("the functions are: " + list);
      }
      for (const auto& a : e.args) lower(*a, "");  // still report errors inside the arguments
      return poison(e.range);
    }
    if (e.args.size() != 1) {
      diags_.error(e.range, "'" + e.text + "' takes one argument, found " + std::to_string(e.args.size()));
      return poison(e.range);
    }
    Sym a = lower(*e.args[0], "");
    if (a.kind == Sym::Poison || !not_matrix(a, std::string("as the argument of " + e.text).c_str()))
      return poison(e.range);
    a.expr = call(f, a.expr);
    a.range = e.range;
    if (!finite_constant(a)) {
      diags_.error(e.range, "this constant expression is not a finite number");
      return poison(e.range);
    }
    return a;
  }

  // outer_avg(ψ) = TP4b's outer nonlinearity y_α = avg_β ψ(x_α; x'_β): x' marks a summed (column) vector.
  Sym outer_avg(const AstExpr& e, const std::string& hint) {
    if (e.args.size() != 1) {
      diags_.error(e.range, "outer_avg takes one argument, found " + std::to_string(e.args.size()));
      return poison(e.range);
    }
    ++outer_depth_;
    Sym a = lower(*e.args[0], "");
    --outer_depth_;
    if (a.kind == Sym::Poison || !not_matrix(a, "inside outer_avg(...)")) return poison(e.range);
    std::vector<ValueId> ops;
    std::vector<bool> col;
    for (ValueId l : a.leaves) {
      ops.push_back(is_column(l) ? column_leaf(l) : l);
      col.push_back(is_column(l));
    }
    if (std::find(col.begin(), col.end(), true) == col.end()) {
      diags_.error(e.args[0]->range, "outer_avg(...) averages over a column index, but its argument has no column vector")
          .notes.push_back("mark the summed vectors with ', e.g. 'outer_avg(sign(g * x') * z')' is avg over b of sign(g_a x_b) z_b");
      return poison(e.range);
    }
    ValueId id = builder_.add_outer_nonlin(hint_name(hint), a.expr, ops, col, e.range);
    return leaf(id, e.range);
  }

  Sym apply(const AstExpr& e, const std::string& hint) {
    Sym m = lower(*e.args[0], "");
    return matmul(e, m, lower(*e.args[1], ""), *e.args[1], hint);
  }

  // The MatMul m x for the expression e (a juxtaposition `W x` or `W (x)`), after checking the kinds.
  Sym matmul(const AstExpr& e, const Sym& m, const Sym& x, const AstExpr& rhs, const std::string& hint) {
    if (m.kind == Sym::Poison || x.kind == Sym::Poison) return poison(e.range);
    if (m.kind != Sym::Matrix) {
      auto& d = diags_.error(m.range, std::string("a MatMul needs a matrix on the left, but this is a ") +
                                                   (m.vector ? "vector" : "scalar"));
      d.notes.push_back("write '*' for coordinatewise multiplication, e.g. 'a * b'");
      return poison(e.range);
    }
    if (x.kind == Sym::Matrix) {
      auto& d = diags_.error(rhs.range, "a MatMul needs a vector on the right, but this is a matrix");
      d.notes.push_back("products of matrices are not Tensor Program ops; apply them one at a time, e.g. 'A (B x)' or 'A B x'");
      return poison(e.range);
    }
    if (!x.vector) {
      diags_.error(rhs.range, "a MatMul needs a vector on the right, but this is a scalar");
      return poison(e.range);
    }
    if (!no_column(x, "as a MatMul's vector")) return poison(e.range);
    ValueId v = materialize(x, "", rhs.range);
    ValueId id = builder_.add_matmul(hint_name(hint), m.matrix, v, m.transposed, e.range);
    return leaf(id, e.range);
  }

  // Only the outermost node of an assignment takes the assigned name.
  std::string hint_name(const std::string& hint) {
    if (hint.empty() || hint_used_.count(hint)) return "";
    hint_used_.insert(hint);
    return hint;
  }

  // Turns an expression into one value: itself if it is a single operand, else a Nonlin or ScalarExpr.
  ValueId materialize(const Sym& s, const std::string& name, SourceRange r) {
    if (s.leaves.size() == 1 && s.expr->kind == ExprKind::Arg) return s.leaves[0];
    return s.vector ? builder_.add_nonlin(hint_name(name), s.expr, s.leaves, r)
                    : builder_.add_scalar(hint_name(name), s.expr, s.leaves, r);
  }
  // An assignment of an existing value under a new name: a copy (identity expression).
  ValueId copy(const Sym& s, ValueId id, const std::string& name, SourceRange r) {
    hint_used_.insert(name);
    return s.vector ? builder_.add_nonlin(name, argument(0), {id}, r) : builder_.add_scalar(name, argument(0), {id}, r);
  }

  DiagnosticEngine& diags_;
  ProgramBuilder builder_;
  std::map<std::string, ValueId> symbols_;
  std::map<std::string, SourceRange> decl_;
  std::set<std::string> poisoned_;
  std::set<std::string> hint_used_;
  std::map<std::pair<std::int64_t, std::int64_t>, ValueId> width_powers_;
  std::set<std::string> outputs_;
  bool any_output_ = false;
  int outer_depth_ = 0;  // > 0 while lowering the argument of outer_avg(...)
};

}  // namespace

std::optional<Program> analyze(const Ast& ast, DiagnosticEngine& diags) { return Sema(diags).run(ast); }

std::optional<Program> compile_source(const std::string& text, DiagnosticEngine& diags) {
  Ast ast = parse(text, diags);
  auto program = analyze(ast, diags);
  if (diags.has_errors()) return std::nullopt;
  return program;
}

}  // namespace tp::frontend

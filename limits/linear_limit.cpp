// See linear_limit.h for the algorithm (leaves, Gram matrix, ZHat/ZDot on coefficients).
#include "limits/linear_limit.h"

#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <type_traits>

#include "tp/errors.h"
#include "tp/rational.h"

namespace tp::limits {

namespace {

std::string where(const Value& v) {
  std::string s = "'" + v.name + "'";
  if (v.range.valid()) s += " (line " + std::to_string(v.range.begin.line) + ")";
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Linearity check (symbolic, with tp::derivative).

bool uses_vector(const ExprPtr& e, const std::vector<bool>& is_vector) {
  for (int a : arguments_used(e))
    if (a < static_cast<int>(is_vector.size()) && is_vector[a]) return true;
  return false;
}

// A catalogue function of a vector operand (step(x), sign(x) have derivative 0 but are not affine).
bool call_on_vector(const ExprPtr& e, const std::vector<bool>& is_vector) {
  if (!e) return false;
  if (e->kind == ExprKind::Call && uses_vector(e->lhs, is_vector)) return true;
  return call_on_vector(e->lhs, is_vector) || call_on_vector(e->rhs, is_vector);
}

// The reason v is not linear, or nullopt. Nonlin: ∂φ/∂x_i free of vectors; Moment: ∂²φ/∂x_i∂x_j free of vectors.
std::optional<std::string> nonlinearity(const Program& p, const Value& v) {
  if (v.op == Op::OuterNonlin) return p.outer_nonlin_refusal();
  if (v.op != Op::Nonlin && v.op != Op::Moment) return std::nullopt;
  std::vector<bool> is_vector;
  std::vector<std::string> names;
  for (ValueId o : v.operands) {
    is_vector.push_back(p.value(o).kind == ValueKind::Vector);
    names.push_back(p.value(o).name);
  }
  const std::string text = to_string(v.expr, names);
  const char* what = v.op == Op::Nonlin ? "is not affine in its vector operands" : "is not a polynomial of degree <= 2 in its vector operands";
  if (call_on_vector(v.expr, is_vector)) return where(v) + " = " + text + " " + what + " (a function is applied to a vector)";
  for (std::size_t i = 0; i < is_vector.size(); ++i) {
    if (!is_vector[i]) continue;
    ExprPtr d = derivative(v.expr, static_cast<int>(i));
    if (v.op == Op::Nonlin) {
      if (uses_vector(d, is_vector)) return where(v) + " = " + text + " " + what + " (its derivative in '" + names[i] + "' is " + to_string(d, names) + ")";
      continue;
    }
    for (std::size_t j = i; j < is_vector.size(); ++j) {
      if (!is_vector[j]) continue;
      ExprPtr d2 = derivative(d, static_cast<int>(j));
      if (uses_vector(d2, is_vector))
        return where(v) + " = " + text + " " + what + " (its second derivative in '" + names[i] + "', '" + names[j] + "' is " + to_string(d2, names) + ")";
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------
// Scalar arithmetic per number type: exact rationals, or floating point.

// Thrown inside the rational run when a quantity is not a (short) rational; the run falls back to double.
struct NotExact {
  std::string why;
};

// A short rational reading of x: the smallest continued-fraction convergent p/q (q <= 10^6) that rounds
// back to x, else the shortest round-trip decimal if it has at most 12 significant digits.
std::optional<Rational> short_rational(double x) {
  if (!std::isfinite(x)) return std::nullopt;
  if (x == std::floor(x) && std::abs(x) < 9.0e15) return Rational(static_cast<long long>(x));
  {
    using boost::multiprecision::cpp_int;
    const Rational exact(x);  // every double is a dyadic rational
    cpp_int num = boost::multiprecision::numerator(exact), den = boost::multiprecision::denominator(exact);
    cpp_int p0 = 0, q0 = 1, p1 = 1, q1 = 0;  // convergents p_{k-2}/q_{k-2}, p_{k-1}/q_{k-1}
    const bool negative = num < 0;
    if (negative) num = -num;
    while (den != 0) {
      cpp_int a = num / den, r = num % den;
      cpp_int p2 = a * p1 + p0, q2 = a * q1 + q0;
      if (q2 > 1000000) break;
      if (p2 < (cpp_int(1) << 53)) {
        const double back = static_cast<double>(p2) / static_cast<double>(q2);  // correctly rounded
        if (back == std::abs(x)) return Rational(negative ? cpp_int(-p2) : p2, q2);
      }
      p0 = p1, q0 = q1, p1 = p2, q1 = q2;
      num = den, den = r;
    }
  }
  const std::string s = format_number(x);
  std::string mantissa = s.substr(0, s.find_first_of("eE"));
  std::string digits;
  for (char c : mantissa)
    if (c >= '0' && c <= '9') digits += c;
  const auto first = digits.find_first_not_of('0');
  const auto last = digits.find_last_not_of('0');
  if (first != std::string::npos && last - first + 1 > 12) return std::nullopt;
  if (s.find_first_of("eE") != std::string::npos) {  // d.ddde±k: scale the mantissa exactly
    auto m = parse_rational(mantissa);
    if (!m) return std::nullopt;
    const int k = std::stoi(s.substr(s.find_first_of("eE") + 1));
    Rational scale = 1;
    for (int i = 0; i < std::abs(k); ++i) scale *= 10;
    return k >= 0 ? *m * scale : *m / scale;
  }
  return parse_rational(s);
}

template <class T>
struct Arith;

template <>
struct Arith<Rational> {
  static Rational from_double(double x, const std::string& what) {
    if (auto r = short_rational(x)) return *r;
    throw NotExact{"the constant " + format_number(x) + " in " + what + " is not a short rational"};
  }
  static bool is_zero(const Rational& x) { return x == 0; }
  static bool finite(const Rational&) { return true; }
  static Rational pow(const Rational& base, const Rational& e, const std::string& what) {
    if (boost::multiprecision::denominator(e) != 1 || abs(e) > 4096)
      throw NotExact{"the power with exponent " + tp::to_string(e) + " in " + what + " is not an integer power"};
    long long k = static_cast<long long>(boost::multiprecision::numerator(e));
    if (k < 0 && base == 0) throw NumericalError(what + ": 0 raised to a negative power in the limit");
    Rational b = k < 0 ? Rational(1) / base : base, out = 1;
    for (k = k < 0 ? -k : k; k > 0; k >>= 1, b *= b)
      if (k & 1) out *= b;
    return out;
  }
  static Rational call(Function f, const Rational& x, const std::string& what) {
    switch (f) {
      case Function::relu: return x > 0 ? x : Rational(0);
      case Function::step: return x > 0 ? Rational(1) : Rational(0);
      case Function::abs: return x < 0 ? Rational(-x) : x;
      case Function::sign: return x > 0 ? Rational(1) : (x < 0 ? Rational(-1) : Rational(0));
      case Function::tanh:
      case Function::erf:
      case Function::gelu:
      case Function::sigmoid:
      case Function::sin:
      case Function::cos:
      case Function::exp:
      case Function::log:
      case Function::sqrt:
      case Function::normcdf:
      case Function::normpdf: break;
    }
    throw NotExact{std::string("the function ") + function_spelling(f) + " in " + what + " has no exact rational value"};
  }
};

template <class F>
struct FloatArith {
  static F from_double(double x, const std::string&) { return static_cast<F>(x); }
  static bool is_zero(F x) { return x == 0; }
  static bool finite(F x) { return std::isfinite(x); }
  static F pow(F base, F e, const std::string&) { return std::pow(base, e); }
  static F call(Function f, F x, const std::string&) {
    const F inv_sqrt2 = 1 / std::sqrt(F(2));
    switch (f) {
      case Function::relu: return x > 0 ? x : F(0);
      case Function::step: return x > 0 ? F(1) : F(0);
      case Function::tanh: return std::tanh(x);
      case Function::erf: return std::erf(x);
      case Function::gelu: return F(0.5) * x * std::erfc(-x * inv_sqrt2);
      case Function::sigmoid: return 1 / (1 + std::exp(-x));
      case Function::sin: return std::sin(x);
      case Function::cos: return std::cos(x);
      case Function::exp: return std::exp(x);
      case Function::log: return std::log(x);
      case Function::sqrt: return std::sqrt(x);
      case Function::abs: return std::abs(x);
      case Function::sign: return x > 0 ? F(1) : (x < 0 ? F(-1) : F(0));
      case Function::normcdf: return F(0.5) * std::erfc(-x * inv_sqrt2);
      case Function::normpdf: return std::exp(-x * x / 2) / std::sqrt(2 * std::acos(F(-1)));
    }
    return x;
  }
};
template <>
struct Arith<double> : FloatArith<double> {};
template <>
struct Arith<long double> : FloatArith<long double> {};

// A polynomial of structural degree <= 2 in the k operands of an expression (scalar operands enter as
// numbers): c0 + Σ c1[i] z_i + Σ c2[i][j] z_i z_j.
template <class T>
struct Poly {
  int degree = 0;
  T c0 = 0;
  std::vector<T> c1;               // size k when degree >= 1
  std::vector<std::vector<T>> c2;  // k × k when degree == 2
};

// ---------------------------------------------------------------------------------------------------
// The evaluator (steps 1–3 of linear_limit.h) in arithmetic T.

template <class T>
class Engine {
  using A = Arith<T>;

 public:
  explicit Engine(const Program& p) : p_(p), coef_(p.size()), scalar_(p.size(), T(0)) {}

  std::vector<T> run() {
    add_family(std::vector<std::vector<T>>{{T(1)}});  // family 0: the constant leaf 1
    group_family_.resize(p_.input_groups().size());
    for (std::size_t g = 0; g < p_.input_groups().size(); ++g) {
      const InputGroup& grp = p_.input_groups()[g];
      const std::string what = "the covariance of input '" + p_.value(grp.members[0]).name + "'";
      std::vector<std::vector<T>> cov(grp.members.size());
      for (std::size_t a = 0; a < grp.members.size(); ++a)
        for (std::size_t b = 0; b <= a; ++b) cov[a].push_back(A::from_double(grp.covariance(a, b), what));
      group_family_[g] = add_family(cov);
    }
    for (std::size_t i = 0; i < p_.size(); ++i) {
      const Value& v = p_.value(static_cast<ValueId>(i));
      switch (v.op) {
        case Op::InitVector: coef_[i] = unit(fam_[group_family_[v.group]].leaves[v.index_in_group]); break;
        case Op::InitMatrix: break;
        case Op::MatMul: matmul(static_cast<ValueId>(i)); break;
        case Op::Nonlin: nonlin(static_cast<ValueId>(i)); break;
        case Op::Moment: scalar_[i] = moment(static_cast<ValueId>(i)); break;
        case Op::OuterNonlin: throw RouteUnavailable(p_.outer_nonlin_refusal());
        case Op::ScalarExpr: {
          Poly<T> r = eval(v, v.expr, 0);
          scalar_[i] = r.c0;
          break;
        }
        case Op::WidthPower:
          if (v.width_num > 0)
            throw RouteUnavailable(where(v) + " is n^(" + std::to_string(v.width_num) + "/" + std::to_string(v.width_den) +
                                   "), which grows without bound: the Master Theorem limit needs every width factor to "
                                   "converge (n^e with e <= 0); rescale the program so its vectors stay of order one");
          scalar_[i] = v.width_num == 0 ? T(1) : T(0);
          break;
      }
      if (v.kind == ValueKind::Scalar && !A::finite(scalar_[i]))
        throw NumericalError("the limit of " + where(v) + " is not finite");
    }
    std::vector<T> out;
    for (const Output& o : p_.outputs()) out.push_back(scalar_[o.value]);
    return out;
  }

 private:
  struct Family {
    std::vector<int> leaves;              // leaf ids in creation order
    std::vector<std::vector<T>> gram;     // lower triangle: gram[a][b], b <= a
    std::vector<ValueId> args;            // MatMul families: the vector multiplied, per leaf
    T sigma2 = 0;
  };

  int add_family(std::vector<std::vector<T>> gram) {
    Family f;
    for (std::size_t a = 0; a < gram.size(); ++a) {
      f.leaves.push_back(static_cast<int>(leaf_family_.size()));
      leaf_family_.push_back(static_cast<int>(fam_.size()));
    }
    f.gram = std::move(gram);
    fam_.push_back(std::move(f));
    return static_cast<int>(fam_.size()) - 1;
  }

  std::vector<T> unit(int leaf) const {
    std::vector<T> c(leaf_family_.size(), T(0));
    c[leaf] = 1;
    return c;
  }

  static T at(const std::vector<T>& c, int leaf) { return leaf < static_cast<int>(c.size()) ? c[leaf] : T(0); }

  // E[Z^a Z^b] = c_aᵀ G c_b over the block-diagonal Gram matrix.
  T inner(const std::vector<T>& a, const std::vector<T>& b) const {
    T s = 0;
    for (const Family& f : fam_) {
      for (std::size_t i = 0; i < f.leaves.size(); ++i) {
        const T ai = at(a, f.leaves[i]);
        if (A::is_zero(ai)) continue;
        T row = 0;
        for (std::size_t j = 0; j < f.leaves.size(); ++j) {
          const T bj = at(b, f.leaves[j]);
          if (A::is_zero(bj)) continue;
          row += (j <= i ? f.gram[i][j] : f.gram[j][i]) * bj;
        }
        s += ai * row;
      }
    }
    return s;
  }

  // ZHat: a fresh leaf with covariance σ² E[Z^x Z^{x_k}] against the family's earlier leaves;
  // ZDot: σ² Σ_i c_x[Ẑ^{W' y_i}] c_{y_i} over the opposite orientation's earlier uses.
  void matmul(ValueId id) {
    const Value& v = p_.value(id);
    const ValueId w = v.operands[0], x = v.operands[1];
    auto [it, fresh] = matmul_family_.try_emplace({w, v.transposed}, -1);
    if (fresh) {
      it->second = add_family({});
      fam_[it->second].sigma2 = A::from_double(p_.value(w).variance, "the variance of matrix '" + p_.value(w).name + "'");
    }
    const int fi = it->second;
    const std::vector<T>& cx = coef_[x];
    std::vector<T> row;
    for (ValueId earlier : fam_[fi].args) row.push_back(fam_[fi].sigma2 * inner(cx, coef_[earlier]));
    row.push_back(fam_[fi].sigma2 * inner(cx, cx));
    const int leaf = static_cast<int>(leaf_family_.size());
    leaf_family_.push_back(fi);
    fam_[fi].leaves.push_back(leaf);
    fam_[fi].gram.push_back(std::move(row));
    fam_[fi].args.push_back(x);
    std::vector<T> c = unit(leaf);
    if (auto other = matmul_family_.find({w, !v.transposed}); other != matmul_family_.end()) {
      const Family& o = fam_[other->second];
      for (std::size_t k = 0; k < o.leaves.size(); ++k) {
        const T d = at(cx, o.leaves[k]);
        if (A::is_zero(d)) continue;
        const T scale = o.sigma2 * d;
        const std::vector<T>& cy = coef_[o.args[k]];
        for (std::size_t m = 0; m < cy.size(); ++m)
          if (!A::is_zero(cy[m])) c[m] += scale * cy[m];
      }
    }
    coef_[id] = std::move(c);
  }

  void nonlin(ValueId id) {
    const Value& v = p_.value(id);
    Poly<T> r = eval(v, v.expr, 1);
    std::vector<T> c(leaf_family_.size(), T(0));
    c[0] = r.c0;
    if (r.degree >= 1)
      for (std::size_t j = 0; j < v.operands.size(); ++j) {
        if (A::is_zero(r.c1[j])) continue;
        const std::vector<T>& cj = coef_[v.operands[j]];
        for (std::size_t m = 0; m < cj.size(); ++m)
          if (!A::is_zero(cj[m])) c[m] += r.c1[j] * cj[m];
      }
    coef_[id] = std::move(c);
  }

  T moment(ValueId id) {
    const Value& v = p_.value(id);
    Poly<T> r = eval(v, v.expr, 2);
    T s = r.c0;
    const std::size_t k = v.operands.size();
    if (r.degree >= 1)
      for (std::size_t i = 0; i < k; ++i)
        if (!A::is_zero(r.c1[i])) s += r.c1[i] * at(coef_[v.operands[i]], 0);  // E Z = coefficient of the leaf 1
    if (r.degree == 2)
      for (std::size_t i = 0; i < k; ++i)
        for (std::size_t j = i; j < k; ++j) {
          const T cij = i == j ? r.c2[i][i] : T(r.c2[i][j] + r.c2[j][i]);
          if (!A::is_zero(cij)) s += cij * inner(coef_[v.operands[i]], coef_[v.operands[j]]);
        }
    return s;
  }

  // Evaluates v's expression as a polynomial in its vector operands, refusing structural degree > max.
  Poly<T> eval(const Value& v, const ExprPtr& e, int max_degree) {
    const std::size_t k = v.operands.size();
    auto too_high = [&]() -> RouteUnavailable {
      return RouteUnavailable(where(v) + " is not " + (max_degree == 1 ? "affine" : "a polynomial of degree <= 2") +
                              " in its vector operands; the exact linear route cannot evaluate it (use the Gaussian-integration "
                              "route, quadrature or Monte Carlo, for NETSOR programs, or 'tpc run --width N')");
    };
    auto grow = [&](Poly<T>& a, int degree) {
      if (degree >= 1 && a.c1.empty()) a.c1.assign(k, T(0));
      if (degree >= 2 && a.c2.empty()) a.c2.assign(k, std::vector<T>(k, T(0)));
      a.degree = std::max(a.degree, degree);
    };
    auto add_into = [&](Poly<T>& a, const Poly<T>& b, const T& sign) {
      grow(a, b.degree);
      a.c0 += sign * b.c0;
      if (b.degree >= 1)
        for (std::size_t i = 0; i < k; ++i) a.c1[i] += sign * b.c1[i];
      if (b.degree >= 2)
        for (std::size_t i = 0; i < k; ++i)
          for (std::size_t j = 0; j < k; ++j) a.c2[i][j] += sign * b.c2[i][j];
    };
    auto scaled = [&](Poly<T> a, const T& s) {
      a.c0 *= s;
      for (T& x : a.c1) x *= s;
      for (auto& r : a.c2)
        for (T& x : r) x *= s;
      return a;
    };
    auto times = [&](const Poly<T>& a, const Poly<T>& b) {
      if (a.degree + b.degree > max_degree) throw too_high();
      if (a.degree == 0) return scaled(b, a.c0);
      if (b.degree == 0) return scaled(a, b.c0);
      Poly<T> r;  // both affine
      grow(r, 2);
      r.c0 = a.c0 * b.c0;
      for (std::size_t i = 0; i < k; ++i) r.c1[i] = a.c0 * b.c1[i] + b.c0 * a.c1[i];
      for (std::size_t i = 0; i < k; ++i)
        if (!A::is_zero(a.c1[i]))
          for (std::size_t j = 0; j < k; ++j) r.c2[i][j] = a.c1[i] * b.c1[j];
      return r;
    };
    const std::string what = where(v);
    switch (e->kind) {
      case ExprKind::Const: {
        Poly<T> r;
        r.c0 = A::from_double(e->value, what);
        return r;
      }
      case ExprKind::Arg: {
        Poly<T> r;
        const ValueId o = v.operands.at(static_cast<std::size_t>(e->arg));
        if (p_.value(o).kind == ValueKind::Vector) {
          if (max_degree < 1) throw std::logic_error("bug: linear_limit: a vector operand in a scalar expression");
          grow(r, 1);
          r.c1[e->arg] = 1;
        } else {
          r.c0 = scalar_[o];
        }
        return r;
      }
      case ExprKind::Neg: return scaled(eval(v, e->lhs, max_degree), T(-1));
      case ExprKind::Add:
      case ExprKind::Sub: {
        Poly<T> r = eval(v, e->lhs, max_degree);
        add_into(r, eval(v, e->rhs, max_degree), e->kind == ExprKind::Add ? T(1) : T(-1));
        return r;
      }
      case ExprKind::Mul: return times(eval(v, e->lhs, max_degree), eval(v, e->rhs, max_degree));
      case ExprKind::Div: {
        Poly<T> num = eval(v, e->lhs, max_degree), den = eval(v, e->rhs, max_degree);
        if (den.degree > 0) throw too_high();
        if (A::is_zero(den.c0)) throw NumericalError(what + " divides by a quantity whose limit is 0");
        return scaled(std::move(num), T(T(1) / den.c0));
      }
      case ExprKind::Pow: {
        Poly<T> base = eval(v, e->lhs, max_degree), ex = eval(v, e->rhs, max_degree);
        if (ex.degree > 0) throw too_high();
        if (base.degree == 0) {
          Poly<T> r;
          r.c0 = A::pow(base.c0, ex.c0, what);
          return r;
        }
        if (ex.c0 == T(1)) return base;
        if (ex.c0 == T(2)) return times(base, base);
        if (ex.c0 == T(0)) {
          Poly<T> r;
          r.c0 = 1;
          return r;
        }
        throw too_high();
      }
      case ExprKind::Call: {
        Poly<T> a = eval(v, e->lhs, max_degree);
        if (a.degree > 0) throw too_high();
        Poly<T> r;
        r.c0 = A::call(e->fn, a.c0, what);
        return r;
      }
    }
    throw std::logic_error("bug: linear_limit: unknown expression kind");
  }

  const Program& p_;
  std::vector<std::vector<T>> coef_;  // per vector value: coefficients over the leaves existing at its definition
  std::vector<T> scalar_;             // per scalar value: its limit
  std::vector<int> leaf_family_;      // per leaf
  std::vector<Family> fam_;
  std::vector<int> group_family_;
  std::map<std::pair<ValueId, bool>, int> matmul_family_;
};

}  // namespace

bool is_linear_program(const Program& p, std::string* why) {
  for (const Value& v : p.values())
    if (auto reason = nonlinearity(p, v)) {
      if (why) *why = *reason;
      return false;
    }
  return true;
}

LinearLimitResult linear_limit(const Program& p, const LinearLimitOptions& options) {
  std::string why;
  if (!is_linear_program(p, &why))
    throw RouteUnavailable(why + "; the exact linear route needs affine Nonlins and Moments of degree <= 2. Use the "
                           "Gaussian-integration route (closed forms, quadrature or Monte Carlo: limits::gaussian_limit, "
                           "'tpc limit') for NETSOR programs, or 'tpc run --width N' for finite-width values");
  LinearLimitResult result;
  for (const Output& o : p.outputs()) result.limit.names.push_back(o.name);
  if (options.exact) {
    try {
      const std::vector<Rational> exact = Engine<Rational>(p).run();
      result.exact_arithmetic = true;
      for (const Rational& r : exact) {
        result.limit.outputs.push_back({static_cast<double>(r), 0.0, Route::exact});
        result.exact_values.push_back(tp::to_string(r));
      }
      return result;
    } catch (const NotExact& e) {
      result.notes.push_back(e.why + "; computed in double precision instead");
    }
  }
  const std::vector<double> d = Engine<double>(p).run();
  const std::vector<long double> ld = Engine<long double>(p).run();
  constexpr double eps = std::numeric_limits<double>::epsilon();
  for (std::size_t i = 0; i < d.size(); ++i) {
    const double err = static_cast<double>(std::abs(static_cast<long double>(d[i]) - ld[i])) + 2 * eps * std::abs(d[i]);
    result.limit.outputs.push_back({d[i], err, Route::exact});
  }
  return result;
}

}  // namespace tp::limits

// See gaussian_limit.h for the steps.
#include "limits/gaussian_limit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "limits/closed_forms.h"
#include "limits/gaussian_expectation.h"
#include "limits/rng.h"
#include "limits/statistics.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"

namespace tp::limits {

namespace {

std::string where(const Value& v) {
  std::string s = "'" + v.name + "'";
  if (v.range.valid()) s += " (line " + std::to_string(v.range.begin.line) + ")";
  return s;
}

// Step 1 check: a matrix used both as W and Wᵀ.
void require_netsor(const Program& p) {
  std::map<ValueId, const Value*> forward, transposed;
  for (const Value& v : p.values()) {
    if (v.op != Op::MatMul) continue;
    auto& mine = v.transposed ? transposed : forward;
    auto& other = v.transposed ? forward : transposed;
    mine.emplace(v.operands[0], &v);
    if (auto it = other.find(v.operands[0]); it != other.end())
      throw RouteUnavailable("matrix '" + p.value(v.operands[0]).name + "' is used both as W (" + where(*(v.transposed ? it->second : &v)) +
                             ") and as W' (" + where(*(v.transposed ? &v : it->second)) +
                             "); its limit needs the ZDot rule of the Master Theorem, which Gaussian integration alone "
                             "cannot express; limits/zdot_limit.h (Monte Carlo with ZDot) or, for a linear program, "
                             "limits/linear_limit.h computes it ('tpc limit --route monte_carlo' / '--route exact')");
  }
}

// A moment E[f(a) f(b)] (or E[f(a)^2], or E[a b]) over base variables a, b with a closed form.
struct ClosedForm {
  enum Kind { Identity, Call } kind;
  Function fn{};
  int a = -1, b = -1;  // argument indices of the expression
};

std::optional<ClosedForm> match_closed_form(const ExprPtr& e) {
  auto unary = [](const ExprPtr& x, ClosedForm& cf, int& arg) {
    if (x->kind == ExprKind::Arg) {
      if (cf.kind != ClosedForm::Identity) return false;
      arg = x->arg;
      return true;
    }
    if (x->kind == ExprKind::Call && x->lhs->kind == ExprKind::Arg) {
      if (cf.kind != ClosedForm::Call || cf.fn != x->fn) return false;
      arg = x->lhs->arg;
      return true;
    }
    return false;
  };
  const ExprPtr* first = nullptr;
  const ExprPtr* second = nullptr;
  if (e->kind == ExprKind::Mul) {
    first = &e->lhs;
    second = &e->rhs;
  } else if (e->kind == ExprKind::Pow && is_const(e->rhs, 2)) {
    first = second = &e->lhs;
  } else {
    return std::nullopt;
  }
  ClosedForm cf{};
  cf.kind = (*first)->kind == ExprKind::Call ? ClosedForm::Call : ClosedForm::Identity;
  if (cf.kind == ClosedForm::Call) cf.fn = (*first)->fn;
  if (!unary(*first, cf, cf.a) || !unary(*second, cf, cf.b)) return std::nullopt;
  if (cf.kind == ClosedForm::Call) {
    switch (cf.fn) {
      case Function::relu:
      case Function::step:
      case Function::erf:
      case Function::sin:
      case Function::cos:
      case Function::exp: break;
      default: return std::nullopt;
    }
  }
  return cf;
}

double eval_closed_form(const ClosedForm& cf, double k11, double k12, double k22) {
  if (cf.kind == ClosedForm::Identity) return expect_identity_identity(k11, k12, k22);
  switch (cf.fn) {
    case Function::relu: return expect_relu_relu(k11, k12, k22);
    case Function::step: return expect_step_step(k11, k12, k22);
    case Function::erf: return expect_erf_erf(k11, k12, k22);
    case Function::sin: return expect_sin_sin(k11, k12, k22);
    case Function::cos: return expect_cos_cos(k11, k12, k22);
    case Function::exp: return expect_exp_exp(k11, k12, k22);
    default: break;
  }
  throw std::logic_error("bug: eval_closed_form on an unmatched function");
}

// Routes from most to least exact; a value's route is the least exact one that went into it.
int route_rank(Route r) {
  switch (r) {
    case Route::exact: return 0;
    case Route::closed_form: return 1;
    case Route::quadrature: return 2;
    case Route::monte_carlo: return 3;
    case Route::finite_width: return 4;
  }
  return 4;
}
Route worse(Route a, Route b) { return route_rank(a) >= route_rank(b) ? a : b; }

struct PassResult {
  std::vector<double> scalar;        // limit value per scalar value id
  std::vector<double> own_error;     // integral error of each Moment
  std::vector<bool> mc;              // Monte Carlo used in this value or upstream
  std::vector<Route> route;          // least exact route that went into the value
  bool any_mc = false;
};

// One evaluation of the whole program (steps 1-3) with the given integration options.
class Pass {
 public:
  /// perturb != 0: every integral's value is moved by ±(its error estimate), the sign drawn from a hash of
  /// (perturb, integral number), so the pass shows how integration errors propagate to the outputs.
  Pass(const Program& p, const GaussianLimitOptions& lo, const ExpectationOptions& eo, std::uint64_t perturb = 0)
      : p_(p), lo_(lo), eo_(eo), perturb_(perturb) {}

  PassResult run() {
    const std::size_t count = p_.size();
    zexpr_.assign(count, nullptr);
    base_of_.assign(count, -1);
    r_.scalar.assign(count, 0.0);
    r_.own_error.assign(count, 0.0);
    r_.mc.assign(count, false);
    r_.route.assign(count, Route::exact);
    // Base variables: count them first so the covariance can be sized once.
    int bases = 0;
    for (const Value& v : p_.values())
      if (v.op == Op::InitVector || v.op == Op::MatMul) base_of_[&v - p_.values().data()] = bases++;
    cov_ = Eigen::MatrixXd::Zero(bases, bases);
    base_mc_.assign(bases, false);
    base_route_.assign(bases, Route::exact);
    for (const auto& g : p_.input_groups())
      for (std::size_t i = 0; i < g.members.size(); ++i)
        for (std::size_t j = 0; j < g.members.size(); ++j)
          cov_(base_of_[g.members[i]], base_of_[g.members[j]]) = g.covariance(i, j);
    std::map<std::pair<ValueId, bool>, std::vector<ValueId>> matmuls;  // (matrix, transposed) -> outputs
    for (std::size_t i = 0; i < count; ++i) {
      const Value& v = p_.values()[i];
      switch (v.op) {
        case Op::InitVector:
        case Op::MatMul:
          zexpr_[i] = argument(base_of_[i]);
          if (v.op == Op::MatMul) matmul_covariance(static_cast<ValueId>(i), matmuls[{v.operands[0], v.transposed}]);
          break;
        case Op::InitMatrix: break;
        case Op::WidthPower: r_.scalar[i] = width_power_limit(v); break;
        case Op::Nonlin: zexpr_[i] = substituted(v); break;
        case Op::Moment: moment(static_cast<ValueId>(i), substituted(v)); break;
        case Op::OuterNonlin: throw RouteUnavailable(p_.outer_nonlin_refusal());
        case Op::ScalarExpr: {
          std::vector<double> in;
          for (ValueId o : v.operands) {
            in.push_back(r_.scalar[o]);
            r_.mc[i] = r_.mc[i] || r_.mc[o];
            r_.route[i] = worse(r_.route[i], r_.route[o]);
          }
          r_.scalar[i] = CompiledExpr(v.expr, std::vector<bool>(v.operands.size(), false)).eval_scalar(in);
          finite_or_throw(r_.scalar[i], v);
          break;
        }
      }
    }
    return r_;
  }

 private:
  double width_power_limit(const Value& v) const {
    if (v.width_num < 0) return 0.0;
    if (v.width_num == 0) return 1.0;
    throw RouteUnavailable(where(v) + " is n^(" + std::to_string(v.width_num) + "/" + std::to_string(v.width_den) +
                           "), which grows without bound: the Master Theorem limit needs every width factor to "
                           "converge (n^e with e <= 0); rescale the program so its vectors stay of order one");
  }

  ExprPtr substituted(const Value& v) {
    std::vector<ExprPtr> subs;
    for (ValueId o : v.operands) subs.push_back(p_.value(o).kind == ValueKind::Vector ? zexpr_[o] : constant(r_.scalar[o]));
    return substitute(v.expr, subs);
  }

  bool upstream_mc(const std::vector<int>& used, Route& route) const {
    bool mc = false;
    for (int b : used) {
      mc = mc || base_mc_[b];
      route = worse(route, base_route_[b]);
    }
    return mc;
  }

  // E f over the base variables f uses (step 3).
  Estimate integrate(const ExprPtr& f, const Value& v, bool& used_mc, Route& upstream) {
    const std::vector<int> used = arguments_used(f);
    used_mc = upstream_mc(used, upstream);
    if (used.empty()) return {CompiledExpr(f, {}).eval_scalar({}), 0.0, Route::exact};
    std::vector<int> local(static_cast<std::size_t>(cov_.rows()), -1);
    for (std::size_t k = 0; k < used.size(); ++k) local[used[k]] = static_cast<int>(k);
    const ExprPtr g = remap_arguments(f, local);
    const Eigen::Index d = static_cast<Eigen::Index>(used.size());
    Eigen::MatrixXd c(d, d);
    for (Eigen::Index a = 0; a < d; ++a)
      for (Eigen::Index b = 0; b < d; ++b) c(a, b) = cov_(used[a], used[b]);
    if (lo_.use_closed_forms) {
      if (auto cf = match_closed_form(g)) {
        const double val = eval_closed_form(*cf, c(cf->a, cf->a), c(cf->a, cf->b), c(cf->b, cf->b));
        return {val, 64 * 2.2e-16 * std::max(1.0, std::abs(val)), Route::closed_form};
      }
    }
    CompiledExpr ce(g, std::vector<bool>(used.size(), true));
    BatchIntegrand integrand = [&ce, d](const Eigen::MatrixXd& pts) {
      std::vector<Eigen::ArrayXd> rows(static_cast<std::size_t>(d));
      std::vector<ExprInput> in(static_cast<std::size_t>(d));
      for (Eigen::Index k = 0; k < d; ++k) {
        rows[k] = pts.row(k).transpose().array();
        in[k].array = &rows[k];
      }
      return ce.eval(in, pts.cols());
    };
    try {
      ExpectationOptions eo = eo_;
      if (auto kinks = kink_hyperplanes(g, static_cast<int>(d))) eo.kinks = std::move(*kinks);
      Estimate e = gaussian_expectation(integrand, c, eo);
      if (e.route == Route::monte_carlo) used_mc = true;
      else if (perturb_) e.value += sign(integrals_++) * e.error;
      return e;
    } catch (const DivergentIntegral& ex) {
      throw DivergentIntegral("the Gaussian expectation for " + where(v) + " is not finite: " + ex.what(), ex.last_value);
    }
  }

  void moment(ValueId i, const ExprPtr& f) {
    const Value& v = p_.value(i);
    bool used_mc = false;
    Route upstream = Route::exact;
    Estimate e = integrate(f, v, used_mc, upstream);
    finite_or_throw(e.value, v);
    r_.scalar[i] = e.value;
    r_.own_error[i] = e.error;
    r_.route[i] = worse(e.route, upstream);
    r_.mc[i] = used_mc;
    for (ValueId o : v.operands) {
      r_.mc[i] = r_.mc[i] || r_.mc[o];
      r_.route[i] = worse(r_.route[i], r_.route[o]);
    }
    r_.any_mc = r_.any_mc || used_mc;
  }

  // ZHat: Cov(Ẑ^{W x_i}, Ẑ^{W x_j}) = σ² E[Z^{x_i} Z^{x_j}] against every earlier output of the same matrix.
  void matmul_covariance(ValueId h, std::vector<ValueId>& same_matrix) {
    const Value& v = p_.value(h);
    const double s2 = p_.value(v.operands[0]).variance;
    const ExprPtr x = zexpr_[v.operands[1]];
    same_matrix.push_back(h);
    const int bh = base_of_[h];
    bool mc_here = false;
    Route route = Route::exact;
    for (ValueId other : same_matrix) {
      const Value& ov = p_.value(other);
      bool used_mc = false;
      Estimate e = integrate(mul(x, zexpr_[ov.operands[1]]), v, used_mc, route);
      finite_or_throw(e.value, v);
      cov_(bh, base_of_[other]) = cov_(base_of_[other], bh) = s2 * e.value;
      mc_here = mc_here || used_mc;
      route = worse(route, e.route);
    }
    base_mc_[bh] = mc_here;
    base_route_[bh] = route;
    r_.any_mc = r_.any_mc || mc_here;
  }

  void finite_or_throw(double x, const Value& v) const {
    if (!std::isfinite(x))
      throw NumericalError("the limit of " + where(v) + " is not a finite number; check the nonlinearity's domain");
  }

  double sign(std::uint64_t k) const {
    std::uint64_t st = perturb_ * 0x9e3779b97f4a7c15ULL + k;
    return (splitmix64(st) & 1) ? 1.0 : -1.0;
  }

  const Program& p_;
  const GaussianLimitOptions& lo_;
  ExpectationOptions eo_;
  std::uint64_t perturb_ = 0;
  std::uint64_t integrals_ = 0;
  std::vector<ExprPtr> zexpr_;
  std::vector<int> base_of_;
  Eigen::MatrixXd cov_;
  std::vector<bool> base_mc_;
  std::vector<Route> base_route_;
  PassResult r_;
};

}  // namespace

LimitResult gaussian_limit(const Program& p, const GaussianLimitOptions& options) {
  if (const std::string r = p.outer_nonlin_refusal(); !r.empty()) throw RouteUnavailable(r);
  require_netsor(p);
  check_integrable(p);
  ExpectationOptions eo;
  eo.max_quadrature_rank = options.max_quadrature_rank;
  eo.mc_pairs = options.mc_pairs;
  PassResult a = Pass(p, options, eo).run();
  // Step 4(b): the same pipeline from other quadrature orders (24 instead of 16 in 1-D/2-D, etc.).
  ExpectationOptions eo_b = eo;
  std::vector<PassResult> replicas{a};
  if (a.any_mc) {
    for (int r = 1; r < options.mc_replicas; ++r) {
      ExpectationOptions er = eo;
      er.seed = eo.seed + 0x9e3779b97f4a7c15ULL * static_cast<std::uint64_t>(r);
      replicas.push_back(Pass(p, options, er).run());
    }
  }
  eo_b.initial_order = 24;
  std::vector<PassResult> checks{Pass(p, options, eo_b).run()};
  for (std::uint64_t k = 1; k <= 3; ++k) checks.push_back(Pass(p, options, eo, k).run());
  LimitResult out;
  for (const Output& o : p.outputs()) {
    out.names.push_back(o.name);
    Estimate e;
    const ValueId id = o.value;
    if (a.any_mc && a.mc[id]) {
      std::vector<double> xs;
      for (const auto& r : replicas) xs.push_back(r.scalar[id]);
      e = mean_with_error(xs, Route::monte_carlo);
    } else {
      e.value = a.scalar[id];
      e.route = a.route[id];
      e.error = 0;
    }
    e.error = std::max(e.error, a.own_error[id]);
    for (const auto& b : checks) e.error = std::max(e.error, std::abs(a.scalar[id] - b.scalar[id]));
    out.outputs.push_back(e);
  }
  return out;
}

}  // namespace tp::limits

// NNGP and NTK recursions of an MLP; formulas, routes and the error estimate in mlp_kernel.h.
//
// compute_mlp_kernel:
//  1. validate the spec, the inputs and the options;
//  2. K^1 = σ_w¹² X Xᵀ/d + σ_b¹², Θ^1 = K^1;
//  3. for l = 1..L, the Gaussian transforms of layer l's kernel, entry (i, j) for i ≤ j, columns in parallel:
//     closed form, or quadrature (diagonal by adaptive 1-D integrals first, then the per-input caches of
//     φ(u), φ'(u), then the off-diagonal entries with a fixed 2-D rule);
//  4. error estimates: rounding bound (closed form) or the sampled order-2k recomputation (quadrature).
#include "limits/mlp_kernel.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cstdint>
#include <cmath>
#include <functional>
#include <limits>
#include <numbers>
#include <optional>
#include <sstream>

#include <sys/mman.h>

#include "limits/closed_forms.h"
#include "limits/distributed.h"
#include "limits/gauss_hermite.h"
#include "limits/gaussian_expectation.h"
#include "limits/parallel.h"
#include "limits/gram_columns.h"
#include "limits/piecewise_columns.h"
#include "limits/piecewise_linear.h"
#include "limits/split_normal_rule.h"
#include "limits/trapezoid_rule.h"
#include "limits/mlp_kernel_tanh.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"

namespace tp::limits {

namespace {

constexpr double eps = std::numeric_limits<double>::epsilon();
/// The split rules integrate the whitened variables over [−11, 11]: P(|ξ| > 11) = 4e−28.
constexpr double split_half_width = 11.0;

std::string number(double v) {
  std::ostringstream out;
  out.precision(6);
  out << v;
  return out.str();
}

/// The two Gaussian transforms one layer needs for one entry: E[φ(u) φ(v)] and E[φ'(u) φ'(v)].
struct Transforms {
  double phi = 0.0;
  double dphi = 0.0;
};

// ---- closed forms ----

enum class ClosedKind { identity, erf, sin, cos, exp };

std::optional<ClosedKind> match_closed(const ExprPtr& phi) {
  if (phi->kind == ExprKind::Arg && phi->arg == 0) return ClosedKind::identity;
  if (phi->kind != ExprKind::Call || phi->lhs->kind != ExprKind::Arg || phi->lhs->arg != 0) return std::nullopt;
  switch (phi->fn) {
    case Function::erf: return ClosedKind::erf;
    case Function::sin: return ClosedKind::sin;
    case Function::cos: return ClosedKind::cos;
    case Function::exp: return ClosedKind::exp;
    case Function::relu:  // the piecewise-linear route (piecewise_linear.h)
    case Function::step:
    case Function::tanh:
    case Function::gelu:
    case Function::sigmoid:
    case Function::log:
    case Function::sqrt:
    case Function::abs:
    case Function::sign:
    case Function::normcdf:
    case Function::normpdf: return std::nullopt;
  }
  return std::nullopt;
}

/// E[φ(u) φ(v)] and E[φ'(u) φ'(v)] for cov [[a, c], [c, b]] (cos' = −sin, so E[cos' cos'] = E[sin sin]).
Transforms closed_transforms(ClosedKind kind, double a, double c, double b) {
  switch (kind) {
    case ClosedKind::identity: return {expect_identity_identity(a, c, b), 1.0};
    case ClosedKind::erf: return {expect_erf_erf(a, c, b), expect_erf_prime_erf_prime(a, c, b)};
    case ClosedKind::sin: return {expect_sin_sin(a, c, b), expect_cos_cos(a, c, b)};
    case ClosedKind::cos: return {expect_cos_cos(a, c, b), expect_sin_sin(a, c, b)};
    case ClosedKind::exp: {
      const double e = expect_exp_exp(a, c, b);
      return {e, e};
    }
  }
  throw std::logic_error("bug: unhandled closed-form activation");
}

// ---- piecewise-linear activations (arc-cosine kernels of orders 0 and 1, piecewise_linear.h) ----

/// φ and φ' of the piecewise-linear route (φ' of a piecewise-linear φ is a step combination).
struct PiecewisePair {
  PiecewiseLinear phi, dphi;
};

std::optional<PiecewisePair> match_piecewise_pair(const MlpKernelSpec& spec) {
  auto f = match_piecewise_linear(spec.activation);
  auto g = spec.derivative ? match_piecewise_linear(spec.derivative) : std::nullopt;
  if (!f || !g) return std::nullopt;
  return PiecewisePair{*f, *g};
}

/// det of the first-layer covariance of inputs x, y without cancellation. With K = s2 X Xᵀ + b2 (s2 = σ_w²/d):
/// det = s2² (|x|²|y|² − (x·y)²) + s2 b2 |x − y|², and |x|²|y|² − (x·y)² = |x|² |y − t x|², t = x·y/|x|² (x the
/// longer of the two), whose rounding error is relative to |y − t x| instead of |x|²|y|².
double input_det(const Eigen::MatrixXd& inputs, Eigen::Index i, Eigen::Index j, double s2, double b2) {
  const bool swap = inputs.row(j).squaredNorm() > inputs.row(i).squaredNorm();
  const Eigen::RowVectorXd x = inputs.row(swap ? j : i), y = inputs.row(swap ? i : j);
  const double xx = x.squaredNorm();
  double lagrange = 0.0;
  if (xx > 0) lagrange = xx * (y - (x.dot(y) / xx) * x).squaredNorm();
  return s2 * s2 * lagrange + s2 * b2 * (x - y).squaredNorm();
}

/// The 2×2 covariance of entry (i, j) of a layer with its tracked determinant.
Gram2 gram(const Eigen::MatrixXd& k, const Eigen::MatrixXd& det, Eigen::Index i, Eigen::Index j) {
  Gram2 g;
  g.a = std::max(k(i, i), 0.0);
  g.b = std::max(k(j, j), 0.0);
  const double bound = std::sqrt(g.a * g.b);
  g.c = std::clamp(k(i, j), -bound, bound);
  g.det = std::max(det(i, j), 0.0);
  return g;
}

/// max |E(θ ± δθ) − E(θ)| over the two sides (θ ± δθ clamped into [0, π]).
double angle_sensitivity(const PiecewiseLinear& f, const Gram2& g, double theta, double dtheta) {
  if (!(dtheta > 0) || !(g.a > 0) || !(g.b > 0)) return 0.0;
  const double e = expect_piecewise_at(f, g.a, g.b, theta);
  const double up = expect_piecewise_at(f, g.a, g.b, std::min(theta + dtheta, std::numbers::pi));
  const double down = expect_piecewise_at(f, g.a, g.b, std::max(theta - dtheta, 0.0));
  return std::max(std::abs(up - e), std::abs(down - e));
}

/// The angle of the next layer's entry, σ_w² E[φφ] + σ_b² against its diagonal, when this layer's angle is θ.
double next_angle(const PiecewiseLinear& f, const Gram2& g, double theta, double sw2, double sb2) {
  Gram2 moved = g;
  const double sab = std::sqrt(g.a * g.b);
  moved.c = sab * std::cos(theta);
  moved.det = g.a * g.b * std::sin(theta) * std::sin(theta);
  const PiecewiseTransform t = expect_piecewise(f, moved);
  return std::atan2(std::sqrt(next_det(t, sw2, sb2)), sw2 * t.value + sb2);
}

// ---- quadrature ----

/// True if φ(u)φ(v) and φ'(u)φ'(v) are both even under (u, v) → (−u, −v).
bool symmetric_products(const MlpKernelSpec& spec) {
  return parity(spec.activation, {Parity::odd}) != Parity::neither && parity(spec.derivative, {Parity::odd}) != Parity::neither;
}


/// A 2-D Gauss–Hermite product rule with pruned corners. Rows are the kept 1-D nodes x_p (weight w_p);
/// row r holds the points (x_p, x_q) for a contiguous run of q, stored flat at [row_begin[r], row_begin[r+1]).
struct NodeSet {
  int order = 0;
  Eigen::ArrayXd row_x;        ///< x_p per row
  Eigen::ArrayXd row_w;        ///< w_p per row
  Eigen::ArrayXd px, qx;       ///< per point: x_p and x_q
  Eigen::ArrayXd wq;           ///< per point: w_q
  Eigen::ArrayXd wpq;          ///< per point: w_p w_q
  std::vector<Eigen::Index> row_begin;
  std::vector<double> grid_x, grid_w;      ///< the 1-D rule
  std::vector<std::size_t> row_first_q;    ///< per row: the 1-D index q of its first point
  Eigen::Index rows() const { return row_x.size(); }
  Eigen::Index points() const { return px.size(); }
};

/// Keeps the points with w_p w_q ≥ max(cutoff, DBL_MIN) (weights are unimodal in q, so each row is a
/// contiguous run). With `half`, only the rows x_p ≥ 0 are kept and those with x_p > 0 count twice: exact when
/// φ(u)φ(v) and φ'(u)φ'(v) are even under (u, v) → (−u, −v), since the point set is symmetric under
/// (x_p, x_q) → (−x_p, −x_q) (Gauss–Hermite and trapezoidal nodes are exactly symmetric) and that map is
/// v → −v, u → −u.
NodeSet make_node_set(const NormalRule& rule, double cutoff, bool half) {
  const int order = static_cast<int>(rule.nodes.size());
  const double threshold = std::max(cutoff, DBL_MIN);
  const double w_max = *std::max_element(rule.weights.begin(), rule.weights.end());
  std::vector<int> rows;
  for (int p = 0; p < order; ++p)
    if (rule.weights[p] * w_max >= threshold && (!half || rule.nodes[p] >= 0)) rows.push_back(p);
  NodeSet s;
  s.order = order;
  s.row_x.resize(static_cast<Eigen::Index>(rows.size()));
  s.row_w.resize(static_cast<Eigen::Index>(rows.size()));
  std::vector<double> px, qx, wq, wpq;
  s.row_begin.push_back(0);
  s.grid_x = rule.nodes;
  s.grid_w = rule.weights;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    const int p = rows[r];
    const double multiplicity = half && rule.nodes[p] > 0 ? 2.0 : 1.0;
    s.row_x(static_cast<Eigen::Index>(r)) = rule.nodes[p];
    s.row_w(static_cast<Eigen::Index>(r)) = multiplicity * rule.weights[p];
    s.row_first_q.push_back(0);
    for (int q = 0; q < order; ++q) {
      if (rule.weights[p] * rule.weights[q] < threshold) continue;
      if (static_cast<Eigen::Index>(px.size()) == s.row_begin.back()) s.row_first_q.back() = static_cast<std::size_t>(q);
      px.push_back(rule.nodes[p]);
      qx.push_back(rule.nodes[q]);
      wq.push_back(rule.weights[q]);
      wpq.push_back(multiplicity * rule.weights[p] * rule.weights[q]);
    }
    s.row_begin.push_back(static_cast<Eigen::Index>(px.size()));
  }
  auto to_array = [](const std::vector<double>& v) {
    return Eigen::ArrayXd(Eigen::Map<const Eigen::ArrayXd>(v.data(), static_cast<Eigen::Index>(v.size())));
  };
  s.px = to_array(px);
  s.qx = to_array(qx);
  s.wq = to_array(wq);
  s.wpq = to_array(wpq);
  return s;
}

/// The Gauss–Hermite node set of order k.
NodeSet gauss_hermite_nodes(int order, double cutoff, bool half) {
  const GaussHermiteRule& gh = gauss_hermite_rule(order);
  return make_node_set(NormalRule{gh.nodes, gh.weights}, cutoff, half);
}

/// The trapezoidal node set of spacing h (limits/trapezoid_rule.h): 1-D nodes down to weight cutoff/w_max, so
/// that every product weight ≥ cutoff is kept.
NodeSet trapezoid_nodes(double h, double cutoff, bool half) {
  const double w_max = h / std::sqrt(2 * std::numbers::pi);
  return make_node_set(trapezoid_normal_rule(h, std::max(cutoff, DBL_MIN) / w_max), cutoff, half);
}

/// The node set's rows in the padded layout of tanh_cached_entry (mlp_kernel_tanh.h).
TanhRows tanh_rows(const NodeSet& s) {
  TanhRows t;
  t.grid_x = s.grid_x;
  t.grid_w = s.grid_w;
  for (Eigen::Index r = 0; r < s.rows(); ++r) {
    const auto ru = static_cast<std::size_t>(r);
    t.row_x.push_back(s.row_x(r));
    t.row_w.push_back(s.row_w(r));
    t.row_first.push_back(s.row_first_q[ru]);
    t.row_length.push_back(static_cast<std::size_t>(s.row_begin[ru + 1] - s.row_begin[ru]));
  }
  return t;
}

/// Replaces every occurrence of the sub-tree `target` in e by `with`.
ExprPtr replace_subtree(const ExprPtr& e, const ExprPtr& target, const ExprPtr& with) {
  if (equal(e, target)) return with;
  switch (e->kind) {
    case ExprKind::Const:
    case ExprKind::Arg: return e;
    case ExprKind::Neg: return neg(replace_subtree(e->lhs, target, with));
    case ExprKind::Call: return call(e->fn, replace_subtree(e->lhs, target, with));
    case ExprKind::Add: return add(replace_subtree(e->lhs, target, with), replace_subtree(e->rhs, target, with));
    case ExprKind::Sub: return sub(replace_subtree(e->lhs, target, with), replace_subtree(e->rhs, target, with));
    case ExprKind::Mul: return mul(replace_subtree(e->lhs, target, with), replace_subtree(e->rhs, target, with));
    case ExprKind::Div: return div(replace_subtree(e->lhs, target, with), replace_subtree(e->rhs, target, with));
    case ExprKind::Pow: return pow(replace_subtree(e->lhs, target, with), replace_subtree(e->rhs, target, with));
  }
  return e;
}

/// φ and φ' compiled for arrays. When φ occurs inside φ' (tanh' = 1 − tanh², sigmoid' = σ(1 − σ), exp' = exp),
/// φ' is compiled over (x, φ(x)) so that evaluating both costs one evaluation of φ.
class Activation {
 public:
  explicit Activation(const MlpKernelSpec& spec) : phi_(spec.activation, {true}), dphi_(spec.derivative, {true}) {
    const ExprPtr& f = spec.activation;
    // tanh(x): the vectorized tanh of limits/mlp_kernel_tanh.h (libm's is scalar), φ' = 1 − φ²
    tanh_ = f->kind == ExprKind::Call && f->fn == Function::tanh && f->lhs->kind == ExprKind::Arg && f->lhs->arg == 0;
    if (f->kind != ExprKind::Arg && f->kind != ExprKind::Const) {
      const ExprPtr shared = replace_subtree(spec.derivative, f, argument(1));
      if (!equal(shared, spec.derivative)) dphi_shared_.emplace(shared, std::vector<bool>{true, true});
    }
  }
  Eigen::ArrayXd phi(const Eigen::ArrayXd& x) const { return tanh_ ? tanh_of(x) : eval(phi_, x); }
  Eigen::ArrayXd dphi(const Eigen::ArrayXd& x) const { return tanh_ ? Eigen::ArrayXd(1.0 - tanh_of(x).square()) : eval(dphi_, x); }
  /// φ = tanh(x): the quadrature route's entries go through tanh_cached_entry
  bool is_tanh() const { return tanh_; }
  /// φ(x) into f and φ'(x) into g.
  void both(const Eigen::ArrayXd& x, Eigen::ArrayXd& f, Eigen::ArrayXd& g) const {
    if (tanh_) {
      f = tanh_of(x);
      g = 1.0 - f.square();
      return;
    }
    f = eval(phi_, x);
    if (dphi_shared_) {
      const ExprInput in[2] = {{0.0, &x}, {0.0, &f}};
      g = dphi_shared_->eval(std::span<const ExprInput>(in, 2), x.size());
    } else {
      g = eval(dphi_, x);
    }
  }

 private:
  static Eigen::ArrayXd tanh_of(const Eigen::ArrayXd& x) {
    Eigen::ArrayXd y(x.size());
    tanh_values(x.data(), y.data(), static_cast<std::size_t>(x.size()));
    return y;
  }
  static Eigen::ArrayXd eval(const CompiledExpr& e, const Eigen::ArrayXd& x) {
    const ExprInput in{0.0, &x};
    return e.eval(std::span<const ExprInput>(&in, 1), x.size());
  }
  bool tanh_ = false;
  CompiledExpr phi_;
  CompiledExpr dphi_;
  std::optional<CompiledExpr> dphi_shared_;
};

/// The whitened coordinates of cov [[a, c], [c, b]]: u = √a ξ₁, v = alpha ξ₁ + s ξ₂.
struct Mixture {
  double sqrt_a, alpha, s;
};

Mixture mixture(double a, double c, double b) {
  Mixture m{};
  a = std::max(a, 0.0);
  b = std::max(b, 0.0);
  m.sqrt_a = std::sqrt(a);
  const double bound = std::sqrt(b);
  m.alpha = a > 0 ? std::clamp(c / m.sqrt_a, -bound, bound) : 0.0;
  m.s = std::sqrt(std::max(b - m.alpha * m.alpha, 0.0));
  return m;
}

/// Per input i of a layer: φ and φ' at u = √K_ii x_p for the rows p of the node set (columns = inputs).
struct UnivariateCache {
  Eigen::MatrixXd phi;   ///< rows × N
  Eigen::MatrixXd dphi;  ///< rows × N
};

/// Cached scheme: only φ(v), φ'(v) at the points; the u-part comes from the cache column of input i.
Transforms entry_cached(const Activation& act, const NodeSet& nodes, const TanhRows* tanh, const UnivariateCache& cache,
                        Eigen::Index i, const Mixture& m) {
  if (tanh) {
    const TanhSums t = tanh_cached_entry(*tanh, &cache.phi(0, i), &cache.dphi(0, i), m.alpha, m.s);
    return {t.phi, t.dphi};
  }
  const Eigen::ArrayXd v = m.alpha * nodes.px + m.s * nodes.qx;
  Eigen::ArrayXd f, g;
  act.both(v, f, g);
  f *= nodes.wq;
  g *= nodes.wq;
  Transforms t;
  for (Eigen::Index r = 0; r < nodes.rows(); ++r) {
    const Eigen::Index begin = nodes.row_begin[static_cast<std::size_t>(r)];
    const Eigen::Index len = nodes.row_begin[static_cast<std::size_t>(r) + 1] - begin;
    t.phi += nodes.row_w(r) * cache.phi(r, i) * f.segment(begin, len).sum();
    t.dphi += nodes.row_w(r) * cache.dphi(r, i) * g.segment(begin, len).sum();
  }
  return t;
}

/// Naive scheme: φ(u), φ(v), φ'(u), φ'(v) at every point.
Transforms entry_naive(const Activation& act, const NodeSet& nodes, const Mixture& m) {
  const Eigen::ArrayXd u = m.sqrt_a * nodes.px;
  const Eigen::ArrayXd v = m.alpha * nodes.px + m.s * nodes.qx;
  Eigen::ArrayXd fu, gu, fv, gv;
  act.both(u, fu, gu);
  act.both(v, fv, gv);
  Transforms t;
  t.phi = (nodes.wpq * fu * fv).sum();
  t.dphi = (nodes.wpq * gu * gv).sum();
  return t;
}

/// Split scheme, for φ or φ' with breakpoints x_k (kinks, jumps): u = √a ξ₁ by Gauss–Legendre panels cut at
/// ξ₁ = x_k/√a, and for each such node the inner integral over ξ₂ (v = αξ₁ + sξ₂) by panels cut at
/// ξ₂ = (x_k − αξ₁)/s, n nodes per panel on [−split_half_width, split_half_width] (split_normal_rule.h).
Transforms entry_split(const Activation& act, const std::vector<double>& breaks, int n, const Mixture& m) {
  std::vector<double> cuts;
  if (m.sqrt_a > 0)
    for (double x : breaks) cuts.push_back(x / m.sqrt_a);
  NormalRule outer, inner;
  split_normal_rule(cuts, n, split_half_width, outer);
  std::vector<double> v, w;
  std::vector<std::size_t> row_begin{0};
  for (double z1 : outer.nodes) {
    if (m.s > 0) {
      cuts.clear();
      for (double x : breaks) cuts.push_back((x - m.alpha * z1) / m.s);
      split_normal_rule(cuts, n, split_half_width, inner);
      for (std::size_t j = 0; j < inner.nodes.size(); ++j) {
        v.push_back(m.alpha * z1 + m.s * inner.nodes[j]);
        w.push_back(inner.weights[j]);
      }
    } else {
      v.push_back(m.alpha * z1);
      w.push_back(1.0);
    }
    row_begin.push_back(v.size());
  }
  const Eigen::ArrayXd u = m.sqrt_a * Eigen::Map<const Eigen::ArrayXd>(outer.nodes.data(), static_cast<Eigen::Index>(outer.nodes.size()));
  const Eigen::Map<const Eigen::ArrayXd> vv(v.data(), static_cast<Eigen::Index>(v.size()));
  const Eigen::Map<const Eigen::ArrayXd> ww(w.data(), static_cast<Eigen::Index>(w.size()));
  Eigen::ArrayXd fu, gu, fv, gv;
  act.both(u, fu, gu);
  act.both(Eigen::ArrayXd(vv), fv, gv);
  fv *= ww;
  gv *= ww;
  Transforms t;
  for (std::size_t r = 0; r < outer.nodes.size(); ++r) {
    const auto begin = static_cast<Eigen::Index>(row_begin[r]);
    const auto len = static_cast<Eigen::Index>(row_begin[r + 1] - row_begin[r]);
    const auto ri = static_cast<Eigen::Index>(r);
    t.phi += outer.weights[r] * fu(ri) * fv.segment(begin, len).sum();
    t.dphi += outer.weights[r] * gu(ri) * gv.segment(begin, len).sum();
  }
  return t;
}

/// E φ(u)² and E φ'(u)² for u ~ N(0, k) by the adaptive route (detects divergence).
struct Diagonal {
  Estimate phi, dphi;
};

Diagonal diagonal_integrals(const Activation& act, double k, int layer, Eigen::Index input) {
  auto squared = [&act](bool f) {
    return [&act, f](const Eigen::MatrixXd& points) -> Eigen::ArrayXd {
      const Eigen::ArrayXd x = points.row(0).transpose().array();
      return (f ? act.phi(x) : act.dphi(x)).square();
    };
  };
  const Eigen::MatrixXd cov = Eigen::MatrixXd::Constant(1, 1, std::max(k, 0.0));
  ExpectationOptions options;
  options.rel_tol = 1e-13;  // 1-D rules are cheap: converge well below the 2-D rule's error
  Diagonal d;
  const char* which = "E[phi(u)^2]";
  try {
    d.phi = gaussian_expectation(squared(true), cov, options);
    which = "E[phi'(u)^2]";
    d.dphi = gaussian_expectation(squared(false), cov, options);
  } catch (const DivergentIntegral& e) {
    std::string cause = e.what();
    const std::string redundant = "the Gaussian expectation is not finite: ";
    if (cause.rfind(redundant, 0) == 0) cause = cause.substr(redundant.size());
    throw DivergentIntegral("the kernel of layer " + std::to_string(layer + 1) + " diverges: " + which + " for u = h^" +
                                std::to_string(layer) + "(x_" + std::to_string(input + 1) + ") ~ N(0, " + number(k) +
                                ") is infinite (" + cause + ")",
                            e.last_value);
  }
  return d;
}

/// E φ(u)² and E φ'(u)² for u ~ N(0, k) by the split rule with n and 2n nodes per panel (value: 2n; error: the
/// difference), for φ with breakpoints, where the adaptive Gauss–Hermite route converges only algebraically.
Diagonal diagonal_split(const Activation& act, const std::vector<double>& breaks, int n, double k) {
  const double root = std::sqrt(std::max(k, 0.0));
  std::vector<double> cuts;
  if (root > 0)
    for (double x : breaks) cuts.push_back(x / root);
  auto moments = [&](int nodes) {
    NormalRule rule;
    split_normal_rule(cuts, nodes, split_half_width, rule);
    const Eigen::ArrayXd u =
        root * Eigen::Map<const Eigen::ArrayXd>(rule.nodes.data(), static_cast<Eigen::Index>(rule.nodes.size()));
    const Eigen::Map<const Eigen::ArrayXd> w(rule.weights.data(), static_cast<Eigen::Index>(rule.weights.size()));
    Eigen::ArrayXd f, g;
    act.both(u, f, g);
    return std::pair<double, double>{(w * f.square()).sum(), (w * g.square()).sum()};
  };
  const auto coarse = moments(n), fine = moments(2 * n);
  Diagonal d;
  d.phi = {fine.first, std::abs(fine.first - coarse.first) + 16 * eps * std::abs(fine.first), Route::quadrature};
  d.dphi = {fine.second, std::abs(fine.second - coarse.second) + 16 * eps * std::abs(fine.second), Route::quadrature};
  return d;
}

/// The finer rule of the error estimates has spacing h / spacing_refinement (and the squared weight cutoff).
constexpr double spacing_refinement = 1.5;

/// E φ(u)² and E φ'(u)² for u ~ N(0, k) by the 1-D trapezoidal rule (trapezoid_rule.h), spacing h_0 = 1/2
/// refined by 1.5 until consecutive values agree to 1e-15 relative or the rule exceeds 10^5 nodes; value: the
/// finer rule, error: the difference plus 16 ε |value|. For the trapezoidal route, whose 2-D rule is accurate to
/// 1e-10 where Gauss–Hermite's diagonal stalls (tanh at K = 4: ~1e-5 at order 512).
Diagonal diagonal_trapezoid(const Activation& act, double k) {
  const double root = std::sqrt(std::max(k, 0.0));
  auto moments = [&](double h) {
    const NormalRule rule = trapezoid_normal_rule(h, 1e-40);
    const Eigen::ArrayXd u = root * Eigen::Map<const Eigen::ArrayXd>(rule.nodes.data(), static_cast<Eigen::Index>(rule.nodes.size()));
    const Eigen::Map<const Eigen::ArrayXd> w(rule.weights.data(), static_cast<Eigen::Index>(rule.weights.size()));
    Eigen::ArrayXd f, g;
    act.both(u, f, g);
    return std::array<double, 3>{(w * f.square()).sum(), (w * g.square()).sum(), static_cast<double>(rule.nodes.size())};
  };
  auto prev = moments(0.5);
  for (double h = 0.5 / spacing_refinement;; h /= spacing_refinement) {
    const auto cur = moments(h);
    const double ep = std::abs(cur[0] - prev[0]), ed = std::abs(cur[1] - prev[1]);
    if ((ep <= 1e-15 * std::abs(cur[0]) && ed <= 1e-15 * std::abs(cur[1])) || cur[2] > 1e5 || !std::isfinite(ep + ed)) {
      Diagonal d;
      d.phi = {cur[0], ep + 16 * eps * std::abs(cur[0]), Route::quadrature};
      d.dphi = {cur[1], ed + 16 * eps * std::abs(cur[1]), Route::quadrature};
      return d;
    }
    prev = cur;
  }
}

/// The adaptive 1-D integrals (which detect a divergent E φ², E φ'²), or the trapezoidal ones where they are
/// more accurate.
Diagonal best_diagonal(const Activation& act, double k, int layer, Eigen::Index input) {
  Diagonal d = diagonal_integrals(act, k, layer, input);
  const Diagonal t = diagonal_trapezoid(act, k);
  if (t.phi.error < d.phi.error) d.phi = t.phi;
  if (t.dphi.error < d.dphi.error) d.dphi = t.dphi;
  return d;
}

// ---- the trapezoidal rule's spacing ----

std::vector<std::pair<Eigen::Index, Eigen::Index>> error_sample(const Eigen::MatrixXd& k1, std::size_t wanted);


/// K^l(x, x) for l = 1..depth+1 (index l − 1) of one input with K^1(x, x) = k11, by the adaptive 1-D integrals
/// (the diagonal's recursion needs no off-diagonal entry).
std::vector<double> diagonal_path(const MlpKernelSpec& spec, const Activation& act, double k11, Eigen::Index input) {
  std::vector<double> path{k11};
  for (int l = 1; l <= spec.depth; ++l)
    path.push_back(spec.sw2_at(l) * best_diagonal(act, path.back(), l, input).phi.value + spec.sb2_at(l));
  return path;
}

/// The spacing h of the trapezoidal rule (mlp_kernel.h): h_0 = 1/2, h_{j+1} = h_j/1.5, until the sampled pairs'
/// whole recursions at h and h/1.5 (squared cutoff) differ by at most target_error in every layer, nngp and ntk;
/// or until the finer rule would exceed max_nodes (met = false).
double choose_spacing(const MlpKernelSpec& spec, const Activation& act, const Eigen::MatrixXd& k1,
                      const MlpKernelOptions& options, bool half, bool& met) {
  met = true;
  const auto pairs = error_sample(k1, std::max<std::size_t>(options.error_sample_pairs, 1));
  if (pairs.empty()) return 0.5;  // one input: no off-diagonal entry uses the rule
  std::vector<Eigen::Index> inputs;
  for (const auto& [i, j] : pairs) inputs.insert(inputs.end(), {i, j});
  std::sort(inputs.begin(), inputs.end());
  inputs.erase(std::unique(inputs.begin(), inputs.end()), inputs.end());
  std::vector<std::vector<double>> diag(static_cast<std::size_t>(k1.rows()));
  parallel_for(inputs.size(), options.threads, [&](std::size_t s) {
    const Eigen::Index i = inputs[s];
    diag[static_cast<std::size_t>(i)] = diagonal_path(spec, act, k1(i, i), i);
  });
  // per pair: the largest |difference| of K^l and Θ^l between the two rules
  auto largest_change = [&](const NodeSet& coarse, const NodeSet& fine) {
    std::vector<double> change(pairs.size(), 0.0);
    parallel_for(pairs.size(), options.threads, [&](std::size_t s) {
      const auto [i, j] = pairs[s];
      const auto& di = diag[static_cast<std::size_t>(i)];
      const auto& dj = diag[static_cast<std::size_t>(j)];
      double k_c = k1(i, j), t_c = k_c, k_f = k_c, t_f = k_c;
      for (int l = 1; l <= spec.depth; ++l) {
        const auto li = static_cast<std::size_t>(l) - 1;
        const double sw2 = spec.sw2_at(l), sb2 = spec.sb2_at(l);
        const Transforms c = entry_naive(act, coarse, mixture(di[li], k_c, dj[li]));
        const Transforms f = entry_naive(act, fine, mixture(di[li], k_f, dj[li]));
        k_c = sw2 * c.phi + sb2;
        t_c = k_c + sw2 * c.dphi * t_c;
        k_f = sw2 * f.phi + sb2;
        t_f = k_f + sw2 * f.dphi * t_f;
        change[s] = std::max({change[s], std::abs(k_c - k_f), std::abs(t_c - t_f)});
        if (!std::isfinite(change[s])) change[s] = std::numeric_limits<double>::infinity();
      }
    });
    return *std::max_element(change.begin(), change.end());
  };
  const double cutoff2 = options.weight_cutoff * options.weight_cutoff;
  for (double h = 0.5;; h /= spacing_refinement) {
    const NodeSet fine = trapezoid_nodes(h / spacing_refinement, cutoff2, half);
    if (largest_change(trapezoid_nodes(h, options.weight_cutoff, half), fine) <= options.target_error) return h;
    if (static_cast<double>(fine.points()) * spacing_refinement * spacing_refinement > options.max_nodes) {
      met = false;
      return h / spacing_refinement;
    }
  }
}

// ---- driver ----

void check_finite(const Eigen::MatrixXd& m, const char* what, int layer) {
  if (m.allFinite()) return;
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = 0; i < m.rows(); ++i)
      if (!std::isfinite(m(i, j)))
        throw NumericalError(std::string("the ") + what + " kernel is not finite at layer " + std::to_string(layer) +
                             ", entry (" + std::to_string(i + 1) + ", " + std::to_string(j + 1) +
                             "): " + number(m(i, j)) + " (the activation grows too fast for these variances)");
}

/// One layer: (K^{l+1}, Θ^{l+1}) from (K^l, Θ^l), given E[φφ] and E[φ'φ'] for every entry i ≤ j.
/// Writes the upper triangle only (i ≤ j); mirror() fills the rest.
void combine(const Eigen::MatrixXd& theta, Eigen::Index i, Eigen::Index j, const Transforms& t, double sw2,
             double sb2, Eigen::MatrixXd& k_next, Eigen::MatrixXd& theta_next) {
  const double kn = sw2 * t.phi + sb2;
  k_next(i, j) = kn;
  theta_next(i, j) = kn + sw2 * t.dphi * theta(i, j);
}

/// Applies the NTK multipliers of layer l (MlpKernelSpec::ntk_weight_scale, ntk_bias_scale) to Θ^{l+1},
/// computed with both at 1: its own terms are K^{l+1} = σ_w² E[φφ] + σ_b², so Θ loses (1 − s_w)(K − σ_b²) +
/// (1 − s_b) σ_b².
void scale_own_terms(const MlpKernelSpec& spec, int l, const Eigen::MatrixXd& k, Eigen::MatrixXd& theta) {
  const double sw = spec.ntk_w_at(l), sb = spec.ntk_b_at(l), sb2 = spec.sb2_at(l);
  if (sw == 1.0 && sb == 1.0) return;
  theta.array() -= (1.0 - sw) * (k.array() - sb2) + (1.0 - sb) * sb2;
}

/// Copies the upper triangle into the lower one.
void mirror(Eigen::MatrixXd& m) {
  for (Eigen::Index j = 0; j < m.cols(); ++j)
    for (Eigen::Index i = j + 1; i < m.rows(); ++i) m(i, j) = m(j, i);
}

/// mirror() in 64 × 64 tiles on the worker threads (a transposing copy is cache-bound: tiles keep both sides in cache).
void mirror_parallel(Eigen::MatrixXd& m, unsigned threads) {
  constexpr Eigen::Index tile = 64;
  const Eigen::Index n = m.cols(), tiles = (n + tile - 1) / tile;
  parallel_for(static_cast<std::size_t>(tiles), threads, [&](std::size_t job) {
    const Eigen::Index j0 = static_cast<Eigen::Index>(job) * tile, j1 = std::min(n, j0 + tile);
    for (Eigen::Index i0 = j0; i0 < n; i0 += tile) {  // the tile rows i0.. of the lower triangle in columns j0..j1
      const Eigen::Index i1 = std::min(n, i0 + tile);
      for (Eigen::Index j = j0; j < j1; ++j)
        for (Eigen::Index i = std::max(i0, j + 1); i < i1; ++i) m(i, j) = m(j, i);
    }
  });
}

/// Calls entry(i, j) for every i ≤ j (i < j when strict) on the worker threads, one column j per job (the
/// entries (0..j, j) are contiguous in column-major storage), longest columns first; only in the columns j with
/// owned[j] when `owned` is not empty.
void for_upper_triangle(Eigen::Index n, bool strict, unsigned threads, const std::vector<char>& owned,
                        const std::function<void(Eigen::Index, Eigen::Index)>& entry) {
  parallel_for(static_cast<std::size_t>(n), threads, [&](std::size_t job) {
    const Eigen::Index j = n - 1 - static_cast<Eigen::Index>(job);
    if (!owned.empty() && !owned[static_cast<std::size_t>(j)]) return;
    for (Eigen::Index i = 0; i < (strict ? j : j + 1); ++i) entry(i, j);
  });
}

void for_upper_triangle(Eigen::Index n, bool strict, unsigned threads,
                        const std::function<void(Eigen::Index, Eigen::Index)>& entry) {
  for_upper_triangle(n, strict, threads, {}, entry);
}

/// The column of the upper triangle dealt t-th to the MPI processes: 0, n−1, 1, n−2, ..., so that contiguous
/// blocks of t (limits/distributed.h block_of) hold about equal numbers of entries.
std::size_t dealt_column(std::size_t t, std::size_t n) { return t % 2 == 0 ? t / 2 : n - 1 - t / 2; }

/// MPI (limits/distributed.h): every process calls compute(owned) with owned[c] set for its block of dealt columns
/// c, then pack(c, values) for each of them; the packed columns are all-gathered and every process calls
/// unpack(c, values) for every column. distributed_rows' error handling, with the kernel's error types restored
/// (it keeps NumericalError and std::invalid_argument: MlpKernelError is an invalid_argument, DivergentIntegral
/// a runtime_error).
void exchange_dealt_columns(std::size_t count, const std::function<void(const std::vector<char>&)>& compute,
                            const std::function<void(std::size_t, std::vector<double>&)>& pack,
                            const std::function<void(std::size_t, const double*)>& unpack) {
  std::vector<std::vector<double>> rows;
  try {
    rows = distributed_rows(count, [&](IndexBlock mine) {
      std::vector<char> owned(count, 0);
      for (std::size_t t = mine.begin; t < mine.end; ++t) owned[dealt_column(t, count)] = 1;
      compute(owned);
      std::vector<std::vector<double>> out(mine.size());
      for (std::size_t t = mine.begin; t < mine.end; ++t) pack(dealt_column(t, count), out[t - mine.begin]);
      return out;
    });
  } catch (const NumericalError&) {
    throw;
  } catch (const std::invalid_argument& e) {
    throw MlpKernelError(e.what());
  } catch (const std::runtime_error& e) {
    throw DivergentIntegral(e.what(), std::numeric_limits<double>::quiet_NaN());
  }
  for (std::size_t t = 0; t < count; ++t) unpack(dealt_column(t, count), rows[t].data());
}

/// The error-estimate sample of off-diagonal pairs (see the header comment).
std::vector<std::pair<Eigen::Index, Eigen::Index>> error_sample(const Eigen::MatrixXd& k1, std::size_t wanted) {
  const Eigen::Index n = k1.rows();
  std::vector<std::pair<Eigen::Index, Eigen::Index>> pairs;
  const std::size_t total = static_cast<std::size_t>(n) * static_cast<std::size_t>(n - 1) / 2;
  if (wanted == 0 || total == 0) return pairs;
  if (total <= wanted) {
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = i + 1; j < n; ++j) pairs.emplace_back(i, j);
    return pairs;
  }
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  for (Eigen::Index i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  const std::size_t top = std::min<std::size_t>(8, order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(top), order.end(),
                    [&k1](Eigen::Index x, Eigen::Index y) { return k1(x, x) > k1(y, y); });
  for (std::size_t a = 0; a < top && pairs.size() < wanted; ++a)
    for (std::size_t b = a + 1; b < top && pairs.size() < wanted; ++b)
      pairs.emplace_back(std::min(order[a], order[b]), std::max(order[a], order[b]));
  // the rest evenly over the linear index of the strict upper triangle
  const std::size_t rest = wanted - pairs.size();
  for (std::size_t s = 0; s < rest; ++s) {
    std::size_t idx = (2 * s + 1) * total / (2 * rest);
    Eigen::Index i = 0;
    while (idx >= static_cast<std::size_t>(n - 1 - i)) {
      idx -= static_cast<std::size_t>(n - 1 - i);
      ++i;
    }
    const std::pair<Eigen::Index, Eigen::Index> p{i, i + 1 + static_cast<Eigen::Index>(idx)};
    if (std::find(pairs.begin(), pairs.end(), p) == pairs.end()) pairs.push_back(p);
  }
  return pairs;
}

/// An uninitialized n × n matrix whose pages the kernel may back with 2 MiB transparent huge pages (madvise;
/// fewer page faults when the matrix is first written). Contents are unspecified.
Eigen::MatrixXd huge_page_matrix(Eigen::Index n) {
  Eigen::MatrixXd m(n, n);
  constexpr std::uintptr_t page = std::uintptr_t{2} << 20;
  const auto begin = (reinterpret_cast<std::uintptr_t>(m.data()) + page - 1) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(m.data() + m.size()) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);  // advice only: errors ignored
  return m;
}

/// Without keep_all_layers only the readout's matrices stay.
MlpKernelResult keep_requested_layers(MlpKernelResult result, const MlpKernelOptions& options) {
  if (!options.keep_all_layers && result.nngp.size() > 1) {
    result.nngp.erase(result.nngp.begin(), result.nngp.end() - 1);
    result.ntk.erase(result.ntk.begin(), result.ntk.end() - 1);
  }
  return result;
}

/// The piecewise-linear route for homogeneous φ (mlp_kernel.h): in place on the upper triangles of K, Θ and det,
/// column by column with Eigen arrays, both cores. Fills result's matrices (every layer or the readout only) and
/// the rounding allowance of every layer.
void homogeneous_piecewise_route(const MlpKernelSpec& spec, const PiecewisePair& pwl, const Eigen::MatrixXd& inputs,
                                 const MlpKernelOptions& options, MlpKernelResult& result) {
  const Eigen::Index n = inputs.rows();
  const auto d = static_cast<double>(inputs.cols());
  const int depth = spec.depth;
  const unsigned threads = options.threads;
  // K^1 = σ_w² X Xᵀ/d + σ_b² and det K^1 from the Gram matrix G = X Xᵀ, upper triangle by column blocks. The dets
  // of column j's off-diagonal entries (j of them) live in the free lower triangle of k: in column n − 1 − j, rows
  // n − j..n − 1 (disjoint from that column's upper entries, so both columns can be computed concurrently); the
  // final mirror overwrites them. Two N × N matrices in all.
  Eigen::MatrixXd k = huge_page_matrix(n), theta = huge_page_matrix(n);
  auto det_of = [&k, n](Eigen::Index j) { return k.data() + (n - 1 - j) * n + (n - j); };
  constexpr Eigen::Index block = 64;
  const Eigen::Index blocks = (n + block - 1) / block;
  parallel_for(static_cast<std::size_t>(blocks), threads, [&](std::size_t job) {
    const Eigen::Index j0 = (blocks - 1 - static_cast<Eigen::Index>(job)) * block, w = std::min(block, n - j0);
    gram_upper_columns(inputs.data(), static_cast<std::size_t>(n), static_cast<std::size_t>(inputs.cols()),
                       static_cast<std::size_t>(j0), static_cast<std::size_t>(j0 + w), k.data(), static_cast<std::size_t>(n));
  });
  const Eigen::VectorXd gram_diag = k.diagonal();
  const double sw2_in = spec.sw2_at(0), sb2_in = spec.sb2_at(0), s2 = sw2_in / d;
  const auto count = static_cast<std::size_t>(n), layers = static_cast<std::size_t>(depth) + 1;
  // per layer l = 0..depth and column j: max |K^{l+1}| and max |Θ^{l+1}| over the column's upper entries
  std::vector<std::vector<double>> col_max_k(layers, std::vector<double>(count, 0.0)), col_max_t = col_max_k;
  parallel_for(count, threads, [&](std::size_t job) {  // det, K^1 and Θ^1 = K^1, column by column
    const auto j = static_cast<Eigen::Index>(job);
    double* dc = det_of(j);
    double top = 0.0;
    for (Eigen::Index i = 0; i <= j; ++i) {
      const double g = k(i, j), gi = gram_diag(i), gj = gram_diag(j);
      if (i < j) {
        if (2 * g * g <= gi * gj)  // cos² ≤ 1/2: |x|²|y|² − (x·y)² and |x − y|² lose a few ulps at most
          dc[i] = s2 * s2 * std::max(gi * gj - g * g, 0.0) + s2 * sb2_in * std::max(gi + gj - 2 * g, 0.0);
        else
          dc[i] = input_det(inputs, i, j, s2, sb2_in);
      }
      const double k1 = sw2_in * g / d + sb2_in;
      k(i, j) = theta(i, j) = k1;
      top = std::max(top, std::abs(k1));
    }
    col_max_k[0][job] = col_max_t[0][job] = top;
  });
  for (Eigen::Index i = 0; i < n; ++i)  // finite inputs whose squares overflow (1e300): the user's data, named
    if (!std::isfinite(k(i, i)))
      throw MlpKernelError("input " + std::to_string(i + 1) + " (row " + std::to_string(i + 1) +
                           " of the inputs) is too large: K^1(x, x) = sw2 |x|^2/d + sb2 overflows double (" +
                           number(k(i, i)) + "); rescale the inputs");
  std::vector<Eigen::MatrixXd> kept_k, kept_t;  // with keep_all_layers: layers 1..depth, upper triangles
  // the layers in place, the off-diagonal entries only in the columns `owned` (empty: all; else those of this MPI
  // process: the other columns get their diagonal entry only, which every column's entries need)
  auto run_layers = [&](const std::vector<char>& owned) {
    for (int l = 1; l <= depth; ++l) {
      if (options.keep_all_layers) {
        kept_k.push_back(k);
        kept_t.push_back(theta);
      }
      const double sw2 = spec.sw2_at(l), sb2 = spec.sb2_at(l);
      const Eigen::ArrayXd diag = k.diagonal().array();
      const bool positive = diag.minCoeff() > 0;  // else the scalar formulas, whose special case is a zero variance
      const Eigen::ArrayXd root_diag = diag.max(0.0).sqrt(), inv_root_diag = root_diag.inverse();
      const bool last = l == depth;  // no det after the readout
      std::vector<ColumnSummary> columns(count);
      parallel_for(count, threads, [&](std::size_t job) {
        const auto j = static_cast<Eigen::Index>(n - 1 - static_cast<Eigen::Index>(job));
        const bool full = owned.empty() || owned[static_cast<std::size_t>(j)];
        const Eigen::Index first = full ? 0 : j, m = j + 1 - first;  // entries first..j of the column
        double* kc = &k(first, j);
        double* tc = &theta(first, j);
        double* dc = det_of(j) + first;  // entries first..j − 1 (none on the diagonal)
        ColumnSummary& summary = columns[static_cast<std::size_t>(j)];
        if (positive) {
          summary = piecewise_layer_column(pwl.phi, pwl.dphi, sw2, sb2, root_diag.data() + first,
                                           inv_root_diag.data() + first, static_cast<std::size_t>(m), kc, tc, dc, !last);
          return;
        }
        for (Eigen::Index r = 0; r < m; ++r) {
          const Eigen::Index i = first + r;
          Gram2 g;
          g.a = std::max(diag(i), 0.0);
          g.b = std::max(diag(j), 0.0);
          const double bound = std::sqrt(g.a * g.b);
          g.c = std::clamp(kc[r], -bound, bound);
          g.det = i == j ? 0.0 : std::max(dc[r], 0.0);  // dc[r] exists for i < j only
          const PiecewiseTransform t = expect_piecewise(pwl.phi, g), td = expect_piecewise(pwl.dphi, g);
          const double kn = sw2 * t.value + sb2;
          tc[r] = kn + sw2 * td.value * tc[r];
          kc[r] = kn;
          if (i < j && !last) dc[r] = next_det(t, sw2, sb2);
          summary.max_k = std::max(summary.max_k, std::abs(kn));
          summary.max_theta = std::max(summary.max_theta, std::abs(tc[r]));
          summary.finite = summary.finite && std::isfinite(kn) && std::isfinite(tc[r]);
        }
      });
      for (std::size_t j = 0; j < count; ++j) {
        const ColumnSummary& c = columns[j];
        if (!c.finite) {  // names a non-finite entry (of a column this process computed)
          mirror(k);
          mirror(theta);
          check_finite(k, "nngp", l + 1);
          check_finite(theta, "ntk", l + 1);
        }
        col_max_k[static_cast<std::size_t>(l)][j] = c.max_k;
        col_max_t[static_cast<std::size_t>(l)][j] = c.max_theta;
      }
    }
  };
  if (options.distribute && process_count() > 1) {
    // MPI (limits/distributed.h): each process computes its block of dealt columns through every layer; the kept
    // layers' columns and the per-layer column maxima are exchanged, so every process ends with the full result
    exchange_dealt_columns(
        count, run_layers,
        [&](std::size_t c, std::vector<double>& col) {
          const auto ci = static_cast<Eigen::Index>(c);
          for (std::size_t l = 1; l < layers; ++l) col.insert(col.end(), {col_max_k[l][c], col_max_t[l][c]});
          for (std::size_t l = 0; l < kept_k.size(); ++l)
            for (const Eigen::MatrixXd* m : {&kept_k[l], &kept_t[l]}) col.insert(col.end(), m->col(ci).data(), m->col(ci).data() + ci + 1);
          for (const Eigen::MatrixXd* m : {&k, &theta}) col.insert(col.end(), m->col(ci).data(), m->col(ci).data() + ci + 1);
        },
        [&](std::size_t c, const double* at) {
          const auto ci = static_cast<Eigen::Index>(c);
          for (std::size_t l = 1; l < layers; ++l) {
            col_max_k[l][c] = *at++;
            col_max_t[l][c] = *at++;
          }
          for (std::size_t l = 0; l < kept_k.size(); ++l)
            for (Eigen::MatrixXd* m : {&kept_k[l], &kept_t[l]}) {
              std::copy(at, at + ci + 1, m->col(ci).data());
              at += ci + 1;
            }
          for (Eigen::MatrixXd* m : {&k, &theta}) {
            std::copy(at, at + ci + 1, m->col(ci).data());
            at += ci + 1;
          }
        });
  } else {
    run_layers({});
  }
  // the rounding allowance of every layer; the matrices (every layer or the readout only), mirrored
  result.nngp_error.assign(layers, 0.0);
  result.ntk_error.assign(layers, 0.0);
  for (std::size_t l = 0; l < layers; ++l) {
    const double max_k = *std::max_element(col_max_k[l].begin(), col_max_k[l].end());
    const double max_t = *std::max_element(col_max_t[l].begin(), col_max_t[l].end());
    result.nngp_error[l] = 16 * eps * static_cast<double>(l + 1) * max_k;
    result.ntk_error[l] = 16 * eps * static_cast<double>(l + 1) * max_t;
  }
  for (std::size_t l = 0; l < kept_k.size(); ++l) {
    mirror_parallel(kept_k[l], threads);
    mirror_parallel(kept_t[l], threads);
    result.nngp.push_back(std::move(kept_k[l]));
    result.ntk.push_back(std::move(kept_t[l]));
  }
  mirror_parallel(k, threads);
  mirror_parallel(theta, threads);
  result.nngp.push_back(std::move(k));
  result.ntk.push_back(std::move(theta));
}

/// φ and φ' when the in-place piecewise-linear route applies (mlp_kernel.h): closed forms on, φ piecewise linear
/// and homogeneous (with φ'), and the full NTK sum — a kernel-regime kernel that drops layers (ntk_weight_scale,
/// ntk_bias_scale ≠ 1) takes the layer-by-layer route, which scales each layer's own terms.
std::optional<PiecewisePair> in_place_piecewise(const MlpKernelSpec& spec, const MlpKernelOptions& options) {
  if (!options.use_closed_forms || match_closed(spec.activation)) return std::nullopt;
  auto pwl = match_piecewise_pair(spec);
  const auto one = [](double s) { return s == 1.0; };
  const bool full_ntk = std::all_of(spec.ntk_weight_scale.begin(), spec.ntk_weight_scale.end(), one) &&
                        std::all_of(spec.ntk_bias_scale.begin(), spec.ntk_bias_scale.end(), one);
  if (!full_ntk || !pwl || !piecewise_homogeneous(pwl->phi) || !piecewise_homogeneous(pwl->dphi)) return std::nullopt;
  return pwl;
}

}  // namespace

double mlp_kernel_bytes(const MlpKernelSpec& spec, std::size_t n, std::size_t d, const MlpKernelOptions& options) {
  const double N = static_cast<double>(n), entries = N * N, layers = spec.depth + 1.0;
  const bool mpi = options.distribute && process_count() > 1;
  // per input: the diagonals, reciprocals and per-layer column maxima (a few vectors of N doubles per layer)
  const double per_input = 64.0 * layers * N;
  if (in_place_piecewise(spec, options)) {
    // K and Θ (det in K's free triangle), plus every hidden layer's two when all are kept; under MPI the packed
    // columns of the kept matrices (half of each) once more while they are exchanged
    const double kept = options.keep_all_layers ? layers : 1.0;
    return 16.0 * kept * entries * (mpi ? 1.5 : 1.0) + per_input;
  }
  // the layer-by-layer routes hold every layer's K and Θ until they return (the readout alone is kept only then),
  // K^1 once more and, while it is formed, X Xᵀ and its symmetrization; the piecewise-linear route with both orders
  // also det, the angle error and the ntk error per pair and each layer's next four (7 matrices)
  const bool closed = options.use_closed_forms && match_closed(spec.activation);
  const bool pwl = options.use_closed_forms && !closed && match_piecewise_pair(spec);
  double per_entry = 16.0 * layers + 8.0 + (pwl ? 56.0 : 0.0);
  if (mpi && !closed && !pwl) per_entry += 8.0 * (layers - 1.0);  // the exchanged columns of every layer (half each)
  double caches = 0.0;  // quadrature: φ and φ' at about order²/4 rows of nodes for every input, two of them
  if (!closed && !pwl) {
    const double k = options.order > 0 ? options.order : default_mlp_quadrature_order;  // trapezoidal: comparable
    caches = 2.0 * 8.0 * (k * k / 4.0) * N;
  }
  return per_entry * entries + caches + per_input + 8.0 * N * static_cast<double>(d);
}

void validate_mlp_kernel_spec(const MlpKernelSpec& spec) {
  if (!spec.activation) throw MlpKernelError("the activation is missing");
  if (max_argument(spec.activation) > 0)
    throw MlpKernelError("the activation must be a function of one variable (argument 0), but it uses argument " +
                         std::to_string(max_argument(spec.activation)));
  if (!spec.derivative || max_argument(spec.derivative) > 0)
    throw MlpKernelError("the activation's derivative is missing or uses more than one variable");
  if (spec.depth < 1)
    throw MlpKernelError("depth must be at least 1 (the number of hidden layers), got " + std::to_string(spec.depth));
  const std::size_t layers = static_cast<std::size_t>(spec.depth) + 1;
  auto check_list = [&](const std::vector<double>& v, const char* name) {
    if (v.size() != 1 && v.size() != layers)
      throw MlpKernelError(std::string(name) + " has " + std::to_string(v.size()) + " values, but depth " +
                           std::to_string(spec.depth) + " needs 1 (every layer) or depth + 1 = " +
                           std::to_string(layers) + " (layers 1.." + std::to_string(layers) +
                           ": input layer, hidden layers, readout)");
    for (std::size_t l = 0; l < v.size(); ++l)
      if (!std::isfinite(v[l]) || v[l] < 0)
        throw MlpKernelError(std::string(name) + " must be finite and >= 0 (a variance), but value " +
                             std::to_string(l + 1) + " is " + number(v[l]));
  };
  check_list(spec.sw2, "sw2");
  check_list(spec.sb2, "sb2");
  for (const auto* scale : {&spec.ntk_weight_scale, &spec.ntk_bias_scale})
    if (!scale->empty()) check_list(*scale, scale == &spec.ntk_weight_scale ? "ntk_weight_scale" : "ntk_bias_scale");
  if (spec.ntk_weight_scale.size() == 1 || spec.ntk_bias_scale.size() == 1)
    throw MlpKernelError("the NTK layer multipliers need depth + 1 = " + std::to_string(layers) +
                         " values (one per layer) or none");
}

MlpKernelSpec make_mlp_kernel_spec(ExprPtr activation, int depth, std::vector<double> sw2, std::vector<double> sb2) {
  MlpKernelSpec spec;
  if (!activation) throw MlpKernelError("the activation is missing");
  spec.derivative = derivative(activation, 0);
  spec.activation = std::move(activation);
  spec.depth = depth;
  spec.sw2 = std::move(sw2);
  spec.sb2 = std::move(sb2);
  validate_mlp_kernel_spec(spec);
  return spec;
}

bool mlp_kernel_has_closed_form(const ExprPtr& activation) {
  if (!activation) return false;
  if (match_closed(activation)) return true;
  return match_piecewise_linear(activation) && match_piecewise_linear(derivative(activation, 0));
}

MlpKernelResult compute_mlp_kernel(const MlpKernelSpec& spec, const Eigen::MatrixXd& inputs,
                                   const MlpKernelOptions& options) {
  // 1. validate
  validate_mlp_kernel_spec(spec);
  check_integrable_activation(spec.activation);
  if (inputs.rows() < 1 || inputs.cols() < 1)
    throw MlpKernelError("the inputs are empty: need at least one row (input) and one column (dimension)");
  for (Eigen::Index i = 0; i < inputs.rows(); ++i)
    for (Eigen::Index c = 0; c < inputs.cols(); ++c)
      if (!std::isfinite(inputs(i, c)))
        throw MlpKernelError("input " + std::to_string(i + 1) + ", coordinate " + std::to_string(c + 1) +
                             " is not finite: " + number(inputs(i, c)));
  if (options.order != 0 && (options.order < 2 || 2 * options.order > max_gauss_hermite_order))
    throw MlpKernelError("the quadrature order must be 0 (the trapezoidal rule) or between 2 and " +
                         std::to_string(max_gauss_hermite_order / 2) + ", got " + std::to_string(options.order));
  if (!(options.target_error > 0)) throw MlpKernelError("target_error must be > 0, got " + number(options.target_error));
  if (!(options.weight_cutoff >= 0) || options.weight_cutoff > 1e-12)
    throw MlpKernelError("weight_cutoff must be in [0, 1e-12], got " + number(options.weight_cutoff));

  const Eigen::Index n = inputs.rows();
  const auto d = static_cast<double>(inputs.cols());
  const int depth = spec.depth;

  // 2. the input layer
  MlpKernelResult result;
  if (const auto pwl = in_place_piecewise(spec, options)) {
    result.route = Route::closed_form;
    homogeneous_piecewise_route(spec, *pwl, inputs, options, result);
    return result;
  }
  Eigen::MatrixXd k1 = spec.sw2_at(0) * (inputs * inputs.transpose()) / d;
  k1.array() += spec.sb2_at(0);
  k1 = (0.5 * (k1 + k1.transpose())).eval();  // exactly symmetric
  for (Eigen::Index i = 0; i < n; ++i)  // finite inputs whose squares overflow (1e300): the user's data, named
    if (!std::isfinite(k1(i, i)))
      throw MlpKernelError("input " + std::to_string(i + 1) + " (row " + std::to_string(i + 1) +
                           " of the inputs) is too large: K^1(x, x) = sw2 |x|^2/d + sb2 overflows double (" +
                           number(k1(i, i)) + "); rescale the inputs");
  result.nngp.push_back(k1);
  result.ntk.push_back(k1);
  scale_own_terms(spec, 0, k1, result.ntk.back());
  const auto closed = options.use_closed_forms ? match_closed(spec.activation) : std::nullopt;
  const auto pwl = options.use_closed_forms && !closed ? match_piecewise_pair(spec) : std::nullopt;
  result.route = closed || pwl ? Route::closed_form : Route::quadrature;
  result.order = closed || pwl ? 0 : options.order;
  // the piecewise-linear route tracks det K^l per pair (accurate angles); for mixed φ, whose gap is computed by
  // subtraction, also the angle error per pair and the entry errors it causes (cond_*)
  Eigen::MatrixXd det, angle_error, cond_k, cond_t;
  std::vector<double> cond_k_max(static_cast<std::size_t>(depth) + 1, 0.0), cond_t_max = cond_k_max;
  const bool track_angle_error = pwl && pwl->phi.has_order0() && pwl->phi.has_order1();
  if (pwl) {
    det = Eigen::MatrixXd::Zero(n, n);
    for_upper_triangle(n, true, options.threads, [&](Eigen::Index i, Eigen::Index j) {
      det(i, j) = input_det(inputs, i, j, spec.sw2_at(0) / d, spec.sb2_at(0));
    });
    angle_error = Eigen::MatrixXd::Constant(n, n, 4 * eps);
    cond_t = Eigen::MatrixXd::Zero(n, n);
  }

  // 3. the hidden layers and the readout
  std::optional<Activation> act;
  std::optional<std::vector<double>> split;  // breakpoints of φ and φ' when the split scheme is used
  NodeSet nodes;
  std::optional<TanhRows> tanh;  // φ = tanh: the fused entry loop
  bool half = false;
  if (!closed) {
    act.emplace(spec);
    if (options.split_at_kinks) {
      auto bf = breakpoints(spec.activation), bd = breakpoints(spec.derivative);
      if (bf && bd && (!bf->empty() || !bd->empty())) {
        split.emplace(*bf);
        split->insert(split->end(), bd->begin(), bd->end());
        std::sort(split->begin(), split->end());
        split->erase(std::unique(split->begin(), split->end()), split->end());
        result.breakpoints = *split;
        result.order = options.split_order;
      }
    }
    half = options.use_parity && symmetric_products(spec);
    if (!split && options.order > 0) nodes = gauss_hermite_nodes(options.order, options.weight_cutoff, half);
    if (!split && options.order == 0) {
      result.spacing = choose_spacing(spec, *act, k1, options, half, result.target_met);
      nodes = trapezoid_nodes(result.spacing, options.weight_cutoff, half);
    }
    result.nodes = static_cast<std::size_t>(nodes.points());
    if (act->is_tanh() && !split && options.scheme == MlpQuadratureScheme::cached) tanh.emplace(tanh_rows(nodes));
  }
  std::vector<double> diag_error_phi, diag_error_dphi;  // per transition: max adaptive error
  // the quadrature route's off-diagonal entries only in the columns `owned` (empty: all), e.g. those of this MPI
  // process; the other columns' off-diagonal entries stay 0
  auto layers = [&](const std::vector<char>& owned) {
  for (int l = 1; l <= depth; ++l) {
    const Eigen::MatrixXd& k = result.nngp.back();
    const Eigen::MatrixXd& theta = result.ntk.back();
    const double sw2 = spec.sw2_at(l), sb2 = spec.sb2_at(l);
    Eigen::MatrixXd k_next = Eigen::MatrixXd::Zero(n, n), theta_next = Eigen::MatrixXd::Zero(n, n);
    if (closed) {
      const Eigen::VectorXd diag = k.diagonal();
      for_upper_triangle(n, false, options.threads, [&](Eigen::Index i, Eigen::Index j) {
        combine(theta, i, j, closed_transforms(*closed, diag(i), k(i, j), diag(j)), sw2, sb2, k_next, theta_next);
      });
      diag_error_phi.push_back(0.0);
      diag_error_dphi.push_back(0.0);
    } else if (pwl) {
      Eigen::MatrixXd det_next = Eigen::MatrixXd::Zero(n, n), angle_next = Eigen::MatrixXd::Zero(n, n);
      Eigen::MatrixXd cond_k_next = Eigen::MatrixXd::Zero(n, n), cond_t_next = Eigen::MatrixXd::Zero(n, n);
      for_upper_triangle(n, false, options.threads, [&](Eigen::Index i, Eigen::Index j) {
        const Gram2 g = gram(k, det, i, j);
        const PiecewiseTransform t = expect_piecewise(pwl->phi, g), td = expect_piecewise(pwl->dphi, g);
        combine(theta, i, j, {t.value, td.value}, sw2, sb2, k_next, theta_next);
        if (i == j) return;
        det_next(i, j) = next_det(t, sw2, sb2);
        if (!track_angle_error) return;
        // entry errors caused by this layer's angle error, and the next layer's angle error
        const double th = std::atan2(std::sqrt(g.det), g.c), dth = angle_error(i, j);
        const double ek = sw2 * angle_sensitivity(pwl->phi, g, th, dth);
        cond_k_next(i, j) = ek;
        cond_t_next(i, j) = ek + sw2 * (angle_sensitivity(pwl->dphi, g, th, dth) * std::abs(theta(i, j)) +
                                        std::abs(td.value) * cond_t(i, j));
        const double th_next = std::atan2(std::sqrt(det_next(i, j)), sw2 * t.value + sb2);
        double moved = 0.0;
        if (dth > 0 && g.a > 0 && g.b > 0)
          moved = std::max(std::abs(next_angle(pwl->phi, g, std::min(th + dth, std::numbers::pi), sw2, sb2) - th_next),
                           std::abs(next_angle(pwl->phi, g, std::max(th - dth, 0.0), sw2, sb2) - th_next));
        // G = √(AB) − E φφ by subtraction: |δG| ≤ 8ε√(AB), so |δ det'| ≤ σ_w⁴ 16ε AB + σ_w² σ_b² 16ε √(AB)
        const double root = std::sqrt(std::max(t.var_u * t.var_v, 0.0));
        const double ddet = 16 * eps * (sw2 * sw2 * root * root + sw2 * sb2 * root);
        const double droot = std::min(std::sqrt(ddet), ddet / (2 * std::sqrt(std::max(det_next(i, j), DBL_MIN))));
        const double scale = std::sqrt((sw2 * t.var_u + sb2) * (sw2 * t.var_v + sb2));
        angle_next(i, j) = moved + (scale > 0 ? droot / scale : 0.0);
      });
      mirror(det_next);
      det = std::move(det_next);
      if (track_angle_error) {
        mirror(angle_next);
        mirror(cond_k_next);
        mirror(cond_t_next);
        angle_error = std::move(angle_next);
        cond_k_max[static_cast<std::size_t>(l)] = cond_k_next.maxCoeff();
        cond_t_max[static_cast<std::size_t>(l)] = cond_t_next.maxCoeff();
        cond_t = std::move(cond_t_next);
      }
      diag_error_phi.push_back(0.0);
      diag_error_dphi.push_back(0.0);
    } else {
      // 3a. the diagonal: adaptive 1-D integrals, which also detect divergence
      std::vector<Diagonal> diag(static_cast<std::size_t>(n));
      parallel_for(static_cast<std::size_t>(n), options.threads, [&](std::size_t row) {
        const auto i = static_cast<Eigen::Index>(row);
        diag[row] = !split && options.order == 0 ? best_diagonal(*act, k(i, i), l, i) : diagonal_integrals(*act, k(i, i), l, i);
        if (split) diag[row] = diagonal_split(*act, *split, options.split_order, k(i, i));
      });
      double ep = 0.0, ed = 0.0;
      for (Eigen::Index i = 0; i < n; ++i) {
        const Diagonal& di = diag[static_cast<std::size_t>(i)];
        combine(theta, i, i, {di.phi.value, di.dphi.value}, sw2, sb2, k_next, theta_next);
        ep = std::max(ep, di.phi.error);
        ed = std::max(ed, di.dphi.error);
      }
      diag_error_phi.push_back(ep);
      diag_error_dphi.push_back(ed);
      // 3b. the univariate caches
      UnivariateCache cache;
      if (options.scheme == MlpQuadratureScheme::cached && !split) {
        cache.phi.resize(nodes.rows(), n);
        cache.dphi.resize(nodes.rows(), n);
        parallel_for(static_cast<std::size_t>(n), options.threads, [&](std::size_t row) {
          const auto i = static_cast<Eigen::Index>(row);
          const Eigen::ArrayXd u = std::sqrt(std::max(k(i, i), 0.0)) * nodes.row_x;
          Eigen::ArrayXd f, g;
          act->both(u, f, g);
          cache.phi.col(i) = f.matrix();
          cache.dphi.col(i) = g.matrix();
        });
      }
      // 3c. the off-diagonal entries
      for_upper_triangle(n, true, options.threads, owned, [&](Eigen::Index i, Eigen::Index j) {
        const Mixture m = mixture(k(i, i), k(i, j), k(j, j));
        const Transforms t = split ? entry_split(*act, *split, options.split_order, m)
                             : options.scheme == MlpQuadratureScheme::cached ? entry_cached(*act, nodes, tanh ? &*tanh : nullptr, cache, i, m)
                                                                             : entry_naive(*act, nodes, m);
        combine(theta, i, j, t, sw2, sb2, k_next, theta_next);
      });
    }
    mirror(k_next);
    mirror(theta_next);
    scale_own_terms(spec, l, k_next, theta_next);
    check_finite(k_next, "nngp", l + 1);
    check_finite(theta_next, "ntk", l + 1);
    result.nngp.push_back(std::move(k_next));
    result.ntk.push_back(std::move(theta_next));
  }
  };
  if (options.distribute && process_count() > 1 && !closed && !pwl) {
    // MPI (limits/distributed.h): each process computes its block of dealt columns through every layer (an entry's
    // recursion needs only its own pair and the diagonals, which every process computes); the columns of every
    // layer are then exchanged, so every process continues with the full matrices, as one process would
    const auto count = static_cast<std::size_t>(n);
    exchange_dealt_columns(
        count, layers,
        [&](std::size_t c, std::vector<double>& col) {
          const auto ci = static_cast<Eigen::Index>(c);
          for (int l = 1; l <= depth; ++l)
            for (const auto* m : {&result.nngp[static_cast<std::size_t>(l)], &result.ntk[static_cast<std::size_t>(l)]})
              col.insert(col.end(), m->col(ci).data(), m->col(ci).data() + ci);
        },
        [&](std::size_t c, const double* at) {
          const auto ci = static_cast<Eigen::Index>(c);
          for (int l = 1; l <= depth; ++l)
            for (auto* m : {&result.nngp[static_cast<std::size_t>(l)], &result.ntk[static_cast<std::size_t>(l)]}) {
              std::copy(at, at + ci, m->col(ci).data());
              at += ci;
            }
        });
    for (int l = 1; l <= depth; ++l) {
      mirror(result.nngp[static_cast<std::size_t>(l)]);
      mirror(result.ntk[static_cast<std::size_t>(l)]);
    }
  } else {
    layers({});
  }

  // 4. error estimates
  result.nngp_error.assign(static_cast<std::size_t>(depth) + 1, 0.0);
  result.ntk_error.assign(static_cast<std::size_t>(depth) + 1, 0.0);
  for (int l = 0; l <= depth; ++l) {
    const auto li = static_cast<std::size_t>(l);
    result.nngp_error[li] = 16 * eps * (l + 1) * result.nngp[li].cwiseAbs().maxCoeff();
    // (with NTK layer multipliers below 1, Θ is K's terms minus a part: rounding relative to the larger)
    result.ntk_error[li] = 16 * eps * (l + 1) * std::max(result.ntk[li].cwiseAbs().maxCoeff(),
                                                         result.nngp[li].cwiseAbs().maxCoeff()) + cond_t_max[li];
    result.nngp_error[li] += cond_k_max[li];
  }
  if (closed || pwl) return keep_requested_layers(std::move(result), options);
  const auto pairs = error_sample(k1, options.error_sample_pairs);
  result.error_sample_pairs = pairs.size();
  if (!pairs.empty()) {
    const double cutoff2 = options.weight_cutoff * options.weight_cutoff;
    const NodeSet reference = split                ? NodeSet{}
                              : options.order > 0 ? gauss_hermite_nodes(2 * options.order, cutoff2, half)
                                                  : trapezoid_nodes(result.spacing / spacing_refinement, cutoff2, half);
    // per pair and layer: |K_k − K_2k| and |Θ_k − Θ_2k|
    std::vector<std::vector<double>> dk(pairs.size()), dt(pairs.size());
    parallel_for(pairs.size(), options.threads, [&](std::size_t s) {
      const auto [i, j] = pairs[s];
      double kij = k1(i, j), tij = result.ntk[0](i, j);
      dk[s].assign(static_cast<std::size_t>(depth) + 1, 0.0);
      dt[s].assign(static_cast<std::size_t>(depth) + 1, 0.0);
      for (int l = 1; l <= depth; ++l) {
        const Eigen::MatrixXd& k = result.nngp[static_cast<std::size_t>(l) - 1];
        const Mixture m = mixture(k(i, i), kij, k(j, j));
        const Transforms t = split ? entry_split(*act, *split, 2 * options.split_order, m) : entry_naive(*act, reference, m);
        const double sw2 = spec.sw2_at(l), sb2 = spec.sb2_at(l);
        kij = sw2 * t.phi + sb2;
        tij = spec.ntk_w_at(l) * sw2 * t.phi + spec.ntk_b_at(l) * sb2 + sw2 * t.dphi * tij;
        dk[s][static_cast<std::size_t>(l)] = std::abs(kij - result.nngp[static_cast<std::size_t>(l)](i, j));
        dt[s][static_cast<std::size_t>(l)] = std::abs(tij - result.ntk[static_cast<std::size_t>(l)](i, j));
      }
    });
    for (std::size_t s = 0; s < pairs.size(); ++s) {
      for (int l = 1; l <= depth; ++l) {
        const auto li = static_cast<std::size_t>(l);
        if (!std::isfinite(dk[s][li]) || !std::isfinite(dt[s][li]))
          throw NumericalError("the finer rule (order " + std::to_string(2 * result.order) + ", or spacing h/1.5)" +
                               " for the error estimate is not finite at layer " + std::to_string(l + 1));
        result.nngp_error[li] = std::max(result.nngp_error[li], dk[s][li]);
        result.ntk_error[li] = std::max(result.ntk_error[li], dt[s][li]);
      }
    }
  }
  // the adaptive diagonal integrals' own errors, carried forward through σ_w² (and Θ^l for the ntk)
  for (int l = 1; l <= depth; ++l) {
    const auto li = static_cast<std::size_t>(l);
    const double sw2 = spec.sw2_at(l);
    const double diag_k = sw2 * diag_error_phi[li - 1];
    const double diag_t = diag_k + sw2 * diag_error_dphi[li - 1] * result.ntk[li - 1].diagonal().cwiseAbs().maxCoeff();
    result.nngp_error[li] = std::max(result.nngp_error[li], diag_k);
    result.ntk_error[li] = std::max(result.ntk_error[li], diag_t);
  }
  return keep_requested_layers(std::move(result), options);
}

}  // namespace tp::limits

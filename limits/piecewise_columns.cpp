// Column-wise arc-cosine transforms; formulas in piecewise_linear.h, method in piecewise_columns.h.
#include "limits/piecewise_columns.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>

#include <Eigen/Core>

namespace tp::limits {
namespace {

constexpr double pi = std::numbers::pi;

/// c_k = (−1)^k 2(k+1)/(2k+3)!: h(t) = sin t − t cos t = Σ_k c_k t^{2k+3}. On t ≤ 0.25 six terms suffice: the
/// series alternates with falling terms, so the rest is below the first omitted term, |c_6| t^15 ≤ 1.9e−18 h(t).
constexpr auto h_series = [] {
  std::array<double, 6> r{};
  double factorial = 6.0;  // 3!
  for (int k = 0; k < 6; ++k) {
    r[static_cast<std::size_t>(k)] = (k % 2 ? -2.0 : 2.0) * (k + 1) / factorial;
    factorial *= (2.0 * k + 4) * (2.0 * k + 5);
  }
  return r;
}();

/// The series of h(t) at min(t, 0.25) (used where t ≤ 0.25 and sin t − t cos t would cancel), by Estrin's scheme
/// (three independent pairs, then s⁴ and s⁸: a shorter dependency chain than Horner's).
[[gnu::always_inline]] inline double h_small(double t) {
  const double s = std::min(t, 0.25), s2 = s * s, s4 = s2 * s2, s8 = s4 * s4;
  const double low = h_series[0] + h_series[1] * s2, mid = h_series[2] + h_series[3] * s2,
               high = h_series[4] + h_series[5] * s2;
  return ((low + s4 * mid) + s8 * high) * (s2 * s);
}

/// atan2(y, x) for y ≥ 0, in [0, π], branch-free: Cephes' atan on t = min/max (piecewise_columns.h), then the
/// quadrant; π/4 and π/2 carry their rounding remainder (morebits). Also returns ratio = a/b (b > 0), by the same
/// division as the rational function's p/q: 1/(q b), then p/q = p b/(q b) and a/b = a q/(q b) (q ∈ [194, 1100],
/// so neither product over- or underflows for the b used here, b ∈ [2, 4]).
[[gnu::always_inline]] inline double atan2_upper(double y, double x, double a, double b, double& ratio) {
  constexpr double morebits = 6.123233995736765886130e-17;
  const double ax = std::abs(x), hi = std::max(ax, y), lo = std::min(ax, y);
  // t = lo/hi ∈ [0, 1]; above 0.66 the argument (t − 1)/(t + 1) = (lo − hi)/(lo + hi); one division either way
  const bool big = lo > 0.66 * hi;
  const double num = big ? lo - hi : lo, den = big ? lo + hi : (hi > 0 ? hi : 1.0);
  const double z = num / den;
  const double z2 = z * z;
  // Cephes' p (degree 4) and q (monic, degree 5) in z², by Estrin's scheme
  const double z4 = z2 * z2, z8 = z4 * z4;
  const double p = ((-6.485021904942025371773e1 - 1.228866684490136173410e2 * z2) +
                    z4 * (-7.500855792314704667340e1 - 1.615753718733365076637e1 * z2)) -
                   z8 * 8.750608600031904122785e-1;
  const double q = ((1.945506571482613964425e2 + 4.853903996359136964868e2 * z2) +
                    z4 * (4.328810604912902668951e2 + 1.650270098316988542046e2 * z2)) +
                   z8 * (2.485846490142306297962e1 + z2);
  const double inv = 1.0 / (q * b);
  ratio = a * q * inv;
  double r = z + z * (z2 * (p * b * inv));
  r = big ? r + 0.5 * morebits + pi / 4 : r;
  r = y > ax ? (pi / 2 - r) + morebits : r;
  return x < 0 ? (pi - r) + 2 * morebits : r;
}

/// The coefficients of one φ, flattened for the loop.
struct Coefficients {
  bool order1 = false;
  double P = 0, Q = 0, root_half_P = 0;  // order 1: α² + β², 2αβ, √(P/2)
  double pp = 0, pq = 0, pmq2 = 0;   // order 0: p² + q², pq, (p − q)² (c0 folded into p, q)
};

Coefficients coefficients(const PiecewiseLinear& f) {
  Coefficients c;
  c.order1 = f.has_order1();
  c.P = f.relu_pos * f.relu_pos + f.relu_neg * f.relu_neg;
  c.Q = 2 * f.relu_pos * f.relu_neg;
  c.root_half_P = std::sqrt(c.P / 2);
  const double p = f.step_pos + f.constant, q = f.step_neg + f.constant;
  c.pp = p * p + q * q;
  c.pq = p * q;
  c.pmq2 = (p - q) * (p - q);
  return c;
}

/// The per-entry geometry: √(ab) = √a √b, θ, cos θ, sin θ, h(π − θ), h(θ), and half = sin²θ / (2 (1 + |cos θ|))
/// (= sin²(θ/2) for θ ≤ π/2, sin²((π − θ)/2) above).
struct Angle {
  double sab, theta, cos, sin, h_rest, h_theta, half;
};

/// cos θ = c/√(ab) and sin θ = √det/√(ab), with 1/√(ab) = (1/√a)(1/√b) from the per-layer reciprocals (in exact
/// arithmetic det = ab − c², so √(ab) = √(c² + det); the tracked det and c each carry a relative error of a few
/// ulps, so both normalizations agree to a few ulps).
[[gnu::always_inline]] inline Angle angle(double root_a, double root_b, double inv_root_a, double inv_root_b, double c,
                                          double det) {
  Angle g;
  g.sab = root_a * root_b;
  const double cc = std::min(std::max(c, -g.sab), g.sab);
  const double rd = std::sqrt(std::max(det, 0.0));
  const double inv_sab = inv_root_a * inv_root_b;
  g.cos = cc * inv_sab;
  g.sin = rd * inv_sab;
  g.theta = atan2_upper(rd, cc, g.sin * g.sin, 2 * (1 + std::abs(g.cos)), g.half);
  // h(θ) and h(π − θ): at most one of θ, π − θ is ≤ 0.25, so one series serves both
  const double rest = pi - g.theta;
  const double series = h_small(g.theta <= pi / 2 ? g.theta : rest);
  g.h_rest = rest > 0.25 ? g.sin + rest * g.cos : series;
  g.h_theta = g.theta > 0.25 ? g.sin - g.theta * g.cos : series;
  return g;
}

constexpr double inv_2pi = 1.0 / (2 * pi);

/// E φ(u)φ(v) (piecewise_linear.cpp expect_piecewise_at for homogeneous φ); Order1 = f.order1. OneSided: φ has
/// one side only (order 1: β = 0, so Q = 0; order 0: q = 0, so pq = 0 — relu and its derivative step), whose
/// terms in Q and pq are left out instead of multiplied by 0.
template <bool Order1, bool OneSided = false>
[[gnu::always_inline]] inline double value(const Coefficients& f, const Angle& g) {
  if constexpr (Order1 && OneSided) return g.sab * inv_2pi * (f.P * g.h_rest);
  else if constexpr (Order1) return g.sab * inv_2pi * (f.P * g.h_rest + f.Q * g.h_theta);
  else if constexpr (OneSided) return f.pp * (pi - g.theta) * inv_2pi;
  else return (f.pp * (pi - g.theta) + 2 * f.pq * g.theta) * inv_2pi;
}

/// det of σ_w² E[φφ] + σ_b² through the exact gap (piecewise_linear.cpp expect_piecewise and next_det).
template <bool Order1, bool OneSided = false>
[[gnu::always_inline]] inline double next_det(const Coefficients& f, const Angle& g, double root_a, double root_b,
                                              double sw2, double sb2) {
  double gap = 0.0, root = 0.0, diff = 0.0;  // G, √(AB), √A − √B
  if constexpr (Order1) {
    // sin²(θ/2) = sin²θ / (2 (1 + cos θ)) for θ ≤ π/2; sin²((π − θ)/2) = sin²θ / (2 (1 − cos θ)) for θ > π/2
    const bool low_half = g.theta <= pi / 2;
    const double half = g.half;
    if constexpr (OneSided) {  // Q = 0: low = P (2π half − h(θ)), high = P (π − h(π − θ))
      const double low = 2 * pi * half - g.h_theta, high = pi - g.h_rest;
      gap = std::max(g.sab * (inv_2pi * f.P) * (low_half ? low : high), 0.0);
    } else {
      const double low = 2 * pi * f.P * half - (f.P + f.Q) * g.h_theta;
      const double high = pi * (f.P - f.Q) + 2 * pi * f.Q * half - (f.P + f.Q) * g.h_rest;
      gap = std::max(g.sab * inv_2pi * (low_half ? low : high), 0.0);
    }
    root = f.P / 2 * g.sab;                        // A = P a/2, B = P b/2
    diff = f.root_half_P * (root_a - root_b);
  } else {
    gap = f.pmq2 * g.theta * inv_2pi;
    root = f.pp / 2;                               // A = B = (p² + q²)/2
  }
  const double delta = gap * std::max(2 * root - gap, 0.0);
  return sw2 * sw2 * delta + sw2 * sb2 * (diff * diff + 2 * gap);
}

}  // namespace

bool piecewise_homogeneous(const PiecewiseLinear& f) { return !(f.has_order0() && f.has_order1()); }

namespace {

/// max |x| over x[0..m) and whether all are finite, in 8 independent lanes so that GCC vectorizes it (Eigen's
/// allFinite is a scalar loop; a select on each value's finiteness made GCC fall back to scalar cmov): x · 0 is 0
/// for finite x and NaN for ±inf or NaN, so a lane's sum of them is 0 exactly when its values are finite.
[[gnu::always_inline]] inline void column_max(const double* __restrict x, std::size_t m, double& max_abs, bool& finite) {
  constexpr std::size_t lanes = 8;
  std::array<double, lanes> top{}, zero{};
  std::size_t i = 0;
  for (; i + lanes <= m; i += lanes)
    for (std::size_t l = 0; l < lanes; ++l) {
      const double v = std::abs(x[i + l]);
      top[l] = top[l] > v ? top[l] : v;
      zero[l] += x[i + l] * 0.0;
    }
  for (; i < m; ++i) {
    const double v = std::abs(x[i]);
    top[0] = top[0] > v ? top[0] : v;
    zero[0] += x[i] * 0.0;
  }
  for (std::size_t l = 0; l < lanes; ++l) {
    max_abs = std::max(max_abs, top[l]);
    finite = finite && zero[l] == 0.0;
  }
}

/// One entry: K, Θ in place; the next det if Det (off-diagonal entries).
template <bool Order1, bool DOrder1, bool Det, bool OneSided>
[[gnu::always_inline]] inline void layer_entry(const Coefficients& f, const Coefficients& fd, double sw2, double sb2,
                                               double root_a, double root_b, double inv_root_a, double inv_root_b,
                                               double& k, double& theta, double& det) {
  const Angle g = angle(root_a, root_b, inv_root_a, inv_root_b, k, det);
  const double kn = sw2 * value<Order1, OneSided>(f, g) + sb2;
  theta = kn + sw2 * value<DOrder1, OneSided>(fd, g) * theta;
  k = kn;
  if constexpr (Det) det = next_det<Order1, OneSided>(f, g, root_a, root_b, sw2, sb2);
}

template <bool Order1, bool DOrder1, bool Det, bool OneSided = false>
[[gnu::always_inline]] inline ColumnSummary layer_loop(const Coefficients& f, const Coefficients& fd, double sw2,
                                                       double sb2, const double* __restrict root_a,
                                                       const double* __restrict inv_root_a, std::size_t m,
                                                       double* __restrict k, double* __restrict theta,
                                                       double* __restrict det) {
  const double root_b = root_a[m - 1], inv_root_b = inv_root_a[m - 1];
  for (std::size_t i = 0; i + 1 < m; ++i)
    layer_entry<Order1, DOrder1, Det, OneSided>(f, fd, sw2, sb2, root_a[i], root_b, inv_root_a[i], inv_root_b, k[i], theta[i], det[i]);
  double zero = 0.0;  // the diagonal entry: det = 0
  layer_entry<Order1, DOrder1, false, OneSided>(f, fd, sw2, sb2, root_b, root_b, inv_root_b, inv_root_b, k[m - 1], theta[m - 1], zero);
  // a second pass over the column while it is in cache (a reduction inside the loop would stop GCC vectorizing it)
  ColumnSummary summary;
  column_max(k, m, summary.max_k, summary.finite);
  column_max(theta, m, summary.max_theta, summary.finite);
  return summary;
}

template <bool Det>
[[gnu::always_inline]] inline ColumnSummary layer_column(const Coefficients& f, const Coefficients& fd, double sw2,
                                                         double sb2, const double* root_a, const double* inv_root_a,
                                                         std::size_t m, double* k, double* theta, double* det) {
  if (f.order1 && !fd.order1 && f.Q == 0 && fd.pq == 0)  // relu (times α > 0) and its derivative: one-sided
    return layer_loop<true, false, Det, true>(f, fd, sw2, sb2, root_a, inv_root_a, m, k, theta, det);
  if (f.order1 && !fd.order1) return layer_loop<true, false, Det>(f, fd, sw2, sb2, root_a, inv_root_a, m, k, theta, det);
  if (f.order1) return layer_loop<true, true, Det>(f, fd, sw2, sb2, root_a, inv_root_a, m, k, theta, det);
  if (!fd.order1) return layer_loop<false, false, Det>(f, fd, sw2, sb2, root_a, inv_root_a, m, k, theta, det);
  return layer_loop<false, true, Det>(f, fd, sw2, sb2, root_a, inv_root_a, m, k, theta, det);
}

}  // namespace

__attribute__((target_clones("avx512f", "arch=haswell", "default")))
ColumnSummary piecewise_layer_column(const PiecewiseLinear& phi, const PiecewiseLinear& dphi, double sw2, double sb2,
                                     const double* root_a, const double* inv_root_a, std::size_t m, double* k,
                                     double* theta, double* det, bool update_det) {
  const Coefficients f = coefficients(phi), fd = coefficients(dphi);
  return update_det ? layer_column<true>(f, fd, sw2, sb2, root_a, inv_root_a, m, k, theta, det)
                    : layer_column<false>(f, fd, sw2, sb2, root_a, inv_root_a, m, k, theta, det);
}

void expect_piecewise_column(const PiecewiseLinear& f, const double* a, double b, const double* c, const double* det,
                             std::size_t m, double* out) {
  const Coefficients co = coefficients(f);
  for (std::size_t i = 0; i < m; ++i) {
    const double root_a = std::sqrt(a[i]), root_b = std::sqrt(b);
    const Angle g = angle(root_a, root_b, 1.0 / root_a, 1.0 / root_b, c[i], det[i]);
    out[i] = co.order1 ? value<true>(co, g) : value<false>(co, g);
  }
}

}  // namespace tp::limits

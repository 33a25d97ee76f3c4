// Vectorized tanh and the fused tanh entry of the MLP kernel's quadrature route; method in mlp_kernel_tanh.h.
#include "limits/mlp_kernel_tanh.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

namespace tp::limits {
namespace {

/// c_k of tanh x = Σ c_k x^{2k+1}: (2k+1) c_k = [k = 0] − Σ_{i+j=k−1} c_i c_j (y' = 1 − y²)
constexpr auto tanh_series = [] {
  std::array<double, 20> t{};
  for (int k = 0; k < 20; ++k) {
    double sum = k == 0 ? 1.0 : 0.0;
    for (int i = 0; i <= k - 1; ++i) sum -= t[static_cast<std::size_t>(i)] * t[static_cast<std::size_t>(k - 1 - i)];
    t[static_cast<std::size_t>(k)] = sum / (2 * k + 1);
  }
  return t;
}();

/// 1/k! for k = 0..13
constexpr auto inverse_factorials = [] {
  std::array<double, 14> r{};
  double f = 1.0;
  for (int k = 0; k < 14; ++k) {
    if (k > 0) f *= k;
    r[static_cast<std::size_t>(k)] = 1.0 / f;
  }
  return r;
}();

/// Σ c_i x^i by Horner's rule, unrolled at compile time (so that the loops calling it vectorize).
template <std::size_t N>
[[gnu::always_inline]] inline double horner(const std::array<double, N>& c, double x) {
  double p = c[N - 1];
  [&]<std::size_t... I>(std::index_sequence<I...>) { ((p = p * x + c[N - 2 - I]), ...); }(std::make_index_sequence<N - 1>{});
  return p;
}

/// e^y for y ∈ [−700, 700] (mlp_kernel_tanh.h), branch-free; y outside is clamped.
[[gnu::always_inline]] inline double exp_bounded(double y) {
  constexpr double log2e = 1.4426950408889634074;
  constexpr double ln2_hi = 6.93147180369123816490e-01;  // ln 2 = ln2_hi + ln2_lo, ln2_hi with 32 significant bits
  constexpr double ln2_lo = 1.90821492927058770002e-10;
  constexpr double shifter = 6755399441055744.0;  // 1.5 · 2^52: adding it rounds to an integer
  y = std::min(std::max(y, -700.0), 700.0);
  const double shifted = y * log2e + shifter;
  const double k = shifted - shifter;
  const double r = (y - k * ln2_hi) - k * ln2_lo;
  const double p = horner(inverse_factorials, r);
  // 2^k: the low 12 bits of `shifted` hold k mod 4096 (|k| ≤ 1010); add the bias, move it into the exponent field
  const std::uint64_t bits = (std::bit_cast<std::uint64_t>(shifted) + 1023u) << 52;
  return p * std::bit_cast<double>(bits);
}

[[gnu::always_inline]] inline double tanh_one(double x) {
  const double ax = std::abs(x);
  const double e = exp_bounded(std::min(2.0 * ax, 80.0));
  const double large = 1.0 - 2.0 / (e + 1.0);
  const double s = std::min(ax, 0.625), s2 = s * s;
  const double poly = horner(tanh_series, s2);
  const double magnitude = ax >= 0.625 ? large : s * poly;
  return std::copysign(magnitude, x);
}

/// One row's two sums Σ_q w_q f and Σ_q w_q (1 − f²), f = tanh(shift + s x_q), in tanh_lanes lane sums. by_product:
/// f = 1 − 2/(row_exp · grid_exp[q] + 1) (mlp_kernel_tanh.h); else tanh_one(shift + s x_q).
template <bool by_product>
[[gnu::always_inline]] inline void row_sums(const double* x, const double* w, const double* grid_exp, std::size_t length,
                                            double shift, double s, double row_exp, double& sum_f, double& sum_g) {
  double acc_f[tanh_lanes] = {}, acc_g[tanh_lanes] = {};
  for (std::size_t t = 0; t < length; t += tanh_lanes) {
    for (std::size_t lane = 0; lane < tanh_lanes; ++lane) {
      const std::size_t q = t + lane;  // the arrays hold tanh_lanes − 1 readable entries past every row
      const double f = by_product ? 1.0 - 2.0 / (row_exp * grid_exp[q] + 1.0) : tanh_one(shift + s * x[q]);
      const double wq = w[q] * (q < length ? 1.0 : 0.0);  // a load the compiler may vectorize, then a select
      acc_f[lane] += wq * f;
      acc_g[lane] += wq * (1.0 - f * f);
    }
  }
  sum_f = 0.0;
  sum_g = 0.0;
  for (std::size_t lane = 0; lane < tanh_lanes; ++lane) {
    sum_f += acc_f[lane];
    sum_g += acc_g[lane];
  }
}

}  // namespace

__attribute__((target_clones("avx512f", "arch=haswell", "default")))
void tanh_values(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = tanh_one(x[i]);
}

__attribute__((target_clones("avx512f", "arch=haswell", "default")))
TanhSums tanh_cached_entry(const TanhRows& rows, const double* fu, const double* gu, double alpha, double s) {
  const std::size_t g = rows.grid_x.size(), nrows = rows.row_x.size();
  // the grid padded by tanh_lanes entries, so that a row's last chunk reads inside the arrays
  thread_local std::vector<double> x, w, grid_exp, row_exp;
  x.assign(g + tanh_lanes, 0.0);
  w.assign(g + tanh_lanes, 0.0);
  grid_exp.resize(g + tanh_lanes);
  row_exp.resize(nrows);
  std::copy(rows.grid_x.begin(), rows.grid_x.end(), x.begin());
  std::copy(rows.grid_w.begin(), rows.grid_w.end(), w.begin());
  double largest = 0.0;
  for (std::size_t q = 0; q < g; ++q) largest = std::max(largest, std::abs(2 * s * x[q]));
  for (std::size_t r = 0; r < nrows; ++r) largest = std::max(largest, std::abs(2 * alpha * rows.row_x[r]));
  const bool by_product = largest <= 700.0;
  for (std::size_t q = 0; q < g + tanh_lanes; ++q) grid_exp[q] = exp_bounded(2 * s * x[q]);
  for (std::size_t r = 0; r < nrows; ++r) row_exp[r] = exp_bounded(2 * alpha * rows.row_x[r]);
  TanhSums sums;
  for (std::size_t r = 0; r < nrows; ++r) {
    const std::size_t first = rows.row_first[r];
    double sf = 0.0, sg = 0.0;
    if (by_product)
      row_sums<true>(x.data() + first, w.data() + first, grid_exp.data() + first, rows.row_length[r], 0.0, s, row_exp[r], sf, sg);
    else
      row_sums<false>(x.data() + first, w.data() + first, grid_exp.data() + first, rows.row_length[r], alpha * rows.row_x[r],
                      s, 1.0, sf, sg);
    sums.phi += rows.row_w[r] * fu[r] * sf;
    sums.dphi += rows.row_w[r] * gu[r] * sg;
  }
  return sums;
}

}  // namespace tp::limits

// The vectorized tanh of the MLP kernel's quadrature route (limits/mlp_kernel_tanh.h) against std::tanh, and its
// fused entry against the plain sum.
#include <doctest/doctest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "limits/mlp_kernel_tanh.h"

using namespace tp::limits;

namespace {

/// |y − tanh x| in units of the ulp of max(|tanh x|, 1/2) (half an ulp is correct rounding).
double ulps(double y, double x) {
  const double t = std::tanh(x);
  return std::abs(y - t) / (DBL_EPSILON * std::max(std::abs(t), 0.5));
}

}  // namespace

TEST_CASE("check: tanh_values is within two ulps of std::tanh on a dense grid and in the tails") {
  std::vector<double> x;
  for (int i = -400000; i <= 400000; ++i) x.push_back(i * 5e-5);  // [−20, 20], step 5e−5, both branches and 0.625
  for (double a = 1e-300; a < 1e3; a *= 1.37) x.insert(x.end(), {a, -a});  // tiny to huge magnitudes
  for (double a : {0.625, std::nextafter(0.625, 0.0), 18.0, 19.06, 40.0, 355.0, 1e300, DBL_MAX, DBL_MIN,
                   std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::infinity()})
    x.insert(x.end(), {a, -a});
  std::vector<double> y(x.size());
  tanh_values(x.data(), y.data(), x.size());
  double worst = 0.0, worst_relative_small = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    worst = std::max(worst, ulps(y[i], x[i]));
    if (std::abs(x[i]) < 0.625 && x[i] != 0)  // below 0.625 the series keeps the relative accuracy
      worst_relative_small = std::max(worst_relative_small, std::abs(y[i] / std::tanh(x[i]) - 1) / DBL_EPSILON);
  }
  INFO("largest error: " << worst << " ulp of max(|tanh|, 1/2); below 0.625: " << worst_relative_small << " ulp relative");
  CHECK(worst <= 2.0);  // 1.82 measured; the old Eigen tanh_array: 3e−16 = 2.7
  CHECK(worst_relative_small <= 2.5);  // 2.0 measured
  CHECK(y[x.size() - 2] == 1.0);  // tanh(±∞) = ±1
  CHECK(y[x.size() - 1] == -1.0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double ny = 0.0;
  tanh_values(&nan, &ny, 1);
  CHECK(std::isnan(ny));
}

TEST_CASE("check: tanh_cached_entry is the weighted double sum of tanh and 1 - tanh^2 to 4e-16 per unit weight") {
  // a trapezoidal grid of spacing 0.15 on [−10.5, 10.5]; rows over its upper half with runs of every length
  TanhRows rows;
  for (int q = -70; q <= 70; ++q) {
    rows.grid_x.push_back(0.15 * q);
    rows.grid_w.push_back(0.15 * std::exp(-0.5 * 0.0225 * q * q) / std::sqrt(2 * M_PI));
  }
  std::vector<double> fu, gu;
  for (std::size_t r = 0; r < 40; ++r) {
    rows.row_x.push_back(0.15 * static_cast<double>(r) + 0.01);
    rows.row_w.push_back(0.1 / (1.0 + static_cast<double>(r)));
    rows.row_first.push_back((7 * r) % 60);
    rows.row_length.push_back(r == 0 ? 0 : 1 + (13 * r) % 80);
    fu.push_back(std::tanh(0.9 * rows.row_x.back()));
    gu.push_back(1 - fu.back() * fu.back());
  }
  // (α, s): moderate, large (|v| up to ~100, the product form), and huge (exponents beyond 700: the fallback)
  for (const auto& [alpha, s] : {std::pair{0.7, 1.3}, std::pair{-2.0, 0.4}, std::pair{9.0, 0.05}, std::pair{80.0, 0.5}}) {
    long double phi = 0, dphi = 0, weight = 0;
    for (std::size_t r = 0; r < rows.row_x.size(); ++r)
      for (std::size_t q = rows.row_first[r]; q < rows.row_first[r] + rows.row_length[r]; ++q) {
        const long double f = std::tanh(static_cast<long double>(alpha) * rows.row_x[r] + static_cast<long double>(s) * rows.grid_x[q]);
        const long double w = static_cast<long double>(rows.row_w[r]) * rows.grid_w[q];
        phi += w * fu[r] * f;
        dphi += w * gu[r] * (1 - f * f);
        weight += w;
      }
    const TanhSums sums = tanh_cached_entry(rows, fu.data(), gu.data(), alpha, s);
    CAPTURE(alpha);
    CHECK(std::abs(static_cast<double>(phi)) > 1e-3);  // not a sum that cancels to nothing
    CHECK(std::abs(sums.phi - static_cast<double>(phi)) <= 4e-16 * static_cast<double>(weight));
    CHECK(std::abs(sums.dphi - static_cast<double>(dphi)) <= 4e-16 * static_cast<double>(weight));
  }
}

// The vectorized column transforms (limits/piecewise_columns.h) against the scalar arc-cosine formulas
// (limits/piecewise_linear.h).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include "limits/piecewise_columns.h"

using namespace tp::limits;

TEST_CASE("check: column transforms agree with expect_piecewise to a few ulps, at every angle") {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const std::size_t m = 4000;
  std::vector<double> a(m), c(m), det(m), out(m);
  const double b = 1.7;
  for (std::size_t i = 0; i < m; ++i) {
    a[i] = 0.1 + 3 * uniform(rng);
    // angles over [0, π], dense near 0 and π (the series branches) and around π/2
    const double theta = i < 400 ? 1e-8 * std::pow(1e7, uniform(rng)) : i < 800 ? M_PI - 1e-8 * std::pow(1e7, uniform(rng)) : M_PI * uniform(rng);
    const double s = std::sqrt(a[i] * b);
    c[i] = s * std::cos(theta);
    det[i] = a[i] * b * std::sin(theta) * std::sin(theta);
  }
  PiecewiseLinear relu, step, leaky, sign;
  relu.relu_pos = 1;
  step.step_pos = 1;
  leaky.relu_pos = 1;
  leaky.relu_neg = -0.1;
  sign.step_pos = 1;
  sign.step_neg = -1;
  for (const PiecewiseLinear& f : {relu, step, leaky, sign}) {
    REQUIRE(piecewise_homogeneous(f));
    expect_piecewise_column(f, a.data(), b, c.data(), det.data(), m, out.data());
    double worst = 0;
    for (std::size_t i = 0; i < m; ++i) {
      const Gram2 g{a[i], c[i], b, det[i]};
      const double scalar = expect_piecewise(f, g).value;
      worst = std::max(worst, std::abs(out[i] - scalar) / std::max(1.0, std::abs(scalar)));
    }
    CHECK(worst < 1e-14);
  }
  PiecewiseLinear mixed = relu;
  mixed.constant = 0.5;
  CHECK(!piecewise_homogeneous(mixed));
}

TEST_CASE("check: piecewise_layer_column is one layer of the recursion (relu, step)") {
  // K^{l+1} = sw2 E relu relu + sb2, Θ^{l+1} = K^{l+1} + sw2 E step step Θ^l, next det from the exact gap
  std::vector<double> root_a{1.0, std::sqrt(2.0)}, inv_root_a{1.0, 1 / std::sqrt(2.0)}, k{0.3, 2.0}, theta{0.5, 2.0},
      det{2.0 - 0.09, 7.0};  // det[1] (the diagonal's) is neither read nor written
  PiecewiseLinear relu, step;
  relu.relu_pos = 1;
  step.step_pos = 1;
  const Gram2 g{1.0, 0.3, 2.0, 2.0 - 0.09};
  const PiecewiseTransform t = expect_piecewise(relu, g), td = expect_piecewise(step, g);
  const ColumnSummary s = piecewise_layer_column(relu, step, 2.0, 0.1, root_a.data(), inv_root_a.data(), 2, k.data(), theta.data(), det.data());
  CHECK(k[0] == doctest::Approx(2 * t.value + 0.1).epsilon(1e-14));
  CHECK(theta[0] == doctest::Approx(2 * t.value + 0.1 + 2 * td.value * 0.5).epsilon(1e-14));
  CHECK(det[0] == doctest::Approx(next_det(t, 2.0, 0.1)).epsilon(1e-13));
  CHECK(k[1] == doctest::Approx(2 * 1.0 + 0.1).epsilon(1e-14));  // E relu(u)² = K/2
  CHECK(det[1] == 7.0);
  CHECK(s.finite);
  CHECK(s.max_k == doctest::Approx(2.1));
}

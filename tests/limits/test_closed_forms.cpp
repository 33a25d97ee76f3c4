// Closed-form Gaussian transforms against quadrature (smooth φ, 1e−12) and Monte Carlo (relu, step).
#include "limits/closed_forms.h"

#include "limits/gaussian_expectation.h"

#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <vector>

namespace {

using namespace tp::limits;  // NOLINT: test file, not a header

struct Cov {
  double k11, k12, k22;
};

/// Generic, correlation ±1, near-singular (1 − ρ = 1e−9), independent, anisotropic and one-zero-variance cases.
const std::vector<Cov> covariances = {
    {1.0, 0.3, 2.0},  {1.0, -0.7, 0.5},      {2.0, 2.0, 2.0},   {1.0, -1.0, 1.0},     {0.5, 1.0, 2.0},
    {1.0, 1 - 1e-9, 1.0}, {3.0, -3.0 * (1 - 1e-9), 3.0}, {4.0, 0.0, 0.25}, {0.0, 0.0, 1.0}, {3.0, 1.5, 1.0},
    {1e-3, 5e-4, 2e-3},
};

struct Pair {
  const char* name;
  std::function<double(double, double, double)> closed;
  std::function<double(double, double)> integrand;
};

double relu(double x) { return x > 0 ? x : 0.0; }
double step(double x) { return x > 0 ? 1.0 : 0.0; }
double erf_prime(double x) { return 2 / std::sqrt(std::numbers::pi) * std::exp(-x * x); }

const std::vector<Pair> smooth_pairs = {
    {"identity", expect_identity_identity, [](double u, double v) { return u * v; }},
    {"erf", expect_erf_erf, [](double u, double v) { return std::erf(u) * std::erf(v); }},
    {"erf'", expect_erf_prime_erf_prime, [](double u, double v) { return erf_prime(u) * erf_prime(v); }},
    {"sin", expect_sin_sin, [](double u, double v) { return std::sin(u) * std::sin(v); }},
    {"cos", expect_cos_cos, [](double u, double v) { return std::cos(u) * std::cos(v); }},
    {"sin cos", expect_sin_cos, [](double u, double v) { return std::sin(u) * std::cos(v); }},
    {"exp", expect_exp_exp, [](double u, double v) { return std::exp(u) * std::exp(v); }},
};

const std::vector<Pair> kinked_pairs = {
    {"relu", expect_relu_relu, [](double u, double v) { return relu(u) * relu(v); }},
    {"step", expect_step_step, [](double u, double v) { return step(u) * step(v); }},
};

}  // namespace

TEST_CASE("smooth closed forms agree with Gauss–Hermite quadrature to 1e-12") {
  for (const Pair& pair : smooth_pairs) {
    for (const Cov& c : covariances) {
      CAPTURE(pair.name);
      CAPTURE(c.k11);
      CAPTURE(c.k12);
      CAPTURE(c.k22);
      const double exact = pair.closed(c.k11, c.k12, c.k22);
      const Estimate q = expect_2d(pair.integrand, c.k11, c.k12, c.k22);
      REQUIRE(std::isfinite(exact));
      CHECK(std::abs(q.value - exact) <= 1e-12 * std::max(1.0, std::abs(exact)));
    }
  }
}

TEST_CASE("relu and step closed forms agree with quadrature to its error and with Monte Carlo to 4 standard errors") {
  ExpectationOptions mc;
  mc.method = ExpectationMethod::monte_carlo;
  mc.mc_pairs = 200000;
  for (const Pair& pair : kinked_pairs) {
    for (const Cov& c : covariances) {
      CAPTURE(pair.name);
      CAPTURE(c.k11);
      CAPTURE(c.k12);
      CAPTURE(c.k22);
      const double exact = pair.closed(c.k11, c.k12, c.k22);
      REQUIRE(std::isfinite(exact));
      const double scale = std::sqrt(c.k11 * c.k22) + (pair.name == std::string("step") ? 1.0 : 0.0);
      // Quadrature converges only algebraically for a kink or a jump (and misses a jump narrower than its
      // node spacing when 1 − |ρ| = 1e−9): 1e-3 relative for relu, 1e-2 absolute for step.
      const Estimate q = expect_2d(pair.integrand, c.k11, c.k12, c.k22);
      CHECK(std::abs(q.value - exact) <= (pair.name == std::string("step") ? 1e-2 : 1e-3 * scale));
      const Estimate m = expect_2d(pair.integrand, c.k11, c.k12, c.k22, mc);
      CHECK(std::abs(m.value - exact) <= 4 * m.error + 1e-15 * scale);
    }
  }
}

TEST_CASE("closed forms at degenerate covariances are the exact limits, never NaN") {
  const double pi = std::numbers::pi;
  // Correlation +1, −1 and 0.
  CHECK(expect_relu_relu(2, 2, 2) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(expect_relu_relu(2, -2, 2) == 0.0);
  CHECK(expect_relu_relu(1, 0, 1) == doctest::Approx(1 / (2 * pi)).epsilon(1e-15));
  CHECK(expect_step_step(2, 2, 2) == 0.5);
  CHECK(expect_step_step(2, -2, 2) == 0.0);
  CHECK(expect_step_step(1, 0, 4) == doctest::Approx(0.25).epsilon(1e-15));
  CHECK(expect_erf_erf(1, 1, 1) == doctest::Approx((2 / pi) * std::asin(2.0 / 3.0)).epsilon(1e-15));
  // A zero variance: u ≡ 0, so relu(u) = step(u) = erf(u) = sin(u) = 0 and cos(u) = exp(u) = 1.
  for (double k : {0.0, 1.0, 5.0}) {
    CAPTURE(k);
    CHECK(expect_relu_relu(0, 0, k) == 0.0);
    CHECK(expect_step_step(k, 0, 0) == 0.0);
    CHECK(expect_erf_erf(0, 0, k) == 0.0);
    CHECK(expect_sin_sin(0, 0, k) == 0.0);
    CHECK(expect_cos_cos(0, 0, k) == doctest::Approx(std::exp(-k / 2)).epsilon(1e-15));
    CHECK(expect_exp_exp(0, 0, k) == doctest::Approx(std::exp(k / 2)).epsilon(1e-15));
    CHECK(expect_erf_prime_erf_prime(0, 0, k) == doctest::Approx((4 / pi) / std::sqrt(1 + 2 * k)).epsilon(1e-15));
  }
  // |ρ| a rounding error above 1 is clamped to 1.
  const double over = 1 + 4e-16;
  CHECK(expect_relu_relu(3, 3 * over, 3) == doctest::Approx(1.5).epsilon(1e-15));
  CHECK(expect_step_step(3, -3 * over, 3) == 0.0);
  CHECK(expect_erf_erf(1e6, 1e6 * over, 1e6) == doctest::Approx((2 / pi) * std::asin(2e6 / (1 + 2e6))).epsilon(1e-15));
  // Large variances: no overflow in sinh/cosh (e^{-800} sinh(800) = (1 − e^{−1600})/2).
  CHECK(expect_sin_sin(800, 800, 800) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(expect_cos_cos(800, -800, 800) == doctest::Approx(0.5).epsilon(1e-15));
  CHECK(expect_sin_sin(800, 0, 800) == 0.0);
  // Small correlations keep full relative accuracy: E sin u sin v ≈ k12 for tiny variances.
  CHECK(expect_sin_sin(1e-20, 1e-20, 1e-20) == doctest::Approx(1e-20).epsilon(1e-15));
}

TEST_CASE("1-D closed forms agree with quadrature and with the 2-D forms on the diagonal") {
  for (double k : {0.0, 0.1, 1.0, 2.5}) {
    CAPTURE(k);
    CHECK(expect_relu(k) == doctest::Approx(expect_1d(relu, k).value).epsilon(1e-3));
    CHECK(expect_relu_squared(k) == doctest::Approx(expect_1d([](double u) { return relu(u) * relu(u); }, k).value).epsilon(1e-12));
    CHECK(expect_relu_squared(k) == doctest::Approx(expect_relu_relu(k, k, k)).epsilon(1e-15));
    CHECK(expect_step(k) == expect_step_step(k, k, k));
    CHECK(expect_erf_squared(k) == doctest::Approx(expect_erf_erf(k, k, k)).epsilon(1e-15));
    CHECK(std::abs(expect_erf_prime(k) - expect_1d(erf_prime, k).value) < 1e-12);
    CHECK(std::abs(expect_cos(k) - expect_1d([](double u) { return std::cos(u); }, k).value) < 1e-12);
    CHECK(std::abs(expect_exp(k) - expect_1d([](double u) { return std::exp(u); }, k).value) < 1e-12 * expect_exp(k));
  }
  CHECK(expect_step(0.0) == 0.0);
  CHECK(expect_step(1e-300) == 0.5);
}

TEST_CASE("closed forms reject covariances that are not PSD or not finite") {
  CHECK_THROWS_AS(expect_relu_relu(1, 2, 1), CovarianceError);
  CHECK_THROWS_AS(expect_erf_erf(-1, 0, 1), CovarianceError);
  CHECK_THROWS_AS(expect_sin_cos(1, std::nan(""), 1), CovarianceError);
  CHECK_THROWS_AS(expect_relu(-0.5), CovarianceError);
  try {
    (void)expect_step_step(1, 2, 1);
    FAIL("indefinite covariance accepted");
  } catch (const CovarianceError& e) {
    CHECK(e.min_eigenvalue == doctest::Approx(-1.0));
    CHECK(std::string(e.what()).find("smallest eigenvalue -1") != std::string::npos);
  }
}

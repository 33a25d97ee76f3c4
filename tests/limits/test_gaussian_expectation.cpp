// Gaussian expectations: exact moments, singular and invalid covariances, divergence, Monte Carlo route.
#include "limits/gaussian_expectation.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>

namespace {

using tp::limits::BatchIntegrand;
using tp::limits::CovarianceError;
using tp::limits::DivergentIntegral;
using tp::limits::Estimate;
using tp::limits::ExpectationMethod;
using tp::limits::ExpectationOptions;
using tp::limits::Route;
using tp::limits::expect_1d;
using tp::limits::expect_2d;
using tp::limits::gaussian_expectation;

/// f(Z) = cos(cᵀZ), with E f = exp(−cᵀΣc/2).
BatchIntegrand cosine_of(const Eigen::VectorXd& c) {
  return [c](const Eigen::MatrixXd& points) -> Eigen::ArrayXd { return (c.transpose() * points).array().cos().transpose(); };
}

/// A fixed, well-conditioned covariance in R^d: A Aᵀ/d + 0.1 I with A(i, j) = sin(1 + i + 2j).
Eigen::MatrixXd test_covariance(int d) {
  Eigen::MatrixXd a(d, d);
  for (int i = 0; i < d; ++i) {
    for (int j = 0; j < d; ++j) a(i, j) = std::sin(1.0 + i + 2.0 * j);
  }
  return a * a.transpose() / d + 0.1 * Eigen::MatrixXd::Identity(d, d);
}

std::string message_of(const auto& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("expect_1d integrates polynomials exactly for any variance") {
  for (double s : {0.25, 1.0, 3.0}) {
    CAPTURE(s);
    const Estimate m2 = expect_1d([](double u) { return u * u; }, s);
    CHECK(m2.route == Route::quadrature);
    CHECK(m2.value == doctest::Approx(s).epsilon(1e-14));
    CHECK(expect_1d([](double u) { return std::pow(u, 4); }, s).value == doctest::Approx(3 * s * s).epsilon(1e-14));
    CHECK(expect_1d([](double u) { return std::pow(u, 6) - u; }, s).value ==
          doctest::Approx(15 * s * s * s).epsilon(1e-14));
  }
}

TEST_CASE("E exp(a z^2) = 1/sqrt(1 - 2a) for a < 1/2") {
  for (double a : {-1.0, 0.1, 0.3, 0.4, 0.45}) {
    CAPTURE(a);
    const Estimate e = expect_1d([a](double z) { return std::exp(a * z * z); }, 1.0);
    const double exact = 1 / std::sqrt(1 - 2 * a);
    CHECK(std::abs(e.value - exact) <= 1e-13 * exact);
    CHECK(e.error <= 1e-11 * exact);
  }
  // The requested accuracy for a = 0.4: 1/sqrt(0.2).
  const Estimate e = expect_1d([](double z) { return std::exp(0.4 * z * z); }, 1.0);
  CHECK(std::abs(e.value - 1 / std::sqrt(0.2)) < 1e-8);
}

TEST_CASE("an infinite Gaussian expectation is reported as divergent, not as a number") {
  for (double a : {0.5, 0.6, 1.0, 2.0}) {
    CAPTURE(a);
    const auto call = [a] { (void)expect_1d([a](double z) { return std::exp(a * z * z); }, 1.0); };
    CHECK_THROWS_AS(call(), DivergentIntegral);
    CHECK(message_of(call).find("Gaussian expectation is not finite") != std::string::npos);
  }
  // exp(|z|²/2) over rank 2, 3 and 4: the values grow without converging.
  for (int d : {2, 3, 4}) {
    CAPTURE(d);
    const BatchIntegrand f = [](const Eigen::MatrixXd& p) -> Eigen::ArrayXd {
      return (0.5 * p.colwise().squaredNorm().array()).exp().transpose();
    };
    CHECK_THROWS_AS(gaussian_expectation(f, Eigen::MatrixXd::Identity(d, d)), DivergentIntegral);
  }
  // A variance that makes exp(z²) integrable again: E exp(u²) with u ~ N(0, 0.3) is 1/sqrt(1 − 0.6).
  CHECK(expect_1d([](double u) { return std::exp(u * u); }, 0.3).value == doctest::Approx(1 / std::sqrt(0.4)).epsilon(1e-13));
  // NaN from the integrand is an error too.
  CHECK_THROWS_AS(expect_1d([](double u) { return std::log(u); }, 1.0), DivergentIntegral);
}

TEST_CASE("rank-deficient covariances integrate over their effective rank") {
  // (u, v) = (z, 2z): rank 1.
  Eigen::MatrixXd cov(2, 2);
  cov << 1, 2, 2, 4;
  const auto factor = tp::limits::factor_covariance(cov);
  CHECK(factor.rank() == 1);
  CHECK((factor.factor * factor.factor.transpose() - cov).cwiseAbs().maxCoeff() < 1e-14);
  const Estimate uv = expect_2d([](double u, double v) { return u * v; }, 1, 2, 4);
  CHECK(uv.value == doctest::Approx(2.0).epsilon(1e-14));
  const Estimate t = expect_2d([](double u, double v) { return std::tanh(u) * std::tanh(v); }, 1, 2, 4);
  const Estimate same = expect_1d([](double z) { return std::tanh(z) * std::tanh(2 * z); }, 1.0);
  CHECK(std::abs(t.value - same.value) < 1e-13);
  // Rank 2 in R^3 and the zero covariance (f(0) exactly).
  Eigen::MatrixXd cov3 = Eigen::MatrixXd::Zero(3, 3);
  cov3.topLeftCorner(2, 2) << 2, 0.5, 0.5, 1;
  CHECK(tp::limits::factor_covariance(cov3).rank() == 2);
  const Estimate c3 = gaussian_expectation(cosine_of(Eigen::Vector3d(1, -1, 7)), cov3);
  CHECK(c3.value == doctest::Approx(std::exp(-0.5 * (2 + 1 - 1))).epsilon(1e-13));
  const Estimate zero = expect_2d([](double u, double v) { return std::cos(u) + v + 1; }, 0, 0, 0);
  CHECK(zero.value == 2.0);
  CHECK(zero.error == 0.0);
}

TEST_CASE("invalid covariances are rejected with a typed error naming the culprit") {
  Eigen::MatrixXd indefinite(2, 2);
  indefinite << 1, 2, 2, 1;  // eigenvalues −1 and 3
  try {
    (void)tp::limits::factor_covariance(indefinite);
    FAIL("indefinite covariance accepted");
  } catch (const CovarianceError& e) {
    CHECK(e.min_eigenvalue == doctest::Approx(-1.0));
    CHECK(std::string(e.what()).find("smallest eigenvalue -1") != std::string::npos);
  }
  CHECK_THROWS_AS(expect_1d([](double u) { return u; }, -0.5), CovarianceError);
  CHECK_THROWS_AS(expect_2d([](double u, double v) { return u * v; }, 1, 1.5, 1), CovarianceError);
  Eigen::MatrixXd asymmetric(2, 2);
  asymmetric << 1, 0.5, 0.2, 1;
  CHECK(message_of([&] { (void)tp::limits::factor_covariance(asymmetric); }).find("not symmetric") != std::string::npos);
  Eigen::MatrixXd not_finite = Eigen::MatrixXd::Identity(2, 2);
  not_finite(1, 1) = std::nan("");
  CHECK_THROWS_AS(tp::limits::factor_covariance(not_finite), CovarianceError);
  CHECK_THROWS_AS(tp::limits::factor_covariance(Eigen::MatrixXd::Identity(2, 3)), CovarianceError);
  // CovarianceError is an std::invalid_argument.
  CHECK_THROWS_AS(tp::limits::factor_covariance(indefinite), std::invalid_argument);
}

TEST_CASE("quadrature is exact to rounding for cos(c.Z) in 1 to 4 dimensions") {
  for (int d = 1; d <= 4; ++d) {
    CAPTURE(d);
    const Eigen::MatrixXd cov = test_covariance(d);
    const Eigen::VectorXd c = Eigen::VectorXd::LinSpaced(d, 0.5, 1.2);
    const Estimate e = gaussian_expectation(cosine_of(c), cov);
    CHECK(e.route == Route::quadrature);
    CHECK(std::abs(e.value - std::exp(-0.5 * c.dot(cov * c))) < 1e-13);
    CHECK(e.error < 1e-12);
  }
}

TEST_CASE("Monte Carlo agrees within 4 standard errors and is reproducible from its seed") {
  for (int d : {2, 5, 8}) {
    CAPTURE(d);
    const Eigen::MatrixXd cov = test_covariance(d);
    const Eigen::VectorXd c = Eigen::VectorXd::LinSpaced(d, 0.3, 0.9);
    ExpectationOptions options;
    options.method = d == 2 ? ExpectationMethod::monte_carlo : ExpectationMethod::automatic;
    const Estimate e = gaussian_expectation(cosine_of(c), cov, options);
    CHECK(e.route == Route::monte_carlo);  // d > 4 falls back to Monte Carlo automatically
    CHECK(e.error > 0.0);
    CHECK(e.error < 5e-3);
    CHECK(std::abs(e.value - std::exp(-0.5 * c.dot(cov * c))) < 4 * e.error);
    const Estimate again = gaussian_expectation(cosine_of(c), cov, options);
    CHECK(again.value == e.value);
    options.seed += 1;
    CHECK(gaussian_expectation(cosine_of(c), cov, options).value != e.value);
  }
  // Antithetic pairs make odd integrands exact.
  ExpectationOptions mc;
  mc.method = ExpectationMethod::monte_carlo;
  const Estimate odd = expect_2d([](double u, double v) { return u * u * u + std::sin(v); }, 1, 0.3, 2, mc);
  CHECK(std::abs(odd.value) < 1e-15);
}

TEST_CASE("quadrature can be forced in 5 dimensions and Monte Carlo in 1") {
  ExpectationOptions options;
  options.method = ExpectationMethod::quadrature;
  const Eigen::MatrixXd cov = test_covariance(5);
  const Eigen::VectorXd c = Eigen::VectorXd::Constant(5, 0.4);
  const Estimate q = gaussian_expectation(cosine_of(c), cov, options);
  CHECK(q.route == Route::quadrature);
  CHECK(std::abs(q.value - std::exp(-0.5 * c.dot(cov * c))) < 1e-10);
  options.method = ExpectationMethod::monte_carlo;
  options.mc_pairs = 1000;
  const Estimate m = expect_1d([](double u) { return u * u; }, 2.0, options);
  CHECK(m.route == Route::monte_carlo);
  CHECK(std::abs(m.value - 2.0) < 4 * m.error);
}

TEST_CASE("a fixed pair of orders gives Q_2k with error |Q_k - Q_2k|") {
  ExpectationOptions options;
  options.initial_order = 5;
  options.max_order = 10;
  const auto f = [](double u, double v) { return std::tanh(u) * std::tanh(v); };
  const Estimate e = expect_2d(f, 1.0, 0.4, 0.8, options);
  Eigen::MatrixXd cov(2, 2);
  cov << 1.0, 0.4, 0.4, 0.8;
  const auto factor = tp::limits::factor_covariance(cov).factor;
  const BatchIntegrand batch = [&f](const Eigen::MatrixXd& p) -> Eigen::ArrayXd {
    Eigen::ArrayXd values(p.cols());
    for (Eigen::Index j = 0; j < p.cols(); ++j) values(j) = f(p(0, j), p(1, j));
    return values;
  };
  const double q5 = tp::limits::tensor_quadrature(batch, factor, 5);
  const double q10 = tp::limits::tensor_quadrature(batch, factor, 10);
  CHECK(e.value == doctest::Approx(q10).epsilon(1e-15));
  CHECK(e.error == doctest::Approx(std::abs(q5 - q10)).epsilon(1e-12));
  // The error estimate bounds the true error (reference: default adaptive orders).
  CHECK(std::abs(e.value - expect_2d(f, 1.0, 0.4, 0.8).value) <= e.error);
}

TEST_CASE("bad options and integrands of the wrong size are API misuse") {
  ExpectationOptions options;
  options.rel_tol = -1;
  CHECK_THROWS_AS(expect_1d([](double u) { return u; }, 1.0, options), std::invalid_argument);
  const BatchIntegrand short_batch = [](const Eigen::MatrixXd&) -> Eigen::ArrayXd { return Eigen::ArrayXd::Zero(1); };
  CHECK(message_of([&] { (void)gaussian_expectation(short_batch, Eigen::MatrixXd::Identity(2, 2)); })
            .find("integrand returned 1 values") != std::string::npos);
  ExpectationOptions tiny;
  tiny.method = ExpectationMethod::quadrature;
  tiny.max_quadrature_nodes = 8;
  CHECK_THROWS_AS(gaussian_expectation(cosine_of(Eigen::VectorXd::Ones(4)), test_covariance(4), tiny),
                  std::invalid_argument);
}

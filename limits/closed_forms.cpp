// Closed-form Gaussian transforms; formulas and sources in closed_forms.h.
#include "limits/closed_forms.h"

#include "limits/gaussian_expectation.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

namespace tp::limits {
namespace {

constexpr double pi = std::numbers::pi;

/// A validated 2×2 covariance: variances ≥ 0, k12 clamped so that |ρ| ≤ 1, det = k11 k22 − k12² ≥ 0.
struct Bivariate {
  double k11;
  double k12;
  double k22;
  double det;
};

/// k11 k22 − k12² to a few ulps of the result (Kahan's fma algorithm: k12² = w + e exactly, so only the final
/// subtraction rounds). The plain difference loses the digits the product shares: for nearly collinear inputs
/// (k12² ≈ k11 k22, issue #13) its relative error is ε k11 k22 / det, and E[step step] = (π − θ)/(2π) with
/// θ = atan2(√det, k12) inherits half of it.
double determinant(double k11, double k22, double k12) {
  const double w = k12 * k12;
  const double e = std::fma(k12, k12, -w);
  return std::fma(k11, k22, -w) - e;
}

/// Checks finiteness and positive semidefiniteness (relative tolerance 1e−10), then clamps.
Bivariate validate(const char* what, double k11, double k12, double k22) {
  const double half_trace = 0.5 * (k11 + k22);
  const double radius = std::hypot(0.5 * (k11 - k22), k12);
  const double smallest = half_trace - radius;
  const double largest = std::max(half_trace + radius, -smallest);
  const bool finite = std::isfinite(k11) && std::isfinite(k12) && std::isfinite(k22);
  if (!finite || smallest < -1e-10 * largest) {
    std::ostringstream out;
    out.precision(6);
    out << what << ": covariance [[" << k11 << ", " << k12 << "], [" << k12 << ", " << k22 << "]] is ";
    if (finite) {
      out << "not positive semidefinite: smallest eigenvalue " << smallest;
    } else {
      out << "not finite";
    }
    throw CovarianceError(out.str(), finite ? smallest : std::nan(""));
  }
  Bivariate b;
  b.k11 = std::max(k11, 0.0);
  b.k22 = std::max(k22, 0.0);
  const double bound = std::sqrt(b.k11 * b.k22);
  b.k12 = std::clamp(k12, -bound, bound);
  b.det = std::max(determinant(b.k11, b.k22, b.k12), 0.0);
  return b;
}

double validate_variance(const char* what, double k) {
  if (!std::isfinite(k) || k < 0) {
    std::ostringstream out;
    out << what << ": variance must be finite and >= 0, got " << k;
    throw CovarianceError(out.str(), k);
  }
  return k;
}

/// θ = arccos ρ ∈ [0, π], as atan2(√det, k12) (accurate near ρ = ±1, where acos is ill-conditioned).
double angle(const Bivariate& b) { return std::atan2(std::sqrt(b.det), b.k12); }

}  // namespace

double expect_identity_identity(double k11, double k12, double k22) {
  validate("E[u v]", k11, k12, k22);
  return k12;
}

double expect_relu_relu(double k11, double k12, double k22) {
  const Bivariate b = validate("E[relu(u) relu(v)]", k11, k12, k22);
  if (b.k11 == 0 || b.k22 == 0) return 0.0;
  return (std::sqrt(b.det) + (pi - angle(b)) * b.k12) / (2 * pi);
}

double expect_step_step(double k11, double k12, double k22) {
  const Bivariate b = validate("E[step(u) step(v)]", k11, k12, k22);
  if (b.k11 == 0 || b.k22 == 0) return 0.0;
  return (pi - angle(b)) / (2 * pi);
}

double expect_erf_erf(double k11, double k12, double k22) {
  const Bivariate b = validate("E[erf(u) erf(v)]", k11, k12, k22);
  const double s = 2 * b.k12 / std::sqrt((1 + 2 * b.k11) * (1 + 2 * b.k22));
  return (2 / pi) * std::asin(std::clamp(s, -1.0, 1.0));
}

double expect_erf_prime_erf_prime(double k11, double k12, double k22) {
  const Bivariate b = validate("E[erf'(u) erf'(v)]", k11, k12, k22);
  // (1 + 2k11)(1 + 2k22) − 4k12² = 1 + 2k11 + 2k22 + 4 det, without cancellation.
  return (4 / pi) / std::sqrt(1 + 2 * b.k11 + 2 * b.k22 + 4 * b.det);
}

double expect_sin_sin(double k11, double k12, double k22) {
  const Bivariate b = validate("E[sin u sin v]", k11, k12, k22);
  const double c = std::abs(b.k12);
  // e^{−(k11+k22)/2} sinh c = e^{c − (k11+k22)/2} (1 − e^{−2c}) / 2, with c − (k11+k22)/2 ≤ 0.
  const double value = 0.5 * std::exp(c - 0.5 * (b.k11 + b.k22)) * -std::expm1(-2 * c);
  return std::copysign(value, b.k12);
}

double expect_cos_cos(double k11, double k12, double k22) {
  const Bivariate b = validate("E[cos u cos v]", k11, k12, k22);
  const double c = std::abs(b.k12);
  return 0.5 * std::exp(c - 0.5 * (b.k11 + b.k22)) * (1 + std::exp(-2 * c));
}

double expect_sin_cos(double k11, double k12, double k22) {
  validate("E[sin u cos v]", k11, k12, k22);
  return 0.0;
}

double expect_exp_exp(double k11, double k12, double k22) {
  const Bivariate b = validate("E[exp(u) exp(v)]", k11, k12, k22);
  return std::exp(0.5 * (b.k11 + b.k22) + b.k12);
}

double expect_relu(double k) { return std::sqrt(validate_variance("E relu(u)", k) / (2 * pi)); }

double expect_relu_squared(double k) { return 0.5 * validate_variance("E relu(u)^2", k); }

double expect_step(double k) { return validate_variance("E step(u)", k) > 0 ? 0.5 : 0.0; }

double expect_erf_squared(double k) {
  validate_variance("E erf(u)^2", k);
  return (2 / pi) * std::asin(2 * k / (1 + 2 * k));
}

double expect_erf_prime(double k) {
  validate_variance("E erf'(u)", k);
  return (2 / std::sqrt(pi)) / std::sqrt(1 + 2 * k);
}

double expect_cos(double k) { return std::exp(-0.5 * validate_variance("E cos(u)", k)); }

double expect_exp(double k) { return std::exp(0.5 * validate_variance("E exp(u)", k)); }

}  // namespace tp::limits

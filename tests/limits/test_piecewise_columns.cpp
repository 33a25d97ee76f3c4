// The vectorized column transforms (limits/piecewise_columns.h) against the scalar arc-cosine formulas
// (limits/piecewise_linear.h).
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

#include <boost/math/constants/constants.hpp>
#include <boost/multiprecision/cpp_bin_float.hpp>

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

TEST_CASE("exam: one relu layer of piecewise_layer_column matches a 50-digit evaluation to a few ulps at every angle") {
  // The column loop's own approximations (Cephes' atan by Estrin's scheme, h(t) by six series terms below 0.25,
  // det through the gap) against the same formulas in 50 digits on the same double inputs: θ = atan2(√det, c),
  // cos θ = c/√(ab), sin θ = √det/√(ab); K' = σ_w² √(ab)/(2π) (sin θ + (π − θ) cos θ) + σ_b², Θ' = K' +
  // σ_w² (π − θ)/(2π) Θ, det' = K'(i,i) K'(j,j) − K'² with K'(i,i) = σ_w² a/2 + σ_b², where sin θ and cos θ are
  // taken of θ in 50 digits (c/√(ab) and √det/√(ab) of the rounded inputs are consistent only to an ulp, and det'
  // of nearly collinear pairs, ~θ², would inherit that ulp of K' instead of the loop's error).
  using mp = boost::multiprecision::cpp_bin_float_50;
  const mp pi_mp = boost::math::constants::pi<mp>();
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  const std::size_t m = 3001;
  const double b = 1.3, sw2 = 2.0, sb2 = 0.1;
  std::vector<double> root_a(m), inv_root_a(m), k(m), theta(m), det(m), a(m), k0(m), t0(m), d0(m);
  for (std::size_t i = 0; i + 1 < m; ++i) {
    a[i] = 0.2 + 2 * uniform(rng);
    // angles over [0, π]: dense near 0 and π (the series) and spread in between
    const double th = i < 1000 ? 1e-9 * std::pow(1e9, uniform(rng)) : i < 2000 ? M_PI - 1e-9 * std::pow(1e9, uniform(rng)) : M_PI * uniform(rng);
    const double s = std::sqrt(a[i] * b);
    k0[i] = s * std::cos(th);
    d0[i] = a[i] * b * std::sin(th) * std::sin(th);
    t0[i] = 0.5 + uniform(rng);
  }
  a[m - 1] = b;
  k0[m - 1] = b;
  t0[m - 1] = 1.0;
  for (std::size_t i = 0; i < m; ++i) {
    root_a[i] = std::sqrt(a[i]);
    inv_root_a[i] = 1 / root_a[i];
  }
  k = k0;
  theta = t0;
  det = d0;
  PiecewiseLinear relu, step;
  relu.relu_pos = 1;
  step.step_pos = 1;
  piecewise_layer_column(relu, step, sw2, sb2, root_a.data(), inv_root_a.data(), m, k.data(), theta.data(), det.data());
  double worst_k = 0, worst_t = 0, worst_det = 0;
  for (std::size_t i = 0; i + 1 < m; ++i) {
    const mp ra = mp(root_a[i]), rb = mp(root_a[m - 1]), sab = ra * rb;
    const mp c = k0[i], rd = sqrt(mp(d0[i]));
    const mp th = atan2(rd, c), cs = cos(th), sn = sin(th);
    const mp e = sab / (2 * pi_mp) * (sn + (pi_mp - th) * cs);
    const mp kn = sw2 * e + sb2;
    const mp tn = kn + sw2 * (pi_mp - th) / (2 * pi_mp) * t0[i];
    const mp dn = (sw2 * ra * ra / 2 + sb2) * (sw2 * rb * rb / 2 + sb2) - kn * kn;
    worst_k = std::max(worst_k, static_cast<double>(abs(k[i] - kn) / kn));
    worst_t = std::max(worst_t, static_cast<double>(abs(theta[i] - tn) / tn));
    worst_det = std::max(worst_det, static_cast<double>(abs(det[i] - dn) / dn));
  }
  MESSAGE("relative error: K " << worst_k << ", Theta " << worst_t << ", det " << worst_det);
  CHECK(worst_k < 2e-15);    // a few ulps, far inside the route's allowance 16 ε l max |K|
  CHECK(worst_t < 2e-15);
  CHECK(worst_det < 4e-15);  // det relative to itself, down to θ = 1e-9 (det ~ 1e-18 a b)
}

TEST_CASE("check: piecewise_layer_column reports the column maxima and an overflow or NaN anywhere in the column") {
  PiecewiseLinear relu, step;
  relu.relu_pos = 1;
  step.step_pos = 1;
  for (const std::size_t m : {std::size_t{5}, std::size_t{21}}) {  // a tail only, and 8-lane blocks and a tail
    for (std::size_t bad = 0; bad <= m; ++bad) {  // bad = m: none
      std::vector<double> root_a(m, 1.0), inv_root_a(m, 1.0), k(m, 0.5), theta(m, 1.0), det(m, 0.75);
      k[m - 1] = 1.0;
      if (bad < m) theta[bad] = bad % 2 ? 1.5e308 : std::nan("");  // Θ' = K' + 4 (π − θ)/(2π) Θ ≥ 4/3 Θ: inf
      const ColumnSummary s = piecewise_layer_column(relu, step, 4.0, 0.0, root_a.data(), inv_root_a.data(), m, k.data(),
                                                     theta.data(), det.data(), false);
      CHECK(s.finite == (bad == m));
      if (bad == m) {
        CHECK(s.max_k == doctest::Approx(2.0));  // the diagonal: 4 · 1/2
        CHECK(s.max_theta == doctest::Approx(2.0 + 4.0 * 0.5 * 1.0));
      }
    }
  }
}

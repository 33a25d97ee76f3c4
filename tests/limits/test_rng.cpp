// The ziggurat normal sampler: moments, tail mass and the CDF at many points against exact values, with
// tolerances of 5 standard errors (fixed seeds, so the test is deterministic).
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "limits/rng.h"

namespace {
constexpr double kTailCut = 3.6;
}

using tp::limits::Rng;

TEST_CASE("ziggurat normals have the moments, tails and CDF of N(0, 1)") {
  const std::size_t m = 4'000'000;
  std::vector<double> z(m);
  Rng(12345, 7).fill_normal(z.data(), m);
  double s1 = 0, s2 = 0, s4 = 0;
  std::size_t tail = 0;
  const double cuts[] = {-2.5, -1.3, -0.4, 0.0, 0.2, 0.9, 1.7, 3.0};
  std::size_t below[8] = {};
  for (double x : z) {
    s1 += x;
    s2 += x * x;
    s4 += x * x * x * x;
    tail += std::abs(x) > kTailCut;
    for (int c = 0; c < 8; ++c) below[c] += x < cuts[c];
  }
  const double n = static_cast<double>(m);
  CHECK(std::abs(s1 / n) < 5 * std::sqrt(1.0 / n));
  CHECK(std::abs(s2 / n - 1) < 5 * std::sqrt(2.0 / n));
  CHECK(std::abs(s4 / n - 3) < 5 * std::sqrt(96.0 / n));  // Var x^4 = 105 - 9
  const double p_tail = std::erfc(kTailCut / std::sqrt(2.0));  // beyond the ziggurat's base strip R = 3.44
  CHECK(std::abs(tail / n - p_tail) < 5 * std::sqrt(p_tail * (1 - p_tail) / n));
  for (int c = 0; c < 8; ++c) {
    const double p = 0.5 * std::erfc(-cuts[c] / std::sqrt(2.0));
    CAPTURE(cuts[c]);
    CHECK(std::abs(below[c] / n - p) < 5 * std::sqrt(p * (1 - p) / n));
  }
}

TEST_CASE("streams are reproducible and distinct") {
  Rng a(1, 2), b(1, 2), c(1, 3), d(2, 2);
  for (int k = 0; k < 100; ++k) {
    const double x = a.normal();
    CHECK(x == b.normal());
    CHECK(x != c.normal());
    CHECK(x != d.normal());
  }
}

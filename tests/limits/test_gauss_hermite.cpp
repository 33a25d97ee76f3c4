// Gauss–Hermite rules: closed-form low orders, normalization, symmetry, exactness up to degree 2k − 1.
#include "limits/gauss_hermite.h"

#include <doctest/doctest.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using tp::limits::gauss_hermite_rule;
using tp::limits::max_gauss_hermite_order;

/// (2m − 1)!! = E z^{2m} for z ~ N(0, 1).
double double_factorial_odd(int m) {
  double result = 1.0;
  for (int j = 2 * m - 1; j > 1; j -= 2) result *= j;
  return result;
}

double factorial(int k) {
  double result = 1.0;
  for (int j = 2; j <= k; ++j) result *= j;
  return result;
}

/// Σ w_i x_i^p, pairing x_i with its mirror −x_i (so odd moments cancel exactly when the rule is symmetric)
/// and summing from the centre outwards.
double moment(const tp::limits::GaussHermiteRule& rule, int p) {
  const int n = rule.order;
  double sum = n % 2 == 1 ? rule.weights[n / 2] * std::pow(rule.nodes[n / 2], p) : 0.0;
  for (int i = n / 2 - 1; i >= 0; --i) {
    const int mirror = n - 1 - i;
    sum += rule.weights[i] * std::pow(rule.nodes[i], p) + rule.weights[mirror] * std::pow(rule.nodes[mirror], p);
  }
  return sum;
}

}  // namespace

TEST_CASE("Gauss–Hermite rules of orders 1 to 4 equal their closed forms") {
  const auto& r1 = gauss_hermite_rule(1);
  CHECK(r1.nodes == std::vector<double>{0.0});
  CHECK(r1.weights == std::vector<double>{1.0});

  const auto& r2 = gauss_hermite_rule(2);
  CHECK(r2.nodes[0] == doctest::Approx(-1.0).epsilon(1e-15));
  CHECK(r2.nodes[1] == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(r2.weights[0] == doctest::Approx(0.5).epsilon(1e-15));

  const auto& r3 = gauss_hermite_rule(3);
  CHECK(r3.nodes[1] == 0.0);
  CHECK(r3.nodes[2] == doctest::Approx(std::sqrt(3.0)).epsilon(1e-15));
  CHECK(r3.weights[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
  CHECK(r3.weights[2] == doctest::Approx(1.0 / 6.0).epsilon(1e-15));

  // He_4 = x⁴ − 6x² + 3, so x² = 3 ∓ √6; w = 4!/(4² He_3(x)²) with He_3 = x³ − 3x.
  const auto& r4 = gauss_hermite_rule(4);
  for (int i = 2; i < 4; ++i) {
    const double x = std::sqrt(3.0 + (i == 2 ? -1 : 1) * std::sqrt(6.0));
    const double he3 = x * x * x - 3 * x;
    CHECK(r4.nodes[i] == doctest::Approx(x).epsilon(1e-15));
    CHECK(r4.weights[i] == doctest::Approx(24.0 / (16.0 * he3 * he3)).epsilon(1e-14));
  }
}

TEST_CASE("Gauss–Hermite weights sum to 1 and nodes are ascending and exactly symmetric") {
  std::vector<int> orders;
  for (int k = 1; k <= 40; ++k) orders.push_back(k);
  for (int k : {63, 64, 100, 128, 199, 256, 400, max_gauss_hermite_order}) orders.push_back(k);
  for (int k : orders) {
    CAPTURE(k);
    const auto& rule = gauss_hermite_rule(k);
    REQUIRE(rule.order == k);
    REQUIRE(rule.nodes.size() == static_cast<std::size_t>(k));
    double total = 0.0;
    for (int i = 0; i < k; ++i) {
      total += rule.weights[i];
      CHECK(rule.nodes[i] == -rule.nodes[k - 1 - i]);
      CHECK(rule.weights[i] == rule.weights[k - 1 - i]);
      CHECK(rule.weights[i] >= 0.0);
      if (i > 0) CHECK(rule.nodes[i] > rule.nodes[i - 1]);
    }
    CHECK(std::abs(total - 1.0) < 4e-16 * std::sqrt(static_cast<double>(k)) + 1e-16);
  }
}

TEST_CASE("Gauss–Hermite of order k integrates z^p exactly for p <= 2k - 1 and misses z^{2k} by k!") {
  for (int k : {1, 2, 3, 5, 8, 13, 20, 32, 50, 80, 120}) {
    CAPTURE(k);
    const auto& rule = gauss_hermite_rule(k);
    for (int p = 0; p <= 2 * k - 1 && p <= 200; ++p) {  // x^200 stays finite for k <= 120
      CAPTURE(p);
      const double got = moment(rule, p);
      if (p % 2 == 1) {
        CHECK(got == 0.0);  // exact symmetry of nodes and weights
      } else {
        const double want = double_factorial_odd(p / 2);
        CHECK(std::abs(got - want) <= 1e-13 * want);
      }
    }
    // z^{2k} = He_k(z)² + (degree ≤ 2k − 1), He_k vanishes at the nodes and E He_k² = k!.
    if (k <= 60) {
      const double want = double_factorial_odd(k);
      const double got = moment(rule, 2 * k);
      CHECK(std::abs((want - got) - factorial(k)) <= 1e-12 * want);
    }
  }
}

TEST_CASE("Gauss–Hermite order outside 1..max is rejected with the valid range in the message") {
  for (int bad : {0, -3, max_gauss_hermite_order + 1}) {
    CAPTURE(bad);
    try {
      (void)gauss_hermite_rule(bad);
      FAIL("no exception for order " << bad);
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      CHECK(message.find("between 1 and " + std::to_string(max_gauss_hermite_order)) != std::string::npos);
      CHECK(message.find(std::to_string(bad)) != std::string::npos);
    }
  }
}

TEST_CASE("Gauss–Hermite cache returns one shared rule per order across threads") {
  std::vector<const tp::limits::GaussHermiteRule*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&seen, t] { seen[t] = &gauss_hermite_rule(300 + static_cast<int>(t % 2)); });
  }
  for (auto& thread : threads) thread.join();
  for (std::size_t t = 0; t < seen.size(); ++t) {
    CHECK(seen[t] == &gauss_hermite_rule(300 + static_cast<int>(t % 2)));
    CHECK(seen[t]->order == 300 + static_cast<int>(t % 2));
  }
}

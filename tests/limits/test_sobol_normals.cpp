// Scrambled Sobol points (limits/sobol_normals.h): the net property survives the scramble, randomizations differ,
// blocks reproduce the whole sequence, and the normals have the right moments.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "limits/sobol_normals.h"

using namespace tp::limits;

namespace {

std::vector<double> uniforms(std::size_t dim, std::uint64_t seed, std::uint64_t first, std::size_t count) {
  std::vector<double> u(count);
  ScrambledSobol(dim, seed, 7).fill_uniform(first, count, u.data());
  return u;
}

}  // namespace

TEST_CASE("every dimension of the first 2^m scrambled points is stratified: one point per interval of 2^-m") {
  const std::size_t m = 10, n = std::size_t{1} << m;
  for (std::size_t dim : {0, 1, 2, 5, 100, 3666}) {
    const auto u = uniforms(dim, 3, 0, n);
    std::vector<int> count(n, 0);
    for (double x : u) {
      REQUIRE(x > 0.0);
      REQUIRE(x < 1.0);
      ++count[static_cast<std::size_t>(x * static_cast<double>(n))];
    }
    CHECK(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
  }
}

TEST_CASE("two dimensions form a (0, m, 2)-net: each 2^-a x 2^-(m-a) box holds exactly one point") {
  const std::size_t m = 8, n = std::size_t{1} << m;
  const auto u = uniforms(0, 5, 0, n), v = uniforms(1, 5, 0, n);
  for (std::size_t a = 0; a <= m; ++a) {
    std::vector<int> count(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const auto bx = static_cast<std::size_t>(u[i] * static_cast<double>(std::size_t{1} << a));
      const auto by = static_cast<std::size_t>(v[i] * static_cast<double>(std::size_t{1} << (m - a)));
      ++count[(bx << (m - a)) + by];
    }
    CHECK(std::all_of(count.begin(), count.end(), [](int c) { return c == 1; }));
  }
}

TEST_CASE("a block from any first index equals the same points of the whole sequence") {
  const auto whole = uniforms(4, 9, 0, 1000);
  const auto block = uniforms(4, 9, 333, 400);
  for (std::size_t k = 0; k < block.size(); ++k) CHECK(block[k] == whole[333 + k]);
}

TEST_CASE("different seeds give different randomizations; normals have mean 0 and variance 1") {
  CHECK(uniforms(2, 1, 0, 4) != uniforms(2, 2, 0, 4));
  const std::size_t n = 1 << 14;
  std::vector<double> z(n);
  ScrambledSobol(3, 11, 0).fill_normal(0, n, z.data());
  double mean = 0, var = 0;
  for (double x : z) mean += x / n;
  for (double x : z) var += (x - mean) * (x - mean) / n;
  CHECK(std::abs(mean) < 1e-3);
  CHECK(std::abs(var - 1.0) < 1e-3);
}

// The blocked Gram matrix columns (limits/gram_columns.h) against the plain sequential dot product.
#include <doctest/doctest.h>

#include <limits>
#include <random>
#include <vector>

#include "limits/gram_columns.h"

TEST_CASE("gram_upper_columns: every upper entry is the sequential dot product bit for bit; the lower ones untouched") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  for (const std::size_t n : {1u, 7u, 16u, 37u, 70u}) {
    const std::size_t d = 5;
    std::vector<double> x(n * d);
    for (double& v : x) v = normal(rng);
    const double unset = std::numeric_limits<double>::quiet_NaN();
    std::vector<double> g(n * n, unset);
    // column blocks that split the register blocks (a block of 3, then the rest)
    const std::size_t split = std::min<std::size_t>(3, n);
    tp::limits::gram_upper_columns(x.data(), n, d, 0, split, g.data(), n);
    tp::limits::gram_upper_columns(x.data(), n, d, split, n, g.data(), n);
    bool exact = true, lower_untouched = true;
    for (std::size_t j = 0; j < n; ++j)
      for (std::size_t i = 0; i < n; ++i) {
        if (i > j) {
          lower_untouched = lower_untouched && g[i + j * n] != g[i + j * n];
          continue;
        }
        double s = 0.0;
        for (std::size_t c = 0; c < d; ++c) s += x[i + c * n] * x[j + c * n];
        exact = exact && g[i + j * n] == s;
      }
    CHECK(exact);
    CHECK(lower_untouched);
  }
}

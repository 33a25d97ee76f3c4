// An independent reference for tests: E f(Z), Z ~ N(0, v), by the composite Simpson rule on
// [-12 sd, 12 sd] with 20000 intervals (shares no code with the Gauss–Hermite engine).
#pragma once

#include <cmath>
#include <numbers>

namespace tp::testing {

template <class F>
double simpson_gauss(F f, double v) {
  const double sd = std::sqrt(v), a = -12 * sd, b = 12 * sd;
  const int m = 20000;
  const double h = (b - a) / m;
  double s = 0;
  for (int i = 0; i <= m; ++i) {
    const double x = a + i * h;
    const double w = (i == 0 || i == m) ? 1 : (i % 2 ? 4 : 2);
    s += w * f(x) * std::exp(-x * x / (2 * v)) / std::sqrt(2 * std::numbers::pi * v);
  }
  return s * h / 3;
}

}  // namespace tp::testing

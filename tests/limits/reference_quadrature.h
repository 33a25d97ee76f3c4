// Independent references for tests: E f(Z), Z ~ N(0, v), by the composite Simpson rule on [-12 sd, 12 sd] with
// 20000 intervals, and 2-D Gaussian expectations by nested adaptive Gauss–Kronrod (Boost.Math); they share no
// code with the library's integration engines.
#pragma once

#include <boost/math/quadrature/gauss_kronrod.hpp>

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

/// E f(u, v) for (u, v) ~ N(0, [[a, c], [c, b]]) (a > 0) by nested adaptive Gauss–Kronrod (Boost.Math, 61 points,
/// relative tolerance 1e-13, whose actual error is far smaller for analytic f) over u = √a x, v = (c/√a) x + √(b − c²/a) y on [-12, 12]² (the Gaussian tails beyond are
/// below 1e-32): independent of the library's Gauss–Hermite, trapezoidal and Gauss–Legendre rules.
template <class F>
double kronrod_gauss_2d(F f, double a, double c, double b) {
  using boost::math::quadrature::gauss_kronrod;
  const double root_a = std::sqrt(a), alpha = c / root_a, s = std::sqrt(std::max(b - alpha * alpha, 0.0));
  const double density = 1 / std::sqrt(2 * std::numbers::pi);
  auto inner = [&](double x) {
    auto g = [&](double y) { return f(root_a * x, alpha * x + s * y) * density * std::exp(-y * y / 2); };
    return gauss_kronrod<double, 61>::integrate(g, -12.0, 12.0, 8, 1e-13) * density * std::exp(-x * x / 2);
  };
  return gauss_kronrod<double, 61>::integrate(inner, -12.0, 12.0, 8, 1e-13);
}

}  // namespace tp::testing

// The relu and step closed forms of the level-1 limit (limits/gaussian_limit.h, limits/closed_forms.h) on nearly
// collinear inputs (issue #13): the angle θ = atan2(√det, k12) needs det = k11 k22 − k12² without cancellation.
// With the subtracted determinant, E[step(x1) step(x2)] for k11 = 1.7, k22 = 0.9, ρ = 1 − 1e−12 was 1.8e−12 off
// while printing 1.4e−14. Reference: the same formulas in 50-digit arithmetic (Boost.Multiprecision) from the
// same double entries.
#include <doctest/doctest.h>

#include <boost/multiprecision/cpp_bin_float.hpp>

#include <cmath>
#include <cstdio>
#include <string>

#include "frontend/sema.h"
#include "limits/gaussian_limit.h"

using namespace tp;
using Big = boost::multiprecision::cpp_bin_float_50;

TEST_CASE("relu and step moments on nearly collinear inputs: the printed error covers a 50-digit reference") {
  int cases = 0;
  for (const auto& [k11, k22] : {std::pair{1.7, 0.9}, std::pair{2.3, 0.4}, std::pair{1.0, 1.0}}) {
    for (int j = 5; j <= 12; ++j) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%.17g", std::sqrt(k11 * k22) * (1 - std::pow(10.0, -j)));
      const double k12 = std::stod(buffer);
      char text[256];
      std::snprintf(text, sizeof text,
                    "input x1, x2 ~ N(0, [[%.17g, %.17g], [%.17g, %.17g]])\noutput s = avg(step(x1) * step(x2))\n"
                    "output r = avg(relu(x1) * relu(x2))\n",
                    k11, k12, k12, k22);
      frontend::DiagnosticEngine diags;
      auto p = frontend::compile_source(text, diags);
      REQUIRE(p);
      const auto r = limits::gaussian_limit(*p);
      const Big a = k11, b = k22, c = k12, pi = boost::multiprecision::atan(Big(1)) * 4;
      const Big det = a * b - c * c, theta = boost::multiprecision::atan2(boost::multiprecision::sqrt(det), c);
      const double step_ref = static_cast<double>((pi - theta) / (2 * pi));
      const double relu_ref = static_cast<double>((boost::multiprecision::sqrt(det) + (pi - theta) * c) / (2 * pi));
      INFO("k11 = " << k11 << ", k22 = " << k22 << ", k12 = " << k12);
      CHECK(std::abs(r.outputs[0].value - step_ref) <= r.outputs[0].error);
      CHECK(std::abs(r.outputs[1].value - relu_ref) <= r.outputs[1].error);
      CHECK(r.outputs[0].error < 1e-13);
      ++cases;
    }
  }
  CHECK(cases == 24);
}

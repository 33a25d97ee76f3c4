// The NETSOR limit by Gaussian integration: against independent quadrature, closed forms vs numerical
// integration (the error estimate must cover the difference), Monte Carlo vs quadrature, finite width vs
// limit, and the programs it must refuse.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "frontend/sema.h"
#include "limits/finite.h"
#include "limits/gaussian_expectation.h"
#include "limits/gaussian_limit.h"
#include "reference_quadrature.h"
#include "tests/compile_text.h"

using namespace tp;
using tp::testing::compile;

namespace {

using tp::testing::simpson_gauss;

const char* kNngp = R"(input x1, x2 ~ N(0, [[1, 0.6], [0.6, 1]])
matrix W ~ N(0, 1/n)
g1 = W tanh(x1)
g2 = W tanh(x2)
k12 = avg(tanh(g1) * tanh(g2))
k11 = avg(tanh(g1)^2)
output k11, k12
)";

}  // namespace

TEST_CASE("a two-layer tanh moment equals nested independent quadrature to 1e-10") {
  auto r = limits::gaussian_limit(compile(kNngp));
  const auto t2 = [](double z) { return std::tanh(z) * std::tanh(z); };
  const double v1 = simpson_gauss(t2, 1.0);
  const double k11 = simpson_gauss(t2, v1);
  CHECK(r.outputs[0].value == doctest::Approx(k11).epsilon(1e-10));
  CHECK(r.outputs[0].route == limits::Route::quadrature);
  CHECK(r.outputs[0].error < 1e-10);
}

TEST_CASE("closed-form moments and their numerical quadrature agree within the reported error") {
  const char* relu = R"(input a, b, c ~ N(0, [[1.0, 0.5, 0.2], [0.5, 1.0, 0.5], [0.2, 0.5, 1.0]])
matrix W ~ N(0, 2/n)
matrix V ~ N(0, 1.5/n)
ha = W relu(a)
hb = W relu(b)
output K = avg(relu(ha) * relu(hb)), E = avg(erf(V a) * erf(V c)), S = avg(sin(ha) * sin(hb))
)";
  Program p = compile(relu);
  auto closed = limits::gaussian_limit(p);
  limits::GaussianLimitOptions numeric;
  numeric.use_closed_forms = false;
  auto quad = limits::gaussian_limit(p, numeric);
  for (std::size_t j = 0; j < closed.outputs.size(); ++j) {
    CAPTURE(closed.names[j]);
    CHECK(closed.outputs[j].route == limits::Route::closed_form);
    CHECK(quad.outputs[j].route == limits::Route::quadrature);
    CHECK(std::abs(closed.outputs[j].value - quad.outputs[j].value) <= quad.outputs[j].error + 1e-14);
  }
  // erf and sin are smooth: closed form and quadrature agree to 1e-12.
  CHECK(closed.outputs[1].value == doctest::Approx(quad.outputs[1].value).epsilon(1e-12));
}

TEST_CASE("forced Monte Carlo agrees with quadrature within 5 standard errors") {
  Program p = compile(kNngp);
  limits::GaussianLimitOptions mc;
  mc.max_quadrature_rank = 0;
  auto a = limits::gaussian_limit(p);
  auto b = limits::gaussian_limit(p, mc);
  for (std::size_t j = 0; j < a.outputs.size(); ++j) {
    CHECK(b.outputs[j].route == limits::Route::monte_carlo);
    CHECK(b.outputs[j].error > 0);
    CHECK(std::abs(a.outputs[j].value - b.outputs[j].value) < 5 * b.outputs[j].error);
  }
}

TEST_CASE("finite width approaches the limit: |finite - limit| within 5 standard errors at n = 2048") {
  Program p = compile(kNngp);
  auto lim = limits::gaussian_limit(p);
  limits::FiniteOptions o;
  o.width = 2048;
  o.seeds.clear();
  for (std::uint64_t s = 0; s < 24; ++s) o.seeds.push_back(s);
  auto fin = limits::run_finite(p, o);
  for (std::size_t j = 0; j < lim.outputs.size(); ++j)
    CHECK(std::abs(fin.summary[j].value - lim.outputs[j].value) < 5 * fin.summary[j].error);
}

TEST_CASE("scalars feed back as limit constants (ZMoment) and scalar outputs are exact functions of them") {
  Program p = compile(R"(input x ~ N(0, 3)
t = avg(x^2)
matrix W ~ N(0, 1/n)
g = W (x / sqrt(t))
output q = avg(g * g), s = 2 * t + 1
)");
  auto r = limits::gaussian_limit(p);
  CHECK(r.outputs[0].value == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(r.outputs[1].value == doctest::Approx(7.0).epsilon(1e-12));
}

TEST_CASE("a matrix used only transposed is just another Gaussian matrix") {
  auto r = limits::gaussian_limit(compile("input x ~ N(0, 2)\nmatrix W ~ N(0, 1/n)\ny = W' x\noutput avg(y*y)\n"));
  CHECK(r.outputs[0].value == doctest::Approx(2.0).epsilon(1e-12));
}

TEST_CASE("W and W' in one program are refused with the reason and the way forward") {
  Program p = compile("input x ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\ny = W x\nz = W' y\noutput avg(z*z)\n");
  try {
    limits::gaussian_limit(p);
    FAIL("expected RouteUnavailable");
  } catch (const limits::RouteUnavailable& e) {
    const std::string msg = e.what();
    CHECK(msg.find("'z' (line 4)") != std::string::npos);
    CHECK(msg.find("ZDot") != std::string::npos);
  }
}

TEST_CASE("a divergent Gaussian expectation is reported with the value's name, not as a number") {
  Program p = compile("input x ~ N(0, 1)\nm = avg(exp(x^2))\noutput m\n");
  try {
    limits::gaussian_limit(p);
    FAIL("expected DivergentIntegral");
  } catch (const limits::DivergentIntegral& e) {
    CHECK(std::string(e.what()).find("'m' (line 2)") != std::string::npos);
  }
}

// The finite-width executor: statistics against independently derived limits (tolerances from standard
// errors), reproducibility, memory budget, and non-finite values reported with their source line.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numbers>

#include "frontend/sema.h"
#include "limits/finite.h"
#include "reference_quadrature.h"
#include "tp/errors.h"
#include "tests/compile_text.h"

using namespace tp;
using tp::testing::compile;

namespace {

limits::FiniteResult run(const Program& p, std::size_t n, std::size_t seeds, unsigned threads = 0) {
  limits::FiniteOptions o;
  o.width = n;
  o.seeds.clear();
  for (std::size_t s = 0; s < seeds; ++s) o.seeds.push_back(100 + s);
  o.threads = threads;
  return limits::run_finite(p, o);
}

using tp::testing::simpson_gauss;

void check_within(const limits::Estimate& e, double expected, double k = 5.0) {
  CAPTURE(e.value);
  CAPTURE(e.error);
  CAPTURE(expected);
  CHECK(e.error > 0);
  CHECK(std::abs(e.value - expected) < k * e.error);
}

}  // namespace

TEST_CASE("avg(x*x) for x ~ N(0, s^2) converges to s^2") {
  Program p = compile("input x ~ N(0, 2.25)\noutput m = avg(x * x)\n");
  auto r = run(p, 4096, 16);
  check_within(r.summary[0], 2.25);
  // the spread over seeds is that of a chi-square mean: sd = s^2 sqrt(2/n)
  CHECK(r.summary[0].error * 4.0 == doctest::Approx(2.25 * std::sqrt(2.0 / 4096)).epsilon(0.35));
}

TEST_CASE("avg(tanh(W x)^2) matches E tanh(Z)^2 with Z ~ N(0, sigma^2 E x^2) (ZHat rule)") {
  Program p = compile("input x ~ N(0, 1.5)\nmatrix W ~ N(0, 2/n)\ng = W x\noutput q = avg(tanh(g)^2)\n");
  const double expected = simpson_gauss([](double z) { return std::tanh(z) * std::tanh(z); }, 2.0 * 1.5);
  auto r = run(p, 2048, 24);
  check_within(r.summary[0], expected);
}

TEST_CASE("a correlated pair through a nonlinearity and a shared matrix has the NNGP covariance") {
  // Cov(g1, g2) = E[sin(x1) sin(x2)] = exp(-1) sinh(c) for unit variances and correlation c.
  Program p = compile(
      "input x1, x2 ~ N(0, [[1, 0.6], [0.6, 1]])\nmatrix W ~ N(0, 1/n)\n"
      "g1 = W sin(x1)\ng2 = W sin(x2)\noutput c = avg(g1 * g2)\n");
  auto r = run(p, 2048, 24);
  check_within(r.summary[0], std::exp(-1.0) * std::sinh(0.6));
}

TEST_CASE("transposes: avg(x W'W x) -> 1 and avg((W'W x)^2) -> 2 (ZDot makes the difference)") {
  Program p = compile("input x ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\ny = W x\nz = W' y\noutput a = avg(x*z), b = avg(z*z)\n");
  auto r = run(p, 2048, 24);
  check_within(r.summary[0], 1.0);
  check_within(r.summary[1], 2.0);
}

TEST_CASE("scalars feed back into Nonlins as parameters") {
  // theta = avg(x^2) -> 1; avg(x^2 / theta) is exactly 1 at any width.
  Program p = compile("input x ~ N(0, 1)\ntheta = avg(x^2)\ny = x^2 / theta\noutput m = avg(y), t = theta * 2\n");
  auto r = run(p, 100, 3);
  for (const auto& s : r.per_seed) CHECK(s.values[0] == doctest::Approx(1.0).epsilon(1e-14));
}

TEST_CASE("a singular covariance is sampled exactly on its support") {
  Program p = compile("input a, b ~ N(0, [[1, 1], [1, 1]])\noutput d = avg((a - b)^2), v = avg(a * a)\n");
  auto r = run(p, 1000, 2);
  CHECK(r.per_seed[0].values[0] < 1e-20);
  CHECK(r.per_seed[0].values[1] > 0.5);
}

TEST_CASE("same seed gives bitwise the same outputs, whatever the thread count") {
  Program p = compile("input x ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\ng = W tanh(x)\noutput q = avg(g*g)\n");
  auto a = run(p, 300, 5, 1);
  auto b = run(p, 300, 5, 2);
  auto c = run(p, 300, 5, 0);
  for (std::size_t k = 0; k < 5; ++k) {
    CHECK(a.per_seed[k].values[0] == b.per_seed[k].values[0]);
    CHECK(a.per_seed[k].values[0] == c.per_seed[k].values[0]);
  }
  CHECK(a.per_seed[0].values[0] != a.per_seed[1].values[0]);
}

TEST_CASE("widths beyond the memory budget are refused before allocating") {
  Program p = compile("input x ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\ng = W x\noutput q = avg(g*g)\n");
  limits::FiniteOptions o;
  o.width = 1 << 20;  // one 8 TiB matrix
  o.seeds = {0, 1};
  try {
    limits::run_finite(p, o);
    FAIL("expected a BudgetError");
  } catch (const BudgetError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("--memory-budget") != std::string::npos);
    CHECK(msg.find("GiB") != std::string::npos);
  }
}

TEST_CASE("a value that becomes NaN is reported with its name, line, width and seed") {
  Program p = compile("input x ~ N(0, 1)\n\ny = log(x)\noutput m = avg(y)\n");
  limits::FiniteOptions o;
  o.width = 64;
  o.seeds = {7};
  try {
    limits::run_finite(p, o);
    FAIL("expected a NumericalError");
  } catch (const NumericalError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("'y' (line 3)") != std::string::npos);
    CHECK(msg.find("n = 64") != std::string::npos);
    CHECK(msg.find("seed 7") != std::string::npos);
  }
}

TEST_CASE("batched MatMuls: avg(x_a · W x_b) equals avg(x_b · Wᵀ x_a) for every pair, to rounding") {
  // The three products W x_b (and the three Wᵀ x_a) share a matrix and a level, so the executor runs each
  // triple as one product (limits/multi_matvec.h); n = 700 is not a multiple of its block size.
  Program p = compile(R"(input x1, x2, x3 ~ N(0, [[1, 0.3, 0], [0.3, 1, 0], [0, 0, 1]])
matrix W ~ N(0, 1/n)
a1 = W x1
a2 = W x2
a3 = W x3
b1 = W' x1
b2 = W' x2
b3 = W' x3
output p12 = avg(x1 * a2), q12 = avg(x2 * b1), p31 = avg(x3 * a1), q31 = avg(x1 * b3), p22 = avg(x2 * a2), q22 = avg(x2 * b2)
)");
  auto r = run(p, 700, 2, 1);
  for (const auto& s : r.per_seed)
    for (std::size_t j = 0; j < 6; j += 2) {
      CAPTURE(j);
      CHECK(std::abs(s.values[j]) > 1e-6);  // not vacuously zero
      CHECK(std::abs(s.values[j] - s.values[j + 1]) < 1e-14);
    }
}

TEST_CASE("save_init_dir writes each seed's initial vectors and matrices as .npy files") {
  Program p = compile("input x ~ N(0, 4)\nmatrix W ~ N(0, 1/n)\ng = W x\noutput q = avg(g*g)\n");
  const std::string dir = std::filesystem::temp_directory_path() / ("tpc_test_save_init_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  limits::FiniteOptions o;
  o.width = 5;
  o.seeds = {7};
  o.save_init_dir = dir;
  auto r = limits::run_finite(p, o);
  auto read = [&](const std::string& name) {
    std::ifstream f(dir + "/seed7_" + name + ".npy", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  const std::string w = read("W"), x = read("x");
  REQUIRE(w.size() > 10);
  CHECK(w.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header = static_cast<unsigned char>(w[8]) + 256u * static_cast<unsigned char>(w[9]);
  CHECK((10 + header) % 64 == 0);
  CHECK(w.find("'shape': (5, 5)") != std::string::npos);
  CHECK(w.find("'fortran_order': True") != std::string::npos);
  CHECK(w.size() == 10 + header + 25 * sizeof(double));
  CHECK(x.find("'shape': (5, 1)") != std::string::npos);
  // q = avg((W x)²) recomputed from the saved values
  Eigen::MatrixXd wm(5, 5);
  Eigen::VectorXd xv(5);
  std::memcpy(wm.data(), w.data() + 10 + header, 25 * sizeof(double));
  const std::size_t xh = static_cast<unsigned char>(x[8]) + 256u * static_cast<unsigned char>(x[9]);
  std::memcpy(xv.data(), x.data() + 10 + xh, 5 * sizeof(double));
  CHECK(std::abs((wm * xv).squaredNorm() / 5 - r.per_seed[0].values[0]) < 1e-12 * (1 + r.per_seed[0].values[0]));
  std::filesystem::remove_all(dir);
  o.save_init_dir = dir + "/missing";
  CHECK_THROWS_WITH_AS(limits::run_finite(p, o), doctest::Contains("cannot write"), std::runtime_error);
}

TEST_CASE("outer_avg (TP4b's outer nonlinearity) at finite width: exact identities per seed; the limit routes refuse it") {
  // y_α = avg_β g_α x_β² = g_α avg(x²) and y_α = avg_β sign(g_α x_β) x_β = sign(g_α) avg(|x|): each output is 0 up to
  // rounding for every draw, so the evaluator's row/column roles are checked exactly, not statistically.
  const Program p = compile(
      "input g, x ~ N(0, [[1, 0.5], [0.5, 1]])\n"
      "y1 = outer_avg(g * x' * x')\n"
      "y2 = outer_avg(sign(g * x') * x')\n"
      "z = outer_avg(exp(-(g - x')^2))\n"
      "output d1 = avg(y1 * g) - avg(g * g) * avg(x * x)\n"
      "output d2 = avg(y2 * g) - avg(abs(g)) * avg(abs(x))\n"
      "output zz = avg(z)\n");
  const auto r = run(p, 64, 3, 1);
  for (const auto& s : r.per_seed) {
    CHECK(std::abs(s.values[0]) < 1e-12);
    CHECK(std::abs(s.values[1]) < 1e-12);
    // E exp(−(g − x')²) over independent g, x' ~ N(0, 1): g − x' ~ N(0, 2), so 1/√(1 + 4) = 0.447
    CHECK(std::abs(s.values[2] - 1.0 / std::sqrt(5.0)) < 0.15);
  }
  CHECK(p.outer_nonlin_refusal().find("'y1' is an outer nonlinearity") == 0);
}

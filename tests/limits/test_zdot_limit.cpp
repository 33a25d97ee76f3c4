// The Monte Carlo limit of NETSOR⊤ programs (ZHat + ZDot particles): exact limits of transpose programs,
// agreement with Gaussian integration on NETSOR programs, derivative vs Stein forms of ZDot, agreement
// with the finite-width executor, and the programs and budgets it must refuse. Tolerances are 4 standard
// errors (combined in quadrature when two estimates are compared) at fixed seeds.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <random>
#include <sstream>

#include "frontend/sema.h"
#include "limits/finite.h"
#include "limits/gaussian_limit.h"
#include "limits/linear_limit.h"
#include "limits/resident_memory.h"
#include "limits/zdot_limit.h"
#include "reference_quadrature.h"
#include "tp/errors.h"
#include "tests/compile_text.h"

using namespace tp;
using tp::testing::compile;
using limits::ZDotMode;

namespace {

std::string read_example(const char* name) {
  std::ifstream in(std::string(TPC_SOURCE_DIR) + "/examples/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

limits::ZDotOptions small(ZDotMode mode, long long particles = 1 << 14) {
  limits::ZDotOptions o;
  o.particles = particles;
  o.zdot = mode;
  o.seed = 11;
  return o;
}

// |a − b| within k combined standard errors.
bool agree(const limits::Estimate& a, const limits::Estimate& b, double k = 4.0) {
  return std::abs(a.value - b.value) <= k * std::hypot(a.error, b.error);
}
bool agree(const limits::Estimate& a, double exact, double k = 4.0) { return std::abs(a.value - exact) <= k * a.error; }

limits::Estimate finite(const Program& p, std::size_t width, int seeds, std::size_t output) {
  limits::FiniteOptions fo;
  fo.width = width;
  fo.seeds.clear();
  for (int s = 0; s < seeds; ++s) fo.seeds.push_back(100 + static_cast<std::uint64_t>(s));
  return limits::run_finite(p, fo).summary[output];
}

const char* kTanhBackward = R"(input x ~ N(0, 1)
matrix W ~ N(0, 1.5/n)
h = W x
g = W' tanh(h)
u = W g
output gg = avg(g * g), ut = avg(u * tanh(h)), xg = avg(x * g), uu = avg(u * u)
)";

// Z^z = Ẑ^z + Z^x E[δ(Ẑ^h) + step(Ẑ^h)]: E[x z] = 1/sqrt(2π) + 1/2, E[z²] = 1 + 2/sqrt(2π) + (E[x z])².
const char* kStep = R"(input x ~ N(0, 1)
matrix W ~ N(0, 1/n)
h = W x
z = W' (step(h) + relu(h))
output xz = avg(x * z), zz = avg(z * z)
)";

}  // namespace

TEST_CASE("examples/transpose.tp: avg(x z) -> 1 and avg(z z) -> 2 in both ZDot modes; without ZDot 0 and 1") {
  const Program p = compile(read_example("transpose.tp"));
  for (ZDotMode mode : {ZDotMode::derivative, ZDotMode::stein}) {
    CAPTURE(static_cast<int>(mode));
    const auto r = limits::zdot_limit(p, small(mode));
    REQUIRE(r.outputs.size() == 2);
    CHECK(r.outputs[0].route == limits::Route::monte_carlo);
    CHECK(r.outputs[0].error > 0);
    CHECK(agree(r.outputs[0], 1.0));
    CHECK(agree(r.outputs[1], 2.0));
  }
  const auto none = limits::zdot_limit(p, small(ZDotMode::none));
  CHECK(agree(none.outputs[0], 0.0));
  CHECK(agree(none.outputs[1], 1.0));
  CHECK(std::abs(none.outputs[0].value - 1.0) > 20 * none.outputs[0].error);
}

TEST_CASE("the ZDot term carries sigma^2: W'W x with sigma^2 = 2 gives avg(x z) -> 2 and avg(z z) -> 8") {
  // y = W x: E y² = σ². z = W'y: Ẑ^z ~ N(0, σ² E y²) = N(0, σ⁴), Ż^z = σ² Z^x, so E xz = σ², E z² = 2σ⁴.
  const Program p = compile(R"(input x ~ N(0, 1)
matrix W ~ N(0, 2/n)
y = W x
z = W' y
output xz = avg(x * z), zz = avg(z * z)
)");
  for (ZDotMode mode : {ZDotMode::derivative, ZDotMode::stein}) {
    const auto r = limits::zdot_limit(p, small(mode));
    CHECK(agree(r.outputs[0], 2.0));
    CHECK(agree(r.outputs[1], 8.0));
  }
  const auto fin = finite(p, 1024, 8, 1);
  CHECK(std::abs(fin.value - 8.0) <= 4 * fin.error + 8.0 / 1024);  // finite-width bias O(1/n)
}

TEST_CASE("NETSOR programs: the Monte Carlo limit agrees with Gaussian integration") {
  const Program p = compile(read_example("nngp_tanh.tp"));
  const auto q = limits::gaussian_limit(p);
  const auto r = limits::zdot_limit(p, small(ZDotMode::automatic));
  REQUIRE(r.outputs.size() == q.outputs.size());
  for (std::size_t j = 0; j < r.outputs.size(); ++j) {
    CAPTURE(r.names[j]);
    CHECK(r.names[j] == q.names[j]);
    CHECK(agree(r.outputs[j], q.outputs[j]));
    CHECK(r.outputs[j].error < 2e-3);
  }
  // A two-matrix relu program (closed forms on the quadrature side).
  const Program p2 = compile(R"(input a, b ~ N(0, [[1, 0.3], [0.3, 2]])
matrix W ~ N(0, 2/n)
matrix V ~ N(0, 1/n)
ha = W relu(a)
hb = W relu(b)
k = avg(relu(ha) * relu(hb))
output k, s = avg(sin(V ha) * sin(V hb)) + k * avg(ha * hb)
)");
  const auto q2 = limits::gaussian_limit(p2);
  const auto r2 = limits::zdot_limit(p2, small(ZDotMode::automatic));
  for (std::size_t j = 0; j < r2.outputs.size(); ++j) {
    CAPTURE(r2.names[j]);
    CHECK(agree(r2.outputs[j], q2.outputs[j]));
  }
}

TEST_CASE("a nonlinear NETSOR-T program: derivative and Stein forms agree, and both agree with width 2048") {
  const Program p = compile(kTanhBackward);
  CHECK(limits::resolve_zdot_mode(p, ZDotMode::automatic) == ZDotMode::derivative);
  const auto d = limits::zdot_limit(p, small(ZDotMode::derivative));
  const auto s = limits::zdot_limit(p, small(ZDotMode::stein));
  const auto none = limits::zdot_limit(p, small(ZDotMode::none));
  limits::FiniteOptions fo;
  fo.width = 2048;
  fo.seeds = {1, 2, 3, 4, 5, 6};
  const auto fin = limits::run_finite(p, fo);
  bool none_differs = false;
  for (std::size_t j = 0; j < d.outputs.size(); ++j) {
    CAPTURE(d.names[j]);
    CAPTURE(d.outputs[j].value);
    CAPTURE(s.outputs[j].value);
    CAPTURE(fin.summary[j].value);
    CHECK(agree(d.outputs[j], s.outputs[j]));
    CHECK(agree(d.outputs[j], fin.summary[j]));
    CHECK(agree(s.outputs[j], fin.summary[j]));
    none_differs = none_differs || !agree(none.outputs[j], fin.summary[j], 10.0);
  }
  CHECK(none_differs);
  // Exact: Ẑ^h ~ N(0, σ²), Z^g = Ẑ^g + σ² Z^x E tanh'(Ẑ^h) with Ẑ^g ~ N(0, σ² E tanh²(Ẑ^h)).
  const double s2 = 1.5;
  const double t2 = tp::testing::simpson_gauss([](double z) { return std::tanh(z) * std::tanh(z); }, s2);
  const double dt = 1 - t2;  // E tanh' = E[1 − tanh²]
  const double gg = s2 * t2 + s2 * s2 * dt * dt;
  for (const auto* r : {&d, &s}) {
    CHECK(agree(r->outputs[0], gg));  // avg(g g)
    CHECK(agree(r->outputs[1], gg));  // avg(u tanh(h)) = avg(g g) at every width (u·tanh h = g·g)
    CHECK(agree(r->outputs[2], s2 * dt));
  }
}

TEST_CASE("step in a backward pass: Stein matches the exact limit and width 2048; derivative mode refuses") {
  const Program p = compile(kStep);
  const double inv = 1.0 / std::sqrt(2 * std::numbers::pi);
  const double xz = inv + 0.5;
  const double zz = 1 + 2 * inv + xz * xz;
  CHECK(limits::resolve_zdot_mode(p, ZDotMode::automatic) == ZDotMode::stein);
  const auto s = limits::zdot_limit(p, small(ZDotMode::stein));
  CHECK(agree(s.outputs[0], xz));
  CHECK(agree(s.outputs[1], zz));
  const auto a = limits::zdot_limit(p, small(ZDotMode::automatic));
  CHECK(a.outputs[0].value == s.outputs[0].value);
  CHECK(agree(s.outputs[0], finite(p, 2048, 6, 0)));
  CHECK_THROWS_WITH_AS(limits::zdot_limit(p, small(ZDotMode::derivative)),
                       doctest::Contains("applies step to an expression of 'h'"), limits::RouteUnavailable);
  CHECK_THROWS_WITH_AS(limits::resolve_zdot_mode(p, ZDotMode::derivative), doctest::Contains("Dirac delta"),
                       limits::RouteUnavailable);
  // relu alone is Lipschitz: the a.e. derivative is right and both forms give E[x z] = E step = 1/2.
  const Program relu = compile(R"(input x ~ N(0, 1)
matrix W ~ N(0, 1/n)
h = W x
z = W' relu(h)
output xz = avg(x * z)
)");
  CHECK(agree(limits::zdot_limit(relu, small(ZDotMode::derivative)).outputs[0], 0.5));
  CHECK(agree(limits::zdot_limit(relu, small(ZDotMode::stein)).outputs[0], 0.5));
}

TEST_CASE("width factors: n^(-1/2) terms vanish in the limit, n^(1/2) is refused with its line") {
  const Program p = compile(R"(input x ~ N(0, 1)
matrix W ~ N(0, 1/n)
y = W x
z = W' y
output a = avg(x * z) + n^(-1/2) * avg(z * z), b = n^0 * avg(z * z)
)");
  const auto r = limits::zdot_limit(p, small(ZDotMode::automatic));
  CHECK(agree(r.outputs[0], 1.0));
  CHECK(agree(r.outputs[1], 2.0));
  const Program q = compile(R"(input x ~ N(0, 1)
output a = n^(1/2) * avg(x * x)
)");
  CHECK_THROWS_WITH_AS(limits::zdot_limit(q, small(ZDotMode::automatic)), doctest::Contains("(line 2)"),
                       limits::RouteUnavailable);
}

TEST_CASE("the same seed gives bitwise the same result with 1 or 2 threads; another seed does not") {
  const Program p = compile(kTanhBackward);
  auto o = small(ZDotMode::derivative, 1 << 12);
  o.threads = 1;
  const auto a = limits::zdot_limit(p, o);
  o.threads = 2;
  const auto b = limits::zdot_limit(p, o);
  o.seed += 1;
  const auto c = limits::zdot_limit(p, o);
  for (std::size_t j = 0; j < a.outputs.size(); ++j) {
    CHECK(a.outputs[j].value == b.outputs[j].value);
    CHECK(a.outputs[j].error == b.outputs[j].error);
    CHECK(a.outputs[j].value != c.outputs[j].value);
  }
}

TEST_CASE("scrambled Sobol and pseudo-random sampling give the same limit (within errors)") {
  const Program p = compile(kTanhBackward);
  auto o = small(ZDotMode::derivative);
  o.sampling = limits::Sampling::pseudo;
  const auto pseudo = limits::zdot_limit(p, o);
  const auto sobol = limits::zdot_limit(p, small(ZDotMode::derivative));
  for (std::size_t j = 0; j < sobol.outputs.size(); ++j) {
    CHECK(agree(sobol.outputs[j], pseudo.outputs[j]));
    CHECK(sobol.outputs[j].error < pseudo.outputs[j].error);  // RQMC's variance reduction on a smooth program
  }
}

TEST_CASE("over the memory budget: BudgetError names the particle count and --particles") {
  const Program p = compile(kTanhBackward);
  auto o = small(ZDotMode::derivative, 1 << 20);
  // A budget the process already holds plus 1 MiB: the particle arrays are what does not fit.
  o.memory_budget_bytes = limits::resident_bytes() + (1 << 20);
  CHECK_THROWS_WITH_AS(limits::zdot_limit(p, o), doctest::Contains("1048576 particles"), BudgetError);
  CHECK_THROWS_WITH_AS(limits::zdot_limit(p, o), doctest::Contains("--particles"), BudgetError);
  CHECK(limits::zdot_memory_bytes(p, o) > 8.0 * (1 << 20) * 3);
}

TEST_CASE("the memory estimate counts what the process holds already (the program, the plan) beside the arrays") {
  const Program p = compile(kTanhBackward);
  auto o = small(ZDotMode::derivative, 2);
  const double held = limits::resident_bytes();
  REQUIRE(held > 0);  // Linux: /proc/self/statm
  CHECK(limits::zdot_memory_bytes(p, o) >= 0.9 * held);
  // A budget below what is held already: refused, and the message says that fewer particles would not help.
  o.memory_budget_bytes = held / 2;
  CHECK_THROWS_WITH_AS(limits::zdot_limit(p, o), doctest::Contains("held already by the program and its plan"), BudgetError);
  CHECK_THROWS_WITH_AS(limits::zdot_limit(p, o), doctest::Contains("alone exceed it"), BudgetError);
}

TEST_CASE("a NaN particle value throws NumericalError naming the value and its line") {
  const Program p = compile(R"(input x ~ N(0, 1)
matrix W ~ N(0, 1/n)
y = W x
q = log(W' y)
output a = avg(q * q)
)");
  CHECK_THROWS_WITH_AS(limits::zdot_limit(p, small(ZDotMode::automatic)), doctest::Contains("'q' (line 4)"),
                       NumericalError);
}

TEST_CASE("two layers forward, backward and forward again: both ZDot forms agree with width 2048") {
  // k1 = W1 (x + g1) needs ZDot through g1 = W1'(...), whose own ZDot runs through W2 and W2'.
  const Program p = compile(R"(input x ~ N(0, 1)
matrix W1 ~ N(0, 1/n)
matrix W2 ~ N(0, 1/n)
h1 = W1 x
h2 = W2 tanh(h1)
g2 = W2' tanh(h2)
g1 = W1' (g2 * (1 - tanh(h1)^2))
k1 = W1 (x + g1)
k2 = W2 tanh(k1)
output a = avg(tanh(k2) * tanh(h2)), b = avg(g1 * g1), c = avg(k2 * k2), d = avg(x * g1), e = avg(k1 * h1)
)");
  const auto d = limits::zdot_limit(p, small(ZDotMode::derivative));
  const auto s = limits::zdot_limit(p, small(ZDotMode::stein));
  limits::FiniteOptions fo;
  fo.width = 2048;
  fo.seeds = {1, 2, 3, 4, 5, 6};
  const auto fin = limits::run_finite(p, fo);
  for (std::size_t j = 0; j < d.outputs.size(); ++j) {
    CAPTURE(d.names[j]);
    CAPTURE(d.outputs[j].value);
    CAPTURE(s.outputs[j].value);
    CAPTURE(fin.summary[j].value);
    CHECK(agree(d.outputs[j], s.outputs[j]));
    CHECK(agree(d.outputs[j], fin.summary[j]));
    CHECK(agree(s.outputs[j], fin.summary[j]));
  }
}

// Issue 13.3: a moment estimated from the particles and fed back into them biases every replica by O(1/P). Here
// a = avg(y²) → 1 scales the vector sent back through W', so the exact limit (limits/linear_limit: o = 1, s = 1,
// q = 2) is known independently. Pseudo-random points, P = 64, 400 replicas: without the jackknife q comes out
// 2.41 ± 0.10 (4 standard errors high: E[(avg y²)² ...] carries +O(1/P)); with it every output is within 3
// printed standard errors (399 degrees of freedom), and so is the default (scrambled Sobol) run.
TEST_CASE("the two-half jackknife removes the O(1/P) bias of moments fed back into the particles (issue 13.3)") {
  const Program p = compile(R"(input x ~ N(0, 1)
matrix W ~ N(0, 1/n)
y = W x
a = avg(y * y)
u = a * y
z = W' u
output o = avg(z * x), s = a * a, q = avg(z * z)
)");
  const double exact[] = {1.0, 1.0, 2.0};
  const auto truth = limits::linear_limit(p).limit;
  for (std::size_t j = 0; j < 3; ++j) REQUIRE(truth.outputs[j].value == doctest::Approx(exact[j]).epsilon(1e-14));
  auto o = small(ZDotMode::automatic, 64);
  o.replicas = 400;
  o.sampling = limits::Sampling::pseudo;
  o.jackknife = false;
  const auto biased = limits::zdot_limit(p, o);
  CHECK(biased.outputs[2].value - exact[2] > 3.0 * biased.outputs[2].error);
  o.jackknife = true;
  const auto corrected = limits::zdot_limit(p, o);
  o.sampling = limits::Sampling::sobol;
  const auto sobol = limits::zdot_limit(p, o);
  for (std::size_t j = 0; j < 3; ++j) {
    CAPTURE(j);
    CHECK(std::abs(corrected.outputs[j].value - exact[j]) <= 3.0 * corrected.outputs[j].error);
    CHECK(std::abs(sobol.outputs[j].value - exact[j]) <= 3.0 * sobol.outputs[j].error);
    CHECK(sobol.outputs[j].error < corrected.outputs[j].error);
  }
}

// The Stein form factors the Gram matrix of a ZDot's terms incrementally, keeping the prefix shared with the
// previous ZDot (Replica::stein): terms interleaved with non-terms of the same family, a term whose Ẑ duplicates an
// earlier one (its pivot vanishes: a = 0), and ZDots whose terms share a prefix or start afresh. Randomized
// coefficients (printed on failure); the truth is the exact rational limit of the linear program.
TEST_CASE("Stein ZDot with interleaved non-terms, a duplicated Ẑ and shared term prefixes: randomized vs exact and derivative") {
  std::random_device device;
  const unsigned seed = device();
  std::mt19937 gen(seed);
  std::uniform_int_distribution<int> coef(-3, 3);
  auto k = [&] {
    int c = 0;
    while (c == 0) c = coef(gen);
    return std::to_string(c);
  };
  const std::string text = "input x ~ N(0, 1)\ninput u ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\na = W x\ne = W u\n"
                           "v = " + k() + " * x + " + k() + " * u\nb = W v\nd = W x\n"
                           "c = " + k() + " * a + " + k() + " * b + " + k() + " * d\nz = W' c\n"
                           "z2 = W' (c + " + k() + " * a)\nz3 = W' (" + k() + " * b + e)\n"
                           "output xz = avg(x * z), uz = avg(u * z), zz = avg(z * z), z23 = avg(z2 * z3), uz3 = avg(u * z3)\n";
  CAPTURE(seed);
  CAPTURE(text);
  const Program p = compile(text);
  const auto truth = limits::linear_limit(p).limit;
  const auto stein = limits::zdot_limit(p, small(ZDotMode::stein, 4096));
  const auto der = limits::zdot_limit(p, small(ZDotMode::derivative, 4096));
  REQUIRE(stein.outputs.size() == 5);
  for (std::size_t j = 0; j < 5; ++j) {
    CAPTURE(j);
    CAPTURE(truth.outputs[j].value);
    CAPTURE(stein.outputs[j].value);
    CAPTURE(stein.outputs[j].error);
    CAPTURE(der.outputs[j].value);
    CAPTURE(der.outputs[j].error);
    CHECK(agree(stein.outputs[j], truth.outputs[j].value));
    CHECK(agree(der.outputs[j], truth.outputs[j].value));
    CHECK(agree(stein.outputs[j], der.outputs[j]));
  }
}

// Derivative-form tangents are matrices whose columns an operand's tangent adds into as contiguous runs; here
// s's leaves {p, r} land in w's columns {p, q, r} as two runs (a gap at q), and t = W w, used only linearly in
// o = 2 a − (−t), is folded into o (its ZDot coefficient of a and o's own 2 are summed); the linear Nonlins'
// derivatives come from their coefficients (Add, Sub, Neg, Div by a number). Exact rational truth.
TEST_CASE("derivative ZDot: tangent columns with gaps and a MatMul folded into its linear user match the exact limit") {
  const Program p = compile(
      "input x ~ N(0, 1)\ninput u ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\na = W x\nb = W u\nc = W (x + u)\n"
      "p = W' a\nq = W' b\nr = W' c\ns = 2 * p + 3 * r\nw = s - q / 0.2\nt = W w\no = 2 * a - -t\nz = W' o\n"
      "output xz = avg(x * z), uz = avg(u * z), zz = avg(z * z), ww = avg(w * w), tt = avg(t * t), xt = avg(x * t)\n");
  const auto truth = limits::linear_limit(p).limit;
  const auto der = limits::zdot_limit(p, small(ZDotMode::derivative, 1024));
  REQUIRE(der.outputs.size() == 6);
  for (std::size_t j = 0; j < 6; ++j) {
    CAPTURE(j);
    CAPTURE(truth.outputs[j].value);
    CAPTURE(der.outputs[j].value);
    CAPTURE(der.outputs[j].error);
    CHECK(agree(der.outputs[j], truth.outputs[j].value));
  }
}

// The exact limit of linear NETSOR⊤ programs (limits/linear_limit.h): exact values derived by hand and
// from random-matrix theory (Catalan numbers), the one-hidden-layer linear µP limit of TP4 Thm D.1, a deep
// linear µP training program against finite width, refusals, and rational vs double arithmetic.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "frontend/sema.h"
#include "limits/finite.h"
#include "limits/gaussian_limit.h"
#include "limits/linear1_exact.h"
#include "limits/linear_limit.h"
#include "tp/builder.h"
#include "tp/errors.h"
#include "tests/compile_text.h"

using namespace tp;
using tp::testing::compile;

namespace {

std::string read_example(const char* name) {
  std::ifstream in(std::string(TPC_SOURCE_DIR) + "/examples/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// c0 * a + Σ_k coefficient_k * args: the expression Σ_k scale_k · Π (arguments of term k).
ExprPtr product(const std::vector<int>& args, double scale = 1.0) {
  ExprPtr e = constant(scale);
  for (int a : args) e = mul(e, argument(a));
  return e;
}

// Deep linear µP SGD on one data point (ξ, y), d = 1, L hidden layers, unrolled as a NETSOR⊤ program in the
// style of TP4 App. H.3 (every quantity Θ(1) in µP, so no width factors):
//   forward  h_1 = ξ u_t, h_{l+1} = W_{l,t} h_l, f_t = avg(v_t h_L), χ_t = f_t − y
//   backward dh_L = v_t, dh_l = W_{l,t}ᵀ dh_{l+1}
//   update   u_{t+1} = u_t − η χ_t ξ dh_1, v_{t+1} = v_t − η χ_t h_L, W_{l,t+1} = W_{l,t} − (η χ_t / n) dh_{l+1} h_lᵀ
// where W_{l,t} x = W_l x − η Σ_{s<t} χ_s avg(h_{l,s} x) dh_{l+1,s} (and the transpose likewise). This is SGD
// on f = vᵀ W_{L-1} ⋯ W_1 u ξ / n with u, v ~ N(0, 1), W ~ N(0, 1/n) and learning rates ηn, η, ηn.
// Outputs f_0 .. f_steps.
Program deep_linear_mup(int L, int steps, double xi, double y, double lr) {
  ProgramBuilder b;
  auto uv = b.add_inputs({"u", "v"}, Eigen::Matrix2d::Identity());
  std::vector<ValueId> W(L);
  for (int l = 1; l < L; ++l) W[l] = b.add_matrix("W" + std::to_string(l), 1.0);
  ValueId u = uv[0], v = uv[1];
  std::vector<std::vector<ValueId>> h(steps + 1, std::vector<ValueId>(L + 1)), dh = h;
  std::vector<ValueId> chi;
  // x_new = base − η Σ_s χ_s avg(hist_a[s] · x) hist_b[s]: the rank-one weight-update terms
  auto corrected = [&](const std::string& name, ValueId base, ValueId x, int t, const std::vector<std::vector<ValueId>>& hist_a, int la,
                       const std::vector<std::vector<ValueId>>& hist_b, int lb) {
    if (t == 0) return base;
    std::vector<ValueId> ops{base};
    ExprPtr e = argument(0);
    for (int s = 0; s < t; ++s) {
      ValueId m = b.add_moment(name + "_m" + std::to_string(s), product({0, 1}), {hist_a[s][la], x});
      const int k = static_cast<int>(ops.size());
      ops.insert(ops.end(), {chi[s], m, hist_b[s][lb]});
      e = sub(e, product({k, k + 1, k + 2}, lr));
    }
    return b.add_nonlin(name, e, ops);
  };
  for (int t = 0; t <= steps; ++t) {
    const std::string ts = "_" + std::to_string(t);
    h[t][1] = b.add_nonlin("h1" + ts, product({0}, xi), {u});
    for (int l = 1; l < L; ++l) {
      ValueId g = b.add_matmul("Wh" + std::to_string(l) + ts, W[l], h[t][l], false);
      h[t][l + 1] = corrected("h" + std::to_string(l + 1) + ts, g, h[t][l], t, h, l, dh, l + 1);
    }
    ValueId f = b.add_moment("f" + ts, product({0, 1}), {v, h[t][L]});
    b.add_output("f" + ts, f);
    if (t == steps) break;
    chi.push_back(b.add_scalar("chi" + ts, sub(argument(0), constant(y)), {f}));
    dh[t][L] = v;
    for (int l = L - 1; l >= 1; --l) {
      ValueId g = b.add_matmul("Wtdh" + std::to_string(l) + ts, W[l], dh[t][l + 1], true);
      dh[t][l] = corrected("dh" + std::to_string(l) + ts, g, dh[t][l + 1], t, dh, l + 1, h, l);
    }
    // u − η χ ξ dh_1 and v − η χ h_L, from the values of step t
    u = b.add_nonlin("u" + std::to_string(t + 1), sub(argument(0), product({1, 2}, lr * xi)), {u, chi[t], dh[t][1]});
    v = b.add_nonlin("v" + std::to_string(t + 1), sub(argument(0), product({1, 2}, lr)), {v, chi[t], h[t][L]});
  }
  return b.finish();
}

constexpr long long kCatalan[] = {1, 1, 2, 5, 14, 42, 132, 429, 1430};

}  // namespace

TEST_CASE("linear limit: examples/transpose.tp is exactly 1 and 2, and 2 and 8 with sigma^2 = 2") {
  const std::string text = read_example("transpose.tp");
  auto r = limits::linear_limit(compile(text));
  REQUIRE(r.exact_arithmetic);
  CHECK(r.exact_values == std::vector<std::string>{"1", "2"});
  CHECK(r.limit.outputs[0].error == 0.0);
  CHECK(r.limit.outputs[1].route == limits::Route::exact);
  // σ² = 2: Z^y = Ẑ^y with E y² = σ² E x² = 2; Z^z = Ẑ^z + σ² Z^x (ZDot) with E (Ẑ^z)² = σ² E y² = 4.
  // So E[x z] = σ² = 2 and E[z²] = 4 + σ⁴ = 8 (W'W = 2 W0'W0: 2·1 and 4·2 from the σ² = 1 values).
  std::string text2 = text;
  const auto pos = text2.find("N(0, 1/n)");
  REQUIRE(pos != std::string::npos);
  text2.replace(pos, 9, "N(0, 2/n)");
  auto r2 = limits::linear_limit(compile(text2));
  REQUIRE(r2.exact_arithmetic);
  CHECK(r2.exact_values == std::vector<std::string>{"2", "8"});
}

TEST_CASE("linear limit: moments of (W'W)^k x are the Catalan numbers (Marchenko-Pastur, ratio 1), exactly") {
  ProgramBuilder b;
  ValueId x = b.add_inputs({"x"}, Eigen::MatrixXd::Identity(1, 1))[0];
  ValueId W = b.add_matrix("W", 1.0);
  ValueId z = x;
  for (int k = 1; k <= 8; ++k) {
    ValueId y = b.add_matmul("y" + std::to_string(k), W, z, false);
    z = b.add_matmul("z" + std::to_string(k), W, y, true);
    b.add_output("xz" + std::to_string(k), b.add_moment("xz" + std::to_string(k), product({0, 1}), {x, z}));
    if (k <= 4) b.add_output("zz" + std::to_string(k), b.add_moment("zz" + std::to_string(k), product({0, 0}), {z}));
  }
  const Program p = b.finish();
  auto r = limits::linear_limit(p);
  REQUIRE(r.exact_arithmetic);
  std::size_t i = 0;
  for (int k = 1; k <= 8; ++k) {
    CAPTURE(k);
    CHECK(r.exact_values[i++] == std::to_string(kCatalan[k]));          // E[x (W'W)^k x] = C_k
    if (k <= 4) CHECK(r.exact_values[i++] == std::to_string(kCatalan[2 * k]));  // E[|(W'W)^k x|²] = C_2k
  }
  // double arithmetic agrees, and its error estimate covers the actual error
  auto d = limits::linear_limit(p, {.exact = false});
  CHECK_FALSE(d.exact_arithmetic);
  for (std::size_t j = 0; j < r.limit.outputs.size(); ++j) {
    CHECK(d.limit.outputs[j].value == doctest::Approx(r.limit.outputs[j].value).epsilon(1e-12));
    CHECK(std::abs(d.limit.outputs[j].value - r.limit.outputs[j].value) <= d.limit.outputs[j].error);
  }
}

TEST_CASE("linear limit: a linear NETSOR program agrees with the Gaussian-integration route") {
  const Program p = compile(R"(input x1, x2 ~ N(0, [[1, 0.6], [0.6, 2]])
matrix W ~ N(0, 3/n)
g1 = W x1
g2 = W (x2 - 0.5 * x1)
output k = avg(g1 * g2), q = avg((g1 + 1) * (g2 + 2)), m = avg(g1 + x2 + 0.25)
)");
  auto r = limits::linear_limit(p);
  REQUIRE(r.exact_arithmetic);
  // k = 3 (E x1 x2 − 0.5 E x1²) = 3 (0.6 − 0.5) = 3/10; q = k + 2; m = 1/4 (means are zero)
  CHECK(r.exact_values == std::vector<std::string>{"3/10", "23/10", "1/4"});
  auto g = limits::gaussian_limit(p);
  for (std::size_t i = 0; i < 3; ++i) CHECK(r.limit.outputs[i].value == doctest::Approx(g.outputs[i].value).epsilon(1e-12));
}

TEST_CASE("linear limit: one hidden layer (L = 1) equals linear1_exact (TP4 Thm D.1) exactly") {
  const Program p = deep_linear_mup(1, 4, 0.5, 1.0, 0.1);
  auto r = limits::linear_limit(p);
  REQUIRE(r.exact_arithmetic);
  auto ref = limits::linear1_exact({{Rational(1, 2)}}, {Rational(1)}, Rational(1, 10), 4);
  REQUIRE(r.exact_values.size() == 5);
  for (int t = 0; t <= 4; ++t) {
    CAPTURE(t);
    CHECK(r.exact_values[t] == to_string(ref[t][0]));
  }
  CHECK(r.exact_values[1] != "0");  // the check is not vacuous: training moved f
}

TEST_CASE("linear limit: deep linear muP (L = 2, two SGD steps) is exact and matches finite width") {
  const Program p = deep_linear_mup(2, 2, 1.0, 1.0, 0.5);
  REQUIRE(p.uses_transpose());
  auto r = limits::linear_limit(p);
  REQUIRE(r.exact_arithmetic);
  // By hand (ξ = 1, η = 1/2): f_0 = 0, χ_0 = −1; dh1_0 = Ẑ^{W'v} =: b, h2_0 = Ẑ^{W h1_0} =: a;
  // u_1 = u + ηb, v_1 = v + ηa; W h1_1 = Ẑ' + ηv (ZDot: h1_1 has coefficient η on b = Ẑ^{W'v}), and the
  // rank-one update adds η avg(h1_0 h1_1) v = ηv; so f_1 = E[(v + ηa)(Ẑ' + 2ηv)] = 2η + η E[aẐ'] = 3η = 3/2.
  CHECK(r.exact_values[0] == "0");
  CHECK(r.exact_values[1] == "3/2");
  CHECK(r.exact_values[2] == "103/256");  // pinned; checked against finite width below
  std::vector<double> rms;
  for (std::size_t n : {1024u, 2048u}) {
    limits::FiniteOptions o;
    o.width = n;
    o.seeds.clear();
    for (std::uint64_t s = 0; s < 16; ++s) o.seeds.push_back(500 + s);
    auto fin = limits::run_finite(p, o);
    double sq = 0;
    for (std::size_t i = 0; i < r.limit.outputs.size(); ++i) {
      const double lim = r.limit.outputs[i].value;
      CAPTURE(n);
      CAPTURE(i);
      CAPTURE(fin.summary[i].value);
      CAPTURE(fin.summary[i].error);
      CHECK(std::abs(fin.summary[i].value - lim) < 4 * fin.summary[i].error);
      for (const auto& s : fin.per_seed) sq += (s.values[i] - lim) * (s.values[i] - lim);
    }
    rms.push_back(std::sqrt(sq / (fin.per_seed.size() * r.limit.outputs.size())));
  }
  INFO("RMS deviation from the limit: n=1024 ", rms[0], ", n=2048 ", rms[1]);
  CHECK(rms[1] < rms[0]);
}

TEST_CASE("linear limit: non-linear programs and growing width factors are refused with the reason") {
  std::string why;
  const Program tanh_prog = compile("input x ~ N(0, 1)\nmatrix W ~ N(0, 1/n)\nh = W x\ny = tanh(h)\noutput k = avg(y * y)\n");
  CHECK_FALSE(limits::is_linear_program(tanh_prog, &why));
  CHECK(why.find("'y' (line 4)") != std::string::npos);
  CHECK(why.find("not affine") != std::string::npos);
  CHECK_THROWS_AS(limits::linear_limit(tanh_prog), limits::RouteUnavailable);
  try {
    limits::linear_limit(tanh_prog);
  } catch (const limits::RouteUnavailable& e) {
    CHECK(std::string(e.what()).find("Monte Carlo") != std::string::npos);
  }
  // step(x) has derivative 0 but is not affine
  CHECK_FALSE(limits::is_linear_program(compile("input x ~ N(0, 1)\ny = step(x)\noutput k = avg(y * x)\n"), &why));
  CHECK(why.find("'y'") != std::string::npos);
  // a cubic moment
  CHECK_FALSE(limits::is_linear_program(compile("input x ~ N(0, 1)\noutput k = avg(x * x * x)\n"), &why));
  CHECK(why.find("degree <= 2") != std::string::npos);
  // a quadratic Nonlin
  CHECK_FALSE(limits::is_linear_program(compile("input x ~ N(0, 1)\ny = x * x\noutput k = avg(y)\n"), &why));
  // scalar coefficients of any kind are fine: moments, functions of scalars, n^(-1/2)
  const Program ok = compile("input x ~ N(0, 1)\nc = avg(x * x) + 1\ny = (c / 4) * x + n^(-1/2) * x\noutput k = avg(y * y)\n");
  CHECK(limits::is_linear_program(ok));
  CHECK(limits::linear_limit(ok).exact_values == std::vector<std::string>{"1/4"});
  const Program grows = compile("input x ~ N(0, 1)\ny = n^(1/2) * x\noutput k = avg(y * x)\n");
  CHECK_THROWS_AS(limits::linear_limit(grows), limits::RouteUnavailable);
}

TEST_CASE("linear limit: rational and double agree; non-rational constants fall back to double with a note") {
  const Program p = deep_linear_mup(3, 3, 1.0, 0.75, 0.3);
  auto exact = limits::linear_limit(p);
  auto dbl = limits::linear_limit(p, {.exact = false});
  REQUIRE(exact.exact_arithmetic);
  REQUIRE_FALSE(dbl.exact_arithmetic);
  for (std::size_t i = 0; i < exact.limit.outputs.size(); ++i) {
    CAPTURE(exact.exact_values[i]);
    CHECK(dbl.limit.outputs[i].value == doctest::Approx(exact.limit.outputs[i].value).epsilon(1e-12));
    CHECK(std::abs(dbl.limit.outputs[i].value - exact.limit.outputs[i].value) <= dbl.limit.outputs[i].error);
  }
  // σ² = sqrt(2) and a tanh of a scalar: no exact value, double with an honest note
  auto r = limits::linear_limit(compile("input x ~ N(0, 1)\nmatrix W ~ N(0, sqrt(2)/n)\nh = W x\n"
                                        "output k = avg(h * h)\noutput j = avg(tanh(1) * x * x)\n"));
  CHECK_FALSE(r.exact_arithmetic);
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("matrix 'W'") != std::string::npos);
  CHECK(r.limit.outputs[0].value == doctest::Approx(std::sqrt(2.0)).epsilon(1e-15));
  CHECK(r.limit.outputs[1].value == doctest::Approx(std::tanh(1.0)).epsilon(1e-15));
  CHECK(r.limit.outputs[0].error < 1e-14);
  // a division by a limit that is 0
  CHECK_THROWS_AS(limits::linear_limit(compile("input x ~ N(0, 1)\nc = n^(-1)\ny = x / c\noutput k = avg(y * x)\n")), NumericalError);
}

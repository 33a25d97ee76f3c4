// tp::program_sizes (issue #13 item 12): the width exponent of every value of a level-1 program by propagation,
//  * exact cases written by hand (a transpose program, a width factor that makes a value grow, a mean-zero
//    average, a correlated average);
//  * the unrolled training programs of µP, NTP and MFP MLPs against TP4's closed form (tp::classify_mlp, §3 and
//    App. H): the exponent of every f_t output equals that of f_0 (t = 0) or max(f_0, Δf) (t ≥ 1), and SP with
//    c = 0 (unstable, Thm 3.3) has values that grow with n.
#include <doctest/doctest.h>

#include "frontend/diagnostics.h"
#include "frontend/sema.h"
#include "tp/mlp_phase.h"
#include "tp/program_sizes.h"
#include "tp/unroll.h"
#include "tests/compile_text.h"

using namespace tp;
using tp::testing::compile;

namespace {

SizeExp size_of(const Program& p, const std::vector<ValueSize>& s, const std::string& name) {
  const ValueId id = p.find(name);
  REQUIRE(id >= 0);
  return s[static_cast<std::size_t>(id)].exponent;
}

Rational closed(const MlpPhase& ph, const std::string& quantity) {
  for (const auto& e : ph.exponents)
    if (e.quantity == quantity) return e.exponent;
  FAIL("no exponent " << quantity);
  return 0;
}

}  // namespace

TEST_CASE("program_sizes: MatMul keeps the size, W'W x correlates with x, a width factor makes values grow") {
  const Program p = compile(
      "input x, v ~ N(0, [[1, 0], [0, 1]])\nmatrix W ~ N(0, 1/n)\n"
      "y = W x\nz = W' y\nh = n^(1/2) * W tanh(x)\n"
      "output xz = avg(x * z)\noutput vy = avg(v * tanh(y))\noutput yy = avg(y * y)\noutput hh = avg(h * h)\n"
      "output small = n^(-1) * avg(y * y)\n");
  const auto s = program_sizes(p);
  CHECK(size_of(p, s, "y") == Rational(0));
  CHECK(size_of(p, s, "z") == Rational(0));
  CHECK(size_of(p, s, "h") == Rational(1, 2));
  CHECK(size_of(p, s, "xz") == Rational(0));         // E[x · (Ẑ + x)] = 1: correlated through ZDot
  CHECK(size_of(p, s, "vy") == Rational(-1, 2));     // v independent of W x, tanh odd: CLT
  CHECK(s[static_cast<std::size_t>(p.find("vy"))].mean_zero);
  CHECK(size_of(p, s, "yy") == Rational(0));
  CHECK(size_of(p, s, "hh") == Rational(1));
  CHECK(size_of(p, s, "small") == Rational(-1));
}

TEST_CASE("program_sizes on unrolled MLP training agrees with TP4's closed form for f_t (µP, NTP, MFP)") {
  struct Case {
    const char* preset;
    int depth;
    Function act;
  };
  for (const Case c : {Case{"mup", 1, Function::tanh}, Case{"mup", 2, Function::tanh}, Case{"mup", 2, Function::relu},
                       Case{"ntp", 2, Function::relu}, Case{"ntp", 1, Function::tanh}, Case{"mfp", 1, Function::tanh}}) {
    CAPTURE(c.preset);
    CAPTURE(c.depth);
    NetworkSpec s;
    s.depth = c.depth;
    s.input_dim = 2;
    s.activation = call(c.act, argument(0));
    s.abc = preset(c.preset, c.depth);
    s.steps = 2;
    s.train_x.resize(2, 2);
    s.train_x << 1, 0.5, -0.5, 1;
    s.train_y.resize(2, 1);
    s.train_y << 1, -1;
    const UnrolledProgram up = unroll(s);
    const MlpPhase ph = classify_mlp(s.abc);
    REQUIRE(ph.stable);
    const auto sizes = program_sizes(up.program);
    for (std::size_t o = 0; o < up.outputs.size(); ++o) {
      const UnrolledOutput& u = up.outputs[o];
      if (u.kind != UnrolledOutput::Kind::f) continue;
      CAPTURE(u.step);
      const Rational expected =
          u.step == 0 ? closed(ph, "f_0") : std::max(closed(ph, "f_0"), closed(ph, u.step == 1 ? "Δf_1" : "Δf_t"));
      const ValueSize& v = sizes[static_cast<std::size_t>(up.program.outputs()[o].value)];
      REQUIRE(v.exponent);
      CHECK(*v.exponent == expected);
    }
    for (std::size_t i = 0; i < up.program.size(); ++i)
      if (up.program.values()[i].op != Op::WidthPower && sizes[i].exponent) CHECK(*sizes[i].exponent <= 0);
  }
}

TEST_CASE("program_sizes flags growing values in the unrolled program of SP with c = 0 (unstable, TP4 Thm 3.3)") {
  NetworkSpec s;
  s.depth = 2;
  s.input_dim = 2;
  s.activation = call(Function::tanh, argument(0));
  s.abc = preset("sp", 2);
  s.steps = 2;
  s.train_x.resize(2, 2);
  s.train_x << 1, 0.5, -0.5, 1;
  s.train_y.resize(2, 1);
  s.train_y << 1, -1;
  REQUIRE_FALSE(classify_mlp(s.abc).stable);
  const UnrolledProgram up = unroll(s);
  const auto sizes = program_sizes(up.program);
  int growing = 0;
  for (std::size_t i = 0; i < up.program.size(); ++i)
    if (up.program.values()[i].op != Op::WidthPower && sizes[i].exponent && *sizes[i].exponent > 0) ++growing;
  CHECK(growing > 0);
}

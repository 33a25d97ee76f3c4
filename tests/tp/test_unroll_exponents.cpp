// The two derivation routes of the phase compiler agree: the size exponents propagated op by op through the
// unrolled training program (tp::unroll, tp/size_exponent.h rules) equal TP4's closed form
// (tp::classify_mlp) for the presets and for random stable parametrizations, entry by entry.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "tp/unroll.h"

using namespace tp;

namespace {

NetworkSpec spec_for(AbcParametrization abc, ExprPtr act) {
  NetworkSpec s;
  s.depth = abc.depth();
  s.input_dim = 2;
  s.activation = std::move(act);
  s.abc = std::move(abc);
  s.steps = 2;
  s.train_x.resize(2, 2);
  s.train_x << 1, 0.5, -0.3, 1;
  s.train_y.resize(2, 1);
  s.train_y << 1, -1;
  return s;
}

// Returns the number of quantities compared (first_step_only: the closed form predicts only step 1).
int agree(const AbcParametrization& abc, const ExprPtr& act, bool first_step_only = false) {
  const MlpPhase phase = classify_mlp(abc);
  const UnrolledProgram up = unroll(spec_for(abc, act));
  REQUIRE(up.exponents_unavailable.empty());
  std::map<std::string, Rational> closed;
  for (const auto& e : phase.exponents) closed[e.quantity] = e.exponent;
  int compared = 0;
  for (const auto& e : up.exponents) {
    auto it = closed.find(e.quantity);
    if (it == closed.end()) continue;
    if (first_step_only && e.quantity.size() > 2 && e.quantity.substr(e.quantity.size() - 2) == "_t") continue;
    CAPTURE(e.quantity);
    CAPTURE(to_string(e.exponent));
    CAPTURE(to_string(it->second));
    CHECK(e.exponent == it->second);
    ++compared;
  }
  return compared;
}

}  // namespace

TEST_CASE("exponent routes agree on the TP4 presets") {
  for (int L : {1, 2, 3})
    for (const char* name : {"mup", "ntp", "sp"}) {
      auto p = preset(name, L);
      if (std::string(name) == "sp") p.c = 1;
      CAPTURE(name);
      CAPTURE(L);
      const int n = agree(p, call(Function::tanh, argument(0)));
      CHECK(n == 3 * L + 3);  // h^l_0, f_0, Δh^l_1, Δf_1, Δh^l_t, Δf_t
      agree(p, call(Function::relu, argument(0)));
    }
  agree(preset("mfp", 1), call(Function::tanh, argument(0)));
}

TEST_CASE("exponent routes agree on random stable parametrizations") {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> q(-4, 4), depth(1, 3);
  int tried = 0, compared = 0;
  for (int k = 0; k < 300 && tried < 60; ++k) {
    const int L = depth(rng);
    AbcParametrization p;
    p.a.resize(L + 1);
    p.b.resize(L + 1);
    for (int l = 0; l <= L; ++l) p.a[l] = Rational(q(rng), 4);
    // Stable initialization: a_1 + b_1 = 0, a_l + b_l = 1/2, a_{L+1} + b_{L+1} >= 1/2.
    p.b[0] = -p.a[0];
    for (int l = 1; l < L; ++l) p.b[l] = Rational(1, 2) - p.a[l];
    p.b[L] = Rational(1, 2) + Rational(std::abs(q(rng)), 4) - p.a[L];
    p.c = Rational(q(rng), 4);
    const MlpPhase phase = classify_mlp(p);
    if (!phase.stable) continue;
    ++tried;
    CAPTURE(tried);
    compared += agree(p, call(Function::tanh, argument(0)));
  }
  CHECK(tried >= 30);
  CHECK(compared > 100);
}

TEST_CASE("exponent routes agree on the first step of unstable SP (c = 0), where features blow up") {
  for (int L : {1, 2, 3}) {
    CAPTURE(L);
    const auto p = preset("sp", L);
    REQUIRE_FALSE(classify_mlp(p).stable);
    CHECK(agree(p, call(Function::relu, argument(0)), true) == 2 * L + 2);
  }
}

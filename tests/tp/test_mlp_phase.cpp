// The TP4 phase of MLPs: Table 1, Eq. 5 invariance over many random parametrizations, the free-exponent
// regions against pointwise classification, and the verdicts of Thm 3.3-3.6, Prop 5.3/5.5, Thm H.13.
#include <doctest/doctest.h>

#include <random>
#include <set>

#include "tp/phase_region.h"

using namespace tp;

namespace {

Rational q(long long p, long long d = 1) { return Rational(p, d); }

std::set<std::string> reason_keys(const MlpPhase& ph) {
  std::set<std::string> k;
  for (const auto& i : ph.instabilities) k.insert(i.key);
  return k;
}

// Every field of a verdict that must be invariant under Eq. 5.
std::string verdict(const MlpPhase& ph) {
  std::string s(regime_name(ph.regime));
  s += "|r=" + to_string(ph.r);
  for (const auto& x : ph.r_l) s += "," + to_string(x);
  for (const auto& k : reason_keys(ph)) s += "|" + k;
  for (bool b : ph.feature_learning_by_layer) s += b ? "F" : "f";
  for (bool b : ph.updated_maximally) s += b ? "U" : "u";
  s += ph.readout_initialized_maximally ? "I" : "i";
  s += ph.nngp_limit ? "N" : "n";
  s += ph.f0_nonzero_gp ? "G" : "g";
  s += ph.nontrivial ? "T" : "t";
  for (const auto& e : ph.exponents) s += "|" + e.quantity + "=" + to_string(e.exponent);
  return s;
}

}  // namespace

TEST_CASE("TP4 Table 1: r and regime of SP (c = 1), NTP, MFP and muP") {
  for (int L = 1; L <= 5; ++L) {
    CAPTURE(L);
    auto sp = preset("sp", L);
    sp.c = 1;
    const MlpPhase s = classify_mlp(sp);
    CHECK(s.r == (L == 1 ? q(3, 2) : q(1, 2)));
    CHECK(s.regime == Regime::kernel);
    const MlpPhase n = classify_mlp(preset("ntp", L));
    CHECK(n.r == q(1, 2));
    CHECK(n.regime == Regime::kernel);
    CHECK(n.f0_nonzero_gp);
    const MlpPhase m = classify_mlp(preset("mup", L));
    CHECK(m.r == 0);
    CHECK(m.regime == Regime::feature_learning);
    CHECK_FALSE(m.f0_nonzero_gp);
    CHECK(m.readout_initialized_maximally);
    for (bool b : m.updated_maximally) CHECK(b);
    for (bool b : m.feature_learning_by_layer) CHECK(b);
  }
  const MlpPhase mf = classify_mlp(preset("mfp", 1));
  CHECK(mf.r == 0);
  CHECK(mf.regime == Regime::feature_learning);
  CHECK_THROWS_AS(preset("mfp", 2), std::invalid_argument);
  CHECK_THROWS_AS(preset("xp", 2), std::invalid_argument);
}

TEST_CASE("SP with a constant learning rate (c = 0) is unstable, and every violated condition is listed") {
  const MlpPhase deep = classify_mlp(preset("sp", 3));
  CHECK_FALSE(deep.stable);
  CHECK(reason_keys(deep) == std::set<std::string>{"r<0", "2a_out+c<1", "a_out+b_out+r<1"});
  const MlpPhase shallow = classify_mlp(preset("sp", 1));
  CHECK(reason_keys(shallow) == std::set<std::string>{"2a_out+c<1", "a_out+b_out+r<1"});
  AbcParametrization bad = preset("mup", 3);
  bad.b[0] = 0;  // a_1 + b_1 = -1/2
  bad.b[2] = 1;  // a_3 + b_3 = 1
  const MlpPhase b = classify_mlp(bad);
  int init = 0;
  for (const auto& i : b.instabilities) init += i.key == "init";
  CHECK(init == 2);
}

TEST_CASE("the NNGP limit, feature learning in the top layer only, and maximal updates") {
  AbcParametrization nngp = preset("ntp", 2);
  nngp.b[2] = q(1, 2);  // a_3 + b_3 = 1, 2a_3 + c = 1, r = 1
  const MlpPhase g = classify_mlp(nngp);
  CHECK(g.regime == Regime::kernel);
  CHECK(g.nngp_limit);
  CHECK_FALSE(g.f0_nonzero_gp);
  AbcParametrization top = preset("mup", 2);
  top.a[0] = 0;
  top.b[0] = 0;  // layer 1 now has 2a_1 + 1 = 1 > 0
  const MlpPhase t = classify_mlp(top);
  CHECK(t.regime == Regime::feature_learning);
  CHECK(t.r_l == std::vector<Rational>{q(1), q(0)});
  CHECK(t.feature_learning_by_layer == std::vector<bool>{false, true});
  CHECK(t.updated_maximally == std::vector<bool>{false, true, true});
}

TEST_CASE("every verdict is invariant under a + theta, b - theta, c - 2 theta (TP4 Eq. 5)") {
  std::mt19937_64 rng(2021);
  std::uniform_int_distribution<int> num(-6, 6), den(1, 4), depth(1, 4);
  std::set<std::string> regimes;
  for (int trial = 0; trial < 400; ++trial) {
    const int L = depth(rng);
    // start from a random preset and perturb some exponents so all regimes occur
    AbcParametrization p = preset(trial % 3 == 0 ? "mup" : trial % 3 == 1 ? "ntp" : "sp", L);
    if (trial % 2) p.c = q(num(rng), 2);
    if (trial % 5 == 0) p.b[L] += q(num(rng), 4);
    if (trial % 7 == 0) p.a[0] += q(num(rng), den(rng));
    const MlpPhase base = classify_mlp(p);
    regimes.insert(std::string(regime_name(base.regime)));
    for (int k = 0; k < 5; ++k) {
      const Rational theta(num(rng), den(rng));
      CHECK(verdict(classify_mlp(shift(p, theta))) == verdict(base));
    }
  }
  CHECK(regimes.size() == 4);
}

TEST_CASE("SP with c free: unstable below 1, kernel at c = 1, trivial above") {
  auto regions = phase_regions(preset("sp", 2), FreeExponent{});
  REQUIRE(regions.size() == 4);
  CHECK(regions[0].condition == "c < 1/2");
  CHECK(regions[1].condition == "1/2 <= c < 1");
  CHECK(regions[0].phase.regime == Regime::unstable);
  CHECK(regions[1].phase.regime == Regime::unstable);
  CHECK(regions[2].condition == "c = 1");
  CHECK(regions[2].phase.regime == Regime::kernel);
  CHECK(regions[3].condition == "c > 1");
  CHECK(regions[3].phase.regime == Regime::trivial);
}

TEST_CASE("free-exponent regions agree with pointwise classification at random rationals") {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> num(-12, 12), den(1, 6), depth(1, 3);
  for (int trial = 0; trial < 60; ++trial) {
    const int L = depth(rng);
    AbcParametrization p = preset(trial % 2 ? "mup" : "ntp", L);
    FreeExponent f;
    const int which = trial % 3;
    f.kind = which == 0 ? FreeExponent::C : which == 1 ? FreeExponent::A : FreeExponent::B;
    f.layer = which == 0 ? 0 : 1 + trial % (L + 1);
    const auto regions = phase_regions(p, f);
    for (int k = 0; k < 20; ++k) {
      const Rational s(num(rng), den(rng));
      const MlpPhase direct = classify_mlp(with_value(p, f, s));
      int found = 0;
      for (const auto& r : regions) {
        const bool above = !r.lo || s > *r.lo || (r.lo_closed && s == *r.lo);
        const bool below = !r.hi || s < *r.hi || (r.hi_closed && s == *r.hi);
        if (above && below) {
          ++found;
          CHECK(r.phase.regime == direct.regime);
          CHECK(reason_keys(r.phase) == reason_keys(direct));
        }
      }
      CHECK(found == 1);
    }
  }
}

TEST_CASE("SP with c free: r = c - 1/2 above c = 1, as TP4's closed form gives (issue 13.9)") {
  // TP4 Def. 3.2 (SP, L = 3: a = 0, b = (0, 1/2, 1/2, 1/2)): r = min(a_4 + b_4, 2a_4 + c) + c − 1 + min_l(2a_l + [l = 1])
  // = min(1/2, c) + c − 1 + 0 = c − 1/2 for c ≥ 1/2. Before: one r per region, "c > 1 trivial r = 3/2".
  const auto regions = phase_regions(preset("sp", 3), FreeExponent{});
  REQUIRE(regions.size() == 4);
  REQUIRE(regions[3].stretches.size() == 1);
  const AffineStretch& st = regions[3].stretches[0];
  CHECK(st.condition == "c > 1");
  CHECK(st.r.text("c") == "c - 1/2");
  for (const Rational c : {q(3, 2), q(2), q(7)}) CHECK(st.r.at(c) == std::min(q(1, 2), c) + c - 1);
  CHECK(regions[2].stretches[0].r.text("c") == "1/2");
}

TEST_CASE("affine stretches: r and every exponent equal the pointwise classification at random rationals") {
  std::mt19937_64 rng(13);
  std::uniform_int_distribution<int> num(-12, 12), den(1, 6), depth(1, 3);
  for (int trial = 0; trial < 60; ++trial) {
    const int L = depth(rng);
    AbcParametrization p = preset(trial % 3 == 0 ? "mup" : trial % 3 == 1 ? "ntp" : "sp", L);
    FreeExponent f;
    const int which = trial % 3;
    f.kind = which == 0 ? FreeExponent::C : which == 1 ? FreeExponent::A : FreeExponent::B;
    f.layer = which == 0 ? 0 : 1 + trial % (L + 1);
    const auto regions = phase_regions(p, f);
    for (int k = 0; k < 20; ++k) {
      const Rational s(num(rng), den(rng));
      const MlpPhase direct = classify_mlp(with_value(p, f, s));
      int found = 0;
      for (const auto& r : regions)
        for (const auto& st : r.stretches) {
          const bool above = !st.lo || s > *st.lo || (st.lo_closed && s == *st.lo);
          const bool below = !st.hi || s < *st.hi || (st.hi_closed && s == *st.hi);
          if (!above || !below) continue;
          ++found;
          CHECK(st.r.affine);
          CHECK(st.r.at(s) == direct.r);
          REQUIRE(st.exponents.size() == direct.exponents.size());
          for (std::size_t i = 0; i < st.exponents.size(); ++i) CHECK(st.exponents[i].at(s) == direct.exponents[i].exponent);
        }
      CHECK(found == 1);
    }
  }
}

TEST_CASE("exact rationals parse from fractions and decimals") {
  CHECK(parse_rational("-1/2") == q(-1, 2));
  CHECK(parse_rational(" 0.25 ") == q(1, 4));
  CHECK(parse_rational("-.5") == q(-1, 2));
  CHECK(parse_rational("3") == q(3));
  CHECK_FALSE(parse_rational("1/0"));
  CHECK_FALSE(parse_rational("abc"));
  CHECK_FALSE(parse_rational("1e3"));
  CHECK(to_string(*parse_rational("6/-4")) == "-3/2");
}

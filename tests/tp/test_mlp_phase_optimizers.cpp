// Per-layer learning rates (SGD, TP4 with c replaced layer-wise) and entrywise optimizers (Adam, SignSGD,
// TP4b): reduction to TP4 for c_l = c, the per-layer symmetries of each optimizer over many random θ, the µP
// columns of TP5 Tables 3, 8, 9, SP and NTK with Adam, and free-exponent regions for every optimizer.
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

// Every field of a verdict that a symmetry must leave unchanged.
std::string verdict(const MlpPhase& ph) {
  std::string s(regime_name(ph.regime));
  s += "|r=" + to_string(ph.r) + "|g=" + to_string(ph.g);
  for (const auto& x : ph.r_l) s += "," + to_string(x);
  for (const auto& x : ph.u_l) s += ";" + to_string(x);
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

// A random parametrization from a preset with perturbed exponents, per-layer c_l and the given optimizer,
// so that every regime occurs.
AbcParametrization random_parametrization(std::mt19937_64& rng, int trial, Optimizer o) {
  std::uniform_int_distribution<int> num(-6, 6), den(1, 4), depth(1, 4), coin(0, 3);
  const int L = depth(rng);
  AbcParametrization p = preset(trial % 3 == 0 ? "mup" : trial % 3 == 1 ? "ntp" : "sp", L);
  p.optimizer = o;
  if (trial % 2) p.c = q(num(rng), 2);
  if (trial % 5 == 0) p.b[L] += q(num(rng), 4);
  if (trial % 7 == 0) p.a[0] += q(num(rng), den(rng));
  if (coin(rng) > 0) {
    p.c_l.assign(L + 1, p.c);
    for (auto& c : p.c_l)
      if (coin(rng) == 0) c += q(num(rng), 2);
  }
  return p;
}

// All layers' learning rates equal: the layer-wise formulas must give TP4's closed form, written out here
// independently: r_l = min(a_{L+1}+b_{L+1}, 2a_{L+1}+c) + c − 1 + 2a_l + [l=1] (Def. 3.2, §5).
Rational tp4_r_l(const AbcParametrization& p, int l) {
  const int L = p.depth();
  return std::min(p.a[L] + p.b[L], 2 * p.a[L] + p.c) + p.c - 1 + 2 * p.a[l - 1] + (l == 1 ? 1 : 0);
}

}  // namespace

TEST_CASE("SGD with c_l = c for every layer reduces exactly to TP4's global-c classification") {
  std::mt19937_64 rng(11);
  std::set<std::string> regimes;
  for (int trial = 0; trial < 300; ++trial) {
    AbcParametrization p = random_parametrization(rng, trial, Optimizer::sgd);
    p.c_l.clear();
    AbcParametrization per_layer = p;
    per_layer.c_l.assign(p.a.size(), p.c);
    const MlpPhase global = classify_mlp(p), layered = classify_mlp(per_layer);
    regimes.insert(std::string(regime_name(global.regime)));
    CHECK(verdict(layered) == verdict(global));
    for (int l = 1; l <= p.depth(); ++l) CHECK(global.r_l[l - 1] == tp4_r_l(p, l));
  }
  CHECK(regimes.size() == 4);
}

TEST_CASE("SGD with per-layer c_l: r_l uses the readout's c_{L+1} in the backward part and c_l in the update") {
  std::mt19937_64 rng(12);
  std::uniform_int_distribution<int> num(-6, 6);
  for (int trial = 0; trial < 200; ++trial) {
    AbcParametrization p = random_parametrization(rng, trial, Optimizer::sgd);
    const int L = p.depth();
    p.c_l.assign(L + 1, 0);
    for (auto& c : p.c_l) c = q(num(rng), 2);
    const MlpPhase ph = classify_mlp(p);
    const Rational g = std::min(p.a[L] + p.b[L], 2 * p.a[L] + p.c_l[L]);
    for (int l = 1; l <= L; ++l) CHECK(ph.r_l[l - 1] == g + p.c_l[l - 1] - 1 + 2 * p.a[l - 1] + (l == 1 ? 1 : 0));
    CHECK(ph.updated_maximally.back() == (2 * p.a[L] + p.c_l[L] == 1));
    CHECK((reason_keys(ph).count("2a_out+c<1") == 1) == (2 * p.a[L] + p.c_l[L] < 1));
  }
}

TEST_CASE("TP5 Table 3, SGD column: muP with per-layer learning rates (a = 0) learns features in every layer") {
  // input: init var 1/fan_in = 1 (b = 0), lr fan_out = n (c = -1); hidden: init 1/n (b = 1/2), lr 1 (c = 0);
  // output: init 1/n^2 (b = 1), lr 1/fan_in (c = 1).
  for (int L = 1; L <= 5; ++L) {
    CAPTURE(L);
    AbcParametrization p;
    p.a.assign(L + 1, 0);
    p.b.assign(L + 1, q(1, 2));
    p.b[0] = 0;
    p.b[L] = 1;
    p.c_l.assign(L + 1, 0);
    p.c_l[0] = -1;
    p.c_l[L] = 1;
    const MlpPhase m = classify_mlp(p);
    CHECK(m.regime == Regime::feature_learning);
    for (bool b : m.updated_maximally) CHECK(b);
    for (bool b : m.feature_learning_by_layer) CHECK(b);
    // the same verdict as TP4's muP (a = (-1/2, 0, .., 1/2), b = 1/2, c = 0): they differ by per-layer shifts
    CHECK(verdict(m) == verdict(classify_mlp(preset("mup", L))));
  }
}

TEST_CASE("per-layer symmetries: SGD a_l+θ, b_l-θ, c_l-2θ; Adam and SignSGD a_l+θ, b_l-θ, c_l-θ") {
  std::mt19937_64 rng(2023);
  std::uniform_int_distribution<int> num(-6, 6), den(1, 4);
  for (Optimizer o : {Optimizer::sgd, Optimizer::adam, Optimizer::signsgd}) {
    CAPTURE(optimizer_name(o));
    std::set<std::string> regimes;
    int wrong_rule_changed = 0;
    for (int trial = 0; trial < 300; ++trial) {
      const AbcParametrization p = random_parametrization(rng, trial, o);
      const std::string base = verdict(classify_mlp(p));
      regimes.insert(std::string(regime_name(classify_mlp(p).regime)));
      for (int k = 0; k < 4; ++k) {
        const Rational theta(num(rng), den(rng));
        CHECK(verdict(classify_mlp(shift(p, theta))) == base);
        const int layer = static_cast<int>(rng() % p.a.size());
        CHECK(verdict(classify_mlp(shift_layer(p, layer, theta))) == base);
        // The other optimizer's rule is not a symmetry (the test can fail): a_l+θ, b_l−θ with c_l moved by
        // the wrong multiple of θ.
        AbcParametrization wrong = shift_layer(p, layer, theta);
        wrong.c_l[layer] += (o == Optimizer::sgd ? 1 : -1) * theta;
        if (theta != 0 && verdict(classify_mlp(wrong)) != base) ++wrong_rule_changed;
      }
    }
    CHECK(regimes.size() == 4);
    CHECK(wrong_rule_changed > 100);
  }
}

TEST_CASE("TP5 Table 3, Adam column: muP is feature learning with every layer updated maximally") {
  // input: init var 1/fan_in (b = 0), lr Θ(1) (c = 0); hidden: init 1/fan_in (b = 1/2), lr 1/fan_in (c = 1);
  // output: init 1/fan_in^2 (b = 1), lr 1/fan_in (c = 1); a = 0 throughout (no multipliers).
  for (Optimizer o : {Optimizer::adam, Optimizer::signsgd})
    for (int L = 1; L <= 5; ++L) {
      CAPTURE(L);
      AbcParametrization p;
      p.optimizer = o;
      p.a.assign(L + 1, 0);
      p.b.assign(L + 1, q(1, 2));
      p.b[0] = 0;
      p.b[L] = 1;
      p.c_l.assign(L + 1, 1);
      p.c_l[0] = 0;
      const MlpPhase m = classify_mlp(p);
      CHECK(m.stable);
      CHECK(m.regime == Regime::feature_learning);
      CHECK(m.r == 0);
      CHECK(m.g == 0);
      for (const auto& r : m.r_l) CHECK(r == 0);
      for (bool b : m.updated_maximally) CHECK(b);
      for (bool b : m.feature_learning_by_layer) CHECK(b);
      CHECK(m.readout_initialized_maximally);
      CHECK_FALSE(m.f0_nonzero_gp);
      CHECK_FALSE(m.nngp_limit);
      // entrywise updates ignore the gradient's size, so the first step has the exponents of later steps
      for (int l = 1; l <= L; ++l) {
        Rational first = -99, later = 99;
        for (const auto& e : m.exponents) {
          if (e.quantity == "Δh^" + std::to_string(l) + "_1") first = e.exponent;
          if (e.quantity == "Δh^" + std::to_string(l) + "_t") later = e.exponent;
        }
        CHECK(first == later);
        CHECK(later == 0);
      }
      // the same exponents under SGD are far from muP: hidden layers' updates blow up (2a + c = 1 with g = 1)
      AbcParametrization as_sgd = p;
      as_sgd.optimizer = Optimizer::sgd;
      CHECK(classify_mlp(as_sgd).regime != Regime::feature_learning);
    }
}

TEST_CASE("TP5 Tables 8 and 9 (abc forms of muP for Adam) give the Table 3 verdict") {
  for (int L = 1; L <= 4; ++L) {
    CAPTURE(L);
    AbcParametrization t3;  // Table 3 in abc form, as above
    t3.optimizer = Optimizer::adam;
    t3.a.assign(L + 1, 0);
    t3.b.assign(L + 1, q(1, 2));
    t3.b[0] = 0;
    t3.b[L] = 1;
    t3.c_l.assign(L + 1, 1);
    t3.c_l[0] = 0;
    // Table 8 (TP4 style): multipliers sqrt(fan_out), 1, 1/sqrt(fan_in) (a = -1/2, 0, 1/2), init var
    // 1/fan_out, 1/fan_in, 1/fan_in (b = 1/2), Adam lr 1/sqrt(fan_out), 1/fan_in, 1/sqrt(fan_in).
    AbcParametrization t8 = preset("mup", L);
    t8.optimizer = Optimizer::adam;
    t8.c_l.assign(L + 1, 1);
    t8.c_l[0] = q(1, 2);
    t8.c_l[L] = q(1, 2);
    // Table 9: output multiplier 1/fan_in (a = 1) with init var 1 (b = 0); input init var 1 (b = 0);
    // Adam lr 1, 1/fan_in, 1.
    AbcParametrization t9 = t3;
    t9.a[L] = 1;
    t9.b[L] = 0;
    t9.c_l[L] = 0;
    const std::string v3 = verdict(classify_mlp(t3));
    CHECK(classify_mlp(t3).regime == Regime::feature_learning);
    CHECK(verdict(classify_mlp(t8)) == v3);
    CHECK(verdict(classify_mlp(t9)) == v3);
    // Table 8's SGD column is TP4's muP (c = 0 everywhere).
    AbcParametrization t8_sgd = preset("mup", L);
    CHECK(classify_mlp(t8_sgd).regime == Regime::feature_learning);
  }
}

TEST_CASE("SP with Adam and a global learning rate: unstable at c = 0, never feature learning, kernel only at c = 3/2") {
  // c = 0: ΔW^l (l >= 2) has Θ(1) entries over a fan-in of n, so ΔW^l x = Θ(n) (r_l = -1), and the readout's
  // ΔW x = Θ(n) (a + c = 0 < 1): unstable as n → ∞.
  for (int L = 2; L <= 4; ++L) {
    AbcParametrization sp = preset("sp", L);
    sp.optimizer = Optimizer::adam;
    const MlpPhase s = classify_mlp(sp);
    CHECK(s.regime == Regime::unstable);
    CHECK(s.r == -1);
    CHECK(reason_keys(s) == std::set<std::string>{"r<0", "a_out+c_out<1", "a_out+b_out+r<1"});
    // c = 1 (lr ∝ 1/width, the usual fix): hidden layers are maximal (r = 0), but W_0 Δx of the readout
    // (init var 1/n, a + b = 1/2) is Θ(n^(1/2)): still unstable.
    sp.c = 1;
    const MlpPhase s1 = classify_mlp(sp);
    CHECK(reason_keys(s1) == std::set<std::string>{"a_out+b_out+r<1"});
    // along c, the only stable nontrivial point is c = 3/2, in the kernel-like regime
    const auto regions = phase_regions(sp, FreeExponent{});
    int nontrivial_stable = 0;
    for (const auto& r : regions) {
      if (r.phase.stable && r.phase.nontrivial) {
        ++nontrivial_stable;
        CHECK(r.condition == "c = 3/2");
        CHECK(r.phase.regime == Regime::kernel);
        CHECK(r.phase.r == q(1, 2));
      }
      CHECK(r.phase.regime != Regime::feature_learning);
    }
    CHECK(nontrivial_stable == 1);
    CHECK(regions.front().phase.regime == Regime::unstable);
    CHECK(regions.back().phase.regime == Regime::trivial);
  }
  // L = 1 with lr 1/width: stable, only the readout moves the output (the NNGP-like limit)
  AbcParametrization sp1 = preset("sp", 1);
  sp1.optimizer = Optimizer::adam;
  sp1.c = 1;
  const MlpPhase s1 = classify_mlp(sp1);
  CHECK(s1.regime == Regime::kernel);
  CHECK(s1.nngp_limit);
}

TEST_CASE("NTK parametrization with Adam is kernel-like with every layer contributing at n^(-1/2)") {
  // NTP (a = 0, 1/2, .., 1/2; b = 0) with lr exponents c = (1/2, 1, .., 1, 1/2): every ΔW^l x is Θ(n^(-1/2)),
  // the readout's update is Θ(1): the nonlinear kernel (operator) regime of TP4b.
  for (Optimizer o : {Optimizer::adam, Optimizer::signsgd})
    for (int L = 1; L <= 4; ++L) {
      CAPTURE(L);
      AbcParametrization p = preset("ntp", L);
      p.optimizer = o;
      p.c_l.assign(L + 1, 1);
      p.c_l[0] = q(1, 2);
      p.c_l[L] = q(1, 2);
      const MlpPhase m = classify_mlp(p);
      CHECK(m.regime == Regime::kernel);
      CHECK(m.r == q(1, 2));
      for (const auto& r : m.r_l) CHECK(r == q(1, 2));
      CHECK(m.updated_maximally.back());
      CHECK(m.readout_initialized_maximally);
      CHECK(m.f0_nonzero_gp);
      CHECK_FALSE(m.nngp_limit);
      for (bool b : m.feature_learning_by_layer) CHECK_FALSE(b);
    }
  // NTP with Adam and one global c: stable only for c >= 1, nontrivial (kernel) only at c = 1
  AbcParametrization ntp = preset("ntp", 2);
  ntp.optimizer = Optimizer::adam;
  const auto regions = phase_regions(ntp, FreeExponent{});
  for (const auto& r : regions)
    if (r.phase.stable && r.phase.nontrivial) {
      CHECK(r.condition == "c = 1");
      CHECK(r.phase.regime == Regime::kernel);
    }
}

TEST_CASE("free-exponent regions agree with pointwise classification for every optimizer and a free c_l") {
  std::mt19937_64 rng(8);
  std::uniform_int_distribution<int> num(-12, 12), den(1, 6), depth(1, 3);
  for (Optimizer o : {Optimizer::sgd, Optimizer::adam, Optimizer::signsgd})
    for (int trial = 0; trial < 40; ++trial) {
      const int L = depth(rng);
      AbcParametrization p = preset(trial % 2 ? "mup" : "ntp", L);
      p.optimizer = o;
      FreeExponent f;
      const int which = trial % 4;
      f.kind = which == 1 ? FreeExponent::A : which == 2 ? FreeExponent::B : FreeExponent::C;
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

TEST_CASE("a free c_l: Adam muP's input learning rate exponent c_1 is maximal at 0, unstable below") {
  AbcParametrization p;
  p.optimizer = Optimizer::adam;
  p.a = {0, 0, 0};
  p.b = {0, q(1, 2), 1};
  p.c_l = {0, 1, 1};
  std::string error;
  const auto f = parse_free_exponent("c_1", 2, error);
  REQUIRE(f);
  CHECK(f->name() == "c_1");
  const auto regions = phase_regions(p, *f);
  // regions are split by regime and violated conditions only, so c_1 = 0 and c_1 > 0 share one region
  REQUIRE(regions.size() == 2);
  CHECK(regions[0].condition == "c_1 < 0");
  CHECK(regions[0].phase.regime == Regime::unstable);
  CHECK(reason_keys(regions[0].phase) == std::set<std::string>{"r<0", "a_out+b_out+r<1"});
  CHECK(regions[1].condition == "c_1 >= 0");
  CHECK(regions[1].phase.regime == Regime::feature_learning);
  // above 0 layer 1 is no longer updated maximally and learns no features, but layer 2 still does
  const MlpPhase at0 = classify_mlp(with_value(p, *f, 0)), above = classify_mlp(with_value(p, *f, q(1, 3)));
  CHECK(at0.updated_maximally[0]);
  CHECK(at0.feature_learning_by_layer[0]);
  CHECK_FALSE(above.updated_maximally[0]);
  CHECK_FALSE(above.feature_learning_by_layer[0]);
  CHECK(above.feature_learning_by_layer[1]);
  CHECK(above.r_l[0] == q(1, 3));
}

TEST_CASE("argument errors: c_l of the wrong size, a free global c with c_l, unknown names") {
  AbcParametrization p = preset("mup", 2);
  p.c_l = {0, 0};
  CHECK_THROWS_AS(classify_mlp(p), std::invalid_argument);
  p.c_l = {0, 0, 0};
  CHECK_THROWS_AS(phase_regions(p, FreeExponent{}), std::invalid_argument);
  std::string error;
  CHECK_FALSE(parse_free_exponent("c_4", 2, error));
  CHECK(error.find("1..3") != std::string::npos);
  CHECK(parse_free_exponent("c3", 2, error));
  CHECK(parse_optimizer("adam") == Optimizer::adam);
  CHECK(parse_optimizer("signsgd") == Optimizer::signsgd);
  CHECK(parse_optimizer("sgd") == Optimizer::sgd);
  CHECK_FALSE(parse_optimizer("adamw"));
  CHECK_THROWS_AS(shift_layer(p, 3, 1), std::out_of_range);
}

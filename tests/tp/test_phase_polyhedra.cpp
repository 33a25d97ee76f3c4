// phase_polyhedra (two free exponents): randomized consistency with classify_mlp (every point lies in exactly
// one region, whose verdict is the point's; this also checks the absorption of sides and end points), the SP plane of (c, a_3) derived by hand, and a cross-check of every
// line x = const or y = const against the one-exponent phase_regions.
#include <doctest/doctest.h>

#include <random>
#include <stdexcept>

#include "tp/phase_region.h"

using namespace tp;

namespace {

// The faces containing (x, y).
std::vector<const PhasePolyRegion*> faces_at(const std::vector<PhasePolyRegion>& faces, const Rational& x, const Rational& y) {
  std::vector<const PhasePolyRegion*> out;
  for (const auto& f : faces) {
    bool in = true;
    for (const auto& c : f.constraints) in = in && c.holds(x, y);
    if (in) out.push_back(&f);
  }
  return out;
}

AbcParametrization at(const AbcParametrization& p, const std::vector<FreeExponent>& fr, const Rational& x, const Rational& y) {
  const bool global_c_second = fr[1].kind == FreeExponent::C && fr[1].layer == 0;
  return global_c_second ? with_value(with_value(p, fr[1], y), fr[0], x) : with_value(with_value(p, fr[0], x), fr[1], y);
}

struct Case {
  AbcParametrization p;
  std::vector<FreeExponent> free;
};

Case random_case(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Case k;
  const int L = pick(1, 3);
  for (int l = 0; l <= L; ++l) {
    k.p.a.push_back(Rational(pick(-2, 2), 2));
    k.p.b.push_back(Rational(pick(-1, 2), 2));
  }
  k.p.c = Rational(pick(-2, 2), 2);
  k.p.optimizer = std::vector<Optimizer>{Optimizer::sgd, Optimizer::adam, Optimizer::signsgd}[pick(0, 2)];
  while (k.free.size() < 2) {
    FreeExponent f;
    const int kind = pick(0, 3);
    f.kind = kind == 0 ? FreeExponent::A : kind == 1 ? FreeExponent::B : FreeExponent::C;
    f.layer = kind == 3 ? 0 : pick(1, L + 1);
    if (k.free.empty() || k.free[0].name() != f.name()) k.free.push_back(f);
  }
  return k;
}

}  // namespace

TEST_CASE("phase_polyhedra: every point lies in exactly one face, and its verdict is the point's") {
  std::mt19937 rng(20261123);
  for (int trial = 0; trial < 40; ++trial) {
    const Case k = random_case(rng);
    CAPTURE(k.free[0].name());
    CAPTURE(k.free[1].name());
    const auto faces = phase_polyhedra(k.p, k.free);
    REQUIRE(!faces.empty());
    std::vector<std::pair<Rational, Rational>> points;
    for (const auto& f : faces) points.push_back({f.x, f.y});  // the samples, including every vertex
    std::uniform_int_distribution<int> q(-14, 14);
    for (int i = 0; i < 150; ++i) points.push_back({Rational(q(rng), 4), Rational(q(rng), 4)});
    for (int i = 0; i < 30; ++i) points.push_back({Rational(q(rng), 3), Rational(q(rng), 7)});
    for (const auto& [x, y] : points) {
      CAPTURE(to_string(x));
      CAPTURE(to_string(y));
      const auto in = faces_at(faces, x, y);
      REQUIRE(in.size() == 1);
      CHECK(verdict_key(in[0]->phase) == verdict_key(classify_mlp(at(k.p, k.free, x, y))));
    }
    // each face's sample satisfies its own constraints; a face of dimension d has 2 - d equalities
    for (const auto& f : faces) {
      int equalities = 0;
      for (const auto& c : f.constraints) {
        CHECK(c.holds(f.x, f.y));
        equalities += c.rel == LinearConstraint::equal;
      }
      CHECK(equalities == 2 - f.dimension);
    }
  }
}

TEST_CASE("phase_polyhedra: SP (L = 2) with c and a_3 free, derived by hand") {
  // a = [0, 0, a_3], b = [0, 1/2, 1/2]: u_3 = 2a_3 + c, g = min(a_3 + 1/2, 2a_3 + c), r = g + c - 1.
  // Stable iff a_3 >= 0, 2a_3 + c >= 1, r >= 0, a_3 + 1/2 + r >= 1. Feature learning (r = 0, nontrivial) only
  // at c = 0, a_3 = 1/2 (muP); kernel on the segment 2a_3 + c = 1, 0 <= a_3 < 1/2 (NTK-like, r = 1/2 - a_3).
  const AbcParametrization sp = preset("sp", 2);
  FreeExponent c, a3{FreeExponent::A, 3};
  const auto faces = phase_polyhedra(sp, {c, a3});
  auto regime_at = [&](const Rational& x, const Rational& y) {
    const auto in = faces_at(faces, x, y);
    REQUIRE(in.size() == 1);
    return in[0]->phase.regime;
  };
  std::vector<const PhasePolyRegion*> fl, kernel;
  for (const auto& f : faces) {
    if (f.phase.regime == Regime::feature_learning) fl.push_back(&f);
    if (f.phase.regime == Regime::kernel) kernel.push_back(&f);
  }
  REQUIRE(fl.size() == 1);
  CHECK(fl[0]->dimension == 0);
  CHECK(fl[0]->condition == "c = 0 and a_3 = 1/2");
  REQUIRE(kernel.size() == 1);  // the open segment has absorbed its end (1, 0)
  CHECK(kernel[0]->dimension == 1);
  CHECK(kernel[0]->condition == "c + 2 a_3 = 1 and 0 < c <= 1");
  // the trivial phase is one cell with two of its sides: c + 2 a_3 > 1, a_3 >= 0, c + a_3 >= 1/2
  std::vector<const PhasePolyRegion*> trivial;
  for (const auto& f : faces)
    if (f.phase.regime == Regime::trivial) trivial.push_back(&f);
  REQUIRE(trivial.size() == 1);
  CHECK(trivial[0]->dimension == 2);
  CHECK(trivial[0]->constraints.size() == 3);
  CHECK(regime_at(1, 0) == Regime::kernel);
  CHECK(regime_at(2, 0) == Regime::trivial);
  CHECK(regime_at(-1, Rational(3, 2)) == Regime::trivial);  // on c + a_3 = 1/2 with a_3 > 1/2
  CHECK(regime_at(Rational(1, 2), Rational(1, 4)) == Regime::kernel);
  CHECK(regime_at(Rational(1, 100), Rational(99, 200)) == Regime::kernel);
  CHECK(regime_at(Rational(3, 2), Rational(-1, 4)) == Regime::unstable);  // readout init a_3 + b_3 < 1/2
  CHECK(regime_at(0, 0) == Regime::unstable);                              // SP with c = 0
  CHECK(regime_at(-1, 1) == Regime::unstable);                             // r < 0
  // the unstable faces name the violated conditions; the init condition is the line a_3 = 0
  bool init_cell = false;
  for (const auto& f : faces)
    if (f.dimension == 2 && f.condition == "a_3 < 0" ) init_cell = true;
  CHECK(!init_cell);  // a_3 < 0 alone is split further by the other conditions
  for (const auto& f : faces)
    for (const auto& i : f.phase.instabilities)
      if (i.key == "init") CHECK(f.y < 0);
}

TEST_CASE("phase_polyhedra agrees with phase_regions on every line with one exponent fixed") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 30; ++trial) {
    const Case k = random_case(rng);
    const auto faces = phase_polyhedra(k.p, k.free);
    // fix the second exponent unless the first is the global c (then fixing c_l first would forbid freeing c)
    const bool fix_y = !(k.free[0].kind == FreeExponent::C && k.free[0].layer == 0);
    const FreeExponent fixed = k.free[fix_y ? 1 : 0], moving = k.free[fix_y ? 0 : 1];
    std::vector<Rational> values{0, Rational(1, 2), -1, Rational(3, 4)};
    for (const auto& f : faces)
      if (f.dimension == 0) values.push_back(fix_y ? f.y : f.x);  // lines through the vertices
    for (const auto& v : values) {
      CAPTURE(to_string(v));
      const auto regions = phase_regions(with_value(k.p, fixed, v), moving);
      for (const auto& r : regions) {
        std::vector<Rational> ss;
        if (r.is_point) ss.push_back(*r.lo);
        else if (r.lo && r.hi) ss = {(*r.lo + *r.hi) / 2, *r.lo + (*r.hi - *r.lo) / 7};
        else if (r.lo) ss = {*r.lo + Rational(1, 3), *r.lo + 5};
        else if (r.hi) ss = {*r.hi - Rational(1, 3), *r.hi - 5};
        else ss = {0, 3};
        if (r.lo_closed && !r.is_point) ss.push_back(*r.lo);
        if (r.hi_closed && !r.is_point) ss.push_back(*r.hi);
        for (const auto& s : ss) {
          const auto in = fix_y ? faces_at(faces, s, v) : faces_at(faces, v, s);
          REQUIRE(in.size() == 1);
          CHECK(verdict_key(in[0]->phase) == verdict_key(r.phase));
        }
      }
    }
  }
}

TEST_CASE("phase_polyhedra rejects one, three or repeated free exponents") {
  const AbcParametrization sp = preset("sp", 2);
  FreeExponent c, a3{FreeExponent::A, 3}, b2{FreeExponent::B, 2};
  CHECK_THROWS_AS(phase_polyhedra(sp, {c}), std::invalid_argument);
  CHECK_THROWS_AS(phase_polyhedra(sp, {c, a3, b2}), std::invalid_argument);
  CHECK_THROWS_AS(phase_polyhedra(sp, {a3, a3}), std::invalid_argument);
}

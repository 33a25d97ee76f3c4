// See phase_region.h. Steps: 1. list the affine functionals of TP4's conditions with their critical
// values; 2. solve each for s (affine: F(s) = F(0) + s (F(1) − F(0))); 3. classify at every breakpoint
// and between them; 4. merge neighbours with equal verdicts and write the conditions.
#include "tp/phase_region.h"

#include <algorithm>
#include <functional>
#include <set>
#include <stdexcept>

namespace tp {

namespace {

using Functional = std::function<Rational(const AbcParametrization&)>;

struct Critical {
  Functional f;
  Rational value;
};

// Step 1: everything classify_mlp compares, as affine functionals of the exponents (a superset is harmless:
// a spurious breakpoint only adds a piece that step 4 merges away).
std::vector<Critical> criticals(int L, Optimizer o) {
  std::vector<Critical> out;
  const Rational half(1, 2);
  auto ab = [](int l) { return [l](const AbcParametrization& p) { return p.a[l] + p.b[l]; }; };
  // u_l − 1 + [l=1]: r_l without the backward exponent g
  auto hidden = [](int l) { return [l](const AbcParametrization& p) { return update_exponent(p, l) - 1 + (l == 0 ? 1 : 0); }; };
  auto u_out = [L](const AbcParametrization& p) { return update_exponent(p, L); };
  out.push_back({ab(0), 0});
  for (int l = 1; l < L; ++l) out.push_back({ab(l), half});
  out.push_back({ab(L), half});
  out.push_back({u_out, 1});
  out.push_back({[ab, u_out, L](const AbcParametrization& p) { return ab(L)(p) - u_out(p); }, 0});
  for (int i = 0; i < L; ++i)
    for (int j = i + 1; j < L; ++j)
      out.push_back({[hidden, i, j](const AbcParametrization& p) { return hidden(i)(p) - hidden(j)(p); }, 0});
  // every branch of r and r_l: g + hidden(l) with g ∈ {a+b, u} of the readout (SGD) or g = 0 (Adam/SignSGD)
  const int first_branch = o == Optimizer::sgd ? 0 : 2, last_branch = o == Optimizer::sgd ? 1 : 2;
  for (int branch = first_branch; branch <= last_branch; ++branch)
    for (int l = 0; l < L; ++l) {
      Functional r = [=](const AbcParametrization& p) {
        const Rational g = branch == 0 ? ab(L)(p) : branch == 1 ? u_out(p) : Rational(0);
        return g + hidden(l)(p);
      };
      out.push_back({r, 0});
      out.push_back({[r, ab, L](const AbcParametrization& p) { return ab(L)(p) + r(p); }, 1});
    }
  return out;
}

std::string verdict_key(const MlpPhase& ph) {
  std::string k(regime_name(ph.regime));
  std::set<std::string> keys;
  for (const auto& i : ph.instabilities) keys.insert(i.key);
  for (const auto& s : keys) k += "|" + s;
  return k;
}

}  // namespace

std::string FreeExponent::name() const {
  if (kind == C && layer == 0) return "c";
  return std::string(kind == A ? "a_" : kind == B ? "b_" : "c_") + std::to_string(layer);
}

std::optional<FreeExponent> parse_free_exponent(const std::string& text, int depth, std::string& error) {
  FreeExponent f;
  if (text == "c") return f;
  if (text.size() >= 2 && (text[0] == 'a' || text[0] == 'b' || text[0] == 'c')) {
    std::string digits = text.substr(text[1] == '_' ? 2 : 1);
    if (!digits.empty() && digits.size() < 6 && std::all_of(digits.begin(), digits.end(), ::isdigit)) {
      f.kind = text[0] == 'a' ? FreeExponent::A : text[0] == 'b' ? FreeExponent::B : FreeExponent::C;
      f.layer = std::stoi(digits);
      if (f.layer >= 1 && f.layer <= depth + 1) return f;
      error = "'" + text + "' names layer " + std::to_string(f.layer) + ", but the layers are 1.." +
              std::to_string(depth + 1) + " (L+1 is the readout)";
      return std::nullopt;
    }
  }
  error = "cannot read the free exponent '" + text + "'; write c, or a_l / b_l / c_l with a layer number, e.g. a_1, b3 or c_2";
  return std::nullopt;
}

AbcParametrization with_value(const AbcParametrization& p, const FreeExponent& f, const Rational& s) {
  AbcParametrization q = p;
  switch (f.kind) {
    case FreeExponent::A: q.a[f.layer - 1] = s; break;
    case FreeExponent::B: q.b[f.layer - 1] = s; break;
    case FreeExponent::C:
      if (f.layer == 0) {
        if (!q.c_l.empty())
          throw std::invalid_argument("the global learning-rate exponent c has no effect when per-layer exponents c_l are "
                                      "given; leave one layer's exponent free instead (c_1 .. c_" +
                                      std::to_string(q.a.size()) + ")");
        q.c = s;
      } else {
        if (q.c_l.empty()) q.c_l.assign(q.a.size(), q.c);
        q.c_l.at(static_cast<std::size_t>(f.layer - 1)) = s;
      }
      break;
  }
  return q;
}

std::vector<PhaseRegion> phase_regions(const AbcParametrization& p, const FreeExponent& f) {
  // Step 2: breakpoints.
  std::set<Rational> cuts;
  const auto p0 = with_value(p, f, 0), p1 = with_value(p, f, 1);
  for (const Critical& cr : criticals(p.depth(), p.optimizer)) {
    const Rational f0 = cr.f(p0), slope = cr.f(p1) - f0;
    if (slope != 0) cuts.insert((cr.value - f0) / slope);
  }
  // Step 3: sample every piece.
  std::vector<PhaseRegion> pieces;
  std::vector<Rational> pts(cuts.begin(), cuts.end());
  auto add_interval = [&](std::optional<Rational> lo, std::optional<Rational> hi) {
    Rational s = lo && hi ? (*lo + *hi) / 2 : lo ? *lo + 1 : hi ? *hi - 1 : Rational(0);
    pieces.push_back({lo, hi, false, false, false, classify_mlp(with_value(p, f, s)), ""});
  };
  if (pts.empty()) {
    add_interval(std::nullopt, std::nullopt);
  } else {
    add_interval(std::nullopt, pts.front());
    for (std::size_t i = 0; i < pts.size(); ++i) {
      pieces.push_back({pts[i], pts[i], true, true, true, classify_mlp(with_value(p, f, pts[i])), ""});
      add_interval(pts[i], i + 1 < pts.size() ? std::optional<Rational>(pts[i + 1]) : std::nullopt);
    }
  }
  // Step 4: merge neighbours with the same verdict.
  std::vector<PhaseRegion> merged;
  for (auto& piece : pieces) {
    if (!merged.empty() && verdict_key(merged.back().phase) == verdict_key(piece.phase)) {
      merged.back().hi = piece.hi;
      merged.back().hi_closed = piece.hi_closed;
      merged.back().is_point = false;
      continue;
    }
    merged.push_back(piece);
  }
  const std::string s = f.name();
  for (auto& r : merged) {
    const std::string lt_lo = r.lo_closed ? " <= " : " < ", lt_hi = r.hi_closed ? " <= " : " < ";
    if (r.is_point) r.condition = s + " = " + to_string(*r.lo);
    else if (!r.lo && !r.hi) r.condition = "all " + s;
    else if (!r.lo) r.condition = s + lt_hi + to_string(*r.hi);
    else if (!r.hi) r.condition = s + (r.lo_closed ? " >= " : " > ") + to_string(*r.lo);
    else r.condition = to_string(*r.lo) + lt_lo + s + lt_hi + to_string(*r.hi);
  }
  return merged;
}

}  // namespace tp

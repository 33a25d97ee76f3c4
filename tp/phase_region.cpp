// See phase_region.h. Steps: 1. list the affine functionals of TP4's conditions with their critical
// values; 2. solve each for s (affine: F(s) = F(0) + s (F(1) − F(0))); 3. classify at every breakpoint
// and between them; 4. merge neighbours with equal verdicts and write the conditions; within a region, r and
// the size exponents are fitted as affine functions of s on every piece (three samples on an interval) and
// consecutive pieces with the same formulas are joined into one stretch.
// phase_polyhedra (two free exponents) is at the end of the file, with its own steps.
#include "tp/phase_region.h"

#include <algorithm>
#include <functional>
#include <map>
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

}  // namespace

std::string verdict_key(const MlpPhase& ph) {
  std::string k(regime_name(ph.regime));
  std::set<std::string> keys;
  for (const auto& i : ph.instabilities) keys.insert(i.key);
  for (const auto& s : keys) k += "|" + s;
  return k;
}

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

std::string AffineForm::text(const std::string& s) const {
  if (!affine) return "varies";
  if (slope == 0) return to_string(intercept);
  const Rational m = slope > 0 ? slope : Rational(-slope);
  const std::string term = m == 1 ? s : to_string(m) + " " + s;
  if (intercept == 0) return slope > 0 ? term : "-" + term;
  if (slope < 0) return to_string(intercept) + " - " + term;  // "1 - c", "-1/2 - 2 c"
  return term + (intercept > 0 ? " + " : " - ") + to_string(intercept > 0 ? intercept : Rational(-intercept));
}

namespace {

std::string interval_condition(const std::string& s, const std::optional<Rational>& lo, const std::optional<Rational>& hi,
                               bool lo_closed, bool hi_closed, bool is_point) {
  const std::string lt_lo = lo_closed ? " <= " : " < ", lt_hi = hi_closed ? " <= " : " < ";
  if (is_point) return s + " = " + to_string(*lo);
  if (!lo && !hi) return "all " + s;
  if (!lo) return s + lt_hi + to_string(*hi);
  if (!hi) return s + (lo_closed ? " >= " : " > ") + to_string(*lo);
  return to_string(*lo) + lt_lo + s + lt_hi + to_string(*hi);
}

/// The affine forms of r and the exponents on one piece (a point, or an open interval sampled at three points).
AffineStretch affine_stretch(const AbcParametrization& p, const FreeExponent& f, const PhaseRegion& piece) {
  AffineStretch st;
  st.lo = piece.lo;
  st.hi = piece.hi;
  st.lo_closed = piece.lo_closed;
  st.hi_closed = piece.hi_closed;
  st.is_point = piece.is_point;
  auto constant = [](const Rational& v) { return AffineForm{0, v, true}; };
  if (piece.is_point) {
    st.r = constant(piece.phase.r);
    for (const auto& e : piece.phase.exponents) st.exponents.push_back(constant(e.exponent));
    return st;
  }
  Rational s1, s2, s3;
  if (piece.lo && piece.hi) {
    const Rational w = *piece.hi - *piece.lo;
    s1 = *piece.lo + w / 4, s2 = *piece.lo + w / 2, s3 = *piece.lo + 3 * w / 4;
  } else if (piece.lo) {
    s1 = *piece.lo + 1, s2 = *piece.lo + 2, s3 = *piece.lo + 3;
  } else if (piece.hi) {
    s1 = *piece.hi - 3, s2 = *piece.hi - 2, s3 = *piece.hi - 1;
  } else {
    s1 = -1, s2 = 0, s3 = 1;
  }
  const MlpPhase a = classify_mlp(with_value(p, f, s1)), b = classify_mlp(with_value(p, f, s2)),
                 c = classify_mlp(with_value(p, f, s3));
  auto fit = [&](const Rational& v1, const Rational& v2, const Rational& v3) {
    AffineForm form;
    form.slope = (v2 - v1) / (s2 - s1);
    form.intercept = v1 - form.slope * s1;
    form.affine = form.at(s3) == v3;
    return form;
  };
  st.r = fit(a.r, b.r, c.r);
  for (std::size_t i = 0; i < a.exponents.size() && i < b.exponents.size() && i < c.exponents.size(); ++i)
    st.exponents.push_back(fit(a.exponents[i].exponent, b.exponents[i].exponent, c.exponents[i].exponent));
  return st;
}

/// True if the point stretch pt lies on the forms of st.
bool on_forms(const AffineStretch& st, const AffineStretch& pt) {
  if (!st.r.affine || st.r.at(*pt.lo) != pt.r.intercept || st.exponents.size() != pt.exponents.size()) return false;
  for (std::size_t i = 0; i < st.exponents.size(); ++i)
    if (!st.exponents[i].affine || st.exponents[i].at(*pt.lo) != pt.exponents[i].intercept) return false;
  return true;
}

/// Appends a piece's stretch to a region's list, joining it to the last stretch when the forms continue.
void append_stretch(std::vector<AffineStretch>& list, AffineStretch next) {
  if (!list.empty()) {
    AffineStretch& last = list.back();
    if (next.is_point && !last.is_point && on_forms(last, next)) {
      last.hi = next.hi;
      last.hi_closed = true;
      return;
    }
    if (last.is_point && !next.is_point && on_forms(next, last)) {
      next.lo = last.lo;
      next.lo_closed = true;
      last = std::move(next);
      return;
    }
    if (!last.is_point && !next.is_point && last.r == next.r && last.exponents == next.exponents) {
      last.hi = next.hi;
      last.hi_closed = next.hi_closed;
      return;
    }
  }
  list.push_back(std::move(next));
}

}  // namespace

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
    pieces.push_back({lo, hi, false, false, false, classify_mlp(with_value(p, f, s)), "", {}});
  };
  if (pts.empty()) {
    add_interval(std::nullopt, std::nullopt);
  } else {
    add_interval(std::nullopt, pts.front());
    for (std::size_t i = 0; i < pts.size(); ++i) {
      pieces.push_back({pts[i], pts[i], true, true, true, classify_mlp(with_value(p, f, pts[i])), "", {}});
      add_interval(pts[i], i + 1 < pts.size() ? std::optional<Rational>(pts[i + 1]) : std::nullopt);
    }
  }
  // Step 4: merge neighbours with the same verdict.
  std::vector<PhaseRegion> merged;
  for (auto& piece : pieces) {
    AffineStretch stretch = affine_stretch(p, f, piece);
    if (!merged.empty() && verdict_key(merged.back().phase) == verdict_key(piece.phase)) {
      merged.back().hi = piece.hi;
      merged.back().hi_closed = piece.hi_closed;
      merged.back().is_point = false;
      append_stretch(merged.back().stretches, std::move(stretch));
      continue;
    }
    merged.push_back(piece);
    merged.back().stretches.push_back(std::move(stretch));
  }
  const std::string s = f.name();
  for (auto& r : merged) {
    r.condition = interval_condition(s, r.lo, r.hi, r.lo_closed, r.hi_closed, r.is_point);
    for (auto& st : r.stretches) st.condition = interval_condition(s, st.lo, st.hi, st.lo_closed, st.hi_closed, st.is_point);
  }
  return merged;
}

// ---- Two free exponents -----------------------------------------------------------------------------
// Steps: 1. restrict every critical functional to the plane (x, y) and keep the distinct non-constant lines
// F_j(x, y) = c_j; 2. enumerate the faces of their arrangement exactly (vertices = pairwise intersections;
// edges = pieces of each line between consecutive vertices on it; cells = a vertical decomposition sampled
// between consecutive lines in every slab), a face being identified by its sign vector; 3. classify every face
// at its sample point; 4. drop, one at a time, a line across which no verdict changes (the faces agreeing on
// every other line share one verdict) and recompute the arrangement; 5. describe each face by its minimal
// constraints (a cell: the lines carrying its edges; an edge: its line and the range of its parameter, x or
// on a line x = const y, between its end vertices; a vertex: its coordinates) and reclassify at its sample;
// 6. let a cell absorb a whole side of the same verdict, and an edge its end points (non-strict bounds).

namespace {

struct Line {
  Rational a, b, c;  ///< a x + b y = c; the first nonzero of (a, b) is 1
  bool operator<(const Line& o) const {
    if (a != o.a) return a < o.a;
    if (b != o.b) return b < o.b;
    return c < o.c;
  }
};

int side(const Line& l, const Rational& x, const Rational& y) {
  const Rational v = l.a * x + l.b * y - l.c;
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

struct Face {
  int dimension = 2;
  Rational x, y;
  std::string sign;  ///< per line '-', '0' or '+'
};

std::string sign_vector(const std::vector<Line>& lines, const Rational& x, const Rational& y) {
  std::string s;
  for (const Line& l : lines) s += "-0+"[side(l, x, y) + 1];
  return s;
}

// Step 2: every face of the arrangement once, with a sample point inside it.
std::vector<Face> arrangement_faces(const std::vector<Line>& lines) {
  std::vector<Face> faces;
  std::set<std::string> seen;
  auto add = [&](int dim, const Rational& x, const Rational& y) {
    std::string s = sign_vector(lines, x, y);
    if (seen.insert(s).second) faces.push_back({dim, x, y, std::move(s)});
  };
  // vertices
  std::set<std::pair<Rational, Rational>> vertices;
  for (std::size_t i = 0; i < lines.size(); ++i)
    for (std::size_t j = i + 1; j < lines.size(); ++j) {
      const Line &p = lines[i], &q = lines[j];
      const Rational det = p.a * q.b - p.b * q.a;
      if (det == 0) continue;
      vertices.insert({(p.c * q.b - p.b * q.c) / det, (p.a * q.c - p.c * q.a) / det});
    }
  for (const auto& v : vertices) add(0, v.first, v.second);
  // edges: parametrize by x (or by y on a vertical line)
  for (const Line& l : lines) {
    const bool vertical = l.b == 0;
    auto point = [&](const Rational& t) {
      return vertical ? std::make_pair(l.c / l.a, t) : std::make_pair(t, (l.c - l.a * t) / l.b);
    };
    std::set<Rational> ts;
    for (const auto& v : vertices)
      if (side(l, v.first, v.second) == 0) ts.insert(vertical ? v.second : v.first);
    std::vector<Rational> samples;
    if (ts.empty()) samples.push_back(0);
    else {
      samples.push_back(*ts.begin() - 1);
      for (auto it = ts.begin(), nx = std::next(it); nx != ts.end(); ++it, ++nx) samples.push_back((*it + *nx) / 2);
      samples.push_back(*ts.rbegin() + 1);
    }
    for (const auto& t : samples) {
      const auto pt = point(t);
      add(1, pt.first, pt.second);
    }
  }
  // cells: slabs between consecutive critical x (vertices and vertical lines), lines ordered inside each
  std::set<Rational> xs;
  for (const auto& v : vertices) xs.insert(v.first);
  for (const Line& l : lines)
    if (l.b == 0) xs.insert(l.c / l.a);
  std::vector<Rational> slab_x;
  if (xs.empty()) slab_x.push_back(0);
  else {
    slab_x.push_back(*xs.begin() - 1);
    for (auto it = xs.begin(), nx = std::next(it); nx != xs.end(); ++it, ++nx) slab_x.push_back((*it + *nx) / 2);
    slab_x.push_back(*xs.rbegin() + 1);
  }
  for (const auto& x : slab_x) {
    std::set<Rational> ys;
    for (const Line& l : lines)
      if (l.b != 0) ys.insert((l.c - l.a * x) / l.b);
    if (ys.empty()) {
      add(2, x, 0);
      continue;
    }
    add(2, x, *ys.begin() - 1);
    for (auto it = ys.begin(), nx = std::next(it); nx != ys.end(); ++it, ++nx) add(2, x, (*it + *nx) / 2);
    add(2, x, *ys.rbegin() + 1);
  }
  return faces;
}

const char* rel_text(LinearConstraint::Rel rel) {
  switch (rel) {
    case LinearConstraint::less: return "<";
    case LinearConstraint::less_equal: return "<=";
    case LinearConstraint::equal: return "=";
    case LinearConstraint::greater_equal: return ">=";
    case LinearConstraint::greater: return ">";
  }
  return "?";
}

using Int = boost::multiprecision::cpp_int;

Int gcd_int(Int a, Int b) {
  if (a < 0) a = -a;
  if (b < 0) b = -b;
  while (b != 0) {
    Int t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// The simplified text of cx x + cy y (rel) rhs (see LinearConstraint).
std::string constraint_text(Rational cx, Rational cy, Rational rhs, LinearConstraint::Rel rel, const std::string& xn,
                            const std::string& yn) {
  Rational scale;
  if (cx == 0 || cy == 0) scale = 1 / (cx == 0 ? cy : cx);
  else {
    Int den = 1, num = 0;
    for (const Rational* r : {&cx, &cy}) {
      const Int d(boost::multiprecision::denominator(*r));
      den = den / gcd_int(den, d) * d;
    }
    for (const Rational* r : {&cx, &cy}) num = gcd_int(num, Int(boost::multiprecision::numerator(*r * Rational(den))));
    scale = Rational(den) / Rational(num);
    if (cx < 0) scale = -scale;
  }
  cx *= scale;
  cy *= scale;
  rhs *= scale;
  if (scale < 0) rel = static_cast<LinearConstraint::Rel>(LinearConstraint::greater - rel);  // the enum is symmetric
  std::string s;
  auto term = [&](const Rational& k, const std::string& name) {
    if (k == 0) return;
    const Rational m = k < 0 ? -k : k;
    if (s.empty()) s += k < 0 ? "-" : "";
    else s += k < 0 ? " - " : " + ";
    s += (m == 1 ? "" : to_string(m) + " ") + name;
  };
  term(cx, xn);
  term(cy, yn);
  s += std::string(" ") + rel_text(rel) + " ";
  return s + to_string(rhs);
}

}  // namespace

bool LinearConstraint::holds(const Rational& x, const Rational& y) const {
  const Rational v = cx * x + cy * y;
  switch (rel) {
    case less: return v < rhs;
    case less_equal: return v <= rhs;
    case equal: return v == rhs;
    case greater_equal: return v >= rhs;
    case greater: return v > rhs;
  }
  return false;
}

std::vector<PhasePolyRegion> phase_polyhedra(const AbcParametrization& p, const std::vector<FreeExponent>& free) {
  if (free.size() != 2)
    throw std::invalid_argument("phase_polyhedra takes two free exponents, got " + std::to_string(free.size()) +
                                (free.size() == 1 ? " (use phase_regions for one)" : "; only 1 or 2 are supported"));
  if (free[0].name() == free[1].name())
    throw std::invalid_argument("the free exponent " + free[0].name() + " is named twice; give two different exponents");
  // The global c first: freeing c_l afterwards copies it to the other layers.
  const bool swap = free[1].kind == FreeExponent::C && free[1].layer == 0;
  auto at = [&](const Rational& x, const Rational& y) {
    return swap ? with_value(with_value(p, free[1], y), free[0], x) : with_value(with_value(p, free[0], x), free[1], y);
  };
  // Step 1: the lines.
  std::set<Line> distinct;
  const auto p00 = at(0, 0), p10 = at(1, 0), p01 = at(0, 1);
  for (const Critical& cr : criticals(p.depth(), p.optimizer)) {
    const Rational f0 = cr.f(p00), gx = cr.f(p10) - f0, gy = cr.f(p01) - f0;
    if (gx == 0 && gy == 0) continue;
    const Rational lead = gx != 0 ? gx : gy;
    distinct.insert({gx / lead, gy / lead, (cr.value - f0) / lead});
  }
  const std::vector<Line> all(distinct.begin(), distinct.end());
  // Steps 2-3 on the full arrangement.
  std::map<std::string, std::string> verdict_of;  // sign vector over `all` -> verdict key
  for (const Face& f : arrangement_faces(all)) verdict_of[f.sign] = verdict_key(classify_mlp(at(f.x, f.y)));
  auto key_at = [&](const Rational& x, const Rational& y) {
    const auto it = verdict_of.find(sign_vector(all, x, y));
    if (it == verdict_of.end()) throw std::logic_error("phase_polyhedra: a point outside every face (bug)");
    return it->second;
  };
  // Step 4: drop irrelevant lines one at a time.
  std::vector<Line> lines = all;
  std::vector<Face> faces = arrangement_faces(lines);
  for (bool dropped = true; dropped;) {
    dropped = false;
    std::vector<std::string> keys;
    for (const Face& f : faces) keys.push_back(key_at(f.x, f.y));
    for (std::size_t k = 0; k < lines.size() && !dropped; ++k) {
      std::map<std::string, std::string> group;  // sign vector without line k -> verdict
      bool relevant = false;
      for (std::size_t i = 0; i < faces.size() && !relevant; ++i) {
        std::string s = faces[i].sign;
        s.erase(k, 1);
        const auto [it, inserted] = group.emplace(s, keys[i]);
        relevant = !inserted && it->second != keys[i];
      }
      if (!relevant) {
        lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(k));
        faces = arrangement_faces(lines);
        dropped = true;
      }
    }
  }
  // Step 5: minimal constraints.
  const std::string xn = free[0].name(), yn = free[1].name();
  auto constraint = [&](const Line& l, char sign) {
    const auto rel = sign == '-' ? LinearConstraint::less : sign == '+' ? LinearConstraint::greater : LinearConstraint::equal;
    return LinearConstraint{rel, l.a, l.b, l.c, constraint_text(l.a, l.b, l.c, rel, xn, yn)};
  };
  auto close = [&](LinearConstraint& c) {  // < becomes <=, > becomes >=
    c.rel = c.rel == LinearConstraint::less ? LinearConstraint::less_equal : LinearConstraint::greater_equal;
    c.text = constraint_text(c.cx, c.cy, c.rhs, c.rel, xn, yn);
  };
  std::vector<std::vector<std::size_t>> cell_lines(faces.size());  // a cell's constraint k is on line cell_lines[k]
  std::set<std::string> edge_signs;
  for (const Face& f : faces)
    if (f.dimension == 1) edge_signs.insert(f.sign);
  std::vector<PhasePolyRegion> out;
  for (const Face& f : faces) {
    PhasePolyRegion r;
    r.dimension = f.dimension;
    r.x = f.x;
    r.y = f.y;
    r.phase = classify_mlp(at(f.x, f.y));
    if (f.dimension == 0) {
      r.constraints.push_back(constraint({1, 0, f.x}, '0'));
      r.constraints.push_back(constraint({0, 1, f.y}, '0'));
    } else if (f.dimension == 1) {
      const std::size_t on = f.sign.find('0');
      r.constraints.push_back(constraint(lines[on], '0'));
      // the end vertices bound the parameter of the line: x, or y on a line x = const
      const bool vertical = lines[on].b == 0;
      const Rational& t = vertical ? f.y : f.x;
      std::optional<Rational> lo, hi;
      for (const Face& v : faces) {
        if (v.dimension != 0 || v.sign[on] != '0') continue;
        bool endpoint = true;
        for (std::size_t j = 0; j < lines.size() && endpoint; ++j) endpoint = v.sign[j] == '0' || v.sign[j] == f.sign[j];
        if (!endpoint) continue;
        const Rational& tv = vertical ? v.y : v.x;
        (tv < t ? lo : hi) = tv;
      }
      const Line axis = vertical ? Line{0, 1, 0} : Line{1, 0, 0};
      if (lo) r.constraints.push_back(constraint({axis.a, axis.b, *lo}, '+'));
      if (hi) r.constraints.push_back(constraint({axis.a, axis.b, *hi}, '-'));
    } else {
      for (std::size_t j = 0; j < lines.size(); ++j) {
        std::string s = f.sign;
        s[j] = '0';
        if (edge_signs.count(s)) {
          r.constraints.push_back(constraint(lines[j], f.sign[j]));
          cell_lines[out.size()].push_back(j);
        }
      }
    }
    out.push_back(std::move(r));
  }
  // Step 6: absorb a face into a neighbour of the same verdict: a cell takes a side (in an arrangement a side of
  // a cell is one whole edge; the strict inequality on its line becomes non-strict), then an edge not taken
  // takes its end points.
  std::vector<std::string> keys;
  for (const auto& r : out) keys.push_back(verdict_key(r.phase));
  std::map<std::string, std::size_t> index_of;
  for (std::size_t i = 0; i < faces.size(); ++i) index_of[faces[i].sign] = i;
  std::vector<bool> absorbed(faces.size(), false), grown(faces.size(), false);
  for (std::size_t i = 0; i < faces.size(); ++i) {
    if (faces[i].dimension != 2) continue;
    std::vector<std::size_t> taken;  // lines of the sides taken so far
    for (std::size_t k = 0; k < cell_lines[i].size(); ++k) {
      const std::size_t j = cell_lines[i][k];
      std::string side_sign = faces[i].sign;
      side_sign[j] = '0';
      const std::size_t e = index_of.at(side_sign);
      if (absorbed[e] || grown[e] || keys[e] != keys[i]) continue;
      // two sides taken that meet at a corner of the cell take the corner too (it satisfies both <=)
      bool ok = true;
      std::vector<std::size_t> corners;
      for (const std::size_t m : taken) {
        const Line &u = lines[j], &w = lines[m];
        const Rational det = u.a * w.b - u.b * w.a;
        if (det == 0) continue;
        const Rational cx = (u.c * w.b - u.b * w.c) / det, cy = (u.a * w.c - u.c * w.a) / det;
        bool in_closure = true;
        for (const std::size_t l : cell_lines[i]) {
          const int cell_side = faces[i].sign[l] == '+' ? 1 : -1;
          in_closure = in_closure && side(lines[l], cx, cy) != -cell_side;
        }
        if (!in_closure) continue;
        const std::size_t v = index_of.at(sign_vector(lines, cx, cy));
        if (absorbed[v] || keys[v] != keys[i]) ok = false;
        else corners.push_back(v);
      }
      if (!ok) continue;
      close(out[i].constraints[k]);
      absorbed[e] = grown[i] = true;
      for (const std::size_t v : corners) absorbed[v] = true;
      taken.push_back(j);
    }
  }
  for (std::size_t i = 0; i < faces.size(); ++i) {
    if (faces[i].dimension != 1 || absorbed[i]) continue;
    const LinearConstraint& eq = out[i].constraints[0];
    const bool vertical = eq.cy == 0;  // the bounds are on y on a line x = const, else on x
    for (std::size_t k = 1; k < out[i].constraints.size(); ++k) {
      LinearConstraint& bound = out[i].constraints[k];
      const Rational vx = vertical ? eq.rhs / eq.cx : bound.rhs;
      const Rational vy = vertical ? bound.rhs : (eq.rhs - eq.cx * vx) / eq.cy;
      const auto it = index_of.find(sign_vector(lines, vx, vy));
      if (it == index_of.end()) throw std::logic_error("phase_polyhedra: an edge's end is not a vertex (bug)");
      const std::size_t v = it->second;
      if (!absorbed[v] && keys[v] == keys[i]) {
        close(bound);
        absorbed[v] = grown[i] = true;
      }
    }
  }
  std::vector<PhasePolyRegion> kept;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (absorbed[i]) continue;
    PhasePolyRegion& r = out[i];
    if (r.dimension == 1 && r.constraints.size() == 3) {  // "line and lo < t <= hi"
      const LinearConstraint &lo = r.constraints[1], &hi = r.constraints[2];
      const std::string tn = lo.cx != 0 ? xn : yn;
      r.condition = r.constraints[0].text + " and " + to_string(lo.rhs) + " " +
                    (lo.rel == LinearConstraint::greater ? "<" : "<=") + " " + tn + " " + rel_text(hi.rel) + " " +
                    to_string(hi.rhs);
    } else {
      for (const auto& c : r.constraints) r.condition += (r.condition.empty() ? "" : " and ") + c.text;
    }
    if (r.constraints.empty()) r.condition = "all " + xn + ", " + yn;
    kept.push_back(std::move(r));
  }
  out = std::move(kept);
  std::stable_sort(out.begin(), out.end(), [](const PhasePolyRegion& u, const PhasePolyRegion& v) {
    const std::string ku = verdict_key(u.phase), kv = verdict_key(v.phase);
    if (ku != kv) return ku < kv;
    if (u.dimension != v.dimension) return u.dimension > v.dimension;
    if (u.x != v.x) return u.x < v.x;
    return u.y < v.y;
  });
  return out;
}

}  // namespace tp

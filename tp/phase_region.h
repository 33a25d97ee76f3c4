// The phase of an MLP as a function of one free exponent s (one of a_l, b_l, c or c_l): the real line splits
// into points and open intervals on which the verdict of classify_mlp (regime and violated conditions)
// is constant. Every quantity in TP4's conditions is a minimum of affine functions of s, so the verdict
// can change only where an affine piece meets a critical value (0, 1/2, 1) or two pieces of a minimum
// cross; those breakpoints are solved exactly and each piece is classified at a sample point.
// Works for every optimizer of classify_mlp (the update exponent u_l is affine in s either way).
// Example: SP with c free gives c < 1 unstable, c = 1 kernel, c > 1 trivial (SGD).
//
// Two free exponents (x, y): each of those affine functionals is affine on the plane, so the lines where
// one meets its critical value form an arrangement whose faces (vertices, edges, open cells) carry a
// constant verdict; phase_polyhedra enumerates them exactly, drops the lines across which no verdict
// changes, and describes each face by its minimal linear constraints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tp/mlp_phase.h"

namespace tp {

/// Which exponent is free: a_layer, b_layer, c_layer (1-based, L+1 = readout) or, for kind C with layer 0,
/// the global c.
struct FreeExponent {
  enum Kind { A, B, C } kind = C;
  int layer = 0;
  std::string name() const;  ///< "c", "a_2", "b_3", "c_1"
};

/// Parses "c", "a2", "a_2", "b3", "c_2" for depth L; nullopt with error set if malformed or out of range.
std::optional<FreeExponent> parse_free_exponent(const std::string& text, int depth, std::string& error);

/// p with the free exponent set to s. Setting c_l fills p.c_l from p.c first; setting the global c when
/// p.c_l is given throws std::invalid_argument (it would have no effect).
AbcParametrization with_value(const AbcParametrization& p, const FreeExponent& f, const Rational& s);

/// slope · s + intercept in the free exponent s (TP4's exponents are minima of affine functions of the
/// abc exponents, §3 and App. H, so they are affine between consecutive breakpoints).
struct AffineForm {
  Rational slope, intercept;
  bool affine = true;  ///< false if three samples of the stretch were not collinear (printed as "varies")
  Rational at(const Rational& s) const { return slope * s + intercept; }
  /// "c - 1/2", "-2 c + 1", "3/2"; "varies" when not affine.
  std::string text(const std::string& s) const;
  bool operator==(const AffineForm& o) const {
    return slope == o.slope && intercept == o.intercept && affine == o.affine;
  }
};

/// A stretch of a region on which r and every size exponent are affine in s; one per region unless a
/// minimum inside r or an exponent switches branch there (then the verdict stays but the formula changes).
struct AffineStretch {
  std::optional<Rational> lo, hi;
  bool lo_closed = false, hi_closed = false, is_point = false;
  std::string condition;               ///< as PhaseRegion::condition
  AffineForm r;
  std::vector<AffineForm> exponents;   ///< in the order of MlpPhase::exponents
};

struct PhaseRegion {
  std::optional<Rational> lo, hi;  ///< bounds, unbounded where absent; a point if is_point (lo == hi)
  bool lo_closed = false, hi_closed = false;  ///< whether the bound itself belongs to the region
  bool is_point = false;
  MlpPhase phase;                  ///< the verdict at a sample point of the region
  std::string condition;           ///< e.g. "c < 1", "c = 1", "1/2 < c <= 1", "all c"
  std::vector<AffineStretch> stretches;  ///< r and the exponents as affine functions of s, in increasing s
};

/// The regions in increasing order of s; adjacent pieces with the same verdict are merged. Throws
/// std::invalid_argument as with_value does.
std::vector<PhaseRegion> phase_regions(const AbcParametrization& p, const FreeExponent& f);

/// "regime|key|key": the regime and the sorted violated conditions; two places have the same verdict iff
/// their keys are equal.
std::string verdict_key(const MlpPhase& ph);

/// cx x + cy y (rel) rhs in the two free exponents x, y. `text` is the simplified form: the coefficients of
/// x and y are coprime integers, the first nonzero one positive, the right side an exact rational and the
/// relation flipped as needed ("c < 1/2", "c + a_3 > 1/2", "2 c + 3 a_3 = 3/2", "c - a_3 = -1").
struct LinearConstraint {
  enum Rel { less, less_equal, equal, greater_equal, greater } rel = equal;
  Rational cx, cy, rhs;
  std::string text;
  bool holds(const Rational& x, const Rational& y) const;  ///< exact test at (x, y)
};

/// One face of the arrangement, a point (dimension 0), an open segment or ray (1) or an open convex cell (2),
/// possibly with adjacent lower-dimensional faces of the same verdict absorbed (a cell with some of its sides
/// and the corners between two of them, an edge with its end points: then a constraint is <= or >=). The
/// conjunction of `constraints` is exactly the region (empty = the whole plane).
struct PhasePolyRegion {
  int dimension = 2;
  std::vector<LinearConstraint> constraints;
  Rational x, y;            ///< a sample point inside the (open) face
  MlpPhase phase;           ///< the verdict at the sample (the same on the whole region)
  std::string condition;    ///< the constraints joined by " and " (an edge's bounds as "0 < c <= 1"), or "all c, a_3"
};

/// The regions of the plane of two free exponents free[0] = x, free[1] = y, grouped by verdict (in order of
/// verdict_key), within a verdict cells first, then edges, then points. The regions partition the plane.
/// Throws std::invalid_argument unless free has exactly two different exponents (one: use phase_regions;
/// three or more are not supported), or as with_value does.
std::vector<PhasePolyRegion> phase_polyhedra(const AbcParametrization& p, const std::vector<FreeExponent>& free);

}  // namespace tp

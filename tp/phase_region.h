// The phase of an MLP as a function of one free exponent s (one of a_l, b_l, c or c_l): the real line splits
// into points and open intervals on which the verdict of classify_mlp (regime and violated conditions)
// is constant. Every quantity in TP4's conditions is a minimum of affine functions of s, so the verdict
// can change only where an affine piece meets a critical value (0, 1/2, 1) or two pieces of a minimum
// cross; those breakpoints are solved exactly and each piece is classified at a sample point.
// Works for every optimizer of classify_mlp (the update exponent u_l is affine in s either way).
// Example: SP with c free gives c < 1 unstable, c = 1 kernel, c > 1 trivial (SGD).
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

struct PhaseRegion {
  std::optional<Rational> lo, hi;  ///< bounds, unbounded where absent; a point if is_point (lo == hi)
  bool lo_closed = false, hi_closed = false;  ///< whether the bound itself belongs to the region
  bool is_point = false;
  MlpPhase phase;                  ///< the verdict at a sample point of the region
  std::string condition;           ///< e.g. "c < 1", "c = 1", "1/2 < c <= 1", "all c"
};

/// The regions in increasing order of s; adjacent pieces with the same verdict are merged. Throws
/// std::invalid_argument as with_value does.
std::vector<PhaseRegion> phase_regions(const AbcParametrization& p, const FreeExponent& f);

}  // namespace tp

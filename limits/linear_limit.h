// The exact Master-Theorem limit of a LINEAR level-1 NETSOR⊤ program (TP4 = Yang & Hu 2021, arXiv
// 2011.14522: Def. 7.3 ZInit/ZNonlin/ZMoment/ZHat/ZDot, Thm 7.4; App. D, Thm D.1 and §8–9 compute linear
// limits exactly — this route does it for any linear program, any depth, W and Wᵀ both allowed).
//
// A program is linear when every Nonlin is affine in its vector operands and every Moment is a polynomial
// of degree ≤ 2 in them (coefficients: any expressions of scalar operands). Then every Z is an affine
// combination of "leaves" and every Moment is a quadratic form in the coefficients:
//
// 1. Leaves: the constant 1, the input vectors (Gram = the group's covariance; groups independent) and one
//    Ẑ leaf per MatMul. Ẑ^{Wx} and Ẑ^{Wx'} (same W, same orientation) have covariance σ_W² E[Z^x Z^{x'}]
//    (ZHat); Wᵀ-uses form a separate family; different families are independent. So the Gram matrix G of
//    the leaves is block diagonal, one block per family, and grows by one row per MatMul.
// 2. Each vector x has coefficients c_x over the leaves: Z^x = Σ_k c_x[k] leaf_k. Nonlin: the affine
//    combination of its operands' coefficients (ZNonlin). MatMul h = W x:
//      c_h = e_{Ẑ^h} + σ_W² Σ_i c_x[Ẑ^{Wᵀ y_i}] · c_{y_i}      (ZDot, TP4 Def. 7.3)
//    over the earlier MatMuls Wᵀ y_i (symmetrically for Wᵀ x): for a linear program ∂Z^x/∂Ẑ^{Wᵀy_i} is
//    exactly the coefficient c_x[Ẑ^{Wᵀy_i}] — the "map back along earlier Wᵀ directions" of DESIGN §4.3,
//    here without orthonormalising, so that no square roots are needed and rationals stay rational.
// 3. E[Z^a Z^b] = c_aᵀ G c_b, E[Z^a] = c_a[1]; a Moment E[p(Z^{x_1},..)] with p of degree ≤ 2 is
//    p(0) + Σ_i ∂_i p · E Z^{x_i} + Σ_ij C_ij E[Z^{x_i} Z^{x_j}] (ZMoment). WidthPower n^e: 0 (e<0), 1 (e=0);
//    e > 0 is refused (RouteUnavailable).
// 4. Arithmetic: exact rationals when every constant is a short rational (continued-fraction denominator
//    ≤ 10^6, or a decimal with ≤ 12 significant digits) and only + − × ÷, integer powers and the
//    piecewise-linear functions (relu, step, abs, sign) act on scalars; otherwise double, with the error
//    estimated as |double − long double| + 2ε|value| (both runs of the same algorithm).
#pragma once

#include <string>
#include <vector>

#include "limits/gaussian_limit.h"
#include "tp/ir.h"

namespace tp::limits {

struct LinearLimitOptions {
  bool exact = true;  ///< try exact rational arithmetic first (falls back to double with a note)
};

struct LinearLimitResult {
  LimitResult limit;                      ///< value per output, route exact; error 0 when exact_arithmetic
  bool exact_arithmetic = false;          ///< true if the values were computed in rationals
  std::vector<std::string> exact_values;  ///< "p/q" per output when exact_arithmetic, else empty
  std::vector<std::string> notes;         ///< why exact arithmetic was not used (if it was requested)
};

/// True if every Nonlin is affine and every Moment of degree ≤ 2 in its vector operands (checked with
/// tp::derivative; a catalogue function applied to a vector operand is non-linear). Otherwise false, and
/// *why (if given) names the first offending value and its line.
bool is_linear_program(const Program& p, std::string* why = nullptr);

/// The infinite-width limit of every output of a linear program (see the steps above). Throws
/// RouteUnavailable for a non-linear program (naming the value and the route that handles it) or a growing
/// width factor, and NumericalError for a division by zero or a non-finite value (naming the value).
LinearLimitResult linear_limit(const Program& p, const LinearLimitOptions& options = {});

}  // namespace tp::limits

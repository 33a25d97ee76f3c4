// Double-exponential quadrature of E g(Z), Z ~ N(0, 1), for g smooth except at known points s_1 < … < s_m where
// it may have a kink or an integrable singularity (log|z − s|, |z − s|^p with p > −1).
//
// The line is cut at the s_i and at 0 into panels; each panel's integral is a trapezoidal sum in t after a change
// of variables that clusters nodes double-exponentially at the panel's ends (Takahasi & Mori, "Double exponential
// formulas for numerical integration", Publ. RIMS 9 (1974); Mori & Sugihara, J. Comput. Appl. Math. 127 (2001)):
//   finite panel [a, b]:   z = (a + b)/2 + (b − a)/2 · tanh(π/2 sinh t)   (tanh-sinh),
//   half-line [a, ∞):      z = a + exp(π/2 sinh t)                         (exp-sinh; (−∞, b] mirrored).
// An endpoint singularity |z − s|^p becomes a summand that decays like exp(−(p + 1) π/4 e^{|t|}), so the sum
// converges exponentially in the number of nodes whatever p > −1 (a Gauss rule on a singular integrand converges
// only algebraically and its refinement difference understates the error, issue #13). The distance to the
// nearer end is computed directly (2·half/(e^{2u} + 1)), not as a difference, so nodes reach within ~1e−300 of an
// end at 0; near an end s ≠ 0 they stop where z can no longer be placed to 1e−4 relative (about 1e4 ulps of s).
//
// Truncation: a side of a panel ends where its weight underflows or its node would coincide with the panel's end.
// The sum over the dropped nodes is estimated from the last two kept summands (|g_N| and |g_{N−1}|: the summands
// decay faster than geometrically there, so T = |g_N| ρ/(1 − ρ) with ρ = |g_N|/|g_{N−1}| bounds the rest); `ends`
// lists the last and second-last node of every side for that estimate. The user adds T/2 in the direction of g_N
// to the sum and T to its error (the rest lies between 0 and T·sign g_N when the summands keep their sign).
#pragma once

#include <span>
#include <utility>
#include <vector>

namespace tp::limits {

struct DoubleExponentialRule {
  std::vector<double> nodes, weights;          ///< Σ_j w_j g(z_j) ≈ E g(Z)
  std::vector<std::pair<int, int>> ends;       ///< per side of each panel: (last node, second-last node), −1 if none
};

/// The rule with step h = 2^−level in t (level 0..16), cut at the breakpoints inside (−40, 40) and at 0.
void double_exponential_normal_rule(std::span<const double> breakpoints, int level, DoubleExponentialRule& out);

/// The truncation estimate for one side from its last two summands' magnitudes (see the header comment):
/// 0 if last == 0, +∞ if the summands do not decrease towards the end.
double truncation_estimate(double last, double second_last);

}  // namespace tp::limits

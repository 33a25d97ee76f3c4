// The exact infinite-width limit of a one-hidden-layer LINEAR network in µP trained by SGD (TP4 Cor. 6.2
// and Thm D.1: a linear µP network is exactly represented by a finite one of width d + d_o; here d_o = 1).
//
// With φ = identity, each coordinate (u, v) ∈ R^{d+1} of the particle picture (limits/mup1_limit.h) moves
// linearly: (u, v) ← M_t (u, v), M_t = [[I_d, −η g_t], [−η g_tᵀ, 1]], g_t = Σ_i χ_i ξ_i, χ_i = (f_t(ξ_i) − y_i)/m.
// So the (d+1)×(d+1) covariance S of (u, v) evolves as S ← M S Mᵀ from S_0 = I and f_t(ξ) = S_{uv}·ξ: a
// finite computation, done here in exact rational arithmetic (every double is a rational, so inputs given
// as decimals are taken exactly; rationals from the command line stay exact).
#pragma once

#include <vector>

#include "tp/rational.h"

namespace tp::limits {

/// f[t][i] = f_t(ξ_i) exactly, t = 0..T. inputs[i] has d entries; targets and lr exact.
std::vector<std::vector<Rational>> linear1_exact(const std::vector<std::vector<Rational>>& inputs,
                                                 const std::vector<Rational>& targets, const Rational& lr, int steps);

}  // namespace tp::limits

// The truncated trapezoidal rule for E g(Z), Z ~ N(0, 1): nodes jh, weights h e^{−(jh)²/2}/√(2π), for the j whose
// weight is ≥ a threshold. For g analytic in the strip |Im z| < a (and of moderate growth) its error is about
// e^{−2πa/h} plus the dropped tails (Trefethen & Weideman, "The exponentially convergent trapezoidal rule",
// SIAM Review 56 (2014), §5), where a Gauss–Hermite rule of order k errs by about e^{−2a√k}: for tanh(√K z),
// with poles at z = ±iπ/(2√K), the trapezoidal rule needs about 2·9.5/h ≈ 60√K·(digits/10) nodes where
// Gauss–Hermite needs k ∝ K·digits². The one integration engine of the smooth-φ routes: the one-hidden-layer
// µP limit (limits/mup1_limit.h) and the MLP kernels (limits/mlp_kernel.h).
#pragma once

#include "limits/split_normal_rule.h"

namespace tp::limits {

/// Nodes jh (j = −J..J, symmetric) and weights h e^{−(jh)²/2}/√(2π), keeping the j with weight ≥ threshold > 0.
NormalRule trapezoid_normal_rule(double h, double threshold);

}  // namespace tp::limits

// Gauss–Hermite quadrature for the standard normal: E_{z~N(0,1)} f(z) ≈ Σ_i w_i f(x_i).
//
// The rule of order n has as nodes x_i the n roots of the probabilists' Hermite polynomial He_n
// (orthogonal for the weight exp(−z²/2)/√(2π)) and Christoffel weights w_i = 1/(n · p_{n−1}(x_i)²) for the
// orthonormal p_j = He_j/√(j!); Σ w_i = 1 and the rule is exact for polynomials of degree ≤ 2n − 1
// (Gautschi, "Orthogonal Polynomials: Computation and Approximation", 2004, §1.4 and §3.1.1;
// Abramowitz & Stegun 25.4.46 in the physicists' normalization).
//
// Nodes and weights are computed in 50-digit binary floating point (Boost.Multiprecision): Golub–Welsch
// eigenvalues of the Jacobi matrix (off-diagonal √j) in double as starting points, then Newton on the
// three-term recurrence p_{j+1} = (x p_j − √j p_{j−1})/√(j+1) until the step is below 1e−45, and only
// then rounded to double. DESIGN.md §4.3 ("Gauss–Hermite for the rest").
#pragma once

#include <vector>

namespace tp::limits {

/// Largest supported order. Beyond about 500 nodes the extreme weights fall below the smallest double.
inline constexpr int max_gauss_hermite_order = 512;

/// A Gauss–Hermite rule for N(0,1). Invariants: nodes ascending and symmetric (x_{n−1−i} = −x_i exactly,
/// x = 0 exactly for odd n), weights positive or underflowed to 0, symmetric, summing to 1 within rounding.
struct GaussHermiteRule {
  int order = 0;
  std::vector<double> nodes;
  std::vector<double> weights;
};

/// The order-n rule, computed once per order and cached for the life of the program (thread-safe; the
/// returned reference stays valid). Throws std::invalid_argument unless 1 <= order <= max_gauss_hermite_order.
const GaussHermiteRule& gauss_hermite_rule(int order);

}  // namespace tp::limits

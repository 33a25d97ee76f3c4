// Quadrature of E g(Z), Z ~ N(0, 1), for g smooth except at known breakpoints (kinks and jumps): Gauss–Legendre
// panels on [−L, L] split at the breakpoints, the density e^{−z²/2}/√(2π) folded into the weights.
//
// Gauss–Hermite rules converge only algebraically (about like k^{−1}) on integrands with a kink, and their
// |Q_k − Q_2k| then understates the error by a factor 2–3 (issue #13 item 1). On each panel g·density is
// smooth, so the n-point Gauss–Legendre rule converges exponentially (Trefethen, "Is Gauss quadrature better
// than Clenshaw–Curtis?", SIAM Review 50 (2008), Thm 4.5: for f analytic in the Bernstein ellipse of parameter
// ρ the error is O(ρ^{−2n})). The truncation to [−L, L] drops P(|Z| > L) = erfc(L/√2): 1.5e−23 · growth of g
// at L = 10.
//
// Gauss–Legendre nodes on [−1, 1]: Newton on the three-term recurrence P_{j+1} = ((2j+1) x P_j − j P_{j−1})/(j+1)
// from Tricomi's initial guesses cos(π(i − 1/4)/(n + 1/2)), weights 2/((1 − x²) P_n'(x)²) (Abramowitz & Stegun
// 25.4.29; Golub & Welsch, Math. Comp. 23 (1969)).
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "tp/expr.h"

namespace tp::limits {

/// The n-point Gauss–Legendre rule on [−1, 1] (cached, thread-safe; 1 ≤ n ≤ 1024).
struct GaussLegendreRule {
  std::vector<double> nodes, weights;
};
const GaussLegendreRule& gauss_legendre_rule(int n);

/// Nodes z_j and weights w_j with Σ w_j g(z_j) ≈ E g(Z), Z ~ N(0, 1): n Gauss–Legendre nodes on each panel of
/// [−L, L] cut at the breakpoints inside it (a breakpoint within 1e−12 of another or of ±L adds no panel).
struct NormalRule {
  std::vector<double> nodes, weights;
};
void split_normal_rule(std::span<const double> breakpoints, int n, double half_width, NormalRule& out);

/// The points x where φ(x) may fail to be smooth: −c/k for every relu, step, abs, sign, sqrt or log of an affine argument
/// k x + c in e. nullopt if such a function has an argument that is not affine in x (its kinks are unknown).
/// An empty list means e is smooth (as far as these functions go).
std::optional<std::vector<double>> breakpoints(const ExprPtr& e);

}  // namespace tp::limits

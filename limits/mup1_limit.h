// The infinite-width limit of a one-hidden-layer MLP in µP trained by SGD, for any φ (TP4 §6.1, Thm 6.1).
//
// In the abc form of tp::preset("mup", 1) (W^1 = n^{1/2} w^1, W^2 = n^{-1/2} w^2, w ~ N(0, 1/n), c = 0),
// write u_α = row α of W^1 (∈ R^d) and v_α = n W^2_α. Then f(ξ) = (1/n) Σ_α v_α φ(u_α·ξ) and one SGD step on
// the batch {(ξ_i, y_i)} with χ_i = ∂L/∂f(ξ_i) = (f(ξ_i) − y_i)/m is, coordinate by coordinate,
//   u ← u − η Σ_i χ_i v φ'(u·ξ_i) ξ_i,   v ← v − η Σ_i χ_i φ(u·ξ_i),
// so as n → ∞ the coordinates become iid "particles" (u, v) started from N(0, I_d) × N(0, 1) and
// f_t(ξ) = E[v_t φ(u_t·ξ)] is deterministic (the Master Theorem for this program; TP4 Eq. (13)–(15)).
// Evaluation: the expectation over the initial Gaussian (u_0, v_0) ∈ R^{d+1} is a tensor Gauss–Hermite rule
// whose nodes are evolved as particles (route quadrature; error = change between orders k and 3k/2), or
// antithetic Monte Carlo particles when d+1 > 4 (route monte_carlo; error = standard error over replicas).
#pragma once

#include <Eigen/Core>
#include <vector>

#include "limits/estimate.h"
#include "tp/expr.h"

namespace tp::limits {

struct Mup1Options {
  int order = 0;             ///< Gauss–Hermite order per dimension; 0 = by dimension (24, 20, 16, 12 for 1..4)
  int max_quadrature_dim = 4;
  long long particles = 1 << 16;  ///< Monte Carlo particles per replica
  int replicas = 8;
};

struct Mup1Limit {
  Route route = Route::quadrature;
  /// f[t][i] = f_t(ξ_i) ± error, t = 0..T (t = 0 is initialization: exactly 0 in µP).
  std::vector<std::vector<Estimate>> f;
};

/// Runs T full-batch SGD steps of the limit. inputs is m × d, targets m. Throws NumericalError if a
/// particle becomes non-finite (naming the step).
Mup1Limit mup1_limit(const ExprPtr& activation, double lr, const Eigen::MatrixXd& inputs, const Eigen::VectorXd& targets,
                     int steps, const Mup1Options& options = {});

}  // namespace tp::limits

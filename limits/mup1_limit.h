// The infinite-width limit of a one-hidden-layer MLP in µP trained by SGD, for any φ (TP4 §6.1, Thm 6.1).
//
// In the abc form of tp::preset("mup", 1) (W^1 = n^{1/2} w^1, W^2 = n^{-1/2} w^2, w ~ N(0, 1/n), c = 0),
// write u_α = row α of W^1 (∈ R^d) and v_α = n W^2_α. Then f(ξ) = (1/n) Σ_α v_α φ(u_α·ξ) and one SGD step on
// the batch {(ξ_i, y_i)} with χ_i = ∂L/∂f(ξ_i) = (f(ξ_i) − y_i)/m is, coordinate by coordinate,
//   u ← u − η Σ_i χ_i v φ'(u·ξ_i) ξ_i,   v ← v − η Σ_i χ_i φ(u·ξ_i),
// so as n → ∞ the coordinates become iid "particles" (u, v) started from N(0, I_d) × N(0, 1) and
// f_t(ξ) = E[v_t φ(u_t·ξ)] is deterministic (the Master Theorem for this program; TP4 Eq. (13)–(15)).
// Evaluation: the expectation over the initial Gaussian (u_0, v_0) ∈ R^{d+1} is a tensor quadrature rule whose
// nodes are evolved as weighted particles (route quadrature), or antithetic Monte Carlo particles when
// d+1 > max_quadrature_dim (route monte_carlo; error = standard error over replicas).
//
// Quadrature, in steps:
//   1. Rule (h_u, h_v): the tensor product of 1-D truncated trapezoidal rules for N(0, 1) (nodes jh, weights
//      h e^{−x²/2}/√(2π); spacing h_u in each u-dimension, h_v in the v-dimension), keeping only the nodes
//      whose product weight is ≥ a cutoff. tanh has poles at ±iπ/(2|ξ|), and for integrands analytic in a
//      strip of half-width a the trapezoidal rule errs by about e^{−2πa/h} (Trefethen & Weideman, SIAM Review
//      56 (2014), §5), where Gauss–Hermite of order k errs by about e^{−2a√k} and stops at order 512.
//   2. Direction-adaptive refinement from (h_u, h_v) = (1/2, 1): both one-direction refinements (h_u/1.5, h_v)
//      and (h_u, h_v/1.5) run, with a cutoff 10× stricter (so the changes also measure what the cutoff
//      dropped); their changes e_u, e_v of f are the state's error indicators per direction, and the
//      candidate of the direction with the larger change becomes the next state. The sharp features of the
//      particle map are directional: v_0 moves u by η χ v_0 φ'(u·ξ) ξ, so at a large learning rate the
//      singularities in v_0 come within about 1/(η |χ| |ξ|²) of the real axis, and which direction limits the
//      accuracy changes from step to step and case to case (issue #13 item 6: tanh, d = 2, m = 3, lr 2, 10
//      steps; refining both directions together, the change from the coarser rule carried that rule's v
//      error, 3.1e-7 at h_u = 0.066, h_v = 0.132, with the next rule over 12M nodes; per direction the same
//      spacings give 4e-9).
//   3. The reported rule's error: e_u + e_v + 64 ε Σ_p w_p |v_p φ_p| (a rounding allowance); its refined
//      direction's error is below that direction's change, the other direction's is the other change. Stop
//      at the first state whose error is ≤ target_error at every (t, i); or, when the next candidates would
//      exceed max_nodes, report the last state with target_met = false. The first pair of candidates always
//      runs.
// The error is an estimate, not a bound: under exponential convergence a refinement's change exceeds the
// finer rule's own error (tested against an independent trapezoid evolution, a node-limited run and Monte
// Carlo).
// A fixed Gauss–Hermite order k (Mup1Options::order) instead runs the orders k and ⌊3k/2⌋ (half the order
// in v) with the same cutoffs; error = their difference.
#pragma once

#include <Eigen/Core>
#include <functional>
#include <vector>

#include "limits/estimate.h"
#include "tp/expr.h"

namespace tp::limits {

struct Mup1Options {
  /// 0 = automatic trapezoidal refinement (steps 1–3 above); k > 0 = Gauss–Hermite orders k and ⌊3k/2⌋
  /// in each u-dimension, whatever error that gives.
  int order = 0;
  double target_error = 1e-10;          ///< automatic: stop when every |Q_h − Q_h'| is at most this
  long long max_nodes = 4'000'000;      ///< automatic: largest rule (kept nodes) that may be run
  double weight_cutoff = 1e-18;         ///< drop nodes with product weight below this (finer rules: stricter)
  int max_quadrature_dim = 4;           ///< quadrature when d + 1 ≤ this, else Monte Carlo
  long long particles = 1 << 16;        ///< Monte Carlo particles per replica
  int replicas = 8;
  /// automatic quadrature: called after each rule is evolved with (particle steps evolved so far, a forecast of
  /// the total: from the rate at which the error has been falling, or the budget's bound 6 × max_nodes × steps
  /// before the first refinement), and with (done, done) at the end. Empty: no calls.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct Mup1Limit {
  Route route = Route::quadrature;
  /// f[t][i] = f_t(ξ_i) ± error, t = 0..T (t = 0 is initialization: exactly 0 in µP); i over the training
  /// points, then the evaluation points.
  std::vector<std::vector<Estimate>> f;
  // Quadrature only (0 / false for Monte Carlo):
  double spacing = 0;         ///< automatic: trapezoid spacing h_u (in u) of the rule whose values are reported
  double coarse_spacing = 0;  ///< automatic: the refined direction's spacing before the last refinement
  double v_spacing = 0;       ///< automatic: trapezoid spacing h_v (in v) of the reported rule
  int order = 0;              ///< fixed order: Gauss–Hermite order of the reported rule (⌊3k/2⌋)
  int coarse_order = 0;       ///< fixed order: the order k it was compared with
  long long nodes = 0;        ///< kept nodes (particles) of the reported rule
  long long total_nodes = 0;  ///< particles evolved over all rules tried
  double max_error = 0;       ///< max over t, i of f[t][i].error
  bool target_met = false;    ///< max_error ≤ target_error
};

/// Runs T full-batch SGD steps of the limit (the first pair of quadrature rules, h = 1/2 and 1/3, always runs). inputs is m × d, targets m;
/// f is also reported at the k rows of eval_inputs (k × d; they do not train), after the m training points. Throws NumericalError if a
/// particle becomes non-finite (naming the step), std::invalid_argument for options out of range
/// (order > 341 since ⌊3k/2⌋ must be ≤ 512, target_error ≤ 0, weight_cutoff outside [0, 1e-12]).
Mup1Limit mup1_limit(const ExprPtr& activation, double lr, const Eigen::MatrixXd& inputs, const Eigen::VectorXd& targets,
                     int steps, const Mup1Options& options = {}, const Eigen::MatrixXd& eval_inputs = {});

}  // namespace tp::limits

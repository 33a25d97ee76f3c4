// Finite-width SGD training of an MLP under an abc-parametrization (TP4 §3): the empirical side of the
// phase compiler. W^l = n^{-a_l} w^l with w^l_{αβ} ~ N(0, n^{-2 b_l}) (w^1 is n×d, w^{L+1} is 1×n), no
// biases, h^1 = W^1 ξ, x^l = φ(h^l), h^{l+1} = W^{l+1} x^l, f = W^{L+1} x^L; loss ½(f − y)² averaged over the
// batch; full-batch SGD on the w's with learning rate η n^{-c}:
//   w^l ← w^l − η n^{-c} ∂L/∂w^l,  ∂L/∂w^l = n^{-a_l} (∂L/∂h^l) (x^{l−1})ᵀ.
// Steps per seed: 1. sample every w^l from its own stream; 2. per step: forward the batch, record the
// sizes at the evaluation input, backward, update; 3. record the sizes after the last update. A NaN or
// infinity anywhere throws tp::NumericalError naming the step, the quantity, the width and the seed.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "tp/expr.h"
#include "tp/mlp_phase.h"

namespace tp::limits {

struct MlpTraining {
  AbcParametrization abc;           ///< depth L = abc.depth()
  ExprPtr activation;               ///< φ in argument 0
  double lr = 0.5;                  ///< η
  Eigen::MatrixXd inputs;           ///< m × d training inputs (row i = ξ_i); row 0 is also the evaluation input
  Eigen::VectorXd targets;          ///< m targets
  int steps = 2;                    ///< T
  double weight_decay = 0;          ///< λ: each step w ← w − η n^{-c} (∂L/∂w + λ w)
};

/// Coordinate sizes of one run: index [t] for t = 0..T (t = 0 is initialization), [l] for l = 1..L.
struct MlpTrace {
  std::vector<std::vector<double>> h_rms;   ///< RMS over coordinates of h^l_t(ξ_0)
  std::vector<std::vector<double>> dh_rms;  ///< RMS of h^l_t(ξ_0) − h^l_0(ξ_0)
  std::vector<double> f;                    ///< f_t(ξ_0)
  std::vector<std::vector<double>> f_all;   ///< f_t(ξ_i) for every training input i
  std::vector<double> df;                   ///< f_t(ξ_0) − f_0(ξ_0)
  std::vector<double> loss;                 ///< training loss at step t (before the update)
};

/// Trains at width n with the given seed. Throws NumericalError on non-finite values, BudgetError if the
/// n×n weights of all layers would exceed memory_budget_bytes.
MlpTrace train_mlp(const MlpTraining& spec, std::size_t n, std::uint64_t seed, double memory_budget_bytes = 8.0 * (1ull << 30));

/// A small fixed data set: m inputs in R^d with iid N(0, 1) coordinates (from a fixed stream, the same for
/// every width and seed) and targets sin(Σ_j ξ_ij).
void default_data(int m, int d, Eigen::MatrixXd& inputs, Eigen::VectorXd& targets);

}  // namespace tp::limits

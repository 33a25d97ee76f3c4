// A network and its training, the level-2 description that scripts (`network { ... }` blocks) and flags
// produce and that tp::unroll lowers to a level-1 Tensor Program (DESIGN.md §3).
//
// An MLP of depth L (TP4 §3): W^l = n^{-a_l} w^l with w^l_{αβ} ~ N(0, n^{-2 b_l}) for l = 1..L+1
// (w^1 is n×d, w^l n×n, w^{L+1} is d_o×n), optional biases (treated as an extra input coordinate fixed to
// 1 in layer 1 and, for hidden layers, as a vector parameter with the layer's a and b), h^1 = W^1 ξ,
// x^l = φ(h^l), h^{l+1} = W^{l+1} x^l, f = W^{L+1} x^L ∈ R^{d_o}.
// Training: T steps of SGD (w ← w − η n^{-c_l} ∇_w L) or Adam / SignSGD in the abcd form of TP4b, optional
// decoupled weight decay, loss mse (½‖f − y‖² averaged over the batch) or softmax cross-entropy.
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include "tp/expr.h"
#include "tp/mlp_phase.h"
#include "tp/source_range.h"

namespace tp {

enum class LossKind { mse, cross_entropy };
enum class BatchMode { full, per_sample, minibatch };

/// Where a script wrote each part of the description, so verdicts can point at lines (invalid = from flags).
struct NetworkSourceMap {
  SourceRange network, parametrization, optimizer, loss, data, train;
  std::vector<SourceRange> layer_exponents;  ///< per layer 1..L+1: where its a_l / b_l (or the preset) was set
};

struct NetworkSpec {
  // Architecture.
  int depth = 1;            ///< L, the number of hidden layers
  int input_dim = 1;        ///< d
  int output_dim = 1;       ///< d_o
  bool biases = false;
  ExprPtr activation;       ///< φ in argument 0
  std::string activation_text = "tanh";

  // Parametrization and optimizer: abc.a, abc.b have L+1 entries; abc.c_l, when not empty, overrides abc.c
  // per layer; abc.optimizer selects SGD / Adam / SignSGD (for Adam/SignSGD the exponent c is TP4b's c).
  AbcParametrization abc;
  double lr = 0.5;          ///< η (the learning rate is η n^{-c_l})
  double weight_decay = 0;  ///< decoupled: w ← w − η n^{-c_l} (update + λ w); 0 = none
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;

  // Loss and data: row i of train_x is ξ_i ∈ R^d; train_y is m × d_o (cross-entropy: one-hot rows or
  // class indices in column 0 when d_o > 1 and train_y has one column).
  LossKind loss = LossKind::mse;
  Eigen::MatrixXd train_x, train_y;
  Eigen::MatrixXd eval_x;   ///< evaluation points (k × d); f_t is reported at these and at the training points

  // Training schedule.
  BatchMode batch = BatchMode::full;
  int batch_size = 0;       ///< minibatch: samples per step, taken cyclically in order
  int steps = 1;            ///< T

  NetworkSourceMap source;
};

/// Cross-entropy with class indices (one target column, d_o > 1): the 0-based row of the first target that
/// is not a whole number in 0..d_o−1, else −1 (also when the targets are not class indices).
Eigen::Index first_bad_class_index(const NetworkSpec& spec);
/// "target i is v, not a class index in 0..d_o−1" for that row (1-based i in the text).
std::string class_index_problem(const NetworkSpec& spec, Eigen::Index row);

/// Checks sizes and values (depth ≥ 1, dims ≥ 1, L+1 exponents, finite data of matching shapes, steps ≥ 0,
/// lr > 0, batch size within the data). Returns "" if valid, else one sentence naming the problem and the fix.
std::string network_problem(const NetworkSpec& spec);

}  // namespace tp

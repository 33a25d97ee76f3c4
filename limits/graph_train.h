// Finite-width training of a graph network (tp/graph.h, issue #14): instantiate a GraphSpec at width n with
// a seed, forward a batch of examples (S positions each), backward by hand (reverse mode over the node list),
// and T steps of SGD / Adam / SignSGD under per-tensor abcd scalings (TP4 §3 abc form; TP4b = Yang & Littwin
// 2023 for entrywise optimizers; TP5 = Yang et al. 2022, arXiv 2203.03466, Table 3 for the tensor kinds).
// The empirical side of the graph phase compiler: the coordinate check (limits/graph_coordcheck.h) fits the
// width exponents of what this records.
//
// Parameters: W = n^{-a} w, w_0 = init_value + σ n^{-b} z with z i.i.d. N(0, 1) from Rng(seed, 1 + p) (p the
// parameter's index; z = 0 when zero_init), filled column-major — so an MLP graph draws exactly what
// limits/mlp_train draws. A tied parameter (GraphSpec::tied) has no values of its own: it is n^{-a} times the
// owner's w (transposed when the shapes are transposed) and its gradient is added to the owner's.
// Update of every owned w (decoupled weight decay, TP5 App. B.3):
//   w ← w − η n^{-c} (Q(g) + λ n^{-wd_exponent} w),  g = ∂L/∂w = n^{-a} ∂L/∂W,
//   Q(g) = g (SGD), sign(g) (SignSGD), m̂ / (√v̂ + ε n^{-d}) (Adam, bias-corrected moments with β1, β2).
// Loss over the batch B of step t: mse ½‖f − y‖² averaged over B, or cross-entropy (binary on one logit,
// softmax over d_o > 1, targets one-hot rows or class indices), as NetworkSpec (tp/network.h).
// Ops (rows of a value are (example, position) pairs, columns its width):
//   embedding/dense  Y = X Wᵀ;  bias Y = X + 1 bᵀ;  activation Y = φ(X) (φ' by tp::derivative);
//   layernorm per row Y = (X − μ)/√(σ² + eps) ⊙ g + β;  rmsnorm Y = X/√(mean X² + eps) ⊙ g;
//   add Y = X0 + m X1, m = branch_scale · L^{-branch_exponent} (TP6);
//   attention per example and head h: A = Q_h K_hᵀ / d_head (or /√d_head), causal mask, P = softmax rows,
//   O_h = P V_h, Y = concat_h(O_h) W_oᵀ with Q = X W_qᵀ etc.;  readout f = pool(X) Wᵀ + b (pool: last position
//   or mean over positions, applied first since both are linear).
// Recorded (mup's coordinate check): at t = 0..T (t = 0 is initialization; t after t updates), on the
// measurement set (eval_x if given, else train_x), for every node but the input the l1 size mean|x_t| and
// mean|x_t − x_0| over examples, positions and width, the same for every attention node's logits (named
// "<node>.logits"), and for every weight matrix the top singular value of W = n^{-a} w.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <string>
#include <vector>

#include "tp/graph.h"

namespace tp::limits {

struct GraphTrainOptions {
  double memory_budget_bytes = 8.0 * (1ull << 30);
  bool singular_values = true;  ///< record the top singular value of every weight matrix
};

/// What one run records; index [t] for t = 0..T.
struct GraphTrace {
  std::vector<std::string> names;               ///< measured quantities: node names (input excluded), "<attn>.logits"
  std::vector<std::vector<double>> l1;          ///< [t][q] mean |x_t|
  std::vector<std::vector<double>> delta_l1;    ///< [t][q] mean |x_t − x_0| (0 at t = 0)
  std::vector<std::string> matrices;            ///< weight matrices (owned, both dimensions > 1)
  std::vector<std::vector<double>> top_singular;///< [t][j] top singular value of n^{-a} w
  std::vector<double> loss;                     ///< [t] training loss on the batch of step t (t < T), on the
                                                ///< measurement set at t = T
};

/// One network at width n: its parameters, a forward pass that keeps what the backward pass needs, the
/// gradient by reverse mode, and the optimizer update. Exposed for the gradient check in the tests.
class GraphNet {
 public:
  /// Samples the parameters. Throws std::invalid_argument for a spec it cannot run (naming the node or
  /// parameter), BudgetError when the estimate of memory for batch_rows (examples × positions) exceeds the budget.
  GraphNet(const GraphSpec& spec, std::size_t width, std::uint64_t seed, Eigen::Index batch_rows,
           double memory_budget_bytes = 8.0 * (1ull << 30));

  /// Forward on the examples `rows` of x (each S consecutive rows of x); returns the loss against the
  /// matching rows of y (y may be empty: loss 0). Node values stay available through value().
  double forward(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, const std::vector<int>& examples);
  /// ∂loss/∂w for every parameter (empty for tied ones, whose gradient goes to the owner) of the last forward.
  std::vector<Eigen::MatrixXd> gradient();
  /// One optimizer update with these gradients (the t-th update, t ≥ 1, for Adam's bias correction).
  void update(const std::vector<Eigen::MatrixXd>& grads, int t);

  const Eigen::MatrixXd& value(int node) const { return values_[static_cast<std::size_t>(node)]; }
  /// Attention logits of the last forward for an attention node: one S × S matrix per (example, head).
  const std::vector<Eigen::MatrixXd>& logits(int node) const;
  /// Raw parameter w (empty for a tied parameter) — mutable for finite differences in tests.
  Eigen::MatrixXd& raw(int p) { return w_[static_cast<std::size_t>(p)]; }
  /// The effective matrix n^{-a} w of parameter p (resolving ties).
  Eigen::MatrixXd effective(int p) const;
  std::size_t width() const { return width_; }

 private:
  const GraphSpec& spec_;
  std::size_t width_;
  std::uint64_t seed_;
  std::vector<double> mult_, lr_, decay_, eps_;
  std::vector<Eigen::MatrixXd> w_, m1_, m2_;
  std::vector<Eigen::MatrixXd> values_;
  std::vector<std::vector<Eigen::MatrixXd>> logits_;   ///< per node (attention only): A per (example, head)
  std::vector<std::vector<Eigen::MatrixXd>> probs_;    ///< per node (attention only): P per (example, head)
  std::vector<Eigen::MatrixXd> aux_;                   ///< per node: layernorm/rmsnorm x̂, attention concat(O)
  std::vector<Eigen::VectorXd> inv_std_;               ///< per node: layernorm/rmsnorm 1/√(...) per row
  std::vector<Eigen::MatrixXd> qkv_;                   ///< per attention node: Q, K, V (3 per node, flattened)
  std::vector<int> qkv_index_;
  Eigen::MatrixXd y_;                                  ///< targets of the last forward
  int batch_ = 0;

  Eigen::Index node_width(int node) const;
  Eigen::Index param_rows(int p) const;
  Eigen::Index param_cols(int p) const;
  int heads(const GraphNode& node) const;
  /// x Wᵀ and x W for the effective W of parameter p, without forming n^{-a} w.
  Eigen::MatrixXd times_transpose(const Eigen::MatrixXd& x, int p) const;
  Eigen::MatrixXd times(const Eigen::MatrixXd& x, int p) const;
  std::vector<Eigen::Index> node_widths_;
};

/// Trains at width n with the seed for spec.training.steps steps and records the trace. Throws
/// NumericalError when a value becomes NaN or infinite (naming the node, step, width, seed), BudgetError
/// over the memory budget, std::invalid_argument for a spec it cannot run.
GraphTrace train_graph(const GraphSpec& spec, std::size_t width, std::uint64_t seed, const GraphTrainOptions& options = {});

/// Top singular value of a matrix: exact (eigenvalues of the small Gram matrix) when min(rows, cols) ≤ 128,
/// else Lanczos on the Gram matrix with full reorthogonalization (40 steps from a fixed start), which
/// converges from below; relative accuracy better than 1e-3 on Gaussian matrices up to 4096 (tested).
double top_singular_value(const Eigen::MatrixXd& m);

}  // namespace tp::limits

// A network as a graph of named layers (issue #14): embeddings, dense layers, biases, layer norm, residual
// additions, attention over a finite number of positions, readout — the building blocks of a Transformer,
// with a parametrization per parameter tensor and SGD / Adam / SignSGD training.
//
// This header is the contract between the level-2 language (frontend/network_script: `network graph { ... }`
// lowers to a GraphSpec), the phase compiler (per-tensor width exponents) and the finite-width trainer and
// coordinate check (limits/graph_train). It holds data only; graph_problem() validates it.
//
// Values. Every node's value, for one example, is a matrix with S rows (positions; S = 1 for an MLP) and a
// width: n for width-like nodes, a finite number otherwise (the input, the readout). One example is
// ξ ∈ R^{S×d}; a batch is a list of examples. A node's value is computed position by position except for
// attention, which mixes positions (softmax over the S keys, optionally causal).
//
// Parameters (TP4 §3 abc form, TP4b for entrywise optimizers; TP5 = Yang et al. 2022, "Tensor Programs V",
// arXiv 2203.03466, Table 3 for the tensor kinds): a parameter tensor is W = n^{-a} w with w initialized
// i.i.d. N(0, (σ n^{-b})²) (or zero), and trained with learning rate η n^{-c} (SGD: w ← w − η n^{-c} ∇_w L;
// Adam/SignSGD: w ← w − η n^{-c} Q(∇_w L) with Q entrywise). Decoupled weight decay λ n^{-e} per tensor:
// w ← w − η n^{-c} (update + λ n^{-e} w). The kind says which dimensions grow with n:
//   input_like  (finite → n: embedding, first dense layer, input biases' weights)   fan-in finite, fan-out n
//   hidden      (n → n: dense, attention query/key/value/output)                   fan-in n, fan-out n
//   output_like (n → finite: readout)                                               fan-in n, fan-out finite
//   vector_like (a vector of n entries: bias, layer-norm gain and bias)             one dimension n
//   scalar_like (a finite number of entries: the readout bias)                      none
#pragma once

#include <Eigen/Core>
#include <string>
#include <vector>

#include "tp/mlp_phase.h"  // Optimizer
#include "tp/network.h"    // LossKind, BatchMode
#include "tp/rational.h"
#include "tp/source_range.h"

namespace tp {

enum class TensorKind { input_like, hidden, output_like, vector_like, scalar_like };

/// The width scaling of one parameter tensor (exponents exact, constants finite).
struct TensorScaling {
  Rational a, b, c;          ///< multiplier n^{-a}, init std σ n^{-b}, learning rate η n^{-c}
  Rational d;                ///< TP4b's d: Adam's ε is eps·n^{-d} (0 = width-independent ε)
  Rational wd_exponent;      ///< decoupled weight decay λ n^{-wd_exponent} (0 = width-independent λ)
  double init_std = 1.0;     ///< σ; ignored when zero_init
  bool zero_init = false;    ///< w_0 = 0 (e.g. TP5's zero-initialized query or readout)
  /// (addition, archphase) Whether the phase compiler compares Adam's ε n^{-d} with the gradient entries
  /// (TP4b's abcd). false: ε is taken as negligible (ε → 0 before n → ∞, tp/mlp_phase's assumption), so d
  /// is not used; true: an ε that dominates the gradient entries makes the update SGD-like.
  bool eps_modelled = false;
};

/// One parameter tensor. Shapes in terms of the width n: rows/cols are either a finite number or n
/// (rows_width / cols_width true). Weight matrices map a row vector x (1 × fan_in) to x Wᵀ (1 × fan_out),
/// so rows = fan_out and cols = fan_in; vectors have cols = 1.
struct GraphParameter {
  std::string name;          ///< "embed", "block1.attn.q", "block2.ln1.gain", ... (unique)
  TensorKind kind = TensorKind::hidden;
  int rows = 0, cols = 0;    ///< finite sizes; ignored where the matching *_width flag is set
  bool rows_width = false, cols_width = false;
  TensorScaling scaling;
  double init_value = 0;     ///< vector_like / scalar_like: the constant initial value (e.g. 1 for a gain)
                             ///< added to the random part; a layer-norm gain starts at 1, a bias at 0.
                             ///< (archphase) It is the initial value of the effective tensor n^{-a} w, i.e.
                             ///< w_0 = n^{a}·init_value + σ n^{-b} g, so a gain starts at 1 in every form.
  SourceRange range;         ///< where the script declared it (or the preset that set its exponents)
};

enum class GraphOp {
  input,       ///< the example ξ (S × d); exactly one node, first
  embedding,   ///< x ↦ x Wᵀ, W input_like n × d (for token ids, ξ holds one-hot rows and d is the vocabulary)
  dense,       ///< x ↦ x Wᵀ, W hidden n × n
  bias,        ///< x ↦ x + 1 bᵀ, b vector_like (n)
  activation,  ///< coordinatewise φ (expression in argument 0, as NetworkSpec::activation)
  layernorm,   ///< per position: (x − mean x) / sqrt(var x + eps) ⊙ gain + bias (gain, bias vector_like)
  rmsnorm,     ///< per position: x / sqrt(mean x² + eps) ⊙ gain
  add,         ///< residual: inputs[0] + multiplier · inputs[1] (multiplier = branch_scale · L^{-branch_exponent})
  attention,   ///< multi-head self-attention over the S positions of inputs[0], params q, k, v, o (hidden)
  readout,     ///< x ↦ x Wᵀ (+ b), W output_like d_o × n, b scalar_like (optional); then pooled over positions
};

enum class LogitScale { inverse_d, inverse_sqrt_d };  ///< attention logits q·k / d_head (µP) or / √d_head (SP)
enum class Pooling { last, mean };                      ///< readout: the last position's output or the mean

struct GraphNode {
  std::string name;                 ///< unique, e.g. "block1.attn"; used in tables and error messages
  GraphOp op = GraphOp::input;
  std::vector<int> inputs;          ///< indices of earlier nodes (the graph is stored in topological order)
  std::vector<int> params;          ///< indices into GraphSpec::params, in the order the op documents:
                                    ///< embedding/dense {W}; bias {b}; layernorm {gain, bias} (each optional,
                                    ///< absent = −1); rmsnorm {gain}; attention {q, k, v, o}; readout {W, b or −1}
  // op details
  ExprPtr activation;               ///< activation: φ in argument 0
  std::string activation_text;
  double norm_eps = 1e-5;           ///< layernorm / rmsnorm
  double branch_scale = 1;          ///< add: constant multiplier of the branch
  Rational branch_exponent;         ///< add: the branch is also multiplied by depth^{-branch_exponent} (TP6)
  int heads = 1;                    ///< attention: number of heads when head_dim_width (d_head = n / heads) ...
  int head_dim = 0;                 ///< ... or the fixed d_head when !head_dim_width (heads = n / head_dim)
  bool head_dim_width = true;       ///< true: d_head grows with n, fixed number of heads
  LogitScale logit_scale = LogitScale::inverse_d;
  bool causal = false;              ///< attention: position s attends to positions ≤ s
  Pooling pooling = Pooling::last;  ///< readout
  SourceRange range;                ///< the node's line in the script
};

/// The optimizer of the whole graph (per-tensor learning rates are in TensorScaling::c).
struct GraphTraining {
  Optimizer optimizer = Optimizer::sgd;
  double lr = 0.1;                  ///< η
  double weight_decay = 0;          ///< λ (decoupled; scaled per tensor by n^{-wd_exponent})
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  ///< Adam
  LossKind loss = LossKind::mse;
  BatchMode batch = BatchMode::full;
  int batch_size = 0;
  int steps = 1;                    ///< T
};

struct GraphSpec {
  int positions = 1;                ///< S
  int input_dim = 1;                ///< d (per position)
  int output_dim = 1;               ///< d_o
  int depth = 1;                    ///< L, the number of repeated blocks (for add's depth^{-branch_exponent})
  std::vector<GraphNode> nodes;     ///< topological order; nodes[0] is the input; the last node is the readout
  std::vector<GraphParameter> params;
  std::vector<int> tied;            ///< per parameter: −1, or the index of the parameter it shares values with
                                    ///< (the readout tied to the embedding: W_out = W_embᵀ up to its own a)
  GraphTraining training;
  // Data: example i is rows [i·S, (i+1)·S) of train_x (S × d each); train_y is m × d_o (or class indices).
  Eigen::MatrixXd train_x, train_y, eval_x;
  SourceRange source;               ///< the network block
};

/// A predicted coordinate size (the phase compiler's output that the coordinate check measures): the value
/// of node `node` at step t (0 = initialization, t ≥ 1 after t updates) — or, when delta, its change
/// x_t − x_0 — has coordinates of typical size Θ(n^exponent) (mup's `l1` statistic: mean |coordinate|,
/// over positions, examples and width). known = false where no exponent is predicted (e.g. after the first
/// blow-up of an unstable network); exponent = −infinity is written as known with vanishes = true (the
/// quantity is exactly 0, e.g. Δ of a zero-initialized tensor's output before its first update).
struct PredictedSize {
  std::string node;
  int step = 0;
  bool delta = false;
  bool known = true;
  bool vanishes = false;
  Rational exponent;
};

// ---- additions (branch archphase): presets, names, weight-decay rules ----

std::string_view tensor_kind_name(TensorKind k);  ///< "input_like", "hidden", "output_like", ...
std::string_view graph_op_name(GraphOp op);       ///< "input", "embedding", "dense", ...

/// TP5's three equivalent forms of a parametrization, told apart by the multipliers n^{-a} they use:
///   table3: no multipliers (a = 0 for every kind): init variance and learning rate carry the scaling
///           (TP5 Table 3, the main µP table);
///   table8: a = 0 except the output weights' multiplier 1/fan_in (a = 1) (TP5 Table 8, the `mup` package
///           form, which lets the readout be tied to the embedding);
///   table9: input weights and biases √fan_out (a = −1/2), hidden a = 0, output 1/√fan_in (a = 1/2) — TP4's
///           abc form (TP5 Table 9).
/// One form becomes another by the symmetry a + θ, b − θ, c − 2θ (SGD) or c − θ (Adam/SignSGD) per tensor
/// (TP4 Eq. 5, TP5 Lemma J.1), so all three give the same function and training dynamics.
enum class PresetForm { table3, table8, table9 };
std::string_view preset_form_name(PresetForm f);

/// The exponents of a named parametrization for one tensor kind, in the given form, for the optimizer:
///   "mup" (TP5 Table 3: input weights & biases var 1/fan_in, SGD lr η·fan_out, Adam lr η; hidden var
///          1/fan_in, SGD lr η, Adam lr η/fan_in; output var 1/fan_in², SGD and Adam lr η/fan_in),
///   "sp"  (var 1/fan_in everywhere, lr η for SGD and Adam; TP5 Table 3's gray SP column),
///   "ntp" (multipliers 1/√fan_in on hidden and output weights, var 1, lr η).
/// Scalar-like tensors (the readout bias) are Θ(1) with lr η in every preset. Throws std::invalid_argument
/// for an unknown name (naming the presets).
TensorScaling tensor_preset(std::string_view preset, PresetForm form, Optimizer o, TensorKind k);
const std::vector<std::string>& graph_preset_names();  ///< sp, ntp, mup

/// A tensor's scaling moved along the symmetry: a + θ, b − θ, c − 2θ (SGD) or c − θ (Adam/SignSGD);
/// for Adam/SignSGD also d + θ (TP4b: ε is compared with the gradient entries of w, which scale like n^{-θ}).
TensorScaling shift_scaling(const TensorScaling& s, Optimizer o, const Rational& theta);

/// Decoupled weight decay rules (the exponent e of λ n^{-e}; the per-step shrink of w is η λ n^{-(c+e)}):
///   independent:  e = 0 (λ width-independent, the default);
///   lr_invariant: e = −c, so η n^{-c} · λ n^{-e} is width-invariant (TP5 App. B.3, TP4b; with torch's
///                 AdamW, whose decay is lr·λ, this is λ ∝ n for hidden weights under Adam µP);
///   fan2025:      e = −1/2 for hidden and output weights (λ ∝ √n with η ∝ 1/n: Fan et al. 2025, "Robust
///                 Layerwise Scaling Rules by Proper Weight Decay Tuning", which keeps the steady-state top
///                 singular value √(η/λ)·n^{3/4} width-invariant), e = −c for the other kinds.
enum class DecayRule { independent, lr_invariant, fan2025 };
Rational decay_exponent(DecayRule rule, TensorKind k, const TensorScaling& s);

/// The checks of graph_problem that need a width: attention heads dividing n (n / heads or n / head_dim
/// whole). Returns "" or one sentence naming the node and the fix.
std::string width_problem(const GraphSpec& spec, long long n);

/// Checks the graph (topological order, arities, parameter kinds and shapes, heads dividing, a readout last,
/// data shapes) and returns "" if valid, else one sentence naming the node or parameter and the fix.
std::string graph_problem(const GraphSpec& spec);

}  // namespace tp

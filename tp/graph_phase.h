// The phase of a graph network (tp/graph.h) per parameter tensor: a size calculus that propagates width
// exponents op by op through the forward pass, the backward pass and the optimizer's entrywise update, for
// T steps and on to the fixed point where the exponents stop changing (DESIGN.md "Phase of graph networks"
// has the rule of every op and the Tensor Programs theorem that covers it).
//
// Sizes. Every tracked quantity — a node's value, and inside an attention its queries, keys, values and
// logits — has coordinates Θ(n^s) at initialization and a change x_t − x_0 of Θ(n^{s_t}) after t steps
// (s = −∞, "vanishes", when it is exactly 0). The arithmetic is tp/size_exponent's (TP4 App. H): sums take
// the largest exponent (no cancellation), a sum over n coordinates adds 1/2 when its terms are independent
// (CLT: W_0 x at init, W_0ᵀ dy by TP3's gradient independence) and 1 when they are correlated (LLN: the
// update ΔW applied to the inputs it was built from, the readout's W_0 applied to Δx, q·Δk).
// Updates (TP4 for SGD, TP4b for Adam/SignSGD): with W = n^{-a} w and learning rate η n^{-c}, one step
// moves the entries of W by n^{-a-c} · Q where Q is the gradient entry n^{-a}·dy·x (SGD) or Θ(1) (Adam,
// SignSGD: entrywise normalized; with a modelled ε n^{-d}, min(1, gradient / ε)), and 0 when the gradient
// is exactly 0 (e.g. behind a zero-initialized tensor before its first update).
//
// Verdicts (TP4 Def. 3.1 and Thms 3.3–3.8, generalized from the MLP): the network is unstable if some
// tracked quantity blows up (exponent > 0) at some step — the first one, in step then graph order, is
// named with the tensor whose term dominates it — or if a width-n value that feeds a layer is not Θ(1) at
// initialization (TP4's stability asks Θ(1) features; a residual branch may vanish); otherwise trivial if
// the output never moves by Θ(1), feature learning if some width-n node moves by Θ(1), else kernel.
// A tensor is updated maximally if its update's effect ΔW x is Θ(1) at some step, and learns features if
// its output W x has width n and moves by Θ(1). For an MLP written as a graph every verdict and exponent
// equals tp/mlp_phase's (tested over random abc values, SGD and Adam).
#pragma once

#include <string>
#include <vector>

#include "tp/graph.h"
#include "tp/mlp_phase.h"  // Regime
#include "tp/size_exponent.h"

namespace tp {

/// The phase of one parameter tensor.
struct TensorPhase {
  int param = -1;             ///< index into GraphSpec::params
  std::string name, node;     ///< the tensor and the node that uses it
  std::string output;         ///< the quantity it produces (W x): the node, or "attn.q" inside an attention
  SizeExp init_output;        ///< its term at init, W_0 x_0 (nullopt: exactly 0, e.g. zero-initialized)
  SizeExp update_effect;      ///< the largest size of its update's effect ΔW x over the steps (nullopt: never moves)
  int update_step = 0;        ///< the first step where update_effect is reached (0 if never updated)
  bool updated_maximally = false;  ///< update_effect = 0 (Θ(1))
  bool learns_features = false;    ///< stable, output has width n and moves by Θ(1)
  std::string decay;          ///< what its weight decay does (empty without weight decay)
  SourceRange range;          ///< where the script declared it (or the node's line)
};

/// The result of graph_phase.
struct GraphPhase {
  bool stable = false;
  Regime regime = Regime::unstable;
  /// Unstable: the first blow-up (or degenerate init), as a sentence naming the quantity, tensor and step.
  std::string first_problem;
  std::string first_tensor;   ///< the tensor whose term dominates the first blow-up ("" if none names it)
  int first_step = -1;        ///< its step (0 = init)
  SourceRange first_range;    ///< its script line
  std::vector<std::string> problems;  ///< every blow-up / degenerate quantity (first step each)
  std::string regime_reason;  ///< e.g. "'block1.mlp' moves by Θ(1): features are learned"
  std::vector<TensorPhase> tensors;
  /// Every graph node (and attention's q, k, v, logits as "<node>.q" …) at steps 0..T: the value (delta
  /// false) and, for t ≥ 1, its change (delta true). known = false after the first blow-up.
  std::vector<PredictedSize> sizes;
  int fixed_point = 0;        ///< the step from which the exponents no longer change (the verdict holds for all t)
};

/// Analyses a valid graph (graph_problem(spec) == ""). Throws std::invalid_argument if it is not, or if the
/// predicted sizes of T steps would exceed 2·10^6 entries (about 200 MiB).
/// A readout tied to the embedding (GraphSpec::tied) uses the embedding's w: its init (b, σ, zero init),
/// learning rate c, ε and weight decay are the embedding's, its multiplier n^{-a} its own; w's update is
/// driven by the sum of both gradients; at init the readout's w_0ᵀ meets the embedding's w_0 ξ carried by
/// the residual stream, a sum of n correlated terms (LLN) instead of the untied CLT sum. TP5's Table 8 form
/// (output multiplier 1/fan_in, input and output weights with the same init and learning rate) is the µP
/// form that ties; in Table 3's form a tied readout has multiplier 1 and its output blows up.
GraphPhase graph_phase(const GraphSpec& spec);

/// "n^(1/2)", "n^0", "0" (vanishes) for a size exponent.
std::string size_text(const SizeExp& s);

}  // namespace tp

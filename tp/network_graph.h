// An MLP network script (tp::NetworkSpec, `network mlp`) as a graph network (tp::GraphSpec) with the same function,
// parametrization, training and data, so that the graph tools serve MLP scripts under every optimizer (issue #14:
// the MLP "becomes one case of the graph"): the IR route's unroll of Adam, AdamW and SignSGD through TP4b's outer
// nonlinearity (NE⊗OR⊤, arXiv 2308.01814; tp/graph_unroll.h) and the coordinate check's finite-width training
// (limits/graph_train.h). tp::unroll writes SGD only.
//
// The graph: input → embedding "h^1" (input-like: a_1, b_1, c_1) → φ "x^1" → dense "h^l" (hidden: a_l, b_l, c_l)
// → φ "x^l" … → readout "f" (output-like: a_{L+1}, b_{L+1}, c_{L+1}). With `bias`, layer l's product is "Wx^l" and
// "h^l" adds a vector-like bias parametrized like the input weights it is one of in TP4 (a = a_1, c = c_1, and
// b = −a_1 so that it starts N(0, 1) as in tp::unroll), and the readout adds a scalar-like bias that starts at 0.
// Decoupled weight decay λ keeps TP4's rule ρ = 1 − ηλ n^{-c_l} (exponent 0 beside c_l); Adam's ε is negligible
// (eps_modelled false), the closed form's assumption (tp/mlp_phase.h).
#pragma once

#include "tp/graph.h"
#include "tp/network.h"

namespace tp {

/// The graph of spec (valid: network_problem(spec) == ""); graph_problem of the result is "".
GraphSpec network_graph(const NetworkSpec& spec);

/// The optimizer, loss, schedule and data of a script into a graph (a graph script's blocks other than its network
/// and parametrization are lowered as an MLP script's).
void copy_training(const NetworkSpec& spec, GraphSpec& g);

/// The graph node of an MLP phase quantity: "h^2_0" → {"h^2", step 0, value}, "Δh^1_1" → {"h^1", 1, change},
/// "Δh^1_t" → {"h^1", t_general, change}, "f_0" / "Δf_1" / "Δf_t" likewise on "f". False for other quantities.
struct GraphQuantity {
  std::string node;
  int step = 0;
  bool delta = false;
};
bool graph_quantity(const std::string& mlp_quantity, int t_general, GraphQuantity& out);

}  // namespace tp

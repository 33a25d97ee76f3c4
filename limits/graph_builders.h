// Small GraphSpec builders for tests, benches and the coordinate check until scripts describe graphs
// (issue #14): an MLP as a graph (the same network limits/mlp_train trains) and a pre-LN Transformer block
// (embedding, layer norm, multi-head attention, residual, layer norm, MLP with a bias, residual, readout),
// with the per-kind scalings of TP5 Table 3 (Yang et al. 2022, arXiv 2203.03466) in the abc form with a = 0.
#pragma once

#include "limits/mlp_train.h"
#include "tp/graph.h"

namespace tp::limits {

/// Exponents per tensor kind (TP5 Table 3: input weights and biases / hidden weights / output weights;
/// vector_like covers layer-norm gains and biases and the MLP bias).
struct KindScalings {
  TensorScaling input, hidden, output, vector;
};

/// TP5 Table 3 with Adam (abc form, a = 0): input b = 0, c = 0; hidden b = 1/2, c = 1; output b = 1, c = 1;
/// vectors c = 0 (init constant).
KindScalings mup_adam_scalings();
/// Standard parametrization with Adam at a width-independent learning rate: input b = 0; hidden and
/// output b = 1/2 (init variance 1/fan_in); c = 0 everywhere.
KindScalings sp_adam_scalings();

struct TransformerBlockOptions {
  int positions = 4;        ///< S
  int input_dim = 3;        ///< d
  int output_dim = 1;       ///< d_o
  int examples = 4;         ///< m training examples (N(0, 1) inputs from a fixed stream; targets sin(Σ of the last position))
  int heads = 2;            ///< d_head = n / heads
  LogitScale logit_scale = LogitScale::inverse_d;
  bool causal = true;
  bool zero_query = false;  ///< TP5's zero-initialized query
  bool rms = false;         ///< rmsnorm (gain only) instead of layernorm
  Pooling pooling = Pooling::last;
  KindScalings scalings = mup_adam_scalings();
  GraphTraining training;   ///< defaults: Adam, lr 0.01, mse, full batch, 2 steps
  TransformerBlockOptions() {
    training.optimizer = Optimizer::adam;
    training.lr = 0.01;
    training.steps = 2;
  }
};

/// Nodes: input, embed, ln1, attn, res1, ln2, fc1, fc1.bias, act (relu), fc2, res2, readout.
GraphSpec transformer_block(const TransformerBlockOptions& options);

/// The MLP of limits/mlp_train as a graph (S = 1): nodes h^1 (embedding), x^1, h^2 (dense), ..., f
/// (readout); parameters in the order w^1, ..., w^{L+1}, so both draw the same initial weights.
GraphSpec mlp_graph(const MlpTraining& spec);

}  // namespace tp::limits

// The entrywise optimizer updates of the IR route for graph networks (tp/graph_unroll.h): Adam, AdamW's Adam part
// and SignSGD written as expressions of the accumulated gradient entries — TP4b's outer nonlinearity (Yang &
// Littwin 2023, "Tensor Programs IVb: Adaptive Optimization in the Infinite-Width Limit", arXiv 2308.01814: the NE⊗OR⊤ rule
// y_α = (1/n) Σ_β ψ(g_α; x_β) z_β) for width × width matrices, and an ordinary Nonlin for tensors with a finite
// dimension (vectors, embedding columns, readout rows: ψ of Θ(1)-many scalars per coordinate).
//
// After t updates a tensor's accumulated change is Δw_t = −η n^{-c} Σ_{u=1..t} ψ_u with, for Adam (the update of
// limits/graph_train.cpp: bias-corrected moments),
//   m_u = Σ_{τ<u} (1−β1) β1^{u−1−τ} G_τ,   v_u = Σ_{τ<u} (1−β2) β2^{u−1−τ} G_τ²,
//   ψ_u = m_u/(1−β1^u) / (sqrt(v_u/(1−β2^u)) + ε n^{-d}),
// and ψ_u = sign(G_{u−1}) for SignSGD, where G_τ is the gradient entry of w at step τ (for a matrix,
// G_τ[α,β] = n^{-a} Σ_j g_{τ,j,α} x_{τ,j,β} over the examples and positions j of step τ).
#pragma once

#include <vector>

#include "tp/expr.h"
#include "tp/graph.h"
#include "tp/ir.h"
#include "tp/size_exponent.h"

namespace tp {

/// Operands of an outer nonlinearity: arg(v, column) is the argument standing for v_α (row) or v_β (column).
struct OuterArgs {
  std::vector<ValueId> ids;
  std::vector<bool> column;
  ExprPtr arg(ValueId v, bool col);
};

/// Σ_{u=1..t} ρ^{t−u} ψ_u for t = grads.size(): the accumulated entrywise update direction of Adam or SignSGD from
/// the gradient entries G_0..G_{t−1} (nullptr: exactly zero at that step); eps is ε n^{-d} (Adam only); rho is the
/// decoupled weight decay's per-step factor 1 − η λ n^{−c−e} (nullptr: no decay), so w_t = ρ^t w_0 − η n^{-c}·this.
/// nullptr when every gradient is zero (no update). SGD is not entrywise and is refused (std::invalid_argument).
ExprPtr entrywise_update_sum(const GraphTraining& training, const std::vector<ExprPtr>& grads, const ExprPtr& eps,
                             const ExprPtr& rho = nullptr);

/// The width exponent of ψ's entries given the exponent gamma of the gradient entries (nullopt: zero): Θ(1) with
/// ε taken as negligible (ε → 0 before n → ∞); with a modelled ε n^{-d} (TP4b's d), min(0, γ + d) — the rule of
/// tp::graph_phase, so the two routes share it.
SizeExp entrywise_update_size(const TensorScaling& scaling, const SizeExp& gamma);

}  // namespace tp

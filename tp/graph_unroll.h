// tp::unroll_graph: a graph network (tp/graph.h) and T steps of its training (SGD, Adam, SignSGD, weight decay)
// written as one level-1 program (NETSOR⊤; NE⊗OR⊤ with Adam/SignSGD), with the width exponent of every value
// propagated op by op as the program is built — the
// IR route of `tpc phase` for graphs (issue #14), the same route tp::unroll takes for MLPs (TP4 App. H.3–H.4).
//
// Program form (every width factor an explicit WidthPower n^e; one value per node, example and position):
//   dense W (n×n)        W_0 = σ n^{1/2-(a+b)} M, M an InitMatrix with N(0, 1/n) entries; after updates
//                        W_t y = W_0 y + Σ_{τ<t} Σ_{i,s} (−η n^{1-c-2a}) g_{τ,i,s} avg(x_{τ,i,s} y)  (rank-one terms,
//                        TP4 App. H: ΔW = −η n^{-c-2a} Σ g xᵀ), and W_tᵀ z alike with the roles of g and x swapped;
//   embedding W (n×d)    W_0 ξ = σ n^{-(a+b)} Σ_j ξ_j u_j (u_j InitVectors), updates −η n^{-c-2a} Σ g (ξ_{τ,s} · ξ);
//   bias, gains (n)      b_t = init_value + σ n^{-(a+b)} β + Σ_τ (−η n^{-c-2a}) Σ g  (β an InitVector);
//   readout (d_o×n)      row k: r_{k,0} = σ n^{-(a+b)} v_k, f_k = Σ_s π_s n·avg(r_k x_s) (+ bias), π the pooling;
//   layernorm / rmsnorm  μ = avg(x), m = avg(x²) (Moments), x̂ = (x − μ)(m − μ² + ε)^{-1/2} (Nonlin with scalar
//                        parameters — NETSOR⊤'s Nonlin⁺, TP2 §3 / TP4 Def. 7.1), y = x̂ ⊙ γ + β;
//   attention (H heads, d_head = n/H)  head masks m_h = 1[Φ(z) ∈ [h/H, (h+1)/H)] (a Nonlin of an InitVector z:
//                        coordinate-iid head labels), logits ℓ_{h,s,r} = κ n^{e}·avg(m_h q_s k_r) (Moments; 1/d:
//                        κ = H, e = 0; 1/√d: κ = √H, e = 1/2), softmax over the ≤ S attended positions (ScalarExpr
//                        of finitely many Moments), z_s = Σ_h m_h Σ_r A_{h,s,r} v_r (Nonlin with scalar parameters);
//   backward             the exact gradients of the loss (mse ½(f−y)² or cross-entropy), as Nonlins, MatMuls by Mᵀ
//                        and Moments; the layer-norm backward r(dx̂ − avg dx̂ − x̂ avg(dx̂ x̂)); attention's dA, dℓ.
// Sizes (tp/size_exponent.h arithmetic, DESIGN.md "The IR route for graph networks"): each vector value carries
// the exponent of its step-0 counterpart (init) and of its change since step 0 (delta); MatMul by a Gaussian M
// keeps both (CLT); a product adds (Δ(ab) = a_0Δb + Δa b_0 + ΔaΔb); φ(h) by tp::activation_size; Moments add
// their factors' exponents (LLN), 1/2 less at step 0 where the factors come from independent Gaussians (the
// readout's avg(v x), the logits' avg(q k), attention's avg(dz v)) — the CLT of the Master Theorem.
// Adam / SignSGD (graph_unroll_update.h): a width × width matrix's accumulated update applied to a vector is TP4b's
// outer nonlinearity (an OuterNonlin value, y_α = avg_β Ψ(g_α; x_β) y_β); tensors with a finite dimension are updated
// by Nonlins of their gradient history. Not in this route (refused with the reason): decoupled weight decay, attention
// with a fixed head dimension (the number of heads grows with n: a logit is an average of finitely many coordinates,
// not a Moment — not a NETSOR⊤ program), tied readout.
#pragma once

#include <string>
#include <vector>

#include "tp/graph.h"
#include "tp/graph_phase.h"
#include "tp/ir.h"
#include "tp/size_exponent.h"

namespace tp {

struct GraphUnrollOptions {
  int steps = -1;                                    ///< T to unroll (−1: the spec's training steps)
  double memory_budget_bytes = 8.0 * (1ull << 30);   ///< refuse over this estimate (tp::BudgetError)
  std::string budget_flag;                           ///< named in the refusal ("" = none)
};

struct GraphUnrolled {
  Program program;
  int steps = 0;                    ///< T unrolled
  std::vector<SizeExp> init, delta; ///< per value: exponent of its step-0 counterpart, and of its change
  /// Per graph node (and "<attention>.q/.k/.v/.logits") and step 0..T: the value (delta false) and, for t ≥ 1,
  /// its change (delta true), the largest over examples and positions — the layout of GraphPhase::sizes.
  std::vector<PredictedSize> sizes;
};

/// "" when the IR route can unroll spec, else the reason it cannot (one sentence).
std::string graph_unroll_unsupported(const GraphSpec& spec);

/// The memory of the unrolled program in bytes (about 400 bytes per operand term; the forward pass of step t has
/// a term per earlier update at every position, so it grows like examples² × positions² × steps² × nodes).
double graph_unroll_memory_estimate(const GraphSpec& spec, int steps);

/// spec with its data replaced by one generic example (1 in every input coordinate of a position where some
/// example is nonzero; target 1, or the first target for cross-entropy), full batch — the argument of
/// tp/representative_point.h: the rules see data only as zero or nonzero and sums over examples take the
/// largest term, so one generic example has the exponents of the whole data set.
GraphSpec graph_representative_spec(const GraphSpec& spec);

/// Unrolls spec (valid: graph_problem(spec) == ""). Throws std::invalid_argument naming the reason for specs
/// graph_unroll_unsupported refuses, tp::BudgetError over options.memory_budget_bytes (with the figure).
GraphUnrolled unroll_graph(const GraphSpec& spec, const GraphUnrollOptions& options = {});

/// The comparison of the IR route with tp::graph_phase: every predicted size of both, steps 0..T of the IR
/// route, in step then graph order, up to and including the first quantity that blows up (exponent > 0) in
/// either route (past it the two routes need not agree: neither follows a blow-up).
struct GraphRouteComparison {
  bool agree = true;
  int compared = 0;
  std::vector<std::string> mismatches;  ///< "'block1.ln' step 2 change: graph n^-1, IR n^(-1/2)"
};
GraphRouteComparison compare_graph_routes(const GraphSpec& spec, const GraphPhase& phase, const GraphUnrolled& ir);

}  // namespace tp

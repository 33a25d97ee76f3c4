// tp::unroll: an MLP and T steps of its SGD training (tp/network.h) written as one level-1 NETSOR⊤ program
// (TP4 = Yang & Hu 2021, App. H.3–H.4: forward, backward and weight updates as a Tensor Program, with every
// update of a weight matrix kept as rank-one terms W_t x = W_0 x + Σ_s ΔW_s x and ΔW_s x = (vector)·avg(...)).
//
// Program variables (every width-dependent factor is an explicit WidthPower n^e, so one program runs at
// finite width — exactly the SGD of the network, up to floating point — and has a limit as n → ∞):
//   u_j (j = 1..d)   columns of W^1_0 in units n^{-(a_1+b_1)}:   W^1_0 = n^{-(a_1+b_1)} [u_1 … u_d], u_j ~ N(0, 1)
//   M^l (l = 2..L)   W^l_0 = n^{1/2-(a_l+b_l)} M^l, M^l entries N(0, 1/n)
//   v_k (k = 1..d_o) rows of W^{L+1} in units n^{-e}, e := a_{L+1}+b_{L+1}: W^{L+1}_t row k = n^{-e} ṽ_{k,t}ᵀ,
//                    ṽ_{k,0} = v_k ~ N(0, 1)
//   β^l              hidden biases (optional) with the input layer's scaling (TP5 treats biases as input
//                    weights): β^l_0 ~ N(0, n^{-2(a_1+b_1)}); the readout bias is zero-initialized and
//                    trained with the width-independent learning rate η.
// Forward:  h^1 = n^{-(a_1+b_1)} Σ_j ξ_j u_j + ΔW^1 ξ (+β^1)  (or, InputLayerForm::columns, Σ_j ξ_j c_{j,t} (+β^1)
//           with the columns c_{j,t} = W^1_t e_j kept as vectors),  h^l = W^l_t x^{l-1} (+β^l),  x^l = φ(h^l),
//           f_k = n^{1-e} avg(ṽ_k x^L) (+ readout bias).
// Backward (normalized by n^e so that it is Θ(1) when W^{L+1}_0 dominates): with χ_ik = ∂ℓ/∂f_k at sample i
//           (mse: (f_ik − y_ik)/B; cross-entropy: (softmax(f_i)_k − y_ik)/B, B the batch size),
//           gx^L_i = Σ_k χ_ik ṽ_k,  gh^l_i = gx^l_i ⊙ φ'(h^l_i),  gx^{l-1}_i = n^{e} (W^l_t)ᵀ ∂ℓ/∂h^l = (W^l_t)ᵀ gh^l_i.
// Updates (w ← w − η n^{-c_l} ∂L/∂w, W = n^{-a} w ⇒ ΔW = −η n^{-c_l-2a_l} ∂L/∂W):
//   ΔW^l x     = −η n^{1-c_l-2a_l-e} Σ_i gh^l_i avg(x^{l-1}_i x)          (2 ≤ l ≤ L; transposed alike)
//   ΔW^1 ξ     = −η n^{-c_1-2a_1-e} Σ_i gh^1_i (ξ_i · ξ)
//   Δṽ_k       = −η n^{b_{L+1}-a_{L+1}-c_{L+1}} Σ_i χ_ik x^L_i
//   Δβ^l       = −η n^{-c_1-2a_1-e} Σ_i gh^l_i
// Decoupled weight decay λ multiplies every earlier term of a tensor by ρ_l = 1 − η λ n^{-c_l} per step.
// In µP (a = (−1/2, 0, …, 0, 1/2), b = 1/2, c = 0) every factor is n^0; factors with e < 0 vanish in the
// limit (those updates are lower order), factors with e > 0 mean this normalization has no limit (the
// kernel regime's f_0 fluctuation n^{1/2}·avg(v x), or an unstable parametrization).
#pragma once

#include <string>
#include <vector>

#include "tp/ir.h"
#include "tp/network.h"
#include "tp/size_exponent.h"

namespace tp {

/// How the input layer W^1_t ξ is written after training steps: as the sum over every earlier update (sums:
/// n^{-(a_1+b_1)} ρ^t Σ_j ξ_j u_j + Σ_{s<t} ρ^{t-1-s} κ_1 Σ_i gh^1_{s,i} (ξ_i·ξ), t·B update terms per point at step t)
/// or through its d columns c_{j,t} = W^1_t e_j (columns: c_{j,t+1} = ρ c_{j,t} + κ_1 Σ_i ξ_{i,j} gh^1_{t,i}, d new
/// vectors per step, h^1_t(ξ) = Σ_j ξ_j c_{j,t}: d terms per point). Both are the same function of the program's
/// inputs (finite width: equal up to rounding); automatic takes the one with fewer terms (input_columns_pay).
enum class InputLayerForm { automatic, columns, sums };

struct UnrollOptions {
  InputLayerForm input_layer = InputLayerForm::automatic;
  bool size_outputs = false;  ///< also output avg(h^l_t²), avg((h^l_t − h^l_0)²) and avg(x^l_t²) at the probe point
  double memory_budget_bytes = 8.0 * (1ull << 30);  ///< refuse specs whose program estimate is larger
  std::string budget_flag;    ///< the flag that sets the budget, named in the refusal ("" = none)
};

/// What each output of the unrolled program means.
struct UnrolledOutput {
  enum class Kind { f, h_sq, dh_sq, x_sq } kind = Kind::f;
  int step = 0;         ///< t = 0..T (f_t is the function after t updates)
  bool eval = false;    ///< f: an evaluation point (else a training point)
  int point = 0;        ///< f: 0-based index into train_x or eval_x
  int component = 0;    ///< f: output coordinate k (0-based)
  int layer = 0;        ///< sizes: l = 1..L
};

struct UnrolledProgram {
  Program program;
  std::vector<UnrolledOutput> outputs;  ///< one per program.outputs(), same order
  int probe_point = 0;                  ///< sizes are measured at eval point 0 if any, else training point 0
  bool probe_is_eval = false;
  // The exponent-propagation route (size_exponent.h rules applied op by op while the program is built):
  // size[v] = exponent of value v's coordinates (scalars: of the value), delta[v] = exponent of v minus its
  // step-0 counterpart (forward values only; nullopt = zero or not applicable).
  std::vector<SizeExp> size, delta;
  /// At the probe point: "h^l_0", "f_0", "Δh^l_1", "Δf_1" and, when T ≥ 2, "Δh^l_t", "Δf_t" (t = 2), with
  /// the quantity names of tp::classify_mlp so the two routes can be compared entry by entry.
  std::vector<SizeExponent> exponents;
  std::string exponents_unavailable;  ///< non-empty when φ's growth is not polynomial (reason)
};

/// True when the columns form of the input layer has no more terms than the sums form: points·B·(T+1)/2 ≥ d·(1+B)
/// for B the batch size, T steps, d inputs (always for low-dimensional inputs trained over several steps).
bool input_columns_pay(const NetworkSpec& spec);

/// The memory the unrolled program of spec takes, in bytes (an estimate from the number of operand terms:
/// step t's forward pass at every point sums one term per earlier update in each hidden layer, so it grows like
/// points × batch × L × T²; about 400 bytes per term, measured). Saturates at 1e16 (about 9 PiB) without
/// looping over every step of an absurd schedule.
double unroll_memory_estimate(const NetworkSpec& spec, InputLayerForm form = InputLayerForm::automatic);

/// Lowers spec (which must pass network_problem) to a level-1 program. Throws std::invalid_argument for
/// specs the program form cannot express (Adam / SignSGD: their entrywise update of the gradient matrix
/// needs TP4b's NE⊗OR⊤, not NETSOR⊤), naming the reason, and tp::BudgetError before building anything when
/// unroll_memory_estimate exceeds options.memory_budget_bytes (the message names the figure and the fix).
UnrolledProgram unroll(const NetworkSpec& spec, const UnrollOptions& options = {});

/// The position of an f output in the flat per-step vector used by the limit routes and `tpc compare`:
/// point p (training points first, then evaluation points) times d_o plus the output coordinate k.
inline std::size_t flat_f_index(const UnrolledOutput& u, const NetworkSpec& spec) {
  const auto p = static_cast<std::size_t>(u.eval ? spec.train_x.rows() + u.point : u.point);
  return p * static_cast<std::size_t>(spec.output_dim) + static_cast<std::size_t>(u.component);
}

/// Output name for f_t at a point, e.g. "f_t3_train2" or "f_t3_eval1_k2" (1-based point and component;
/// the component suffix only when d_o > 1).
std::string f_output_name(int step, bool eval, int point, int component, int output_dim);

}  // namespace tp

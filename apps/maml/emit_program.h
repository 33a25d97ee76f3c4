// MAML as a Tensor Program: a few first-order MAML meta-steps of the µP linear network (linear_net.h,
// fomaml.h) on a tiny instance, written as a level-1 tpc program (README "The language"), so that `tpc
// limit` (the exact linear route, limits/linear_limit.h) computes the same limit as Algorithm 3 and `tpc run`
// the same finite widths as Algorithm 2 — TP4 Thm D.1 checked by the calculator itself.
//
// The program works in coordinates of size O(1): ũ_j = √n u_{:,j} (j ≤ d), ṽ_k = √n v_{k,:} (k ≤ d_o) and
// b̃ = √n β are vectors of the width-n space; ũ, ṽ are the program's input vectors, iid N(0, σ_u²), N(0, σ_v²)
// per coordinate (Algorithm 2), b̃ starts at 0. Then h̃(ξ) = Σ_j ξ_j ũ_j + α b̃, a logit is the Moment
// f_k(ξ) = avg(ṽ_k h̃(ξ)), softmax cross-entropy gradients are scalar expressions (exp), every SGD step is a
// Nonlin that is affine in the vectors (ũ_j ← ũ_j − η Σ_k (G Xᵀ)_kj ṽ_k, ...), the squared global gradient
// norm is Σ avg(g²) over the gradient vectors and the clip factor min(1, c/‖g‖) = (1 + r − |1 − r|)/2 with
// r = c/‖g‖. The program is linear in its vectors, so its limit is exact (TP4 Thm D.1 / linear_limit.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "apps/maml/fomaml.h"
#include "apps/maml/linear_net.h"

namespace tp::maml {

/// A tiny MAML run: hyperparameters, one task batch per meta-step, and probe inputs at which the logits
/// are output after every meta-step.
struct EmitInstance {
  LinearNetHyper hyper;
  FomamlOptions options;                   ///< inner_lr, train_inner_steps, meta_lr, clip are used
  std::vector<std::vector<Task>> batches;  ///< batches[s]: the tasks of meta-step s
  Eigen::MatrixXd probes;                  ///< d × p
  Eigen::Index d = 0, d_out = 0;
};

/// The default instance of the test and `tpc maml emit-program`: inputs ξ ∈ R^d with N(0, 1/d) entries,
/// d_out-way 1-shot tasks with one query per class, `tasks` tasks per meta-step, `meta_steps` meta-steps,
/// two probes; hyperparameters σ_u = 1, σ_v = 0.5, α = 1, inner step 0.4, meta step 1, clip 1.5 (with
/// the default seed the meta-gradient norm is 1.29 in meta-step 1 and 2.00 in meta-step 2: the clip is
/// inactive, then active — both paths of the program run).
EmitInstance tiny_instance(int d, int d_out, int tasks, int meta_steps, std::uint64_t seed);

/// Output names in program order: f_s<step>_p<probe>_k<class>, step = 1..meta_steps.
std::vector<std::string> emitted_output_names(const EmitInstance& inst);

/// The program text (with a comment header describing the instance).
std::string emit_program(const EmitInstance& inst);

/// The outputs computed by fomaml_step on a given starting network (Algorithm 3's init_limit_net for the
/// limit, init_finite_net for width n), in the order of emitted_output_names.
std::vector<double> run_instance(const EmitInstance& inst, LinearNet net);

}  // namespace tp::maml

// First-order MAML (Finn et al. 2017 §2.2, "first-order approximation"; TP4 §9.2 and App. D.1, Algorithms 2
// and 3) for the linear network of linear_net.h, in float64, one code path for every width and the limit.
//
// Meta-step on a batch of tasks τ (TP4 App. D.1, as in TP4's code: losses are softmax cross-entropy,
// averaged over a task's examples and summed over the batch's tasks):
//  1. per task: θ'_τ = θ − η_in ∇L_support(θ) repeated `inner_steps` times (θ = (u, β, v));
//  2. g = Σ_τ ∇L_query(θ'_τ) (first order: the Jacobian dθ'/dθ is taken as the identity);
//  3. clip: g ← g · min(1, c/‖g‖) with ‖g‖ the global Euclidean norm over (u, β, v);
//  4. θ ← θ − η_meta g (plain SGD).
//
// Vectorization. An inner step changes u by a matrix of rank ≤ m (the support size): u' = u − η vᵀG Xᵀ,
// β' = β − η α vᵀG 1, v' = v − η G Hᵀ (G = ∂L/∂logits, H the hidden vectors). So a task never copies u:
// its hidden vectors of support and query images, H = u Z + αβ, are updated in place,
// H ← H − η vᵀG (X_sᵀ Z + α² 1 1ᵀ), and only v (d_o × h) is task-local. The only O(h·d) work per meta-step
// is two matrix products over the whole batch — H for every task's images at once, and the update of u,
// g_u = P X_qᵀ with P = [v'_τᵀ G_τ]_τ stacked — each split by rows over the threads; per-task work is
// O(h·d_o·m) and runs on the threads too. ‖g_u‖² = Σ (PᵀP) ∘ (X_qᵀX_q) needs no h × d temporary.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

#include "apps/maml/linear_net.h"
#include "apps/maml/task_sampler.h"

namespace tp::maml {

/// TP4 App. D.1 defaults: inner step 0.4, one inner step in meta-training, 20 at meta-test, clip 0.5.
struct FomamlOptions {
  double inner_lr = 0.4;      ///< η_in > 0
  int train_inner_steps = 1;  ///< inner steps in meta-training (≥ 1)
  int test_inner_steps = 20;  ///< inner steps at meta-test (≥ 1)
  double meta_lr = 0.1;       ///< η_meta > 0
  double clip = 0.5;          ///< global-norm clip of the meta-gradient (0 = none)
  unsigned threads = 0;       ///< 0 = all cores
};

/// Statistics of one meta-step (before the update): query loss (mean over tasks) and accuracy after
/// adaptation, and the meta-gradient's norm before clipping.
struct MetaStepStats {
  double query_loss = 0.0;
  double query_accuracy = 0.0;
  double grad_norm = 0.0;
};

/// Throws MamlError naming the option if one is out of range.
void validate(const FomamlOptions& options);

/// One first-order MAML meta-step on `tasks` (steps 1–4 above), with train_inner_steps inner steps.
MetaStepStats fomaml_step(LinearNet& net, const std::vector<Task>& tasks, const FomamlOptions& options);

/// Query logits of each task after `inner_steps` inner steps from net (d_o × m_query per task).
std::vector<Eigen::MatrixXd> adapted_query_logits(const LinearNet& net, const std::vector<Task>& tasks,
                                                  int inner_steps, const FomamlOptions& options);

/// Fraction of each task's query images classified correctly (argmax of the logits) after `inner_steps`.
std::vector<double> task_accuracies(const std::vector<Eigen::MatrixXd>& query_logits, const std::vector<Task>& tasks);

/// Softmax cross-entropy gradient ∂(mean loss)/∂logits = (softmax − onehot)/m; adds the mean loss to *loss.
Eigen::MatrixXd cross_entropy_gradient(const Eigen::MatrixXd& logits, const std::vector<int>& labels,
                                       double* loss = nullptr);

}  // namespace tp::maml

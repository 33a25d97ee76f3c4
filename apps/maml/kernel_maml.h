// Kernel MAML: first-order MAML of an infinite-width network in the kernel regime, TP4 App. D.1,
// Algorithm 4. The function is kept as its readout "stack", f(x) = Σ_s c_s K(ξ_s, x) with c_s ∈ R^{d_o}
// (f_0 = 0: the stack starts empty). An inner step on a task adds its support images with coefficients
// −η_in ∂L/∂f; the first-order meta-gradient of a batch is Σ_τ Σ_q K(ξ_q, ·) ∂L_τ/∂f(ξ_q) over the query
// images at the adapted functions, clipped at global norm c in the RKHS norm (= the norm of the readout /
// parameter gradient of the finite network whose kernel K is: ‖Σ_q K(ξ_q,·) g_q‖² = Σ_qq' g_qᵀ g_q' K(ξ_q,ξ_q')),
// and a meta-step pushes (ξ_q, −η_meta g_q) onto the stack.
//
// Equal images (same global id from the TaskSampler) share one stack entry (their coefficients add), so the
// stack never holds more entries than the meta-training split has images. For the linear kernels the stack
// collapses exactly to a linear model f(x) = W x + b (W = a Σ c_s ξ_sᵀ, b = c Σ c_s for K = a x·x' + c).
//
// Kernels of the one-hidden-layer network f(x) = σ_v/√n Σ_i a_i φ(σ_u w_i·x/√d + σ_b b_i) (NTK
// parametrization, the convention of limits/mlp_kernel.h with depth 1, sw2 = {σ_u², σ_v²}, sb2 = {σ_b², 0}):
//   K¹(x, x') = σ_u² x·x'/d + σ_b²,  NNGP K = σ_v² E[φ(z)φ(z')],  NTK Θ = K + σ_v² E[φ'(z)φ'(z')] K¹
// with (z, z') ~ N(0, K¹ on {x, x'}); relu uses the arc-cosine closed forms of limits/closed_forms.h
// (expect_relu_relu, expect_step_step), the identity gives K = σ_v² K¹ and Θ = 2 σ_v² K¹.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include <Eigen/Dense>

#include "apps/maml/fomaml.h"
#include "apps/maml/task_sampler.h"

namespace tp::maml {

enum class KernelKind { linear_nngp, linear_ntk, relu_nngp, relu_ntk };

/// "linear-gp", "linear-ntk", "relu-gp", "relu-ntk".
std::string kernel_kind_name(KernelKind kind);
/// Inverse of kernel_kind_name (also accepts "nngp" for "gp"); false if unknown.
bool parse_kernel_kind(const std::string& name, KernelKind& kind);

struct KernelSpec {
  KernelKind kind = KernelKind::relu_nngp;
  double sigma_u = 1.0;  ///< σ_u > 0
  double sigma_v = 1.0;  ///< σ_v > 0
  double sigma_b = 1.0;  ///< σ_b ≥ 0 (first-layer bias)
};

/// K(a_i, b_j) for the columns of a (d × p) and b (d × q).
Eigen::MatrixXd kernel_matrix(const KernelSpec& spec, const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

/// A function in the kernel's RKHS kept as a readout stack (or, for linear kernels, the collapsed W, b).
class KernelFunction {
 public:
  KernelFunction(KernelSpec spec, Eigen::Index input_dim, Eigen::Index output_dim);

  /// f at the columns of x (d_o × m).
  Eigen::MatrixXd operator()(const Eigen::MatrixXd& x, unsigned threads = 1) const;
  /// f += Σ_j K(x_j, ·) coef_j; ids[j] is x_j's image id (equal ids must be equal images).
  void add(const Eigen::MatrixXd& x, const std::vector<std::size_t>& ids, const Eigen::MatrixXd& coef);

  const KernelSpec& spec() const { return spec_; }
  bool collapsed() const { return collapsed_; }
  std::size_t stack_size() const { return static_cast<std::size_t>(size_); }
  Eigen::Index output_dim() const { return d_out_; }
  Eigen::Index input_dim() const { return d_; }

  /// The state as matrices: {W, b} when collapsed, else {ξ's (d × s), coefficients (d_o × s), ids (1 × s)}.
  std::vector<Eigen::MatrixXd> state() const;
  /// Restores a state() of a function with the same spec and dimensions; throws MamlError on a mismatch.
  void restore(const std::vector<Eigen::MatrixXd>& state);

 private:
  KernelSpec spec_;
  Eigen::Index d_, d_out_;
  bool collapsed_;
  // collapsed linear model
  Eigen::MatrixXd w_;
  Eigen::VectorXd b_;
  // stack
  Eigen::MatrixXd xi_;    ///< d × capacity (first size_ columns used)
  Eigen::MatrixXd coef_;  ///< d_o × capacity
  Eigen::Index size_ = 0;
  std::unordered_map<std::size_t, Eigen::Index> slot_;
};

/// Throws MamlError naming the flag if a kernel hyperparameter is out of range.
void validate(const KernelSpec& spec);

/// One first-order kernel MAML meta-step (Algorithm 4) with options.train_inner_steps inner steps.
MetaStepStats kernel_maml_step(KernelFunction& f, const std::vector<Task>& tasks, const FomamlOptions& options);

/// Query logits of each task after `inner_steps` kernel inner steps from f.
std::vector<Eigen::MatrixXd> kernel_adapted_query_logits(const KernelFunction& f, const std::vector<Task>& tasks,
                                                         int inner_steps, const FomamlOptions& options);

}  // namespace tp::maml

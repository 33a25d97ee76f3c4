// The kernel-regime limit of MLP training: kernel gradient descent with the neural tangent kernel
// (TP4 = Yang & Hu 2021, Cor. 3.9 and Thm H.13: a stable parametrization with r > 0 trains, as n → ∞, as
// f_{t+1} = f_t − η K χ_t for a fixed kernel K; Jacot et al. 2018, Thm 2, for the NTK parametrization).
//
// Route: the spec must be TP4's NTK parametrization up to the symmetry of TP4 Eq. 5 (a_l + θ, b_l − θ,
// c − 2θ) with one learning-rate exponent and SGD. Then every layer's update contributes at the same order
// and
//   f_{t+1}(x) = f_t(x) − η Σ_{i ∈ B_t} Θ(x, ξ_i) χ_i,   χ_i = ∂ℓ/∂f at ξ_i (mse: (f − y)/|B|),
// with Θ the NTK of limits/mlp_kernel.h for σ_w² = d at the input layer (TP4's W^1 has N(0, 1) entries, so
// K^1 = ξ·ξ'), 1 elsewhere; with biases σ_b² = 1 in every hidden layer and the zero-initialized readout bias
// adds 1 to Θ. f_0 is the NNGP Gaussian process N(0, K^{L+1}) over all points.
// Output: the mean of f_t over that process. For mse the dynamics are affine in f_0, so the mean is kernel
// GD from f_0 = 0, computed directly; for cross-entropy it is a Monte Carlo average over draws of f_0
// (standard error reported). Kernel quadrature error (mse): kernel GD is re-run with every entry of Θ moved
// by ± its error estimate and the largest change is reported; for cross-entropy the reported error is the
// Monte Carlo standard error alone (the kernel's error, ≤ 1e-9 relative for the default quadrature order,
// is far below it).
#pragma once

#include <string>
#include <vector>

#include "limits/estimate.h"
#include "tp/network.h"

namespace tp::limits {

struct KernelGdOptions {
  long long f0_samples = 4096;  ///< cross-entropy: Monte Carlo draws of f_0
  std::uint64_t seed = 0;
};

struct KernelGdResult {
  /// f[t][p * d_o + k]: the limit of f_t at point p (training points first, then evaluation points).
  std::vector<std::vector<Estimate>> f;
  std::string kernel_route;  ///< "closed_form" or "quadrature"
};

/// The kernels over all points (training points first, then evaluation points) with their error estimates.
struct NetworkKernels {
  Eigen::MatrixXd ntk, nngp;  ///< Θ (biases included) and K^{L+1}, the covariance of f_0
  double ntk_error = 0, nngp_error = 0;
  Route route = Route::closed_form;
};
NetworkKernels network_kernels(const NetworkSpec& spec);

/// Empty if the kernel route applies to spec, else the reason.
std::string kernel_gd_unavailable(const NetworkSpec& spec);

/// Throws std::invalid_argument (with kernel_gd_unavailable's reason) when it does not apply.
KernelGdResult kernel_gd_limit(const NetworkSpec& spec, const KernelGdOptions& options = {});

}  // namespace tp::limits

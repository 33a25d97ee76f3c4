// The kernel-regime limit of MLP training: kernel gradient descent (TP4 = Yang & Hu 2021, Cor. 3.9 and
// Thm H.13: a stable parametrization with r > 0 trains, as n → ∞, as f_{t+1} = f_t − η K χ_t for a fixed
// kernel K; Jacot et al. 2018, Thm 2, for the NTK parametrization; TP4 App. H.6 for the kernel of any
// kernel-regime abc-parametrization).
//
// Route: any stable SGD parametrization in the kernel regime (tp/mlp_phase.h: r > 0), per-layer learning
// rates c_l included, without weight decay. The kernel is the NTK sum restricted to the layers whose updates
// move f by Θ(1); every other layer's contribution vanishes like a negative power of n and drops out
// (TP4 App. H.6, Thm H.32: for NTP every layer stays, for SP with c = 1 the input layer drops out). With
// s := a_{L+1} + b_{L+1} (the readout's initial size n^{-s}), u_l = 2a_l + c_l and r_l of tp/mlp_phase.h,
// one SGD step moves f by (the gradient of layer l has coordinates n^{-s} through W^{L+1}_0; l ≥ 2 has fan-in n)
//   hidden layer l:  −η n^{-c_l-2a_l} ⟨∂f/∂W^l, ∂f/∂W^l⟩ χ = −η n^{1 − s − r_l} T_l χ   (T_l: layer l's NTK term),
//   readout:         −η n^{1 − u_{L+1}} T_{L+1} χ,
// so layer l ≤ L is in the kernel iff s + r_l = 1 and the readout iff u_{L+1} = 1 (stability makes every
// exponent ≤ 0; nontriviality makes at least one 0). With T_l from limits/mlp_kernel.h (Θ^{L+1} = Σ_l T_l,
// MlpKernelSpec::ntk_weight_scale selects the layers): σ_w² = d at the input layer (TP4's W^1 has N(0, 1)
// entries, so K^1 = ξ·ξ'), 1 elsewhere. Biases (tp/unroll.h): hidden biases have N(0, 1) coordinates and
// layer 1's a, b, c (σ_b² = 1 in K; in the NTK iff layer 1 is); the zero-initialized readout bias trains at
// the width-independent rate η and always adds 1 to the kernel.
// f_0 is the NNGP Gaussian process N(0, K^{L+1}) over all points when s = 1/2, and 0 when s > 1/2.
//   f_{t+1}(x) = f_t(x) − η Σ_{i ∈ B_t} K(x, ξ_i) χ_i,   χ_i = ∂ℓ/∂f at ξ_i (mse: (f − y)/|B|).
// Output: the mean of f_t over f_0. For mse the dynamics are affine in f_0, so the mean is kernel GD from
// f_0 = 0, computed directly; for cross-entropy with s = 1/2 it is a Monte Carlo average over draws of f_0
// (standard error reported). Kernel quadrature error (mse, or f_0 = 0): kernel GD is re-run with every entry
// of K moved by ± its error estimate and the largest change is reported; for cross-entropy with a random
// f_0 the reported error is the Monte Carlo standard error alone (the kernel's error, ≤ 1e-9 relative for the
// default quadrature order, is far below it).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "limits/estimate.h"
#include "tp/network.h"

namespace tp::limits {

struct KernelGdOptions {
  long long f0_samples = 4096;  ///< cross-entropy: Monte Carlo draws of f_0
  std::uint64_t seed = 0;
  /// Called with (stages done, stages): the kernels count 1, each kernel-GD run 1 (3 runs for mse, f0_samples
  /// for cross-entropy; reported every 64). Empty: no calls.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct KernelGdResult {
  /// f[t][p * d_o + k]: the limit of f_t at point p (training points first, then evaluation points).
  std::vector<std::vector<Estimate>> f;
  std::string kernel_route;  ///< "closed_form" or "quadrature"
  std::string kernel_layers; ///< kernel_layers_text of the kernel used
};

/// The kernels over all points (training points first, then evaluation points) with their error estimates.
struct NetworkKernels {
  Eigen::MatrixXd ntk, nngp;  ///< the kernel K of kernel GD (biases included) and K^{L+1}, the NNGP
  double ntk_error = 0, nngp_error = 0;
  Route route = Route::closed_form;
  std::vector<bool> in_kernel;  ///< per layer l = 1..L+1: its updates move f by Θ(1), so it is in the kernel
  bool f0_gp = true;            ///< f_0 → N(0, K^{L+1}) (s = 1/2); false: f_0 → 0 (s > 1/2)
};
NetworkKernels network_kernels(const NetworkSpec& spec);

/// The layers of the kernel-GD kernel, for reports: "every layer (the NTK)" or e.g. "layers 2, 3 of 3 (the
/// updates of layer 1 vanish in the limit: TP4 App. H.6)".
std::string kernel_layers_text(const NetworkKernels& kernels);

/// Empty if the kernel route applies to spec, else the reason.
std::string kernel_gd_unavailable(const NetworkSpec& spec);

/// Throws std::invalid_argument (with kernel_gd_unavailable's reason) when it does not apply.
KernelGdResult kernel_gd_limit(const NetworkSpec& spec, const KernelGdOptions& options = {});

}  // namespace tp::limits

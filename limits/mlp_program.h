// The MLP of limits/mlp_kernel.h written as a NETSOR Tensor Program (.tp text), so the kernel can be checked
// against two independent routes: the Master Theorem limit of the program (limits/gaussian_limit.h) and the
// program run at finite width (limits/finite.h), whose outputs approach the kernel like n^(−1/2).
//
// The program (TP1, Yang 2019, arXiv 1910.12478, §4 "NNGP": a NETSOR program whose moments are the kernel):
//   input h_1_1, .., h_1_N ~ N(0, K^1)           first-layer preactivations; d stays fixed, so they are inputs
//   matrix W_l ~ N(0, sw2_l/n), input b_l ~ N(0, 1)        for l = 2..L (b_l only when sb2_l > 0)
//   h_l_i = W_l phi(h_{l-1}_i) + sb_l * b_l                 the hidden layers (sb_l = √sb2_l)
//   output K_i_j = avg(sw2 * phi(h_L_i) * phi(h_L_j)) + sb2  for i ≤ j: the empirical NNGP of the readout,
// so K_i_j → K^{L+1}(x_i, x_j) as n → ∞. σ_w² is carried by the matrix variance.
#pragma once

#include <Eigen/Core>

#include <string>

#include "limits/mlp_kernel.h"

namespace tp::limits {

/// The .tp text above for the rows of `inputs` (N × d). Numbers are printed so they read back exactly.
/// Throws MlpKernelError for an invalid spec or inputs, or when σ_w² = 0 in a layer l ≥ 2 (a Tensor Program
/// matrix needs a positive variance).
std::string mlp_nngp_program(const MlpKernelSpec& spec, const Eigen::MatrixXd& inputs);

}  // namespace tp::limits

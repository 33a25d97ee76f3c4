// The one-hidden-layer linear network of TP4 §9.2 / App. D.1.1, f(ξ) = v (u ξ + α β), and its two
// initializations (one network, one training code path, fomaml.h):
//
//  * Algorithm 2 (finite width n, µP): u ∈ R^{n×d} with entries N(0, σ_u²/n), v ∈ R^{d_o×n} with entries
//    N(0, σ_v²/n), β = 0 — trained by plain SGD on (u, β, v) with width-independent learning rates.
//  * Algorithm 3 (the µP limit, TP4 Thm D.1): the same network at hidden size d + d_o with the "diagonal"
//    initialization u = [σ_u I_d; 0], v = [0, σ_v I_{d_o}], β = 0.
//
// Why Algorithm 3 is the limit of Algorithm 2, exactly (TP4 Thm D.1; DESIGN section of apps/maml): write
// the finite initialization as a random projection of the limit's, u = n^{-1/2} Ω u_∞, v = n^{-1/2} v_∞ Ωᵀ,
// β = n^{-1/2} Ω β_∞ with Ω ∈ R^{n×(d+d_o)} standard Gaussian (project_limit_net). Every SGD gradient of u
// and β is vᵀ(·), a combination of Ω's columns, and every gradient of v is (·)(uξ + αβ)ᵀ, a combination of
// Ω's columns transposed, so the projected form survives training with (u_∞, β_∞, v_∞) updated by exactly
// the limit's rules, except that every inner product of hidden vectors carries the metric G = ΩᵀΩ/n:
// f(ξ) = v_∞ G (u_∞ ξ + α β_∞). G → I (law of large numbers, fluctuations O(n^{-1/2})), which gives the
// limit and the n^{-1/2} rate tested in tests/apps/maml.
#pragma once

#include <cstddef>
#include <cstdint>

#include <Eigen/Dense>

namespace tp::maml {

/// TP4 App. D.1 hyperparameters of the network (the learning rates live in FomamlOptions).
struct LinearNetHyper {
  double sigma_u = 1.0;  ///< σ_u > 0: scale of u's initialization
  double sigma_v = 1.0;  ///< σ_v ≥ 0: scale of v's initialization
  double alpha = 1.0;    ///< α ≥ 0: bias multiplier (0 = no bias)
};

/// f(ξ) = v (u ξ + α β), hidden size h = rows of u.
struct LinearNet {
  Eigen::MatrixXd u;     ///< h × d
  Eigen::VectorXd beta;  ///< h
  Eigen::MatrixXd v;     ///< d_o × h
  double alpha = 1.0;

  Eigen::Index hidden() const { return u.rows(); }
  Eigen::Index input_dim() const { return u.cols(); }
  Eigen::Index output_dim() const { return v.rows(); }
  /// Hidden vectors u x + α β of the columns of x (h × m).
  Eigen::MatrixXd features(const Eigen::MatrixXd& x) const;
  /// Logits f(x) of the columns of x (d_o × m).
  Eigen::MatrixXd logits(const Eigen::MatrixXd& x) const;
};

/// Algorithm 3: the µP limit as the width-(d + d_o) network with the diagonal initialization.
LinearNet init_limit_net(Eigen::Index d, Eigen::Index d_out, const LinearNetHyper& hyper);

/// The finite network n^{-1/2} Ω (·) of a limit-form state (u_∞, β_∞, v_∞); omega is n × (d + d_o).
LinearNet project_limit_net(const LinearNet& limit, const Eigen::MatrixXd& omega);

/// Algorithm 2: width n, Gaussian µP initialization = project_limit_net(init_limit_net(...), Ω) with Ω
/// drawn from limits::Rng(seed, stream 0x4f6d).
LinearNet init_finite_net(Eigen::Index d, Eigen::Index d_out, Eigen::Index width, const LinearNetHyper& hyper,
                          std::uint64_t seed);

/// Ω ∈ R^{n×k} with iid N(0, 1) entries from limits::Rng(seed, 0x4f6d) (row-major fill order).
Eigen::MatrixXd gaussian_projection(Eigen::Index n, Eigen::Index k, std::uint64_t seed);

}  // namespace tp::maml

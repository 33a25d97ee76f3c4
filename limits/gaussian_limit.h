// The infinite-width limit of a NETSOR program (no matrix used both as W and Wᵀ) by Gaussian integration:
// the Master Theorem with the ZInit, ZNonlin, ZMoment and ZHat rules (TP4 Def. 7.3 and Thm 7.4; TP1 Thm 5.4).
//
// Steps:
// 1. Every input vector and every MatMul output gets a "base" Gaussian variable: input groups have their
//    declared covariance; the outputs h_i = W x_i of one matrix are jointly Gaussian with
//    Cov(Ẑ^{h_i}, Ẑ^{h_j}) = σ_W² E[Z^{x_i} Z^{x_j}] (ZHat); different matrices and the inputs are independent.
//    A matrix used only as Wᵀ is just another Gaussian matrix. When a matrix is used both ways the ZDot
//    rule is needed and this route refuses the program (RouteUnavailable names the first such use).
// 2. Every vector's Z is an expression over base variables (Nonlin: substitute operands, ZNonlin), with
//    the limits of scalars substituted as constants (θ̊, ZMoment).
// 3. Each Moment is E φ over exactly the base variables its expression uses: a closed form when φ is
//    f(a)·f(b) or f(a)² with f in {identity, relu, step, erf, sin, cos, exp} (limits/closed_forms.h),
//    otherwise limits/gaussian_expectation.h (tensor Gauss–Hermite for rank ≤ 4, Monte Carlo above); the
//    hyperplanes where φ has kinks or integrable singularities (limits/kink_hyperplanes.h: log|x|, |x − a|^p,
//    relu(x − 1)) are passed along, so that quadrature splits there with a double-exponential rule.
// 4. Error estimate per output: the largest of (a) its own integral's error |Q_k − Q_2k|, (b) the change
//    of the whole pipeline when every quadrature starts from another order (24), (c) the change of the
//    whole pipeline when every quadrature value is moved by ± its own error estimate (three random sign
//    patterns) — (b) and (c) carry errors of earlier moments and covariances through to the outputs —
//    and (d) with Monte Carlo anywhere, the standard error over independent replicas of the pipeline.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "limits/estimate.h"
#include "tp/ir.h"

namespace tp::limits {

/// The requested limit route cannot handle this program; the message names the value and the route that can.
struct RouteUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct GaussianLimitOptions {
  int mc_replicas = 8;                  ///< independent replicas when Monte Carlo is used anywhere
  long long mc_pairs = 1 << 15;         ///< antithetic pairs per Monte Carlo integral and replica
  bool use_closed_forms = true;         ///< recognise closed-form moments (off: everything by quadrature)
  int max_quadrature_rank = 4;          ///< Monte Carlo above this many Gaussian dimensions
};

struct LimitResult {
  std::vector<std::string> names;  ///< output names
  std::vector<Estimate> outputs;   ///< value, error estimate and route per output
};

/// Evaluates every output of p in the infinite-width limit. Throws RouteUnavailable (W and Wᵀ both used),
/// DivergentIntegral (an expectation is infinite; the message names the value and its line) or
/// NumericalError (a NaN/Inf limit value).
LimitResult gaussian_limit(const Program& p, const GaussianLimitOptions& options = {});

}  // namespace tp::limits

// Expectations E f(Z) of a function of a centred Gaussian vector Z ~ N(0, Σ) in R^d, Σ positive semidefinite.
//
// Every Moment of a Tensor Program limit is such an expectation over the Z's it depends on (the Master
// Theorem: TP1, Yang 2019, arXiv 1910.12478, for NETSOR; TP3, arXiv 2009.10685; TP4 Thm 6.1 for
// 1-hidden-layer µP).
// Σ is factored as Σ = L Lᵀ with L = V_r diag(√λ_r) from its eigendecomposition, keeping the r eigenvalues
// above a relative tolerance, so Z = L ξ with ξ ~ N(0, I_r) and singular covariances integrate over their
// effective rank r only. Routes (DESIGN.md §4.3, "quadrature when that dimension is small, Monte Carlo
// otherwise"):
//  * quadrature: the tensor product of Gauss–Hermite rules (limits/gauss_hermite.h) of order k in each of the
//    r directions, with k doubled until |Q_k − Q_2k| ≤ rel_tol · Q_2k(|f|) + abs_tol; the value is Q_2k and
//    the error |Q_k − Q_2k| (for analytic f a large over-estimate of Q_2k's own error);
//    With `kinks` (hyperplanes where f has a kink or an integrable singularity, such as log|z|, |z|^−1/2) whose
//    normals are parallel on the support of Z, the coordinates are rotated so that the first one runs across the
//    hyperplanes, and the tensor rule is a split double-exponential rule in that coordinate (limits/
//    double_exponential_rule.h, h = 2^−ℓ) times Gauss–Hermite of order k in the others; ℓ and k are refined
//    together until the change plus the rule's truncation estimate is within the tolerance; the error reported is
//    that sum (the double-exponential error falls like exp(−c/h), so one refinement's change bounds the finer
//    rule's error). A summand that grows towards a hyperplane (a non-integrable singularity) is DivergentIntegral.
//    Kinks in non-parallel directions keep the plain Gauss–Hermite route (its error is then not a bound).
//  * monte_carlo: antithetic pairs (f(Lξ) + f(−Lξ))/2 with seeded ξ; the error is the standard error.
// A Gaussian expectation that is infinite (E exp(z²), E exp(z²/2)) is reported as DivergentIntegral, either
// because f is non-finite at a node or because Q_k keeps changing by ≥ 1% without shrinking as k doubles while
// ≥ 1% of it comes from nodes where the Gaussian weight is below ~e^{−k/2} (details in quadrature_route);
// E exp(a z²) = 1/√(1 − 2a) for a < 1/2 converges (geometrically, like (2a)^k; to 1e−15 for a ≤ 0.45 in 1-D,
// while a ≥ 0.499 is reported as divergent in double precision). For non-smooth f (relu, step) quadrature
// converges only algebraically (~1e−4 relative at the default orders) and |Q_k − Q_2k| can miss features
// narrower than the node spacing (a step under a nearly singular Σ); prefer limits/closed_forms.h there.
#pragma once

#include "limits/estimate.h"
#include "limits/kink_hyperplanes.h"
#include "tp/expr.h"
#include "tp/ir.h"

#include <Eigen/Core>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace tp::limits {

/// A function evaluated at many points at once: points is d × m (column j is one value of Z), the result
/// holds the m values f(points.col(j)).
using BatchIntegrand = std::function<Eigen::ArrayXd(const Eigen::MatrixXd& points)>;

/// The covariance is not a finite, symmetric, positive semidefinite matrix. min_eigenvalue is the smallest
/// eigenvalue of Σ when it was computed (NaN for non-square, non-finite or non-symmetric input).
struct CovarianceError : std::invalid_argument {
  double min_eigenvalue;
  CovarianceError(const std::string& message, double smallest_eigenvalue);
};

/// The Gaussian expectation is not finite (or not representable in double): f is non-finite at some point
/// or the quadrature values grow without converging. last_value is the last quadrature value or NaN.
struct DivergentIntegral : std::runtime_error {
  double last_value;
  DivergentIntegral(const std::string& message, double last);
};

/// Throws DivergentIntegral, as for a divergent tail, if a Nonlin or Moment of p has a pole on the real line
/// in its vector operands (tp/singularity.h): its expectation does not exist, though a route would print a number.
void check_integrable(const Program& p);

/// The same for an activation φ(x) and its derivative φ'(x) (the NNGP needs E φ², the NTK E φ'²).
void check_integrable_activation(const ExprPtr& phi);

/// Which route gaussian_expectation takes.
enum class ExpectationMethod {
  automatic,    ///< quadrature if the effective rank and node budget allow it, else Monte Carlo
  quadrature,   ///< always quadrature (std::invalid_argument if the rank exceeds the node budget)
  monte_carlo,  ///< always Monte Carlo
};

/// Tuning of gaussian_expectation. With the defaults the reported error is ≤ 1e−10 · E|f| for analytic f, and
/// the value Q_2k is then typically accurate to ~1e−14 (its error is about the square of Q_k's).
struct ExpectationOptions {
  ExpectationMethod method = ExpectationMethod::automatic;
  int initial_order = 0;             ///< first Gauss–Hermite order k; 0 = by rank (16, 16, 12, 8, then 6)
  int max_order = 0;                 ///< largest order used; 0 = max_gauss_hermite_order or the node budget
  double rel_tol = 1e-10;            ///< stop when |Q_k − Q_2k| ≤ rel_tol · Q_2k(|f|) + abs_tol
  double abs_tol = 0.0;
  int max_quadrature_rank = 4;       ///< automatic: Monte Carlo above this effective rank
  std::int64_t max_quadrature_nodes = std::int64_t{1} << 22;  ///< cap on k^r for one tensor rule
  double rank_tolerance = 1e-12;     ///< eigenvalues ≤ rank_tolerance · λ_max are treated as 0
  double psd_tolerance = 1e-10;      ///< eigenvalues < −psd_tolerance · λ_max reject Σ; also the symmetry tolerance
  std::int64_t mc_pairs = std::int64_t{1} << 16;  ///< antithetic pairs (2 evaluations each)
  std::uint64_t seed = 0x7470636c696d6974;        ///< Monte Carlo seed; equal seeds give equal results
  std::int64_t batch_size = 8192;                 ///< points per call of the integrand
  /// Hyperplanes of Z where f may have a kink or an integrable singularity (limits/kink_hyperplanes.h). When they
  /// are parallel on the support of Z the quadrature route splits there (see the header comment).
  std::vector<Hyperplane> kinks;
};

/// Σ = factor · factorᵀ over the kept eigen-directions.
struct CovarianceFactor {
  Eigen::MatrixXd factor;       ///< d × r; column i is √λ_i v_i for the r kept eigenvalues λ_i
  Eigen::VectorXd eigenvalues;  ///< all d eigenvalues of Σ, ascending
  int rank() const { return static_cast<int>(factor.cols()); }
};

/// Eigen-factors a covariance. Throws CovarianceError if Σ is not square, has a non-finite entry, is not
/// symmetric to psd_tolerance (relative to max |Σ_ij|), or has an eigenvalue below −psd_tolerance · λ_max.
CovarianceFactor factor_covariance(const Eigen::MatrixXd& cov, double rank_tolerance = 1e-12,
                                   double psd_tolerance = 1e-10);

/// One tensor-product Gauss–Hermite sum Σ_i w_i f(L x_i) of order k per direction, where L = factor (d × r);
/// product weights below the smallest normal double are skipped. Throws DivergentIntegral on non-finite f.
double tensor_quadrature(const BatchIntegrand& f, const Eigen::MatrixXd& factor, int order,
                         std::int64_t batch_size = 8192);

/// Monte Carlo mean of (f(Lξ) + f(−Lξ))/2 over `pairs` seeded draws ξ ~ N(0, I_r), with its standard error.
Estimate monte_carlo_expectation(const BatchIntegrand& f, const Eigen::MatrixXd& factor, std::int64_t pairs,
                                 std::uint64_t seed, std::int64_t batch_size = 8192);

/// E f(Z), Z ~ N(0, cov), by the route chosen in options (see the header comment). Route::quadrature or
/// Route::monte_carlo. Throws CovarianceError, DivergentIntegral, or std::invalid_argument for bad options or
/// an integrand returning the wrong number of values.
Estimate gaussian_expectation(const BatchIntegrand& f, const Eigen::MatrixXd& cov,
                              const ExpectationOptions& options = {});

/// E f(u), u ~ N(0, variance).
Estimate expect_1d(const std::function<double(double)>& f, double variance, const ExpectationOptions& options = {});

/// E f(u, v), (u, v) ~ N(0, [[k11, k12], [k12, k22]]).
Estimate expect_2d(const std::function<double(double, double)>& f, double k11, double k12, double k22,
                   const ExpectationOptions& options = {});

}  // namespace tp::limits

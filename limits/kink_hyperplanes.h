// Where a coordinatewise integrand f(z_0, …, z_{d−1}) may fail to be smooth: the hyperplanes a·z + c = 0 on
// which a kink (relu, step, abs, sign) or an integrable singularity (log, sqrt, a non-integer or negative power,
// a division) sits, read off the expression tree. Quadrature that ignores them converges slowly and its
// refinement difference understates its error (issue #13: E log|Z| printed −0.597 ± 0.016, truth −0.635);
// limits/gaussian_expectation.h splits the integral there (limits/double_exponential_rule.h).
//
// Sites and where they sit: relu(g), step(g), abs(g), sign(g) at g = 0 for affine g; log(g), sqrt(g), g^p (p not a
// non-negative integer) and x / g at the zeros of g, where zeros(g) is g = 0 for affine g, and the zeros of h for
// g = abs(h), relu(h), sign(h), sqrt(h), −h, c·h, h^p (p > 0), and of both factors of a product h_1·h_2; exp, Φ, φ
// and sigmoid have none. Anything else (log(1 + x²) is fine, log(x² − 1) is not affine) makes the set unknown.
#pragma once

#include <optional>
#include <vector>

#include <Eigen/Core>

#include "tp/expr.h"

namespace tp::limits {

/// {z : normal·z + offset = 0}.
struct Hyperplane {
  Eigen::VectorXd normal;
  double offset = 0.0;
};

/// The hyperplanes where e (over arguments 0..d−1, all random) may be non-smooth; empty if e is smooth as far as
/// the catalogue goes, nullopt if a site's argument is not of a known form (see the header comment).
std::optional<std::vector<Hyperplane>> kink_hyperplanes(const ExprPtr& e, int d);

}  // namespace tp::limits

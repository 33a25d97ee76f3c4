// Checks on covariance matrices of initial vectors (ZInit, TP4 Def. 7.3): symmetric positive semidefinite.
#pragma once

#include <Eigen/Core>
#include <string>

namespace tp {

/// Returns an empty string if cov is finite, square, symmetric and PSD (up to a relative tolerance of
/// 1e-12); otherwise a sentence naming the problem, e.g. "not positive semidefinite: smallest eigenvalue
/// is -0.44".
std::string covariance_problem(const Eigen::MatrixXd& cov);

}  // namespace tp

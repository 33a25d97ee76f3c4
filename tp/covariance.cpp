// See covariance.h.
#include "tp/covariance.h"

#include <Eigen/Eigenvalues>
#include <cmath>

#include "tp/expr.h"

namespace tp {

std::string covariance_problem(const Eigen::MatrixXd& cov) {
  if (cov.rows() != cov.cols()) return "not square";
  if (!cov.allFinite()) return "has a non-finite entry";
  const double scale = std::max(1.0, cov.cwiseAbs().maxCoeff());
  for (Eigen::Index i = 0; i < cov.rows(); ++i)
    for (Eigen::Index j = 0; j < i; ++j)
      if (std::abs(cov(i, j) - cov(j, i)) > 1e-12 * scale)
        return "not symmetric: entry (" + std::to_string(i + 1) + "," + std::to_string(j + 1) + ") is " +
               format_number(cov(i, j)) + " but (" + std::to_string(j + 1) + "," + std::to_string(i + 1) +
               ") is " + format_number(cov(j, i));
  if (cov.size() == 0) return "";
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov, Eigen::EigenvaluesOnly);
  const double lo = es.eigenvalues().minCoeff();
  if (lo < -1e-12 * scale) return "not positive semidefinite: its smallest eigenvalue is " + format_number(lo);
  return "";
}

}  // namespace tp

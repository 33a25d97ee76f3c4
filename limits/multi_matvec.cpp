// See multi_matvec.h.
#include "limits/multi_matvec.h"

#include <algorithm>

namespace tp::limits {

namespace {

constexpr Eigen::Index kBlock = 512;     // rows of the result (W x) or of x (Wᵀ x) kept in L1/L2 at once
constexpr Eigen::Index kThinCols = 16;   // above this many columns Eigen's packed product wins

}  // namespace

void multi_matvec(const Eigen::MatrixXd& w, bool transposed, const Eigen::MatrixXd& x, Eigen::MatrixXd& y) {
  const Eigen::Index n = w.rows(), k = x.cols();
  if (k == 1 || k > kThinCols) {  // one vector: Eigen's matrix-vector product reads W once already
    if (transposed) y.noalias() = w.transpose() * x;
    else y.noalias() = w * x;
    return;
  }
  if (!transposed) {
    // y[r0:r0+b, :] = Σ_j W[r0:r0+b, j] x[j, :]: a b×k block of y stays in cache while W streams by.
    y.setZero(n, k);
    for (Eigen::Index r0 = 0; r0 < n; r0 += kBlock) {
      const Eigen::Index b = std::min(kBlock, n - r0);
      auto yb = y.middleRows(r0, b);
      for (Eigen::Index j = 0; j < w.cols(); ++j) {
        const auto wseg = w.col(j).segment(r0, b);
        for (Eigen::Index c = 0; c < k; ++c) yb.col(c) += x(j, c) * wseg;
      }
    }
    return;
  }
  // yᵀ[:, i] = Σ over row blocks of x[j0:j0+b, :]ᵀ W[j0:j0+b, i]: the b×k block of x stays in cache.
  Eigen::MatrixXd yt = Eigen::MatrixXd::Zero(k, w.cols());
  for (Eigen::Index j0 = 0; j0 < n; j0 += kBlock) {
    const Eigen::Index b = std::min(kBlock, n - j0);
    const auto xb = x.middleRows(j0, b);  // its transpose is row-major: k contiguous dot products
    for (Eigen::Index i = 0; i < w.cols(); ++i) yt.col(i).noalias() += xb.transpose() * w.col(i).segment(j0, b);
  }
  y = yt.transpose();
}

}  // namespace tp::limits

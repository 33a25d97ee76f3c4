// W X and Wᵀ X for a large n×n matrix W and a thin n×k matrix X (k a few vectors): the batched MatMuls of
// the finite-width executor (limits/finite.cpp). Eigen's matrix-matrix product copies ("packs") W into
// blocks before multiplying, one extra write and read of n² doubles that dominates when k is small; these
// products read W once, in row blocks (W X: k axpys per column segment into an L1-sized block of the
// result) or column segments (Wᵀ X: k dot products per column segment against an L1-sized block of X).
// Deterministic: the same inputs give bitwise the same result whatever the thread count of the caller.
#pragma once

#include <Eigen/Core>

namespace tp::limits {

/// y = W x (transposed = false) or Wᵀ x (true); W square. Uses Eigen's product when x has many columns.
void multi_matvec(const Eigen::MatrixXd& w, bool transposed, const Eigen::MatrixXd& x, Eigen::MatrixXd& y);

}  // namespace tp::limits

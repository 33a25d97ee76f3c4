// multi_matvec against Eigen's product: every path (one vector, thin, wide; W and Wᵀ) and sizes that are
// not multiples of the block.
#include <doctest/doctest.h>

#include "limits/multi_matvec.h"

TEST_CASE("multi_matvec equals Eigen's W X and Wᵀ X to rounding") {
  for (Eigen::Index n : {1, 7, 513, 1100})
    for (Eigen::Index k : {1, 2, 6, 16, 17})
      for (bool transposed : {false, true}) {
        CAPTURE(n);
        CAPTURE(k);
        CAPTURE(transposed);
        const Eigen::MatrixXd w = Eigen::MatrixXd::Random(n, n), x = Eigen::MatrixXd::Random(n, k);
        const Eigen::MatrixXd expected = transposed ? Eigen::MatrixXd(w.transpose() * x) : Eigen::MatrixXd(w * x);
        Eigen::MatrixXd y;
        tp::limits::multi_matvec(w, transposed, x, y);
        REQUIRE(y.rows() == n);
        REQUIRE(y.cols() == k);
        CHECK((y - expected).cwiseAbs().maxCoeff() <= 1e-13 * static_cast<double>(n));
      }
}

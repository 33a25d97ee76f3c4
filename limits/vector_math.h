// Elementary functions on Eigen arrays that Eigen 3.4 does not vectorize for double (its tanh calls the scalar
// libm per coefficient). Written with Eigen array expressions and select(), so the compiler emits packet code
// (SSE2 by default); the quadrature route of limits/mlp_kernel.h evaluates tanh at its 2-D nodes with it.
//
//  * tanh_array(x): tanh x = sign(x) (1 − 2/(e^{2|x|} + 1)) for |x| ≥ 0.625 (Eigen's vectorized exp; the result
//    is ≥ 0.55 there, so the subtraction loses nothing), and the odd Taylor series Σ c_k x^{2k+1} (20 terms,
//    from y' = 1 − y²; the series converges like (2x/π)^{2k}, 0.158^k at 0.625) below; within 3e−16 of std::tanh
//    (tested), i.e. a few ulp relative to max(|tanh x|, 1/2).
#pragma once

#include <Eigen/Core>

#include <array>
#include <numbers>

namespace tp::limits {

/// tanh(x) elementwise (see the header comment for the method and accuracy).
inline Eigen::ArrayXd tanh_array(const Eigen::ArrayXd& x) {
  using Eigen::ArrayXd;
  const ArrayXd ax = x.abs();
  // 1 − 2/(e^{2|x|} + 1); e^{2|x|} overflows to inf beyond |x| ≈ 355, where the quotient is 0 and the result 1
  const ArrayXd e = (2.0 * ax.min(40.0)).exp();
  const ArrayXd large = 1.0 - 2.0 / (e + 1.0);
  // odd Taylor series of tanh: y = Σ c_k x^{2k+1} solves y' = 1 − y², so (2k+1) c_k = [k = 0] − Σ_{i+j=k−1} c_i c_j
  static constexpr auto c = [] {
    std::array<double, 20> t{};
    for (int k = 0; k < 20; ++k) {
      double sum = k == 0 ? 1.0 : 0.0;
      for (int i = 0; i <= k - 1; ++i) sum -= t[i] * t[k - 1 - i];
      t[k] = sum / (2 * k + 1);
    }
    return t;
  }();
  const ArrayXd s = ax.min(0.625);
  const ArrayXd s2 = s * s;
  ArrayXd poly = ArrayXd::Constant(x.size(), c[19]);
  for (int k = 18; k >= 0; --k) poly = poly * s2 + c[k];
  const ArrayXd small = s * poly;
  const ArrayXd magnitude = (ax >= 0.625).select(large, small);
  return (x < 0).select(-magnitude, magnitude);
}

}  // namespace tp::limits

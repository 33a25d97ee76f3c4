// Elementary functions on Eigen arrays that Eigen 3.4 does not vectorize for double (its atan and tanh call the
// scalar libm per coefficient). Written with Eigen array expressions and select(), so the compiler emits packet
// code (SSE2 by default) and the kernel recursions (limits/mlp_kernel.h) run them on whole columns.
//
//  * atan2_upper(y, x) for y ≥ 0: the angle in [0, π]. Reduction to atan t, t = min(y, |x|)/max(y, |x|) ∈ [0, 1];
//    on t > 0.66 the further reduction atan t = π/4 + atan((t − 1)/(t + 1)); then atan z = z + z·z²P(z²)/Q(z²)
//    with Cephes' rational approximation (S. L. Moshier, Cephes Math Library, atan.c: relative error ≤ 1e−16 on
//    |z| ≤ 0.66), π/4 and π/2 split into a double and a correction (MOREBITS). Measured against std::atan2:
//    ≤ 2 ulp of π over [0, π] (tests/limits/test_vector_math.cpp).
//  * tanh_array(x): tanh x = sign(x) (1 − 2/(e^{2|x|} + 1)) for |x| ≥ 0.625 (Eigen's vectorized exp; the result
//    is ≥ 0.55 there, so the subtraction loses nothing), and the odd Taylor series Σ c_k x^{2k+1} (20 terms,
//    from y' = 1 − y²; the series converges like (2x/π)^{2k}, 0.158^k at 0.625) below; within 3e−16 of std::tanh
//    (tested), i.e. a few ulp relative to max(|tanh x|, 1/2).
#pragma once

#include <Eigen/Core>

#include <array>
#include <numbers>

namespace tp::limits {

/// atan2(y, x) for y ≥ 0 (elementwise), in [0, π]; atan2(0, 0) = 0.
inline Eigen::ArrayXd atan2_upper(const Eigen::ArrayXd& y, const Eigen::ArrayXd& x) {
  using Eigen::ArrayXd;
  constexpr double pi = std::numbers::pi;
  constexpr double morebits = 6.123233995736765886130e-17;  // π/2 − double(π/2)
  const ArrayXd ax = x.abs();
  const ArrayXd hi = ax.max(y), lo = ax.min(y);
  const ArrayXd t = (hi > 0).select(lo / hi, ArrayXd::Zero(x.size()));
  const auto big = t > 0.66;
  const ArrayXd z = big.select((t - 1.0) / (t + 1.0), t);
  const ArrayXd z2 = z * z;
  // Cephes atan.c: P (degree 4) and Q (monic, degree 5)
  const ArrayXd p = (((-8.750608600031904122785e-1 * z2 - 1.615753718733365076637e1) * z2 - 7.500855792314704667340e1) * z2 -
                     1.228866684490136173410e2) * z2 - 6.485021904942025371773e1;
  const ArrayXd q = ((((z2 + 2.485846490142306297962e1) * z2 + 1.650270098316988542046e2) * z2 + 4.328810604912902668951e2) * z2 +
                     4.853903996359136964868e2) * z2 + 1.945506571482613964425e2;
  ArrayXd a = z + z * (z2 * p / q);
  a = big.select(a + 0.5 * morebits + pi / 4, a);       // atan t on [0, 1]
  a = (y > ax).select((pi / 2 - a) + morebits, a);      // atan2 on the first quadrant
  return (x < 0).select((pi - a) + 2 * morebits, a);    // second quadrant
}

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

// One layer of the NNGP/NTK recursion (limits/mlp_kernel.h) for piecewise-linear φ on a whole column of the
// upper triangle at once, for the φ whose gap is exact: homogeneous of order 1 (α relu(x) + β relu(−x): relu,
// leaky relu, abs, identity) or of order 0 (p step(x) + q step(−x) + c0: step, sign, constants — the derivatives
// of the order-1 family). The formulas are those of limits/piecewise_linear.h (arc-cosine kernels, the gap,
// next_det), with cos θ = c/√(ab) and sin θ = √det/√(ab) (1/√(ab) from per-layer reciprocals 1/√K(i, i)) instead of
// trigonometric calls, √(ab) = √a √b, and θ = atan2(√det, c) by Cephes' atan (S. L. Moshier, Cephes Math Library, atan.c: a rational
// approximation on |z| ≤ 0.66 after the reduction (t − 1)/(t + 1), relative error ≤ 1e−16; its two polynomials and
// the six-term series of h(t) = sin t − t cos t on t ≤ 0.25 (truncation ≤ 1.9e−18 relative) by Estrin's scheme,
// which shortens the dependency chain; relu and step, whose other side is 0, skip those terms). The loop is
// branch-free so that GCC vectorizes it, compiled for AVX-512, AVX2 and baseline x86-64 and chosen when the program loads (target_clones); the file is
// built with -ffp-contract=off so every variant rounds alike. Results agree with the scalar expect_piecewise to
// a few ulps (tested), within the route's rounding allowance.
#pragma once

#include <cstddef>

#include "limits/piecewise_linear.h"

namespace tp::limits {

/// True if f is one of the φ this file handles (order 1 or order 0 terms, not both).
bool piecewise_homogeneous(const PiecewiseLinear& f);

/// Entries i = 0..m−1 of column j = m − 1 of the upper triangle: root_a[i] = √K^l(i, i) and inv_root_a[i] = 1/root_a[i]
/// (index m−1: the column's own), all > 0; in: k[i] = K^l(i, j), theta[i] = Θ^l(i, j), and for the off-diagonal
/// entries i < m − 1 det[i] = det of the pair's 2×2 covariance; out (in place): K^{l+1}, Θ^{l+1} = K^{l+1} +
/// σ_w² E[φ'φ'] Θ^l and, if update_det, the next det (the last layer needs none). phi and dphi must satisfy
/// piecewise_homogeneous. Returns max |K^{l+1}| and max |Θ^{l+1}| over the column, and whether all were finite.
struct ColumnSummary {
  double max_k = 0.0, max_theta = 0.0;
  bool finite = true;
};
ColumnSummary piecewise_layer_column(const PiecewiseLinear& phi, const PiecewiseLinear& dphi, double sw2, double sb2,
                                     const double* root_a, const double* inv_root_a, std::size_t m, double* k,
                                     double* theta, double* det, bool update_det = true);

/// E φ(u_i) φ(v_i) for (u_i, v_i) ~ N(0, [[a_i, c_i], [c_i, b]]) with det_i (one column, no recursion): the
/// same arithmetic, for tests.
void expect_piecewise_column(const PiecewiseLinear& f, const double* a, double b, const double* c,
                             const double* det, std::size_t m, double* out);

}  // namespace tp::limits

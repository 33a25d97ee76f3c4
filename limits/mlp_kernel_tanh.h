// tanh for the quadrature route of limits/mlp_kernel.h (issue #11 target 1: the 2-D trapezoidal rule evaluates
// tanh at ~10^4 nodes per kernel entry, which was 53 % of the time with Eigen's SSE2 packets).
//
//  * tanh_values: tanh x = sign(x) (1 − 2/(e^{2|x|} + 1)) for |x| ≥ 0.625 and the odd Taylor series Σ c_k x^{2k+1}
//    (20 terms, from y' = 1 − y²; it converges like (2x/π)^{2k}, 0.158^k at 0.625) below. e^y for y ∈ [1.25, 80]
//    (2|x| clamped at 80, where tanh rounds to 1) by y = k ln 2 + r with ln 2 split in two parts (Cody–Waite, k by
//    the 1.5·2^52 rounding trick), |r| ≤ ln2/2, e^r by its Taylor polynomial of degree 13 (remainder < 5e−18
//    relative) and 2^k put into the exponent bits. Branch-free, so GCC vectorizes the loop; compiled for
//    AVX-512, AVX2 and baseline x86-64 and chosen when the program loads (target_clones), with -ffp-contract=off
//    so that every variant gives the same bits. Accuracy: within 2 ulps of max(|tanh x|, 1/2) of std::tanh (2e−16
//    absolute; relative 2 ulps below 0.625; tests/limits/test_mlp_kernel_tanh.cpp, a dense grid and the tails).
//  * tanh_cached_entry: one off-diagonal entry of the cached scheme with φ = tanh, fused: for each row p of the
//    node set, Σ_q w_q tanh(α x_p + s x_q) and Σ_q w_q (1 − tanh²) in eight lane sums (a fixed order, so every
//    instruction set gives the same bits), times the row's weight and the cached φ(u), φ'(u) of input i. The
//    nodes form a product grid, so e^{2v} = e^{2α x_p} e^{2s x_q}: the entry computes the exponentials of its rows
//    and of its 1-D grid once (~200 instead of ~7,500 tanh for the 1e-10 rule) and per node only
//    tanh v = 1 − 2/(e^{2α x_p} e^{2s x_q} + 1): a product (relative error a few ulps), one division, no
//    cancellation near |v| large; its absolute error is ≤ 4e−16 per node (tested against std::tanh), which is
//    what a quadrature sum of bounded terms needs. Where an exponent would leave [−700, 700] (variances of order
//    10^3) the entry falls back to tanh_values' formula at every node.
#pragma once

#include <cstddef>
#include <vector>

namespace tp::limits {

/// y[i] = tanh(x[i]) for i < n (see the header comment for the method and accuracy). x and y may alias.
void tanh_values(const double* x, double* y, std::size_t n);

/// A 2-D product node set by rows for tanh_cached_entry: row r is the outer node row_x[r] (weight row_w[r], parity
/// multiplicity included) with the inner nodes grid_x[q], weights grid_w[q], for q = row_first[r] ..
/// row_first[r] + row_length[r] − 1 of the 1-D rule.
inline constexpr std::size_t tanh_lanes = 8;
struct TanhRows {
  std::vector<double> row_x, row_w;
  std::vector<std::size_t> row_first, row_length;
  std::vector<double> grid_x, grid_w;
};

/// E[tanh(u) tanh(v)] and E[tanh'(u) tanh'(v)] of one entry, v = α x_p + s x_q:
/// Σ_r row_w[r] fu[r] Σ_q grid_w[q] tanh(v) and the same with gu and 1 − tanh², where fu[r], gu[r] are tanh and
/// tanh' of the entry's u at row r.
struct TanhSums {
  double phi = 0.0, dphi = 0.0;
};
TanhSums tanh_cached_entry(const TanhRows& rows, const double* fu, const double* gu, double alpha, double s);

}  // namespace tp::limits

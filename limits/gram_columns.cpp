// Gram matrix columns; the method is described in gram_columns.h.
#include "limits/gram_columns.h"

#include <algorithm>
#include <array>
#include <cstring>

namespace tp::limits {
namespace {

constexpr std::size_t block_cols = 8, block_rows = 16;

/// Σ_c x(i, c) x(j, c), sequentially in c (the order of the blocks below).
[[gnu::always_inline]] inline double dot(const double* x, std::size_t n, std::size_t d, std::size_t i, std::size_t j) {
  double s = 0.0;
  for (std::size_t c = 0; c < d; ++c) s += x[i + c * n] * x[j + c * n];
  return s;
}

/// 8 doubles (GCC vector extension: one AVX-512 register, two AVX2 or four SSE2 registers; element-wise arithmetic
/// either way).
typedef double v8d __attribute__((vector_size(64)));

[[gnu::always_inline]] inline void load8(const double* p, v8d& v) { std::memcpy(&v, p, sizeof v); }

/// Rows i..i+15 of columns j..j+7 (the rows past a column's diagonal are computed but not stored).
[[gnu::always_inline]] inline void block(const double* __restrict x, std::size_t n, std::size_t d, std::size_t i,
                                         std::size_t j, double* __restrict g, std::size_t ld) {
  v8d acc[block_cols][2] = {};
  for (std::size_t c = 0; c < d; ++c) {
    const double* col = x + c * n;
    v8d lo, hi;
    load8(col + i, lo);
    load8(col + i + 8, hi);
    for (std::size_t jj = 0; jj < block_cols; ++jj) {
      const double b = col[j + jj];
      const v8d bb = {b, b, b, b, b, b, b, b};
      acc[jj][0] += lo * bb;
      acc[jj][1] += hi * bb;
    }
  }
  for (std::size_t jj = 0; jj < block_cols; ++jj)
    for (std::size_t l = 0; l < block_rows && i + l <= j + jj; ++l) g[i + l + (j + jj) * ld] = acc[jj][l / 8][l % 8];
}

}  // namespace

__attribute__((target_clones("avx512f", "arch=haswell", "default")))
void gram_upper_columns(const double* x, std::size_t n, std::size_t d, std::size_t j0, std::size_t j1, double* g,
                        std::size_t ld) {
  for (std::size_t j = j0; j < j1; j += block_cols) {
    const std::size_t cols = std::min(block_cols, j1 - j);
    std::size_t i = 0;
    if (cols == block_cols)
      for (; i + block_rows <= j + cols; i += block_rows) block(x, n, d, i, j, g, ld);
    for (std::size_t jj = 0; jj < cols; ++jj)
      for (std::size_t r = i; r <= j + jj; ++r) g[r + (j + jj) * ld] = dot(x, n, d, r, j + jj);
  }
}

}  // namespace tp::limits

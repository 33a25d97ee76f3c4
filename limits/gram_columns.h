// The Gram matrix G = X Xᵀ of the kernel inputs (the first layer of limits/mlp_kernel.h: K^1 = σ_w² G/d + σ_b²),
// upper triangle by column blocks. Each entry is the plain sequential sum Σ_c X(i, c) X(j, c) over c = 0..d−1 in
// that order, in 8- and 16-lane register blocks (8 columns × 16 rows share each load) that GCC vectorizes;
// compiled for AVX-512, AVX2 and baseline x86-64 (target_clones) without fused multiply-adds, so every entry has
// the same bits on every instruction set and for every block split or thread count.
#pragma once

#include <cstddef>

namespace tp::limits {

/// g[i + j·ld] = Σ_c x[i + c·n] x[j + c·n] for j in [j0, j1) and i ≤ j (x: n × d, column-major). Entries below the
/// diagonal are not written.
void gram_upper_columns(const double* x, std::size_t n, std::size_t d, std::size_t j0, std::size_t j1, double* g,
                        std::size_t ld);

}  // namespace tp::limits

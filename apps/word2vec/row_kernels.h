// The vector kernels of CBOW training (TP4 §9.3): dot products and fused axpys over embedding rows.
// Rows are 64-byte aligned and padded with zeros to a multiple of 64 bytes (16 floats / 8 doubles), so
// the loops run over whole SIMD registers with no tail. Each kernel is compiled for AVX-512, AVX2+FMA and
// baseline x86-64 and picked at load time (GCC target_clones), so the build needs no -march flag.
#pragma once

#include <cstddef>

namespace tp::word2vec {

/// Bytes every row is aligned and padded to.
inline constexpr std::size_t kRowAlignBytes = 64;

/// The padded length (in elements of `element_bytes`) of a row of `length` elements.
constexpr std::size_t padded_length(std::size_t length, std::size_t element_bytes) {
  const std::size_t lanes = kRowAlignBytes / element_bytes;
  return (length + lanes - 1) / lanes * lanes;
}

/// Σ_i a_i b_i over a padded length n (a multiple of the lanes).
float dot(const float* a, const float* b, std::size_t n);
double dot(const double* a, const double* b, std::size_t n);

/// y ← y + alpha x.
void axpy(float alpha, const float* x, float* y, std::size_t n);
void axpy(double alpha, const double* x, double* y, std::size_t n);

/// y ← decay y + alpha x (the weight-decayed update of one touched row).
void decay_axpy(float decay, float alpha, const float* x, float* y, std::size_t n);
void decay_axpy(double decay, double alpha, const double* x, double* y, std::size_t n);

/// One output-row step, fused so the row is read once: e ← e + g v, then v ← decay v + g h.
void accumulate_and_update(float g, float decay, const float* h, float* v, float* e, std::size_t n);
void accumulate_and_update(double g, double decay, const double* h, double* v, double* e, std::size_t n);

/// x ← alpha x.
void scale(float alpha, float* x, std::size_t n);
void scale(double alpha, double* x, std::size_t n);

}  // namespace tp::word2vec

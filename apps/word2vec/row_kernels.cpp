// See row_kernels.h. GCC vector extensions over 64-byte registers: the baseline clone lowers them to SSE2
// pairs, the x86-64-v3 clone to AVX2+FMA, the x86-64-v4 clone to AVX-512.
#include "apps/word2vec/row_kernels.h"

namespace tp::word2vec {

namespace {

template <class Real>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(kRowAlignBytes)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kRowAlignBytes)));
};
template <class Real>
using Vec = typename VecOf<Real>::type;

template <class Real>
constexpr std::size_t kLanes = kRowAlignBytes / sizeof(Real);

template <class Real>
[[gnu::always_inline]] inline Real dot_body(const Real* a, const Real* b, std::size_t n) {
  using V = Vec<Real>;
  V acc0 = {}, acc1 = {};
  std::size_t i = 0;
  for (; i + 2 * kLanes<Real> <= n; i += 2 * kLanes<Real>) {
    acc0 += *reinterpret_cast<const V*>(a + i) * *reinterpret_cast<const V*>(b + i);
    acc1 += *reinterpret_cast<const V*>(a + i + kLanes<Real>) * *reinterpret_cast<const V*>(b + i + kLanes<Real>);
  }
  if (i < n) acc0 += *reinterpret_cast<const V*>(a + i) * *reinterpret_cast<const V*>(b + i);
  acc0 += acc1;
  Real s = 0;
  for (std::size_t j = 0; j < kLanes<Real>; ++j) s += acc0[j];
  return s;
}

template <class Real>
[[gnu::always_inline]] inline void decay_axpy_body(Real decay, Real alpha, const Real* x, Real* y, std::size_t n) {
  using V = Vec<Real>;
  for (std::size_t i = 0; i < n; i += kLanes<Real>) {
    V& yv = *reinterpret_cast<V*>(y + i);
    yv = decay * yv + alpha * *reinterpret_cast<const V*>(x + i);
  }
}

template <class Real>
[[gnu::always_inline]] inline void axpy_body(Real alpha, const Real* x, Real* y, std::size_t n) {
  using V = Vec<Real>;
  for (std::size_t i = 0; i < n; i += kLanes<Real>) *reinterpret_cast<V*>(y + i) += alpha * *reinterpret_cast<const V*>(x + i);
}

template <class Real>
[[gnu::always_inline]] inline void accumulate_body(Real g, Real decay, const Real* h, Real* v, Real* e, std::size_t n) {
  using V = Vec<Real>;
  for (std::size_t i = 0; i < n; i += kLanes<Real>) {
    V& vv = *reinterpret_cast<V*>(v + i);
    const V old = vv;
    *reinterpret_cast<V*>(e + i) += g * old;
    vv = decay * old + g * *reinterpret_cast<const V*>(h + i);
  }
}

template <class Real>
[[gnu::always_inline]] inline void scale_body(Real alpha, Real* x, std::size_t n) {
  using V = Vec<Real>;
  for (std::size_t i = 0; i < n; i += kLanes<Real>) *reinterpret_cast<V*>(x + i) *= alpha;
}

}  // namespace

#define TP_W2V_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))

TP_W2V_CLONES float dot(const float* a, const float* b, std::size_t n) { return dot_body(a, b, n); }
TP_W2V_CLONES double dot(const double* a, const double* b, std::size_t n) { return dot_body(a, b, n); }
TP_W2V_CLONES void axpy(float alpha, const float* x, float* y, std::size_t n) { axpy_body(alpha, x, y, n); }
TP_W2V_CLONES void axpy(double alpha, const double* x, double* y, std::size_t n) { axpy_body(alpha, x, y, n); }
TP_W2V_CLONES void decay_axpy(float decay, float alpha, const float* x, float* y, std::size_t n) {
  decay_axpy_body(decay, alpha, x, y, n);
}
TP_W2V_CLONES void decay_axpy(double decay, double alpha, const double* x, double* y, std::size_t n) {
  decay_axpy_body(decay, alpha, x, y, n);
}
TP_W2V_CLONES void accumulate_and_update(float g, float decay, const float* h, float* v, float* e, std::size_t n) {
  accumulate_body(g, decay, h, v, e, n);
}
TP_W2V_CLONES void accumulate_and_update(double g, double decay, const double* h, double* v, double* e, std::size_t n) {
  accumulate_body(g, decay, h, v, e, n);
}
TP_W2V_CLONES void scale(float alpha, float* x, std::size_t n) { scale_body(alpha, x, n); }
TP_W2V_CLONES void scale(double alpha, double* x, std::size_t n) { scale_body(alpha, x, n); }

#undef TP_W2V_CLONES

}  // namespace tp::word2vec

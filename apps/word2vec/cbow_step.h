// One CBOW negative-sampling update (Mikolov et al. 2013 as in TP4's code; TP4 §9.3, Eq. 38), the only
// place where embeddings change — at finite width, in the µP limit and in NTK parametrization alike:
//   1. h̃ = (1/|J|) Σ_{c∈J} ũ_c                              (context mean, TP4 Eq. 38)
//   2. for t = target (label 1), then each negative ≠ target (label 0), in order:
//        f = ⟨h̃, ṽ_t⟩,  g = η (label − σ(f)),  ẽ ← ẽ + g ṽ_t,  ṽ_t ← (1 − η λ) ṽ_t + g h̃
//   3. for c ∈ J (repeats included, in order): ũ_c ← (1 − η_in λ) ũ_c + (η_in/η) ẽ / |J|
// η is the learning rate, λ the weight decay, η_in = η · spec.input_lr_scale() (µP: η; NTK: η/n).
// σ: float uses a 4096-entry table on [−16, 16] with linear interpolation (error < 1e-5); double is exact.
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "apps/word2vec/embedding_model.h"
#include "apps/word2vec/row_kernels.h"

namespace tp::word2vec {

/// σ(x) = 1/(1 + e^{−x}) from a table (float) or exactly (double).
template <class Real>
Real sigmoid(Real x);
template <>
double sigmoid<double>(double x);
template <>
float sigmoid<float>(float x);

/// Per-thread work space of cbow_step: the context mean h̃ and the accumulated gradient ẽ.
template <class Real>
struct StepScratch {
  explicit StepScratch(std::size_t length) : buffers(2, length) {}
  EmbeddingMatrix<Real> buffers;  ///< row 0: h̃, row 1: ẽ
};

/// What one step reports besides updating: the logits (when asked) and whether to compute the loss.
struct StepLogits {
  std::vector<double>* logits = nullptr;  ///< if set, f of the target and of each used negative, in order
  bool want_loss = false;
};

/// The update above. context/negatives are vocabulary indices; negatives equal to the target are skipped
/// (as word2vec does). Returns the mean log-loss per sample, −log σ(±f), if options.want_loss, else 0.
/// The caller guarantees n_context > 0.
template <class Real>
double cbow_step(EmbeddingModel<Real>& m, std::int32_t target, const std::int32_t* context, int n_context,
                 const std::int32_t* negatives, int n_negatives, Real lr, Real weight_decay, StepScratch<Real>& s,
                 const StepLogits& options = {}) {
  const std::size_t n = m.input.stride();
  Real* h = s.buffers.row(0);
  Real* e = s.buffers.row(1);
  // 1. context mean
  std::fill(h, h + n, Real(0));
  std::fill(e, e + n, Real(0));
  for (int j = 0; j < n_context; ++j) axpy(Real(1), m.input.row(static_cast<std::size_t>(context[j])), h, n);
  const Real inv_j = Real(1) / static_cast<Real>(n_context);
  scale(inv_j, h, n);
  // 2. target and negatives
  const Real out_decay = Real(1) - lr * weight_decay;
  double loss = 0;
  int samples = 0;
  for (int d = -1; d < n_negatives; ++d) {
    const std::int32_t t = d < 0 ? target : negatives[d];
    if (d >= 0 && t == target) continue;
    Real* v = m.output.row(static_cast<std::size_t>(t));
    const Real f = dot(h, v, n);
    const Real p = sigmoid(f);
    const Real label = d < 0 ? Real(1) : Real(0);
    if (options.logits) options.logits->push_back(static_cast<double>(f));
    ++samples;
    if (options.want_loss) loss -= std::log(std::max(d < 0 ? static_cast<double>(p) : 1.0 - static_cast<double>(p), 1e-10));
    accumulate_and_update(lr * (label - p), out_decay, h, v, e, n);
  }
  // 3. context rows
  const Real in_scale = static_cast<Real>(m.spec.input_lr_scale());
  const Real in_decay = Real(1) - lr * in_scale * weight_decay;
  const Real in_step = in_scale * inv_j;
  for (int j = 0; j < n_context; ++j) decay_axpy(in_decay, in_step, e, m.input.row(static_cast<std::size_t>(context[j])), n);
  return loss / samples;
}

}  // namespace tp::word2vec

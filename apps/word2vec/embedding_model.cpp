// See embedding_model.h.
#include "apps/word2vec/embedding_model.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "apps/word2vec/errors.h"
#include "apps/word2vec/row_kernels.h"
#include "limits/rng.h"

namespace tp::word2vec {

std::size_t ModelSpec::row_length() const {
  if (width) return *width;
  return sigma_v == 0.0 ? vocab : 2 * vocab;
}

double ModelSpec::input_lr_scale() const {
  if (parametrization == Parametrization::mup) return 1.0;
  return width ? 1.0 / static_cast<double>(*width) : 0.0;
}

std::string ModelSpec::describe() const {
  const std::string p = parametrization == Parametrization::mup ? "µP" : "NTK";
  if (!width) return p + " limit (rows of length " + std::to_string(row_length()) + ")";
  return p + " width " + std::to_string(*width);
}

std::uint64_t model_bytes(const ModelSpec& spec, std::size_t element_bytes) {
  return 2ULL * spec.vocab * padded_length(spec.row_length(), element_bytes) * element_bytes;
}

void check_memory_budget(const ModelSpec& spec, double budget_gib, const std::uint64_t* counts_by_rank) {
  const std::uint64_t need = model_bytes(spec, sizeof(float));
  const double budget = budget_gib * 1073741824.0;
  if (static_cast<double>(need) <= budget) return;
  std::string msg = fmt::format("{} of |V| = {} words needs {} bytes ({:.2f} GiB) for its two embedding matrices, over "
                                "--memory-budget {} GiB",
                                spec.describe(), spec.vocab, need, static_cast<double>(need) / 1073741824.0, budget_gib);
  if (spec.limit()) {
    // rows × length grows like |V|²: the largest vocabulary that fits.
    std::size_t fit = spec.vocab;
    ModelSpec smaller = spec;
    while (fit > 1) {
      fit = static_cast<std::size_t>(static_cast<double>(fit) * 0.97);
      smaller.vocab = fit;
      if (static_cast<double>(model_bytes(smaller, sizeof(float))) <= budget) break;
    }
    msg += fmt::format("; use --vocab-max {}", fit);
    if (counts_by_rank && fit > 0 && fit < spec.vocab) msg += fmt::format(" or --min-count {}", counts_by_rank[fit] + 1);
    msg += " (the most frequent words), or a larger --memory-budget";
  } else {
    msg += "; use a smaller --width, --vocab-max or a larger --memory-budget";
  }
  throw MemoryBudgetError(msg);
}

template <class Real>
void EmbeddingMatrix<Real>::Free::operator()(Real* p) const {
  std::free(p);
}

template <class Real>
EmbeddingMatrix<Real>::EmbeddingMatrix(std::size_t rows, std::size_t length)
    : rows_(rows), length_(length), stride_(padded_length(length, sizeof(Real))) {
  const std::size_t bytes = std::max<std::size_t>(rows_ * stride_ * sizeof(Real), kRowAlignBytes);
  void* p = std::aligned_alloc(kRowAlignBytes, bytes);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  data_.reset(static_cast<Real*>(p));
}

template <class Real>
EmbeddingModel<Real> make_model(const ModelSpec& spec) {
  EmbeddingModel<Real> m{spec, EmbeddingMatrix<Real>(spec.vocab, spec.row_length()),
                         EmbeddingMatrix<Real>(spec.vocab, spec.row_length())};
  const std::size_t V = spec.vocab;
  if (spec.limit()) {
    for (std::size_t w = 0; w < V; ++w) {
      m.input.row(w)[w] = static_cast<Real>(spec.sigma_u);
      if (spec.sigma_v != 0.0) m.output.row(w)[V + w] = static_cast<Real>(spec.sigma_v);
    }
    return m;
  }
  const double n = static_cast<double>(*spec.width);
  const double su = spec.sigma_u / std::sqrt(n);
  const double sv = spec.parametrization == Parametrization::mup ? spec.sigma_v / std::sqrt(n) : spec.sigma_v;
  limits::Rng ru(spec.seed, 0x7730'7665'6300'0001ULL), rv(spec.seed, 0x7730'7665'6300'0002ULL);
  for (std::size_t w = 0; w < V; ++w) {
    Real* u = m.input.row(w);
    for (std::size_t i = 0; i < *spec.width; ++i) u[i] = static_cast<Real>(su * ru.normal());
    if (sv != 0.0) {
      Real* v = m.output.row(w);
      for (std::size_t i = 0; i < *spec.width; ++i) v[i] = static_cast<Real>(sv * rv.normal());
    }
  }
  return m;
}

template class EmbeddingMatrix<float>;
template class EmbeddingMatrix<double>;
template EmbeddingModel<float> make_model<float>(const ModelSpec&);
template EmbeddingModel<double> make_model<double>(const ModelSpec&);

}  // namespace tp::word2vec

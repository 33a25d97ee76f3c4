// The two embedding matrices of CBOW word2vec at finite width, in the exact µP limit and in NTK
// parametrization (TP4 §9.3, App. D.2) — one representation, three initializers.
//
// Stored variables (TP4's code stores exactly these; its logit is a plain dot product):
//   input  ũ_w ∈ R^L,  output ṽ_w ∈ R^L,  logit f = ⟨h̃, ṽ_t⟩ with h̃ = (1/|J|) Σ_{c∈J} ũ_c   (TP4 Eq. 38).
// With h = √n ũ and V = ṽ/√n (the network's hidden vector, coordinates Θ(1), and readout, Θ(1/n)), f = Vᵀh
// and plain SGD at one learning rate η on (ũ, ṽ) is SGD on (h, V) with rates ηn and η/n: µP for an
// embedding and a readout layer (TP4 §5, Def. 5.1 / App. C.1). Hence the µP initializer
//   finite width n:  ũ_w ~ N(0, σ_u²/n) iid,  ṽ_w ~ N(0, σ_v²/n) iid (σ_v = 0: zero, as TP4's code),
// and the same η at every n. NTK parametrization (TP4 App. D.2.2; §3 with a = (0, 1/2), b = 0, c = 0):
// the readout starts at Θ(1/√n) coordinates (ṽ ~ N(0, σ_v²)) and the input rows move at rate η/n, so the
// input embeddings stay at their random initialization as n → ∞ (kernel regime).
//
// The µP limit (DESIGN: every ũ, ṽ stays in the span of the initial ones, whose Gram matrix tends to
// diag(σ_u² I, σ_v² I)): rows of length L = |V| (σ_v = 0) or 2|V| (σ_v > 0) holding coefficients scaled so
// that the plain dot product IS the limiting inner product: ũ_w(0) = σ_u e_w, ṽ_w(0) = σ_v e_{|V|+w}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace tp::word2vec {

enum class Parametrization { mup, ntk };

struct ModelSpec {
  std::size_t vocab = 0;
  std::optional<std::size_t> width;  ///< finite width n; nullopt: the infinite-width limit
  Parametrization parametrization = Parametrization::mup;
  double sigma_u = 1.0;  ///< input embedding scale (TP4's code: uniform with variance 1/n, σ_u = 1)
  double sigma_v = 0.0;  ///< output embedding scale (TP4's code: 0)
  std::uint64_t seed = 1;

  bool limit() const { return !width.has_value(); }
  /// Row length L: n, or |V| / 2|V| in the limit.
  std::size_t row_length() const;
  /// The learning-rate factor of the input rows: 1 in µP, 1/n in NTK (0 in its limit).
  double input_lr_scale() const;
  /// "width 256", "µP limit", "NTK width 256", ...
  std::string describe() const;
};

/// Bytes of the two matrices of `spec` stored with elements of `element_bytes` (rows padded to 64 bytes).
std::uint64_t model_bytes(const ModelSpec& spec, std::size_t element_bytes);

/// Throws MemoryBudgetError if the two float matrices need more than budget_gib GiB: the message names
/// the bytes needed and, for the limit, the largest --vocab-max that fits (and the --min-count that
/// would give a vocabulary that small, from the counts by rank in `counts_by_rank` if given).
void check_memory_budget(const ModelSpec& spec, double budget_gib, const std::uint64_t* counts_by_rank = nullptr);

/// A dense matrix of `rows` rows of length `length`, each 64-byte aligned and zero-padded to `stride`.
template <class Real>
class EmbeddingMatrix {
 public:
  EmbeddingMatrix() = default;
  EmbeddingMatrix(std::size_t rows, std::size_t length);
  Real* row(std::size_t r) { return data_.get() + r * stride_; }
  const Real* row(std::size_t r) const { return data_.get() + r * stride_; }
  std::size_t rows() const { return rows_; }
  std::size_t length() const { return length_; }
  std::size_t stride() const { return stride_; }

 private:
  struct Free {
    void operator()(Real* p) const;
  };
  std::size_t rows_ = 0, length_ = 0, stride_ = 0;
  std::unique_ptr<Real[], Free> data_;
};

/// Input and output embeddings with the spec that initialized them.
template <class Real>
struct EmbeddingModel {
  ModelSpec spec;
  EmbeddingMatrix<Real> input, output;
};

/// Allocates and initializes (see the header comment). Deterministic in spec.seed.
template <class Real>
EmbeddingModel<Real> make_model(const ModelSpec& spec);

}  // namespace tp::word2vec

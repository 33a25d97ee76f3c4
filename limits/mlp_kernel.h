// The NNGP and NTK kernels of a fully connected network (MLP) in the NTK parametrization, as the width of
// every hidden layer goes to infinity (Neal 1996; Lee et al. 2018 "Deep Neural Networks as Gaussian
// Processes" eq. 4; Jacot et al. 2018 "Neural Tangent Kernel" Thm 1; Arora et al. 2019 eqs. 9–11; TP2, Yang
// 2020, arXiv 2006.14548, §6 for the Tensor Programs proof; conventions of neural-tangents `stax.Dense`).
//
// Network (depth L = number of hidden layers, inputs x ∈ R^d, one output):
//   h^1 = σ_w¹/√d W^1 x + σ_b¹ b^1,   h^{l+1} = σ_w^{l+1}/√n W^{l+1} φ(h^l) + σ_b^{l+1} b^{l+1},   f = h^{L+1}.
// Recursions (nngp K, ntk Θ; (u, v) ~ N(0, [[K^l(x,x), K^l(x,x')], [K^l(x,x'), K^l(x',x')]])):
//   K^1(x, x') = σ_w¹² x·x'/d + σ_b¹²,                                Θ^1 = K^1,
//   K^{l+1}    = σ_w^{l+1}² E[φ(u) φ(v)] + σ_b^{l+1}²,               Θ^{l+1} = K^{l+1} + σ_w^{l+1}² E[φ'(u) φ'(v)] Θ^l.
//
// Routes:
//  * closed_form — φ is identity, erf, sin, cos or exp (limits/closed_forms.h; φ' pairs: erf → erf',
//    identity → 1, sin → cos, cos → −sin, exp → exp), or piecewise linear with its kink at 0 (relu, leaky relu,
//    abs, step, sign and their combinations: arc-cosine kernels of orders 0 and 1, limits/piecewise_linear.h).
//    The piecewise-linear route carries det K^l of every pair alongside K^l (from the inputs as
//    s²|x|²|y − tx|² + s b |x − y|², then through the gap of piecewise_linear.h), so the angle atan2(√det, k12)
//    is accurate for nearly collinear inputs, where arccos ρ loses half the digits (issue #13 item 2). When φ is
//    homogeneous (order 1 or order 0 alone: relu, leaky relu, abs, step, sign — the gap is exact), a layer is
//    computed in place on the upper triangles of K and Θ, with det in K's free lower triangle, a column at a time
//    (limits/piecewise_columns.h), and K^1 and det K^1 come from the Gram matrix X Xᵀ computed by column blocks
//    (limits/gram_columns.h; det by the cancellation-free form above only where cos² of the input angle exceeds
//    1/2; elsewhere |x|²|y|² − (x·y)² loses at most a few ulps). Memory: two N × N matrices, plus every layer's
//    two when all layers are kept;
//  * quadrature, split scheme — φ or φ' has kinks or jumps at known points (relu, step, abs, sign of an affine
//    k x + c anywhere in φ): Gauss–Legendre panels cut at the kinks in both whitened variables
//    (limits/split_normal_rule.h), MlpKernelOptions::split_order nodes per panel, estimate from twice as many.
//    Gauss–Hermite converges only like k^{−1} on kinked integrands and its |Q_k − Q_2k| understated the error
//    2–3× (issue #13 item 1);
//  * quadrature — every other φ: a 2-D product rule over the whitened variables, u = √a ξ₁ and
//    v = (c/√a) ξ₁ + √(b − c²/a) ξ₂ for the covariance [[a, c], [c, b]]: by default the trapezoidal rule of
//    limits/trapezoid_rule.h (issue #13 item 5; the engine the µP quadrature route uses too), whose error for φ
//    analytic in a strip, like tanh with poles at ±iπ/2, falls like e^{−2π·strip/h}, where Gauss–Hermite's falls
//    like e^{−c√k} (tanh at σ_w² = 2 and |x|²/d = 2: order 160 is off by 1.1e-7 in the NTK). The spacing h is
//    chosen before the matrices are computed: h_0 = 1/2, divided by 1.5 until the whole recursion of the sampled
//    pairs (below) changes by at most target_error (1e-10) between h and h/1.5 in every layer, or until the node
//    budget stops it (target_met = false). MlpKernelOptions::order = k > 0 selects Gauss–Hermite of order k
//    instead. The univariate part is cached: φ(√K_ii x_p) and φ'(√K_ii x_p) are computed once per input i and
//    layer; an entry (i, j) evaluates only φ and φ' of v at the nodes (vectorised with tp::CompiledExpr, and
//    tanh by limits/mlp_kernel_tanh.h, fused per entry; when φ occurs in φ', as in tanh' = 1 − tanh², φ' reads the φ values instead
//    of recomputing them). Nodes whose product weight is below MlpKernelOptions::weight_cutoff are skipped (a
//    disc of radius about 10.6). When φ is provably odd or even (a symbolic parity analysis: tanh,
//    x^3 − tanh(x), cos, ...), φ(u)φ(v) and φ'(u)φ'(v) are invariant under (u, v) → (−u, −v) and only the nodes with
//    ξ₁ ≥ 0 are used, those with ξ₁ > 0 at twice their weight. Diagonal entries are 1-D integrals computed by the adaptive
//    limits::gaussian_expectation, which also detects a divergent E φ(u)² or E φ'(u)² (DivergentIntegral)
//    before any 2-D work (a finite diagonal bounds every off-diagonal entry, Cauchy–Schwarz), and with the
//    trapezoidal rule also by a 1-D trapezoidal rule refined to 1e-15 relative; the more accurate is used.
//
// Error estimate (per layer, separately for nngp and ntk; a max-abs over entries):
//  * quadrature: the whole recursion is recomputed for a sample of off-diagonal pairs (i, j) at spacing h/1.5
//    (Gauss–Hermite: order 2k) with the squared weight cutoff (so the cutoff's own error is seen too) — an entry of layer l+1 depends only on
//    the entries (i,i), (j,j), (i,j) of layer l, so a pair is a 2-input kernel of its own — and the estimate
//    is max |K_k − K_2k| over the sample, plus the adaptive 1-D integrals' own error estimates. The sample is
//    every pair when there are at most error_sample_pairs of them; otherwise the pairs among the 8 inputs of
//    largest K^1(x,x) (large variances are the hard integrands) plus pairs spread evenly over the upper
//    triangle, error_sample_pairs in all. Errors of k-th order rules on analytic φ fall like exp(−c√k), so
//    |Q_k − Q_2k| ≈ Q_k's own error (tested: within a factor 1.5 at errors ~1e−6).
//  * closed_form: a rounding bound 16 ε · l · max |entry| (heuristic: a few ulps per formula, per layer). For
//    piecewise-linear φ with both orders (e.g. relu(x) + 0.5), whose gap is computed by subtraction, plus the
//    effect of the resulting angle error per pair (|E(θ ± δθ) − E(θ)|, δθ carried from layer to layer).
#pragma once

#include <Eigen/Core>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "limits/estimate.h"
#include "tp/expr.h"

namespace tp::limits {

/// An invalid kernel specification or input matrix (depth < 1, variances negative or not finite, wrong list
/// lengths, an activation over more than one argument, non-finite inputs). The message names the culprit.
struct MlpKernelError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

/// The network. sw2 and sb2 hold either one value (every layer) or depth + 1 values: index 0 is the input
/// layer (K^1), index l the layer producing h^{l+1}; index depth is the readout.
struct MlpKernelSpec {
  ExprPtr activation;   ///< φ over argument 0
  ExprPtr derivative;   ///< φ' = tp::derivative(activation, 0)
  int depth = 1;        ///< L ≥ 1, the number of hidden layers
  std::vector<double> sw2{1.0};
  std::vector<double> sb2{0.0};
  /// Multipliers of a layer's own terms in the NTK sum, indexed like sw2 (empty = 1 for every layer): Θ^1 =
  /// s_w⁰ σ_w¹² x·x'/d + s_b⁰ σ_b¹², Θ^{l+1} = s_w^l σ_w² E[φ(u)φ(v)] + s_b^l σ_b² + σ_w² E[φ'(u)φ'(v)] Θ^l. K is
  /// unchanged. 0 drops the layer's weights (or bias) from the NTK: the kernel of a kernel-regime
  /// parametrization whose updates of that layer vanish in the limit (TP4 App. H.6; limits/kernel_gd.h).
  std::vector<double> ntk_weight_scale, ntk_bias_scale;

  double sw2_at(int layer) const { return sw2.size() == 1 ? sw2[0] : sw2.at(static_cast<std::size_t>(layer)); }
  double sb2_at(int layer) const { return sb2.size() == 1 ? sb2[0] : sb2.at(static_cast<std::size_t>(layer)); }
  double ntk_w_at(int layer) const {
    return ntk_weight_scale.empty() ? 1.0 : ntk_weight_scale.at(static_cast<std::size_t>(layer));
  }
  double ntk_b_at(int layer) const {
    return ntk_bias_scale.empty() ? 1.0 : ntk_bias_scale.at(static_cast<std::size_t>(layer));
  }
};

/// Builds and validates a spec (derivative taken symbolically). Throws MlpKernelError.
MlpKernelSpec make_mlp_kernel_spec(ExprPtr activation, int depth, std::vector<double> sw2, std::vector<double> sb2);

/// Throws MlpKernelError if the spec is inconsistent (see MlpKernelError).
void validate_mlp_kernel_spec(const MlpKernelSpec& spec);

/// How the quadrature route evaluates an off-diagonal entry (the naive scheme exists for the benchmark).
enum class MlpQuadratureScheme {
  cached,  ///< φ(u), φ'(u) once per input; per entry only φ(v), φ'(v) at the k² nodes
  naive,   ///< per entry φ(u), φ(v), φ'(u), φ'(v) at all k² nodes
};

/// The former default Gauss–Hermite order per direction of the quadrature route (MlpKernelOptions::order, now 0
/// = the trapezoidal rule; `tpc kernel --order 160` still selects it). With it the tanh, gelu and sigmoid
/// kernels (nngp and ntk) agree with an order-256 reference to 1e−10 while every variance K^l(x,x) ≤ 2
/// (e.g. inputs with |x|²/d ≤ 1 and σ_w² + σ_b² ≤ 2; tested). tanh is the slowest of the three: the poles
/// of tanh(√K ξ) at ξ = ±iπ/(2√K) make the error fall like exp(−c √(k/K)) (about 2e−12 at K = 2, 3e−11 at
/// K = 2.5, 3e−9 at K = 4 for the nngp; the ntk is 10–30× worse); the error estimate reports it.
inline constexpr int default_mlp_quadrature_order = 160;

struct MlpKernelOptions {
  bool use_closed_forms = true;      ///< off: every φ by quadrature (cross-checks)
  /// 0: the trapezoidal rule with its spacing chosen for target_error (the default); k with 2 ≤ k ≤ 256: the
  /// Gauss–Hermite rule of order k (the error estimate uses 2k), e.g. default_mlp_quadrature_order
  int order = 0;
  double target_error = 1e-10;       ///< trapezoidal rule: refine the spacing until the estimate is at most this
  double max_nodes = 4e6;            ///< trapezoidal rule: largest 2-D node set per entry the refinement may use
  MlpQuadratureScheme scheme = MlpQuadratureScheme::cached;
  double weight_cutoff = 1e-25;      ///< skip 2-D nodes whose product weight is below this (0 ≤ cutoff ≤ 1e−12)
  bool use_parity = true;            ///< halve the nodes when φ is provably odd or even (tanh, erf, sin, x^3, ...)
  std::size_t error_sample_pairs = 64;  ///< off-diagonal pairs recomputed at order 2k (0: no estimate)
  bool split_at_kinks = true;        ///< φ or φ' with breakpoints (relu, step, abs, sign of k x + c): split scheme
  int split_order = 48;              ///< split scheme: Gauss–Legendre nodes per panel (estimate: twice as many)
  unsigned threads = 0;              ///< 0 = all cores
  bool keep_all_layers = true;       ///< false: MlpKernelResult holds only the readout's matrices (less memory)
  /// Under `mpirun -np K` (limits/distributed.h): split the columns of the upper triangle over the K processes,
  /// every process then holds the same full result, bitwise equal to one process's. Only for the routes with
  /// costly entries (the in-place piecewise-linear route and quadrature); the other closed forms are computed in
  /// full by every process. Only callers that run the same call on every process may set it (tpc kernel does).
  bool distribute = false;
};

/// Kernels of every layer l = 1..L+1 (index l − 1); the output layer is the last. Matrices are N × N and
/// symmetric (entries computed for i ≤ j and mirrored); all layers are kept, 16 (L+1) N² bytes, unless
/// MlpKernelOptions::keep_all_layers is false: then nngp and ntk hold the readout only (the error vectors still
/// hold every layer).
struct MlpKernelResult {
  Route route = Route::closed_form;       ///< closed_form or quadrature
  int order = 0;                          ///< quadrature: Gauss–Hermite order k, or split scheme: nodes per panel (0:
                                          ///< the trapezoidal rule)
  double spacing = 0.0;                   ///< trapezoidal rule: its spacing h in the whitened variables
  std::size_t nodes = 0;                  ///< quadrature: 2-D nodes per off-diagonal entry (after cutoff and parity)
  bool target_met = true;                 ///< trapezoidal rule: the refinement reached target_error
  std::vector<double> breakpoints;        ///< split scheme: the kinks/jumps of φ and φ' it splits at (else empty)
  std::vector<Eigen::MatrixXd> nngp;      ///< K^l
  std::vector<Eigen::MatrixXd> ntk;       ///< Θ^l
  std::vector<double> nngp_error;         ///< max-abs error estimate of K^l (see the header comment)
  std::vector<double> ntk_error;          ///< max-abs error estimate of Θ^l
  std::size_t error_sample_pairs = 0;     ///< off-diagonal pairs the quadrature error estimate used

  const Eigen::MatrixXd& output_nngp() const { return nngp.back(); }
  const Eigen::MatrixXd& output_ntk() const { return ntk.back(); }
};

/// True if compute_mlp_kernel would use a closed form for this activation (identity, erf, sin, cos, exp applied
/// to argument 0, or a piecewise-linear φ with its kink at 0).
bool mlp_kernel_has_closed_form(const ExprPtr& activation);

/// The peak memory in bytes that compute_mlp_kernel allocates for n inputs in R^d, its result included, by the
/// route it takes: the in-place piecewise-linear route 16 bytes per entry of N × N (K and Θ; 16 (L + 1) with
/// keep_all_layers), the layer-by-layer routes 16 (L + 1) + 8 (every layer until they return, and K^1), the
/// piecewise-linear route with both orders 56 more (det, angle and error matrices), quadrature its univariate
/// caches (about order²/4 node rows per input, two of them); the MPI exchange buffers when distributed. The
/// caller adds what the process already holds (limits/resident_memory.h) and what it will write.
double mlp_kernel_bytes(const MlpKernelSpec& spec, std::size_t n, std::size_t d, const MlpKernelOptions& options = {});

/// K^l and Θ^l for the rows of `inputs` (N × d, one input per row, N ≥ 1, d ≥ 1, finite, with K^1(x, x) finite).
/// Throws MlpKernelError (bad spec, inputs or options), DivergentIntegral (E φ(u)² or E φ'(u)² is infinite
/// at some layer; the message names the layer and input) or tp::NumericalError (a non-finite kernel entry).
MlpKernelResult compute_mlp_kernel(const MlpKernelSpec& spec, const Eigen::MatrixXd& inputs,
                                   const MlpKernelOptions& options = {});

}  // namespace tp::limits

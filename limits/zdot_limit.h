// The infinite-width limit of a NETSOR⊤ program (matrices used as W and Wᵀ) by Monte Carlo over the
// Z random variables of the Master Theorem: the ZInit, ZHat, ZDot, ZNonlin and ZMoment rules of TP4
// (Yang & Hu 2021, arXiv 2011.14522) Def. 7.3, whose Thm 7.4 says every Moment of the program converges
// to the expectation computed here; the Stein form of ZDot is TP4 App. F, Remark F.2 (TP3, NETSOR⊤).
//
// A particle is one iid draw of all the Z's. Steps, per replica of P particles:
// 1. ZInit: each input group is sampled as L ξ with Σ = L Lᵀ (eigen factor, singular Σ allowed).
// 2. ZHat: the outputs h_k = W x_k of one matrix in one direction (a "family"; W and Wᵀ are different
//    families, different matrices independent) are jointly Gaussian with Cov(Ẑ^{h_j}, Ẑ^{h_k}) =
//    σ_W² E[Z^{x_j} Z^{x_k}]. Each new Ẑ is drawn from its conditional Gaussian given the family's earlier
//    Ẑ's: Ẑ^{h_k} = Σ_{j≤k} L_kj ξ_j with fresh normals ξ_k and row k of L from forward substitution.
//    The covariances are this replica's particle means σ_W² mean(x_j x_k) (a Gram matrix, so exactly PSD);
//    their O(P^-1/2) noise is part of the replica-to-replica spread, and their O(1/P) bias is far below it.
// 3. ZDot: Z^{Wx} = Ẑ^{Wx} + σ_W² Σ_i Z^{y_i} E[∂Z^x/∂Ẑ^{Wᵀ y_i}], the sum over the Wᵀ y_i computed before
//    this MatMul that x depends on (through Nonlins and earlier ZDots; every Ẑ an independent argument,
//    scalars held fixed); Wᵀ x symmetrically with the earlier W y_i. The expectations a_i are particle means:
//    - derivative: forward-mode tangents ∂Z^v/∂Ẑ^g of every vector v for exactly the leaves g a later ZDot
//      needs (tp::derivative of each Nonlin, compiled). A step or sign of a leaf-dependent argument has a
//      Dirac delta in its derivative that the a.e. derivative misses: such programs are refused.
//    - stein (Remark F.2): a = G⁺ b with G_ij = mean(Ẑ^{g_i} Ẑ^{g_j}) and b_i = mean(Z^x Ẑ^{g_i}) (the least
//      squares regression of Z^x on the Ẑ's; pseudo-inverse for singular G). Valid for relu, step, sign.
//    - automatic: derivative unless the program has such a Dirac delta, then stein. none: Ż = 0 (wrong for
//      NETSOR⊤; it exists to show that ZDot matters).
// 4. ZNonlin per particle (compiled expressions over the particle arrays); ZMoment = particle mean;
//    WidthPower n^e → 0 (e < 0) or 1 (e = 0); e > 0 is refused.
// 5. Sampling: every base normal (an input coordinate or a ZHat ξ) is one dimension of the replica's point
//    set, numbered in program order. `sobol` (default): randomized quasi-Monte Carlo — scrambled Sobol points
//    (limits/sobol_normals.h: linear matrix scramble + digital shift, one independent randomization per
//    replica and dimension; dimensions past Boost's 3667 use pseudo-random normals); `pseudo`: xoshiro
//    streams Rng(seed, (replica·2³² + value id) mixed with the block of 4096 particles). Either way particle
//    α of replica r is the same wherever it is evaluated, so a replica can be run whole or in halves.
// 6. Bias (issue #13): every particle estimate of a moment feeds back into the particles (ZHat covariances,
//    ZDot coefficients, the unrolled training's scalars), so a replica's output has a bias b/P + O(P^-2).
//    With `jackknife` (default) each replica is also run on its two halves (P/2 particles each, bias 2b/P)
//    and reports 2·θ_P − (θ_A + θ_B)/2, whose b/P terms cancel (the two-group jackknife, Quenouille 1956).
//    Cost: 2× a plain replica; the half runs share the full run's particles, so the variance barely grows.
// 7. R replicas (independent randomizations, seedable by index: replica r depends only on (seed, r)) run in
//    parallel; each output is the mean over replicas with the standard error over replicas, R − 1 degrees of
//    freedom (the same seed gives bitwise the same result whatever the thread count). Under `mpirun -np K`
//    the replicas are split in contiguous blocks over the K processes (limits/distributed.h), each running
//    its block on its threads; the result is bitwise that of one process.
#pragma once

#include <cstdint>
#include <functional>

#include "limits/gaussian_limit.h"
#include "tp/ir.h"

namespace tp::limits {

/// How a replica's base normals are drawn (step 5 above).
enum class Sampling { sobol, pseudo };

/// How the ZDot expectations E[∂Z^x/∂Ẑ^{Wᵀy}] are estimated (step 3 above).
enum class ZDotMode { automatic, derivative, stein, none };

struct ZDotOptions {
  long long particles = 1 << 16;  ///< P per replica (rounded up to even with the jackknife)
  int replicas = 8;               ///< independent replicas; the error is the standard error over them (≥ 2)
  ZDotMode zdot = ZDotMode::automatic;
  std::uint64_t seed = 0;
  unsigned threads = 0;                             ///< 0 = all cores; replicas run in parallel
  double memory_budget_bytes = 8.0 * (1ull << 30);  ///< refuse runs whose estimate is larger
  Sampling sampling = Sampling::sobol;
  bool jackknife = true;  ///< remove the O(1/P) bias with the two-half jackknife (step 6; costs 2×)
  /// called after each replica this process runs (under mpirun: of its block; total = the block's size)
  std::function<void(std::size_t done, std::size_t total)> progress;
};

/// True if e calls step or sign anywhere (only then can a derivative of it carry a Dirac delta).
bool has_step_or_sign(const ExprPtr& e);

/// The mode `automatic` resolves to for p: derivative, or stein when a Dirac delta would be missed;
/// `none`, `stein` are returned as given. Throws RouteUnavailable for `derivative` on such a program,
/// naming the Nonlin, the step/sign and the ZDot that needs its derivative.
ZDotMode resolve_zdot_mode(const Program& p, ZDotMode requested);

/// The mode a run with these options takes (automatic resolved, memory budget included) and its tangent work:
/// the tangent columns (particle arrays) the derivative form zeroes or adds into per particle (0 for Stein).
struct ZDotWork {
  ZDotMode mode = ZDotMode::automatic;
  double tangent_columns = 0;
};
ZDotWork zdot_work(const Program& p, const ZDotOptions& options);

/// Estimated peak bytes of zdot_limit: what the process holds already (the program and the engine's plan of it,
/// as its resident set) plus the particle arrays of live vectors, tangents and ZHat normals of the replicas that
/// run at once.
double zdot_memory_bytes(const Program& p, const ZDotOptions& options);

/// Evaluates every output of p in the infinite-width limit by Monte Carlo over Z particles; every Estimate
/// has route monte_carlo. Throws RouteUnavailable (n^e with e > 0; derivative mode on a step/sign program),
/// BudgetError (memory estimate over the budget; the message names the particle count and --particles) and
/// NumericalError (a NaN/Inf particle value; the message names the value, its line and the replica).
LimitResult zdot_limit(const Program& p, const ZDotOptions& options = {});

}  // namespace tp::limits

// The finite-width executor: runs a Tensor Program at width n with sampled initial vectors and matrices
// (the left-hand side of the Master Theorem, TP4 Thm 7.4: each Moment converges to its limit as n→∞).
//
// Steps per seed: 1. sample each input group (n iid draws of N(0, Σ), via Σ = L Lᵀ from an eigen
// decomposition so singular Σ work) and each matrix (iid N(0, σ²/n)), each from its own stream
// Rng(seed, value id); 2. run the ops with Eigen, MatMuls with the same matrix whose operands are ready
// batched into one product W X or Wᵀ X (limits/multi_matvec.h; the order is in finite.cpp, schedule());
// Nonlin/Moment/Scalar: compiled expressions; 3. read the outputs. Seeds run in parallel; the same seed gives bitwise the
// same outputs whatever the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "limits/estimate.h"
#include "tp/ir.h"

namespace tp::limits {

struct FiniteOptions {
  std::size_t width = 1024;
  std::vector<std::uint64_t> seeds{0};
  unsigned threads = 0;                           ///< 0 = all cores
  double memory_budget_bytes = 8.0 * (1ull << 30); ///< refuse runs that would need more
  std::function<void(std::size_t done, std::size_t total)> progress;  ///< called after each seed
  /// Non-empty: an existing directory where each seed's sampled initial vectors (n×1) and matrices (n×n,
  /// entries already scaled by σ/√n) are written as <dir>/seed<seed>_<value name>.npy (limits/npy_file.h).
  std::string save_init_dir;
};

/// The outputs of one run.
struct SeedOutputs {
  std::uint64_t seed = 0;
  std::vector<double> values;  ///< one per Program::outputs(), same order
};

struct FiniteResult {
  std::size_t width = 0;
  std::vector<std::string> names;     ///< output names
  std::vector<SeedOutputs> per_seed;  ///< in the order of FiniteOptions::seeds
  std::vector<Estimate> summary;      ///< mean ± standard error over seeds, route finite_width
};

/// Peak memory in bytes that run_finite needs for this program at this width with this many
/// concurrent seeds (matrices dominate: 8 n² bytes each).
double finite_memory_bytes(const Program& p, std::size_t width, unsigned concurrent_seeds);

/// Throws BudgetError (naming the width, the figure and the flags that would fit) if run_finite with these
/// options would need more than options.memory_budget_bytes; callers with more work to do first check early.
void check_finite_budget(const Program& p, const FiniteOptions& options);

/// Runs the program. Throws BudgetError if the memory estimate exceeds the budget, and NumericalError
/// naming the value, its line, the width and the seed if any value becomes NaN or infinite.
FiniteResult run_finite(const Program& p, const FiniteOptions& options);

}  // namespace tp::limits

// `tpc word2vec compare`: TP4 Table 3 on one corpus — analogy accuracy of µP word2vec at finite widths,
// of its exact infinite-width limit and of NTK parametrization, over seeds; accuracy after every epoch;
// and the evidence that the limit engine is the n → ∞ limit: the RMS distance between the cosine-
// similarity matrices (most frequent K words) of width n and of the limit, at the same seed (so the same
// windows and negatives: runs use one thread each), shrinking like n^(−1/2) with a fitted exponent.
// Runs are independent jobs, one thread each, spread over the cores.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apps/word2vec/analogy.h"
#include "apps/word2vec/corpus.h"
#include "apps/word2vec/embedding_model.h"
#include "apps/word2vec/trainer.h"

namespace tp::word2vec {

struct ComparisonOptions {
  std::vector<std::size_t> widths{64, 256, 1024};
  bool limit = true;  ///< also run the µP limit
  bool ntk = false;   ///< also run NTK parametrization at every width
  int seeds = 1;
  std::uint64_t seed_base = 0;
  std::size_t top_k = 200;  ///< words of the cosine-similarity matrices
  double sigma_u = 1.0, sigma_v = 0.0;
  double memory_budget_gib = 8;
  unsigned jobs = 0;         ///< runs in parallel (0: all cores)
  TrainOptions train;        ///< threads is forced to 1 per run
  AnalogyOptions analogy;    ///< threads is forced to 1 per run
};

/// One training run and its evaluations.
struct ComparisonRun {
  ModelSpec spec;
  std::uint64_t seed = 0;
  std::vector<double> accuracy_by_epoch;  ///< overall analogy accuracy after each epoch
  SectionScore final_score;
  std::vector<float> cosines;  ///< top_k × top_k cosine similarities of the input embeddings
  double distance_to_limit = NAN;  ///< RMS of (cosines − the limit's at the same seed), off the diagonal
  double seconds = 0, words_per_second = 0;
};

struct WidthRow {
  std::optional<std::size_t> width;  ///< nullopt: the limit
  Parametrization parametrization = Parametrization::mup;
  double accuracy_mean = 0, accuracy_sd = NAN;  ///< over seeds (sample s.d.)
  double distance_mean = NAN, distance_sd = NAN;
  std::vector<double> accuracy_by_epoch;  ///< mean over seeds
};

struct Comparison {
  std::vector<ComparisonRun> runs;
  std::vector<WidthRow> rows;  ///< µP widths, the limit, then NTK widths
  double exponent = NAN, exponent_se = NAN;  ///< distance ~ n^exponent (jackknife s.e. over seeds)
  std::size_t top_k = 0;
};

/// Runs every (model, seed) and summarizes. `on_done` (if set) is called after each run, from its worker.
Comparison compare_widths(const Corpus& corpus, const AnalogySet& questions, const ComparisonOptions& options,
                          const std::function<void(const ComparisonRun&, std::size_t done, std::size_t total)>& on_done = {});

}  // namespace tp::word2vec

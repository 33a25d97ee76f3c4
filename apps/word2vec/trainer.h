// Training CBOW word2vec with negative sampling over a corpus (TP4 §9.3; the sampling as in word2vec and
// TP4's code): per epoch, each thread takes a contiguous slice of the token stream and, per sentence,
//   1. drops frequent words: word w is kept with probability (√(c_w/(sT)) + 1)·sT/c_w  (s = --sample,
//      T = corpus words, c_w = count of w);
//   2. for each kept word: draws b uniform in [0, window) and takes the context J = the words within
//      window − b positions on either side in the sentence (the "effective window");
//   3. draws `negatives` words from the unigram^0.75 table and applies cbow_step;
//   4. the learning rate decays linearly in the words processed, η = η₀ max(1 − done/(E·T + 1), 10⁻⁴).
// Threads update the shared rows without locks (Hogwild, as word2vec does; TP4's code serializes every row
// access behind two global mutexes). With one thread the run is deterministic: the same seed gives
// bitwise the same embeddings; the sampling decisions do not depend on the model, so runs of different
// widths at one seed see the same windows and negatives.
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <vector>

#include "apps/word2vec/corpus.h"
#include "apps/word2vec/embedding_model.h"
#include "apps/word2vec/unigram_table.h"

namespace tp::word2vec {

struct TrainOptions {
  int window = 8;
  int negatives = 25;
  double sample = 1e-4;        ///< subsampling threshold s (0: off)
  double lr = 0.05;            ///< η₀
  double lr_floor = 1e-4;      ///< η never drops below lr_floor · η₀
  double weight_decay = 0.001;
  int epochs = 5;
  int threads = 1;             ///< ≥ 1 (the command maps 0 to the number of cores)
  std::uint64_t seed = 1;      ///< sampling seed (initial embeddings use ModelSpec::seed)
  double progress_seconds = 0;  ///< > 0: a progress line on `progress` every that many seconds
  std::ostream* progress = nullptr;
};

/// One recorded update (emit-program): the words and learning rate of a cbow_step, and its logits.
struct RecordedStep {
  std::int32_t target = 0;
  std::vector<std::int32_t> context, negatives;  ///< negatives as drawn (those equal to target included)
  double lr = 0;
  std::vector<double> logits;
};

/// Optional observers of a run.
struct TrainHooks {
  /// Called after each epoch (1-based), between epochs (no thread is running).
  std::function<void(int epoch)> on_epoch;
  /// If set (needs threads == 1): every step is recorded here, and training stops after max_steps steps.
  std::vector<RecordedStep>* record = nullptr;
  std::size_t max_steps = 0;
};

struct TrainStats {
  std::uint64_t words = 0;  ///< corpus words processed (before subsampling), all epochs
  std::uint64_t steps = 0;  ///< cbow_step calls
  double seconds = 0;
  double words_per_second = 0;
  double final_loss = 0;  ///< mean log-loss per sample over the last epoch (sampled on every 16th step)
};

/// Checks every option's range (throws OptionError naming the flag).
void validate(const TrainOptions& options);

/// Trains `model` on `corpus` (see the steps above). Throws OptionError for bad options.
template <class Real>
TrainStats train(EmbeddingModel<Real>& model, const Corpus& corpus, const TrainOptions& options, const TrainHooks& hooks = {});

}  // namespace tp::word2vec

// See trainer.h.
#include "apps/word2vec/trainer.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include <fmt/format.h>

#include "apps/word2vec/cbow_step.h"
#include "apps/word2vec/errors.h"
#include "apps/word2vec/sampling_rng.h"

namespace tp::word2vec {

namespace {

constexpr std::size_t kMaxSentence = 1000;     // word2vec's MAX_SENTENCE_LENGTH
constexpr std::uint64_t kFlushWords = 10000;  // words between updates of the shared counters
constexpr std::uint64_t kLossEvery = 16;      // the loss is computed on every 16th step

using Clock = std::chrono::steady_clock;

struct alignas(64) Shared {
  std::atomic<std::uint64_t> words{0};  // corpus words processed, all threads, all epochs
  std::atomic<std::uint64_t> steps{0};
  std::atomic<double> loss_sum{0};
  std::atomic<std::uint64_t> loss_count{0};
  std::atomic<bool> stop{false};
};

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<long long>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, (t / 60) % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

/// Keep probabilities of word2vec's subsampling (1 = always kept).
std::vector<float> keep_probabilities(const Vocab& vocab, double sample) {
  std::vector<float> keep(vocab.size(), 1.0f);
  if (sample <= 0) return keep;
  const double st = sample * static_cast<double>(vocab.total());
  for (std::size_t w = 0; w < vocab.size(); ++w) {
    const double c = static_cast<double>(vocab.counts[w]);
    keep[w] = static_cast<float>(std::min(1.0, (std::sqrt(c / st) + 1.0) * st / c));
  }
  return keep;
}

template <class Real>
struct Run {
  EmbeddingModel<Real>& model;
  const Corpus& corpus;
  const TrainOptions& o;
  const TrainHooks& hooks;
  UnigramTable table;
  std::vector<float> keep;
  double total_words;  // E·T + 1
  Shared shared;
  Clock::time_point start = Clock::now();

  Run(EmbeddingModel<Real>& m, const Corpus& c, const TrainOptions& options, const TrainHooks& h)
      : model(m), corpus(c), o(options), hooks(h), table(c.vocab.counts), keep(keep_probabilities(c.vocab, options.sample)),
        total_words(static_cast<double>(options.epochs) * static_cast<double>(c.vocab.total()) + 1.0) {}

  double lr_at(std::uint64_t done) const {
    return o.lr * std::max(1.0 - static_cast<double>(done) / total_words, o.lr_floor);
  }

  void progress_line(int epoch, double& last_report, std::uint64_t& last_loss_count, double& last_loss_sum) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (elapsed - last_report < o.progress_seconds) return;
    last_report = elapsed;
    const std::uint64_t done = shared.words.load(std::memory_order_relaxed);
    const double rate = static_cast<double>(done) / std::max(elapsed, 1e-9);
    const double ls = shared.loss_sum.load(std::memory_order_relaxed);
    const std::uint64_t lc = shared.loss_count.load(std::memory_order_relaxed);
    const double loss = lc > last_loss_count ? (ls - last_loss_sum) / static_cast<double>(lc - last_loss_count) : NAN;
    last_loss_count = lc;
    last_loss_sum = ls;
    *o.progress << fmt::format("word2vec: epoch {}/{}, {:.1f}% done, {:.0f} words/s, lr {:.5f}, loss {:.4f}, ETA {}\n", epoch,
                               o.epochs, 100.0 * static_cast<double>(done) / total_words, rate, lr_at(done), loss,
                               duration((total_words - static_cast<double>(done)) / std::max(rate, 1e-9)));
    o.progress->flush();
  }

  void thread_epoch(int thread, int epoch) {
    const std::size_t N = corpus.tokens.size();
    const std::size_t begin = N * static_cast<std::size_t>(thread) / static_cast<std::size_t>(o.threads);
    const std::size_t end = N * static_cast<std::size_t>(thread + 1) / static_cast<std::size_t>(o.threads);
    SamplingRng rng(o.seed, (static_cast<std::uint64_t>(epoch) << 20) | static_cast<std::uint64_t>(thread));
    StepScratch<Real> scratch(model.input.length());
    std::vector<std::int32_t> sentence, context(static_cast<std::size_t>(2 * o.window)), negatives(static_cast<std::size_t>(o.negatives));
    sentence.reserve(kMaxSentence);
    std::vector<double> logits;
    StepLogits step_out;
    std::uint64_t words = 0, flushed = 0, steps = 0;
    double loss_sum = 0;
    std::uint64_t loss_count = 0;
    double last_report = 0, last_loss_sum = 0;
    std::uint64_t last_loss_count = 0;
    const Real wd = static_cast<Real>(o.weight_decay);
    const auto flush = [&] {
      shared.words.fetch_add(words - flushed, std::memory_order_relaxed);
      flushed = words;
      shared.steps.fetch_add(steps, std::memory_order_relaxed);
      steps = 0;
      shared.loss_sum.fetch_add(loss_sum, std::memory_order_relaxed);
      shared.loss_count.fetch_add(loss_count, std::memory_order_relaxed);
      loss_sum = 0;
      loss_count = 0;
    };
    std::size_t pos = begin;
    while (pos < end && !shared.stop.load(std::memory_order_relaxed)) {
      // read a sentence, subsampling frequent words
      sentence.clear();
      while (pos < end) {
        const std::int32_t tok = corpus.tokens[pos++];
        if (tok == Corpus::kSentenceEnd) {
          if (!sentence.empty()) break;
          continue;
        }
        ++words;
        const float k = keep[static_cast<std::size_t>(tok)];
        if (k < 1.0f && rng.uniform_float() >= k) continue;
        sentence.push_back(tok);
        if (sentence.size() >= kMaxSentence) break;
      }
      const std::uint64_t base = shared.words.load(std::memory_order_relaxed) - flushed;
      const int len = static_cast<int>(sentence.size());
      for (int i = 0; i < len; ++i) {
        const int eff = o.window - static_cast<int>(rng.below(static_cast<std::uint32_t>(o.window)));
        int nc = 0;
        for (int j = std::max(0, i - eff); j <= std::min(len - 1, i + eff); ++j)
          if (j != i) context[static_cast<std::size_t>(nc++)] = sentence[static_cast<std::size_t>(j)];
        if (nc == 0) continue;
        for (auto& neg : negatives) neg = table.sample(rng.next());
        const double lr = lr_at(base + words);
        const bool want_loss = (steps % kLossEvery) == 0;
        step_out.want_loss = want_loss;
        step_out.logits = hooks.record ? &logits : nullptr;
        logits.clear();
        const double loss = cbow_step(model, sentence[static_cast<std::size_t>(i)], context.data(), nc, negatives.data(),
                                      o.negatives, static_cast<Real>(lr), wd, scratch, step_out);
        ++steps;
        if (want_loss) {
          loss_sum += loss;
          loss_count += 1;
        }
        if (hooks.record) {
          hooks.record->push_back(RecordedStep{sentence[static_cast<std::size_t>(i)],
                                               {context.begin(), context.begin() + nc}, negatives, lr, logits});
          if (hooks.record->size() >= hooks.max_steps) {
            shared.stop = true;
            break;
          }
        }
      }
      if (words - flushed >= kFlushWords) {
        flush();
        if (thread == 0 && o.progress && o.progress_seconds > 0) progress_line(epoch, last_report, last_loss_count, last_loss_sum);
      }
    }
    flush();
  }
};

}  // namespace

void validate(const TrainOptions& o) {
  const auto bad = [](const std::string& m) { throw OptionError(m); };
  if (o.window < 1 || o.window > 100) bad(fmt::format("--window {} is out of range; give 1 to 100 (TP4 uses 8)", o.window));
  if (o.negatives < 1 || o.negatives > 1000)
    bad(fmt::format("--negatives {} is out of range; give 1 to 1000 (TP4 uses 25)", o.negatives));
  if (!(o.sample >= 0 && o.sample < 1)) bad(fmt::format("--sample {} is out of range; give 0 (off) or a value in (0, 1), e.g. 1e-4", o.sample));
  if (!(o.lr > 0 && o.lr <= 10)) bad(fmt::format("--lr {} is out of range; give a value in (0, 10] (TP4 uses 0.05)", o.lr));
  if (!(o.lr_floor > 0 && o.lr_floor <= 1)) bad(fmt::format("--lr-floor {} is out of range; give a value in (0, 1] (default 1e-4)", o.lr_floor));
  if (!(o.weight_decay >= 0 && o.weight_decay * o.lr < 1))
    bad(fmt::format("--weight-decay {} is out of range; give a value >= 0 with lr * weight-decay < 1 (TP4 uses 0.001)", o.weight_decay));
  if (o.epochs < 1 || o.epochs > 10000) bad(fmt::format("--epochs {} is out of range; give 1 to 10000", o.epochs));
  if (o.threads < 1 || o.threads > 1024) bad(fmt::format("--threads {} is out of range; give 1 to 1024 (0 = all cores)", o.threads));
}

template <class Real>
TrainStats train(EmbeddingModel<Real>& model, const Corpus& corpus, const TrainOptions& options, const TrainHooks& hooks) {
  validate(options);
  if (hooks.record && options.threads != 1) throw OptionError("recording the updates needs --threads 1");
  if (model.spec.vocab != corpus.vocab.size())
    throw std::logic_error("word2vec::train: model and corpus vocabularies differ (bug)");
  Run<Real> run(model, corpus, options, hooks);
  TrainStats stats;
  double epoch_loss_sum = 0;
  std::uint64_t epoch_loss_count = 0;
  for (int epoch = 1; epoch <= options.epochs && !run.shared.stop; ++epoch) {
    epoch_loss_sum = run.shared.loss_sum.load();
    epoch_loss_count = run.shared.loss_count.load();
    if (options.threads == 1) {
      run.thread_epoch(0, epoch);
    } else {
      std::vector<std::thread> pool;
      for (int t = 0; t < options.threads; ++t) pool.emplace_back([&run, t, epoch] { run.thread_epoch(t, epoch); });
      for (auto& th : pool) th.join();
    }
    if (hooks.on_epoch && !run.shared.stop) hooks.on_epoch(epoch);
  }
  stats.seconds = std::chrono::duration<double>(Clock::now() - run.start).count();
  stats.words = run.shared.words.load();
  stats.steps = run.shared.steps.load();
  stats.words_per_second = static_cast<double>(stats.words) / std::max(stats.seconds, 1e-9);
  const std::uint64_t lc = run.shared.loss_count.load() - epoch_loss_count;
  stats.final_loss = lc ? (run.shared.loss_sum.load() - epoch_loss_sum) / static_cast<double>(lc) : NAN;
  return stats;
}

template TrainStats train<float>(EmbeddingModel<float>&, const Corpus&, const TrainOptions&, const TrainHooks&);
template TrainStats train<double>(EmbeddingModel<double>&, const Corpus&, const TrainOptions&, const TrainHooks&);

}  // namespace tp::word2vec

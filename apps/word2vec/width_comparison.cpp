// See width_comparison.h. Steps: 1. list the runs (µP widths × seeds, the limit × seeds, NTK widths ×
// seeds) and check the largest fits the memory budget; 2. run them in parallel, one thread each,
// evaluating after every epoch; 3. distances to the limit at the same seed; 4. means, s.d., the fit.
#include "apps/word2vec/width_comparison.h"

#include <cmath>
#include <mutex>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "apps/word2vec/errors.h"
#include "apps/word2vec/word_vectors.h"
#include "limits/coordcheck.h"
#include "limits/parallel.h"

namespace tp::word2vec {

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Cosine similarities of the first k rows of the input embeddings.
template <class Real>
std::vector<float> top_cosines(const EmbeddingModel<Real>& m, std::size_t k) {
  const std::size_t d = m.input.length();
  RowMatrix M(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(d));
  for (std::size_t i = 0; i < k; ++i) {
    for (std::size_t j = 0; j < d; ++j) M(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = static_cast<float>(m.input.row(i)[j]);
    const float norm = M.row(static_cast<Eigen::Index>(i)).norm();
    if (norm > 0) M.row(static_cast<Eigen::Index>(i)) /= norm;
  }
  RowMatrix C = M * M.transpose();
  return std::vector<float>(C.data(), C.data() + C.size());
}

double rms_offdiagonal(const std::vector<float>& a, const std::vector<float>& b, std::size_t k) {
  double s = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = 0; j < k; ++j)
      if (i != j) {
        const double d = static_cast<double>(a[i * k + j]) - static_cast<double>(b[i * k + j]);
        s += d * d;
        ++count;
      }
  return count ? std::sqrt(s / static_cast<double>(count)) : NAN;
}

void mean_sd(const std::vector<double>& xs, double& mean, double& sd) {
  mean = 0;
  for (double x : xs) mean += x;
  mean /= static_cast<double>(xs.size());
  if (xs.size() < 2) {
    sd = NAN;
    return;
  }
  double s = 0;
  for (double x : xs) s += (x - mean) * (x - mean);
  sd = std::sqrt(s / static_cast<double>(xs.size() - 1));
}

}  // namespace

Comparison compare_widths(const Corpus& corpus, const AnalogySet& questions, const ComparisonOptions& o,
                          const std::function<void(const ComparisonRun&, std::size_t, std::size_t)>& on_done) {
  if (o.seeds < 1 || o.seeds > 1000) throw OptionError(fmt::format("--seeds {} is out of range; give 1 to 1000", o.seeds));
  if (o.widths.empty() && !o.limit) throw OptionError("nothing to compare: give --widths and/or --limit");
  for (std::size_t n : o.widths)
    if (n < 1 || n > (1u << 20)) throw OptionError(fmt::format("--widths: width {} is out of range; give 1 to 1048576", n));
  TrainOptions per_run = o.train;
  per_run.threads = 1;
  per_run.progress = nullptr;
  validate(per_run);
  // 1. the runs
  std::vector<ComparisonRun> runs;
  const auto add = [&](std::optional<std::size_t> width, Parametrization p) {
    for (int s = 0; s < o.seeds; ++s) {
      ComparisonRun r;
      r.spec.vocab = corpus.vocab.size();
      r.spec.width = width;
      r.spec.parametrization = p;
      r.spec.sigma_u = o.sigma_u;
      r.spec.sigma_v = o.sigma_v;
      r.seed = o.seed_base + static_cast<std::uint64_t>(s);
      r.spec.seed = r.seed;
      check_memory_budget(r.spec, o.memory_budget_gib, corpus.vocab.counts.data());
      runs.push_back(std::move(r));
    }
  };
  if (o.limit) add(std::nullopt, Parametrization::mup);  // first: the longest runs start first
  for (std::size_t n : o.widths) add(n, Parametrization::mup);
  if (o.ntk)
    for (std::size_t n : o.widths) add(n, Parametrization::ntk);
  const std::size_t k = std::min(o.top_k, corpus.vocab.size());
  // 2. run them
  std::mutex done_mutex;
  std::size_t done = 0;
  AnalogyOptions ao = o.analogy;
  ao.threads = 1;
  const unsigned jobs = o.jobs ? o.jobs : limits::default_threads();
  limits::parallel_for(runs.size(), jobs, [&](std::size_t i) {
    ComparisonRun& r = runs[i];
    auto model = make_model<float>(r.spec);
    TrainOptions t = per_run;
    t.seed = r.seed;
    TrainHooks hooks;
    hooks.on_epoch = [&](int) {
      r.accuracy_by_epoch.push_back(evaluate_analogies(input_vectors(model, corpus.vocab), questions, ao).total.accuracy());
    };
    const TrainStats stats = train(model, corpus, t, hooks);
    r.seconds = stats.seconds;
    r.words_per_second = stats.words_per_second;
    r.final_score = evaluate_analogies(input_vectors(model, corpus.vocab), questions, ao).total;
    r.cosines = top_cosines(model, k);
    std::lock_guard<std::mutex> lock(done_mutex);
    ++done;
    if (on_done) on_done(r, done, runs.size());
  });
  // 3. distances to the limit at the same seed
  Comparison c;
  c.top_k = k;
  for (auto& r : runs) {
    if (r.spec.limit() || !o.limit) continue;
    for (const auto& l : runs)
      if (l.spec.limit() && l.seed == r.seed) r.distance_to_limit = rms_offdiagonal(r.cosines, l.cosines, k);
  }
  // 4. summary rows
  const auto summarize = [&](std::optional<std::size_t> width, Parametrization p) {
    WidthRow row;
    row.width = width;
    row.parametrization = p;
    std::vector<double> acc, dist;
    std::vector<std::vector<double>> by_epoch;
    for (const auto& r : runs)
      if (r.spec.width == width && r.spec.parametrization == p) {
        acc.push_back(r.final_score.accuracy());
        if (std::isfinite(r.distance_to_limit)) dist.push_back(r.distance_to_limit);
        by_epoch.push_back(r.accuracy_by_epoch);
      }
    mean_sd(acc, row.accuracy_mean, row.accuracy_sd);
    if (!dist.empty()) mean_sd(dist, row.distance_mean, row.distance_sd);
    for (std::size_t e = 0; !by_epoch.empty() && e < by_epoch[0].size(); ++e) {
      double s = 0;
      for (const auto& b : by_epoch) s += b[e];
      row.accuracy_by_epoch.push_back(s / static_cast<double>(by_epoch.size()));
    }
    c.rows.push_back(std::move(row));
  };
  for (std::size_t n : o.widths) summarize(n, Parametrization::mup);
  if (o.limit) summarize(std::nullopt, Parametrization::mup);
  if (o.ntk)
    for (std::size_t n : o.widths) summarize(n, Parametrization::ntk);
  if (o.limit && o.widths.size() >= 2) {
    std::vector<std::vector<double>> sizes;
    for (std::size_t n : o.widths) {
      std::vector<double> per_seed;
      for (const auto& r : runs)
        if (r.spec.width == n && r.spec.parametrization == Parametrization::mup) per_seed.push_back(r.distance_to_limit);
      sizes.push_back(per_seed);
    }
    std::vector<double> rms;
    std::tie(c.exponent, c.exponent_se) = limits::fit_exponent(o.widths, sizes, rms);
  }
  c.runs = std::move(runs);
  return c;
}

}  // namespace tp::word2vec

// The word2vec engine (apps/word2vec/): corpus and vocabulary, the unigram^0.75 sampler, one CBOW step
// against a hand computation, determinism of --threads 1, the µP limit as the n → ∞ limit of finite
// widths on the same sampling, NTK's frozen input embeddings, and the memory budget.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "apps/word2vec/cbow_step.h"
#include "apps/word2vec/corpus.h"
#include "apps/word2vec/errors.h"
#include "apps/word2vec/sampling_rng.h"
#include "apps/word2vec/trainer.h"
#include "apps/word2vec/unigram_table.h"
#include "fixtures.h"

using namespace tp::word2vec;

namespace {

Corpus small_corpus(std::size_t words = 3000, int window = 3) {
  CorpusOptions o;
  o.min_count = 1;
  o.window = window;
  return corpus_from_text(tp::testing::synthetic_corpus(words), o);
}

TrainOptions small_training(int epochs = 1) {
  TrainOptions t;
  t.window = 3;
  t.negatives = 4;
  t.sample = 0;
  t.epochs = epochs;
  t.lr = 0.1;
  t.threads = 1;
  return t;
}

template <class Real>
double row_dot(const EmbeddingMatrix<Real>& a, std::size_t i, const EmbeddingMatrix<Real>& b, std::size_t j) {
  double s = 0;
  for (std::size_t k = 0; k < a.length(); ++k) s += static_cast<double>(a.row(i)[k]) * static_cast<double>(b.row(j)[k]);
  return s;
}

/// Max over word pairs of |⟨x_a, y_b⟩ of m − the same in the limit model|, for x, y ∈ {input, output}.
double max_gram_deviation(const EmbeddingModel<double>& m, const EmbeddingModel<double>& limit) {
  double dev = 0;
  const std::size_t V = m.spec.vocab;
  for (std::size_t a = 0; a < V; ++a)
    for (std::size_t b = 0; b < V; ++b) {
      dev = std::max(dev, std::abs(row_dot(m.input, a, m.input, b) - row_dot(limit.input, a, limit.input, b)));
      dev = std::max(dev, std::abs(row_dot(m.input, a, m.output, b) - row_dot(limit.input, a, limit.output, b)));
      dev = std::max(dev, std::abs(row_dot(m.output, a, m.output, b) - row_dot(limit.output, a, limit.output, b)));
    }
  return dev;
}

}  // namespace

TEST_CASE("corpus: vocabulary by decreasing count, min-count and vocab-max, newlines end sentences") {
  CorpusOptions o;
  o.min_count = 2;
  o.window = 1;
  const Corpus c = corpus_from_text("b a b c\na b d b\n", o);
  REQUIRE(c.vocab.size() == 2);
  CHECK(c.vocab.words[0] == "b");
  CHECK(c.vocab.counts[0] == 4);
  CHECK(c.vocab.words[1] == "a");
  CHECK(c.raw_words == 8);
  CHECK(c.dropped_words == 2);
  CHECK(c.vocab.total() == 6);
  const std::vector<std::int32_t> expected{0, 1, 0, Corpus::kSentenceEnd, 1, 0, 0, Corpus::kSentenceEnd};
  CHECK(c.tokens == expected);
  o.min_count = 1;
  o.vocab_max = 3;
  CHECK(corpus_from_text("b a b c\na b d b\n", o).vocab.size() == 3);
}

TEST_CASE("corpus: empty text, missing file and too few distinct words are refused with the fix") {
  CorpusOptions o;
  CHECK_THROWS_AS(corpus_from_text("   \n ", o), CorpusError);
  CHECK_THROWS_WITH_AS(read_corpus("/nonexistent/corpus.txt", o), doctest::Contains("cannot open the corpus"), CorpusError);
  tp::testing::TempDir dir;
  CHECK_THROWS_WITH_AS(read_corpus(dir.path.string(), o), doctest::Contains("is a directory"), CorpusError);
  o.min_count = 1;
  o.window = 8;
  CHECK_THROWS_WITH_AS(corpus_from_text("a b c a b c", o), doctest::Contains("--min-count"), CorpusError);
}

TEST_CASE("unigram table: samples follow count^0.75 (within 5 standard errors)") {
  const std::vector<std::uint64_t> counts{1000, 100, 10, 1};
  const UnigramTable table(counts);
  double z = 0;
  for (double c : {1000.0, 100.0, 10.0, 1.0}) z += std::pow(c, 0.75);
  CHECK(table.probability(0) == doctest::Approx(std::pow(1000.0, 0.75) / z).epsilon(1e-12));
  SamplingRng rng(3, 0);
  const int draws = 200000;
  std::vector<int> hits(counts.size(), 0);
  for (int i = 0; i < draws; ++i) ++hits[static_cast<std::size_t>(table.sample(rng.next()))];
  for (std::size_t w = 0; w < counts.size(); ++w) {
    const double p = table.probability(static_cast<std::int32_t>(w));
    const double se = std::sqrt(p * (1 - p) / draws);
    CHECK(std::abs(hits[w] / static_cast<double>(draws) - p) < 5 * se);
  }
}

TEST_CASE("cbow_step: one update equals the hand computation (TP4 Eq. 38: context mean, gradient / |J|, weight decay)") {
  ModelSpec spec;
  spec.vocab = 4;
  spec.width = 8;
  spec.sigma_v = 0.7;
  spec.seed = 5;
  auto m = make_model<double>(spec);
  const auto before = make_model<double>(spec);
  const std::int32_t target = 1, context[] = {0, 2, 0}, negatives[] = {3, 1, 2};
  const double lr = 0.3, wd = 0.01;
  StepScratch<double> s(8);
  std::vector<double> logits;
  cbow_step(m, target, context, 3, negatives, 3, lr, wd, s, StepLogits{&logits, false});
  // by hand
  std::vector<double> h(8, 0.0), e(8, 0.0);
  for (int c : {0, 2, 0})
    for (int i = 0; i < 8; ++i) h[static_cast<std::size_t>(i)] += before.input.row(static_cast<std::size_t>(c))[i] / 3;
  std::vector<std::vector<double>> v(4);
  for (std::size_t w = 0; w < 4; ++w) v[w].assign(before.output.row(w), before.output.row(w) + 8);
  std::vector<double> expected_logits;
  for (auto [t, label] : std::vector<std::pair<int, double>>{{1, 1.0}, {3, 0.0}, {2, 0.0}}) {  // negative 1 = target: skipped
    double f = 0;
    for (int i = 0; i < 8; ++i) f += h[static_cast<std::size_t>(i)] * v[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)];
    expected_logits.push_back(f);
    const double g = lr * (label - 1 / (1 + std::exp(-f)));
    for (std::size_t i = 0; i < 8; ++i) {
      e[i] += g * v[static_cast<std::size_t>(t)][i];
      v[static_cast<std::size_t>(t)][i] = (1 - lr * wd) * v[static_cast<std::size_t>(t)][i] + g * h[i];
    }
  }
  REQUIRE(logits.size() == 3);
  for (std::size_t k = 0; k < 3; ++k) CHECK(logits[k] == doctest::Approx(expected_logits[k]).epsilon(1e-14));
  for (std::size_t w = 0; w < 4; ++w)
    for (std::size_t i = 0; i < 8; ++i) CHECK(m.output.row(w)[i] == doctest::Approx(v[w][i]).epsilon(1e-13));
  std::vector<std::vector<double>> u(4);
  for (std::size_t w = 0; w < 4; ++w) u[w].assign(before.input.row(w), before.input.row(w) + 8);
  for (int c : {0, 2, 0})
    for (std::size_t i = 0; i < 8; ++i) u[static_cast<std::size_t>(c)][i] = (1 - lr * wd) * u[static_cast<std::size_t>(c)][i] + e[i] / 3;
  for (std::size_t w = 0; w < 4; ++w)
    for (std::size_t i = 0; i < 8; ++i) CHECK(m.input.row(w)[i] == doctest::Approx(u[w][i]).epsilon(1e-13));
}

TEST_CASE("sigmoid: the float table is within 1e-5 of the exact value") {
  double worst = 0;
  for (double x = -20; x <= 20; x += 0.0137) worst = std::max(worst, std::abs(sigmoid<float>(static_cast<float>(x)) - 1 / (1 + std::exp(-x))));
  CHECK(worst < 1e-5);
}

TEST_CASE("train --threads 1: the same seed gives bitwise the same vectors, another seed different ones") {
  const Corpus c = small_corpus();
  ModelSpec spec;
  spec.vocab = c.vocab.size();
  spec.width = 32;
  auto run = [&](std::uint64_t seed) {
    auto m = make_model<float>(spec);
    TrainOptions t = small_training();
    t.seed = seed;
    train(m, c, t);
    return std::vector<float>(m.input.row(0), m.input.row(0) + m.input.rows() * m.input.stride());
  };
  const auto a = run(1), b = run(1), d = run(2);
  CHECK(a == b);
  CHECK(a != d);
}

TEST_CASE("µP limit: initial rows are σ_u e_w (and σ_v e_{|V|+w}); finite widths converge to it on the same sampling") {
  const Corpus c = small_corpus(600);
  ModelSpec spec;
  spec.vocab = c.vocab.size();
  spec.sigma_v = 0.5;
  const auto init = make_model<double>(spec);
  CHECK(init.input.length() == 2 * spec.vocab);
  CHECK(init.input.row(3)[3] == 1.0);
  CHECK(init.output.row(3)[spec.vocab + 3] == 0.5);
  CHECK(row_dot(init.input, 2, init.input, 3) == 0.0);
  for (double sigma_v : {0.0, 0.5}) {
    spec.sigma_v = sigma_v;
    spec.width.reset();
    auto limit = make_model<double>(spec);
    train(limit, c, small_training());
    std::vector<double> dev;
    for (std::size_t n : {256, 16384}) {
      spec.width = n;
      auto m = make_model<double>(spec);
      train(m, c, small_training());
      dev.push_back(max_gram_deviation(m, limit));
    }
    INFO("sigma_v = " << sigma_v << ", deviation at n = 256: " << dev[0] << ", at n = 16384: " << dev[1]);
    CHECK(dev[1] < dev[0] / 3);  // ~ n^(-1/2): a factor 8 expected
    CHECK(dev[1] < 0.1);
  }
}

TEST_CASE("µP limit with σ_v = 0 has rows of length |V|, and the second half of TP4's 2|V| rows stays zero") {
  const Corpus c = small_corpus(600);
  ModelSpec spec;
  spec.vocab = c.vocab.size();
  auto half = make_model<double>(spec);
  CHECK(half.input.length() == spec.vocab);
  // TP4's layout: 2|V| coordinates, output rows zero: train it and compare.
  ModelSpec tp4 = spec;
  tp4.sigma_v = 1e-300;  // selects 2|V| rows; the output initial coefficients are (numerically) zero
  auto full = make_model<double>(tp4);
  for (std::size_t w = 0; w < spec.vocab; ++w) full.output.row(w)[spec.vocab + w] = 0;
  train(half, c, small_training());
  train(full, c, small_training());
  double worst = 0, dead = 0;
  for (std::size_t w = 0; w < spec.vocab; ++w)
    for (std::size_t i = 0; i < spec.vocab; ++i) {
      worst = std::max(worst, std::abs(half.input.row(w)[i] - full.input.row(w)[i]));
      worst = std::max(worst, std::abs(half.output.row(w)[i] - full.output.row(w)[i]));
      dead = std::max({dead, std::abs(full.input.row(w)[spec.vocab + i]), std::abs(full.output.row(w)[spec.vocab + i])});
    }
  CHECK(worst == 0.0);
  CHECK(dead == 0.0);
}

TEST_CASE("NTK parametrization: the input embeddings move less as the width grows (kernel regime)") {
  const Corpus c = small_corpus(1500);
  std::vector<double> moved;
  for (std::size_t n : {64, 4096}) {
    ModelSpec spec;
    spec.vocab = c.vocab.size();
    spec.width = n;
    spec.parametrization = Parametrization::ntk;
    auto m = make_model<double>(spec);
    const auto init = make_model<double>(spec);
    train(m, c, small_training());
    double num = 0, den = 0;
    for (std::size_t w = 0; w < spec.vocab; ++w)
      for (std::size_t i = 0; i < n; ++i) {
        num += std::pow(m.input.row(w)[i] - init.input.row(w)[i] * (1.0), 2);
        den += std::pow(init.input.row(w)[i], 2);
      }
    moved.push_back(std::sqrt(num / den));
  }
  INFO("relative movement of the input embeddings: n = 64: " << moved[0] << ", n = 4096: " << moved[1]);
  CHECK(moved[1] < moved[0] / 4);
}

TEST_CASE("memory budget: the limit is refused with the bytes needed and a --vocab-max that fits") {
  ModelSpec spec;
  spec.vocab = 100000;
  std::vector<std::uint64_t> counts(spec.vocab);
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = 1000000 / (i + 1);
  CHECK(model_bytes(spec, 4) == 2ULL * 100000 * 100000 * 4);
  CHECK_THROWS_WITH_AS(check_memory_budget(spec, 8, counts.data()), doctest::Contains("80000000000 bytes"), MemoryBudgetError);
  CHECK_THROWS_WITH_AS(check_memory_budget(spec, 8, counts.data()), doctest::Contains("--vocab-max"), MemoryBudgetError);
  CHECK_THROWS_WITH_AS(check_memory_budget(spec, 8, counts.data()), doctest::Contains("--min-count"), MemoryBudgetError);
  spec.vocab = 20000;
  CHECK_NOTHROW(check_memory_budget(spec, 8));
  spec.width = 256;
  spec.vocab = 100000;
  CHECK_NOTHROW(check_memory_budget(spec, 8));
}

TEST_CASE("train: options out of range are refused naming the flag") {
  TrainOptions t;
  t.window = 0;
  CHECK_THROWS_WITH_AS(validate(t), doctest::Contains("--window"), OptionError);
  t = TrainOptions{};
  t.lr = -1;
  CHECK_THROWS_WITH_AS(validate(t), doctest::Contains("--lr"), OptionError);
  t = TrainOptions{};
  t.sample = 2;
  CHECK_THROWS_WITH_AS(validate(t), doctest::Contains("--sample"), OptionError);
}

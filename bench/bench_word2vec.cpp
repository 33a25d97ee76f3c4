// Google Benchmark of word2vec training (apps/word2vec/, TP4 §9.3): corpus words per second of one epoch of
// CBOW with negative sampling (window 8, 25 negatives, sample 1e-4, min-count 5) at widths 64, 256, 1024
// and in the exact µP limit (rows of length |V|), with 1 and 2 lock-free threads.
// The corpus is the first 300k words (limit: 100k words) of data/word2vec/corpus.txt, or of --corpus FILE;
// without either a synthetic text is used (figures then say little about real text).
//   usage: build/bench/bench_word2vec [--corpus FILE] [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>

#include "apps/word2vec/corpus.h"
#include "apps/word2vec/embedding_model.h"
#include "apps/word2vec/trainer.h"

namespace {

namespace w2v = tp::word2vec;

std::string g_corpus_path = (std::filesystem::path(__FILE__).parent_path().parent_path() / "data/word2vec/corpus.txt").string();

std::string synthetic_text(std::size_t words) {
  std::ostringstream out;
  std::uint64_t s = 12345;
  for (std::size_t i = 0; i < words; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(s >> 11) * 0x1.0p-53;
    out << "w" << static_cast<int>(std::pow(20000.0, u)) << ' ';  // Zipf-like ranks
  }
  return out.str();
}

const w2v::Corpus& corpus(std::uint64_t max_words) {
  static std::map<std::uint64_t, w2v::Corpus> cache;
  auto it = cache.find(max_words);
  if (it != cache.end()) return it->second;
  w2v::CorpusOptions o;
  o.max_words = max_words;
  w2v::Corpus c = std::filesystem::exists(g_corpus_path) ? w2v::read_corpus(g_corpus_path, o)
                                                        : w2v::corpus_from_text(synthetic_text(max_words), o, "synthetic");
  return cache.emplace(max_words, std::move(c)).first->second;
}

void train_epoch(benchmark::State& state, std::optional<std::size_t> width, std::uint64_t words) {
  const w2v::Corpus& c = corpus(words);
  w2v::ModelSpec spec;
  spec.vocab = c.vocab.size();
  spec.width = width;
  w2v::TrainOptions t;
  t.epochs = 1;
  t.threads = static_cast<int>(state.range(1));
  double processed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto m = w2v::make_model<float>(spec);
    state.ResumeTiming();
    processed += static_cast<double>(w2v::train(m, c, t).words);
  }
  state.counters["words/s"] = benchmark::Counter(processed, benchmark::Counter::kIsRate);
  state.counters["|V|"] = static_cast<double>(c.vocab.size());
  state.counters["row"] = static_cast<double>(spec.row_length());
  state.SetLabel(c.source);
}

void BM_word2vec_width(benchmark::State& s) { train_epoch(s, static_cast<std::size_t>(s.range(0)), 300000); }
void BM_word2vec_limit(benchmark::State& s) { train_epoch(s, std::nullopt, 100000); }

}  // namespace

BENCHMARK(BM_word2vec_width)->ArgsProduct({{64, 256, 1024}, {1, 2}})->Unit(benchmark::kSecond)->UseRealTime()->Iterations(2);
BENCHMARK(BM_word2vec_limit)->ArgsProduct({{0}, {1, 2}})->Unit(benchmark::kSecond)->UseRealTime()->Iterations(2);

int main(int argc, char** argv) {
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--corpus" && i + 1 < argc) g_corpus_path = argv[++i];
    else if (a.rfind("--corpus=", 0) == 0) g_corpus_path = a.substr(9);
    else rest.push_back(argv[i]);
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

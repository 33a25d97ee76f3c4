// Google Benchmark of finite-width graph training (limits/graph_train.h): the µP Transformer block of
// limits/graph_builders.h (S = 8 positions, 8 examples, 4 heads, Adam, 3 steps, measurement and top
// singular values included) at widths 512..2048, one run per iteration on one thread (the coordinate
// check runs (width, seed) pairs on all cores).
#include <benchmark/benchmark.h>

#include "limits/graph_builders.h"
#include "limits/graph_train.h"

namespace {

tp::GraphSpec block() {
  tp::limits::TransformerBlockOptions o;
  o.positions = 8;
  o.examples = 8;
  o.heads = 4;
  o.zero_query = true;
  o.training.steps = 3;
  return tp::limits::transformer_block(o);
}

void BM_train_block(benchmark::State& state) {
  const tp::GraphSpec g = block();
  std::uint64_t seed = 0;
  for (auto _ : state) {
    auto tr = tp::limits::train_graph(g, static_cast<std::size_t>(state.range(0)), seed++);
    benchmark::DoNotOptimize(tr.l1.back().back());
  }
}
BENCHMARK(BM_train_block)->Arg(512)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->Iterations(2);

void BM_train_block_no_singular_values(benchmark::State& state) {
  const tp::GraphSpec g = block();
  tp::limits::GraphTrainOptions opt;
  opt.singular_values = false;
  std::uint64_t seed = 0;
  for (auto _ : state) {
    auto tr = tp::limits::train_graph(g, static_cast<std::size_t>(state.range(0)), seed++, opt);
    benchmark::DoNotOptimize(tr.l1.back().back());
  }
}
BENCHMARK(BM_train_block_no_singular_values)->Arg(512)->Arg(2048)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();

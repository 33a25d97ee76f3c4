// Google Benchmark of the Monte Carlo ZDot limit (limits/zdot_limit.h): particles per second on a
// transpose-heavy program (two layers forward, backward, and forward again after a W'-update-like step),
// for the derivative (forward-mode tangents) and Stein forms of ZDot. One thread, two replicas per
// iteration, so figures are per core; items/s = particles/s.
#include <benchmark/benchmark.h>

#include "frontend/sema.h"
#include "limits/zdot_limit.h"

namespace {

tp::Program compile(const char* text) {
  tp::frontend::DiagnosticEngine diags;
  return *tp::frontend::compile_source(text, diags);
}

// 6 MatMuls on 2 matrices (2 transposed); the second forward pass needs ZDot through both layers.
const char* kBackprop = R"(input x ~ N(0, 1)
matrix W1 ~ N(0, 1/n)
matrix W2 ~ N(0, 1/n)
h1 = W1 x
h2 = W2 tanh(h1)
g2 = W2' tanh(h2)
g1 = W1' (g2 * (1 - tanh(h1)^2))
k1 = W1 (x + g1)
k2 = W2 tanh(k1)
output a = avg(tanh(k2) * tanh(h2)), b = avg(g1 * g1), c = avg(k2 * k2)
)";

void run(benchmark::State& state, tp::limits::ZDotMode mode) {
  const tp::Program p = compile(kBackprop);
  tp::limits::ZDotOptions o;
  o.particles = state.range(0);
  o.replicas = 2;
  o.threads = 1;
  o.zdot = mode;
  for (auto _ : state) {
    auto r = tp::limits::zdot_limit(p, o);
    benchmark::DoNotOptimize(r.outputs[0].value);
    ++o.seed;
  }
  state.SetItemsProcessed(state.iterations() * o.particles * o.replicas);
}

void BM_zdot_derivative(benchmark::State& s) { run(s, tp::limits::ZDotMode::derivative); }
void BM_zdot_stein(benchmark::State& s) { run(s, tp::limits::ZDotMode::stein); }

}  // namespace

BENCHMARK(BM_zdot_derivative)->Arg(1 << 14)->Arg(1 << 16)->Arg(1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_zdot_stein)->Arg(1 << 14)->Arg(1 << 16)->Arg(1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();

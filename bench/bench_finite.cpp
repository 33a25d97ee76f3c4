// Google Benchmark of the finite-width executor: sampling and running small programs at widths
// 1024..8192, and the training program of examples/mup_tanh.tp (3 SGD steps of a µP tanh MLP, unrolled by
// tp/unroll.h; its PyTorch peer is bench/finite_torch_peer.py, compared by bench/finite_vs_torch.sh) at
// widths 1024..16384 (one seed per iteration, one thread, so figures are per core).
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "limits/finite.h"
#include "tp/unroll.h"

namespace {

tp::Program compile(const char* text) {
  tp::frontend::DiagnosticEngine diags;
  return *tp::frontend::compile_source(text, diags);
}

// NNGP-style program: 1 matrix, 2 MatMuls, 2 Nonlins, 2 Moments.
const char* kNngp = R"(input x1, x2 ~ N(0, [[1, 0.6], [0.6, 1]])
matrix W ~ N(0, 1/n)
g1 = W tanh(x1)
g2 = W tanh(x2)
output k = avg(tanh(g1) * tanh(g2)), q = avg(tanh(g1)^2)
)";

// Forward and backward through one matrix (a transposed MatMul).
const char* kTranspose = R"(input x ~ N(0, 1)
matrix W ~ N(0, 1/n)
h = W x
dh = W' tanh(h)
output a = avg(x * dh), b = avg(dh * dh)
)";

void run_compiled(benchmark::State& state, const tp::Program& p) {
  tp::limits::FiniteOptions o;
  o.width = static_cast<std::size_t>(state.range(0));
  o.threads = 1;
  std::uint64_t seed = 0;
  for (auto _ : state) {
    o.seeds = {seed++};
    auto r = tp::limits::run_finite(p, o);
    benchmark::DoNotOptimize(r.summary[0].value);
  }
  state.counters["n"] = static_cast<double>(o.width);
}

void run_program(benchmark::State& state, const char* text) { run_compiled(state, compile(text)); }

// examples/mup_tanh.tp, found from the source tree this benchmark was built from.
tp::Program mup_tanh_program() {
  const std::string path = std::string(TPC_SOURCE_DIR) + "/examples/mup_tanh.tp";
  std::ifstream f(path);
  std::stringstream text;
  text << f.rdbuf();
  tp::frontend::DiagnosticEngine diags;
  auto script = tp::frontend::compile_network(text.str(), std::string(TPC_SOURCE_DIR) + "/examples", diags);
  if (!script) throw std::runtime_error("cannot compile " + path);
  return tp::unroll(script->spec).program;
}

void BM_finite_mup_tanh_training(benchmark::State& state) {
  static const tp::Program p = mup_tanh_program();
  run_compiled(state, p);
}

void BM_finite_nngp(benchmark::State& s) { run_program(s, kNngp); }
void BM_finite_transpose(benchmark::State& s) { run_program(s, kTranspose); }

}  // namespace

BENCHMARK(BM_finite_nngp)->Arg(1024)->Arg(2048)->Arg(4096)->Arg(8192)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_finite_transpose)->Arg(1024)->Arg(2048)->Arg(4096)->Arg(8192)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_finite_mup_tanh_training)->RangeMultiplier(2)->Range(1024, 16384)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();

// Benchmarks of the MLP kernel recursions (limits/mlp_kernel.h): the closed-form route on many inputs and the
// quadrature route with its per-input cache of φ(u), φ'(u) against the naive scheme that evaluates φ and φ' at
// all k² nodes for both u and v. All threads (limits::parallel_for); inputs are random with |x|²/d = 1.
#include "limits/mlp_kernel.h"

#include <benchmark/benchmark.h>

#include <random>

namespace {

using namespace tp;
using namespace tp::limits;

Eigen::MatrixXd random_inputs(Eigen::Index n, Eigen::Index d) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(n, d);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index c = 0; c < d; ++c) x(i, c) = normal(rng);
    x.row(i) *= std::sqrt(static_cast<double>(d)) / x.row(i).norm();
  }
  return x;
}

void report(benchmark::State& state, Eigen::Index n, int depth) {
  const double entries = static_cast<double>(n) * static_cast<double>(n + 1) / 2 * depth;
  state.counters["entries"] = entries;
  state.counters["entries/s"] = benchmark::Counter(entries, benchmark::Counter::kIsIterationInvariantRate);
}

/// (a) relu, closed form: NNGP + NTK of N inputs through L = 10 layers.
void BM_KernelReluClosedForm(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const int depth = 10;
  const Eigen::MatrixXd x = random_inputs(n, 10);
  const auto spec = make_mlp_kernel_spec(call(Function::relu, argument(0)), depth, {2.0}, {0.1});
  for (auto _ : state) benchmark::DoNotOptimize(compute_mlp_kernel(spec, x).output_ntk()(0, 0));
  report(state, n, depth);
}
BENCHMARK(BM_KernelReluClosedForm)->Arg(2000)->Unit(benchmark::kMillisecond)->UseRealTime();

/// (b) tanh by 2-D Gauss–Hermite at the default order, L = 3; range(1) = 0 cached, 1 naive.
void BM_KernelTanhQuadrature(benchmark::State& state) {
  const auto n = static_cast<Eigen::Index>(state.range(0));
  const int depth = 3;
  const Eigen::MatrixXd x = random_inputs(n, 10);
  const auto spec = make_mlp_kernel_spec(call(Function::tanh, argument(0)), depth, {1.5}, {0.1});
  MlpKernelOptions options;
  options.scheme = state.range(1) == 0 ? MlpQuadratureScheme::cached : MlpQuadratureScheme::naive;
  double error = 0;
  for (auto _ : state) {
    const auto r = compute_mlp_kernel(spec, x, options);
    error = std::max(r.nngp_error.back(), r.ntk_error.back());
    benchmark::DoNotOptimize(r.output_ntk()(0, 0));
  }
  report(state, n, depth);
  state.counters["order"] = options.order;
  state.counters["error"] = error;
  state.SetLabel(state.range(1) == 0 ? "cached" : "naive");
}
BENCHMARK(BM_KernelTanhQuadrature)
    ->Args({500, 0})
    ->Args({500, 1})
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

// Benchmarks of the one-hidden-layer µP limit by quadrature (limits/mup1_limit.h): the time for the automatic
// rule to reach a target error on tanh, m = 3 or 4 training points (limits::default_data), lr 0.5, 3 SGD
// steps, d = 1 and 2 (2- and 3-dimensional integrals). Counters: the reported trapezoid spacing, its kept
// nodes, all nodes evolved over the refinement, the achieved error estimate and whether the target was met.
#include "limits/mlp_train.h"
#include "limits/mup1_limit.h"

#include <benchmark/benchmark.h>

#include <cmath>

namespace {

void BM_Mup1TanhToTarget(benchmark::State& state) {
  const int d = static_cast<int>(state.range(0));
  const int m = static_cast<int>(state.range(1));
  const double target = std::pow(10.0, -static_cast<double>(state.range(2)));
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  tp::limits::default_data(m, d, X, y);
  const auto act = tp::call(tp::Function::tanh, tp::argument(0));
  tp::limits::Mup1Options o;
  o.target_error = target;
  tp::limits::Mup1Limit r;
  for (auto _ : state) {
    r = tp::limits::mup1_limit(act, 0.5, X, y, 3, o);
    benchmark::DoNotOptimize(r.f.back().back().value);
  }
  state.counters["spacing"] = r.spacing;
  state.counters["nodes"] = static_cast<double>(r.nodes);
  state.counters["total_nodes"] = static_cast<double>(r.total_nodes);
  state.counters["max_error"] = r.max_error;
  state.counters["target_met"] = r.target_met ? 1 : 0;
}
BENCHMARK(BM_Mup1TanhToTarget)
    ->ArgsProduct({{1, 2}, {3, 4}, {6, 9}})
    ->ArgNames({"d", "m", "neg_log10_target"})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

}  // namespace
BENCHMARK_MAIN();

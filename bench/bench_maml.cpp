// Google Benchmark of first-order MAML meta-training (apps/maml/fomaml.h; TP4 §9.2, App. D.1): meta-training
// tasks per second of the µP limit (Algorithm 3, hidden size d + d_o = 789) and of finite widths up to 8192
// (Algorithm 2), 5-way 1-shot, batch 32, one inner step, on 28×28 synthetic images (d = 784, the Omniglot
// input size; the speed does not depend on the pixels). Argument 0 = the limit; the second argument is the
// thread count. Counter tasks_per_s = meta-training tasks per second (wall clock).
#include <benchmark/benchmark.h>

#include "apps/maml/fomaml.h"
#include "apps/maml/kernel_maml.h"
#include "apps/maml/linear_net.h"
#include "apps/maml/task_sampler.h"

namespace {

using namespace tp::maml;

const ImageSet& images() {
  static const ImageSet set = synthetic_image_set(200, 20, 28, 0.3, 1);
  return set;
}

void BM_MetaTrain(benchmark::State& state) {
  const auto width = state.range(0);
  const TaskSampler sampler(images(), {5, 1, 1}, "train");
  const LinearNetHyper hyper{1.0, 0.03125, 1.0};
  LinearNet net = width == 0 ? init_limit_net(784, 5, hyper) : init_finite_net(784, 5, width, hyper, 0);
  FomamlOptions o;
  o.meta_lr = 0.1;
  o.threads = static_cast<unsigned>(state.range(1));
  tp::limits::Rng rng(0, 1);
  std::size_t tasks = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto batch = sampler.sample(32, rng);
    state.ResumeTiming();
    benchmark::DoNotOptimize(fomaml_step(net, batch, o));
    tasks += batch.size();
  }
  state.counters["tasks_per_s"] = benchmark::Counter(static_cast<double>(tasks), benchmark::Counter::kIsRate);
  state.SetLabel(width == 0 ? "limit (h = 789)" : "width " + std::to_string(width));
}
BENCHMARK(BM_MetaTrain)
    ->ArgsProduct({{0, 512, 2048, 8192}, {1, 2}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Kernel MAML (Algorithm 4) with the relu NTK: the cost grows with the readout stack; measured after
// `range(0)` meta-steps of warm-up (stack ≈ 160 × steps images, capped by the 4000 images of the set).
void BM_KernelMetaTrain(benchmark::State& state) {
  const TaskSampler sampler(images(), {5, 1, 1}, "train");
  KernelFunction f({KernelKind::relu_ntk, 1.0, 1.0, 1.0}, 784, 5);
  FomamlOptions o;
  o.meta_lr = 0.4;
  o.threads = 2;
  tp::limits::Rng rng(0, 1);
  for (std::int64_t s = 0; s < state.range(0); ++s) kernel_maml_step(f, sampler.sample(32, rng), o);
  std::size_t tasks = 0;
  for (auto _ : state) {
    state.PauseTiming();
    const auto batch = sampler.sample(32, rng);
    state.ResumeTiming();
    benchmark::DoNotOptimize(kernel_maml_step(f, batch, o));
    tasks += batch.size();
  }
  state.counters["tasks_per_s"] = benchmark::Counter(static_cast<double>(tasks), benchmark::Counter::kIsRate);
  state.counters["stack"] = static_cast<double>(f.stack_size());
}
BENCHMARK(BM_KernelMetaTrain)->Arg(10)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

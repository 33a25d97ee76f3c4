// Google Benchmark of the exact linear-program limit (limits/linear_limit.h): the deep linear µP SGD program
// (L = 3 hidden layers, d = 1, one data point; the same unrolled program as tests/limits/test_linear_limit.cpp)
// with a growing number of steps, in exact rationals and in double (which also runs a long double pass for
// its error estimate). One thread; the counter steps_per_s is SGD steps of the limit per second.
#include <benchmark/benchmark.h>

#include "limits/linear_limit.h"
#include "tp/builder.h"

namespace {

using namespace tp;

ExprPtr product(const std::vector<int>& args, double scale = 1.0) {
  ExprPtr e = constant(scale);
  for (int a : args) e = mul(e, argument(a));
  return e;
}

// h_1 = ξ u, h_{l+1} = W_{l,t} h_l, f = avg(v h_L); W_{l,t} x = W_l x − η Σ_{s<t} χ_s avg(h_{l,s} x) dh_{l+1,s}.
Program deep_linear_mup(int L, int steps, double xi, double y, double lr) {
  ProgramBuilder b;
  auto uv = b.add_inputs({"u", "v"}, Eigen::Matrix2d::Identity());
  std::vector<ValueId> W(L);
  for (int l = 1; l < L; ++l) W[l] = b.add_matrix("W" + std::to_string(l), 1.0);
  ValueId u = uv[0], v = uv[1];
  std::vector<std::vector<ValueId>> h(steps + 1, std::vector<ValueId>(L + 1)), dh = h;
  std::vector<ValueId> chi;
  auto corrected = [&](const std::string& name, ValueId base, ValueId x, int t, const std::vector<std::vector<ValueId>>& ha, int la,
                       const std::vector<std::vector<ValueId>>& hb, int lb) {
    if (t == 0) return base;
    std::vector<ValueId> ops{base};
    ExprPtr e = argument(0);
    for (int s = 0; s < t; ++s) {
      ValueId m = b.add_moment(name + "_m" + std::to_string(s), product({0, 1}), {ha[s][la], x});
      const int k = static_cast<int>(ops.size());
      ops.insert(ops.end(), {chi[s], m, hb[s][lb]});
      e = sub(e, product({k, k + 1, k + 2}, lr));
    }
    return b.add_nonlin(name, e, ops);
  };
  for (int t = 0; t <= steps; ++t) {
    const std::string ts = "_" + std::to_string(t);
    h[t][1] = b.add_nonlin("h1" + ts, product({0}, xi), {u});
    for (int l = 1; l < L; ++l) {
      ValueId g = b.add_matmul("Wh" + std::to_string(l) + ts, W[l], h[t][l], false);
      h[t][l + 1] = corrected("h" + std::to_string(l + 1) + ts, g, h[t][l], t, h, l, dh, l + 1);
    }
    ValueId f = b.add_moment("f" + ts, product({0, 1}), {v, h[t][L]});
    b.add_output("f" + ts, f);
    if (t == steps) break;
    chi.push_back(b.add_scalar("chi" + ts, sub(argument(0), constant(y)), {f}));
    dh[t][L] = v;
    for (int l = L - 1; l >= 1; --l) {
      ValueId g = b.add_matmul("Wtdh" + std::to_string(l) + ts, W[l], dh[t][l + 1], true);
      dh[t][l] = corrected("dh" + std::to_string(l) + ts, g, dh[t][l + 1], t, dh, l + 1, h, l);
    }
    u = b.add_nonlin("u" + std::to_string(t + 1), sub(argument(0), product({1, 2}, lr * xi)), {u, chi[t], dh[t][1]});
    v = b.add_nonlin("v" + std::to_string(t + 1), sub(argument(0), product({1, 2}, lr)), {v, chi[t], h[t][L]});
  }
  return b.finish();
}

void run(benchmark::State& state, bool exact) {
  const int steps = static_cast<int>(state.range(0));
  const Program p = deep_linear_mup(3, steps, 1.0, 1.0, 0.1);
  limits::LinearLimitOptions o;
  o.exact = exact;
  std::size_t digits = 0;
  for (auto _ : state) {
    auto r = limits::linear_limit(p, o);
    if (r.exact_arithmetic != exact) state.SkipWithError("unexpected arithmetic");
    if (exact) digits = r.exact_values.back().size();
    benchmark::DoNotOptimize(r.limit.outputs.back().value);
  }
  if (exact) state.counters["digits_f_T"] = static_cast<double>(digits);
  state.counters["steps_per_s"] = benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["values"] = static_cast<double>(p.size());
}

void BM_linear_mup_rational(benchmark::State& s) { run(s, true); }
void BM_linear_mup_double(benchmark::State& s) { run(s, false); }

}  // namespace

// Exact values are polynomials in η whose degree multiplies with every step (f_{t+1} is a polynomial of
// degree about 2L + 1 in f_t), so rational sizes grow geometrically with the number of steps.
BENCHMARK(BM_linear_mup_rational)->DenseRange(1, 5)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_linear_mup_double)->Arg(2)->Arg(4)->Arg(8)->Arg(16)->Arg(32)->Arg(64)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();

// Google Benchmark: the Monte Carlo infinite-width limit (limits/network_limit.h, route monte_carlo: the unrolled
// SGD program through ZHat + ZDot particles) against finite-width simulation (limits/finite.h on the same
// unrolled program) at equal accuracy, and the throughput of the exact linear limit (route exact).
//
// Network: µP (tp::preset("mup", 2)), L = 2 hidden layers, d = 2 inputs, one output, m = 3 fixed training
// points, 3 full-batch SGD steps with lr 0.5, mse. The quantity compared is f_3 at training point 1 (the
// output "f_t3_train1"). Target accuracy ε = 1e-3.
//
// Benchmarks:
//   BM_mc_limit/P/threads/sampling   network_limit(route monte_carlo) with P particles per replica, 8 replicas,
//                           on 1 or 2 threads; a fresh seed per iteration; sampling 0 = the default (scrambled Sobol
//                           points with the two-half jackknife), 1 = pseudo-random points without the jackknife
//                           (the engine before issue #11). Counters: se_f3 = RMS over iterations of the
//                           reported standard error of f_3 (over the 8 replicas); s_to_se_1e-3 = (time per
//                           iteration)·(se_f3/ε)², the time to reach s.e. ε with s.e. ∝ P^{-1/2} and time ∝ P.
//   BM_finite/n             run_finite of the unrolled program, one seed per iteration, one thread. Counters (from
//                           a setup run outside the timed loop, see below): mean_f3, bias = mean − limit,
//                           bias_se, sd (per-seed standard deviation), rms_dev = per-seed RMS of f_3 − limit.
//   BM_exact_linear         the same network with φ(x) = x through network_limit(route exact); programs/s.
//
// Setup (untimed, all cores): the reference limit is one network_limit(route monte_carlo) run with
// TPC_NB_REF_PARTICLES (default 2^18) particles × TPC_NB_REF_REPLICAS (default 32) replicas and its own seed;
// each width n gets TPC_NB_SEEDS_<n> seeds (defaults 6400, 3200, 200 for n = 256, 1024, 4096), disjoint from
// the timed ones. After the benchmarks, main prints the equal-accuracy accounting (fits of
// s.e. ∝ P^{-1/2}, rms_dev ∝ n^{-p}, time per seed ∝ n^{k}, and the cost of reaching ε both ways).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "limits/finite.h"
#include "limits/network_limit.h"
#include "limits/statistics.h"
#include "tp/mlp_phase.h"
#include "tp/unroll.h"

namespace {

using namespace tp;
using Clock = std::chrono::steady_clock;

constexpr double kEps = 1e-3;
constexpr int kReplicas = 8;

long long env_int(const char* name, long long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoll(v) : fallback;
}

NetworkSpec make_spec(bool linear) {
  NetworkSpec s;
  s.depth = 2;
  s.input_dim = 2;
  s.output_dim = 1;
  s.activation = linear ? argument(0) : call(Function::tanh, argument(0));
  s.activation_text = linear ? "x" : "tanh";
  s.abc = preset("mup", 2);
  s.lr = 0.5;
  s.loss = LossKind::mse;
  s.batch = BatchMode::full;
  s.steps = 3;
  s.train_x.resize(3, 2);
  s.train_x << 1.0, -0.5,  //
      0.3, 0.9,            //
      -0.7, 0.4;
  s.train_y.resize(3, 1);
  s.train_y << 1.0, -0.5, 0.25;
  return s;
}

const NetworkSpec& tanh_spec() {
  static const NetworkSpec s = make_spec(false);
  return s;
}

// ---- untimed setup: the reference limit and the finite-width statistics ----

struct Reference {
  double value = 0, se = 0, seconds = 0;
  long long particles = 0;
  int replicas = 0;
};

const Reference& reference() {
  static const Reference r = [] {
    Reference out;
    limits::NetworkLimitOptions o;
    o.route = limits::LimitRoute::monte_carlo;
    o.particles = env_int("TPC_NB_REF_PARTICLES", 1 << 18);
    o.replicas = static_cast<int>(env_int("TPC_NB_REF_REPLICAS", 32));
    o.seed = 987654321;  // disjoint from the benchmark seeds 0, 1, 2, ...
    o.threads = 0;
    const auto t0 = Clock::now();
    const auto lim = limits::network_limit(tanh_spec(), o);
    out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    out.value = lim.f[3][0].value;
    out.se = lim.f[3][0].error;
    out.particles = o.particles;
    out.replicas = o.replicas;
    return out;
  }();
  return r;
}

struct FiniteStats {
  std::size_t n = 0;
  int seeds = 0;
  double mean = 0, mean_se = 0, sd = 0, rms_dev = 0, bias = 0, bias_se = 0, seconds = 0;
};

const UnrolledProgram& tanh_program() {
  static const UnrolledProgram up = unroll(tanh_spec());
  return up;
}

std::size_t f3_column(const limits::FiniteResult& r) {
  const std::string name = f_output_name(3, false, 0, 0, 1);
  for (std::size_t c = 0; c < r.names.size(); ++c)
    if (r.names[c] == name) return c;
  throw std::runtime_error("no output " + name);
}

std::map<std::size_t, FiniteStats>& stats_cache() {
  static std::map<std::size_t, FiniteStats> m;
  return m;
}

const FiniteStats& finite_stats(std::size_t n) {
  auto& cache = stats_cache();
  if (auto it = cache.find(n); it != cache.end()) return it->second;
  const Reference& ref = reference();
  limits::FiniteOptions o;
  o.width = n;
  o.threads = 0;
  // Defaults give a standard error of the mean of about 2.5e-4 (n = 256), 1.8e-4 (1024), 3.5e-4 (4096).
  const long long fallback = n <= 256 ? 6400 : n <= 1024 ? 3200 : 200;
  const int seeds = static_cast<int>(env_int(("TPC_NB_SEEDS_" + std::to_string(n)).c_str(), fallback));
  for (int k = 0; k < seeds; ++k) o.seeds.push_back(1000000 + static_cast<std::uint64_t>(k));
  const auto t0 = Clock::now();
  const auto r = limits::run_finite(tanh_program().program, o);
  FiniteStats st;
  st.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::size_t col = f3_column(r);
  std::vector<double> xs;
  double sq = 0;
  for (const auto& s : r.per_seed) {
    xs.push_back(s.values[col]);
    sq += (s.values[col] - ref.value) * (s.values[col] - ref.value);
  }
  const auto e = limits::mean_with_error(xs, limits::Route::finite_width);
  st.n = n;
  st.seeds = seeds;
  st.mean = e.value;
  st.mean_se = e.error;
  st.sd = e.error * std::sqrt(static_cast<double>(seeds));
  st.rms_dev = std::sqrt(sq / seeds);
  st.bias = e.value - ref.value;
  st.bias_se = std::hypot(e.error, ref.se);
  return cache[n] = st;
}

// ---- what the benchmarks measured, for the accounting printed by main ----

struct McFigure {
  long long particles = 0;
  int threads = 0;
  int sampling = 0;
  double seconds = 0, se = 0;
};
struct FiniteFigure {
  std::size_t n = 0;
  double seconds = 0;
};
std::vector<McFigure> g_mc;
std::map<std::size_t, double> g_finite_seconds;
double g_exact_seconds = -1;

// ---- benchmarks ----

void BM_mc_limit(benchmark::State& state) {
  limits::NetworkLimitOptions o;
  o.route = limits::LimitRoute::monte_carlo;
  o.particles = state.range(0);
  o.replicas = kReplicas;
  o.threads = static_cast<unsigned>(state.range(1));
  const int sampling = static_cast<int>(state.range(2));
  o.sampling = sampling == 0 ? "sobol" : "pseudo";
  o.jackknife = sampling == 0;
  double se2 = 0, f3 = 0;
  long long iters = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    const auto lim = limits::network_limit(tanh_spec(), o);
    const auto& e = lim.f[3][0];
    se2 += e.error * e.error;
    f3 += e.value;
    ++iters;
    ++o.seed;
  }
  const double per_iter = std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(iters);
  const double se = std::sqrt(se2 / static_cast<double>(iters));
  state.counters["particles"] = static_cast<double>(o.particles * kReplicas);
  state.counters["f3"] = f3 / static_cast<double>(iters);
  state.counters["se_f3"] = se;
  state.counters["s_to_se_1e-3"] = per_iter * (se / kEps) * (se / kEps);
  state.SetItemsProcessed(state.iterations() * o.particles * kReplicas);
  auto it = std::find_if(g_mc.begin(), g_mc.end(), [&](const McFigure& m) {
    return m.particles == o.particles && m.threads == static_cast<int>(o.threads) && m.sampling == sampling;
  });
  if (it == g_mc.end()) it = g_mc.insert(g_mc.end(), McFigure{o.particles, static_cast<int>(o.threads), sampling, 0, 0});
  it->seconds = per_iter;  // the last call (the measured one) wins
  it->se = se;
}

void BM_finite(benchmark::State& state) {
  const std::size_t n = static_cast<std::size_t>(state.range(0));
  const FiniteStats& st = finite_stats(n);  // untimed: before the loop
  const Program& p = tanh_program().program;
  limits::FiniteOptions o;
  o.width = n;
  o.threads = 1;
  std::uint64_t seed = 0;
  long long iters = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    o.seeds = {seed++};
    auto r = limits::run_finite(p, o);
    benchmark::DoNotOptimize(r.per_seed[0].values[0]);
    ++iters;
  }
  g_finite_seconds[n] = std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(iters);
  state.counters["n"] = static_cast<double>(n);
  state.counters["mean_f3"] = st.mean;
  state.counters["bias"] = st.bias;
  state.counters["bias_se"] = st.bias_se;
  state.counters["sd"] = st.sd;
  state.counters["rms_dev"] = st.rms_dev;
  state.counters["setup_seeds"] = st.seeds;
}

void BM_exact_linear(benchmark::State& state) {
  const NetworkSpec s = make_spec(true);
  limits::NetworkLimitOptions o;
  o.route = limits::LimitRoute::exact;
  double f3 = 0;
  long long iters = 0;
  const auto t0 = Clock::now();
  for (auto _ : state) {
    const auto lim = limits::network_limit(s, o);
    f3 = lim.f[3][0].value;
    ++iters;
  }
  g_exact_seconds = std::chrono::duration<double>(Clock::now() - t0).count() / static_cast<double>(iters);
  state.counters["f3"] = f3;
  state.counters["programs_per_s"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["steps_per_s"] = benchmark::Counter(3.0, benchmark::Counter::kIsIterationInvariantRate);
}

// ---- accounting ----

// Least squares of log y on log x: y ≈ a x^slope.
void loglog_fit(const std::vector<double>& x, const std::vector<double>& y, double& a, double& slope) {
  const double k = static_cast<double>(x.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double lx = std::log(x[i]), ly = std::log(y[i]);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
  }
  slope = x.size() > 1 ? (k * sxy - sx * sy) / (k * sxx - sx * sx) : 0.0;
  a = std::exp((sy - slope * sx) / k);
}

void print_accounting() {
  if (g_mc.empty() && g_finite_seconds.empty()) {
    if (g_exact_seconds > 0)
      std::printf("\nExact linear limit (phi = x, 3 steps): %.4g s/program = %.4g programs/s\n", g_exact_seconds,
                  1.0 / g_exact_seconds);
    return;
  }
  const Reference& ref = reference();
  std::printf("\n=== Equal-accuracy accounting (target eps = %.0e on f_3 at training point 1) ===\n", kEps);
  std::printf("reference limit (MC, %lld particles x %d replicas, all cores, %.1f s): f_3 = %.6f +- %.2e\n",
              ref.particles, ref.replicas, ref.seconds, ref.value, ref.se);

  if (!g_mc.empty()) {
    std::printf("\nMonte Carlo limit (8 replicas; se = RMS of reported s.e.; sampling 0 = Sobol + jackknife, 1 = "
                "pseudo-random; se*sqrt(P_total) is constant for pseudo-random points, falls for Sobol)\n");
    std::printf("%10s %7s %8s %12s %10s %14s %14s\n", "P/replica", "threads", "sampling", "s/iter", "se_f3", "se*sqrt(PR)",
                "s to se 1e-3");
    for (int group = 0; group < 4; ++group) {
      const int th = 1 + group % 2, sampling = group / 2;
      std::vector<double> ps, ts, ses;
      for (const auto& m : g_mc) {
        if (m.threads != th || m.sampling != sampling) continue;
        const double pt = static_cast<double>(m.particles) * kReplicas;
        std::printf("%10lld %7d %8d %12.4g %10.3e %14.4g %14.4g\n", m.particles, m.threads, m.sampling, m.seconds, m.se,
                    m.se * std::sqrt(pt), m.seconds * (m.se / kEps) * (m.se / kEps));
        ps.push_back(pt), ts.push_back(m.seconds), ses.push_back(m.se);
      }
      if (ps.size() >= 2) {
        double a_se, p_se, a_t, p_t;
        loglog_fit(ps, ses, a_se, p_se);
        loglog_fit(ps, ts, a_t, p_t);
        // With s.e. = a_se (PR)^p_se (p = -1/2 for pseudo-random points, steeper for Sobol) and time = c·PR,
        // reaching ε needs PR = (ε/a_se)^(1/p_se) total particles.
        double c = 0;
        // Cost per particle from the largest P (least fixed overhead).
        const std::size_t big = static_cast<std::size_t>(std::max_element(ps.begin(), ps.end()) - ps.begin());
        c = ts[big] / ps[big];
        const double need = std::pow(kEps / a_se, 1.0 / p_se);
        std::printf("  threads=%d sampling=%d fit: se ~ P_total^%.3f, time ~ P_total^%.3f (expect 1); "
                    "P_total for 1e-3 = %.3g, time = %.3g s (at %.3g s/particle)\n",
                    th, sampling, p_se, p_t, need, need * c, c);
      }
    }
  }

  if (!g_finite_seconds.empty()) {
    std::printf("\nFinite width (setup seeds disjoint from timed seeds; dev = f_3(seed) - limit)\n");
    std::printf("%7s %6s %12s %11s %10s %10s %10s %12s\n", "n", "seeds", "mean_f3", "bias", "bias_se", "sd", "rms_dev",
                "s/seed(1t)");
    std::vector<double> ns, rms, sds, ts;
    for (const auto& [n, sec] : g_finite_seconds) {
      const FiniteStats& st = finite_stats(n);
      std::printf("%7zu %6d %12.6f %11.3e %10.2e %10.3e %10.3e %12.4g\n", n, st.seeds, st.mean, st.bias, st.bias_se,
                  st.sd, st.rms_dev, sec);
      ns.push_back(static_cast<double>(n)), rms.push_back(st.rms_dev), sds.push_back(st.sd), ts.push_back(sec);
    }
    if (ns.size() >= 2) {
      double C, p, Csd, psd, ct, kt;
      loglog_fit(ns, rms, C, p);
      loglog_fit(ns, sds, Csd, psd);
      loglog_fit(ns, ts, ct, kt);
      std::printf("  fits: rms_dev = %.3f n^%.3f, sd = %.3f n^%.3f, time/seed = %.3g n^%.3f s\n", C, p, Csd, psd, ct, kt);
      // Bias model B/n (the 1/n correction of the mean), weighted least squares through the origin.
      double num = 0, den = 0;
      for (const auto& [n, sec] : g_finite_seconds) {
        const FiniteStats& st = finite_stats(n);
        const double x = 1.0 / static_cast<double>(n), w = 1.0 / (st.bias_se * st.bias_se);
        num += w * x * st.bias, den += w * x * x;
      }
      const double B = num / den, B_se = 1.0 / std::sqrt(den);
      std::printf("  bias fit b(n) = B/n: B = %.3g +- %.2g\n", B, B_se);
      // (a) One seed: its RMS deviation from the limit is ε.
      const double n1 = std::pow(kEps / C, 1.0 / p);
      std::printf("  (a) one seed within eps (RMS): n = %.3g, time = %.3g s (extrapolated n^%.2f), "
                  "memory of the n x n matrix = %.3g GB\n",
                  n1, ct * std::pow(n1, kt), kt, 8.0 * n1 * n1 / 1e9);
      // (b) Mean over S seeds at width n: RMS error sqrt(b(n)² + sd(n)²/S) = ε ⇒ S = sd²/(ε² − b²).
      // (b) Mean over S seeds at width n: RMS error sqrt(b(n)² + sd(n)²/S) = ε ⇒ S = sd²/(ε² − b²). The bias b(n)
      // is not resolved by the setup run unless |b| > 2 bias_se, so three bias assumptions are shown: none
      // (variance only: a lower bound on the cost), the B/n fit, and the 95% upper bound |b| + 2 bias_se.
      std::printf("  (b) mean over S seeds, RMS error sqrt(b^2 + sd^2/S) = eps => S = sd^2/(eps^2 - b^2)\n");
      for (const auto& [n, sec] : g_finite_seconds) {
        const FiniteStats& st = finite_stats(n);
        std::printf("      n=%6zu  measured bias %.2e +- %.1e (%s)\n", n, st.bias, st.bias_se,
                    std::abs(st.bias) > 2 * st.bias_se ? "resolved" : "not resolved at 2 s.e.");
        auto line = [&](const char* which, double b) {
          if (b * b >= kEps * kEps) {
            std::printf("        b=%9.2e %-22s |b| >= eps: unreachable at this width\n", b, which);
            return;
          }
          const double S = std::ceil(st.sd * st.sd / (kEps * kEps - b * b));
          std::printf("        b=%9.2e %-22s S = %7.0f seeds, time = %9.4g s on 1 thread\n", b, which, S, S * sec);
        };
        line("(variance only)", 0.0);
        line("(B/n fit)", B / static_cast<double>(n));
        line("(|b|+2se upper bound)", std::abs(st.bias) + 2 * st.bias_se);
      }
    }
  }
  if (g_exact_seconds > 0)
    std::printf("\nExact linear limit (phi = x, 3 steps): %.4g s/program = %.4g programs/s\n", g_exact_seconds,
                1.0 / g_exact_seconds);
}

}  // namespace

BENCHMARK(BM_mc_limit)
    ->ArgsProduct({{1 << 10, 1 << 12, 1 << 14}, {1, 2}, {0, 1}})
    ->ArgNames({"P", "threads", "sampling"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_finite)->Arg(256)->Arg(1024)->Arg(4096)->ArgName("n")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_exact_linear)->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  print_accounting();
  return 0;
}

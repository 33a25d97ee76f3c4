// Benchmarks of the Gaussian integration engine (limits/gaussian_expectation.h) and the closed-form
// transforms (limits/closed_forms.h): the two ways a kernel recursion evaluates E[φ(u) φ(v)].
#include "limits/closed_forms.h"
#include "limits/gauss_hermite.h"
#include "limits/gaussian_expectation.h"

#include <benchmark/benchmark.h>

#include <cmath>

namespace {

Eigen::MatrixXd tanh_covariance() {
  Eigen::MatrixXd cov(2, 2);
  cov << 1.0, 0.5, 0.5, 2.0;
  return cov;
}

/// tanh(u) tanh(v), vectorized over the batch of points.
Eigen::ArrayXd tanh_tanh(const Eigen::MatrixXd& points) {
  return (points.row(0).array().tanh() * points.row(1).array().tanh()).transpose();
}

/// One tensor Gauss–Hermite rule of order k (k² nodes) over a fixed 2-D covariance.
void BM_Quadrature2dTanh(benchmark::State& state) {
  const int order = static_cast<int>(state.range(0));
  const Eigen::MatrixXd factor = tp::limits::factor_covariance(tanh_covariance()).factor;
  (void)tp::limits::gauss_hermite_rule(order);  // fill the cache outside the timed loop
  for (auto _ : state) {
    benchmark::DoNotOptimize(tp::limits::tensor_quadrature(tanh_tanh, factor, order));
  }
  state.counters["nodes"] = static_cast<double>(order) * order;
  state.SetItemsProcessed(state.iterations() * order * order);
}
BENCHMARK(BM_Quadrature2dTanh)->Arg(20)->Arg(40)->Arg(80);

/// The full adaptive route: eigen-factor Σ, then Q_16, Q_32, … until |Q_k − Q_2k| ≤ 1e−12.
void BM_GaussianExpectation2dTanh(benchmark::State& state) {
  const Eigen::MatrixXd cov = tanh_covariance();
  for (auto _ : state) {
    benchmark::DoNotOptimize(tp::limits::gaussian_expectation(tanh_tanh, cov).value);
  }
}
BENCHMARK(BM_GaussianExpectation2dTanh);

/// The scalar convenience wrapper expect_2d on the same integral.
void BM_Expect2dTanhScalar(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        tp::limits::expect_2d([](double u, double v) { return std::tanh(u) * std::tanh(v); }, 1.0, 0.5, 2.0).value);
  }
}
BENCHMARK(BM_Expect2dTanhScalar);

/// A closed form evaluated at a covariance that changes every iteration (so nothing is hoisted).
template <double (*transform)(double, double, double)>
void BM_ClosedForm(benchmark::State& state) {
  double k12 = 0.1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(transform(1.0, k12, 2.0));
    k12 = k12 > 1.3 ? -1.3 : k12 + 1e-3;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClosedForm<tp::limits::expect_relu_relu>)->Name("BM_ClosedForm/relu");
BENCHMARK(BM_ClosedForm<tp::limits::expect_step_step>)->Name("BM_ClosedForm/step");
BENCHMARK(BM_ClosedForm<tp::limits::expect_erf_erf>)->Name("BM_ClosedForm/erf");
BENCHMARK(BM_ClosedForm<tp::limits::expect_erf_prime_erf_prime>)->Name("BM_ClosedForm/erf_prime");
BENCHMARK(BM_ClosedForm<tp::limits::expect_sin_sin>)->Name("BM_ClosedForm/sin");
BENCHMARK(BM_ClosedForm<tp::limits::expect_cos_cos>)->Name("BM_ClosedForm/cos");
BENCHMARK(BM_ClosedForm<tp::limits::expect_exp_exp>)->Name("BM_ClosedForm/exp");

}  // namespace

BENCHMARK_MAIN();

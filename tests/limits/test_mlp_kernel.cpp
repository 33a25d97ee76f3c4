// The NNGP/NTK recursions of limits/mlp_kernel.h against independent routes:
//  * exact values (relu on orthogonal inputs, linear networks);
//  * a straightforward reference written here — a double loop over all (i, j) with expect_2d (adaptive
//    Gauss–Hermite on scalar lambdas, no CompiledExpr, no caching, no symmetry) for the analytic activations
//    and the Cho–Saul formula written from θ = acos ρ for relu;
//  * the Master Theorem limit of the generated Tensor Program (limits/gaussian_limit.h) and the program run at
//    finite width (limits/finite.h), whose deviation from the kernel must shrink like n^(−1/2).
#include <doctest/doctest.h>

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <random>

#include "frontend/sema.h"
#include "limits/finite.h"
#include "limits/gaussian_expectation.h"
#include "limits/gaussian_limit.h"
#include "limits/mlp_kernel.h"
#include "limits/mlp_program.h"
#include "limits/resident_memory.h"

namespace {

using namespace tp;
using namespace tp::limits;
constexpr double pi = std::numbers::pi;

/// E[φ(u) φ(v)] and E[φ'(u) φ'(v)] for cov [[a, c], [c, b]].
using Pair = std::function<std::pair<double, double>(double a, double c, double b)>;

/// The recursions of mlp_kernel.h, entry by entry over all (i, j), from a transform pair.
struct Reference {
  std::vector<Eigen::MatrixXd> nngp, ntk;
};

Reference reference_kernel(const Pair& pair, const Eigen::MatrixXd& x, int depth, const std::vector<double>& sw2,
                           const std::vector<double>& sb2) {
  auto at = [](const std::vector<double>& v, int l) { return v.size() == 1 ? v[0] : v[static_cast<std::size_t>(l)]; };
  const Eigen::Index n = x.rows();
  Eigen::MatrixXd k(n, n);
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) {
      double dot = 0;
      for (Eigen::Index c = 0; c < x.cols(); ++c) dot += x(i, c) * x(j, c);
      k(i, j) = at(sw2, 0) * dot / static_cast<double>(x.cols()) + at(sb2, 0);
    }
  Reference r;
  r.nngp.push_back(k);
  r.ntk.push_back(k);
  for (int l = 1; l <= depth; ++l) {
    const Eigen::MatrixXd& kl = r.nngp.back();
    const Eigen::MatrixXd& tl = r.ntk.back();
    Eigen::MatrixXd kn(n, n), tn(n, n);
    for (Eigen::Index i = 0; i < n; ++i)
      for (Eigen::Index j = 0; j < n; ++j) {
        const auto [e, ed] = pair(kl(i, i), kl(i, j), kl(j, j));
        kn(i, j) = at(sw2, l) * e + at(sb2, l);
        tn(i, j) = kn(i, j) + at(sw2, l) * ed * tl(i, j);
      }
    r.nngp.push_back(kn);
    r.ntk.push_back(tn);
  }
  return r;
}

/// Both transforms by adaptive 2-D Gauss–Hermite on scalar functions, converged to 1e−13 relative.
Pair by_expect_2d(std::function<double(double)> f, std::function<double(double)> df) {
  return [f, df](double a, double c, double b) {
    ExpectationOptions o;
    o.rel_tol = 1e-13;
    const double e = expect_2d([&](double u, double v) { return f(u) * f(v); }, a, c, b, o).value;
    const double ed = expect_2d([&](double u, double v) { return df(u) * df(v); }, a, c, b, o).value;
    return std::make_pair(e, ed);
  };
}

/// relu: Cho & Saul's arc-cosine kernels written from θ = acos ρ (the library uses atan2 and √det).
std::pair<double, double> relu_pair(double a, double c, double b) {
  const double s = std::sqrt(a * b);
  const double theta = std::acos(std::clamp(c / s, -1.0, 1.0));
  return {s / (2 * pi) * (std::sin(theta) + (pi - theta) * std::cos(theta)), (pi - theta) / (2 * pi)};
}

double max_abs_diff(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) { return (a - b).cwiseAbs().maxCoeff(); }

/// Four inputs in R^3 with |x|²/d between 0.5 and 1 (so every K^l(x,x) ≤ 1.6 below).
Eigen::MatrixXd four_inputs() {
  Eigen::MatrixXd x(4, 3);
  x << 1.0, 1.0, 1.0,  //
      1.0, -1.0, 1.0,  //
      1.5, 0.5, 0.5,   //
      -1.0, 0.5, 1.2;
  return x;
}

double gelu(double x) { return 0.5 * x * std::erfc(-x / std::numbers::sqrt2); }
double gelu_prime(double x) { return 0.5 * std::erfc(-x / std::numbers::sqrt2) + x * std::exp(-0.5 * x * x) / std::sqrt(2 * pi); }
double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

MlpKernelSpec spec_of(ExprPtr phi, int depth, std::vector<double> sw2, std::vector<double> sb2) {
  return make_mlp_kernel_spec(std::move(phi), depth, std::move(sw2), std::move(sb2));
}

ExprPtr fn(Function f) { return call(f, argument(0)); }

}  // namespace

TEST_CASE("exam: relu on two orthogonal unit inputs, depth 1, sw2 = 2, sb2 = 0: K = 1/pi, Theta = 1/pi") {
  // x1 = (1, 0), x2 = (0, 1), d = 2: K^1 = 2 x.x'/2 = I. With ρ = 0, θ = π/2:
  // E[relu(u) relu(v)] = √(1·1)/(2π) (sin θ + (π − θ) cos θ) = 1/(2π), so K^2_12 = 2/(2π) = 1/π, and
  // E[step step] = (π − θ)/(2π) = 1/4, so Θ^2_12 = 1/π + 2 · 1/4 · Θ^1_12 = 1/π (Θ^1_12 = 0).
  // Diagonal: K^2_11 = 2 · E relu(u)² = 2 · 1/2 = 1, Θ^2_11 = 1 + 2 · 1/2 · 1 = 2.
  Eigen::MatrixXd x(2, 2);
  x << 1, 0, 0, 1;
  const auto r = compute_mlp_kernel(spec_of(fn(Function::relu), 1, {2.0}, {0.0}), x);
  CHECK(r.route == Route::closed_form);
  CHECK(r.output_nngp()(0, 1) == doctest::Approx(1 / pi).epsilon(1e-15));
  CHECK(r.output_ntk()(0, 1) == doctest::Approx(1 / pi).epsilon(1e-15));
  CHECK(r.output_nngp()(0, 0) == doctest::Approx(1.0).epsilon(1e-15));
  CHECK(r.output_ntk()(1, 1) == doctest::Approx(2.0).epsilon(1e-15));
  // depth 2: ρ = 1/π at layer 2, θ = acos(1/π): K^3_12 = (1/π)(sin θ + (π − θ)/π), Θ^3_12 = K^3_12 + (π − θ)/π²
  const auto r2 = compute_mlp_kernel(spec_of(fn(Function::relu), 2, {2.0}, {0.0}), x);
  const double theta = std::acos(1 / pi);
  const double k3 = (std::sin(theta) + (pi - theta) / pi) / pi;
  CHECK(r2.output_nngp()(0, 1) == doctest::Approx(k3).epsilon(1e-14));
  CHECK(r2.output_ntk()(0, 1) == doctest::Approx(k3 + (pi - theta) / (pi * pi)).epsilon(1e-14));
}

TEST_CASE("exam: a linear network has K^{l+1} = sw2 K^l + sb2 and Theta^{l+1} = K^{l+1} + sw2 Theta^l") {
  const Eigen::MatrixXd x = four_inputs();
  const auto r = compute_mlp_kernel(spec_of(argument(0), 3, {1.5, 0.5, 2.0, 1.0}, {0.1, 0.2, 0.0, 0.3}), x);
  CHECK(r.route == Route::closed_form);
  const double sw2[] = {1.5, 0.5, 2.0, 1.0}, sb2[] = {0.1, 0.2, 0.0, 0.3};
  Eigen::MatrixXd k = sw2[0] * x * x.transpose() / 3.0;
  k.array() += sb2[0];
  Eigen::MatrixXd t = k;
  for (int l = 1; l <= 3; ++l) {
    k = (sw2[l] * k).array() + sb2[l];
    t = k + sw2[l] * t;
  }
  CHECK(max_abs_diff(r.output_nngp(), k) < 1e-14);
  CHECK(max_abs_diff(r.output_ntk(), t) < 1e-14);
}

TEST_CASE("check: closed-form activations match the independent recursion to 1e-12 at every layer") {
  const Eigen::MatrixXd x = four_inputs();
  struct Case {
    std::string name;
    ExprPtr phi;
    Pair pair;
  };
  const std::vector<Case> cases = {
      {"relu", fn(Function::relu), relu_pair},
      {"erf", fn(Function::erf),
       by_expect_2d([](double u) { return std::erf(u); },
                    [](double u) { return 2 / std::sqrt(pi) * std::exp(-u * u); })},
      {"sin", fn(Function::sin), by_expect_2d([](double u) { return std::sin(u); }, [](double u) { return std::cos(u); })},
      {"cos", fn(Function::cos),
       by_expect_2d([](double u) { return std::cos(u); }, [](double u) { return -std::sin(u); })},
      {"identity", argument(0), [](double, double c, double) { return std::make_pair(c, 1.0); }},
  };
  const std::vector<double> sw2{2.0, 1.5, 1.2, 1.0}, sb2{0.1, 0.05, 0.2, 0.0};
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto r = compute_mlp_kernel(spec_of(c.phi, 3, sw2, sb2), x);
    CHECK(r.route == Route::closed_form);
    const Reference ref = reference_kernel(c.pair, x, 3, sw2, sb2);
    double worst = 0;
    for (std::size_t l = 0; l < 4; ++l) {
      CAPTURE(l);
      CHECK(max_abs_diff(r.nngp[l], ref.nngp[l]) < 1e-12);
      CHECK(max_abs_diff(r.ntk[l], ref.ntk[l]) < 1e-12);
      CHECK(r.nngp_error[l] < 1e-13);
      worst = std::max({worst, max_abs_diff(r.nngp[l], ref.nngp[l]), max_abs_diff(r.ntk[l], ref.ntk[l])});
    }
    MESSAGE(c.name << ": largest deviation from the reference " << worst);
  }
}

TEST_CASE("check: tanh, gelu and sigmoid by quadrature match an adaptive high-order reference to 1e-10") {
  const Eigen::MatrixXd x = four_inputs();
  struct Case {
    std::string name;
    Function f;
    Pair pair;
  };
  const std::vector<Case> cases = {
      {"tanh", Function::tanh,
       by_expect_2d([](double u) { return std::tanh(u); },
                    [](double u) { return 1 - std::tanh(u) * std::tanh(u); })},
      {"gelu", Function::gelu, by_expect_2d(gelu, gelu_prime)},
      {"sigmoid", Function::sigmoid,
       by_expect_2d(sigmoid, [](double u) { return sigmoid(u) * (1 - sigmoid(u)); })},
  };
  // K^1(x,x) = 1.5 |x|²/3 + 0.1 ≤ 1.6; later layers stay ≤ 1.6 for these bounded or slowly growing φ
  const std::vector<double> sw2{1.5}, sb2{0.1};
  for (const auto& c : cases) {
    CAPTURE(c.name);
    const auto r = compute_mlp_kernel(spec_of(fn(c.f), 3, sw2, sb2), x);
    CHECK(r.route == Route::quadrature);
    CHECK(r.order == 0);  // the trapezoidal rule (issue #13 item 5)
    CHECK(r.spacing > 0);
    const Reference ref = reference_kernel(c.pair, x, 3, sw2, sb2);
    double worst = 0;
    for (std::size_t l = 0; l < 4; ++l) {
      CAPTURE(l);
      worst = std::max({worst, max_abs_diff(r.nngp[l], ref.nngp[l]), max_abs_diff(r.ntk[l], ref.ntk[l])});
      const double dk = max_abs_diff(r.nngp[l], ref.nngp[l]), dt = max_abs_diff(r.ntk[l], ref.ntk[l]);
      CHECK(dk < 1e-10);
      CHECK(dt < 1e-10);
      // the error estimate is an honest bound at this level of accuracy
      CHECK(dk <= std::max(2 * r.nngp_error[l], 1e-13));
      CHECK(dt <= std::max(2 * r.ntk_error[l], 1e-13));
      CHECK(r.ntk_error[l] < 1e-10);
    }
    MESSAGE(c.name << ": largest deviation from the reference " << worst << ", error estimate (readout) "
                   << r.nngp_error.back() << " / " << r.ntk_error.back());
  }
}

TEST_CASE("check: at a low order the error estimate tracks the actual quadrature error") {
  // sw2 = 3 makes K^l(x,x) ≈ 2.5–3, where tanh needs a high order: at order 48 the error is ~1e−6.
  const Eigen::MatrixXd x = four_inputs();
  const auto spec = spec_of(fn(Function::tanh), 2, {3.0}, {0.1});
  MlpKernelOptions low;
  low.order = 48;
  MlpKernelOptions high;
  high.order = 256;
  const auto r = compute_mlp_kernel(spec, x, low);
  const auto ref = compute_mlp_kernel(spec, x, high);
  for (std::size_t l = 1; l < 3; ++l) {
    CAPTURE(l);
    const double actual = max_abs_diff(r.nngp[l], ref.nngp[l]), actual_t = max_abs_diff(r.ntk[l], ref.ntk[l]);
    CHECK(actual > 1e-9);  // the test is meaningful
    CHECK(actual <= 1.5 * r.nngp_error[l]);
    CHECK(r.nngp_error[l] <= 3 * actual);
    CHECK(actual_t <= 1.5 * r.ntk_error[l]);
    CHECK(r.ntk_error[l] <= 3 * actual_t);
  }
  CHECK(r.error_sample_pairs == 6);
}

TEST_CASE("check: cached and naive schemes, with and without the parity halving, agree to 1e-13") {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(9, 4);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index c = 0; c < x.cols(); ++c) x(i, c) = normal(rng);
  x.row(8) = x.row(7);  // a repeated input: ρ = 1 off the diagonal
  const ExprPtr custom = sub(pow(argument(0), constant(3)), fn(Function::tanh));  // x^3 - tanh(x): odd
  for (const ExprPtr& phi : {fn(Function::tanh), fn(Function::gelu), custom, fn(Function::cos)}) {
    CAPTURE(to_string(phi, {"x"}));
    const auto spec = spec_of(phi, 2, {1.2}, {0.1});
    MlpKernelOptions cached;
    cached.order = 41;  // odd: the node x = 0 is its own mirror image
    cached.use_closed_forms = false;
    MlpKernelOptions naive = cached;
    naive.scheme = MlpQuadratureScheme::naive;
    MlpKernelOptions full = cached;
    full.use_parity = false;
    const auto a = compute_mlp_kernel(spec, x, cached);
    const auto b = compute_mlp_kernel(spec, x, naive);
    const auto c = compute_mlp_kernel(spec, x, full);
    for (std::size_t l = 0; l < 3; ++l) {
      const double scale = std::max(1.0, a.ntk[l].cwiseAbs().maxCoeff());
      CHECK(max_abs_diff(a.nngp[l], b.nngp[l]) < 1e-13 * scale);
      CHECK(max_abs_diff(a.ntk[l], b.ntk[l]) < 1e-13 * scale);
      CHECK(max_abs_diff(a.nngp[l], c.nngp[l]) < 1e-13 * scale);
      CHECK(max_abs_diff(a.ntk[l], c.ntk[l]) < 1e-13 * scale);
    }
  }
}

TEST_CASE("check: kernels are symmetric positive semidefinite and NTK >= NNGP on the diagonal") {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  Eigen::MatrixXd x(12, 5);
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    for (Eigen::Index c = 0; c < x.cols(); ++c) x(i, c) = normal(rng);
  for (const ExprPtr& phi : {fn(Function::relu), fn(Function::erf), fn(Function::tanh), fn(Function::sin)}) {
    CAPTURE(to_string(phi, {"x"}));
    MlpKernelOptions o;
    o.order = 64;
    const auto r = compute_mlp_kernel(spec_of(phi, 4, {1.7}, {0.2}), x, o);
    REQUIRE(r.nngp.size() == 5);
    for (std::size_t l = 0; l < 5; ++l) {
      CAPTURE(l);
      CHECK(r.nngp[l] == r.nngp[l].transpose());
      CHECK(r.ntk[l] == r.ntk[l].transpose());
      const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> ek(r.nngp[l]), et(r.ntk[l]);
      CHECK(ek.eigenvalues().minCoeff() > -1e-10 * ek.eigenvalues().maxCoeff());
      CHECK(et.eigenvalues().minCoeff() > -1e-10 * et.eigenvalues().maxCoeff());
      CHECK((r.ntk[l].diagonal() - r.nngp[l].diagonal()).minCoeff() >= 0.0);
      if (l > 0) CHECK((r.ntk[l].diagonal() - r.nngp[l].diagonal()).minCoeff() > 0.0);
    }
  }
}

TEST_CASE("check: forcing quadrature on closed-form activations reproduces the closed forms") {
  const Eigen::MatrixXd x = four_inputs();
  MlpKernelOptions quad;
  quad.use_closed_forms = false;
  for (Function f : {Function::erf, Function::sin, Function::cos, Function::exp}) {
    CAPTURE(function_spelling(f));
    // exp: E[e^u e^v] = e^{(a+b)/2 + c} grows fast, so small weights keep the variances near 1
    const auto spec = f == Function::exp ? spec_of(fn(f), 2, {0.3}, {0.0}) : spec_of(fn(f), 2, {1.5}, {0.1});
    const auto closed = compute_mlp_kernel(spec, x);
    const auto numeric = compute_mlp_kernel(spec, x, quad);
    CHECK(closed.route == Route::closed_form);
    CHECK(numeric.route == Route::quadrature);
    const double scale = std::max(1.0, closed.output_ntk().cwiseAbs().maxCoeff());
    CHECK(max_abs_diff(closed.output_nngp(), numeric.output_nngp()) < 1e-12 * scale);
    CHECK(max_abs_diff(closed.output_ntk(), numeric.output_ntk()) < 1e-12 * scale);
  }
}

TEST_CASE("a divergent Gaussian expectation is reported, naming the layer") {
  Eigen::MatrixXd x(2, 2);
  x << 1, 0, 0, 1;
  const auto spec = spec_of(call(Function::exp, pow(argument(0), constant(2))), 2, {1.0}, {0.0});  // exp(x^2)
  CHECK_THROWS_AS(compute_mlp_kernel(spec, x), DivergentIntegral);
  try {
    compute_mlp_kernel(spec, x);
  } catch (const DivergentIntegral& e) {
    CHECK(std::string(e.what()).find("layer 2") != std::string::npos);
  }
  // exp(x^2/4): E exp(u^2/2) is finite for Var u = 0.5 (layer 2) but not for Var u = √2 (layer 3)
  const auto later = spec_of(call(Function::exp, div(pow(argument(0), constant(2)), constant(4))), 2, {1.0}, {0.0});
  try {
    compute_mlp_kernel(later, x);
    FAIL("expected DivergentIntegral");
  } catch (const DivergentIntegral& e) {
    CHECK(std::string(e.what()).find("layer 3") != std::string::npos);
  }
}

TEST_CASE("invalid specs and inputs throw MlpKernelError naming the problem") {
  const Eigen::MatrixXd x = four_inputs();
  CHECK_THROWS_AS(spec_of(fn(Function::tanh), 0, {1.0}, {0.0}), MlpKernelError);
  CHECK_THROWS_WITH_AS(spec_of(fn(Function::tanh), 2, {1.0, 2.0}, {0.0}), doctest::Contains("sw2 has 2 values"),
                       MlpKernelError);
  CHECK_THROWS_WITH_AS(spec_of(fn(Function::tanh), 2, {1.0}, {-0.1}), doctest::Contains("sb2 must be finite and >= 0"),
                       MlpKernelError);
  CHECK_THROWS_AS(spec_of(fn(Function::tanh), 2, {NAN}, {0.0}), MlpKernelError);
  CHECK_THROWS_AS(spec_of(mul(argument(0), argument(1)), 2, {1.0}, {0.0}), MlpKernelError);
  Eigen::MatrixXd bad = x;
  bad(2, 1) = INFINITY;
  CHECK_THROWS_WITH_AS(compute_mlp_kernel(spec_of(fn(Function::relu), 1, {1.0}, {0.0}), bad),
                       doctest::Contains("input 3, coordinate 2 is not finite"), MlpKernelError);
  MlpKernelOptions o;
  o.order = 300;
  CHECK_THROWS_AS(compute_mlp_kernel(spec_of(fn(Function::tanh), 1, {1.0}, {0.0}), x, o), MlpKernelError);
}

TEST_CASE("check: the generated Tensor Program's Gaussian limit equals the NNGP kernel to 1e-10 (tanh)") {
  const Eigen::MatrixXd x = four_inputs().topRows(3);
  const auto spec = spec_of(fn(Function::tanh), 3, {1.5, 1.2, 1.5, 1.0}, {0.1, 0.2, 0.0, 0.05});
  const std::string text = mlp_nngp_program(spec, x);
  frontend::DiagnosticEngine diags;
  const auto program = frontend::compile_source(text, diags);
  REQUIRE_MESSAGE(program, text);
  const LimitResult limit = gaussian_limit(*program);
  const auto kernel = compute_mlp_kernel(spec, x);
  REQUIRE(limit.names.size() == 6);
  std::size_t k = 0;
  double worst = 0;
  for (Eigen::Index i = 0; i < 3; ++i)
    for (Eigen::Index j = i; j < 3; ++j, ++k) {
      worst = std::max(worst, std::abs(limit.outputs[k].value - kernel.output_nngp()(i, j)));
      CAPTURE(limit.names[k]);
      CHECK(limit.names[k] == "K_" + std::to_string(i + 1) + "_" + std::to_string(j + 1));
      CHECK(std::abs(limit.outputs[k].value - kernel.output_nngp()(i, j)) < 1e-10);
    }
  MESSAGE("Tensor Program limit vs kernel: largest deviation " << worst);
}

TEST_CASE("the generated program parses for composite activations and a single input") {
  Eigen::MatrixXd one(1, 2);
  one << 0.3, -1.0;
  for (const ExprPtr& phi : {sub(pow(argument(0), constant(3)), fn(Function::tanh)), mul(constant(2), argument(0)),
                             neg(fn(Function::sin)), argument(0)}) {
    CAPTURE(to_string(phi, {"x"}));
    for (int depth : {1, 3}) {
      const std::string text = mlp_nngp_program(spec_of(phi, depth, {1.0}, {0.0}), one);
      frontend::DiagnosticEngine diags;
      CHECK_MESSAGE(frontend::compile_source(text, diags), text);
    }
  }
  CHECK_THROWS_AS(mlp_nngp_program(spec_of(fn(Function::tanh), 2, {1.0, 0.0, 1.0}, {0.0}), one), MlpKernelError);
}

TEST_CASE("check: the finite-width program approaches the kernel like n^(-1/2)") {
  // Steps: 1. the NNGP of a depth-2 tanh MLP on 4 inputs (the limit); 2. the generated program at widths
  // 128..2048 over 32 seeds; per seed the RMS deviation of its 10 outputs from the limit; the mean over seeds
  // D(n) with its standard error; 3. least-squares fit of log D against log n; the slope's standard error is
  // the larger of the one propagated from the seeds' spread and the one from the fit's residuals; 4. the slope
  // must be −1/2 within 3 standard errors, and those must be at most 0.15 (else the test has no power).
  const Eigen::MatrixXd x = four_inputs();
  const Eigen::Index n_inputs = x.rows();
  const auto spec = spec_of(fn(Function::tanh), 2, {1.5}, {0.1});
  const auto kernel = compute_mlp_kernel(spec, x);
  frontend::DiagnosticEngine diags;
  const auto program = frontend::compile_source(mlp_nngp_program(spec, x), diags);
  REQUIRE(program);
  const std::vector<std::size_t> widths{128, 256, 512, 1024, 2048};
  std::vector<double> log_n, log_d, se_log_d;
  for (std::size_t width : widths) {
    FiniteOptions o;
    o.width = width;
    o.seeds.clear();
    for (std::uint64_t s = 0; s < 32; ++s) o.seeds.push_back(1000 + s);
    const FiniteResult res = run_finite(*program, o);
    std::vector<double> rms;
    for (const SeedOutputs& seed : res.per_seed) {
      double sum = 0;
      std::size_t k = 0;
      for (Eigen::Index i = 0; i < n_inputs; ++i)
        for (Eigen::Index j = i; j < n_inputs; ++j, ++k)
          sum += std::pow(seed.values[k] - kernel.output_nngp()(i, j), 2);
      rms.push_back(std::sqrt(sum / static_cast<double>(k)));
    }
    double mean = 0, var = 0;
    for (double v : rms) mean += v / static_cast<double>(rms.size());
    for (double v : rms) var += (v - mean) * (v - mean) / static_cast<double>(rms.size() - 1);
    log_n.push_back(std::log(static_cast<double>(width)));
    log_d.push_back(std::log(mean));
    se_log_d.push_back(std::sqrt(var / static_cast<double>(rms.size())) / mean);
  }
  const auto m = static_cast<double>(widths.size());
  double xbar = 0, ybar = 0;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    xbar += log_n[i] / m;
    ybar += log_d[i] / m;
  }
  double sxx = 0, sxy = 0, propagated = 0;
  for (std::size_t i = 0; i < widths.size(); ++i) {
    sxx += (log_n[i] - xbar) * (log_n[i] - xbar);
    sxy += (log_n[i] - xbar) * (log_d[i] - ybar);
    propagated += std::pow((log_n[i] - xbar) * se_log_d[i], 2);
  }
  const double slope = sxy / sxx;
  double rss = 0;
  for (std::size_t i = 0; i < widths.size(); ++i)
    rss += std::pow(log_d[i] - (ybar + slope * (log_n[i] - xbar)), 2);
  const double se = std::max(std::sqrt(propagated) / sxx, std::sqrt(rss / (m - 2) / sxx));
  MESSAGE("fitted slope " << slope << " ± " << se << " (propagated " << std::sqrt(propagated) / sxx << ", residual "
                          << std::sqrt(rss / (m - 2) / sxx) << ")");
  CHECK(3 * se <= 0.15);
  CHECK(std::abs(slope + 0.5) <= 3 * se);
}

TEST_CASE("mlp_kernel_bytes: 16 bytes per entry for relu in place, every layer's K and Theta for the other routes") {
  const std::size_t n = 500, d = 3;
  const double entries = 500.0 * 500.0;
  const MlpKernelSpec relu = spec_of(fn(Function::relu), 10, {2.0}, {0.1});
  MlpKernelOptions readout;
  readout.keep_all_layers = false;
  const double relu_bytes = mlp_kernel_bytes(relu, n, d, readout);
  CHECK(relu_bytes >= 16 * entries);
  CHECK(relu_bytes <= 16 * entries + 100.0 * 11 * static_cast<double>(n));  // + a few vectors per layer
  MlpKernelOptions all;
  CHECK(mlp_kernel_bytes(relu, n, d, all) >= 16 * 11 * entries);
  // the layer-by-layer routes hold every layer until they return, even when only the readout is kept
  const MlpKernelSpec erf = spec_of(fn(Function::erf), 10, {2.0}, {0.1});
  CHECK(mlp_kernel_bytes(erf, n, d, readout) >= (16 * 11 + 8) * entries);
  MlpKernelOptions quadrature = readout;
  quadrature.use_closed_forms = false;
  CHECK(mlp_kernel_bytes(relu, n, d, quadrature) > mlp_kernel_bytes(erf, n, d, readout));  // + the caches
  // the relu route allocates no more than it says: the resident set grows by at most the estimate (plus the
  // worker threads' stacks and allocator slack, 4 MiB) while the result is held
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(d));
  const double before = resident_bytes();
  const MlpKernelResult r = compute_mlp_kernel(relu, x, readout);
  const double grown = resident_bytes() - before;
  MESSAGE("resident growth " << grown / 1048576 << " MiB, estimate " << relu_bytes / 1048576 << " MiB");
#if defined(__SANITIZE_ADDRESS__)
  // ASan's shadow memory, redzones and quarantine of freed blocks inflate the resident set: nothing to compare
  (void)grown;
#else
  CHECK(grown <= relu_bytes + 4.0 * 1048576);
#endif
  CHECK(r.output_nngp().rows() == static_cast<Eigen::Index>(n));
}

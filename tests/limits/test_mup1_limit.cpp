// The one-hidden-layer µP limit (TP4 Thm 6.1): exact for a linear network against an independent moment
// recursion; for tanh, d = 1, 2, the automatic quadrature reaches 1e-9 and its error estimate bounds the
// actual error against an independent finer trapezoid evolution; quadrature vs Monte Carlo (d = 2, 3);
// limit vs finite width within standard errors; finite-width training invariant under TP4 Eq. 5.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

#include "limits/mlp_train.h"
#include "limits/mup1_limit.h"
#include "limits/statistics.h"

using namespace tp;

namespace {

// The error the quadrature route must reach for tanh at d ≤ 2. Under the sanitizers (about 10× slower) a
// looser target keeps each case within seconds.
#if defined(__SANITIZE_ADDRESS__)
constexpr double kTarget = 1e-5;
constexpr long long kMaxNodes = 150'000;  // d = 2: grids up to h = 2/9
#else
constexpr double kTarget = 1e-9;
constexpr long long kMaxNodes = 4'000'000;
#endif

struct Data {
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  Data(int m, int d) { limits::default_data(m, d, X, y); }
};

}  // namespace

TEST_CASE("linear network: the particle limit equals the exact covariance recursion to 1e-12") {
  Data data(3, 2);
  const double lr = 0.3;
  const int T = 4;
  auto lim = limits::mup1_limit(argument(0), lr, data.X, data.y, T);
  // (u, v) evolve linearly: (u, v) <- [[I, -lr g], [-lr g^T, 1]] (u, v), g = sum_i chi_i xi_i, so the
  // covariance S of (u, v) evolves as M S M^T and f(xi) = E[v u.xi] = S_{uv} . xi.
  const int d = 2;
  Eigen::MatrixXd S = Eigen::MatrixXd::Identity(d + 1, d + 1);
  for (int t = 0; t <= T; ++t) {
    Eigen::VectorXd f(3);
    for (int i = 0; i < 3; ++i) f(i) = S.block(0, d, d, 1).col(0).dot(data.X.row(i).transpose());
    for (int i = 0; i < 3; ++i) {
      CAPTURE(t);
      CHECK(lim.f[t][i].value == doctest::Approx(f(i)).epsilon(1e-12));
    }
    Eigen::VectorXd g = Eigen::VectorXd::Zero(d);
    for (int i = 0; i < 3; ++i) g += (f(i) - data.y(i)) / 3.0 * data.X.row(i).transpose();
    Eigen::MatrixXd M = Eigen::MatrixXd::Identity(d + 1, d + 1);
    M.block(0, d, d, 1) = -lr * g;
    M.block(d, 0, 1, d) = -lr * g.transpose();
    S = M * S * M.transpose();
  }
}

TEST_CASE("tanh: quadrature and Monte Carlo particles agree within 5 standard errors") {
  Data data(4, 2);
  const auto act = call(Function::tanh, argument(0));
  limits::Mup1Options qo;
  qo.target_error = 1e-6;  // far below the Monte Carlo error
  qo.max_nodes = kMaxNodes;
  auto quad = limits::mup1_limit(act, 0.5, data.X, data.y, 3, qo);
  limits::Mup1Options mc;
  mc.max_quadrature_dim = 0;
  mc.particles = 1 << 15;
  auto carlo = limits::mup1_limit(act, 0.5, data.X, data.y, 3, mc);
  CHECK(quad.route == limits::Route::quadrature);
  CHECK(carlo.route == limits::Route::monte_carlo);
  for (int i = 0; i < 4; ++i) {
    CHECK(quad.f[3][i].error < 0.1 * carlo.f[3][i].error);
    CHECK(std::abs(quad.f[3][i].value - carlo.f[3][i].value) < 5 * carlo.f[3][i].error);
  }
}

TEST_CASE("tanh, d = 3 (4-dimensional integral): fixed-order quadrature and Monte Carlo agree within 5 s.e.") {
  Data data(3, 3);
  const auto act = call(Function::tanh, argument(0));
  limits::Mup1Options q;
  q.order = 24;
  auto quad = limits::mup1_limit(act, 0.5, data.X, data.y, 2, q);
  limits::Mup1Options mc;
  mc.max_quadrature_dim = 0;
  mc.particles = 1 << 14;
  auto carlo = limits::mup1_limit(act, 0.5, data.X, data.y, 2, mc);
  CHECK(quad.route == limits::Route::quadrature);
  CHECK(quad.order == 36);
  for (int t = 1; t <= 2; ++t)
    for (int i = 0; i < 3; ++i) {
      CHECK(quad.f[t][i].error < 1e-2);  // tanh at Gauss–Hermite 24/36 in 4 dimensions: ~1e-3
      CHECK(std::abs(quad.f[t][i].value - carlo.f[t][i].value) < 5 * carlo.f[t][i].error + quad.f[t][i].error);
    }
}

namespace {

/// An independent reference for φ = tanh: the same particle dynamics written out with std::tanh on the
/// truncated trapezoidal grid {|x| ≤ L} with spacing h in u and 2h in v, weights Π h_k e^{−x_k²/2}/√(2π) (not
/// normalized). For integrands analytic in a strip of half-width a it errs by about e^{−2πa/h} + e^{−L²/2}
/// (Trefethen & Weideman, SIAM Review 56 (2014), §5); it shares no code with limits/mup1_limit.cpp.
std::vector<std::vector<double>> trapezoid_reference(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, double lr,
                                                     int T, double h, double L) {
  const int d = static_cast<int>(X.cols()), m = static_cast<int>(X.rows()), D = d + 1;
  std::vector<double> step(D, h);
  step[d] = 2 * h;
  std::vector<int> half(D), idx(D);
  for (int k = 0; k < D; ++k) idx[k] = -(half[k] = static_cast<int>(std::floor(L / step[k])));
  std::vector<double> x;  // particle p: x[p D .. p D + d − 1] = u, x[p D + d] = v
  std::vector<double> w;
  for (;;) {
    double r2 = 0, weight = 1;
    for (int k = 0; k < D; ++k) {
      const double z = idx[k] * step[k];
      r2 += z * z;
      weight *= step[k] * std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi);
    }
    if (r2 <= L * L) {
      for (int k = 0; k < D; ++k) x.push_back(idx[k] * step[k]);
      w.push_back(weight);
    }
    int k = 0;
    while (k < D && ++idx[k] > half[k]) {
      idx[k] = -half[k];
      ++k;
    }
    if (k == D) break;
  }
  const std::size_t P = w.size();
  std::vector<std::vector<double>> f(T + 1, std::vector<double>(m));
  std::vector<double> th(P * m);  // tanh(u_p·ξ_i) at the current positions
  for (int t = 0; t <= T; ++t) {
    std::vector<long double> sum(m, 0.0L);
    for (std::size_t p = 0; p < P; ++p)
      for (int i = 0; i < m; ++i) {
        double z = 0;
        for (int k = 0; k < d; ++k) z += X(i, k) * x[p * D + k];
        th[p * m + i] = std::tanh(z);
        sum[i] += static_cast<long double>(w[p] * x[p * D + d] * th[p * m + i]);
      }
    for (int i = 0; i < m; ++i) f[t][i] = static_cast<double>(sum[i]);
    if (t == T) break;
    for (std::size_t p = 0; p < P; ++p) {
      double* u = &x[p * D];
      const double v = u[d];
      for (int i = 0; i < m; ++i) {
        const double tanh_z = th[p * m + i];
        const double chi = (f[t][i] - y(i)) / m;
        u[d] -= lr * chi * tanh_z;
        for (int k = 0; k < d; ++k) u[k] -= lr * chi * v * (1 - tanh_z * tanh_z) * X(i, k);
      }
    }
  }
  return f;
}

}  // namespace

namespace {

/// Checks the automatic route on tanh, lr and T steps against the trapezoid reference at spacing h_ref
/// (and 1.2 h_ref, whose difference bounds the reference's own error): the target is met, every error
/// estimate is ≤ kTarget, and every actual error is ≤ its estimate.
void check_honest(int d, int m, double h_ref, double lr = 0.5, int T = 3) {
  CAPTURE(d);
  CAPTURE(m);
  CAPTURE(lr);
  Data data(m, d);
  const auto act = call(Function::tanh, argument(0));
  limits::Mup1Options o;
  o.target_error = kTarget / 10;
  auto quad = limits::mup1_limit(act, lr, data.X, data.y, T, o);
  CHECK(quad.route == limits::Route::quadrature);
  CHECK(quad.target_met);
  CHECK(quad.max_error <= kTarget);
  CHECK((quad.spacing == doctest::Approx(quad.coarse_spacing / 1.5) ||
         quad.v_spacing == doctest::Approx(quad.coarse_spacing / 1.5)));
  auto ref = trapezoid_reference(data.X, data.y, lr, T, h_ref, 8.5);
  auto ref2 = trapezoid_reference(data.X, data.y, lr, T, 1.2 * h_ref, 8.5);
  for (int t = 0; t <= T; ++t)
    for (int i = 0; i < m; ++i) {
      CAPTURE(t);
      CAPTURE(i);
      const double ref_error = std::abs(ref[t][i] - ref2[t][i]);
      CHECK(ref_error < 1e-11);
      CHECK(quad.f[t][i].error <= kTarget);
      CHECK(std::abs(quad.f[t][i].value - ref[t][i]) <= quad.f[t][i].error + ref_error);
    }
}

}  // namespace

TEST_CASE("tanh, d = 1, m = 3 and 4: the automatic rule meets 1e-9 and its estimate bounds the actual error") {
  check_honest(1, 3, 0.05);
  check_honest(1, 4, 0.05);
}

TEST_CASE("tanh, d = 1, lr 1 and 2, 5 steps (stronger feature learning): the estimate still bounds the error") {
  check_honest(1, 3, 0.04, 2.0, 5);
  check_honest(1, 4, 0.04, 1.0, 5);
}

// The d = 2 references are 3-dimensional grids of about 10^6 particles: too slow under the sanitizers.
#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("tanh, d = 2, m = 3: the automatic rule meets 1e-9 and its estimate bounds the actual error") {
  check_honest(2, 3, 0.1);
}

TEST_CASE("tanh, d = 2, m = 4: the automatic rule meets 1e-9 and its estimate bounds the actual error") {
  check_honest(2, 4, 0.1);
}
#endif

// Issue #13 item 6: at lr 2 over 10 steps the particle map (u_0, v_0) → (u_t, v_t) develops sharp features
// along v_0 (v_0 moves u by η χ v_0 φ' ξ, so the complex singularities of tanh(u_t·ξ) in v_0 come within about
// 1/(η |χ| |ξ|²) of the real axis). The former rule refined both directions together and stopped at 2.5e-6
// (4M nodes) or 3.1e-7 (12M); refining one direction at a time, with an error indicator per direction,
// reaches 1e-7.
#if !defined(__SANITIZE_ADDRESS__)
TEST_CASE("tanh, d = 2, lr 2, 10 steps: direction-adaptive refinement reaches 1e-7; Monte Carlo agrees") {
  Data data(3, 2);
  const auto act = call(Function::tanh, argument(0));
  limits::Mup1Options o;
  o.target_error = 1e-7;
  o.max_nodes = 12'000'000;
  const int T = 10;
  auto quad = limits::mup1_limit(act, 2.0, data.X, data.y, T, o);
  CHECK(quad.route == limits::Route::quadrature);
  CHECK(quad.target_met);
  CHECK(quad.max_error <= 1e-7);
  MESSAGE("h_u = " << quad.spacing << ", h_v = " << quad.v_spacing << ", " << quad.nodes << " nodes, error "
                   << quad.max_error);
  // The same network at a node budget the former rule needed for 2.5e-6: the route says it missed the target
  limits::Mup1Options tight = o;
  tight.max_nodes = 2'000'000;
  auto short_run = limits::mup1_limit(act, 2.0, data.X, data.y, T, tight);
  CHECK_FALSE(short_run.target_met);
  // and its estimate bounds its actual error (against the 1e-7 result, whose own error is added).
  for (int t = 0; t <= T; ++t)
    for (int i = 0; i < 3; ++i)
      CHECK(std::abs(short_run.f[t][i].value - quad.f[t][i].value) <= short_run.f[t][i].error + quad.f[t][i].error);
  // An independent route: antithetic Monte Carlo particles (8 replicas of 2^18).
  limits::Mup1Options mc;
  mc.max_quadrature_dim = 0;
  mc.particles = 1 << 18;
  auto carlo = limits::mup1_limit(act, 2.0, data.X, data.y, T, mc);
  double moved = 0;
  for (int t = 1; t <= T; ++t)
    for (int i = 0; i < 3; ++i) {
      CAPTURE(t);
      CAPTURE(i);
      CHECK(std::abs(quad.f[t][i].value - carlo.f[t][i].value) < 5 * carlo.f[t][i].error);
      moved = std::max(moved, std::abs(quad.f[t][i].value));
    }
  CHECK(moved > 0.3);
}
#endif

TEST_CASE("quadrature options: a fixed order runs exactly k and 3k/2; a node budget stops early and says so") {
  Data data(3, 2);
  const auto act = call(Function::tanh, argument(0));
  limits::Mup1Options fixed;
  fixed.order = 20;
  auto a = limits::mup1_limit(act, 0.5, data.X, data.y, 2, fixed);
  CHECK(a.coarse_order == 20);
  CHECK(a.order == 30);
  CHECK(a.nodes > 0);
  CHECK(a.nodes < 30 * 30 * 30);  // the cutoff dropped the far corners
  limits::Mup1Options small;  // the first pair of spacings (1/2, 1/3) always runs
  small.max_nodes = 1000;
  auto b = limits::mup1_limit(act, 0.5, data.X, data.y, 2, small);
  CHECK_FALSE(b.target_met);
  CHECK(b.max_error > small.target_error);
  CHECK((b.spacing == doctest::Approx(1.0 / 3) || b.v_spacing == doctest::Approx(2.0 / 3)));
  limits::Mup1Options bad;
  bad.order = 400;
  CHECK_THROWS_AS(limits::mup1_limit(act, 0.5, data.X, data.y, 2, bad), std::invalid_argument);
  bad = {};
  bad.target_error = 0;
  CHECK_THROWS_AS(limits::mup1_limit(act, 0.5, data.X, data.y, 2, bad), std::invalid_argument);
  bad = {};
  bad.weight_cutoff = 1e-3;
  CHECK_THROWS_AS(limits::mup1_limit(act, 0.5, data.X, data.y, 2, bad), std::invalid_argument);
}

TEST_CASE("finite width n = 4096 agrees with the limit within 5 standard errors at every input") {
  Data data(4, 2);
  const auto act = call(Function::tanh, argument(0));
  auto lim = limits::mup1_limit(act, 0.5, data.X, data.y, 3);
  limits::MlpTraining spec;
  spec.abc = preset("mup", 1);
  spec.activation = act;
  spec.lr = 0.5;
  spec.inputs = data.X;
  spec.targets = data.y;
  spec.steps = 3;
  std::vector<std::vector<double>> per_input(4);
  for (std::uint64_t s = 0; s < 12; ++s) {
    auto tr = limits::train_mlp(spec, 4096, s);
    for (int i = 0; i < 4; ++i) per_input[i].push_back(tr.f_all[3][i]);
  }
  for (int i = 0; i < 4; ++i) {
    auto e = limits::mean_with_error(per_input[i], limits::Route::finite_width);
    CHECK(std::abs(e.value - lim.f[3][i].value) < 5 * e.error);
  }
}

TEST_CASE("TP4 Eq. 5 at finite width: mfp and muP train identically (same seeds)") {
  Data data(4, 2);
  limits::MlpTraining a;
  a.abc = preset("mup", 1);
  a.activation = call(Function::tanh, argument(0));
  a.inputs = data.X;
  a.targets = data.y;
  a.steps = 3;
  limits::MlpTraining b = a;
  b.abc = preset("mfp", 1);
  auto ta = limits::train_mlp(a, 512, 3), tb = limits::train_mlp(b, 512, 3);
  for (int t = 0; t <= 3; ++t)
    for (int i = 0; i < 4; ++i) CHECK(ta.f_all[t][i] == doctest::Approx(tb.f_all[t][i]).epsilon(1e-9));
}

#include "limits/linear1_exact.h"

TEST_CASE("linear network: exact rational limit, its float particle counterpart, and finite width") {
  // rational data: xi = (1, 0), (1/2, 1/2); y = (1, -1); lr = 1/2
  std::vector<std::vector<Rational>> xs{{Rational(1), Rational(0)}, {Rational(1, 2), Rational(1, 2)}};
  std::vector<Rational> ys{Rational(1), Rational(-1)};
  auto exact = limits::linear1_exact(xs, ys, Rational(1, 2), 3);
  // step 1 by hand: f_0 = 0, chi = (-1/2, 1/2), g = (-1/4, 1/4); u and v both move, so
  // S_uv = (M M^T)_uv = -2 lr g = (1/4, -1/4) and f_1 = (1/4, 0)
  CHECK(exact[1][0] == Rational(1, 4));
  CHECK(exact[1][1] == Rational(0));
  Eigen::MatrixXd X(2, 2);
  X << 1, 0, 0.5, 0.5;
  Eigen::VectorXd y(2);
  y << 1, -1;
  auto particles = limits::mup1_limit(argument(0), 0.5, X, y, 3);
  for (int t = 0; t <= 3; ++t)
    for (int i = 0; i < 2; ++i) CHECK(particles.f[t][i].value == doctest::Approx(static_cast<double>(exact[t][i])).epsilon(1e-13));
}

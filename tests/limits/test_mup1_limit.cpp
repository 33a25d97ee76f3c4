// The one-hidden-layer µP limit (TP4 Thm 6.1): exact for a linear network against an independent moment
// recursion, quadrature vs Monte Carlo, limit vs finite width within standard errors, and finite-width
// training invariant under TP4 Eq. 5 (mfp trains exactly like µP).
#include <doctest/doctest.h>

#include <cmath>

#include "limits/mlp_train.h"
#include "limits/mup1_limit.h"
#include "limits/statistics.h"

using namespace tp;

namespace {

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
  auto quad = limits::mup1_limit(act, 0.5, data.X, data.y, 3);
  limits::Mup1Options mc;
  mc.max_quadrature_dim = 0;
  mc.particles = 1 << 15;
  auto carlo = limits::mup1_limit(act, 0.5, data.X, data.y, 3, mc);
  CHECK(quad.route == limits::Route::quadrature);
  CHECK(carlo.route == limits::Route::monte_carlo);
  for (int i = 0; i < 4; ++i) {
    CHECK(quad.f[3][i].error < 1e-5);
    CHECK(std::abs(quad.f[3][i].value - carlo.f[3][i].value) < 5 * carlo.f[3][i].error);
  }
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

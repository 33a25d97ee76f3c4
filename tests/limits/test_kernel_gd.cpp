// NTP training converges to kernel gradient descent with the NTK of limits/mlp_kernel.h (TP4 Cor. 3.9):
// finite-width means of f_t (the unrolled program on the finite-width executor) against kernel GD, and the
// route's applicability (Eq. 5 equivalents accepted, µP refused with the reason).
#include <doctest/doctest.h>

#include <cmath>

#include "limits/finite.h"
#include "limits/kernel_gd.h"
#include "limits/statistics.h"
#include "tp/unroll.h"

using namespace tp;

namespace {

NetworkSpec ntp_spec(ExprPtr act) {
  NetworkSpec s;
  s.depth = 2;
  s.input_dim = 2;
  s.activation = std::move(act);
  s.abc = preset("ntp", 2);
  s.lr = 1.0;
  s.steps = 3;
  s.train_x.resize(3, 2);
  s.train_x << 1, 0.5, -0.5, 1, 0.3, -1;
  s.train_y.resize(3, 1);
  s.train_y << 1, -1, 0.5;
  s.eval_x.resize(1, 2);
  s.eval_x << 0.2, 0.9;
  return s;
}

}  // namespace

TEST_CASE("kernel GD route: NTP and its Eq. 5 equivalents; µP refused as feature learning") {
  auto s = ntp_spec(call(Function::relu, argument(0)));
  CHECK(limits::kernel_gd_unavailable(s).empty());
  s.abc = shift(s.abc, Rational(1, 3));
  CHECK(limits::kernel_gd_unavailable(s).empty());
  s.abc = preset("mup", 2);
  CHECK(limits::kernel_gd_unavailable(s).find("feature learning regime") != std::string::npos);
  CHECK_THROWS_AS(limits::kernel_gd_limit(s), std::invalid_argument);
}

TEST_CASE("NTP relu: finite-width means of f_t converge to kernel gradient descent with the NTK") {
  const auto s = ntp_spec(call(Function::relu, argument(0)));
  const auto limit = limits::kernel_gd_limit(s);
  const UnrolledProgram up = unroll(s);
  limits::FiniteOptions fo;
  fo.width = 1024;
  fo.seeds.clear();
  for (std::uint64_t k = 0; k < 40; ++k) fo.seeds.push_back(k);
  const auto fr = limits::run_finite(up.program, fo);
  int checked = 0;
  for (std::size_t o = 0; o < up.outputs.size(); ++o) {
    const auto& u = up.outputs[o];
    const std::size_t p = flat_f_index(u, s);
    const limits::Estimate& lim = limit.f[static_cast<std::size_t>(u.step)][p];
    const limits::Estimate& fin = fr.summary[o];
    CAPTURE(fr.names[o]);
    CAPTURE(lim.value);
    CAPTURE(fin.value);
    CAPTURE(fin.error);
    CHECK(std::abs(lim.value - fin.value) < 4 * fin.error + lim.error + 0.02);
    ++checked;
  }
  CHECK(checked == 4 * 4);
  // Training moved f at the training points (the test is not comparing zeros).
  CHECK(std::abs(limit.f[3][0].value) > 0.3);
}

TEST_CASE("NTP relu with biases: finite width approaches kernel GD (biases in K and Θ)") {
  auto s = ntp_spec(call(Function::relu, argument(0)));
  s.biases = true;
  s.lr = 0.3;
  const auto limit = limits::kernel_gd_limit(s);
  const auto kern = limits::network_kernels(s);
  const UnrolledProgram up = unroll(s);
  limits::FiniteOptions fo;
  fo.width = 1024;
  fo.seeds.clear();
  for (std::uint64_t k = 0; k < 32; ++k) fo.seeds.push_back(k);
  const auto fr = limits::run_finite(up.program, fo);
  // f_t = A_t f_0 + b_t in the limit (mse, full batch): A_{t+1} = (I − η/m Θ[:, train] S) A_t. Subtracting
  // A_t f_0 per seed removes the f_0 Gaussian process from the comparison (a control variate), so the mean of
  // f_t − A_t f_0 must match kernel GD from f_0 = 0 to the finite-width fluctuation only.
  const Eigen::Index P = kern.ntk.rows(), m = s.train_x.rows();
  Eigen::MatrixXd step = Eigen::MatrixXd::Identity(P, P);
  step.leftCols(m) -= (s.lr / static_cast<double>(m)) * kern.ntk.leftCols(m);
  std::vector<Eigen::VectorXd> f(static_cast<std::size_t>(s.steps) + 1);
  double worst = 0, moved = 0;
  for (int t = 0; t <= s.steps; ++t) {
    Eigen::MatrixXd A = Eigen::MatrixXd::Identity(P, P);
    for (int q = 0; q < t; ++q) A = step * A;
    for (Eigen::Index p = 0; p < P; ++p) {
      std::vector<double> g;
      for (std::size_t k = 0; k < fo.seeds.size(); ++k) {
        auto value = [&](int tt, Eigen::Index pp) {
          const std::string name = pp < m ? f_output_name(tt, false, static_cast<int>(pp), 0, 1)
                                          : f_output_name(tt, true, static_cast<int>(pp - m), 0, 1);
          std::size_t col = 0;
          while (fr.names[col] != name) ++col;
          return fr.per_seed[k].values[col];
        };
        double af0 = 0;
        for (Eigen::Index r = 0; r < P; ++r) af0 += A(p, r) * value(0, r);
        g.push_back(value(t, p) - af0);
      }
      const auto e = limits::mean_with_error(g, limits::Route::finite_width);
      const double lim = limit.f[static_cast<std::size_t>(t)][static_cast<std::size_t>(p)].value;
      CAPTURE(t);
      CAPTURE(p);
      CAPTURE(lim);
      CAPTURE(e.value);
      CAPTURE(e.error);
      // The finite-width kernel differs from Θ by O(n^{-1/2}); allow 2% relative on top of 4 s.e.
      CHECK(std::abs(e.value - lim) <= 4 * e.error + 0.02 * std::abs(lim) + 1e-12);
      worst = std::max(worst, std::abs(e.value - lim));
      moved = std::max(moved, std::abs(lim));
    }
  }
  CHECK(moved > 0.3);  // training moved f
  // The biases matter: the kernel without them predicts a different trajectory.
  auto nb = s;
  nb.biases = false;
  const auto wrong = limits::kernel_gd_limit(nb);
  double diff = 0;
  for (std::size_t t = 0; t < wrong.f.size(); ++t)
    for (std::size_t p = 0; p < wrong.f[t].size(); ++p) diff = std::max(diff, std::abs(wrong.f[t][p].value - limit.f[t][p].value));
  CHECK(diff > 10 * worst);
}

TEST_CASE("cross-entropy with two classes: the unrolled program and kernel GD (Monte Carlo over f_0) agree") {
  // Two independent codings of the softmax gradient: expressions in the unrolled program (tp/unroll.cpp) and
  // plain C++ in limits/kernel_gd.cpp.
  auto s = ntp_spec(call(Function::relu, argument(0)));
  s.output_dim = 2;
  s.loss = LossKind::cross_entropy;
  s.train_y.resize(3, 1);
  s.train_y << 0, 1, 1;  // class indices
  s.lr = 2.0;
  s.steps = 2;
  limits::KernelGdOptions ko;
  ko.f0_samples = 20000;
  const auto limit = limits::kernel_gd_limit(s, ko);
  const UnrolledProgram up = unroll(s);
  limits::FiniteOptions fo;
  fo.width = 1024;
  fo.seeds.clear();
  for (std::uint64_t k = 0; k < 64; ++k) fo.seeds.push_back(k);
  const auto fr = limits::run_finite(up.program, fo);
  double moved = 0;
  for (std::size_t o = 0; o < up.outputs.size(); ++o) {
    const auto& u = up.outputs[o];
    const auto& l = limit.f[static_cast<std::size_t>(u.step)][flat_f_index(u, s)];
    CAPTURE(fr.names[o]);
    CAPTURE(l.value);
    CAPTURE(fr.summary[o].value);
    CAPTURE(fr.summary[o].error);
    CHECK(std::abs(l.value - fr.summary[o].value) <= 4 * std::hypot(l.error, fr.summary[o].error) + 0.02);
    if (u.step == 2) moved = std::max(moved, std::abs(l.value));
  }
  CHECK(moved > 0.3);  // the logits moved well beyond the noise
}

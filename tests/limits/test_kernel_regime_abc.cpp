// The kernel regime of every kernel-regime parametrization (issue #13 item 7, TP4 App. H.6): SP with c = 1
// trains as kernel gradient descent with the NTK restricted to the layers whose updates move f by Θ(1)
// (limits/kernel_gd.h). Finite widths (the unrolled program on the finite-width executor) converge to it at
// rate n^{-1/2}; the full NTK (every layer) is rejected by the same data.
#include <doctest/doctest.h>

#include <cmath>

#include "limits/finite.h"
#include "limits/kernel_gd.h"
#include "limits/mlp_kernel.h"
#include "limits/statistics.h"
#include "tp/unroll.h"

using namespace tp;

namespace {

NetworkSpec sp_c1_spec() {
  NetworkSpec s;
  s.depth = 2;
  s.input_dim = 2;
  s.activation = call(Function::relu, argument(0));
  s.abc = preset("sp", 2);
  s.abc.c = Rational(1);
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

// Kernel GD for mse, full batch, is affine in f_0: f_t = A_t f_0 + b_t with A_{t+1} = (I − η/m K[:, train]) A_t.
std::vector<Eigen::MatrixXd> propagators(const NetworkSpec& s, const Eigen::MatrixXd& kernel) {
  const Eigen::Index P = kernel.rows(), m = s.train_x.rows();
  Eigen::MatrixXd step = Eigen::MatrixXd::Identity(P, P);
  step.leftCols(m) -= (s.lr / static_cast<double>(m)) * kernel.leftCols(m);
  std::vector<Eigen::MatrixXd> a{Eigen::MatrixXd::Identity(P, P)};
  for (int t = 0; t < s.steps; ++t) a.push_back(step * a.back());
  return a;
}

// Per (t, p): the mean over seeds of f_t − A_t f_0 at this width (a control variate: it removes the f_0
// Gaussian process, whose draws dominate the spread of f_t), with its standard error.
std::vector<std::vector<limits::Estimate>> controlled_means(const NetworkSpec& s, const Eigen::MatrixXd& kernel,
                                                            std::size_t width, int seeds) {
  const UnrolledProgram up = unroll(s);
  limits::FiniteOptions fo;
  fo.width = width;
  fo.seeds.clear();
  for (int k = 0; k < seeds; ++k) fo.seeds.push_back(static_cast<std::uint64_t>(1000 * width + k));
  const auto fr = limits::run_finite(up.program, fo);
  const Eigen::Index P = kernel.rows(), m = s.train_x.rows();
  const auto a = propagators(s, kernel);
  std::vector<std::vector<std::size_t>> col(static_cast<std::size_t>(s.steps) + 1, std::vector<std::size_t>(P));
  for (int t = 0; t <= s.steps; ++t)
    for (Eigen::Index p = 0; p < P; ++p) {
      const std::string name = p < m ? f_output_name(t, false, static_cast<int>(p), 0, 1)
                                     : f_output_name(t, true, static_cast<int>(p - m), 0, 1);
      std::size_t c = 0;
      while (fr.names.at(c) != name) ++c;
      col[static_cast<std::size_t>(t)][static_cast<std::size_t>(p)] = c;
    }
  std::vector<std::vector<limits::Estimate>> out(static_cast<std::size_t>(s.steps) + 1);
  for (int t = 0; t <= s.steps; ++t)
    for (Eigen::Index p = 0; p < P; ++p) {
      std::vector<double> g;
      for (const auto& seed : fr.per_seed) {
        double af0 = 0;
        for (Eigen::Index q = 0; q < P; ++q) af0 += a[static_cast<std::size_t>(t)](p, q) * seed.values[col[0][q]];
        g.push_back(seed.values[col[static_cast<std::size_t>(t)][static_cast<std::size_t>(p)]] - af0);
      }
      out[static_cast<std::size_t>(t)].push_back(limits::mean_with_error(g, limits::Route::finite_width));
    }
  return out;
}

}  // namespace

TEST_CASE("kernel GD route: every stable kernel-regime SGD parametrization, per-layer c_l included") {
  auto s = sp_c1_spec();
  CHECK(limits::kernel_gd_unavailable(s).empty());  // SP with c = 1: TP4's standard kernel-regime example
  const auto k = limits::network_kernels(s);
  CHECK(k.in_kernel == std::vector<bool>{false, true, true});  // r_1 = 3/2: layer 1's updates vanish
  CHECK(k.f0_gp);
  CHECK(limits::kernel_layers_text(k).find("layer 1 move f by o(1)") != std::string::npos);
  // Per-layer learning rates: raising layer 1's rate to c_1 = 0 brings it back (r_1 = 1/2 = r).
  s.abc.c_l = {Rational(0), Rational(1), Rational(1)};
  CHECK(limits::kernel_gd_unavailable(s).empty());
  CHECK(limits::network_kernels(s).in_kernel == std::vector<bool>{true, true, true});
  // Lowering the readout's rate (u_3 = 2) drops the readout, f still moves through layers 1 and 2.
  s.abc.c_l = {Rational(0), Rational(1), Rational(2)};
  CHECK(limits::network_kernels(s).in_kernel == std::vector<bool>{true, true, false});
  // A readout initialized at n^{-1} (f_0 → 0, NNGP-type limit: only the readout trains).
  s.abc = preset("sp", 2);
  s.abc.b.back() = Rational(1);
  s.abc.c = Rational(1);
  REQUIRE(limits::kernel_gd_unavailable(s).empty());
  const auto k2 = limits::network_kernels(s);
  CHECK(k2.in_kernel == std::vector<bool>{false, false, true});
  CHECK_FALSE(k2.f0_gp);
  // Refused: feature learning and unstable parametrizations.
  s.abc = preset("mup", 2);
  CHECK(limits::kernel_gd_unavailable(s).find("feature learning") != std::string::npos);
  s.abc = preset("sp", 2);  // c = 0: unstable
  CHECK(limits::kernel_gd_unavailable(s).find("unstable") != std::string::npos);
  CHECK_THROWS_AS(limits::kernel_gd_limit(s), std::invalid_argument);
}

TEST_CASE("NTK layer multipliers: dropping a layer removes exactly its term of the NTK sum") {
  // Θ^{L+1} = Σ_l T_l, so the kernels with layer sets S and its complement add up to the full NTK.
  const auto spec = limits::make_mlp_kernel_spec(call(Function::tanh, argument(0)), 2, {2.0, 1.5, 1.0}, {0.1, 0.2, 0.3});
  Eigen::MatrixXd x(3, 2);
  x << 1, 0.5, -0.5, 1, 0.3, -1;
  const auto full = limits::compute_mlp_kernel(spec, x);
  auto a = spec, b = spec;
  a.ntk_weight_scale = {0, 1, 0};
  a.ntk_bias_scale = {1, 0, 1};
  b.ntk_weight_scale = {1, 0, 1};
  b.ntk_bias_scale = {0, 1, 0};
  const auto ka = limits::compute_mlp_kernel(a, x), kb = limits::compute_mlp_kernel(b, x);
  const double err = full.ntk_error.back() + ka.ntk_error.back() + kb.ntk_error.back();
  CHECK((ka.output_ntk() + kb.output_ntk() - full.output_ntk()).cwiseAbs().maxCoeff() <= err);
  CHECK((ka.output_ntk() - full.output_ntk()).cwiseAbs().maxCoeff() > 0.1);
  CHECK((ka.output_nngp() - full.output_nngp()).cwiseAbs().maxCoeff() == 0.0);  // K is untouched
}

TEST_CASE("SP with c = 1: finite widths converge to kernel GD without layer 1 at rate n^(-1/2)") {
  auto s = sp_c1_spec();
  s.biases = true;  // hidden biases have layer 1's scaling: they drop out with it
  s.lr = 0.3;
  const auto limit = limits::kernel_gd_limit(s);
  const auto kern = limits::network_kernels(s);
  // The full NTK (layer 1 and the hidden biases kept, as for NTP) predicts a different trajectory.
  auto full_spec = s;
  full_spec.abc.c_l = {Rational(0), Rational(1), Rational(1)};
  const auto full = limits::kernel_gd_limit(full_spec);
  const std::vector<std::size_t> widths{128, 512, 2048};
  const std::vector<int> seeds{96, 48, 24};
  // per width: the RMS over seeds, steps t ≥ 1 and points of (f_t − A_t f_0) − limit, which falls like
  // n^{-1/2} when the limit is right (fluctuation and bias alike), and the largest |mean − limit|
  std::vector<double> rms, dev;
  double full_gap = 0, full_se = 0, moved = 0;
  for (std::size_t wi = 0; wi < widths.size(); ++wi) {
    const auto fin = controlled_means(s, kern.ntk, widths[wi], seeds[wi]);
    double d = 0, ms = 0;
    int count = 0;
    for (std::size_t t = 1; t < fin.size(); ++t)
      for (std::size_t p = 0; p < fin[t].size(); ++p) {
        const double lim = limit.f[t][p].value, diff = fin[t][p].value - lim;
        d = std::max(d, std::abs(diff));
        ms += fin[t][p].error * fin[t][p].error * (seeds[wi] - 1) + diff * diff;
        ++count;
        moved = std::max(moved, std::abs(lim));
        if (wi + 1 == widths.size()) {
          // the direct check at the largest width: within 4 standard errors plus the n^{-1/2} bias bound
          // extrapolated from the smallest width
          CAPTURE(t);
          CAPTURE(p);
          CAPTURE(lim);
          CAPTURE(fin[t][p].value);
          CAPTURE(fin[t][p].error);
          CHECK(std::abs(diff) <= 4 * fin[t][p].error + dev[0] / 4 + limit.f[t][p].error);
          const double gap = std::abs(full.f[t][p].value - fin[t][p].value);
          if (gap > full_gap) {
            full_gap = gap;
            full_se = fin[t][p].error;
          }
        }
      }
    dev.push_back(d);
    rms.push_back(std::sqrt(ms / count));
    MESSAGE("n = " << widths[wi] << ": RMS of (f_t - A_t f_0) - limit = " << rms.back()
                   << ", largest |mean - limit| = " << d);
  }
  MESSAGE("full NTK at n = 2048: largest |mean - full-NTK GD| = " << full_gap << " (s.e. " << full_se << ")");
  MESSAGE("largest |f_t| of the limit: " << moved);
  CHECK(moved > 0.1);  // training moved f well beyond the deviations
  // The rate: 16× the width, 4× closer (n^{-1/2}); the band allows for the sampling error of the RMS (measured
  // ratio 3.8) and rejects a wrong limit, whose RMS levels off at the gap (ratio near 1).
  CHECK(rms.front() / rms.back() > 2.5);
  CHECK(rms.front() / rms.back() < 8.0);
  // The full NTK is rejected: the finite widths sit many standard errors away from it.
  CHECK(full_gap > 20 * full_se);
  CHECK(full_gap > 5 * rms.back());
}

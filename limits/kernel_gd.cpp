// See kernel_gd.h.
#include "limits/kernel_gd.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <Eigen/Eigenvalues>

#include "limits/mlp_kernel.h"
#include "limits/rng.h"
#include "limits/statistics.h"

namespace tp::limits {

std::string kernel_gd_unavailable(const NetworkSpec& s) {
  if (s.abc.optimizer != Optimizer::sgd) return "the kernel-gradient-descent route is for SGD";
  if (s.weight_decay != 0)
    return "the kernel-gradient-descent route does not model weight decay (it shrinks the initial weights, so f "
           "does not follow kernel gradient descent alone)";
  const MlpPhase phase = classify_mlp(s.abc);
  if (!phase.stable) return "the parametrization is unstable (tpc phase lists why), so there is no limit";
  if (phase.regime != Regime::kernel) {
    std::string regime(regime_name(phase.regime));
    std::replace(regime.begin(), regime.end(), '_', ' ');
    return "the kernel-gradient-descent route is for the kernel regime (r > 0); this parametrization is in the " +
           regime + " regime (r = " + to_string(phase.r) + ")";
  }
  return "";
}

namespace {

// One run of kernel GD from the given f_0 (rows: points, cols: outputs); returns f_t for t = 0..T.
std::vector<Eigen::MatrixXd> run_gd(const NetworkSpec& s, const Eigen::MatrixXd& theta, Eigen::MatrixXd f) {
  const int m = static_cast<int>(s.train_x.rows());
  const int d_o = s.output_dim;
  const bool class_index = s.loss == LossKind::cross_entropy && s.train_y.cols() == 1 && d_o > 1;
  std::vector<Eigen::MatrixXd> out{f};
  for (int t = 0; t < s.steps; ++t) {
    std::vector<int> batch;
    if (s.batch == BatchMode::full)
      for (int i = 0; i < m; ++i) batch.push_back(i);
    else if (s.batch == BatchMode::per_sample)
      batch.push_back(t % m);
    else
      for (int q = 0; q < s.batch_size; ++q) batch.push_back((t * s.batch_size + q) % m);
    const double inv_b = 1.0 / static_cast<double>(batch.size());
    Eigen::MatrixXd chi = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(batch.size()), d_o);
    for (std::size_t q = 0; q < batch.size(); ++q) {
      const int i = batch[q];
      for (int k = 0; k < d_o; ++k) {
        const double y = class_index ? (s.train_y(i, 0) == k ? 1.0 : 0.0) : s.train_y(i, k);
        double g;
        if (s.loss == LossKind::mse) {
          g = f(i, k) - y;
        } else if (d_o == 1) {
          g = 1.0 / (1.0 + std::exp(-f(i, 0))) - y;
        } else {
          double denom = 0;
          for (int j = 0; j < d_o; ++j) denom += std::exp(f(i, j) - f(i, k));
          g = 1.0 / denom - y;
        }
        chi(static_cast<Eigen::Index>(q), k) = inv_b * g;
      }
    }
    Eigen::MatrixXd step = Eigen::MatrixXd::Zero(f.rows(), d_o);
    for (std::size_t q = 0; q < batch.size(); ++q)
      step += theta.col(batch[q]) * chi.row(static_cast<Eigen::Index>(q));
    f -= s.lr * step;
    out.push_back(f);
  }
  return out;
}

}  // namespace

NetworkKernels network_kernels(const NetworkSpec& s) {
  if (auto why = network_problem(s); !why.empty()) throw std::invalid_argument(why);
  if (auto why = kernel_gd_unavailable(s); !why.empty()) throw std::invalid_argument(why);
  const int m = static_cast<int>(s.train_x.rows()), k_eval = static_cast<int>(s.eval_x.rows());
  Eigen::MatrixXd points(m + k_eval, s.input_dim);
  if (m > 0) points.topRows(m) = s.train_x;
  if (k_eval > 0) points.bottomRows(k_eval) = s.eval_x;
  // Which layers' updates move f by Θ(1) (see the header): s + r_l = 1 for l ≤ L, u_{L+1} = 1 for the readout.
  const MlpPhase phase = classify_mlp(s.abc);
  const Rational out_size = s.abc.a.back() + s.abc.b.back();
  NetworkKernels out;
  for (int l = 0; l < s.depth; ++l) out.in_kernel.push_back(out_size + phase.r_l[static_cast<std::size_t>(l)] == 1);
  out.in_kernel.push_back(phase.u_l.back() == 1);
  out.f0_gp = out_size == Rational(1, 2);
  std::vector<double> sw2(static_cast<std::size_t>(s.depth) + 1, 1.0);
  sw2[0] = s.input_dim;
  // Biases (tp/unroll.h): hidden biases have N(0, 1) coordinates and layer 1's scaling (σ_b² = 1 in K of every
  // hidden layer, in the kernel iff layer 1 is); the readout bias starts at 0 and trains at η, adding 1 to the
  // kernel but nothing to K.
  std::vector<double> sb2(static_cast<std::size_t>(s.depth) + 1, s.biases ? 1.0 : 0.0);
  sb2.back() = 0.0;
  MlpKernelSpec ks = make_mlp_kernel_spec(s.activation, s.depth, sw2, sb2);
  for (int l = 0; l <= s.depth; ++l) {
    ks.ntk_weight_scale.push_back(out.in_kernel[static_cast<std::size_t>(l)] ? 1.0 : 0.0);
    ks.ntk_bias_scale.push_back(out.in_kernel[0] ? 1.0 : 0.0);
  }
  const MlpKernelResult kr = compute_mlp_kernel(ks, points);
  out.ntk = kr.output_ntk();
  if (s.biases) out.ntk.array() += 1.0;
  out.nngp = kr.output_nngp();
  out.ntk_error = kr.ntk_error.back();
  out.nngp_error = kr.nngp_error.back();
  out.route = kr.route;
  return out;
}

std::string kernel_layers_text(const NetworkKernels& k) {
  const int layers = static_cast<int>(k.in_kernel.size());
  std::string in, out;
  for (int l = 1; l <= layers; ++l) {
    std::string& list = k.in_kernel[static_cast<std::size_t>(l) - 1] ? in : out;
    list += (list.empty() ? "" : ", ") + std::to_string(l);
  }
  if (out.empty()) return "the NTK (every layer)";
  return "the NTK of layers " + in + " of " + std::to_string(layers) + " (the updates of layer" +
         (out.find(',') == std::string::npos ? " " : "s ") + out +
         " move f by o(1) and drop out: TP4 App. H.6)";
}

KernelGdResult kernel_gd_limit(const NetworkSpec& s, const KernelGdOptions& options) {
  if (auto why = network_problem(s); !why.empty()) throw std::invalid_argument(why);
  if (auto why = kernel_gd_unavailable(s); !why.empty()) throw std::invalid_argument(why);
  const NetworkKernels kern = network_kernels(s);
  const Eigen::MatrixXd& theta = kern.ntk;
  const Eigen::MatrixXd& nngp = kern.nngp;
  const double theta_err = kern.ntk_error;
  const Eigen::Index P = theta.rows();
  const int d_o = s.output_dim;

  KernelGdResult r;
  r.kernel_route = kern.route == Route::closed_form ? "closed_form" : "quadrature";
  r.kernel_layers = kernel_layers_text(kern);
  r.f.assign(static_cast<std::size_t>(s.steps) + 1, std::vector<Estimate>(static_cast<std::size_t>(P * d_o)));
  std::vector<std::vector<Eigen::MatrixXd>> runs;  // runs[sample][t]
  std::vector<std::vector<Eigen::MatrixXd>> shifted;  // kernel moved by ± its error (mse, or f_0 = 0)
  const bool linear = s.loss == LossKind::mse || !kern.f0_gp;
  const std::size_t stages = 1 + (linear ? 3 : static_cast<std::size_t>(std::max(options.f0_samples, 0LL)));
  std::size_t done = 1;
  auto report = [&](bool force) {
    if (options.progress && (force || done % 64 == 0 || done == stages)) options.progress(done, stages);
  };
  report(true);
  if (linear) {
    runs.push_back(run_gd(s, theta, Eigen::MatrixXd::Zero(P, d_o)));
    ++done;
    for (double sgn : {1.0, -1.0}) {
      shifted.push_back(run_gd(s, theta + sgn * theta_err * Eigen::MatrixXd::Ones(P, P), Eigen::MatrixXd::Zero(P, d_o)));
      ++done;
      report(true);
    }
  } else {
    // f_0 ~ N(0, K^{L+1}) independently per output coordinate.
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(nngp);
    const Eigen::MatrixXd factor = es.eigenvectors() * es.eigenvalues().cwiseMax(0.0).cwiseSqrt().asDiagonal();
    Rng rng(options.seed, 0);
    Eigen::MatrixXd z(P, d_o);
    for (long long q = 0; q < options.f0_samples; ++q) {
      rng.fill_normal(z.data(), static_cast<std::size_t>(z.size()));
      runs.push_back(run_gd(s, theta, factor * z));
      ++done;
      report(false);
    }
  }
  for (int t = 0; t <= s.steps; ++t)
    for (Eigen::Index p = 0; p < P; ++p)
      for (int k = 0; k < d_o; ++k) {
        Estimate e;
        if (linear) {
          e.value = runs[0][t](p, k);
          e.error = std::max(std::abs(shifted[0][t](p, k) - e.value), std::abs(shifted[1][t](p, k) - e.value));
          e.route = kern.route;
        } else {
          std::vector<double> xs;
          for (const auto& run : runs) xs.push_back(run[t](p, k));
          e = mean_with_error(xs, Route::monte_carlo);
        }
        r.f[t][static_cast<std::size_t>(p * d_o + k)] = e;
      }
  return r;
}

}  // namespace tp::limits

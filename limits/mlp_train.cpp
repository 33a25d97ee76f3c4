// See mlp_train.h.
#include "limits/mlp_train.h"

#include <cmath>

#include "limits/memory_budget.h"
#include "limits/rng.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"

namespace tp::limits {

namespace {

double to_double(const Rational& r) { return static_cast<double>(r); }

Eigen::MatrixXd gaussian(Eigen::Index rows, Eigen::Index cols, double sd, std::uint64_t seed, std::uint64_t stream) {
  Eigen::MatrixXd m(rows, cols);
  Rng(seed, stream).fill_normal(m.data(), static_cast<std::size_t>(rows * cols));
  return m * sd;
}

double rms(const Eigen::VectorXd& v) { return std::sqrt(v.squaredNorm() / static_cast<double>(v.size())); }

}  // namespace

void default_data(int m, int d, Eigen::MatrixXd& inputs, Eigen::VectorXd& targets) {
  inputs = gaussian(m, d, 1.0, 0x5eed, 0xda7a);
  targets = inputs.rowwise().sum().array().sin().matrix();
}

MlpTrace train_mlp(const MlpTraining& spec, std::size_t width, std::uint64_t seed, double memory_budget_bytes) {
  const int L = spec.abc.depth();
  const auto n = static_cast<Eigen::Index>(width);
  const Eigen::Index m = spec.inputs.rows(), d = spec.inputs.cols();
  // weights and their gradients: 2 (L − 1) n² for the hidden n×n layers, plus vectors
  const double need = 8.0 * (2.0 * static_cast<double>(L - 1) * n * n + 2.0 * n * (d + 1 + 4 * m * (L + 1)));
  check_memory_budget({"training at width n = " + std::to_string(width), need, "the weights, their gradients and the hidden vectors",
                       "use smaller --widths, --threads 1, or raise --memory-budget"},
                      memory_budget_bytes);
  const double nd = static_cast<double>(n);
  std::vector<double> mult(L + 1), sd(L + 1);
  for (int l = 0; l <= L; ++l) {
    mult[l] = std::pow(nd, -to_double(spec.abc.a[l]));
    sd[l] = std::pow(nd, -to_double(spec.abc.b[l]));
  }
  const double step = spec.lr * std::pow(nd, -to_double(spec.abc.c));
  // 1. weights w^1 (n×d), w^l (n×n), w^{L+1} (1×n)
  std::vector<Eigen::MatrixXd> w(L + 1);
  w[0] = gaussian(n, d, sd[0], seed, 1);
  for (int l = 1; l < L; ++l) w[l] = gaussian(n, n, sd[l], seed, 1 + l);
  w[L] = gaussian(1, n, sd[L], seed, 1 + L);
  CompiledExpr phi(spec.activation, {true});
  CompiledExpr dphi(derivative(spec.activation, 0), {true});
  auto apply = [](const CompiledExpr& e, const Eigen::MatrixXd& x) {
    Eigen::ArrayXd flat = Eigen::Map<const Eigen::ArrayXd>(x.data(), x.size());
    ExprInput in;
    in.array = &flat;
    Eigen::ArrayXd y = e.eval({&in, 1}, flat.size());
    return Eigen::MatrixXd(Eigen::Map<Eigen::MatrixXd>(y.data(), x.rows(), x.cols()));
  };
  auto check = [&](const Eigen::MatrixXd& v, const std::string& what, int t) {
    if (!v.allFinite())
      throw NumericalError("training diverged: " + what + " became NaN or infinite at step " + std::to_string(t) +
                           " (width n = " + std::to_string(width) + ", seed " + std::to_string(seed) +
                           "); the parametrization is unstable or the learning rate too large");
  };
  MlpTrace trace;
  std::vector<Eigen::VectorXd> h0(L);
  double f0 = 0;
  const Eigen::MatrixXd X0 = spec.inputs.transpose();  // d × m
  for (int t = 0; t <= spec.steps; ++t) {
    // 2. forward the batch
    std::vector<Eigen::MatrixXd> H(L), Xs(L + 1);
    Xs[0] = X0;
    for (int l = 0; l < L; ++l) {
      H[l] = mult[l] * (w[l] * Xs[l]);
      check(H[l], "h^" + std::to_string(l + 1), t);
      Xs[l + 1] = apply(phi, H[l]);
      check(Xs[l + 1], "x^" + std::to_string(l + 1), t);
    }
    const Eigen::RowVectorXd f = mult[L] * (w[L] * Xs[L]);
    check(f, "f", t);
    trace.h_rms.emplace_back();
    trace.dh_rms.emplace_back();
    for (int l = 0; l < L; ++l) {
      const Eigen::VectorXd h = H[l].col(0);
      if (t == 0) h0[l] = h;
      trace.h_rms.back().push_back(rms(h));
      trace.dh_rms.back().push_back(rms(h - h0[l]));
    }
    if (t == 0) f0 = f(0);
    trace.f.push_back(f(0));
    trace.f_all.emplace_back(f.data(), f.data() + f.size());
    trace.df.push_back(f(0) - f0);
    const Eigen::RowVectorXd resid = f - spec.targets.transpose();
    trace.loss.push_back(0.5 * resid.squaredNorm() / static_cast<double>(m));
    if (t == spec.steps) break;
    // backward and update
    const Eigen::RowVectorXd gf = resid / static_cast<double>(m);
    Eigen::MatrixXd gx = mult[L] * (w[L].transpose() * gf);  // n × m
    std::vector<Eigen::MatrixXd> grads(L + 1);
    grads[L] = mult[L] * (gf * Xs[L].transpose());
    for (int l = L - 1; l >= 0; --l) {
      const Eigen::MatrixXd gh = gx.cwiseProduct(apply(dphi, H[l]));
      grads[l] = mult[l] * (gh * Xs[l].transpose());
      if (l > 0) gx = mult[l] * (w[l].transpose() * gh);
    }
    for (int l = 0; l <= L; ++l) {
      if (spec.weight_decay != 0) w[l] *= 1.0 - step * spec.weight_decay;  // decoupled: w ← w − η n^{-c}(∇ + λ w)
      w[l] -= step * grads[l];
      check(w[l], "the weights of layer " + std::to_string(l + 1), t + 1);
    }
  }
  return trace;
}

}  // namespace tp::limits

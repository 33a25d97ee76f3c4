// apps/maml/kernel_maml.h (TP4 Algorithm 4): the kernels against limits/mlp_kernel.h's recursions, the
// collapsed linear model against the stack, and kernel MAML's predictor against finite-width MAML of the
// networks whose NNGP / NTK the kernels are, as the width grows (the kernel regime).
#include <doctest/doctest.h>

#include <cmath>

#include "apps/maml/fomaml.h"
#include "apps/maml/kernel_maml.h"
#include "limits/mlp_kernel.h"
#include "limits/rng.h"
#include "tp/expr.h"

using namespace tp::maml;

TEST_CASE("the MAML kernels are limits/mlp_kernel.h's depth-1 NNGP and NTK (relu with bias, identity)") {
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(5, 7);
  x.col(3) = x.col(1);  // a repeated input (ρ = 1)
  for (KernelKind kind : {KernelKind::relu_nngp, KernelKind::relu_ntk, KernelKind::linear_nngp, KernelKind::linear_ntk}) {
    const bool relu = kind == KernelKind::relu_nngp || kind == KernelKind::relu_ntk;
    const KernelSpec spec{kind, 1.3, 0.7, 0.4};
    const auto phi = relu ? tp::call(tp::Function::relu, tp::argument(0)) : tp::argument(0);
    const auto ref_spec = tp::limits::make_mlp_kernel_spec(phi, 1, {1.3 * 1.3, 0.7 * 0.7}, {0.4 * 0.4, 0.0});
    const auto ref = tp::limits::compute_mlp_kernel(ref_spec, x.transpose());
    const bool ntk = kind == KernelKind::relu_ntk || kind == KernelKind::linear_ntk;
    const Eigen::MatrixXd expect = ntk ? ref.output_ntk() : ref.output_nngp();
    const Eigen::MatrixXd got = kernel_matrix(spec, x, x);
    CHECK((got - expect).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((kernel_matrix(spec, x.leftCols(2), x.rightCols(3)) - expect.block(0, 4, 2, 3)).cwiseAbs().maxCoeff() < 1e-12);
  }
}

TEST_CASE("the linear kernels' collapsed model equals the readout stack") {
  for (KernelKind kind : {KernelKind::linear_nngp, KernelKind::linear_ntk}) {
    const KernelSpec spec{kind, 0.8, 1.1, 0.5};
    KernelFunction f(spec, 6, 3);
    REQUIRE(f.collapsed());
    Eigen::MatrixXd xi = Eigen::MatrixXd::Random(6, 4), c = Eigen::MatrixXd::Random(3, 4);
    f.add(xi, {1, 2, 3, 1}, c);
    const Eigen::MatrixXd x = Eigen::MatrixXd::Random(6, 5);
    CHECK((f(x) - c * kernel_matrix(spec, xi, x)).norm() < 1e-13);
  }
}

TEST_CASE("the relu stack merges equal images and evaluates Σ_s c_s K(ξ_s, x)") {
  const KernelSpec spec{KernelKind::relu_ntk, 1.0, 1.0, 1.0};
  KernelFunction f(spec, 4, 2);
  const Eigen::MatrixXd xi = Eigen::MatrixXd::Random(4, 3), c = Eigen::MatrixXd::Random(2, 3);
  Eigen::MatrixXd twice(4, 4);
  twice << xi, xi.col(0);
  Eigen::MatrixXd c4(2, 4);
  c4 << c, c.col(0);
  f.add(twice, {7, 8, 9, 7}, c4);
  CHECK(f.stack_size() == 3);
  const Eigen::MatrixXd x = Eigen::MatrixXd::Random(4, 6);
  CHECK((f(x, 2) - c4 * kernel_matrix(spec, twice, x)).norm() < 1e-12);
  const auto st = f.state();
  KernelFunction g(spec, 4, 2);
  g.restore(st);
  CHECK((g(x) - f(x)).norm() == 0.0);
}

namespace {

/// A one-hidden-layer relu network in NTK parametrization, f(x) = σ_v/√n a relu(σ_u/√d W x + σ_b b), with
/// paired neurons (w, b, a) and (w, b, −a) so that f_0 = 0 exactly, as kernel MAML's empty stack.
/// readout_only: only a is trained and it starts at 0 (the NNGP regime).
struct ReluNet {
  Eigen::MatrixXd w, a;
  Eigen::VectorXd b;
  double su, sv, sb;
  bool readout_only;

  Eigen::MatrixXd pre(const Eigen::MatrixXd& x) const {
    Eigen::MatrixXd h = (su / std::sqrt(double(x.rows()))) * (w * x);
    h.colwise() += sb * b;
    return h;
  }
  Eigen::MatrixXd f(const Eigen::MatrixXd& x) const {
    return (sv / std::sqrt(double(w.rows()))) * (a * pre(x).cwiseMax(0.0));
  }
  /// SGD step on the mean cross-entropy of (x, y) with rate lr; returns nothing, updates in place.
  void grad(const Eigen::MatrixXd& x, const Eigen::MatrixXd& g, ReluNet& d) const {
    const double c = sv / std::sqrt(double(w.rows()));
    const Eigen::MatrixXd h = pre(x);
    d.a = c * g * h.cwiseMax(0.0).transpose();
    if (readout_only) {
      d.w.setZero(w.rows(), w.cols());
      d.b.setZero(b.size());
      return;
    }
    const Eigen::MatrixXd dh = (c * a.transpose() * g).cwiseProduct(h.unaryExpr([](double v) { return v > 0 ? 1.0 : 0.0; }));
    d.w = (su / std::sqrt(double(x.rows()))) * dh * x.transpose();
    d.b = sb * dh.rowwise().sum();
  }
  void axpy(double s, const ReluNet& d) {
    a += s * d.a;
    w += s * d.w;
    b += s * d.b;
  }
};

ReluNet make_relu_net(Eigen::Index n, Eigen::Index d, Eigen::Index d_out, const KernelSpec& spec, bool readout_only, std::uint64_t seed) {
  tp::limits::Rng rng(seed, 3);
  ReluNet net{Eigen::MatrixXd(n, d), Eigen::MatrixXd::Zero(d_out, n), Eigen::VectorXd(n), spec.sigma_u, spec.sigma_v, spec.sigma_b,
              readout_only};
  for (Eigen::Index i = 0; i < n / 2; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) net.w(i, j) = net.w(i + n / 2, j) = rng.normal();
    net.b(i) = net.b(i + n / 2) = rng.normal();
    if (!readout_only)
      for (Eigen::Index k = 0; k < d_out; ++k) {
        net.a(k, i) = rng.normal();
        net.a(k, i + n / 2) = -net.a(k, i);
      }
  }
  return net;
}

/// First-order MAML of the finite network (explicit copies per task), then adapted query logits.
std::vector<Eigen::MatrixXd> finite_maml(ReluNet net, const std::vector<std::vector<Task>>& batches,
                                         const std::vector<Task>& probes, const FomamlOptions& o) {
  auto adapt = [&](ReluNet p, const Task& t, int steps) {
    for (int k = 0; k < steps; ++k) {
      ReluNet d = p;
      p.grad(t.support, cross_entropy_gradient(p.f(t.support), t.support_labels), d);
      p.axpy(-o.inner_lr, d);
    }
    return p;
  };
  for (const auto& batch : batches) {
    ReluNet sum = net;
    sum.a.setZero();
    sum.w.setZero();
    sum.b.setZero();
    for (const auto& t : batch) {
      const ReluNet p = adapt(net, t, o.train_inner_steps);
      ReluNet d = p;
      p.grad(t.query, cross_entropy_gradient(p.f(t.query), t.query_labels), d);
      sum.axpy(1.0, d);
    }
    const double norm = std::sqrt(sum.a.squaredNorm() + sum.w.squaredNorm() + sum.b.squaredNorm());
    net.axpy(-o.meta_lr * (o.clip > 0 && norm > o.clip ? o.clip / norm : 1.0), sum);
  }
  std::vector<Eigen::MatrixXd> out;
  for (const auto& t : probes) out.push_back(adapt(net, t, o.test_inner_steps).f(t.query));
  return out;
}

}  // namespace

TEST_CASE("kernel MAML's predictor is the large-width limit of finite-width MAML in the NNGP and NTK regimes") {
  const ImageSet set = synthetic_image_set(8, 4, 2, 0.4, 9);  // d = 4
  const TaskSampler sampler(set, {3, 1, 1}, "train");
  std::vector<std::vector<Task>> batches;
  for (std::uint64_t s = 0; s < 3; ++s) {
    tp::limits::Rng rng(4, s);
    batches.push_back(sampler.sample(4, rng));
  }
  tp::limits::Rng prng(4, 99);
  const auto probes = sampler.sample(3, prng);
  FomamlOptions o;
  o.meta_lr = 0.5;
  o.test_inner_steps = 5;
  o.threads = 1;
  for (KernelKind kind : {KernelKind::relu_nngp, KernelKind::relu_ntk}) {
    const KernelSpec spec{kind, 1.0, 1.0, 0.5};
    KernelFunction kf(spec, 4, 3);
    for (const auto& b : batches) kernel_maml_step(kf, b, o);
    const auto limit = kernel_adapted_query_logits(kf, probes, o.test_inner_steps, o);
    double scale = 0;
    for (const auto& m : limit) scale = std::max(scale, m.cwiseAbs().maxCoeff());
    REQUIRE(scale > 0.05);  // the predictor moved: the comparison is not between zeros
    std::vector<double> err;
    for (Eigen::Index n : {500, 32000}) {
      double e = 0;
      for (std::uint64_t seed = 0; seed < 3; ++seed) {
        const auto fin = finite_maml(make_relu_net(n, 4, 3, spec, kind == KernelKind::relu_nngp, seed), batches, probes, o);
        for (std::size_t i = 0; i < fin.size(); ++i) e = std::max(e, (fin[i] - limit[i]).cwiseAbs().maxCoeff());
      }
      err.push_back(e);
    }
    MESSAGE(kernel_kind_name(kind) << ": max |finite - kernel MAML| at n = 500: " << err[0] << ", n = 32000: " << err[1]
                                   << " (logit scale " << scale << ")");
    CHECK(err[1] < 0.05 * scale);
    CHECK(err[1] < err[0] / 3);  // √64 = 8 expected
  }
}

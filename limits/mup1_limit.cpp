// See mup1_limit.h.
#include "limits/mup1_limit.h"

#include <cmath>

#include "limits/gauss_hermite.h"
#include "limits/rng.h"
#include "limits/statistics.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"

namespace tp::limits {

namespace {

// Particles (u, v) with weights summing to 1.
struct Particles {
  Eigen::MatrixXd u;  // d × P
  Eigen::VectorXd v;  // P
  Eigen::VectorXd w;  // P
};

Particles quadrature_particles(int d, int order) {
  const GaussHermiteRule& rule = gauss_hermite_rule(order);
  const int D = d + 1;
  long long P = 1;
  for (int k = 0; k < D; ++k) P *= order;
  Particles ps;
  ps.u.resize(d, P);
  ps.v.resize(P);
  ps.w.resize(P);
  for (long long p = 0; p < P; ++p) {
    long long rest = p;
    double weight = 1;
    for (int k = 0; k < D; ++k) {
      const int idx = static_cast<int>(rest % order);
      rest /= order;
      weight *= rule.weights[idx];
      if (k < d) ps.u(k, p) = rule.nodes[idx];
      else ps.v(p) = rule.nodes[idx];
    }
    ps.w(p) = weight;
  }
  return ps;
}

Particles monte_carlo_particles(int d, long long pairs, std::uint64_t seed) {
  Particles ps;
  ps.u.resize(d, 2 * pairs);
  ps.v.resize(2 * pairs);
  Rng rng(seed, 0x4d5550);
  for (long long p = 0; p < pairs; ++p) {
    for (int k = 0; k < d; ++k) {
      ps.u(k, 2 * p) = rng.normal();
      ps.u(k, 2 * p + 1) = -ps.u(k, 2 * p);
    }
    ps.v(2 * p) = rng.normal();
    ps.v(2 * p + 1) = -ps.v(2 * p);
  }
  ps.w = Eigen::VectorXd::Constant(2 * pairs, 1.0 / static_cast<double>(2 * pairs));
  return ps;
}

// Evolves the particles; returns f[t][i].
std::vector<std::vector<double>> evolve(Particles ps, const ExprPtr& phi_e, double lr, const Eigen::MatrixXd& X,
                                        const Eigen::VectorXd& y, int steps) {
  CompiledExpr phi(phi_e, {true});
  CompiledExpr dphi(derivative(phi_e, 0), {true});
  const Eigen::Index m = X.rows();
  auto apply = [](const CompiledExpr& e, const Eigen::ArrayXd& a) {
    ExprInput in;
    in.array = &a;
    return e.eval({&in, 1}, a.size());
  };
  std::vector<std::vector<double>> f(steps + 1, std::vector<double>(m));
  for (int t = 0; t <= steps; ++t) {
    // preactivations of every particle on every input: m × P
    const Eigen::MatrixXd H = X * ps.u;
    std::vector<Eigen::ArrayXd> act(m), dact(m);
    for (Eigen::Index i = 0; i < m; ++i) {
      const Eigen::ArrayXd h = H.row(i).transpose().array();
      act[i] = apply(phi, h);
      f[t][i] = (ps.w.array() * ps.v.array() * act[i]).sum();
      if (!std::isfinite(f[t][i]))
        throw NumericalError("the µP limit diverged: f became NaN or infinite at step " + std::to_string(t));
      if (t < steps) dact[i] = apply(dphi, h);
    }
    if (t == steps) break;
    Eigen::ArrayXd dv = Eigen::ArrayXd::Zero(ps.v.size());
    Eigen::MatrixXd du = Eigen::MatrixXd::Zero(ps.u.rows(), ps.u.cols());
    for (Eigen::Index i = 0; i < m; ++i) {
      const double chi = (f[t][i] - y(i)) / static_cast<double>(m);
      dv -= lr * chi * act[i];
      const Eigen::ArrayXd coef = -lr * chi * ps.v.array() * dact[i];
      du += X.row(i).transpose() * coef.matrix().transpose();
    }
    ps.v += dv.matrix();
    ps.u += du;
  }
  return f;
}

}  // namespace

Mup1Limit mup1_limit(const ExprPtr& activation, double lr, const Eigen::MatrixXd& inputs, const Eigen::VectorXd& targets,
                     int steps, const Mup1Options& options) {
  const int d = static_cast<int>(inputs.cols());
  const Eigen::Index m = inputs.rows();
  Mup1Limit out;
  out.f.assign(steps + 1, std::vector<Estimate>(m));
  if (d + 1 <= options.max_quadrature_dim) {
    static const int by_dim[] = {0, 160, 128, 64, 24};
    const int k = options.order > 0 ? options.order : by_dim[d + 1];
    const int k2 = k + k / 2;
    auto a = evolve(quadrature_particles(d, k), activation, lr, inputs, targets, steps);
    auto b = evolve(quadrature_particles(d, k2), activation, lr, inputs, targets, steps);
    out.route = Route::quadrature;
    for (int t = 0; t <= steps; ++t)
      for (Eigen::Index i = 0; i < m; ++i)
        out.f[t][i] = {b[t][i], std::abs(a[t][i] - b[t][i]), Route::quadrature};
    return out;
  }
  out.route = Route::monte_carlo;
  std::vector<std::vector<std::vector<double>>> reps;
  for (int r = 0; r < options.replicas; ++r)
    reps.push_back(evolve(monte_carlo_particles(d, options.particles / 2, 1000 + r), activation, lr, inputs, targets, steps));
  for (int t = 0; t <= steps; ++t)
    for (Eigen::Index i = 0; i < m; ++i) {
      std::vector<double> xs;
      for (const auto& rep : reps) xs.push_back(rep[t][i]);
      out.f[t][i] = mean_with_error(xs, Route::monte_carlo);
    }
  return out;
}

}  // namespace tp::limits

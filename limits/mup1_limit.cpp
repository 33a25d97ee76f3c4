// See mup1_limit.h.
#include "limits/mup1_limit.h"
#include "limits/trapezoid_rule.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "limits/gauss_hermite.h"
#include "limits/rng.h"
#include "limits/statistics.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"

namespace tp::limits {

namespace {

// Particles (u, v) with weights summing to 1 (up to what a cutoff dropped).
struct Particles {
  Eigen::MatrixXd u;  // d × P
  Eigen::VectorXd v;  // P
  Eigen::VectorXd w;  // P
};

// A 1-D rule for E_{z~N(0,1)}: nodes and positive weights.
struct Rule1d {
  std::vector<double> nodes, weights;
};

Rule1d gauss_hermite(int order) {
  const GaussHermiteRule& r = gauss_hermite_rule(order);
  return {r.nodes, r.weights};
}

// The truncated trapezoidal rule (limits/trapezoid_rule.h, shared with the MLP kernels).
Rule1d trapezoid(double h, double threshold) {
  NormalRule r = trapezoid_normal_rule(h, threshold);
  return {std::move(r.nodes), std::move(r.weights)};
}

// A tensor rule on (u_0, v_0) ∈ R^{d+1}: rule u in each of the d u-dimensions, rule v in the last.
struct TensorRule {
  Rule1d u, v;
};

double node_threshold(double cutoff) { return std::max(cutoff, DBL_MIN); }

// Calls visit(idx, weight) for every index tuple of the tensor rule whose product weight is ≥ threshold.
// Weights are ≤ 1, so a prefix below the threshold prunes its whole subtree.
template <class Visit>
void for_each_kept_node(const TensorRule& rule, int D, double threshold, Visit&& visit) {
  std::vector<int> idx(D, 0);
  auto rec = [&](auto&& self, int k, double partial) -> void {
    if (k == D) {
      visit(idx, partial);
      return;
    }
    const Rule1d& r = k + 1 == D ? rule.v : rule.u;
    for (std::size_t i = 0; i < r.nodes.size(); ++i) {
      const double w = partial * r.weights[i];
      if (w < threshold) continue;
      idx[k] = static_cast<int>(i);
      self(self, k + 1, w);
    }
  };
  rec(rec, 0, 1.0);
}

long long count_nodes(const TensorRule& rule, int d, double cutoff) {
  long long n = 0;
  for_each_kept_node(rule, d + 1, node_threshold(cutoff), [&](const std::vector<int>&, double) { ++n; });
  return n;
}

// The pruned tensor rule as weighted particles.
Particles quadrature_particles(const TensorRule& rule, int d, double cutoff) {
  const long long P = count_nodes(rule, d, cutoff);
  Particles ps;
  ps.u.resize(d, P);
  ps.v.resize(P);
  ps.w.resize(P);
  long long p = 0;
  for_each_kept_node(rule, d + 1, node_threshold(cutoff), [&](const std::vector<int>& idx, double weight) {
    for (int k = 0; k < d; ++k) ps.u(k, p) = rule.u.nodes[idx[k]];
    ps.v(p) = rule.v.nodes[idx[d]];
    ps.w(p) = weight;
    ++p;
  });
  return ps;
}

// The fixed-order route gives the v_0 direction a coarser rule (half the Gauss–Hermite order): v_0 moves u only
// through the factor η χ_i φ'(u·ξ_i), so at moderate learning rates f_t is analytic in v_0 in a wider strip
// than in u_0, whose width is set by φ's poles (π/(2|ξ|) for tanh). The automatic route chooses each
// direction's spacing itself (mup1_limit.h, step 2).
TensorRule gauss_hermite_tensor(int order) { return {gauss_hermite(order), gauss_hermite(std::max(4, (order + 1) / 2))}; }
TensorRule trapezoid_tensor(double h, double hv, double cutoff) {
  return {trapezoid(h, node_threshold(cutoff)), trapezoid(hv, node_threshold(cutoff))};
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

// f[t][i] = f_t(ξ_i) and size[t][i] = Σ_p w_p |v_p φ(u_p·ξ_i)|, the scale of its rounding error.
struct Evolution {
  std::vector<std::vector<double>> f, size;
};

// Evolves the particles through T SGD steps. Works on chunks of particles so the
// temporaries (preactivations m × chunk) stay small; φ(u·ξ_i) from the f pass is kept for the update pass
// when m × P doubles fit in 64 MiB (φ is most of the time: three tanh per particle and input become two).
Evolution evolve(Particles ps, const ExprPtr& phi_e, double lr, const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                 int steps, const Eigen::MatrixXd& E) {
  CompiledExpr phi(phi_e, {true});
  CompiledExpr dphi(derivative(phi_e, 0), {true});
  const Eigen::Index m = X.rows(), P = ps.v.size();
  // f is reported at the training points and then the evaluation points; only the former train
  Eigen::MatrixXd XE(m + E.rows(), X.cols());
  XE.topRows(m) = X;
  if (E.rows() > 0) XE.bottomRows(E.rows()) = E;
  const Eigen::Index points = XE.rows();
  constexpr Eigen::Index chunk = 4096;
  const bool keep = m * P <= (Eigen::Index{1} << 23);
  Eigen::ArrayXXd kept(keep ? m : 0, keep ? P : 0);
  auto apply = [](const CompiledExpr& e, const Eigen::ArrayXd& a) {
    ExprInput in;
    in.array = &a;
    return e.eval({&in, 1}, a.size());
  };
  Evolution out;
  auto& f = out.f;
  f.assign(steps + 1, std::vector<double>(points));
  out.size.assign(steps + 1, std::vector<double>(points, 0.0));
  for (int t = 0; t <= steps; ++t) {
    // 1. f_t(ξ_i) = Σ_p w_p v_p φ(u_p·ξ_i), summed chunk by chunk
    std::vector<double> sum(points, 0.0);
    for (Eigen::Index c0 = 0; c0 < P; c0 += chunk) {
      const Eigen::Index len = std::min(chunk, P - c0);
      const Eigen::MatrixXd H = XE * ps.u.middleCols(c0, len);
      const Eigen::ArrayXd wv = ps.w.segment(c0, len).array() * ps.v.segment(c0, len).array();
      for (Eigen::Index i = 0; i < points; ++i) {
        const Eigen::ArrayXd a = apply(phi, H.row(i).transpose().array());
        sum[i] += (wv * a).sum();
        out.size[t][i] += (wv * a).abs().sum();
        if (keep && t < steps && i < m) kept.row(i).segment(c0, len) = a.transpose();
      }
    }
    for (Eigen::Index i = 0; i < points; ++i) {
      f[t][i] = sum[i];
      if (!std::isfinite(f[t][i]))
        throw NumericalError("the µP limit diverged: f became NaN or infinite at step " + std::to_string(t));
    }
    if (t == steps) break;
    // 2. the SGD step of every particle with χ_i = (f_t(ξ_i) − y_i)/m
    for (Eigen::Index c0 = 0; c0 < P; c0 += chunk) {
      const Eigen::Index len = std::min(chunk, P - c0);
      const Eigen::MatrixXd H = X * ps.u.middleCols(c0, len);
      Eigen::ArrayXd dv = Eigen::ArrayXd::Zero(len);
      Eigen::MatrixXd du = Eigen::MatrixXd::Zero(ps.u.rows(), len);
      for (Eigen::Index i = 0; i < m; ++i) {
        const double chi = (f[t][i] - y(i)) / static_cast<double>(m);
        const Eigen::ArrayXd h = H.row(i).transpose().array();
        if (keep) dv -= lr * chi * kept.row(i).segment(c0, len).transpose();
        else dv -= lr * chi * apply(phi, h);
        const Eigen::ArrayXd coef = -lr * chi * ps.v.segment(c0, len).array() * apply(dphi, h);
        du += X.row(i).transpose() * coef.matrix().transpose();
      }
      ps.v.segment(c0, len) += dv.matrix();
      ps.u.middleCols(c0, len) += du;
    }
  }
  return out;
}

// Steps 2–3 of the quadrature (mup1_limit.h).
Mup1Limit quadrature_limit(const ExprPtr& activation, double lr, const Eigen::MatrixXd& X, const Eigen::VectorXd& y,
                           int steps, const Mup1Options& o, const Eigen::MatrixXd& E) {
  const int d = static_cast<int>(X.cols());
  const Eigen::Index m = X.rows() + E.rows();
  constexpr double stricter = 0.1;  // cutoff factor from one rule to the next finer one
  constexpr double refine = 1.5;    // Gauss–Hermite order × refine, trapezoid spacing ÷ refine
  Mup1Limit out;
  out.route = Route::quadrature;
  // Progress in particle steps (particles × training steps evolved). The total is a forecast: the budget's
  // bound (6 × max_nodes × steps: candidates growing 1.5× per refinement) before the first refinement, then the
  // work done plus the refinements still needed to reach the target at the rate r at which the error fell over
  // the last refinement (0.1 assumed after the first), each costing 1.5× the last (two candidates each),
  // capped by the bound.
  const std::size_t per_node = static_cast<std::size_t>(std::max(steps, 1));
  const std::size_t bound = static_cast<std::size_t>(6 * o.max_nodes) * per_node;
  std::size_t forecast = bound;
  auto done = [&] { return static_cast<std::size_t>(out.total_nodes) * per_node; };
  auto report = [&] {
    if (o.progress && o.order == 0) o.progress(std::min(done(), forecast - 1), forecast);
  };
  auto run = [&](const TensorRule& rule, double cutoff) {
    Particles ps = quadrature_particles(rule, d, cutoff);
    out.total_nodes += ps.v.size();
    out.nodes = ps.v.size();
    Evolution e = evolve(std::move(ps), activation, lr, X, y, steps, E);
    report();
    return e;
  };
  struct Finish {  // closes the progress line however the refinement ends
    const Mup1Options& o;
    std::function<std::size_t()> done;
    ~Finish() {
      if (o.progress && o.order == 0) o.progress(done(), done());
    }
  } finish{o, done};
  double previous_error = 0;
  auto update_forecast = [&](double error, long long nodes) {
    const double rate = previous_error > 0 ? error / previous_error : 0.1;  // a guess until two are known
    previous_error = error;
    if (!(rate > 0 && rate < 1) || !(error > o.target_error)) return;
    const double refinements = std::ceil(std::log(o.target_error / error) / std::log(rate));
    double future = 0, size = static_cast<double>(nodes);
    for (int j = 0; j < refinements && future < static_cast<double>(bound); ++j) future += 2 * (size *= 1.5) * per_node;
    forecast = std::min(bound, done() + static_cast<std::size_t>(future) + 1);
  };
  // error = |Q_coarse − Q_fine| + a rounding allowance of 64 ε Σ_p w_p |v_p φ_p| (the sums and the T steps of
  // particle updates in double; measured rounding differences are a few ε times this)
  auto compare = [&](const Evolution& coarse, const Evolution& fine) {
    out.f.assign(steps + 1, std::vector<Estimate>(m));
    out.max_error = 0;
    for (int t = 0; t <= steps; ++t)
      for (Eigen::Index i = 0; i < m; ++i) {
        const double rounding = 64 * DBL_EPSILON * fine.size[t][i];
        out.f[t][i] = {fine.f[t][i], std::abs(coarse.f[t][i] - fine.f[t][i]) + rounding, Route::quadrature};
        out.max_error = std::max(out.max_error, out.f[t][i].error);
      }
    out.target_met = out.max_error <= o.target_error;
  };
  if (o.order > 0) {
    const int k2 = static_cast<int>(o.order * refine);
    auto a = run(gauss_hermite_tensor(o.order), o.weight_cutoff);
    auto b = run(gauss_hermite_tensor(k2), o.weight_cutoff * stricter);
    compare(a, b);
    out.coarse_order = o.order;
    out.order = k2;
    return out;
  }
  // Direction-adaptive refinement (steps 2–3 of mup1_limit.h): from the state (h_u, h_v) both one-direction
  // refinements run; their changes e_u, e_v are the state's error indicators per direction, the finer of the
  // two candidates (the direction with the larger change) becomes the next state, and its error is e_u + e_v
  // (its refined direction's error is below that direction's change, the other direction's is unchanged).
  double hu = 0.5, hv = 1.0, cutoff = o.weight_cutoff;
  auto state = run(trapezoid_tensor(hu, hv, cutoff), cutoff);
  for (;;) {
    const double c2 = cutoff * stricter;
    auto ref_u = run(trapezoid_tensor(hu / refine, hv, c2), c2);
    const long long nodes_u = out.nodes;
    auto ref_v = run(trapezoid_tensor(hu, hv / refine, c2), c2);
    const long long nodes_v = out.nodes;
    double eu = 0, ev = 0;
    for (int t = 0; t <= steps; ++t)
      for (Eigen::Index i = 0; i < m; ++i) {
        eu = std::max(eu, std::abs(ref_u.f[t][i] - state.f[t][i]));
        ev = std::max(ev, std::abs(ref_v.f[t][i] - state.f[t][i]));
      }
    const bool along_u = eu >= ev;
    const Evolution& fine = along_u ? ref_u : ref_v;
    const Evolution& other = along_u ? ref_v : ref_u;
    out.f.assign(steps + 1, std::vector<Estimate>(m));
    out.max_error = 0;
    for (int t = 0; t <= steps; ++t)
      for (Eigen::Index i = 0; i < m; ++i) {
        const double rounding = 64 * DBL_EPSILON * fine.size[t][i];
        const double error = std::abs(fine.f[t][i] - state.f[t][i]) + std::abs(other.f[t][i] - state.f[t][i]) + rounding;
        out.f[t][i] = {fine.f[t][i], error, Route::quadrature};
        out.max_error = std::max(out.max_error, error);
      }
    out.target_met = out.max_error <= o.target_error;
    out.nodes = along_u ? nodes_u : nodes_v;
    update_forecast(out.max_error, out.nodes);
    out.coarse_spacing = along_u ? hu : hv;
    if (along_u) hu /= refine;
    else hv /= refine;
    out.spacing = hu;
    out.v_spacing = hv;
    if (out.target_met) return out;
    cutoff = c2;
    const double c3 = cutoff * stricter;
    // the next iteration's larger candidate must fit the budget
    if (std::max(count_nodes(trapezoid_tensor(hu / refine, hv, c3), d, c3),
                 count_nodes(trapezoid_tensor(hu, hv / refine, c3), d, c3)) > o.max_nodes)
      return out;
    state = along_u ? std::move(ref_u) : std::move(ref_v);
  }
}

}  // namespace

Mup1Limit mup1_limit(const ExprPtr& activation, double lr, const Eigen::MatrixXd& inputs, const Eigen::VectorXd& targets,
                     int steps, const Mup1Options& options, const Eigen::MatrixXd& eval_inputs) {
  const int d = static_cast<int>(inputs.cols());
  const Eigen::Index m = inputs.rows() + eval_inputs.rows();
  if (eval_inputs.rows() > 0 && eval_inputs.cols() != inputs.cols())
    throw std::invalid_argument("mup1_limit: evaluation points have " + std::to_string(eval_inputs.cols()) +
                                " coordinates, training points " + std::to_string(inputs.cols()));
  if (d + 1 <= options.max_quadrature_dim) {
    if (options.order < 0 || 3 * options.order / 2 > max_gauss_hermite_order)
      throw std::invalid_argument("mup1_limit: order must be in [0, 341] (the finer order 3k/2 is at most " +
                                  std::to_string(max_gauss_hermite_order) + "), got " + std::to_string(options.order));
    if (!(options.target_error > 0))
      throw std::invalid_argument("mup1_limit: target_error must be > 0, got " + std::to_string(options.target_error));
    if (!(options.weight_cutoff >= 0 && options.weight_cutoff <= 1e-12))
      throw std::invalid_argument("mup1_limit: weight_cutoff must be in [0, 1e-12], got " +
                                  std::to_string(options.weight_cutoff));
    return quadrature_limit(activation, lr, inputs, targets, steps, options, eval_inputs);
  }
  Mup1Limit out;
  out.f.assign(steps + 1, std::vector<Estimate>(m));
  out.route = Route::monte_carlo;
  std::vector<std::vector<std::vector<double>>> reps;
  for (int r = 0; r < options.replicas; ++r)
    reps.push_back(
        evolve(monte_carlo_particles(d, options.particles / 2, 1000 + r), activation, lr, inputs, targets, steps,
               eval_inputs)
            .f);
  for (int t = 0; t <= steps; ++t)
    for (Eigen::Index i = 0; i < m; ++i) {
      std::vector<double> xs;
      for (const auto& rep : reps) xs.push_back(rep[t][i]);
      out.f[t][i] = mean_with_error(xs, Route::monte_carlo);
      out.max_error = std::max(out.max_error, out.f[t][i].error);
    }
  return out;
}

}  // namespace tp::limits

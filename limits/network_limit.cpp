// See network_limit.h.
#include "limits/network_limit.h"

#include "limits/gaussian_expectation.h"
#include "limits/gaussian_limit.h"
#include "limits/kernel_gd.h"
#include "limits/linear_limit.h"
#include "limits/memory_budget.h"
#include "limits/resident_memory.h"
#include "limits/mup1_limit.h"
#include "limits/zdot_limit.h"
#include "tp/errors.h"
#include "tp/expr.h"
#include "tp/unroll.h"

#include <cmath>
#include <sstream>

namespace tp::limits {

std::string_view limit_route_name(LimitRoute r) {
  switch (r) {
    case LimitRoute::automatic: return "auto";
    case LimitRoute::exact: return "exact";
    case LimitRoute::quadrature: return "quadrature";
    case LimitRoute::monte_carlo: return "monte_carlo";
    case LimitRoute::kernel: return "kernel";
  }
  return "?";
}

bool parse_limit_route(const std::string& s, LimitRoute& out) {
  for (LimitRoute r : {LimitRoute::automatic, LimitRoute::exact, LimitRoute::quadrature, LimitRoute::monte_carlo,
                       LimitRoute::kernel})
    if (s == limit_route_name(r)) {
      out = r;
      return true;
    }
  if (s == "mc") {
    out = LimitRoute::monte_carlo;
    return true;
  }
  return false;
}

namespace {

bool mup1_equivalent(const NetworkSpec& s) {
  return s.depth == 1 && equivalent_up_to_shift(s.abc, preset("mup", 1));
}

// Why the quadrature route (TP4 Thm 6.1 in limits/mup1_limit.h) does not apply, or "".
std::string quadrature_unavailable(const NetworkSpec& s) {
  if (!mup1_equivalent(s)) return "the quadrature route is the one-hidden-layer µP limit (TP4 Thm 6.1) and its Eq. 5 equivalents";
  if (s.loss != LossKind::mse || s.output_dim != 1) return "the quadrature route needs the mse loss and one output";
  if (s.biases || s.weight_decay != 0) return "the quadrature route has no biases or weight decay";
  if (s.batch != BatchMode::full) return "the quadrature route trains full-batch";
  return "";
}

std::string instability_text(const MlpPhase& ph) {
  std::string why;
  for (const auto& i : ph.instabilities) why += (why.empty() ? "" : "; ") + i.detail;
  return why;
}

// Fills f[t][p*d_o+k] from the unrolled program's outputs.
void collect(const UnrolledProgram& up, const NetworkSpec& s, const std::vector<Estimate>& values,
             std::vector<std::vector<Estimate>>& f) {
  const std::size_t points = static_cast<std::size_t>(s.train_x.rows() + s.eval_x.rows());
  f.assign(static_cast<std::size_t>(s.steps) + 1, std::vector<Estimate>(points * static_cast<std::size_t>(s.output_dim)));
  for (std::size_t o = 0; o < up.outputs.size(); ++o) {
    const UnrolledOutput& u = up.outputs[o];
    if (u.kind != UnrolledOutput::Kind::f) continue;
    f[static_cast<std::size_t>(u.step)][flat_f_index(u, s)] = values[o];
  }
}

/// The memory of mup1_limit (limits/mup1_limit.cpp): particles (u, v, w) of d + 2 doubles. The quadrature keeps at
/// most four particle sets of up to max_nodes particles alive (its state, the two candidates and the copy evolve
/// works on), the Monte Carlo fallback two of `particles` (one replica at a time); both keep up to 64 MiB of φ
/// values. The quadrature's largest rule is lowered to what the budget leaves room for (true when it was: the
/// route then says so if it stops there); the Monte Carlo fallback, and a budget too small for the quadrature's
/// smallest rule (1000 particles), are refused with the figure.
bool fit_quadrature_memory(Mup1Options& mo, int d, Eigen::Index points, double budget_bytes) {
  const double per_particle = 8.0 * (d + 2), held = resident_bytes();
  // φ values kept between the passes: points × particles doubles while that is at most 64 MiB
  const auto kept = [&](double particles) { return std::min(64.0 * 1024 * 1024, 8.0 * static_cast<double>(points) * particles); };
  if (d + 1 > mo.max_quadrature_dim) {
    check_memory_budget({"the Monte Carlo quadrature fallback with " + std::to_string(mo.particles) + " particles",
                         2.0 * per_particle * static_cast<double>(mo.particles) + kept(static_cast<double>(mo.particles)),
                         "two particle sets of d + 2 doubles each and the φ values kept",
                         "use fewer --particles, or raise --memory-budget"},
                        budget_bytes, held);
    return false;
  }
  const double fit = std::floor((budget_bytes - held - kept(static_cast<double>(mo.max_nodes))) / (4.0 * per_particle));
  if (fit >= static_cast<double>(mo.max_nodes)) return false;
  constexpr long long smallest = 1000;
  check_memory_budget({"the quadrature route", 4.0 * per_particle * std::max<double>(fit, smallest) + kept(smallest),
                       "four particle sets of its smallest rule, d + 2 doubles per particle, and the φ values kept",
                       "raise --memory-budget"},
                      budget_bytes, held);
  mo.max_nodes = static_cast<long long>(fit);
  return true;
}

/// The warning of a quadrature run that stopped at its node budget: the error it reached and where.
std::string target_missed(const Mup1Limit& r, const Mup1Options& o, Eigen::Index training_points, bool capped) {
  std::size_t worst_t = 0, worst_i = 0;
  for (std::size_t t = 0; t < r.f.size(); ++t)
    for (std::size_t i = 0; i < r.f[t].size(); ++i)
      if (r.f[t][i].error > r.f[worst_t][worst_i].error) worst_t = t, worst_i = i;
  std::ostringstream m;
  m.precision(2);
  m << "the quadrature route did not reach its target error " << o.target_error << ": the largest error it reached is "
    << r.max_error << " (f_" << worst_t << " at "
    << (static_cast<Eigen::Index>(worst_i) < training_points ? "training point " + std::to_string(worst_i + 1)
                                                              : "evaluation point " + std::to_string(worst_i + 1 - static_cast<std::size_t>(training_points)))
    << ", " << r.nodes
    << " particles; the next finer rule would exceed " << o.max_nodes << " particles"
    << (capped ? ", the most --memory-budget leaves room for" : "")
    << "). The particle map has features finer than the rule resolves (a large learning rate or many "
       "steps); the values are reported with the error reached";
  return m.str();
}

ZDotMode zdot_mode(const std::string& s) {
  if (s == "derivative") return ZDotMode::derivative;
  if (s == "stein") return ZDotMode::stein;
  if (s == "none") return ZDotMode::none;
  if (s == "auto") return ZDotMode::automatic;
  throw LimitUnavailable("unknown ZDot mode '" + s + "'; use auto, derivative, stein or none");
}

}  // namespace

std::string quadrature_route_unavailable(const NetworkSpec& s) { return quadrature_unavailable(s); }

std::string optimizer_limit_unavailable(const NetworkSpec& s) {
  if (s.abc.optimizer == Optimizer::sgd) return "";
  return std::string("no limit route for ") + std::string(optimizer_name(s.abc.optimizer)) +
         ": its entrywise update is TP4b's outer nonlinearity (NE⊗OR⊤), whose infinite-width limit tpc does not "
         "evaluate; 'tpc phase' classifies it, and 'tpc run' and 'tpc coordcheck' train it at finite widths";
}

NetworkLimit network_limit(const NetworkSpec& s, const NetworkLimitOptions& o) {
  if (auto why = network_problem(s); !why.empty()) throw LimitUnavailable(why);
  check_integrable_activation(s.activation);
  NetworkLimit out;
  out.phase = classify_mlp(s.abc);
  if (!out.phase.stable)
    throw LimitUnavailable("the parametrization is unstable, so the infinite-width limit does not exist: " +
                           instability_text(out.phase));
  if (const std::string why = optimizer_limit_unavailable(s); !why.empty()) throw LimitUnavailable(why);
  LimitRoute route = o.route;
  const bool kernel_regime = out.phase.regime == Regime::kernel;
  if (route == LimitRoute::automatic) {
    if (kernel_regime) {
      route = LimitRoute::kernel;
      out.reason = "kernel regime (r = " + to_string(out.phase.r) + " > 0): kernel gradient descent";
    }
  } else if (route == LimitRoute::kernel && !kernel_regime) {
    throw LimitUnavailable("--route kernel: this parametrization is in the " + std::string(regime_name(out.phase.regime)) +
                           " regime, not the kernel regime, so its limit is not kernel gradient descent");
  } else if (route != LimitRoute::kernel && kernel_regime) {
    throw LimitUnavailable("--route " + std::string(limit_route_name(route)) +
                           ": in the kernel regime the features move by o(1) while f moves by Θ(1), a 0·∞ form the "
                           "unrolled program cannot evaluate; use --route kernel (or auto)");
  }
  if (route == LimitRoute::kernel) {
    if (auto why = kernel_gd_unavailable(s); !why.empty()) throw LimitUnavailable(why);
    // f_t at every point and step, and the m×m kernels (NNGP, NTK and their products with the residual).
    const double points = static_cast<double>(s.train_x.rows() + s.eval_x.rows()) * s.output_dim;
    const double need = (s.steps + 1.0) * points * sizeof(Estimate) + 4.0 * 8.0 * points * points;
    check_memory_budget({"kernel gradient descent over " + std::to_string(s.steps) + " steps at " +
                             std::to_string(static_cast<long long>(points)) + " points",
                         need, "f_t at every step and point and the point × point kernels",
                         "use fewer steps or points, or raise --memory-budget"},
                        o.memory_budget_bytes);
    out.route = route;
    KernelGdOptions ko;
    ko.seed = o.seed;
    ko.progress = o.kernel_progress;
    const KernelGdResult kr = kernel_gd_limit(s, ko);
    out.f = kr.f;
    if (!out.reason.empty()) out.reason += " with " + kr.kernel_layers;
    return out;
  }
  UnrollOptions uo;
  uo.memory_budget_bytes = o.memory_budget_bytes;
  uo.budget_flag = "--memory-budget";
  const UnrolledProgram up = unroll(s, uo);
  std::string linear_why;
  const bool linear = is_linear_program(up.program, &linear_why);
  if (route == LimitRoute::automatic) {
    if (linear) {
      route = LimitRoute::exact;
      out.reason = "the network is linear: exact Master Theorem in rational arithmetic";
    } else if (quadrature_unavailable(s).empty()) {
      route = LimitRoute::quadrature;
      out.reason = "one-hidden-layer µP: TP4 Thm 6.1 by quadrature over the initial Gaussian";
    } else {
      route = LimitRoute::monte_carlo;
      out.reason = "nonlinear feature-learning network: Monte Carlo over the Z's with ZHat and ZDot";
    }
  }
  out.route = route;
  if (route == LimitRoute::exact) {
    if (!linear) throw LimitUnavailable("--route exact needs a linear network: " + linear_why);
    const LinearLimitResult r = linear_limit(up.program);
    collect(up, s, r.limit.outputs, out.f);
    return out;
  }
  if (route == LimitRoute::quadrature) {
    if (auto why = quadrature_unavailable(s); !why.empty()) throw LimitUnavailable("--route quadrature: " + why);
    Mup1Options mo;
    mo.particles = o.quadrature_mc_particles;
    mo.replicas = o.replicas;
    mo.max_nodes = o.quadrature_max_nodes;
    mo.progress = o.quadrature_progress;
    const bool capped = fit_quadrature_memory(mo, static_cast<int>(s.train_x.cols()), s.train_x.rows(), o.memory_budget_bytes);
    // TP4 Thm 6.1 is written for µP itself; an Eq. 5 equivalent has the same f_t.
    const Mup1Limit r = mup1_limit(s.activation, s.lr, s.train_x, s.train_y.col(0), s.steps, mo, s.eval_x);
    out.f = r.f;
    if (r.route == Route::quadrature && !r.target_met) out.warnings.push_back(target_missed(r, mo, s.train_x.rows(), capped));
    return out;
  }
  ZDotOptions zo;
  zo.particles = o.particles;
  zo.replicas = o.replicas;
  zo.zdot = zdot_mode(o.zdot);
  if (o.sampling != "sobol" && o.sampling != "pseudo")
    throw LimitUnavailable("unknown sampling '" + o.sampling + "'; use sobol or pseudo");
  zo.sampling = o.sampling == "sobol" ? Sampling::sobol : Sampling::pseudo;
  zo.jackknife = o.jackknife;
  zo.seed = o.seed;
  zo.threads = o.threads;
  zo.memory_budget_bytes = o.memory_budget_bytes;
  zo.progress = o.progress;
  try {
    const LimitResult r = zdot_limit(up.program, zo);
    collect(up, s, r.outputs, out.f);
  } catch (const RouteUnavailable& e) {
    throw LimitUnavailable(e.what());
  }
  return out;
}

}  // namespace tp::limits

// See work_estimate.h. The paces are seconds per unit of work on one idle core of the development machine,
// measured with `tpc limit` / `tpc compare` on examples/mup_tanh.tp-like networks (DESIGN.md, "Estimates
// before work"); they are rough by design (within a factor of 2–3), which is what a user deciding whether to
// wait needs.
#include "frontend/work_estimate.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "limits/linear_limit.h"
#include "limits/parallel.h"
#include "limits/zdot_limit.h"
#include "tp/unroll.h"

namespace tp::frontend {

namespace {

constexpr double kMonteCarloPace = 1e-9;   ///< s per particle per expression node (limits/zdot_limit)
constexpr double kTangentPace = 0.7e-9;    ///< s per particle per tangent column (derivative ZDot, limits/zdot_limit)
constexpr double kPlanPace = 3e-6;         ///< s per program term to unroll and plan (Stein; derivative: kPlanPace + 1.2e-6)
constexpr double kDerivativePlanPace = 1.2e-6;
constexpr double kQuadraturePace = 4e-9;   ///< s per node per point per step per expression node (limits/mup1_limit)
constexpr double kFlopPace = 1e-9;         ///< s per flop of the finite executor (Eigen GEMV, limits/finite)
constexpr double kKernelPace = 2e-7;       ///< s per kernel entry per layer (limits/kernel_gd, limits/mlp_kernel)

constexpr double kExactCountBytes = 64.0 * (1 << 20);  ///< programs up to this size are built to be counted

double expr_nodes(const ExprPtr& e) { return e ? 1 + expr_nodes(e->lhs) + expr_nodes(e->rhs) : 0; }

double parallelism(unsigned threads, double jobs) {
  const double t = threads == 0 ? static_cast<double>(limits::default_threads()) : static_cast<double>(threads);
  return std::max(1.0, std::min(t, jobs));
}

}  // namespace

double vector_op_nodes(const Program& program) {
  double nodes = 0;
  for (const Value& v : program.values()) {
    if (v.kind != ValueKind::Vector) continue;
    nodes += 1 + static_cast<double>(v.operands.size()) + (v.expr ? expr_nodes(v.expr) : 0);
  }
  return nodes;
}

std::optional<WorkEstimate> network_limit_estimate(const NetworkSpec& s, const limits::NetworkLimitOptions& o) {
  if (!network_problem(s).empty() || s.abc.optimizer != Optimizer::sgd) return std::nullopt;
  const MlpPhase phase = classify_mlp(s.abc);
  if (!phase.stable) return std::nullopt;
  const double points = static_cast<double>(s.train_x.rows() + s.eval_x.rows()), steps = s.steps;
  WorkEstimate e;
  char buf[200];
  const bool kernel = o.route == limits::LimitRoute::kernel ||
                      (o.route == limits::LimitRoute::automatic && phase.regime == Regime::kernel);
  if (kernel) {
    e.seconds = kKernelPace * points * points * (s.depth + 1) * (steps + 1);
    std::snprintf(buf, sizeof buf, "the limit by kernel gradient descent: %.0f points, %d layers, %d steps", points,
                  s.depth + 1, s.steps);
    e.what = buf;
    return e;
  }
  const bool quadrature = (o.route == limits::LimitRoute::automatic || o.route == limits::LimitRoute::quadrature) &&
                          limits::quadrature_route_unavailable(s).empty();
  if (quadrature) {
    const double nodes = expr_nodes(s.activation) + expr_nodes(derivative(s.activation, 0));
    e.seconds = kQuadraturePace * static_cast<double>(o.quadrature_max_nodes) * points * (steps + 1) * nodes /
                parallelism(o.threads, 8);
    e.upper_bound = true;
    std::snprintf(buf, sizeof buf, "the limit by quadrature: up to %lld particles x %.0f points x %d steps",
                  o.quadrature_max_nodes, points, s.steps);
    e.what = buf;
    return e;
  }
  const ProgramCounts counts = program_counts(s);
  const double nodes = counts.nodes;
  if (o.route != limits::LimitRoute::monte_carlo && counts.linear) {
    e.seconds = 1e-7 * nodes * nodes;  // exact rational elimination over the Gaussian leaves
    e.what = "the exact limit of a linear program of about " + std::to_string(static_cast<long long>(nodes)) + " expression nodes";
    return e;
  }
  // Every particle of every replica runs once, and again in the jackknife's two halves; the derivative form also
  // touches its tangent columns; unrolling and planning is once per run, on one thread.
  const double runs = static_cast<double>(o.particles) * o.replicas * (o.jackknife ? 2 : 1);
  const ZDotForm form = zdot_form(s, o);
  const double terms = unroll_memory_estimate(s) / 400;
  e.seconds = runs * (kMonteCarloPace * nodes + kTangentPace * form.tangent_columns) / parallelism(o.threads, o.replicas) +
              terms * (kPlanPace + (form.derivative ? kDerivativePlanPace : 0));
  std::snprintf(buf, sizeof buf, "the limit by Monte Carlo: %d replicas x %lld particles%s x %s%.0f expression nodes",
                o.replicas, o.particles, o.jackknife ? " (x2 for the jackknife)" : "", counts.exact ? "" : "about ", nodes);
  e.what = buf;
  if (form.derivative) {
    std::snprintf(buf, sizeof buf, " and about %.3g tangent columns (derivative ZDot)", form.tangent_columns);
    e.what += buf;
  }
  return e;
}

ZDotForm zdot_form(const NetworkSpec& s, const limits::NetworkLimitOptions& o) {
  ZDotForm f;
  if (o.zdot == "stein" || o.zdot == "none") return f;
  // Counts of zdot_limit's plan, fitted on µP tanh networks (2 inputs, 2 evaluation points; m = 8..32 points,
  // T = 8..16 full-batch steps, L = 2..4; within 1.3x of the plan's exact counts): per particle, tangent columns
  // ≈ 0.45 (L−1)^1.5 (points + B) B² T³ / 3 and at most ≈ 1.1 (L−1)^1.5 (B T)² + values live particle arrays.
  const double L1 = std::pow(std::max(s.depth - 1, 1), 1.5), T = s.steps,
               points = static_cast<double>(s.train_x.rows() + s.eval_x.rows());
  const double B = s.batch == BatchMode::full ? static_cast<double>(s.train_x.rows())
                   : s.batch == BatchMode::per_sample ? 1.0 : static_cast<double>(s.batch_size);
  f.tangent_columns = 0.45 * L1 * (points + B) * B * B * T * T * T / 3;
  if (o.zdot == "derivative") {
    f.derivative = true;
    return f;
  }
  // automatic: Stein when φ' has a step or sign (a Dirac delta the derivative form misses) or when the tangents
  // do not fit the memory budget (zdot_limit's rule, with its 1.5x allowance on the arrays).
  if (limits::has_step_or_sign(derivative(s.activation, 0))) {
    f.tangent_columns = 0;
    return f;
  }
  const double arrays = 1.1 * L1 * (B * T) * (B * T);
  const double bytes = unroll_memory_estimate(s) + 1.5 * arrays * 8 * static_cast<double>(o.particles + (o.particles & 1)) *
                                                      parallelism(o.threads, o.replicas);
  f.derivative = bytes <= o.memory_budget_bytes;
  if (!f.derivative) f.tangent_columns = 0;  // zdot_limit falls back to Stein
  return f;
}

ProgramCounts program_counts(const NetworkSpec& s) {
  ProgramCounts c;
  if (unroll_memory_estimate(s) <= kExactCountBytes) {
    const UnrolledProgram up = unroll(s);
    for (const Value& v : up.program.values()) c.matmuls += v.op == Op::MatMul;
    c.nodes = vector_op_nodes(up.program);
    c.linear = limits::is_linear_program(up.program);
    return c;
  }
  // Too large to build just to count it: the program's terms (tp::unroll_memory_estimate, ~400 bytes each),
  // each a vector op whose Nonlins evaluate φ or φ'; W^l is applied forward and transposed per point per step.
  const double terms = unroll_memory_estimate(s) / 400, points = static_cast<double>(s.train_x.rows() + s.eval_x.rows());
  c.nodes = terms * (3 + expr_nodes(s.activation));
  c.matmuls = 2 * (s.depth - 1.0) * (s.steps + 1.0) * points;
  c.exact = false;
  c.linear = false;
  return c;
}

WorkEstimate finite_runs_estimate(const NetworkSpec& spec, const std::vector<std::size_t>& widths, int seeds,
                                  unsigned threads) {
  const ProgramCounts counts = program_counts(spec);
  const double matmuls = counts.matmuls;
  const double nodes = counts.nodes;
  double flops = 0;
  for (std::size_t n : widths) {
    const double w = static_cast<double>(n);
    flops += seeds * (2 * w * w * matmuls + w * nodes);
  }
  WorkEstimate e;
  e.seconds = kFlopPace * flops / parallelism(threads, seeds);
  char buf[160];
  std::snprintf(buf, sizeof buf, "the finite widths: %zu width%s x %d seeds x %s%.0f MatMuls", widths.size(),
                widths.size() == 1 ? "" : "s", seeds, counts.exact ? "" : "about ", matmuls);
  e.what = buf;
  return e;
}

std::string duration_text(const WorkEstimate& e) {
  char buf[64];
  const double s = e.seconds;
  if (s < 1) return e.upper_bound ? "at most a second" : "under a second";
  else if (s < 120) std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 7200) std::snprintf(buf, sizeof buf, "%.0f min", s / 60);
  else if (s < 172800) std::snprintf(buf, sizeof buf, "%.0f h", s / 3600);
  else std::snprintf(buf, sizeof buf, "%.0f days", s / 86400);
  return std::string(e.upper_bound ? "at most " : "about ") + buf;
}

}  // namespace tp::frontend

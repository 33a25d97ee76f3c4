// Estimates printed before long work starts (issue 12 items 3 and 7): the time and memory of a network's
// limit (by the route network_limit will take) and of the finite-width runs of `compare`, from op counts.
// They sit here, at the command level, rather than inside the engines (limits/zdot_limit, limits/kernel_gd,
// limits/finite), so the engines can change their speed and memory without touching the commands: only the
// paces below are measured constants of those engines.
//
// Time: Monte Carlo visits every particle of every replica (twice with the jackknife) once per expression node of
// the unrolled program (a MatMul's ZHat/ZDot terms count one node per operand) and, in the derivative ZDot form, once
// per tangent column, after unrolling and planning the program once; the finite executor does 2 n² flops per MatMul and
// n per expression node per seed; the quadrature route of one-hidden-layer µP runs at most its node budget of
// particles through every step. The paces were measured on one idle core of the development machine
// (work_estimate.cpp), so a loaded machine is slower: the figure is a rough guide, said to be one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "limits/network_limit.h"
#include "tp/ir.h"
#include "tp/network.h"

namespace tp::frontend {

struct WorkEstimate {
  double seconds = 0;       ///< on one core (divided by the threads where the engine uses them)
  bool upper_bound = false; ///< an adaptive route: "at most"
  std::string what;         ///< e.g. "the limit by Monte Carlo: 8 replicas x 32768 particles x 5208 nodes"
};

/// The limit of spec by the route network_limit takes with these options (kernel regime → kernel gradient
/// descent, one-hidden-layer µP → quadrature, else Monte Carlo over the unrolled program); nullopt when there
/// is no limit to compute (invalid, unstable, not SGD).
std::optional<WorkEstimate> network_limit_estimate(const NetworkSpec& spec, const limits::NetworkLimitOptions& options);

/// The ZDot form a Monte Carlo limit of spec takes with these options (zdot_limit's automatic rule: derivative
/// unless φ' has a step or sign or its tangents exceed the memory budget), and its tangent columns per particle
/// (the derivative form's work on top of the expression nodes; 0 for Stein), from formulas fitted to the plan.
struct ZDotForm {
  bool derivative = false;
  double tangent_columns = 0;
};
ZDotForm zdot_form(const NetworkSpec& spec, const limits::NetworkLimitOptions& options);

/// The finite-width runs of spec's unrolled program at each width over `seeds` seeds on `threads` threads
/// (0 = all cores).
WorkEstimate finite_runs_estimate(const NetworkSpec& spec, const std::vector<std::size_t>& widths, int seeds,
                                  unsigned threads);

/// The counts the estimates use, of spec's unrolled program: exact when the program is small enough to build
/// (64 MiB by tp::unroll_memory_estimate), else approximated from the estimate's terms (exact = false).
struct ProgramCounts {
  double matmuls = 0, nodes = 0;
  bool linear = false, exact = true;
};
ProgramCounts program_counts(const NetworkSpec& spec);

/// "about 2 min" / "at most 40 s": the rounded figure of an estimate.
std::string duration_text(const WorkEstimate& e);

/// The expression nodes of a program's vector values: the unit of work of Monte Carlo and the executor.
double vector_op_nodes(const Program& program);

}  // namespace tp::frontend

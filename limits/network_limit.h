// The infinite-width limit of a network's training (tp/network.h): picks the most accurate route the
// network admits and evaluates f_t at the training and evaluation points for every step.
//
// Route selection (`automatic`), after the phase (tp/mlp_phase.h, TP4 Thm 3.3–3.8):
//   unstable                → no limit (LimitUnavailable lists every violated condition of Thm 3.3);
//   kernel regime (r > 0)   → `kernel`: kernel gradient descent with the NTK (limits/kernel_gd.h);
//   feature learning/trivial→ the unrolled program (tp/unroll.h), then
//        `exact`       when it is linear (limits/linear_limit.h: exact rational Master Theorem),
//        `quadrature`  for one-hidden-layer µP with mse, one output, full batch (limits/mup1_limit.h, TP4 Thm 6.1;
//                      it switches to Monte Carlo itself above 4 Gaussian dimensions; when it stops at its node
//                      budget before its target error, NetworkLimit::warnings says so with the error reached),
//        `monte_carlo` otherwise (limits/zdot_limit.h: ZHat + ZDot particles).
// A forced route that does not apply is refused with the reason.
#pragma once

#include <functional>

#include <stdexcept>
#include <string>
#include <vector>

#include "limits/estimate.h"
#include "tp/mlp_phase.h"
#include "tp/network.h"

namespace tp::limits {

enum class LimitRoute { automatic, exact, quadrature, monte_carlo, kernel };
std::string_view limit_route_name(LimitRoute r);
/// Parses "auto", "exact", "quadrature", "monte_carlo" (or "mc"), "kernel"; false if unknown.
bool parse_limit_route(const std::string& s, LimitRoute& out);

/// The limit does not exist (unstable) or the requested route cannot compute it; the message says why.
struct LimitUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct NetworkLimitOptions {
  LimitRoute route = LimitRoute::automatic;
  long long particles = 4096;     ///< monte_carlo route: particles per replica (scrambled Sobol, jackknifed)
  long long quadrature_mc_particles = 1 << 16;  ///< quadrature route's Monte Carlo fallback (d + 1 > 4): pairs
  int replicas = 8;
  std::string zdot = "auto";      ///< "auto", "derivative", "stein", "none" (monte_carlo route)
  std::string sampling = "sobol"; ///< monte_carlo route: "sobol" (scrambled Sobol, RQMC) or "pseudo"
  bool jackknife = true;          ///< monte_carlo route: remove the O(1/P) bias (limits/zdot_limit.h step 6)
  std::uint64_t seed = 0;
  unsigned threads = 0;
  double memory_budget_bytes = 8.0 * (1ull << 30);
  std::function<void(std::size_t done, std::size_t total)> progress;  ///< Monte Carlo: after each replica
  std::function<void(std::size_t done, std::size_t total)> quadrature_progress;  ///< Mup1Options::progress
  std::function<void(std::size_t done, std::size_t total)> kernel_progress;      ///< KernelGdOptions::progress
  /// quadrature route: largest rule it may run (Mup1Options::max_nodes; 12M particles are about 0.4 GiB at d = 2)
  long long quadrature_max_nodes = 12'000'000;
};

struct NetworkLimit {
  LimitRoute route = LimitRoute::automatic;  ///< the route used
  std::string reason;                        ///< why this route (one sentence)
  MlpPhase phase;
  /// f[t][p * d_o + k] for t = 0..T: training points first, then evaluation points.
  std::vector<std::vector<Estimate>> f;
  /// Things the user must know about the numbers, one sentence each: e.g. the quadrature route stopped at its
  /// node budget before reaching its target error (the values are still reported with the error they reached).
  std::vector<std::string> warnings;
};

/// Why the quadrature route (one-hidden-layer µP, TP4 Thm 6.1) does not apply to spec, or "" if it does.
std::string quadrature_route_unavailable(const NetworkSpec& spec);

/// "" for SGD; for Adam, AdamW and SignSGD why no route evaluates the limit (their entrywise update is TP4b's outer
/// nonlinearity) and what runs them instead.
std::string optimizer_limit_unavailable(const NetworkSpec& spec);

/// Throws LimitUnavailable, or what the routes throw (DivergentIntegral, NumericalError, BudgetError).
NetworkLimit network_limit(const NetworkSpec& spec, const NetworkLimitOptions& options = {});

}  // namespace tp::limits

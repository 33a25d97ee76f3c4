// `tpc compare`: finite-width training against the infinite-width limit, per width: mean ± standard error
// of f_T at every training and evaluation point, the distance to the limit, and the fitted convergence
// exponent. The network comes from a level-2 script or from flags (an MLP on a fixed random data set); both
// go through frontend/network_commands.h (limit: limits/network_limit.h; finite widths: the unrolled
// program on the finite-width executor).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>

#include "frontend/phase_command.h"

namespace tp::frontend {

struct CompareArgs {
  PhaseArgs abc;
  std::string act = "tanh";
  std::string widths = "256,1024,4096";
  int seeds = 16;
  int steps = 3;
  double lr = 0.5;
  int inputs = 4;
  int dim = 2;
  unsigned threads = 0;
  std::string plot;
  std::string route = "auto";      ///< limit route (limits/network_limit.h)
  long long particles = 0;         ///< Monte Carlo particles per replica (0: the route's default)
  std::string zdot = "auto";
  double budget_gib = 8.0;         ///< --memory-budget
  bool progress = false;           ///< --progress
  bool estimate = false;          ///< --estimate: print the time estimate and stop
};

CLI::App* add_compare_command(CLI::App& app, CompareArgs& args);
int run_compare_command(const CompareArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

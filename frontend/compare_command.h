// `tpc compare`: finite-width training against the infinite-width limit, per width: mean ± standard error
// of f_T at every training input, the distance to the limit, and the fitted convergence exponent.
// Limit route available now: one-hidden-layer µP (and its TP4 Eq. 5 equivalents such as mfp), TP4 Thm 6.1.
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
};

CLI::App* add_compare_command(CLI::App& app, CompareArgs& args);
int run_compare_command(const CompareArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

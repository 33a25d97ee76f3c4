// `tpc coordcheck`: train an MLP at several widths (limits/coordcheck.h) and print the fitted size
// exponents beside TP4's predictions, flagging disagreements.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>

#include "frontend/phase_command.h"

namespace tp::frontend {

struct CoordCheckArgs {
  PhaseArgs abc;
  std::string act = "relu";
  std::string widths = "256,512,1024,2048";
  int seeds = 4;
  int steps = 2;
  double lr = 0.5;
  int inputs = 4;
  int dim = 3;
  unsigned threads = 0;
  double budget_gib = 8.0;  ///< --memory-budget
  std::string plot;  ///< PNG path, empty for none
};

CLI::App* add_coordcheck_command(CLI::App& app, CoordCheckArgs& args);
int run_coordcheck_command(const CoordCheckArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

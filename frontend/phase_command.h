// `tpc phase`: the TP4 phase of an MLP under an abc-parametrization (tp/mlp_phase.h), optionally with one
// free exponent (tp/phase_region.h).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

namespace tp::frontend {

struct PhaseArgs {
  int depth = 0;
  std::string preset;
  std::string a, b, c;
  std::string free;
  std::string format = "text";
};

/// Adds the `phase` subcommand with its options bound to args.
CLI::App* add_phase_command(CLI::App& app, PhaseArgs& args);
/// Runs it; returns the exit code (0 ok, 1 bad flags).
int run_phase_command(const PhaseArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

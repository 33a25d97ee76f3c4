// `tpc phase`: the phase of an MLP under an abc-parametrization with optional per-layer learning rates,
// trained by SGD (TP4) or Adam / SignSGD (TP4b) (tp/mlp_phase.h), optionally with one free exponent
// or two free exponents (tp/phase_region.h).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "tp/mlp_phase.h"

namespace tp::frontend {

struct PhaseArgs {
  std::string file;                ///< a level-2 network script instead of the flags (tpc phase net.tp)
  int depth = 0;
  std::string preset;
  std::string a, b, c;
  std::string c_layers;            ///< --c-layers: c_1..c_{L+1}; empty = the global c for every layer
  std::string optimizer = "sgd";   ///< --optimizer: sgd | adam | signsgd
  std::string free;               ///< --free: one exponent name, or two separated by a comma
  std::string format = "text";
  double budget_gib = 8.0;         ///< --memory-budget: the unrolled program of the propagation route
};

/// A bad flag value; message names the flag and the fix.
struct FlagError {
  std::string message;
};

/// The parametrization given by --mlp/--preset or --a/--b/--c, --c-layers and --optimizer in args (exact
/// rationals). --c may be omitted when args.free names c or --c-layers is given. Throws FlagError.
AbcParametrization parametrization_from_flags(const PhaseArgs& args);

/// Parses --widths: a comma-separated, strictly increasing list of at least two widths in [2, max_width].
/// Throws FlagError naming the bad entry.
std::vector<std::size_t> parse_width_list(const std::string& text, std::size_t max_width);

/// Adds --mlp, --preset, --a, --b, --c to a subcommand.
void add_parametrization_flags(CLI::App* sub, PhaseArgs& args);
/// Adds the `phase` subcommand with its options bound to args (the flags above plus --c-layers,
/// --optimizer, --free, --format).
CLI::App* add_phase_command(CLI::App& app, PhaseArgs& args);
/// Runs it; returns the exit code (0 ok, 1 bad flags).
int run_phase_command(const PhaseArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

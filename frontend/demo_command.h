// `tpc demo`: what tpc is for, in one run of well under a minute: an embedded network script (a one-hidden-
// layer tanh network in µP trained by SGD), its phase (`tpc phase`), its infinite-width limit (`tpc limit`:
// TP4 Thm 6.1 by quadrature) and finite widths trained and compared with that limit (`tpc compare`, with the
// plot). The script and the plot are written to a folder (--dir, default a new one under the temp folder) so
// the user can rerun each command shown on them.
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

namespace tp::frontend {

struct DemoArgs {
  std::string dir;                    ///< where demo.tp and demo.png go; empty = a new temp folder
  std::string widths = "256,1024,4096";
  int seeds = 8;
  unsigned threads = 0;
};

/// The embedded network script.
const std::string& demo_network_script();

CLI::App* add_demo_command(CLI::App& app, DemoArgs& args);
/// Returns the exit code: 0, or 1 when the folder cannot be written (the message names it).
int run_demo_command(const DemoArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

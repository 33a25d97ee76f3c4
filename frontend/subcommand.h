// A registered CLI subcommand and the action it runs: lets a command family (tpc word2vec ..., tpc maml ...)
// be assembled from several files, each adding its own subcommands to the family's parent.
#pragma once

#include <functional>
#include <ostream>
#include <vector>

#include <CLI/CLI.hpp>

namespace tp::frontend {

/// One subcommand: its CLI11 node (owned by the parent app) and the action to run when it was parsed.
/// The action returns the exit code (0 ok, 1 user error) and writes results to out, messages to err.
struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int(std::ostream& out, std::ostream& err)> run;
};

using Subcommands = std::vector<Subcommand>;

/// Runs the first subcommand in `subs` that was parsed; returns -1 if none was.
inline int run_parsed(const Subcommands& subs, std::ostream& out, std::ostream& err) {
  for (const auto& s : subs)
    if (s.app->parsed()) return s.run(out, err);
  return -1;
}

}  // namespace tp::frontend

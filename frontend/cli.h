// The `tpc` command line: check, dump, run, demo (more commands join as limits and phases land).
// Exit codes: 0 ok, 1 user error (bad script, flag or data), 2 internal error.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace tp::frontend {

/// Runs tpc with argv-style arguments (args[0] is the program name), printing to out/err.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

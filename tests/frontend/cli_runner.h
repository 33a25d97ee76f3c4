// Runs the tpc command line in process for tests: exit code, stdout and stderr.
#pragma once

#include <sstream>
#include <string>
#include <vector>

#include "frontend/cli.h"

namespace tp::testing {

struct Run {
  int code;
  std::string out, err;
};

/// tpc with the given arguments (without the program name).
inline Run tpc(std::vector<std::string> args) {
  args.insert(args.begin(), "tpc");
  std::ostringstream out, err;
  const int code = tp::frontend::run_cli(args, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace tp::testing

// The coordinate check of a graph network (issue #14) for the CLI: runs limits/graph_coordcheck on a
// GraphSpec beside the phase compiler's predictions, prints the table (node, step, predicted, measured ±
// s.e., agreement, sizes per width) and the top singular values, and writes the mup-style plot. `tpc
// coordcheck net.tp` calls it for graph scripts (frontend/coordcheck_command.cpp).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tp/graph.h"

namespace tp::frontend {

struct GraphCoordCheckArgs {
  std::string widths = "128,256,512,1024";  ///< comma-separated increasing widths
  int seeds = 4;
  unsigned threads = 0;                     ///< 0 = all cores
  double budget_gib = 8.0;                  ///< --memory-budget for each run
  double tolerance = 0.1;                   ///< agreement: |measured − predicted| ≤ 3 s.e. + tolerance
  std::string plot;                         ///< PNG path, empty for none
  std::string format = "text";              ///< "text" or "json"
};

/// Prints the check to out (errors to err, or as JSON to out); returns 0 after a completed check (whether
/// or not every row agrees: disagreements are flagged DIFF and counted), 1 on bad flags, a diverging run,
/// a memory budget exceeded or a failed plot.
int run_graph_coordcheck(const GraphSpec& spec, const std::vector<PredictedSize>& predicted, const GraphCoordCheckArgs& args,
                         std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

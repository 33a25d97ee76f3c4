// `tpc phase net.tp` on a graph network script (`network graph { ... }`): per parameter tensor its init
// output size, the size of its update's effect, whether it is updated maximally and learns features, the
// network's verdict with its script line, and the predicted coordinate sizes of every node at steps 0..T
// (tp/graph_phase.h).
#pragma once

#include <ostream>
#include <optional>
#include <string>

#include "tp/graph.h"

#include "frontend/diagnostics.h"

namespace tp::frontend {

/// `tpc check` of a graph script: every error at its word, or a summary of the graph and its tensors.
int check_graph_script(const std::string& path, const SourceFile& file, bool as_json, std::ostream& out,
                       std::ostream& err);

/// Runs the analysis of the graph script at path; format "text" or "json". Returns 0, or 1 after printing
/// the script's errors (file:line:col) or the reason the graph cannot be analysed.
/// Loads and lowers the graph script at path for `command` ("phase", "coordcheck"): on failure prints the
/// load problem or the script's errors (file:line:col, or JSON diagnostics) and returns nullopt.
std::optional<GraphSpec> load_graph_spec(const std::string& path, const std::string& command, bool as_json,
                                         std::ostream& out, std::ostream& err);

/// budget_bytes: the --memory-budget of the second route (the graph unrolled into a level-1 program,
/// tp/graph_unroll.h), whose sizes are compared with the graph calculus ("the routes agree").
int run_graph_phase(const std::string& path, const std::string& format, std::ostream& out, std::ostream& err,
                    double budget_bytes = 8.0 * 1024 * 1024 * 1024);

/// `tpc dump` of a graph script: the level-1 program of the graph and its T training steps on the script's data
/// (tp::unroll_graph), one op per line, or refused over budget_bytes with the figure. Returns 0 or 1.
int run_graph_dump(const std::string& path, bool as_json, double budget_bytes, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

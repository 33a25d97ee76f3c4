// `tpc limit` and `tpc compare` for a network and its training (tp/network.h), whether it comes from a
// level-2 script or from flags: the limit by limits/network_limit.h, the finite widths by running the
// unrolled program (tp/unroll.h) on the finite-width executor (limits/finite.h).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "frontend/network_script.h"
#include "limits/network_limit.h"
#include "tp/network.h"

namespace tp::frontend {

/// True if path names a readable level-2 network script.
bool file_is_network_script(const std::string& path);

/// Loads and compiles a level-2 script (relative data files from the script's folder). On error prints the
/// diagnostics (text: rendered on err; JSON: {"ok": false, "diagnostics": [...]} on out) and returns nullopt;
/// free symbols the policy does not allow are errors at the place they are written (compile_network).
std::optional<NetworkScript> load_network_script(const std::string& path, bool json, std::ostream& out, std::ostream& err,
                                                 FreeExponents free = FreeExponents::refused);

struct NetworkRunOptions {
  std::string title;                     ///< e.g. the script path, for the header line
  bool json = false;
  limits::NetworkLimitOptions limit;
  // compare only
  std::vector<std::size_t> widths{256, 1024, 4096};
  int seeds = 16;
  bool progress = false;                 ///< report the limit's replicas and each width's seeds on stderr
  bool estimate_only = false;            ///< --estimate: print the time estimate of the work and stop
  std::string plot;                      ///< PNG path, empty for none
};

/// Prints f_t at every training and evaluation point for every step with errors; exit code 0, or 1 with a
/// message (unstable: the phase report's reasons).
int run_network_limit(const NetworkSpec& spec, const NetworkRunOptions& options, std::ostream& out, std::ostream& err);

/// Finite widths vs the limit: per width mean ± s.e. of f_T at every point, distance to the limit, fitted
/// convergence exponent, optional plot. Without a limit (unstable) the finite widths still run and the
/// table shows the blow-up.
int run_network_compare(const NetworkSpec& spec, const NetworkRunOptions& options, std::ostream& out, std::ostream& err);

/// Column labels of the points: "train1", ..., "eval1", ... (with "[k]" per output when d_o > 1).
std::vector<std::string> point_labels(const NetworkSpec& spec);

}  // namespace tp::frontend

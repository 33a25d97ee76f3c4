// libFuzzer target for graph network scripts (`network graph { ... }`, issue #14): the script front end and
// everything a valid graph goes through — tp::graph_problem, the graph calculus (tp::graph_phase), and on the
// command line `tpc phase` (both exponent routes: the calculus and the IR route, which unrolls SGD, Adam,
// AdamW, SignSGD and tied readouts into NETSOR⊤ + outer nonlinearities), `tpc dump` (whose output must parse
// back as a level-1 program) and, when the training is small, `tpc coordcheck` at widths 4 and 8. Properties
// checked on every input:
//   1. compile_graph_network never throws: user mistakes are diagnostics; a result iff no errors;
//   2. a compiled graph passes graph_problem, and graph_phase never throws (a step count over its budget is
//      tp::BudgetError);
//   3. `tpc phase`, `tpc dump` and `tpc coordcheck` never exit 2 (internal error) or crash, and a dump that
//      succeeds compiles again with `tpc check`.
// Data files named by a script are read relative to the working directory.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "frontend/cli.h"
#include "frontend/diagnostics.h"
#include "frontend/network_script.h"
#include "tp/errors.h"
#include "tp/graph_phase.h"
#include "tp/leak_suppressions.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& text, const std::string& detail) {
  std::fprintf(stderr, "fuzz_graph: %s\n--- input ---\n%s\n--- detail ---\n%s\n", what, text.c_str(), detail.c_str());
  std::abort();
}

int run_tpc(const std::vector<std::string>& args, const std::string& text, std::string* out_text = nullptr) {
  std::ostringstream out, err;
  const int code = tp::frontend::run_cli(args, out, err);
  if (code != 0 && code != 1) fail(("tpc " + args[1] + " exited " + std::to_string(code)).c_str(), text, err.str());
  if (out_text) *out_text = out.str();
  return code;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!tp::frontend::is_graph_network_script(text)) return 0;
  tp::frontend::DiagnosticEngine diags;
  std::optional<tp::frontend::GraphScript> script;
  try {
    script = tp::frontend::compile_graph_network(text, "", diags);
  } catch (const std::exception& e) {
    fail("compile_graph_network threw", text, e.what());
  }
  (void)tp::frontend::render(diags.diagnostics(), {"fuzz.tp", text});
  if (script.has_value() == diags.has_errors()) fail("a result and errors disagree", text, "");
  if (!script) return 0;
  const tp::GraphSpec& spec = script->spec;
  if (const std::string problem = tp::graph_problem(spec); !problem.empty()) fail("graph_problem", text, problem);
  try {
    (void)tp::graph_phase(spec);
  } catch (const tp::BudgetError&) {
  } catch (const std::exception& e) {
    fail("graph_phase threw", text, e.what());
  }
  static const std::string path = "/tmp/fuzz_graph_" + std::to_string(::getpid()) + ".tp";
  static const std::string dumped = "/tmp/fuzz_graph_" + std::to_string(::getpid()) + "_dump.tp";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  run_tpc({"tpc", "phase", path, "--memory-budget", "0.0625"}, text);
  std::string program;
  if (run_tpc({"tpc", "dump", path, "--memory-budget", "0.0625"}, text, &program) == 0) {
    std::ofstream(dumped, std::ios::binary | std::ios::trunc) << program;
    if (run_tpc({"tpc", "check", dumped}, text) != 0) fail("the dump of a graph does not compile", text, program);
  }
  // Training at widths 4 and 8 costs about steps × examples × nodes × width² per run.
  const long long rows = spec.train_x.rows() + spec.eval_x.rows();
  if (static_cast<long long>(spec.training.steps) * rows * static_cast<long long>(spec.nodes.size()) <= 20000)
    run_tpc({"tpc", "coordcheck", path, "--widths", "4,8", "--seeds", "2", "--threads", "1", "--memory-budget", "0.25"}, text);
  return 0;
}

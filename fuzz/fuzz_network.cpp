// libFuzzer target for level-2 network scripts (issue 12 item 11): the script front end, then everything a
// valid script goes through before numbers — tp::network_problem, the TP4 closed-form phase, tp::unroll
// (program, size exponents), the IR verifier, `tpc phase` on the script (free symbols, both exponent routes)
// and one width-4 run of the unrolled program. Properties checked on every input:
//   1. compile_network never throws: user mistakes are diagnostics with a source range (free symbols are
//      accepted as phase accepts them; their placeholder 0 is unrolled);
//   2. a compiled script passes network_problem, and unroll either refuses it (std::invalid_argument for
//      Adam/SignSGD, BudgetError above a 64 MiB budget) or builds a program the verifier accepts;
//   3. `tpc phase file` and `tpc run file --width 4 --seeds 1` never exit 2 (internal error) or crash.
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
#include "tp/leak_suppressions.h"
#include "tp/mlp_phase.h"
#include "tp/unroll.h"
#include "tp/verify.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& text, const std::string& detail) {
  std::fprintf(stderr, "fuzz_network: %s\n--- input ---\n%s\n--- detail ---\n%s\n", what, text.c_str(), detail.c_str());
  std::abort();
}

constexpr double kBudget = 64.0 * (1 << 20);

void run_tpc(const std::vector<std::string>& args, const std::string& text) {
  std::ostringstream out, err;
  const int code = tp::frontend::run_cli(args, out, err);
  if (code != 0 && code != 1) fail(("tpc " + args[1] + " exited " + std::to_string(code)).c_str(), text, err.str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  tp::frontend::DiagnosticEngine diags;
  std::optional<tp::frontend::NetworkScript> script;
  try {
    script = tp::frontend::compile_network(text, "", diags, tp::frontend::FreeExponents::up_to_two);
  } catch (const std::exception& e) {
    fail("compile_network threw", text, e.what());
  }
  (void)tp::frontend::render(diags.diagnostics(), {"fuzz.tp", text});
  if (script.has_value() == diags.has_errors()) fail("a result and errors disagree", text, "");
  if (!script) return 0;
  const tp::NetworkSpec& spec = script->spec;
  if (const std::string problem = tp::network_problem(spec); !problem.empty()) fail("network_problem", text, problem);
  (void)tp::classify_mlp(spec.abc);
  tp::UnrollOptions options;
  options.memory_budget_bytes = kBudget;
  bool small = false;
  try {
    const tp::UnrolledProgram up = tp::unroll(spec, options);
    if (const auto broken = tp::verify(up.program); !broken.empty()) fail("the unrolled program is broken", text, broken[0]);
    small = up.program.size() < 5000;
  } catch (const std::invalid_argument&) {
  } catch (const tp::BudgetError&) {
  }
  // The command line on the script as a file: phase (its own unroll at T = 2) and a tiny finite run.
  static const std::string path = "/tmp/fuzz_network_" + std::to_string(::getpid()) + ".tp";
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  if (tp::unroll_memory_estimate([&] {
        tp::NetworkSpec two = spec;
        two.steps = 2;
        return two;
      }()) < kBudget)
    run_tpc({"tpc", "phase", path}, text);
  if (small) run_tpc({"tpc", "run", path, "--width", "4", "--seeds", "1", "--threads", "1", "--memory-budget", "0.0625"}, text);
  return 0;
}

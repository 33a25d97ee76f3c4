// See demo_command.h. Steps: 1. the folder and the script; 2. the phase; 3. the limit; 4. the finite widths
// against the limit, with the plot — each through the command it shows.
#include "frontend/demo_command.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <system_error>
#include <unistd.h>

#include "frontend/flag_checks.h"
#include "frontend/network_commands.h"
#include "frontend/phase_command.h"

namespace tp::frontend {

const std::string& demo_network_script() {
  static const std::string text =
      R"(# tpc demo: a one-hidden-layer tanh network in µP (the maximal-update parametrization, TP4 §5), trained
# by full-batch SGD on three points in R^2; f is also reported at one evaluation point.
network mlp { input 2; dense n tanh; readout 1 }
parametrization mup            # a = [-1/2, 1/2], b = [1/2, 1/2], c = 0
optimizer sgd lr 0.5
loss mse
data { x = [[1, 0], [0.6, 0.8], [-0.5, 1]]; y = [1, -1, 0.5]; eval = [[0.2, -0.9]] }
train steps 3 batch full
)";
  return text;
}

CLI::App* add_demo_command(CLI::App& app, DemoArgs& args) {
  auto* sub = app.add_subcommand(
      "demo", "what tpc is for, in under a minute: an embedded µP network script, its phase, its infinite-width "
              "limit and finite widths trained and converging to it, with the plot (runs tpc phase, limit and "
              "compare on it and shows each command)");
  sub->add_option("--dir", args.dir, "folder for demo.tp and demo.png (default: a new folder under the temp folder)");
  sub->add_option("--widths", args.widths, "comma-separated increasing widths for the finite networks")
      ->default_val("256,1024,4096");
  sub->add_option("--seeds", args.seeds, "seeds per width")->check(CLI::Range(2, 10000))->default_val(8);
  sub->add_option("--threads", args.threads, "worker threads (0 = all cores)")->check(non_negative_integer())->default_val(0);
  return sub;
}

int run_demo_command(const DemoArgs& args, std::ostream& out, std::ostream& err) {
  namespace fs = std::filesystem;
  // 1. the folder and the script
  std::vector<std::size_t> widths;
  try {
    widths = parse_width_list(args.widths, 1 << 16);
  } catch (const FlagError& e) {
    err << "tpc demo: error: " << e.message << "\n";
    return 1;
  }
  fs::path dir = args.dir;
  std::error_code ec;
  if (dir.empty()) {
    std::string pattern = (fs::temp_directory_path(ec) / "tpc-demo-XXXXXX").string();
    if (ec || ::mkdtemp(pattern.data()) == nullptr) {
      err << "tpc demo: error: cannot create a folder under the temp folder; pass --dir DIR\n";
      return 1;
    }
    dir = pattern;
  } else {
    fs::create_directories(dir, ec);
  }
  const fs::path script = dir / "demo.tp", plot = dir / "demo.png";
  {
    std::ofstream f(script);
    f << demo_network_script();
    if (!f) {
      err << "tpc demo: error: cannot write " << script.string() << "; pass --dir with a writable folder\n";
      return 1;
    }
  }
  out << "tpc demo: a network, its phase, its infinite-width limit and finite widths converging to it.\n"
      << "The network script (" << script.string() << "):\n\n"
      << demo_network_script() << "\n";
  // 2. the phase
  out << "== 1. The phase: how every layer scales with the width n (TP4 §3-5) ==\n$ tpc phase " << script.string()
      << "\n";
  PhaseArgs phase;
  phase.file = script.string();
  if (int code = run_phase_command(phase, out, err); code != 0) return code;
  auto loaded = load_network_script(script.string(), false, out, err);
  if (!loaded) return 1;
  // 3. the limit
  out << "\n== 2. The infinite-width limit of f_t at every point and step, with its error ==\n$ tpc limit "
      << script.string() << "\n";
  NetworkRunOptions o;
  o.title = script.string();
  o.limit.threads = args.threads;
  if (int code = run_network_limit(loaded->spec, o, out, err); code != 0) return code;
  // 4. finite widths against the limit
  out << "\n== 3. Finite widths trained and compared with the limit ==\n$ tpc compare " << script.string()
      << " --widths " << args.widths << " --seeds " << args.seeds << " --plot " << plot.string() << "\n";
  o.widths = widths;
  o.seeds = args.seeds;
  o.plot = plot.string();
  o.progress = ::isatty(2);
  if (int code = run_network_compare(loaded->spec, o, out, err); code != 0) return code;
  out << "\nplot: " << plot.string() << " (f_t per width with the limit; distance to the limit vs width)\n"
      << "next: 'tpc --help' lists every command; the README's five-minute tour goes further.\n";
  return 0;
}

}  // namespace tp::frontend

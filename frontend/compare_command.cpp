// See compare_command.h. Steps: 1. the network from the script, or from flags (parametrization, activation,
// the fixed random data of limits/mlp_train.h); 2. frontend/network_commands.h does the rest (limit, finite
// widths, distances, fitted exponent, plot, printing).
#include "frontend/compare_command.h"
#include "frontend/flag_checks.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "frontend/activation.h"
#include "frontend/network_commands.h"
#include "frontend/progress.h"
#include "limits/mlp_train.h"

namespace tp::frontend {

using nlohmann::json;

CLI::App* add_compare_command(CLI::App& app, CompareArgs& args) {
  auto* sub = app.add_subcommand("compare",
                                 "train the finite network at several widths and compare f_t with its infinite-width "
                                 "limit (route as in 'tpc limit'): distances and the fitted convergence rate");
  sub->add_option("file", args.abc.file,
                  "a network script (level 2): its network, parametrization, data, evaluation points and steps "
                  "replace --mlp, --preset, --a/--b/--c, --act, --lr, --steps, --inputs, --dim");
  add_parametrization_flags(sub, args.abc);
  sub->add_option("--act", args.act, "activation: a name (tanh, relu, ...) or an expression in x")->default_val("tanh");
  sub->add_option("--widths", args.widths, "comma-separated increasing widths")->default_val("256,1024,4096");
  sub->add_option("--seeds", args.seeds, "seeds per width")->check(CLI::Range(2, 100000))->default_val(16);
  sub->add_option("--steps", args.steps, "full-batch SGD steps T")->check(CLI::Range(1, 10000))->default_val(3);
  sub->add_option("--lr", args.lr, "learning rate eta")->check(positive_finite())->default_val(0.5);
  sub->add_option("--inputs", args.inputs, "training inputs m (random, fixed)")->check(CLI::Range(1, 1000))->default_val(4);
  sub->add_option("--dim", args.dim, "input dimension d (quadrature limit when d + 1 <= 4, Monte Carlo above)")
      ->check(CLI::Range(1, 1000))
      ->default_val(2);
  sub->add_option("--threads", args.threads, "worker threads (0 = all cores)")->check(non_negative_integer())->default_val(0);
  sub->add_option("--plot", args.plot, "write a PNG: f_t at the first point per step per width with the limit, and distance vs width");
  sub->add_option("--route", args.route, "limit route: auto, exact, quadrature, monte_carlo or kernel (see 'tpc limit')")
      ->check(CLI::IsMember({"auto", "exact", "quadrature", "monte_carlo", "kernel"}))
      ->default_val("auto");
  sub->add_option("--particles", args.particles,
                  "Monte Carlo particles per replica for the limit (default: 4096 scrambled Sobol points on the "
                  "monte_carlo route, 32768 for the quadrature route's Monte Carlo fallback)")
      ->check(CLI::Range(16LL, 1LL << 26));
  sub->add_option("--memory-budget", args.budget_gib,
                  "refuse widths (n×n matrices per seed) or particle counts needing more memory than this many GiB")
      ->check(positive_finite())
      ->default_val(8.0);
  sub->add_option("--zdot", args.zdot, "Monte Carlo ZDot form: auto, derivative, stein, none")
      ->check(CLI::IsMember({"auto", "derivative", "stein", "none"}))
      ->default_val("auto");
  sub->add_flag("--progress", args.progress,
                "report the limit's Monte Carlo replicas and each width's seeds, with the time left, on stderr even "
                "when it is not a terminal");
  sub->add_flag("--estimate", args.estimate,
                "print the estimated time of the limit and of the finite widths (from op counts) and stop; it is "
                "printed on stderr before any run expected to take 5 s or more");
  sub->add_option("--format", args.abc.format, "output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  return sub;
}

int run_compare_command(const CompareArgs& args, std::ostream& out, std::ostream& err) {
  const bool as_json = args.abc.format == "json";
  auto fail = [&](const std::string& msg) {
    if (as_json) out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
    else err << "tpc compare: error: " << msg << "\n";
    return 1;
  };
  NetworkRunOptions o;
  o.json = as_json;
  o.seeds = args.seeds;
  o.plot = args.plot;
  o.limit.threads = args.threads;
  if (args.particles > 0) o.limit.particles = o.limit.quadrature_mc_particles = args.particles;
  else o.limit.quadrature_mc_particles = 1 << 15;
  o.limit.zdot = args.zdot;
  o.limit.memory_budget_bytes = args.budget_gib * 1024.0 * 1024.0 * 1024.0;
  o.progress = args.progress || (!as_json && ::isatty(2));
  o.estimate_only = args.estimate;
  if (!limits::parse_limit_route(args.route, o.limit.route)) return fail("--route: unknown route '" + args.route + "'");
  NetworkSpec spec;
  try {
    o.widths = parse_width_list(args.widths, 1 << 20);
    if (!args.abc.file.empty()) {
      auto script = load_network_script(args.abc.file, as_json, out, err);
      if (!script) return 1;
      spec = script->spec;
      o.title = args.abc.file;
    } else {
      spec.abc = parametrization_from_flags(args.abc);
      spec.depth = spec.abc.depth();
      std::string problem;
      spec.activation = parse_activation(args.act, problem);
      if (!spec.activation) return fail("--act: " + problem);
      spec.activation_text = args.act;
      spec.input_dim = args.dim;
      spec.lr = args.lr;
      spec.steps = args.steps;
      Eigen::VectorXd y;
      limits::default_data(args.inputs, args.dim, spec.train_x, y);
      spec.train_y = y;
    }
  } catch (const FlagError& e) {
    return fail(e.message);
  }
  return run_network_compare(spec, o, out, err);
}

}  // namespace tp::frontend

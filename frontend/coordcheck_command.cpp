// See coordcheck_command.h. Steps: 1. parametrization, activation, widths from the flags; 2. run the
// coordinate check; 3. print the table (text) or rows (JSON).
#include "frontend/coordcheck_command.h"
#include "frontend/flag_checks.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "frontend/activation.h"
#include "frontend/graph_coordcheck_command.h"
#include "frontend/graph_phase_command.h"
#include "frontend/network_script.h"
#include "frontend/source_loader.h"
#include "frontend/network_commands.h"
#include "frontend/number_format.h"
#include "frontend/check_errors.h"
#include "frontend/plot.h"
#include "limits/coordcheck.h"
#include "tp/graph_phase.h"
#include "tp/network_graph.h"
#include "tp/errors.h"

namespace tp::frontend {

namespace {

using nlohmann::json;



/// The check of a graph (issue #14): the phase compiler's predicted sizes (tp/graph_phase.h) beside the
/// finite-width measurements of limits/graph_coordcheck; the script sets the network, data and steps. The graph
/// comes from a graph script, or from an MLP script trained by Adam or SignSGD (tp/network_graph.h: tp::unroll and
/// the MLP trainer are SGD only).
int graph_coordcheck(const GraphSpec& spec_ref, const CoordCheckArgs& args, std::ostream& out, std::ostream& err) {
  const bool as_json = args.abc.format == "json";
  auto fail = [&](const std::string& msg) {
    if (as_json) out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
    else err << "tpc coordcheck: error: " << msg << "\n";
    return 1;
  };
  const GraphSpec* spec = &spec_ref;
  try {
    for (std::size_t n : parse_width_list(args.widths, 65536))
      if (const std::string problem = width_problem(*spec, static_cast<long long>(n)); !problem.empty())
        return fail("--widths: " + problem);
  } catch (const FlagError& e) {
    return fail(e.message);
  }
  GraphPhase phase;
  try {
    phase = graph_phase(*spec);
  } catch (const std::invalid_argument& e) {
    return fail(std::string("no prediction to compare with: ") + e.what());
  }
  // The trainer measures every node but the input, and each attention's logits (limits/graph_train.h); the
  // phase also predicts attention's q, k, v, which are not measured, so those predictions are left out.
  std::vector<PredictedSize> measured;
  for (const PredictedSize& p : phase.sizes) {
    const bool kept = std::any_of(spec->nodes.begin() + 1, spec->nodes.end(), [&](const GraphNode& n) {
      return p.node == n.name || (n.op == GraphOp::attention && p.node == n.name + ".logits");
    });
    if (kept) measured.push_back(p);
  }
  GraphCoordCheckArgs g;
  g.widths = args.widths;
  g.seeds = args.seeds;
  g.threads = args.threads;
  g.budget_gib = args.budget_gib;
  g.plot = args.plot;
  g.format = args.abc.format;
  return run_graph_coordcheck(*spec, measured, g, out, err);
}

int graph_script_coordcheck(const CoordCheckArgs& args, std::ostream& out, std::ostream& err) {
  const auto spec = load_graph_spec(args.abc.file, "coordcheck", args.abc.format == "json", out, err);
  return spec ? graph_coordcheck(*spec, args, out, err) : 1;
}

}  // namespace

CLI::App* add_coordcheck_command(CLI::App& app, CoordCheckArgs& args) {
  auto* sub = app.add_subcommand("coordcheck",
                                 "train a network at several widths and compare the fitted size exponents of its values and their "
                                 "changes with the predictions of tpc phase (the coordinate check): an MLP (h^l, f, dh^l_t, "
                                 "df_t against TP4) or a graph script (every node, attention logits and top singular values)");
  sub->add_option("file", args.abc.file,
                  "a network script (level 2, `network mlp` or `network graph`): its network, parametrization, data "
                  "and steps replace --mlp, --preset, --a/--b/--c, --act, --lr, --steps, --inputs, --dim");
  add_parametrization_flags(sub, args.abc);
  sub->add_option("--act", args.act, "activation: a name (relu, tanh, ...) or an expression in x")->default_val("relu");
  sub->add_option("--widths", args.widths, "comma-separated increasing widths")->default_val("256,512,1024,2048");
  sub->add_option("--seeds", args.seeds, "seeds per width")->check(CLI::Range(2, 10000))->default_val(4);
  sub->add_option("--steps", args.steps, "SGD steps T")->check(CLI::Range(1, 1000))->default_val(2);
  sub->add_option("--lr", args.lr, "learning rate eta (times n^-c)")->check(positive_finite())->default_val(0.5);
  sub->add_option("--inputs", args.inputs, "training inputs m (random, fixed across widths and seeds)")
      ->check(CLI::Range(1, 100000))
      ->default_val(4);
  sub->add_option("--dim", args.dim, "input dimension d")->check(CLI::Range(1, 100000))->default_val(3);
  sub->add_option("--threads", args.threads, "worker threads (0 = all cores)")->check(non_negative_integer())->default_val(0);
  sub->add_option("--memory-budget", args.budget_gib,
                  "GiB this process may take (counting what it holds already): a width over it is refused before "
                  "training, with the figure")
      ->check(positive_finite())
      ->default_val(8.0);
  sub->add_option("--plot", args.plot, "write a log-log PNG of size vs width, one panel per step, predicted slopes dashed (graph scripts: one line per node, x_t and its change in two rows, one shared legend; needs gnuplot)");
  sub->add_option("--format", args.abc.format, "output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  return sub;
}

int run_coordcheck_command(const CoordCheckArgs& args, std::ostream& out, std::ostream& err) {
  const bool as_json = args.abc.format == "json";
  auto fail = [&](const std::string& msg) {
    if (as_json) out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
    else err << "tpc coordcheck: error: " << msg << "\n";
    return 1;
  };
  if (!args.abc.file.empty()) {
    std::string problem;
    const auto file = load_source(args.abc.file, problem);
    if (file && is_graph_network_script(file->text)) return graph_script_coordcheck(args, out, err);
  }
  limits::MlpTraining spec;
  limits::CoordCheckOptions opt;
  std::optional<NetworkScript> script;
  std::string act_text = args.act;
  double lr = args.lr;
  try {
    opt.widths = parse_width_list(args.widths, 65536);
    if (!args.abc.file.empty()) {
      script = load_network_script(args.abc.file, as_json, out, err);
      if (!script) return 1;
      if (script->spec.abc.optimizer != Optimizer::sgd) return graph_coordcheck(network_graph(script->spec), args, out, err);
      spec.abc = script->spec.abc;
      spec.steps = script->spec.steps;
      act_text = script->spec.activation_text;
      lr = script->spec.lr;
    } else {
      spec.abc = parametrization_from_flags(args.abc);
    }
  } catch (const FlagError& e) {
    return fail(e.message);
  }
  if (!script) {
    std::string problem;
    spec.activation = parse_activation(args.act, problem);
    if (!spec.activation) return fail("--act: " + problem);
    spec.lr = args.lr;
    spec.steps = args.steps;
    limits::default_data(args.inputs, args.dim, spec.inputs, spec.targets);
  }
  opt.seeds = args.seeds;
  opt.threads = args.threads;
  opt.memory_budget_bytes = args.budget_gib * 1024.0 * 1024.0 * 1024.0;
  limits::CoordCheck cc;
  if (const std::string e = check_failure([&] { cc = script ? limits::coordcheck(script->spec, opt) : limits::coordcheck(spec, opt); });
      !e.empty())
    return fail(e);
  int disagreements = 0;
  for (const auto& r : cc.rows) disagreements += !r.agrees;
  if (!args.plot.empty()) {
    // one panel per step: measured sizes per quantity, and the predicted slope through the last point
    std::vector<PlotPanel> panels;
    std::vector<double> xs(cc.widths.begin(), cc.widths.end());
    for (int t = 0; t <= spec.steps; ++t) {
      PlotPanel panel;
      panel.title = t == 0 ? "initialization" : "after step " + std::to_string(t);
      panel.xlabel = "width n";
      panel.ylabel = "coordinate size";
      panel.logx = panel.logy = true;
      for (const auto& r : cc.rows) {
        if (r.step != t) continue;
        panel.series.push_back({r.quantity + " (fit n^" + fixed(r.measured, 2) + ")", xs, r.size_by_width, false});
        if (r.has_prediction) {
          std::vector<double> ys;
          for (double x : xs) ys.push_back(r.size_by_width.back() * std::pow(x / xs.back(), r.predicted));
          panel.series.push_back({r.quantity + " predicted n^" + fixed(r.predicted, 2), xs, ys, true});
        }
      }
      panels.push_back(std::move(panel));
    }
    try {
      write_png(args.plot, panels);
    } catch (const PlotError& e) {
      return fail(std::string("--plot: ") + e.what());
    }
  }
  if (as_json) {
    json rows = json::array();
    for (const auto& r : cc.rows)
      rows.push_back({{"quantity", r.quantity},
                      {"step", r.step},
                      {"predicted", r.has_prediction ? json(r.predicted) : json(nullptr)},
                      {"measured", r.measured},
                      {"stderr", std::isnan(r.stderr_) ? json(nullptr) : json(r.stderr_)},
                      {"agrees", r.agrees},
                      {"size_by_width", r.size_by_width}});
    out << json{{"ok", true},
                {"parametrization", spec.abc.name},
                {"regime", std::string(regime_name(cc.phase.regime))},
                {"widths", cc.widths},
                {"rows", rows},
                {"disagreements", disagreements}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << "coordinate check: MLP L = " << spec.abc.depth() << ", " << spec.abc.name << " (c = " << to_string(spec.abc.c)
      << "), act " << act_text << ", lr " << lr << ", " << args.seeds << " seeds; predicted regime "
      << regime_name(cc.phase.regime) << "\nsize = RMS over seeds of the coordinate RMS; exponent e in size ~ n^e\n\n";
  out << "quantity   t  predicted  measured (s.e.)    ";
  for (auto w : cc.widths) {
    std::string h = "n=" + std::to_string(w);
    out << h << std::string(h.size() < 11 ? 11 - h.size() : 1, ' ');
  }
  out << "\n";
  for (const auto& r : cc.rows) {
    std::string q = r.quantity;
    std::size_t cols = 0;
    for (unsigned char ch : q) cols += (ch & 0xC0) != 0x80;
    out << q << std::string(cols < 11 ? 11 - cols : 1, ' ') << r.step << "  "
        << (r.has_prediction ? (r.predicted >= 0 ? " " : "") + fixed(r.predicted, 2) : std::string("    -")) << "      "
        << (r.measured >= 0 ? " " : "") << fixed(r.measured, 2) << " ("
        << fixed(r.stderr_, 2) << ")" << (r.agrees ? "      " : " DIFF ");
    for (double s : r.size_by_width) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%-11.3g", s);
      out << buf;
    }
    out << "\n";
  }
  if (!cc.phase.stable)
    out << "\nunstable parametrization (TP4 Thm 3.3): only initialization and the first step are predicted; the blow-up "
           "compounds afterwards ('-')";
  out << "\n" << (disagreements ? std::to_string(disagreements) + " quantities disagree with the prediction (DIFF)"
                                : "all measured exponents agree with the prediction")
      << " (tolerance 3 s.e. + 0.1)\n";
  return 0;
}

}  // namespace tp::frontend

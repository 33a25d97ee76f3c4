// See graph_phase_command.h. Steps: 1. load and lower the script (errors at their words); 2. tp::graph_phase;
// 3. print the per-tensor table, the verdict and the predicted sizes (text) or all of it (json).
#include "frontend/graph_phase_command.h"

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "frontend/network_script.h"
#include "frontend/source_loader.h"
#include "tp/errors.h"
#include "tp/graph_phase.h"
#include "tp/graph_unroll.h"
#include "tp/printer.h"

namespace tp::frontend {

namespace {

using nlohmann::json;

std::string exponent_text(const SizeExp& s) { return s ? size_text(s) : "zero"; }

std::string pad(const std::string& s, std::size_t w) {
  // pad by code points so Θ and Δ do not shift columns
  std::size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps >= w ? s + " " : s + std::string(w - cps, ' ');
}

std::string verdict_line(const GraphPhase& ph) {
  switch (ph.regime) {
    case Regime::unstable:
      return "unstable: " + ph.first_problem;
    case Regime::trivial: return "trivial: " + ph.regime_reason;
    case Regime::kernel: return "kernel regime: " + ph.regime_reason;
    case Regime::feature_learning: return "feature learning: " + ph.regime_reason;
  }
  return "";
}

void print_text(const std::string& file, const GraphSpec& g, const GraphPhase& ph, std::ostream& out) {
  out << "graph network " << file << ": " << g.nodes.size() << " nodes, " << g.params.size()
      << " parameter tensors, S = " << g.positions << " position" << (g.positions == 1 ? "" : "s") << ", "
      << optimizer_name(g.training.optimizer) << ", T = " << g.training.steps << " step"
      << (g.training.steps == 1 ? "" : "s") << "\n\n";
  std::size_t wt = 8, wq = 10;
  for (const auto& t : ph.tensors) wt = std::max(wt, t.name.size() + 1);
  for (const auto& s : ph.sizes) wq = std::max(wq, s.node.size() + 1);
  out << pad("tensor", wt) << pad("kind", 12) << pad("line", 5) << pad("a", 5) << pad("b", 5) << pad("c", 5)
      << pad("init W_0 x", 12) << pad("update ΔW x", 16) << pad("maximal", 8) << "features\n";
  for (const TensorPhase& t : ph.tensors) {
    const GraphParameter& w = g.params[static_cast<std::size_t>(t.param)];
    std::string upd = exponent_text(t.update_effect);
    if (t.update_effect) upd += " (t=" + std::to_string(t.update_step) + ")";
    const bool width_out = w.kind != TensorKind::output_like && w.kind != TensorKind::scalar_like;
    out << pad(t.name, wt) << pad(std::string(tensor_kind_name(w.kind)), 12) << pad(std::to_string(t.range.begin.line), 5)
        << pad(to_string(w.scaling.a), 5) << pad(to_string(w.scaling.b), 5) << pad(to_string(w.scaling.c), 5)
        << pad(exponent_text(t.init_output), 12) << pad(upd, 16) << pad(t.updated_maximally ? "yes" : "no", 8)
        << (width_out ? (t.learns_features ? "yes" : "no") : "-") << "\n";
  }
  for (const TensorPhase& t : ph.tensors)
    if (!t.decay.empty()) out << "weight decay of " << t.name << ": " << t.decay << "\n";
  for (std::size_t p = 0; p < g.tied.size(); ++p)
    if (g.tied[p] >= 0)
      out << g.params[p].name << " is tied to " << g.params[static_cast<std::size_t>(g.tied[p])].name
          << ": it applies n^-a w^T with the embedding's w (init, learning rate and both gradients); a is its own\n";
  out << "\nverdict: " << verdict_line(ph) << "\n";
  const std::size_t shown = std::min<std::size_t>(ph.problems.size(), 4);
  for (std::size_t i = 1; i < shown; ++i) out << "  also: " << ph.problems[i] << "\n";
  if (ph.problems.size() > shown)
    out << "  and " << ph.problems.size() - shown << " more at the same step (all in --format json)\n";
  out << "(the exponents reach their fixed point after step " << ph.fixed_point
      << "; the verdict holds for every later step)\n\n";
  // Predicted coordinate sizes: one line per quantity, init then Δ at each step.
  const int T = g.training.steps;
  out << "predicted coordinate sizes: the exponent e of Θ(n^e) at init and of the change Δ_t = x_t - x_0 after "
         "step t (zero: exactly 0; ?: not predicted after a blow-up)\n";
  out << pad("quantity", wq) << pad("init", 9);
  for (int t = 1; t <= T && t <= 8; ++t) out << pad("Δ_" + std::to_string(t), 9);
  if (T > 8) out << "(steps 9.." << T << " in --format json)";
  out << "\n";
  std::string current;
  for (const PredictedSize& s : ph.sizes) {
    if (s.step > 8) continue;
    if (s.step == 0) {
      if (!current.empty()) out << "\n";
      current = s.node;
      out << pad(s.node, wq);
    }
    if (s.step > 0 && !s.delta) continue;
    const std::string v = !s.known ? "?" : s.vanishes ? "zero" : to_string(s.exponent);
    out << pad(v, 9);
  }
  out << "\n";
}

json tensor_json(const GraphSpec& g, const TensorPhase& t) {
  const GraphParameter& w = g.params[static_cast<std::size_t>(t.param)];
  auto e = [](const SizeExp& s) { return s ? json(to_string(*s)) : json(nullptr); };
  return {{"tensor", t.name},
          {"kind", std::string(tensor_kind_name(w.kind))},
          {"node", t.node},
          {"output", t.output},
          {"line", t.range.begin.line},
          {"a", to_string(w.scaling.a)},
          {"b", to_string(w.scaling.b)},
          {"c", to_string(w.scaling.c)},
          {"d", w.scaling.eps_modelled ? json(to_string(w.scaling.d)) : json(nullptr)},
          {"wd_exponent", to_string(w.scaling.wd_exponent)},
          {"zero_init", w.scaling.zero_init},
          {"init_output_exponent", e(t.init_output)},
          {"update_effect_exponent", e(t.update_effect)},
          {"update_step", t.update_step},
          {"updated_maximally", t.updated_maximally},
          {"learns_features", t.learns_features},
          {"weight_decay", t.decay}};
}

// The script's errors (file:line:col, or JSON diagnostics); returns the exit code 1.
int report(const DiagnosticEngine& diags, const SourceFile& file, bool as_json, std::ostream& out, std::ostream& err) {
  if (as_json) {
    out << json{{"ok", false}, {"diagnostics", diagnostics_json(diags.diagnostics(), file)}}.dump(2) << "\n";
  } else {
    err << render(diags.diagnostics(), file);
    err << diags.error_count() << " error" << (diags.error_count() == 1 ? "" : "s") << " in " << file.name << "\n";
  }
  return 1;
}

}  // namespace

int check_graph_script(const std::string& path, const SourceFile& file, bool as_json, std::ostream& out,
                       std::ostream& err) {
  DiagnosticEngine diags;
  auto script = compile_graph_network(file.text, std::filesystem::path(path).parent_path().string(), diags);
  if (!script) return report(diags, file, as_json, out, err);
  if (!as_json && !diags.diagnostics().empty()) err << render(diags.diagnostics(), file);  // warnings
  const GraphSpec& g = script->spec;
  if (as_json) {
    json nodes = json::array(), params = json::array();
    for (const auto& v : g.nodes)
      nodes.push_back({{"name", v.name}, {"op", std::string(graph_op_name(v.op))}, {"line", v.range.begin.line}});
    for (const auto& w : g.params)
      params.push_back({{"name", w.name}, {"kind", std::string(tensor_kind_name(w.kind))}, {"a", to_string(w.scaling.a)},
                        {"b", to_string(w.scaling.b)}, {"c", to_string(w.scaling.c)},
                        {"wd_exponent", to_string(w.scaling.wd_exponent)}, {"zero_init", w.scaling.zero_init}});
    out << json{{"ok", true}, {"file", file.name}, {"level", 2},
                {"network", {{"architecture", "graph"}, {"positions", g.positions}, {"input_dim", g.input_dim},
                             {"output_dim", g.output_dim}, {"depth", g.depth}, {"nodes", nodes}}},
                {"parametrization", params},
                {"optimizer", {{"name", std::string(optimizer_name(g.training.optimizer))}, {"lr", g.training.lr},
                               {"weight_decay", g.training.weight_decay}}},
                {"data", {{"train_rows", g.train_x.rows()}, {"examples", g.train_y.rows()}, {"eval_rows", g.eval_x.rows()}}},
                {"train", {{"steps", g.training.steps}}}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << file.name << ": ok: network script\n";
  out << "  network          graph, " << g.nodes.size() << " nodes, input d = " << g.input_dim << " at S = "
      << g.positions << " position" << (g.positions == 1 ? "" : "s") << ", readout d_o = " << g.output_dim
      << ", L = " << g.depth << "\n";
  out << "  parametrization  " << g.params.size() << " tensors:";
  for (const auto& w : g.params)
    out << "\n    " << pad(w.name, 24) << pad(std::string(tensor_kind_name(w.kind)), 12) << "a = " << to_string(w.scaling.a)
        << ", b = " << to_string(w.scaling.b) << ", c = " << to_string(w.scaling.c)
        << (w.scaling.zero_init ? ", zero init" : "");
  out << "\n  optimizer        " << optimizer_name(g.training.optimizer) << " lr " << g.training.lr << "\n";
  out << "  data             " << g.train_y.rows() << " example" << (g.train_y.rows() == 1 ? "" : "s") << " ("
      << g.train_x.rows() << " rows of x)\n";
  out << "  train            " << g.training.steps << " step" << (g.training.steps == 1 ? "" : "s") << "\n";
  return 0;
}

std::optional<GraphSpec> load_graph_spec(const std::string& path, const std::string& command, bool as_json,
                                         std::ostream& out, std::ostream& err) {
  std::string problem;
  const auto file = load_source(path, problem);
  if (!file) {
    if (as_json) out << json{{"ok", false}, {"error", problem}}.dump(2) << "\n";
    else err << "tpc " << command << ": error: " << problem << "\n";
    return std::nullopt;
  }
  DiagnosticEngine diags;
  auto script = compile_graph_network(file->text, std::filesystem::path(path).parent_path().string(), diags);
  if (!script) {
    report(diags, *file, as_json, out, err);
    return std::nullopt;
  }
  if (!as_json && !diags.diagnostics().empty()) err << render(diags.diagnostics(), *file);  // warnings
  return std::move(script->spec);
}

namespace {

// The second route: the graph on one representative example unrolled into a level-1 program for up to 3 steps
// (tp/graph_unroll.h), its sizes compared with the calculus's.
struct IrRoute {
  std::string unavailable;  ///< why the route did not run ("" if it did)
  int steps = 0;
  GraphRouteComparison cmp;
};

IrRoute ir_route(const GraphSpec& g, const GraphPhase& ph, double budget_bytes) {
  IrRoute r;
  if (const std::string why = graph_unroll_unsupported(g); !why.empty()) {
    r.unavailable = why;
    return r;
  }
  try {
    GraphUnrollOptions o;
    o.steps = std::min(g.training.steps, 3);
    o.memory_budget_bytes = budget_bytes;
    o.budget_flag = "--memory-budget";
    const GraphUnrolled ir = unroll_graph(graph_representative_spec(g), o);
    r.steps = ir.steps;
    r.cmp = compare_graph_routes(g, ph, ir);
  } catch (const std::exception& e) {
    r.unavailable = e.what();
  }
  return r;
}

void print_ir_route(const IrRoute& r, std::ostream& out) {
  if (!r.unavailable.empty()) {
    out << "\nexponents through the unrolled program: not available (" << r.unavailable << ")\n";
    return;
  }
  out << "\nthe two derivation routes (the graph size calculus above vs sizes propagated op by op through the "
         "unrolled level-1 program, T = " << r.steps << ", on one representative example: 'tpc dump' prints the "
         "program): " << r.cmp.compared << " sizes compared\n";
  for (const auto& m : r.cmp.mismatches) out << "  DISAGREE " << m << "\n";
  out << (r.cmp.agree ? "the routes agree\n" : "the routes DISAGREE (please report this script)\n");
}

}  // namespace

int run_graph_dump(const std::string& path, bool as_json, double budget_bytes, std::ostream& out, std::ostream& err) {
  const auto spec = load_graph_spec(path, "dump", as_json, out, err);
  if (!spec) return 1;
  try {
    GraphUnrollOptions o;
    o.memory_budget_bytes = budget_bytes;
    o.budget_flag = "--memory-budget";
    const GraphUnrolled ir = unroll_graph(*spec, o);
    if (as_json) out << json{{"ok", true}, {"program", dump(ir.program)}}.dump(2) << "\n";
    else out << dump(ir.program);
  } catch (const std::exception& e) {
    if (as_json) out << json{{"ok", false}, {"error", e.what()}}.dump(2) << "\n";
    else err << "tpc dump: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

int run_graph_phase(const std::string& path, const std::string& format, std::ostream& out, std::ostream& err,
                    double budget_bytes) {
  const bool as_json = format == "json";
  const auto spec = load_graph_spec(path, "phase", as_json, out, err);
  if (!spec) return 1;
  const GraphSpec& g = *spec;
  GraphPhase ph;
  try {
    ph = graph_phase(g);
  } catch (const std::invalid_argument& e) {
    if (as_json) out << json{{"ok", false}, {"error", e.what()}}.dump(2) << "\n";
    else err << "tpc phase: error: " << e.what() << "\n";
    return 1;
  }
  const IrRoute route = ir_route(g, ph, budget_bytes);
  if (!as_json) {
    print_text(path, g, ph, out);
    print_ir_route(route, out);
    return 0;
  }
  json ir{{"available", route.unavailable.empty()}};
  if (route.unavailable.empty()) {
    ir["steps"] = route.steps;
    ir["compared"] = route.cmp.compared;
    ir["agree"] = route.cmp.agree;
    ir["mismatches"] = route.cmp.mismatches;
  } else {
    ir["reason"] = route.unavailable;
  }
  json tensors = json::array(), sizes = json::array(), problems = json::array();
  for (const auto& t : ph.tensors) tensors.push_back(tensor_json(g, t));
  for (const auto& s : ph.sizes)
    sizes.push_back({{"node", s.node}, {"step", s.step}, {"delta", s.delta}, {"known", s.known},
                     {"vanishes", s.vanishes}, {"exponent", s.known && !s.vanishes ? json(to_string(s.exponent)) : json(nullptr)}});
  for (const auto& p : ph.problems) problems.push_back(p);
  out << json{{"ok", true},
              {"network", "graph"},
              {"optimizer", std::string(optimizer_name(g.training.optimizer))},
              {"steps", g.training.steps},
              {"regime", std::string(regime_name(ph.regime))},
              {"stable", ph.stable},
              {"verdict", verdict_line(ph)},
              {"first_problem", ph.first_problem},
              {"first_tensor", ph.first_tensor},
              {"first_step", ph.first_step},
              {"first_line", ph.first_range.valid() ? json(ph.first_range.begin.line) : json(nullptr)},
              {"problems", problems},
              {"fixed_point_step", ph.fixed_point},
              {"tensors", tensors},
              {"sizes", sizes},
              {"ir_route", ir}}
             .dump(2)
      << "\n";
  return 0;
}

}  // namespace tp::frontend

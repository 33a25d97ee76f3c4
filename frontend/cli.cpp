// See cli.h. Each subcommand: 1. load and compile the script (diagnostics → exit 1); 2. do its job;
// 3. print text or JSON.
#include "frontend/cli.h"

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "frontend/compare_command.h"
#include "frontend/demo_command.h"
#include "frontend/flag_checks.h"
#include "frontend/graph_phase_command.h"
#include "frontend/coordcheck_command.h"
#include "frontend/kernel_command.h"
#include "frontend/maml_command.h"
#include "frontend/maml_data_command.h"
#include "frontend/network_commands.h"
#include "frontend/network_script.h"
#include "frontend/number_format.h"
#include "frontend/phase_command.h"
#include "frontend/progress.h"
#include "frontend/sema.h"
#include "frontend/source_loader.h"
#include "frontend/word2vec_command.h"
#include "frontend/word2vec_data_command.h"
#include "limits/finite.h"
#include "limits/gaussian_expectation.h"
#include "limits/gaussian_limit.h"
#include "limits/linear_limit.h"
#include "limits/zdot_limit.h"
#include "tp/graph_unroll.h"
#include "tp/network_graph.h"
#include "tp/unroll.h"
#include "tp/errors.h"
#include "tp/printer.h"

namespace tp::frontend {

namespace {

using nlohmann::json;

enum class Format { Text, Json };

struct Common {
  std::string file;
  std::string format_name = "text";
  Format format = Format::Text;
  double budget_gib = 8.0;  ///< check, dump: --memory-budget for the unrolled program of a network script
};

UnrollOptions budgeted_unroll(double budget_gib) {
  UnrollOptions o;
  o.memory_budget_bytes = budget_gib * 1024.0 * 1024.0 * 1024.0;
  o.budget_flag = "--memory-budget";
  return o;
}

// Steps 1 of every command. Returns nullopt after printing diagnostics (the caller exits 1).
// graph_scripts: a `network graph` script becomes its unrolled training program (tp/graph_unroll.h; `run`),
// else it is refused with the commands that read it.
std::optional<Program> load_program(const Common& c, std::ostream& out, std::ostream& err, SourceFile& file,
                                    const UnrollOptions& unroll_options = {}, bool graph_scripts = false) {
  std::string problem;
  auto loaded = load_source(c.file, problem);
  if (!loaded) {
    if (c.format == Format::Json) out << json{{"ok", false}, {"error", problem}}.dump(2) << "\n";
    else err << "tpc: error: " << problem << "\n";
    return std::nullopt;
  }
  file = std::move(*loaded);
  GraphUnrollOptions go;
  go.memory_budget_bytes = unroll_options.memory_budget_bytes;
  go.budget_flag = unroll_options.budget_flag;
  if (graph_scripts && is_graph_network_script(file.text)) {
    const auto g = load_graph_spec(c.file, "run", c.format == Format::Json, out, err);
    if (!g) return std::nullopt;
    try {
      return unroll_graph(*g, go).program;
    } catch (const std::exception& e) {  // over the budget, or a graph the IR route does not unroll
      problem = e.what();
    }
    if (c.format == Format::Json) out << json{{"ok", false}, {"error", problem}}.dump(2) << "\n";
    else err << "tpc: error: " << file.name << ": " << problem << "\n";
    return std::nullopt;
  }
  if (is_network_script(file.text)) {
    // A level-2 script: its training unrolled into one level-1 program (tp/unroll.h).
    auto script = load_network_script(c.file, c.format == Format::Json, out, err);
    if (!script) return std::nullopt;
    problem.clear();
    try {
      if (script->spec.abc.optimizer == Optimizer::sgd) return unroll(script->spec, unroll_options).program;
      // Adam, AdamW, SignSGD: the script as a graph (tp/network_graph.h), whose unroll writes each entrywise
      // update as TP4b's outer nonlinearity (tp::unroll writes SGD only)
      return unroll_graph(network_graph(script->spec), go).program;
    } catch (const BudgetError& e) {
      problem = e.what();
    } catch (const std::invalid_argument& e) {
      problem = e.what();
    }
    if (c.format == Format::Json) out << json{{"ok", false}, {"error", problem}}.dump(2) << "\n";
    else err << "tpc: error: " << file.name << ": " << problem << "\n";
    return std::nullopt;
  }
  DiagnosticEngine diags;
  auto program = compile_source(file.text, diags);
  if (c.format == Format::Json) {
    if (!program) out << json{{"ok", false}, {"diagnostics", diagnostics_json(diags.diagnostics(), file)}}.dump(2) << "\n";
    else if (!diags.diagnostics().empty()) err << render(diags.diagnostics(), file);
  } else if (!diags.diagnostics().empty()) {
    err << render(diags.diagnostics(), file);
    if (diags.has_errors())
      err << diags.error_count() << " error" << (diags.error_count() == 1 ? "" : "s") << " in " << file.name << "\n";
  }
  return program;
}

struct Counts {
  std::size_t inputs = 0, matrices = 0, matmuls = 0, transposed = 0, nonlins = 0, moments = 0, scalars = 0, outer = 0;
};

Counts count_ops(const Program& p) {
  Counts c;
  for (const auto& v : p.values()) {
    switch (v.op) {
      case Op::InitVector: ++c.inputs; break;
      case Op::InitMatrix: ++c.matrices; break;
      case Op::MatMul: ++c.matmuls; c.transposed += v.transposed; break;
      case Op::Nonlin: ++c.nonlins; break;
      case Op::OuterNonlin: ++c.outer; break;
      case Op::Moment: ++c.moments; break;
      case Op::ScalarExpr:
      case Op::WidthPower: ++c.scalars; break;
    }
  }
  return c;
}

std::string number_text(double v) {
  std::ostringstream o;
  o.precision(12);
  o << v;
  return o.str();
}

// An exponent as text: its value, or the symbol the script left free there (layer 0: the scalar c).
std::string exponent_text(const NetworkScript& s, char which, int layer, const Rational& v) {
  for (const auto& f : s.free)
    if (f.exponent == which && f.layer == layer) return f.symbol;
  return to_string(v);
}

std::vector<std::string> exponents_text(const NetworkScript& s, char which, const std::vector<Rational>& v) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(exponent_text(s, which, static_cast<int>(i) + 1, v[i]));
  return out;
}

std::string list_text(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s + "]";
}

std::string shape_text(const Eigen::MatrixXd& m) { return std::to_string(m.rows()) + "x" + std::to_string(m.cols()); }

// `tpc check` of a level-2 script: compile it to a NetworkSpec and print a summary of every field.
int cmd_check_network(const Common& c, const SourceFile& file, std::ostream& out, std::ostream& err) {
  DiagnosticEngine diags;
  const std::string base_dir = std::filesystem::path(c.file).parent_path().string();
  auto script = compile_network(file.text, base_dir, diags, FreeExponents::up_to_two);
  if (!script) {
    if (c.format == Format::Json) {
      out << json{{"ok", false}, {"diagnostics", diagnostics_json(diags.diagnostics(), file)}}.dump(2) << "\n";
    } else {
      err << render(diags.diagnostics(), file);
      err << diags.error_count() << " error" << (diags.error_count() == 1 ? "" : "s") << " in " << file.name << "\n";
    }
    return 1;
  }
  const NetworkSpec& s = script->spec;
  // What run and dump will unroll (tp/unroll.h; Adam and SignSGD through the script's graph, tp/network_graph.h),
  // against the same --memory-budget they use.
  const bool sgd = s.abc.optimizer == Optimizer::sgd;
  const double unrolled = sgd ? unroll_memory_estimate(s) : graph_unroll_memory_estimate(network_graph(s), s.steps);
  const double budget = c.budget_gib * 1024.0 * 1024.0 * 1024.0;
  if (unrolled > budget) {
    std::string problem;
    try {
      if (sgd) {
        (void)unroll(s, budgeted_unroll(c.budget_gib));
      } else {
        GraphUnrollOptions go;
        go.memory_budget_bytes = budget;
        go.budget_flag = "--memory-budget";
        (void)unroll_graph(network_graph(s), go);
      }
    } catch (const BudgetError& e) {
      problem = e.what();
    } catch (const std::invalid_argument&) {  // not unrollable: nothing run would unroll
    }
    if (!problem.empty()) {
      if (c.format == Format::Json) out << json{{"ok", false}, {"error", problem}}.dump(2) << "\n";
      else err << "tpc: error: " << file.name << ": " << problem << "\n";
      return 1;
    }
  }
  const std::string opt(optimizer_name(s.abc.optimizer));
  const std::string loss = s.loss == LossKind::mse ? "mse" : "cross_entropy";
  const std::string batch = s.batch == BatchMode::full ? "full" : s.batch == BatchMode::per_sample ? "sample"
                                                                                                   : std::to_string(s.batch_size);
  const auto a = exponents_text(*script, 'a', s.abc.a), b = exponents_text(*script, 'b', s.abc.b),
             c_l = exponents_text(*script, 'c', s.abc.c_l);
  const std::string c_scalar = exponent_text(*script, 'c', 0, s.abc.c);
  const std::string c_text = s.abc.c_l.empty() ? c_scalar : list_text(c_l);
  if (c.format == Format::Json) {
    json free = json::array();
    for (const auto& f : script->free)
      free.push_back({{"symbol", f.symbol}, {"exponent", std::string(1, f.exponent)}, {"layer", f.layer},
                      {"line", f.range.begin.line}});
    json c_json = s.abc.c_l.empty() ? json(c_scalar) : json(c_l);
    json optimizer{{"name", opt}, {"lr", s.lr}, {"weight_decay", s.weight_decay}};
    if (s.abc.optimizer == Optimizer::adam) {
      optimizer["beta1"] = s.adam_beta1;
      optimizer["beta2"] = s.adam_beta2;
      optimizer["eps"] = s.adam_eps;
    }
    out << json{{"ok", true},
                {"file", file.name},
                {"level", 2},
                {"network", {{"architecture", "mlp"}, {"depth", s.depth}, {"input_dim", s.input_dim},
                             {"output_dim", s.output_dim}, {"activation", s.activation_text}, {"biases", s.biases}}},
                {"parametrization", {{"name", s.abc.name}, {"a", a}, {"b", b},
                                     {"c", c_json}, {"free", free}}},
                {"optimizer", optimizer},
                {"loss", loss},
                {"data", {{"train_points", s.train_x.rows()}, {"input_columns", s.train_x.cols()},
                          {"target_columns", s.train_y.cols()}, {"eval_points", s.eval_x.rows()}}},
                {"train", {{"steps", s.steps}, {"batch", batch}}},
                {"unrolled_program_bytes", unrolled}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << file.name << ": ok: network script\n";
  out << "  network          mlp, L = " << s.depth << " hidden layer" << (s.depth == 1 ? "" : "s")
      << " of width n, input d = " << s.input_dim << ", readout d_o = " << s.output_dim << ", activation "
      << s.activation_text << (s.biases ? ", with biases" : ", no biases") << "\n";
  out << "  parametrization  " << (s.abc.name == "custom" ? "abc" : s.abc.name) << ": a = " << list_text(a)
      << ", b = " << list_text(b) << ", c = " << c_text << "\n";
  if (!script->free.empty()) {
    out << "  free exponents  ";
    for (const auto& f : script->free)
      out << " " << f.exponent << (f.layer ? "_" + std::to_string(f.layer) : "") << " = " << f.symbol;
    out << "\n";
  }
  out << "  optimizer        " << opt << ", lr " << number_text(s.lr) << " (learning rate lr * n^-c)";
  if (s.weight_decay > 0) out << ", weight decay " << number_text(s.weight_decay);
  if (s.abc.optimizer == Optimizer::adam)
    out << ", beta1 " << number_text(s.adam_beta1) << ", beta2 " << number_text(s.adam_beta2) << ", eps "
        << number_text(s.adam_eps);
  out << "\n";
  out << "  loss             " << loss << "\n";
  out << "  data             " << s.train_x.rows() << " training point" << (s.train_x.rows() == 1 ? "" : "s") << " (x "
      << shape_text(s.train_x) << ", y " << shape_text(s.train_y) << "), " << s.eval_x.rows() << " evaluation point"
      << (s.eval_x.rows() == 1 ? "" : "s") << "\n";
  out << "  train            " << s.steps << " step" << (s.steps == 1 ? "" : "s") << ", batch " << batch << "\n";
  char mib[64];
  std::snprintf(mib, sizeof mib, "%.1f MiB", unrolled / (1024.0 * 1024.0));
  out << "  unrolled program about " << mib << " (run, limit, compare and dump refuse above --memory-budget)\n";
  return 0;
}

int cmd_check(const Common& c, std::ostream& out, std::ostream& err) {
  {
    std::string problem;
    if (auto loaded = load_source(c.file, problem); loaded && is_graph_network_script(loaded->text))
      return check_graph_script(c.file, *loaded, c.format == Format::Json, out, err);
    else if (loaded && is_network_script(loaded->text))
      return cmd_check_network(c, *loaded, out, err);
  }
  SourceFile file;
  auto p = load_program(c, out, err, file);
  if (!p) return 1;
  const Counts k = count_ops(*p);
  if (c.format == Format::Json) {
    out << json{{"ok", true},
                {"file", file.name},
                {"values", p->size()},
                {"inputs", k.inputs},
                {"matrices", k.matrices},
                {"matmuls", k.matmuls},
                {"transposed_matmuls", k.transposed},
                {"nonlins", k.nonlins},
                {"moments", k.moments},
                {"scalars", k.scalars},
                {"outer_nonlins", k.outer},
                {"outputs", p->outputs().size()},
                {"netsor_t", p->uses_transpose()}}
               .dump(2)
        << "\n";
  } else {
    out << file.name << ": ok: " << p->size() << " values (" << k.inputs << " inputs, " << k.matrices << " matrices, "
        << k.matmuls << " MatMuls" << (k.transposed ? " of which " + std::to_string(k.transposed) + " transposed" : "")
        << ", " << k.nonlins << " Nonlins, " << k.moments << " Moments, " << k.scalars << " scalar ops"
        << (k.outer ? ", " + std::to_string(k.outer) + " outer nonlinearities" : "") << "), " << p->outputs().size()
        << " outputs; "
        << (k.outer ? "NE⊗OR⊤ (TP4b: outer nonlinearities)" : p->uses_transpose() ? "NETSOR-T (uses transposes)" : "NETSOR")
        << "\n";
  }
  return 0;
}

int cmd_dump(const Common& c, std::ostream& out, std::ostream& err) {
  {
    std::string problem;
    if (auto loaded = load_source(c.file, problem); loaded && is_graph_network_script(loaded->text))
      return run_graph_dump(c.file, c.format == Format::Json, c.budget_gib * 1024.0 * 1024.0 * 1024.0, out, err);
  }
  SourceFile file;
  auto p = load_program(c, out, err, file, budgeted_unroll(c.budget_gib));
  if (!p) return 1;
  if (c.format == Format::Json) out << json{{"ok", true}, {"program", dump(*p)}}.dump(2) << "\n";
  else out << dump(*p);
  return 0;
}

struct RunArgs {
  std::size_t width = 1024;
  std::size_t seeds = 8;
  std::uint64_t seed_base = 0;
  unsigned threads = 0;
  double budget_gib = 8.0;
  bool progress = false;
  std::string save_init;
};

int cmd_run(const Common& c, const RunArgs& r, std::ostream& out, std::ostream& err) {
  SourceFile file;
  UnrollOptions unroll_options;
  unroll_options.memory_budget_bytes = r.budget_gib * 1024.0 * 1024.0 * 1024.0;
  unroll_options.budget_flag = "--memory-budget";
  auto p = load_program(c, out, err, file, unroll_options, true);
  if (!p) return 1;
  limits::FiniteOptions opt;
  opt.width = r.width;
  opt.seeds.clear();
  for (std::size_t s = 0; s < r.seeds; ++s) opt.seeds.push_back(r.seed_base + s);
  opt.threads = r.threads;
  opt.memory_budget_bytes = r.budget_gib * 1024.0 * 1024.0 * 1024.0;
  opt.save_init_dir = r.save_init;
  if (r.progress || (c.format == Format::Text && ::isatty(2))) opt.progress = progress_reporter(err, "seed");
  limits::FiniteResult res;
  try {
    res = limits::run_finite(*p, opt);
  } catch (const BudgetError& e) {
    err << "tpc: error: " << e.what() << "\n";
    return 1;
  } catch (const NumericalError& e) {
    err << "tpc: error: " << file.name << ": " << e.what() << "\n";
    return 1;
  } catch (const std::runtime_error& e) {  // --save-init could not write a file
    err << "tpc: error: --save-init: " << e.what() << "\n";
    return 1;
  }
  if (c.format == Format::Json) {
    json outs = json::array();
    for (std::size_t j = 0; j < res.names.size(); ++j) {
      json per_seed = json::array();
      for (const auto& s : res.per_seed) per_seed.push_back(s.values[j]);
      const auto& e = res.summary[j];
      outs.push_back({{"name", res.names[j]},
                      {"mean", e.value},
                      {"stderr", std::isnan(e.error) ? json(nullptr) : json(e.error)},
                      {"per_seed", per_seed}});
    }
    json seeds = json::array();
    for (const auto& s : res.per_seed) seeds.push_back(s.seed);
    out << json{{"ok", true}, {"file", file.name}, {"route", "finite_width"}, {"width", res.width},
                {"seeds", seeds}, {"outputs", outs}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << file.name << ": width n = " << res.width << ", " << res.per_seed.size() << " seed"
      << (res.per_seed.size() == 1 ? "" : "s") << " (" << r.seed_base << ".." << r.seed_base + r.seeds - 1
      << "), mean ± standard error over seeds\n";
  std::size_t wname = 6;
  for (const auto& nm : res.names) wname = std::max(wname, nm.size());
  out << std::string("output") << std::string(wname - 6 + 2, ' ') << "mean ± standard error\n";
  for (std::size_t j = 0; j < res.names.size(); ++j)
    out << res.names[j] << std::string(wname - res.names[j].size() + 2, ' ')
        << format_with_error(res.summary[j].value, res.summary[j].error) << "\n";
  return 0;
}

struct LimitArgs {
  std::string route = "auto";
  long long particles = 0;  // 0: the route's default (4096 for Monte Carlo with ZDot, 2^15 antithetic pairs for NETSOR)
  int replicas = 8;
  std::string zdot = "auto";
  std::string sampling = "sobol";
  bool no_jackknife = false;
  std::uint64_t seed = 0;
  unsigned threads = 0;
  double budget_gib = 8.0;
  bool no_closed_forms = false;
  bool progress = false;
  bool estimate = false;
  long long max_nodes = 12'000'000;  // the quadrature route's largest rule (NetworkLimitOptions::quadrature_max_nodes)
};

int cmd_limit(const Common& c, const LimitArgs& a, std::ostream& out, std::ostream& err) {
  std::function<void(std::size_t, std::size_t)> progress;
  if (a.progress || (c.format == Format::Text && ::isatty(2))) progress = progress_reporter(err, "Monte Carlo replica");
  if (file_is_network_script(c.file)) {
    auto script = load_network_script(c.file, c.format == Format::Json, out, err);
    if (!script) return 1;
    NetworkRunOptions o;
    o.title = c.file;
    o.json = c.format == Format::Json;
    if (!limits::parse_limit_route(a.route, o.limit.route)) o.limit.route = limits::LimitRoute::automatic;
    if (a.particles > 0) o.limit.particles = o.limit.quadrature_mc_particles = a.particles;
    else o.limit.quadrature_mc_particles = 1 << 15;
    o.limit.replicas = a.replicas;
    o.limit.zdot = a.zdot;
    o.limit.sampling = a.sampling;
    o.limit.jackknife = !a.no_jackknife;
    o.limit.seed = a.seed;
    o.limit.threads = a.threads;
    o.limit.memory_budget_bytes = a.budget_gib * 1024.0 * 1024.0 * 1024.0;
    o.limit.quadrature_max_nodes = a.max_nodes;
    o.limit.progress = progress;
    if (progress) {
      o.limit.quadrature_progress = progress_reporter(err, "limit: quadrature, particle steps");
      o.limit.kernel_progress = progress_reporter(err, "limit: kernel gradient descent, stage");
    }
    o.progress = a.progress;
    o.estimate_only = a.estimate;
    return run_network_limit(script->spec, o, out, err);
  }
  SourceFile file;
  auto p = load_program(c, out, err, file);
  if (!p) return 1;
  limits::LimitResult res;
  auto fail = [&](const std::string& what) {
    if (c.format == Format::Json) out << json{{"ok", false}, {"error", what}}.dump(2) << "\n";
    else err << "tpc: error: " << file.name << ": " << what << "\n";
    return 1;
  };
  // Route: exact (linear programs), Gaussian integration (NETSOR), Monte Carlo with ZDot (NETSOR⊤).
  if (a.estimate) return fail("--estimate applies to network scripts (the time of their limit's route); this is a level-1 program");
  std::string route = a.route;
  if (route == "kernel") return fail("--route kernel applies to network scripts (kernel gradient descent); this is a level-1 program");
  if (const std::string r = p->outer_nonlin_refusal(); !r.empty()) return fail("cannot compute this limit: " + r);
  std::string linear_why;
  const bool linear = limits::is_linear_program(*p, &linear_why);
  if (route == "auto") route = p->uses_transpose() ? (linear ? "exact" : "zdot") : "gaussian";
  else if (route == "monte_carlo" && p->uses_transpose()) route = "zdot";
  else if (route == "quadrature" || route == "monte_carlo") route = "gaussian:" + route;
  std::string heading = "Master Theorem: ZInit, ZNonlin, ZMoment, ZHat";
  try {
    if (route == "exact") {
      if (!linear) return fail("--route exact needs a linear program: " + linear_why);
      res = limits::linear_limit(*p).limit;
      heading = "exact: linear program, Gram matrix of the Gaussian leaves with ZHat and ZDot";
    } else if (route == "zdot") {
      limits::ZDotOptions zo;
      zo.particles = a.particles > 0 ? a.particles : 4096;
      zo.replicas = a.replicas;
      zo.seed = a.seed;
      zo.threads = a.threads;
      zo.memory_budget_bytes = a.budget_gib * 1024.0 * 1024.0 * 1024.0;
      zo.progress = progress;
      zo.sampling = a.sampling == "pseudo" ? limits::Sampling::pseudo : limits::Sampling::sobol;
      zo.jackknife = !a.no_jackknife;
      if (a.zdot == "derivative") zo.zdot = limits::ZDotMode::derivative;
      else if (a.zdot == "stein") zo.zdot = limits::ZDotMode::stein;
      else if (a.zdot == "none") zo.zdot = limits::ZDotMode::none;
      res = limits::zdot_limit(*p, zo);
      heading = "Monte Carlo over the Z's with ZHat and ZDot (" + a.zdot + "), " + std::to_string(zo.particles) +
                " particles x " + std::to_string(a.replicas) + " replicas, " + a.sampling +
                (a.no_jackknife ? " points, no bias correction" : " points, jackknife bias correction");
    } else {
      limits::GaussianLimitOptions opt;
      opt.mc_pairs = a.particles > 0 ? a.particles : 1 << 15;
      opt.mc_replicas = a.replicas;
      opt.use_closed_forms = !a.no_closed_forms;
      if (route == "gaussian:quadrature") opt.max_quadrature_rank = 1 << 20;
      if (route == "gaussian:monte_carlo") opt.max_quadrature_rank = 0;
      res = limits::gaussian_limit(*p, opt);
    }
  } catch (const limits::RouteUnavailable& e) {
    return fail(std::string("cannot compute this limit: ") + e.what());
  } catch (const BudgetError& e) {
    return fail(e.what());
  } catch (const limits::DivergentIntegral& e) {
    return fail(e.what());
  } catch (const NumericalError& e) {
    return fail(e.what());
  }
  if (c.format == Format::Json) {
    json outs = json::array();
    for (std::size_t j = 0; j < res.names.size(); ++j)
      outs.push_back({{"name", res.names[j]},
                      {"value", res.outputs[j].value},
                      {"error", res.outputs[j].error},
                      {"route", std::string(limits::route_name(res.outputs[j].route))}});
    out << json{{"ok", true}, {"file", file.name}, {"limit", "infinite_width"}, {"outputs", outs}}.dump(2) << "\n";
    return 0;
  }
  out << file.name << ": infinite-width limit (" << heading << ")\n";
  std::size_t wname = 6;
  for (const auto& nm : res.names) wname = std::max(wname, nm.size());
  std::vector<std::string> vals;
  std::size_t wval = 13;
  for (const auto& e : res.outputs) {
    vals.push_back(format_with_error(e.value, e.error));
    wval = std::max(wval, vals.back().size());
  }
  out << "output" << std::string(wname - 6 + 2, ' ') << "limit ± error" << std::string(wval - 13 + 2, ' ') << "route\n";
  for (std::size_t j = 0; j < res.names.size(); ++j)
    out << res.names[j] << std::string(wname - res.names[j].size() + 2, ' ') << vals[j]
        << std::string(wval - vals[j].size() + 2, ' ') << limits::route_name(res.outputs[j].route) << "\n";
  return 0;
}

}  // namespace

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CLI::App app{
      "tpc: a calculator for the Tensor Programs theory of wide neural networks (Yang et al., TP2-TP5).\n"
      "It reads NETSOR-T programs (level 1) and MLP network scripts with their parametrization, optimizer, data\n"
      "and training (level 2), and answers:\n"
      "  the phase      phase: stable or not, kernel regime or feature learning, per-layer exponents (TP4 §3-5);\n"
      "                 coordcheck: the same exponents measured at finite widths\n"
      "  the limit      limit: every output's infinite-width value with an error bar (exact, quadrature, kernel\n"
      "                 gradient descent or Monte Carlo, route reported); kernel: NNGP and NTK matrices\n"
      "  finite widths  run: a program or network at width n over seeds; compare: finite widths against the\n"
      "                 limit, the fitted convergence rate and a plot\n"
      "  the scripts    check, dump: diagnostics with file:line:col, the lowered program\n"
      "  applications   word2vec (prepare-corpus, make-analogies, train, eval, compare, emit-program) and maml\n"
      "                 (make-dataset, dataset-info, train, test, compare, emit-program): TP4 §9's exact µP\n"
      "                 limits against finite widths and GP/NTK baselines\n"
      "Start with 'tpc demo' (under a minute); 'tpc COMMAND --help' gives each command's options."};
  app.name("tpc");
  app.require_subcommand(1);
  Common common;
  RunArgs run_args;

  auto add_common = [&](CLI::App* sub, bool needs_file) {
    if (needs_file) sub->add_option("file", common.file, "the .tp script")->required();
    sub->add_option("--format", common.format_name, "output format: text or json")
        ->check(CLI::IsMember({"text", "json"}))
        ->default_val("text");
  };
  auto add_run = [&](CLI::App* sub) {
    sub->add_option("--width,-n", run_args.width, "width n of every vector (matrices are n x n)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->default_val(1024);
    sub->add_option("--seeds,-s", run_args.seeds, "number of independent seeds")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20))
        ->default_val(8);
    sub->add_option("--seed-base", run_args.seed_base, "first seed (seeds are base, base+1, ...)")
        ->check(non_negative_integer())
        ->default_val(0);
    sub->add_option("--threads", run_args.threads, "worker threads (0 = all cores)")->check(non_negative_integer())->default_val(0);
    sub->add_option("--memory-budget", run_args.budget_gib, "refuse runs needing more memory than this many GiB")
        ->check(positive_finite())
        ->default_val(8.0);
    sub->add_flag("--progress", run_args.progress, "report progress on stderr even when it is not a terminal");
    sub->add_option("--save-init", run_args.save_init,
                    "write every seed's sampled initial vectors and matrices into this existing directory as "
                    "seed<k>_<name>.npy (NumPy format, column-major), e.g. to feed the same weights to another "
                    "implementation")
        ->check(CLI::ExistingDirectory);
  };

  auto add_budget = [&](CLI::App* sub) {
    sub->add_option("--memory-budget", common.budget_gib,
                    "network scripts: refuse when the unrolled training program needs more memory than this many GiB")
        ->check(positive_finite())
        ->default_val(8.0);
  };
  auto* check = app.add_subcommand("check", "parse and verify a script (a level-1 program or a level-2 network script); report every error "
      "with file:line:col, or summarise the program / the network, parametrization, optimizer, data and schedule");
  add_common(check, true);
  add_budget(check);
  auto* dumpc = app.add_subcommand("dump", "print the lowered program (one op per line; parses back); for a network script, its training "
                                   "unrolled (a 'network graph' script: the graph and its T training steps on the script's data, Adam and SignSGD through TP4b's outer_avg)");
  add_common(dumpc, true);
  add_budget(dumpc);
  auto* run = app.add_subcommand("run", "run a script at finite width over seeds; mean ± standard error per output (a network script, MLP or graph, runs its unrolled training program: f at every step and point)");
  add_common(run, true);
  add_run(run);
  LimitArgs limit_args;
  auto* limit = app.add_subcommand(
      "limit", "the infinite-width value of every output of a program, or of f_t of a network script at every "
               "training and evaluation point (route chosen automatically and reported)");
  add_common(limit, true);
  limit->add_option("--route", limit_args.route,
                    "auto (the most accurate route the script admits), exact (linear programs / networks), "
                    "quadrature, monte_carlo (with ZDot for programs with transposes and for networks), or kernel "
                    "(kernel-regime networks: kernel gradient descent with the NTK of the layers that move f)")
      ->check(CLI::IsMember({"auto", "exact", "quadrature", "monte_carlo", "kernel"}))
      ->default_val("auto");
  limit->add_option("--particles", limit_args.particles,
                    "Monte Carlo size: particles per replica (NETSOR-T programs and networks; default 4096 scrambled "
                    "Sobol points) or antithetic pairs per integral and replica (NETSOR programs; default 32768)")
      ->check(CLI::Range(16LL, 1LL << 26));
  limit->add_option("--zdot", limit_args.zdot,
                    "how Monte Carlo evaluates ZDot: auto, derivative (per-particle derivatives), stein (TP4 Remark "
                    "F.2; needed through step/relu'), none (drops ZDot: wrong, for demonstration)")
      ->check(CLI::IsMember({"auto", "derivative", "stein", "none"}))
      ->default_val("auto");
  limit->add_option("--sampling", limit_args.sampling,
                    "Monte Carlo with ZDot: sobol (randomized quasi-Monte Carlo: scrambled Sobol points, one independent "
                    "randomization per replica) or pseudo (pseudo-random normals)")
      ->check(CLI::IsMember({"sobol", "pseudo"}))
      ->default_val("sobol");
  limit->add_flag("--no-jackknife", limit_args.no_jackknife,
                  "Monte Carlo with ZDot: skip the two-half jackknife that removes the O(1/particles) bias (2x faster, "
                  "biased)");
  limit->add_option("--seed", limit_args.seed, "Monte Carlo seed")->check(non_negative_integer())->default_val(0);
  limit->add_option("--threads", limit_args.threads, "worker threads (0 = all cores)")->check(non_negative_integer())->default_val(0);
  limit->add_option("--memory-budget", limit_args.budget_gib, "GiB this process may take (counting what it holds already): Monte Carlo and kernel runs over it are refused with the figure, the quadrature route stops at the largest rule that fits")
      ->check(positive_finite())
      ->default_val(8.0);
  limit->add_option("--replicas", limit_args.replicas, "Monte Carlo: independent replicas for the standard error")
      ->check(CLI::Range(2, 1000))
      ->default_val(8);
  limit->add_flag("--no-closed-forms", limit_args.no_closed_forms, "integrate every moment numerically");
  limit->add_option("--max-nodes", limit_args.max_nodes,
                    "network scripts, quadrature route (one hidden layer µP): the largest rule, in particles, it may "
                    "refine to before it stops and reports the error it reached (12M particles at input dimension 2 "
                    "take 0.4 GiB per particle set, up to four sets at once; lowered to what --memory-budget leaves "
                    "room for)")
      ->check(CLI::Range(1000LL, 1LL << 30))
      ->default_val(12'000'000);
  limit->add_flag("--progress", limit_args.progress,
                  "report progress on stderr even when it is not a terminal: Monte Carlo replicas, quadrature particle "
                  "steps or kernel-route stages done, the rate and the time left "
                  "(and the estimate of the time before starting)");
  limit->add_flag("--estimate", limit_args.estimate,
                  "network scripts: print the estimated time of the limit (route, op counts) and stop; it is printed "
                  "on stderr before any run expected to take 5 s or more");
  PhaseArgs phase_args;
  auto* phase = add_phase_command(app, phase_args);
  CoordCheckArgs coord_args;
  auto* coord = add_coordcheck_command(app, coord_args);
  CompareArgs compare_args;
  auto* compare = add_compare_command(app, compare_args);
  KernelArgs kernel_args;
  auto* kernel = add_kernel_command(app, kernel_args);
  // The two applications (TP4 §9): command families assembled from their data and model subcommands.
  auto* word2vec = app.add_subcommand("word2vec", "CBOW word2vec at finite width, in µP's exact infinite-width limit and "
                                                  "in NTK parametrization (TP4 §9.3): corpus, analogies, train, eval, compare");
  word2vec->require_subcommand(1);
  Subcommands word2vec_subs = add_word2vec_data_commands(word2vec);
  for (auto& s : add_word2vec_commands(word2vec)) word2vec_subs.push_back(std::move(s));
  auto* maml = app.add_subcommand("maml", "first-order MAML few-shot learning: finite widths, the exact µP limit and GP/NTK "
                                          "baselines on an Omniglot-format dataset (TP4 §9.2)");
  maml->require_subcommand(1);
  Subcommands maml_subs = add_maml_data_commands(maml);
  for (auto& s : add_maml_commands(maml)) maml_subs.push_back(std::move(s));
  DemoArgs demo_args;
  auto* demo = add_demo_command(app, demo_args);

  std::vector<std::string> rev(args.rbegin(), args.rend() - (args.empty() ? 0 : 1));
  try {
    app.parse(rev);
  } catch (const CLI::CallForHelp& e) {
    out << app.help(e.get_name() == "--help" && app.get_subcommands().empty() ? "" : "",
                    CLI::AppFormatMode::Normal);
    return 0;
  } catch (const CLI::ParseError& e) {
    std::ostringstream o, er;
    const int code = app.exit(e, o, er);
    out << o.str();
    if (code == 0) return 0;
    err << "tpc: error: " << e.what() << "\n";
    err << "run 'tpc --help' or 'tpc <command> --help' for usage\n";
    return 1;
  }
  common.format = common.format_name == "json" ? Format::Json : Format::Text;
  try {
    if (check->parsed()) return cmd_check(common, out, err);
    if (dumpc->parsed()) return cmd_dump(common, out, err);
    if (run->parsed()) return cmd_run(common, run_args, out, err);
    if (limit->parsed()) return cmd_limit(common, limit_args, out, err);
    if (phase->parsed()) return run_phase_command(phase_args, out, err);
    if (coord->parsed()) return run_coordcheck_command(coord_args, out, err);
    if (compare->parsed()) return run_compare_command(compare_args, out, err);
    if (kernel->parsed()) return run_kernel_command(kernel_args, out, err);
    if (demo->parsed()) return run_demo_command(demo_args, out, err);
    for (const Subcommands* family : {&word2vec_subs, &maml_subs}) {
      const int code = run_parsed(*family, out, err);
      if (code >= 0) return code;
    }
  } catch (const std::bad_alloc&) {
    err << "tpc: error: out of memory; use a smaller --width or fewer --threads\n";
    return 1;
  } catch (const std::exception& e) {
    err << "tpc: internal error: " << e.what() << "\n(this is a bug in tpc; please report it with the script)\n";
    return 2;
  }
  return 2;
}

}  // namespace tp::frontend

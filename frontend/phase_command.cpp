// See phase_command.h. Steps: 1. build the parametrization from --preset or --a/--b/--c, --c-layers and
// --optimizer (exact rationals); 2. classify (or split the line of the free exponent into regions, or the
// plane of two free exponents into faces); 3. print.
#include "frontend/phase_command.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>

#include "frontend/diagnostics.h"
#include "frontend/flag_checks.h"
#include "frontend/graph_phase_command.h"
#include "frontend/network_commands.h"
#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "frontend/source_loader.h"
#include "tp/graph_unroll.h"
#include "tp/network_graph.h"
#include "tp/phase_region.h"
#include "tp/program_sizes.h"
#include "tp/representative_point.h"
#include "tp/unroll.h"

namespace tp::frontend {

namespace {

using nlohmann::json;

// The names in --free: a comma-separated list, spaces ignored ("c, a_3" = "c,a_3").
std::vector<std::string> free_names(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(std::remove(item.begin(), item.end(), ' '), item.end());
    out.push_back(item);
  }
  return out;
}

bool frees_global_c(const std::string& text) {
  const auto names = free_names(text);
  return std::find(names.begin(), names.end(), "c") != names.end();
}

std::vector<Rational> parse_list(const std::string& flag, const std::string& text, int depth) {
  std::vector<Rational> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto r = parse_rational(item);
    if (!r) throw FlagError{flag + ": cannot read '" + item + "' as an exact rational; write e.g. -1/2, 0.25 or 1"};
    out.push_back(*r);
  }
  if (static_cast<int>(out.size()) != depth + 1)
    throw FlagError{flag + " has " + std::to_string(out.size()) + " entries but --mlp " + std::to_string(depth) +
                    " needs L+1 = " + std::to_string(depth + 1) + " (hidden layers 1.." + std::to_string(depth) +
                    " and the readout)"};
  return out;
}

}  // namespace

std::vector<std::size_t> parse_width_list(const std::string& text, std::size_t max_width) {
  std::vector<std::size_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t pos = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    if (pos != item.size() || v < 2 || static_cast<std::size_t>(v) > max_width)
      throw FlagError{"--widths: '" + item + "' is not a width between 2 and " + std::to_string(max_width) +
                      "; write e.g. --widths 256,1024,4096"};
    out.push_back(static_cast<std::size_t>(v));
  }
  if (out.size() < 2) throw FlagError{"--widths: need at least two widths to fit an exponent"};
  for (std::size_t i = 1; i < out.size(); ++i)
    if (out[i] <= out[i - 1]) throw FlagError{"--widths: list the widths in increasing order"};
  return out;
}

AbcParametrization parametrization_from_flags(const PhaseArgs& a) {
  if (a.depth == 0) throw FlagError{"--mlp L is required: the number of hidden layers (or give a network script, e.g. 'tpc phase net.tp')"};
  if (a.depth < 1) throw FlagError{"--mlp L: the number of hidden layers must be at least 1"};
  if (a.depth > 10000) throw FlagError{"--mlp L: at most 10000 hidden layers"};
  AbcParametrization p;
  if (!a.preset.empty()) {
    if (!a.a.empty() || !a.b.empty())
      throw FlagError{"give either --preset or --a/--b, not both (--c may override a preset's c)"};
    try {
      p = preset(a.preset, a.depth);
    } catch (const std::invalid_argument& e) {
      throw FlagError{std::string("--preset: ") + e.what()};
    }
  } else {
    if (a.a.empty() || a.b.empty())
      throw FlagError{"give a parametrization: --preset sp|ntp|mfp|mup, or --a and --b lists (L+1 exact rationals each) and --c"};
    p.a = parse_list("--a", a.a, a.depth);
    p.b = parse_list("--b", a.b, a.depth);
    if (a.c.empty() && !frees_global_c(a.free) && a.c_layers.empty())
      throw FlagError{"--c is missing (the learning-rate exponent: lr = eta n^-c), or give --c-layers c1,..,cL+1"};
  }
  if (!a.c.empty()) {
    auto c = parse_rational(a.c);
    if (!c) throw FlagError{"--c: cannot read '" + a.c + "' as an exact rational; write e.g. 0, 1 or -1/2"};
    p.c = *c;
    if (!a.preset.empty()) p.name += " with c = " + to_string(p.c);
  }
  if (!a.c_layers.empty()) {
    p.c_l = parse_list("--c-layers", a.c_layers, a.depth);
    if (!a.c.empty()) throw FlagError{"give either --c (one exponent for every layer) or --c-layers (one per layer), not both"};
    if (frees_global_c(a.free))
      throw FlagError{"--free c frees the global c, which --c-layers overrides; free one layer's exponent instead, e.g. --free c_1"};
    if (!a.preset.empty()) p.name += " with per-layer c";
  }
  const auto o = parse_optimizer(a.optimizer);
  if (!o) throw FlagError{"--optimizer: unknown optimizer '" + a.optimizer + "'; choose sgd, adam or signsgd"};
  p.optimizer = *o;
  return p;
}

namespace {

// The optimizer and the learning-rate exponents of every layer (c_l given or the global c repeated).
void add_training_fields(const AbcParametrization& p, json& j) {
  json cl = json::array();
  for (int i = 0; i <= p.depth(); ++i) cl.push_back(to_string(p.c_of(i)));
  j["optimizer"] = std::string(optimizer_name(p.optimizer));
  j["c"] = p.c_l.empty() ? json(to_string(p.c)) : json(nullptr);
  j["c_l"] = cl;
}

json phase_json(const MlpPhase& ph) {
  json reasons = json::array(), details = json::array();
  for (const auto& i : ph.instabilities) {
    if (std::find(reasons.begin(), reasons.end(), i.key) == reasons.end()) reasons.push_back(i.key);
    details.push_back({{"reason", i.key}, {"detail", i.detail}});
  }
  json rl = json::array(), ul = json::array(), exps = json::array();
  for (const auto& x : ph.r_l) rl.push_back(to_string(x));
  for (const auto& x : ph.u_l) ul.push_back(to_string(x));
  for (const auto& e : ph.exponents)
    exps.push_back({{"quantity", e.quantity}, {"exponent", to_string(e.exponent)}, {"meaning", e.meaning}});
  return {{"stable", ph.stable},
          {"instability_reasons", reasons},
          {"instability_details", details},
          {"nontrivial", ph.nontrivial},
          {"regime", std::string(regime_name(ph.regime))},
          {"r", to_string(ph.r)},
          {"r_l", rl},
          {"u_l", ul},
          {"g", to_string(ph.g)},
          {"feature_learning_by_layer", ph.feature_learning_by_layer},
          {"updated_maximally", ph.updated_maximally},
          {"readout_initialized_maximally", ph.readout_initialized_maximally},
          {"nngp_limit", ph.nngp_limit},
          {"f0_limit", ph.f0_nonzero_gp ? "nonzero_GP" : "zero"},
          {"exponents", exps}};
}

// Display width of UTF-8 text (code points; Δ and Θ are one column).
std::size_t columns(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char ch : s) n += (ch & 0xC0) != 0x80;
  return n;
}

std::string pad(std::string s, std::size_t w) {
  const std::size_t c = columns(s);
  return c >= w ? s + " " : s + std::string(w - c, ' ');
}

// "SGD with learning rate eta n^-c, c = 0"; without the value when the global c is the free exponent.
std::string training_text(const AbcParametrization& p, bool c_free = false) {
  const bool sgd = p.optimizer == Optimizer::sgd;
  std::string s = sgd ? "SGD" : p.optimizer == Optimizer::adam ? "Adam (epsilon negligible)" : "SignSGD";
  if (c_free) return s + " with learning rate eta n^-c";
  if (p.c_l.empty()) return s + " with learning rate eta n^-c, c = " + to_string(p.c);
  return s + " with per-layer learning rates eta n^-c_l";
}

void print_text(const AbcParametrization& p, const MlpPhase& ph, std::ostream& out) {
  const int L = p.depth();
  const bool sgd = p.optimizer == Optimizer::sgd;
  out << "MLP with L = " << L << " hidden layer" << (L == 1 ? "" : "s") << ", parametrization " << p.name << ", "
      << training_text(p) << "\n\n";
  out << pad("layer", 9) << pad("a", 7) << pad("b", 7) << pad("c_l", 7) << pad("u_l", 7) << pad("r_l", 7)
      << pad("updated maximally", 19) << "learns features\n";
  for (int l = 1; l <= L + 1; ++l) {
    const bool readout = l == L + 1;
    out << pad(readout ? "readout" : std::to_string(l), 9) << pad(to_string(p.a[l - 1]), 7) << pad(to_string(p.b[l - 1]), 7)
        << pad(to_string(p.c_of(l - 1)), 7) << pad(to_string(ph.u_l[l - 1]), 7)
        << pad(readout ? "-" : to_string(ph.r_l[l - 1]), 7) << pad(ph.updated_maximally[l - 1] ? "yes" : "no", 19)
        << (readout ? "-" : ph.feature_learning_by_layer[l - 1] ? "yes" : "no") << "\n";
  }
  out << "\nu_l = " << (sgd ? "2a_l + c_l (SGD)" : "a_l + c_l (entrywise update, TP4b)") << "; r_l = g + u_l - 1 + [l=1] with g = "
      << to_string(ph.g) << (sgd ? " = min(a+b, u) of the readout" : " (the update does not see the gradient's size)") << "\n";
  out << "r = " << to_string(ph.r) << "\n";
  const char* paper = sgd ? "TP4" : "TP4b";
  if (ph.stable) {
    out << "verdict: stable, " << (ph.nontrivial ? "nontrivial" : "trivial (the function does not move in the limit)");
    if (ph.regime == Regime::feature_learning) out << ": FEATURE LEARNING (r = 0, " << paper << ")\n";
    else if (ph.regime == Regime::kernel)
      out << (sgd ? ": KERNEL REGIME (r > 0, TP4 Thm 3.6/Cor 3.9)\n"
                  : ": KERNEL-LIKE REGIME (r > 0; TP4b's nonlinear operator regime, no feature learning)\n");
    else out << " (" << paper << ", TP4 Thm 3.4)\n";
  } else {
    out << "verdict: UNSTABLE (" << paper << ", TP4 Thm 3.3), every violated condition:\n";
    for (const auto& i : ph.instabilities) out << "  [" << i.key << "] " << i.detail << "\n";
  }
  out << "readout initialized maximally: " << (ph.readout_initialized_maximally ? "yes" : "no")
      << "; NNGP limit (only the readout trains): " << (ph.nngp_limit ? "yes" : "no")
      << "; f_0 at init -> " << (ph.f0_nonzero_gp ? "a nonzero Gaussian process" : "0") << "\n\n";
  out << "coordinate sizes Theta(n^e) (TP4 §3, App. H" << (sgd ? "" : "; entrywise updates as in TP4b") << "):\n";
  std::size_t w = 8;
  for (const auto& e : ph.exponents) w = std::max(w, columns(e.quantity) + 2);
  for (const auto& e : ph.exponents) out << "  " << pad(e.quantity, w) << pad(to_string(e.exponent), 7) << e.meaning << "\n";
}

// The second derivation route: sizes propagated through the unrolled training program (tp/unroll.h) at
// T = 2 on one representative point (tp/representative_point.h: the exponents do not depend on the number
// of points, while the program grows like points²), compared entry by entry with the closed form.
struct ExponentRoutes {
  std::vector<SizeExponent> propagated;
  json per_value = json::array();  ///< every value of the unrolled program: its size and change exponents
  bool agree = true;
  std::string unavailable;
  /// Graph route of an unstable network: the quantities after the first that leaves the stable range, which the
  /// routes model differently (graph_exponent_routes).
  std::vector<std::string> past_blowup;

  /// Whether e is compared with the closed form: not the t ≥ 2 changes of an unstable network (the closed form
  /// has no prediction after a blow-up), nor past_blowup.
  bool compared(const std::string& quantity, const MlpPhase& ph) const {
    if (ph.stable) return true;
    return quantity.find("_t") == std::string::npos &&
           std::find(past_blowup.begin(), past_blowup.end(), quantity) == past_blowup.end();
  }
};

void add_per_value(const Program& p, const std::vector<SizeExp>& size, const std::vector<SizeExp>& change, json& out) {
  auto text = [](const SizeExp& e) { return e ? json(to_string(*e)) : json(nullptr); };
  for (std::size_t i = 0; i < p.size(); ++i) {
    const Value& v = p.values()[i];
    if (v.kind == ValueKind::Matrix) continue;
    out.push_back({{"value", v.name}, {"kind", std::string(kind_name(v.kind))}, {"size", text(size[i])},
                   {"change", text(change[i])}});
  }
}

// SGD: tp::unroll's program, whose exponents carry the MLP quantities' names.
void sgd_exponent_routes(const NetworkSpec& s, double budget_bytes, ExponentRoutes& r) {
  UnrollOptions uo;
  uo.memory_budget_bytes = budget_bytes;
  uo.budget_flag = "--memory-budget";
  const UnrolledProgram up = unroll(s, uo);
  if (!up.exponents_unavailable.empty()) {
    r.unavailable = up.exponents_unavailable;
    return;
  }
  r.propagated = up.exponents;
  add_per_value(up.program, up.size, up.delta, r.per_value);
}

// Adam, AdamW and SignSGD: the script as a graph (tp/network_graph.h) through the graph IR route, whose outer
// nonlinearities write the entrywise update (tp/graph_unroll.h); its node sizes are read as the MLP quantities.
void graph_exponent_routes(const NetworkSpec& s, const MlpPhase& ph, double budget_bytes, ExponentRoutes& r) {
  const GraphSpec g = network_graph(s);
  if (const std::string why = graph_unroll_unsupported(g); !why.empty()) {
    r.unavailable = why;
    return;
  }
  GraphUnrollOptions o;
  o.steps = s.steps;
  o.memory_budget_bytes = budget_bytes;
  o.budget_flag = "--memory-budget";
  const GraphUnrolled ir = unroll_graph(graph_representative_spec(g), o);
  // In the closed form's order (init, then step 1), the quantities after the first that leaves the stable range
  // (h^l_0 ≠ Θ(1), f_0 or a step-1 change growing) are not compared: there the closed form keeps its generic
  // growth rules and the program propagates the sizes it has.
  bool left = false;
  for (const auto& c : ph.exponents) {
    GraphQuantity q;
    if (!graph_quantity(c.quantity, s.steps, q)) continue;
    if (q.step > 1) continue;
    if (left) r.past_blowup.push_back(c.quantity);
    left = left || (q.step == 0 && q.node != "f" ? c.exponent != 0 : c.exponent > 0);
  }
  for (const auto& c : ph.exponents) {
    GraphQuantity q;
    if (!graph_quantity(c.quantity, s.steps, q)) continue;
    for (const PredictedSize& z : ir.sizes)
      if (z.node == q.node && z.step == q.step && z.delta == q.delta && z.known && !z.vanishes)
        r.propagated.push_back({c.quantity, z.exponent, c.meaning});
  }
  add_per_value(ir.program, ir.init, ir.delta, r.per_value);
}

std::optional<ExponentRoutes> exponent_routes(const NetworkSpec& spec, const MlpPhase& ph, double budget_bytes) {
  ExponentRoutes r;
  NetworkSpec s = representative_point_spec(spec);
  s.steps = 2;
  try {
    if (spec.abc.optimizer == Optimizer::sgd) sgd_exponent_routes(s, budget_bytes, r);
    else graph_exponent_routes(s, ph, budget_bytes, r);
  } catch (const std::exception& e) {
    r.unavailable = e.what();
  }
  if (!r.unavailable.empty()) return r;
  for (const auto& e : r.propagated)
    for (const auto& c : ph.exponents)
      if (c.quantity == e.quantity && r.compared(e.quantity, ph) && c.exponent != e.exponent) r.agree = false;
  return r;
}

void print_script_sources(const std::string& file, const NetworkScript& script, const MlpPhase& ph,
                          const std::optional<ExponentRoutes>& routes, std::ostream& out) {
  const auto& src = script.spec.source;
  auto at = [&](const SourceRange& r) { return file + ":" + std::to_string(r.begin.line); };
  out << "\nfrom the script: exponents a_l, b_l set at " << at(src.parametrization) << ", learning rate and optimizer at "
      << at(src.optimizer) << ", the layers at " << at(src.network) << "\n";
  if (!ph.stable) {
    out << "  the violated conditions above come from the exponents at " << at(src.parametrization);
    for (const auto& i : ph.instabilities)
      if (i.key != "init") {
        out << " and the learning rate at " << at(src.optimizer);
        break;
      }
    out << "\n";
  }
  if (!routes) return;
  if (!routes->unavailable.empty()) {
    out << "exponents through the unrolled program: not available (" << routes->unavailable << ")\n";
    return;
  }
  out << "\nthe two derivation routes (closed form above vs sizes propagated op by op through the unrolled training "
         "program, T = 2, on one representative point: the exponents are the same for every number of points):\n";
  std::size_t w = 10;
  for (const auto& e : routes->propagated) w = std::max(w, columns(e.quantity) + 2);
  out << "  " << pad("quantity", w) << pad("closed", 9) << pad("program", 9) << "\n";
  for (const auto& e : routes->propagated) {
    std::string closed = "-";
    for (const auto& c : ph.exponents)
      if (c.quantity == e.quantity) closed = to_string(c.exponent);
    const bool compared = routes->compared(e.quantity, ph);
    out << "  " << pad(e.quantity, w) << pad(compared ? closed : "n/a", 9) << pad(to_string(e.exponent), 9)
        << (compared && closed != "-" && closed != to_string(e.exponent) ? "DISAGREE" : "") << "\n";
  }
  if (!routes->past_blowup.empty())
    out << "  (n/a: past the first quantity that leaves the stable range, which the routes model differently: the "
           "program propagates the sizes it has, lets a bounded activation saturate and bounds products of blown-up "
           "changes by their LLN size; the closed form keeps its generic rules)\n";
  out << (routes->agree ? "the routes agree\n" : "the routes DISAGREE (please report this script)\n");
}

// One quantity of a region as an affine function of the free exponent s: "c - 1/2", or when the formula
// changes inside the region, each stretch's formula with its condition: "1/2 (c <= 1), c - 1/2 (c > 1)".
template <class Pick>
std::string affine_text(const PhaseRegion& r, const std::string& s, Pick pick) {
  std::vector<std::pair<std::string, std::string>> parts;  // (formula, condition), equal neighbours joined
  for (const auto& st : r.stretches) {
    const std::string text = pick(st).text(s);
    if (!parts.empty() && parts.back().first == text) continue;
    parts.emplace_back(text, st.condition);
  }
  if (parts.size() == 1) return parts[0].first;
  std::string out;
  for (const auto& [text, cond] : parts) out += (out.empty() ? "" : ", ") + text + " (" + cond + ")";
  return out;
}

// `--free x,y`: the faces of the (x, y) plane grouped by verdict (tp/phase_region.h, phase_polyhedra).
int run_two_free(const AbcParametrization& p, const PhaseArgs& args, std::ostream& out, std::ostream& err) {
  auto fail = [&](const std::string& msg) {
    if (args.format == "json") out << json{{"ok", false}, {"error", "--free: " + msg}}.dump(2) << "\n";
    else err << "tpc phase: error: --free: " << msg << "\n";
    return 1;
  };
  const auto names = free_names(args.free);
  if (names.size() > 2) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    return fail("at most two free exponents are supported, got " + std::to_string(names.size()) + " (" + list +
                "); give the others values");
  }
  std::vector<FreeExponent> fr;
  for (const auto& n : names) {
    std::string problem;
    auto f = parse_free_exponent(n, p.depth(), problem);
    if (!f) return fail(problem);
    fr.push_back(*f);
  }
  if (fr[0].name() == fr[1].name()) return fail(fr[0].name() + " is named twice; give two different exponents, e.g. --free c,a_" +
                                                std::to_string(p.depth() + 1));
  std::vector<PhasePolyRegion> faces;
  try {
    faces = phase_polyhedra(p, fr);
  } catch (const std::invalid_argument& e) {
    return fail(e.what());
  }
  auto violated = [](const MlpPhase& ph) {
    std::vector<std::string> keys;
    for (const auto& i : ph.instabilities)
      if (std::find(keys.begin(), keys.end(), i.key) == keys.end()) keys.push_back(i.key);
    return keys;
  };
  const bool c_free = fr[0].name() == "c" || fr[1].name() == "c";
  if (args.format == "json") {
    json arr = json::array();
    for (const auto& f : faces) {
      json conds = json::array();
      for (const auto& c : f.constraints) conds.push_back(c.text);
      arr.push_back({{"regime", std::string(regime_name(f.phase.regime))},
                     {"violated", violated(f.phase)},
                     {"dimension", f.dimension},
                     {"conditions", conds},
                     {"condition", f.condition},
                     {"sample", {{fr[0].name(), to_string(f.x)}, {fr[1].name(), to_string(f.y)}}}});
    }
    json j{{"ok", true}, {"parametrization", p.name}, {"free", {fr[0].name(), fr[1].name()}}, {"regions", arr}};
    add_training_fields(p, j);
    for (const auto& f : fr) {
      if (f.kind == FreeExponent::C && f.layer == 0) j["c"] = "free";
      else if (f.kind == FreeExponent::C) j["c_l"][f.layer - 1] = "free";
    }
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "MLP with L = " << p.depth() << ", parametrization " << p.name << ", " << training_text(p, c_free) << ", "
      << fr[0].name() << " and " << fr[1].name() << " free; the regions of their plane, by verdict:\n";
  std::string last;
  for (const auto& f : faces) {
    const std::string key = verdict_key(f.phase);
    if (key != last) {
      out << "  " << regime_name(f.phase.regime);
      const auto keys = violated(f.phase);
      if (!keys.empty()) {
        out << ", violates";
        for (const auto& k : keys) out << " " << k;
      }
      out << ":\n";
      last = key;
    }
    out << "    " << f.condition << "\n";
  }
  return 0;
}

}  // namespace

void add_parametrization_flags(CLI::App* sub, PhaseArgs& args) {
  sub->add_option("--mlp", args.depth, "number of hidden layers L (the readout is layer L+1)");
  sub->add_option("--preset", args.preset, "sp | ntp | mfp (L = 1) | mup");
  sub->add_option("--a", args.a, "a_1..a_{L+1} as exact rationals, e.g. --a=-1/2,0,1/2");
  sub->add_option("--b", args.b, "b_1..b_{L+1}, e.g. --b=1/2,1/2,1/2");
  sub->add_option("--c", args.c, "learning-rate exponent c of every layer (lr = eta n^-c); overrides a preset's c");
}

// `tpc phase prog.tp` on a level-1 program (no network block; e.g. the output of `tpc dump net.tp`): the width
// exponent of every value by propagation (tp/program_sizes.h), the values that grow with n, and the outputs'
// fate. Steps: 1. load and compile; 2. propagate; 3. print.
int run_program_phase(const std::string& path, const std::string& format, std::ostream& out, std::ostream& err) {
  const bool as_json = format == "json";
  std::string problem;
  auto file = load_source(path, problem);
  if (!file) {
    if (as_json) out << json{{"ok", false}, {"error", problem}}.dump(2) << "\n";
    else err << "tpc phase: error: " << problem << "\n";
    return 1;
  }
  DiagnosticEngine diags;
  auto program = compile_source(file->text, diags);
  if (!program) {
    if (as_json) out << json{{"ok", false}, {"diagnostics", diagnostics_json(diags.diagnostics(), *file)}}.dump(2) << "\n";
    else err << render(diags.diagnostics(), *file) << diags.error_count() << " error" << (diags.error_count() == 1 ? "" : "s")
             << " in " << file->name << "\n";
    return 1;
  }
  if (!as_json && !diags.diagnostics().empty()) err << render(diags.diagnostics(), *file);
  const std::vector<ValueSize> sizes = program_sizes(*program);
  // values downstream of TP4b's outer nonlinearity (outer_avg): the propagation does not size them
  std::vector<bool> outer(program->size(), false);
  std::size_t unknown = 0;
  for (std::size_t i = 0; i < program->size(); ++i) {
    const Value& v = program->values()[i];
    outer[i] = v.op == Op::OuterNonlin;
    for (ValueId o : v.operands) outer[i] = outer[i] || outer[static_cast<std::size_t>(o)];
    unknown += sizes[i].known || v.kind == ValueKind::Matrix ? 0 : 1;
  }
  auto exponent_text = [](const ValueSize& s) -> std::string {
    if (!s.known) return "unknown";
    return s.exponent ? to_string(*s.exponent) : "zero";
  };
  auto line_of = [&](const SourceRange& r) { return r.valid() ? std::to_string(r.begin.line) : std::string("-"); };
  // growing values (not the width factors n^q themselves, which are written on purpose)
  std::vector<std::string> growing;
  json rows = json::array();
  for (std::size_t i = 0; i < program->size(); ++i) {
    const Value& v = program->values()[i];
    if (v.kind == ValueKind::Matrix) continue;
    const ValueSize& s = sizes[i];
    rows.push_back({{"value", v.name}, {"kind", std::string(kind_name(v.kind))},
                    {"line", v.range.valid() ? json(v.range.begin.line) : json(nullptr)},
                    {"exponent", exponent_text(s)}, {"mean_zero", s.mean_zero}});
    if (v.op != Op::WidthPower && s.known && s.exponent && *s.exponent > 0)
      growing.push_back("'" + v.name + "' grows like n^(" + to_string(*s.exponent) + ")" +
                        (v.range.valid() ? " (line " + std::to_string(v.range.begin.line) + ")" : ""));
  }
  auto fate = [&](const ValueSize& s, ValueId id) -> std::string {
    if (!s.known && outer[static_cast<std::size_t>(id)])
      return "unknown (it depends on an outer nonlinearity outer_avg, TP4b's NE⊗OR⊤, which this propagation does not "
             "size; for a graph network, 'tpc phase' on the network script sizes it)";
    if (!s.known) return "unknown (a super-polynomial function of a growing value)";
    if (!s.exponent) return "exactly zero";
    if (*s.exponent > 0) return "blows up like n^(" + to_string(*s.exponent) + ")";
    if (*s.exponent < 0)
      return "vanishes like n^(" + to_string(*s.exponent) + ")" + (s.mean_zero ? " (a mean-zero average: CLT)" : "");
    if (s.random) return "converges in distribution to a Gaussian (n^0: a mean-zero average scaled by its CLT rate)";
    return "converges to a nonzero limit (n^0)";
  };
  json outputs = json::array();
  for (const auto& o : program->outputs()) {
    const ValueSize& s = sizes[static_cast<std::size_t>(o.value)];
    const std::string verdict = !s.known ? "unknown" : !s.exponent ? "zero" : *s.exponent > 0 ? "blows_up"
                                : *s.exponent < 0                  ? "vanishes"
                                : s.random                         ? "random_limit"
                                                                   : "nonzero_limit";
    outputs.push_back({{"name", o.name}, {"line", o.range.valid() ? json(o.range.begin.line) : json(nullptr)},
                       {"exponent", exponent_text(s)}, {"verdict", verdict}, {"description", fate(s, o.value)}});
  }
  if (as_json) {
    out << json{{"ok", true}, {"program", file->name}, {"stable", growing.empty()}, {"unstable_values", growing},
                {"values", rows}, {"outputs", outputs}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << file->name << ": a level-1 Tensor Program; width exponents by propagation (per coordinate for vectors: "
      << "Θ(n^e); MatMul keeps the size, averages add exponents, mean-zero averages 1/2 less)\n";
  std::size_t w = 8;
  for (const auto& r : rows) w = std::max(w, columns(r["value"].get<std::string>()) + 2);
  out << "  " << pad("value", w) << pad("kind", 8) << pad("line", 6) << "n^e\n";
  for (const auto& r : rows)
    out << "  " << pad(r["value"].get<std::string>(), w) << pad(r["kind"].get<std::string>(), 8)
        << pad(r["line"].is_null() ? "-" : std::to_string(r["line"].get<int>()), 6) << r["exponent"].get<std::string>()
        << (r["mean_zero"].get<bool>() ? "  (mean zero)" : "") << "\n";
  if (growing.empty() && unknown > 0) {
    out << "no value with a known exponent grows with n; " << unknown << " value" << (unknown == 1 ? " is" : "s are")
        << " unknown\n";
  } else if (growing.empty()) {
    out << "stable: no value grows with n\n";
  } else {
    for (const auto& g : growing) out << "unstable: " << g << "\n";
  }
  out << "outputs:\n";
  for (const auto& o : program->outputs())
    out << "  " << o.name << " (line " << line_of(o.range) << "): " << fate(sizes[static_cast<std::size_t>(o.value)], o.value) << "\n";
  return 0;
}

CLI::App* add_phase_command(CLI::App& app, PhaseArgs& args) {
  auto* sub = app.add_subcommand("phase",
                                 "the phase of an MLP under an abc-parametrization trained by SGD (TP4) or Adam/SignSGD (TP4b): "
                                 "stability, kernel vs feature learning, maximal updates, size exponents; with --free, "
                                 "the regions of one or two exponents (r and the exponents as affine functions of "
                                 "them); on a level-1 program, the width exponent of every value and which outputs "
                                 "converge, vanish or blow up; on a graph network script ('network graph { ... }': "
                                 "embedding, layernorm, attention, residual add, readout; SGD or Adam), per parameter "
                                 "tensor its init output size, its update's effect, maximal update and feature "
                                 "learning, the verdict with the first tensor and step that blows up, and the "
                                 "predicted coordinate sizes of every node at steps 0..T, and whether they agree with "
                                 "the sizes propagated op by op through the graph unrolled into a program (SGD, Adam, SignSGD, weight decay; Adam and SignSGD through TP4b's outer nonlinearity)");
  sub->add_option("file", args.file, "a network script (level 2) whose network, parametrization and optimizer to "
                  "classify (then --mlp/--preset/--a/--b/--c/--c-layers/--optimizer are not used), or a level-1 "
                  "program (e.g. from tpc dump): the width exponent of every value, the values that grow with n and "
                  "which outputs converge, vanish or blow up");
  add_parametrization_flags(sub, args);
  sub->add_option("--c-layers", args.c_layers,
                  "per-layer learning-rate exponents c_1..c_{L+1} (layer l's lr = eta n^-c_l), e.g. --c-layers=-1,0,1; "
                  "replaces --c");
  sub->add_option("--optimizer", args.optimizer,
                  "sgd (TP4) | adam | signsgd (entrywise updates, TP4b; Adam's epsilon taken as negligible)")
      ->default_val("sgd");
  sub->add_option("--free", args.free,
                  "leave one exponent free (c, a_l, b_l or c_l) and print the regime of every region, or two "
                  "(--free c,a_3) and print the conditions of every face of their plane");
  sub->add_option("--format", args.format, "output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  sub->add_option("--memory-budget", args.budget_gib,
                  "refuse a propagation-route program (network scripts: two training steps on one representative "
                  "point; graph scripts: up to three steps on one representative example) needing more memory "
                  "than this many GiB")
      ->check(positive_finite())
      ->default_val(8.0);
  return sub;
}

int run_phase_command(const PhaseArgs& args_in, std::ostream& out, std::ostream& err) {
  PhaseArgs args = args_in;
  AbcParametrization p;
  std::optional<NetworkScript> script;
  if (!args.file.empty()) {
    if (args.depth != 0 || !args.preset.empty() || !args.a.empty() || !args.b.empty() || !args.c.empty() ||
        !args.c_layers.empty() || args.optimizer != "sgd") {
      const std::string msg = "give either a network script or the --mlp/--preset/--a/--b/--c/--c-layers/--optimizer "
                              "flags, not both (the script already sets them)";
      if (args.format == "json") out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
      else err << "tpc phase: error: " << msg << "\n";
      return 1;
    }
    {
      std::string problem;
      const auto text = load_source(args.file, problem);
      if (text && is_graph_network_script(text->text)) {
        if (!args.free.empty()) {
          const std::string msg = "--free applies to MLP scripts and --mlp; give a graph network's exponents as numbers";
          if (args.format == "json") out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
          else err << "tpc phase: error: " << msg << "\n";
          return 1;
        }
        return run_graph_phase(args.file, args.format, out, err, args.budget_gib * 1024.0 * 1024.0 * 1024.0);
      }
      if (text && !is_network_script(text->text)) {
        if (!args.free.empty()) {
          const std::string msg = "--free applies to network scripts and --mlp; " + args.file + " is a level-1 program";
          if (args.format == "json") out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
          else err << "tpc phase: error: " << msg << "\n";
          return 1;
        }
        return run_program_phase(args.file, args.format, out, err);
      }
    }
    script = load_network_script(args.file, args.format == "json", out, err, FreeExponents::up_to_two);
    if (!script) return 1;
    p = script->spec.abc;
    if (args.free.empty() && !script->free.empty()) {
      // one symbol: its first place (as before); two different symbols: both, each at one place
      auto place = [](const FreeSymbol& f) { return std::string(1, f.exponent) + (f.layer == 0 ? "" : "_" + std::to_string(f.layer)); };
      std::vector<std::string> symbols, places;
      for (const auto& f : script->free)
        if (std::find(symbols.begin(), symbols.end(), f.symbol) == symbols.end()) {
          symbols.push_back(f.symbol);
          places.push_back(place(f));
        }
      args.free = places[0] + (places.size() == 2 ? "," + places[1] : "");
    }
  } else {
    try {
      p = parametrization_from_flags(args);
    } catch (const FlagError& e) {
      if (args.format == "json") out << json{{"ok", false}, {"error", e.message}}.dump(2) << "\n";
      else err << "tpc phase: error: " << e.message << "\n";
      return 1;
    }
  }
  if (args.free.empty()) {
    const MlpPhase ph = classify_mlp(p);
    const std::optional<ExponentRoutes> routes = script ? exponent_routes(script->spec, ph, args.budget_gib * 1024.0 * 1024.0 * 1024.0) : std::nullopt;
    if (args.format == "json") {
      json j = phase_json(ph);
      j["ok"] = true;
      j["parametrization"] = p.name;
      add_training_fields(p, j);
      if (script) {
        j["file"] = args.file;
        j["source"] = {{"network_line", script->spec.source.network.begin.line},
                       {"parametrization_line", script->spec.source.parametrization.begin.line},
                       {"optimizer_line", script->spec.source.optimizer.begin.line}};
      }
      if (routes) {
        json arr = json::array();
        for (const auto& e : routes->propagated) arr.push_back({{"quantity", e.quantity}, {"exponent", to_string(e.exponent)}});
        j["exponents_propagated"] = arr;
        j["exponent_routes_agree"] = routes->agree;
        j["program_exponents"] = routes->per_value;
        if (!routes->unavailable.empty()) j["exponents_propagated_unavailable"] = routes->unavailable;
      }
      out << j.dump(2) << "\n";
    } else {
      print_text(p, ph, out);
      if (script) print_script_sources(args.file, *script, ph, routes, out);
    }
    return 0;
  }
  if (free_names(args.free).size() >= 2) return run_two_free(p, args, out, err);
  std::string problem;
  auto f = parse_free_exponent(args.free, p.depth(), problem);
  if (!f) {
    if (args.format == "json") out << json{{"ok", false}, {"error", "--free: " + problem}}.dump(2) << "\n";
    else err << "tpc phase: error: --free: " << problem << "\n";
    return 1;
  }
  std::vector<PhaseRegion> regions;
  try {
    regions = phase_regions(p, *f);
  } catch (const std::invalid_argument& e) {
    if (args.format == "json") out << json{{"ok", false}, {"error", std::string("--free: ") + e.what()}}.dump(2) << "\n";
    else err << "tpc phase: error: --free: " << e.what() << "\n";
    return 1;
  }
  if (args.format == "json") {
    json arr = json::array();
    for (const auto& r : regions) {
      json j = phase_json(r.phase);
      j["condition"] = r.condition;
      j["lower"] = r.lo ? json(to_string(*r.lo)) : json(nullptr);
      j["upper"] = r.hi ? json(to_string(*r.hi)) : json(nullptr);
      j["lower_included"] = r.lo_closed;
      j["upper_included"] = r.hi_closed;
      // r and the exponents as affine functions of the free exponent, stretch by stretch
      json stretches = json::array();
      for (const auto& st : r.stretches) {
        json ex = json::array();
        for (std::size_t i = 0; i < st.exponents.size() && i < r.phase.exponents.size(); ++i)
          ex.push_back({{"quantity", r.phase.exponents[i].quantity}, {"exponent", st.exponents[i].text(f->name())}});
        stretches.push_back({{"condition", st.condition}, {"r", st.r.text(f->name())}, {"exponents", ex}});
      }
      j["affine"] = stretches;
      arr.push_back(j);
    }
    json j{{"ok", true}, {"parametrization", p.name}, {"free", f->name()}, {"regions", arr}};
    add_training_fields(p, j);
    if (f->kind == FreeExponent::C && f->layer == 0) j["c"] = "free";
    else if (f->kind == FreeExponent::C) j["c_l"][f->layer - 1] = "free";
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "MLP with L = " << p.depth() << ", parametrization " << p.name << ", " << training_text(p, f->kind == FreeExponent::C && f->layer == 0)
      << ", " << f->name() << " free:\n";
  std::size_t w = 10;
  for (const auto& r : regions) w = std::max(w, r.condition.size() + 2);
  for (const auto& r : regions) {
    out << "  " << pad(r.condition, w) << pad(std::string(regime_name(r.phase.regime)), 18);
    std::vector<std::string> keys;
    for (const auto& i : r.phase.instabilities)
      if (std::find(keys.begin(), keys.end(), i.key) == keys.end()) keys.push_back(i.key);
    if (!keys.empty()) {
      out << "violates";
      for (const auto& k : keys) out << " " << k;
    } else {
      out << "r = " << affine_text(r, f->name(), [](const AffineStretch& st) { return st.r; });
    }
    out << "\n";
    // the size exponents (n^e) as affine functions of the free exponent
    const std::string indent = "  " + std::string(w, ' ');
    std::string line = indent + "sizes n^e:";
    for (std::size_t i = 0; i < r.phase.exponents.size(); ++i) {
      const std::string item = " " + r.phase.exponents[i].quantity + " " +
                               affine_text(r, f->name(), [i](const AffineStretch& st) { return st.exponents.at(i); }) +
                               (i + 1 < r.phase.exponents.size() ? "," : "");
      if (columns(line) + columns(item) > 110) {
        out << line << "\n";
        line = indent + "          ";
      }
      line += item;
    }
    out << line << "\n";
  }
  return 0;
}

}  // namespace tp::frontend

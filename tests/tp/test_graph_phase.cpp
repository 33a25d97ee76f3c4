// The graph size calculus (tp/graph_phase) against the MLP closed form (tp/mlp_phase) over random abc values
// for SGD and Adam, TP5's three equivalent forms per tensor kind, graph_problem's checks, weight-decay rules.
#include <doctest/doctest.h>

#include <random>

#include "tp/graph_phase.h"

using namespace tp;

namespace {

Rational q(long long p, long long d = 1) { return Rational(p, d); }

GraphParameter param(const std::string& name, TensorKind k, int rows, int cols) {
  GraphParameter w;
  w.name = name;
  w.kind = k;
  w.rows = rows;
  w.cols = cols;
  w.rows_width = k == TensorKind::input_like || k == TensorKind::hidden || k == TensorKind::vector_like;
  w.cols_width = k == TensorKind::hidden || k == TensorKind::output_like;
  return w;
}

int add_node(GraphSpec& g, const std::string& name, GraphOp op, std::vector<int> inputs, std::vector<int> params = {}) {
  GraphNode v;
  v.name = name;
  v.op = op;
  v.inputs = std::move(inputs);
  v.params = std::move(params);
  if (op == GraphOp::activation) {
    v.activation = call(Function::tanh, argument(0));
    v.activation_text = "tanh";
  }
  g.nodes.push_back(std::move(v));
  return static_cast<int>(g.nodes.size()) - 1;
}

int add_param(GraphSpec& g, GraphParameter w) {
  g.params.push_back(std::move(w));
  return static_cast<int>(g.params.size()) - 1;
}

// The MLP of p as a graph: input → embedding h1 → tanh → dense h2 → tanh … → readout.
GraphSpec mlp_graph(const AbcParametrization& p, int steps = 3) {
  GraphSpec g;
  g.input_dim = 2;
  g.output_dim = 1;
  g.training.optimizer = p.optimizer;
  g.training.steps = steps;
  const int L = p.depth();
  int x = add_node(g, "input", GraphOp::input, {});
  for (int l = 1; l <= L + 1; ++l) {
    const TensorKind k = l == 1 ? TensorKind::input_like : l == L + 1 ? TensorKind::output_like : TensorKind::hidden;
    GraphParameter w = param("W" + std::to_string(l), k, l == L + 1 ? 1 : 0, l == 1 ? 2 : 0);
    w.scaling.a = p.a[static_cast<std::size_t>(l - 1)];
    w.scaling.b = p.b[static_cast<std::size_t>(l - 1)];
    w.scaling.c = p.c_of(l - 1);
    const int pw = add_param(g, w);
    if (l == L + 1) {
      add_node(g, "f", GraphOp::readout, {x}, {pw, -1});
      break;
    }
    const int h = add_node(g, "h" + std::to_string(l), l == 1 ? GraphOp::embedding : GraphOp::dense, {x}, {pw});
    x = add_node(g, "x" + std::to_string(l), GraphOp::activation, {h});
  }
  return g;
}

Rational exponent_of(const GraphPhase& ph, const std::string& node, int step, bool delta) {
  for (const auto& s : ph.sizes)
    if (s.node == node && s.step == step && s.delta == delta) {
      REQUIRE(s.known);
      return s.vanishes ? Rational(-1000) : s.exponent;
    }
  FAIL("no size for " << node);
  return 0;
}

std::string describe(const AbcParametrization& p) {
  std::string s(optimizer_name(p.optimizer));
  for (std::size_t i = 0; i < p.a.size(); ++i)
    s += " (" + to_string(p.a[i]) + "," + to_string(p.b[i]) + "," + to_string(p.c_of(static_cast<int>(i))) + ")";
  return s;
}

// Every verdict and exponent of the MLP closed form, read off the graph calculus.
void check_against_mlp(const AbcParametrization& p) {
  INFO(describe(p));
  const MlpPhase m = classify_mlp(p);
  const int L = p.depth();
  const GraphPhase g = graph_phase(mlp_graph(p, 3));
  INFO(g.first_problem);
  REQUIRE(g.stable == m.stable);
  CHECK(g.regime == m.regime);
  if (!m.stable) return;
  for (int l = 1; l <= L + 1; ++l) {
    const TensorPhase& t = g.tensors[static_cast<std::size_t>(l - 1)];
    CHECK(t.updated_maximally == m.updated_maximally[static_cast<std::size_t>(l - 1)]);
    if (l <= L) CHECK(t.learns_features == m.feature_learning_by_layer[static_cast<std::size_t>(l - 1)]);
    // ΔW^l x^{l-1} = n^{-r_l} (hidden and input), n^{1-u} (readout)
    const Rational want = l <= L ? -m.r_l[static_cast<std::size_t>(l - 1)] : 1 - m.u_l[static_cast<std::size_t>(L)];
    REQUIRE(t.update_effect);
    CHECK(*t.update_effect == want);
  }
  for (const auto& e : m.exponents) {
    // h^l_0, f_0, Δh^l_1, Δh^l_t (t >= 2, here t = 3), Δf_1, Δf_t
    const std::string& qn = e.quantity;
    INFO(qn);
    if (qn == "f_0") CHECK(exponent_of(g, "f", 0, false) == e.exponent);
    else if (qn == "Δf_1") CHECK(exponent_of(g, "f", 1, true) == e.exponent);
    else if (qn == "Δf_t") CHECK(exponent_of(g, "f", 3, true) == e.exponent);
    else if (qn.rfind("h^", 0) == 0) CHECK(exponent_of(g, "h" + qn.substr(2, qn.find('_') - 2), 0, false) == e.exponent);
    else if (qn.rfind("Δh^", 0) == 0) {
      const std::string l = qn.substr(std::string("Δh^").size(), qn.find('_') - std::string("Δh^").size());
      const int step = qn.back() == '1' ? 1 : 3;
      CHECK(exponent_of(g, "h" + l, step, true) == e.exponent);
    }
  }
}

}  // namespace

TEST_CASE("an MLP written as a graph gets tp/mlp_phase's verdicts and exponents: the presets, SGD and Adam") {
  for (const Optimizer o : {Optimizer::sgd, Optimizer::adam, Optimizer::signsgd})
    for (int L = 1; L <= 3; ++L)
      for (const char* name : {"sp", "ntp", "mup"}) {
        AbcParametrization p = preset(name, L);
        p.optimizer = o;
        check_against_mlp(p);
      }
  AbcParametrization mfp = preset("mfp", 1);
  check_against_mlp(mfp);
  mfp.optimizer = Optimizer::adam;
  check_against_mlp(mfp);
}

TEST_CASE("an MLP as a graph agrees with tp/mlp_phase over random abc values (SGD and Adam)") {
  std::mt19937_64 rng(20261207);
  std::uniform_int_distribution<int> num(-4, 4), depth(1, 3), coin(0, 2);
  int stable = 0, regimes[4] = {0, 0, 0, 0};
  for (int trial = 0; trial < 1500; ++trial) {
    const int L = depth(rng);
    AbcParametrization p = preset(trial % 3 == 0 ? "mup" : trial % 3 == 1 ? "ntp" : "sp", L);
    p.optimizer = trial % 2 ? Optimizer::sgd : Optimizer::adam;
    if (p.optimizer == Optimizer::adam && trial % 3 == 0) {  // near Adam's µP: hidden and readout c = 1
      p.c_l.assign(static_cast<std::size_t>(L) + 1, q(1));
      p.c_l[0] = 0;
    }
    for (auto& a : p.a)
      if (coin(rng) == 0) a += q(num(rng), 2);
    for (auto& b : p.b)
      if (coin(rng) == 0) b += q(num(rng), 2);
    if (coin(rng) == 0) p.c += q(num(rng), 2);
    if (coin(rng) == 0) {
      p.c_l.assign(static_cast<std::size_t>(L) + 1, p.c);
      for (auto& c : p.c_l)
        if (coin(rng) == 0) c += q(num(rng), 2);
    }
    check_against_mlp(p);
    const MlpPhase m = classify_mlp(p);
    stable += m.stable;
    ++regimes[static_cast<int>(m.regime)];
  }
  // The sample reaches every regime (so the comparison is not vacuous).
  CHECK(stable > 100);
  for (int r = 0; r < 4; ++r) CHECK(regimes[r] > 10);
}

TEST_CASE("TP5's three forms (Tables 3, 8, 9) of sp, ntp and mup give the same per-tensor exponents and verdicts") {
  for (const Optimizer o : {Optimizer::sgd, Optimizer::adam})
    for (const char* name : {"sp", "ntp", "mup"}) {
      std::vector<std::string> seen;
      for (const PresetForm f : {PresetForm::table3, PresetForm::table8, PresetForm::table9}) {
        GraphSpec g = mlp_graph(preset("mup", 2), 3);
        g.training.optimizer = o;
        for (auto& w : g.params) w.scaling = tensor_preset(name, f, o, w.kind);
        const GraphPhase ph = graph_phase(g);
        std::string v(regime_name(ph.regime));
        for (const auto& t : ph.tensors) v += "|" + size_text(t.init_output) + "," + size_text(t.update_effect);
        for (const auto& s : ph.sizes) v += "|" + to_string(s.exponent) + (s.known ? "" : "?");
        seen.push_back(v);
      }
      INFO(name << " " << optimizer_name(o));
      CHECK(seen[0] == seen[1]);
      CHECK(seen[0] == seen[2]);
    }
}

TEST_CASE("TP5 Table 3: µP is feature learning and SP blows up for SGD and Adam alike; Table 9 is TP4's µP") {
  for (const Optimizer o : {Optimizer::sgd, Optimizer::adam}) {
    GraphSpec g = mlp_graph(preset("mup", 2), 2);
    g.training.optimizer = o;
    for (auto& w : g.params) w.scaling = tensor_preset("mup", PresetForm::table3, o, w.kind);
    const GraphPhase mu = graph_phase(g);
    CHECK(mu.regime == Regime::feature_learning);
    for (const auto& t : mu.tensors) CHECK(t.updated_maximally);
    for (auto& w : g.params) w.scaling = tensor_preset("sp", PresetForm::table3, o, w.kind);
    const GraphPhase sp = graph_phase(g);
    CHECK(sp.regime == Regime::unstable);
    CHECK(sp.first_step == 1);
    // The first hidden weights' update blows the preactivations up after one step: SGD r = −1/2 (TP4 §3.1),
    // Adam Θ(1) update entries summed over n inputs (n^1).
    CHECK(sp.first_tensor == "W2");
    CHECK(sp.first_problem.find(o == Optimizer::sgd ? "n^(1/2)" : "n^1") != std::string::npos);
  }
  // Table 9 (SGD) is TP4's abc µP preset entry by entry.
  const AbcParametrization tp4 = preset("mup", 2);
  const TensorKind kinds[] = {TensorKind::input_like, TensorKind::hidden, TensorKind::output_like};
  for (int i = 0; i < 3; ++i) {
    const TensorScaling s = tensor_preset("mup", PresetForm::table9, Optimizer::sgd, kinds[i]);
    CHECK(s.a == tp4.a[static_cast<std::size_t>(i)]);
    CHECK(s.b == tp4.b[static_cast<std::size_t>(i)]);
    CHECK(s.c == tp4.c);
  }
  // Table 3, Adam column: input lr η (c = 0), hidden η/fan_in (c = 1), output η/fan_in with var 1/fan_in².
  CHECK(tensor_preset("mup", PresetForm::table3, Optimizer::adam, TensorKind::input_like).c == 0);
  CHECK(tensor_preset("mup", PresetForm::table3, Optimizer::adam, TensorKind::hidden).c == 1);
  const TensorScaling out = tensor_preset("mup", PresetForm::table3, Optimizer::adam, TensorKind::output_like);
  CHECK(out.b == 1);
  CHECK(out.c == 1);
  // Table 8: output multiplier 1/fan_in, init var 1, SGD lr η·fan_in, Adam lr η.
  const TensorScaling o8 = tensor_preset("mup", PresetForm::table8, Optimizer::sgd, TensorKind::output_like);
  CHECK((o8.a == 1 && o8.b == 0 && o8.c == -1));
  CHECK(tensor_preset("mup", PresetForm::table8, Optimizer::adam, TensorKind::output_like).c == 0);
}

TEST_CASE("weight decay rules: lr·λ invariant is active at every width, Fan et al.'s λ ∝ √n vanishes per step") {
  GraphSpec g = mlp_graph(preset("mup", 2), 2);
  g.training.optimizer = Optimizer::adam;
  g.training.weight_decay = 0.1;
  for (auto& w : g.params) {
    w.scaling = tensor_preset("mup", PresetForm::table3, Optimizer::adam, w.kind);
    w.scaling.wd_exponent = decay_exponent(DecayRule::lr_invariant, w.kind, w.scaling);
  }
  GraphPhase ph = graph_phase(g);
  CHECK(ph.regime == Regime::feature_learning);
  CHECK(ph.tensors[1].decay.find("width-invariant") != std::string::npos);
  for (auto& w : g.params) w.scaling.wd_exponent = decay_exponent(DecayRule::fan2025, w.kind, w.scaling);
  CHECK(g.params[1].scaling.wd_exponent == q(-1, 2));
  ph = graph_phase(g);
  CHECK(ph.regime == Regime::feature_learning);
  CHECK(ph.tensors[1].decay.find("vanishes") != std::string::npos);
  // A width-independent λ with µP's c = 1 hidden learning rate also vanishes; with c = 0 (SP + Adam) the
  // decay is active but SP blows up anyway; a λ that grows faster than 1/lr blows the weights up.
  for (auto& w : g.params) w.scaling.wd_exponent = -w.scaling.c - 1;
  ph = graph_phase(g);
  CHECK(ph.regime == Regime::unstable);
  CHECK(ph.first_problem.find("weight decay") != std::string::npos);
}

TEST_CASE("graph_problem names the node or parameter and the fix") {
  GraphSpec g = mlp_graph(preset("mup", 2));
  CHECK(graph_problem(g) == "");
  GraphSpec cyc = g;
  cyc.nodes[2].inputs = {4};
  CHECK(graph_problem(cyc).find("not an earlier node") != std::string::npos);
  GraphSpec no_readout = g;
  no_readout.nodes.pop_back();
  no_readout.params.pop_back();
  CHECK(graph_problem(no_readout).find("no readout") != std::string::npos);
  GraphSpec kind = g;
  kind.params[1].kind = TensorKind::output_like;
  CHECK(graph_problem(kind).find("must be hidden") != std::string::npos);
  GraphSpec data = g;
  data.positions = 2;
  data.train_x = Eigen::MatrixXd::Ones(3, 2);
  data.train_y = Eigen::MatrixXd::Ones(1, 1);
  CHECK(graph_problem(data).find("multiple of the 2 positions") != std::string::npos);
  GraphSpec attn = g;
  attn.nodes[3].op = GraphOp::attention;
  attn.nodes[3].heads = 0;
  CHECK(graph_problem(attn).find("no heads") != std::string::npos);
  attn.nodes[3].heads = 3;
  CHECK(width_problem(attn, 64).find("do not divide the width 64") != std::string::npos);
  CHECK(width_problem(attn, 63) == "");
}

TEST_CASE("graph_phase refuses what it does not analyse: tied weights, and a step count over the memory budget") {
  GraphSpec g = mlp_graph(preset("mup", 2), 2);
  g.training.steps = 200000;
  CHECK_THROWS_WITH_AS(graph_phase(g), doctest::Contains("over the 200 MiB budget"), std::invalid_argument);
  g.training.steps = 2;
  g.tied.assign(g.params.size(), -1);
  g.tied.back() = 0;
  CHECK_THROWS_WITH_AS(graph_phase(g), doctest::Contains("tied"), std::invalid_argument);
}

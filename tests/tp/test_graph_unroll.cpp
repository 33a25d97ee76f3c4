// The IR route for graph networks (tp/graph_unroll: the graph and T steps of SGD as a level-1 program, sizes
// propagated op by op) against the graph size calculus (tp/graph_phase), on random graphs — embedding, dense,
// bias, activation, layer/RMS norm, residual adds with branch multipliers, attention (heads, causal, 1/d or
// 1/√d, zero query), readout with pooling and bias — under random presets in TP5's three forms and random abc.
#include <doctest/doctest.h>

#include <random>

#include "tp/errors.h"
#include "tp/graph_unroll.h"

using namespace tp;

namespace {

GraphParameter param(const std::string& name, TensorKind k) {
  GraphParameter w;
  w.name = name;
  w.kind = k;
  w.rows_width = k == TensorKind::input_like || k == TensorKind::hidden || k == TensorKind::vector_like;
  w.cols_width = k == TensorKind::hidden || k == TensorKind::output_like;
  w.rows = k == TensorKind::output_like || k == TensorKind::scalar_like ? 1 : 0;
  w.cols = k == TensorKind::input_like ? 2 : k == TensorKind::vector_like || k == TensorKind::scalar_like ? 1 : 0;
  return w;
}

struct Builder {
  GraphSpec g;
  std::mt19937_64& rng;
  std::string preset;  // "" = random abc
  PresetForm form = PresetForm::table3;
  Optimizer opt = Optimizer::sgd;
  bool decay = false;  // decoupled weight decay with a random width exponent per tensor
  bool tie = false;    // the readout tied to the embedding (d_o = d = 2; its b, c, d, wd, σ are the embedding's)
  int counter = 0;

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  int node(const std::string& name, GraphOp op, std::vector<int> in, std::vector<int> ps = {}) {
    GraphNode v;
    v.name = name + std::to_string(counter++);
    v.op = op;
    v.inputs = std::move(in);
    v.params = std::move(ps);
    if (op == GraphOp::activation) {
      const int f = pick(0, 2);
      v.activation = f == 0 ? call(Function::tanh, argument(0)) : f == 1 ? call(Function::relu, argument(0)) : call(Function::gelu, argument(0));
    }
    g.nodes.push_back(std::move(v));
    return static_cast<int>(g.nodes.size()) - 1;
  }
  int tensor(const std::string& name, TensorKind k) {
    GraphParameter w = param(name + std::to_string(counter++), k);
    if (k == TensorKind::output_like || k == TensorKind::scalar_like) w.rows = g.output_dim;
    if (!preset.empty()) {
      w.scaling = tensor_preset(preset, form, opt, k);
    } else {
      const Rational halves[] = {Rational(-1, 2), Rational(0), Rational(1, 2), Rational(1)};
      w.scaling.a = halves[pick(0, 3)];
      w.scaling.b = halves[pick(0, 3)];
      w.scaling.c = halves[pick(0, 3)] - Rational(pick(0, 1));
      w.scaling.zero_init = k != TensorKind::input_like && pick(0, 9) == 0;
    }
    if (k == TensorKind::vector_like) w.init_value = pick(0, 1);
    if (decay) w.scaling.wd_exponent = Rational(pick(-1, 2), 2);
    if (opt == Optimizer::adam && pick(0, 2) == 0) {  // TP4b's d: a modelled ε n^{-d}
      w.scaling.eps_modelled = true;
      w.scaling.d = Rational(pick(-1, 3), 2);
    }
    g.params.push_back(std::move(w));
    return static_cast<int>(g.params.size()) - 1;
  }
  // A residual branch or a plain layer on x; returns the new stream.
  int block(int x) {
    switch (pick(0, 5)) {
      case 0: return node("act", GraphOp::activation, {node("dense", GraphOp::dense, {x}, {tensor("W", TensorKind::hidden)})});
      case 1: {
        const int gain = pick(0, 1) ? tensor("gain", TensorKind::vector_like) : -1;
        if (pick(0, 1)) return node("ln", GraphOp::layernorm, {x}, {gain, pick(0, 1) ? tensor("lnb", TensorKind::vector_like) : -1});
        return node("rms", GraphOp::rmsnorm, {x}, {gain});
      }
      case 2: return node("bias", GraphOp::bias, {x}, {tensor("b", TensorKind::vector_like)});
      default: {
        int br = x;
        if (pick(0, 1)) br = node("ln", GraphOp::layernorm, {br}, {tensor("gain", TensorKind::vector_like), -1});
        if (pick(0, 1)) {
          const int q = tensor("q", TensorKind::hidden);
          if (pick(0, 3) == 0) g.params[static_cast<std::size_t>(q)].scaling.zero_init = true;
          br = node("attn", GraphOp::attention, {br},
                    {q, tensor("k", TensorKind::hidden), tensor("v", TensorKind::hidden), tensor("o", TensorKind::hidden)});
          GraphNode& a = g.nodes.back();
          a.heads = pick(1, 2);
          a.causal = pick(0, 1) == 1;
          a.logit_scale = pick(0, 1) ? LogitScale::inverse_d : LogitScale::inverse_sqrt_d;
        } else {
          br = node("act", GraphOp::activation, {node("dense", GraphOp::dense, {br}, {tensor("W", TensorKind::hidden)})});
          br = node("dense", GraphOp::dense, {br}, {tensor("W", TensorKind::hidden)});
        }
        const int add = node("add", GraphOp::add, {x, br});
        g.nodes[static_cast<std::size_t>(add)].branch_scale = pick(0, 1) ? 1.0 : 0.5;
        g.nodes[static_cast<std::size_t>(add)].branch_exponent = pick(0, 1) ? Rational(0) : Rational(1, 2);
        return add;
      }
    }
  }
  GraphSpec make(int steps) {
    g.positions = pick(1, 3);
    g.input_dim = 2;
    g.output_dim = tie ? 2 : pick(1, 2);
    g.depth = 2;
    g.training.steps = steps;
    g.training.optimizer = opt;
    g.training.weight_decay = decay ? 0.1 : 0.0;
    g.training.loss = pick(0, 1) ? LossKind::mse : LossKind::cross_entropy;
    int x = node("input", GraphOp::input, {});
    const int emb = tensor("E", TensorKind::input_like);
    x = node("emb", GraphOp::embedding, {x}, {emb});
    for (int k = pick(1, 3); k > 0; --k) x = block(x);
    const int readout = tensor("R", TensorKind::output_like);
    node("readout", GraphOp::readout, {x}, {readout, pick(0, 1) ? tensor("c", TensorKind::scalar_like) : -1});
    if (tie) {
      g.tied.assign(g.params.size(), -1);
      g.tied[static_cast<std::size_t>(readout)] = emb;
      TensorScaling sc = g.params[static_cast<std::size_t>(emb)].scaling;
      sc.a = g.params[static_cast<std::size_t>(readout)].scaling.a;
      g.params[static_cast<std::size_t>(readout)].scaling = sc;
    }
    g.nodes.back().pooling = pick(0, 1) ? Pooling::last : Pooling::mean;
    g.train_x = Eigen::MatrixXd::Ones(g.positions, 2);
    g.train_y = Eigen::MatrixXd::Ones(1, g.output_dim);
    if (g.training.loss == LossKind::cross_entropy && g.output_dim > 1) g.train_y = Eigen::MatrixXd::Zero(1, 1);
    return g;
  }
};

std::string describe(const GraphSpec& g) {
  std::string s = "S=" + std::to_string(g.positions) + ":";
  for (const auto& v : g.nodes) s += " " + v.name;
  s += " |";
  for (const auto& w : g.params)
    s += " " + w.name + "(" + to_string(w.scaling.a) + "," + to_string(w.scaling.b) + "," + to_string(w.scaling.c) +
         (w.scaling.zero_init ? ",0" : "") + ")";
  return s;
}

// Unrolls g and compares the two routes (every compared size must agree), counting; returns the unrolled program.
GraphUnrolled check_routes(const GraphSpec& g, int& compared, int& unstable) {
  REQUIRE(graph_problem(g).empty());
  const GraphPhase ph = graph_phase(g);
  GraphUnrolled ir = unroll_graph(graph_representative_spec(g));
  const GraphRouteComparison c = compare_graph_routes(g, ph, ir);
  std::string mism;
  for (const auto& m : c.mismatches) mism += m + "\n";
  INFO(mism);
  CHECK(c.agree);
  compared += c.compared;
  unstable += ph.stable ? 0 : 1;
  return ir;
}

}  // namespace

// Sanitized builds (9x slower here) compare every third of the same graphs, generated in the same order.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kGraphStride = 3;
#else
constexpr int kGraphStride = 1;
#endif

TEST_CASE("the IR route (graph unrolled into a Tensor Program) agrees with the graph calculus on random graphs") {
  std::mt19937_64 rng(1407);
  const char* presets[] = {"sp", "ntp", "mup", ""};
  int compared = 0, unstable = 0;
  for (int trial = 0; trial < 240; ++trial) {
    Builder b{GraphSpec{}, rng};
    b.preset = presets[trial % 4];
    b.form = static_cast<PresetForm>(trial / 4 % 3);
    const GraphSpec g = b.make(3);
    if (trial % kGraphStride != 0) continue;
    INFO(describe(g));
    check_routes(g, compared, unstable);
  }
  MESSAGE("compared " << compared << " sizes; " << unstable << " unstable graphs");
  CHECK(unstable > 20 / kGraphStride);
  CHECK(unstable < 200 / kGraphStride);
}

// The same comparison for the entrywise optimizers (TP4b's outer nonlinearity in the program), decoupled weight
// decay and tied readouts: Adam (some tensors with a modelled ε n^{-d}), SignSGD, SGD (half with decay), Adam + decay
// (AdamW), each with a third of the graphs' readouts tied to the embedding; T = 2.
TEST_CASE("the IR route agrees with the graph calculus on random graphs trained by Adam, SignSGD, with weight decay, tied") {
  std::mt19937_64 rng(2023);
  const char* presets[] = {"sp", "ntp", "mup", ""};
  const Optimizer opts[] = {Optimizer::adam, Optimizer::signsgd, Optimizer::sgd, Optimizer::adam};
  int compared = 0, unstable = 0, outer = 0;
  for (int trial = 0; trial < 96; ++trial) {
    Builder b{GraphSpec{}, rng};
    b.preset = presets[trial % 4];
    b.form = static_cast<PresetForm>(trial / 4 % 3);
    b.opt = opts[trial / 12 % 4];
    b.decay = b.opt == Optimizer::sgd ? trial % 2 == 0 : trial / 12 % 4 == 3;
    b.tie = trial % 3 == 0;
    const GraphSpec g = b.make(2);
    const std::string what = describe(g) + " optimizer " + std::string(optimizer_name(g.training.optimizer)) +
                             (b.decay ? " + weight decay" : "") + (b.tie ? ", tied readout" : "");
    INFO(what);
    REQUIRE(graph_unroll_unsupported(g).empty());
    const GraphUnrolled ir = check_routes(g, compared, unstable);
    for (const auto& v : ir.program.values()) outer += v.op == Op::OuterNonlin ? 1 : 0;
  }
  MESSAGE("compared " << compared << " sizes; " << unstable << " unstable graphs; " << outer << " outer nonlinearities");
  CHECK(outer > 100);
  CHECK(unstable > 10);
  CHECK(unstable < 90);
}

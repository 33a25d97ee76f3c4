// See graph_builders.h.
#include "limits/graph_builders.h"

#include "limits/rng.h"

namespace tp::limits {

namespace {

TensorScaling scaling(Rational b, Rational c) {
  TensorScaling s;
  s.b = b;
  s.c = c;
  return s;
}

TensorScaling constant_init(Rational c) {
  TensorScaling s;
  s.c = c;
  s.zero_init = true;  // the random part; the constant init_value stays
  return s;
}

struct Builder {
  GraphSpec g;
  int param(const std::string& name, TensorKind kind, int rows, bool rows_width, int cols, bool cols_width,
            const TensorScaling& s, double init_value = 0) {
    GraphParameter p;
    p.name = name;
    p.kind = kind;
    p.rows = rows;
    p.cols = cols;
    p.rows_width = rows_width;
    p.cols_width = cols_width;
    p.scaling = s;
    p.init_value = init_value;
    g.params.push_back(p);
    return static_cast<int>(g.params.size()) - 1;
  }
  int node(const std::string& name, GraphOp op, std::vector<int> inputs, std::vector<int> params) {
    GraphNode n;
    n.name = name;
    n.op = op;
    n.inputs = std::move(inputs);
    n.params = std::move(params);
    g.nodes.push_back(n);
    return static_cast<int>(g.nodes.size()) - 1;
  }
};

}  // namespace

KindScalings mup_adam_scalings() {
  return {scaling(0, 0), scaling(Rational(1, 2), 1), scaling(1, 1), constant_init(0)};
}

KindScalings sp_adam_scalings() {
  return {scaling(0, 0), scaling(Rational(1, 2), 0), scaling(Rational(1, 2), 0), constant_init(0)};
}

GraphSpec transformer_block(const TransformerBlockOptions& o) {
  Builder b;
  GraphSpec& g = b.g;
  g.positions = o.positions;
  g.input_dim = o.input_dim;
  g.output_dim = o.output_dim;
  g.depth = 1;
  g.training = o.training;
  const KindScalings& k = o.scalings;
  const TensorKind H = TensorKind::hidden, V = TensorKind::vector_like;
  const int in = b.node("input", GraphOp::input, {}, {});
  const int embed = b.node("embed", GraphOp::embedding, {in},
                           {b.param("embed", TensorKind::input_like, 0, true, o.input_dim, false, k.input)});
  auto norm = [&](const std::string& name, int x) {
    std::vector<int> ps{b.param(name + ".gain", V, 0, true, 1, false, k.vector, 1.0)};
    if (!o.rms) ps.push_back(b.param(name + ".bias", V, 0, true, 1, false, k.vector, 0.0));
    return b.node(name, o.rms ? GraphOp::rmsnorm : GraphOp::layernorm, {x}, ps);
  };
  const int ln1 = norm("ln1", embed);
  TensorScaling q = k.hidden;
  if (o.zero_query) q.zero_init = true;
  std::vector<int> qkvo{b.param("attn.q", H, 0, true, 0, true, q), b.param("attn.k", H, 0, true, 0, true, k.hidden),
                        b.param("attn.v", H, 0, true, 0, true, k.hidden), b.param("attn.o", H, 0, true, 0, true, k.hidden)};
  const int attn = b.node("attn", GraphOp::attention, {ln1}, qkvo);
  g.nodes[static_cast<std::size_t>(attn)].heads = o.heads;
  g.nodes[static_cast<std::size_t>(attn)].logit_scale = o.logit_scale;
  g.nodes[static_cast<std::size_t>(attn)].causal = o.causal;
  const int res1 = b.node("res1", GraphOp::add, {embed, attn}, {});
  const int ln2 = norm("ln2", res1);
  const int fc1 = b.node("fc1", GraphOp::dense, {ln2}, {b.param("fc1", H, 0, true, 0, true, k.hidden)});
  const int bias = b.node("fc1.bias", GraphOp::bias, {fc1}, {b.param("fc1.bias", V, 0, true, 1, false, k.vector)});
  const int act = b.node("act", GraphOp::activation, {bias}, {});
  g.nodes[static_cast<std::size_t>(act)].activation = call(Function::relu, argument(0));
  g.nodes[static_cast<std::size_t>(act)].activation_text = "relu";
  const int fc2 = b.node("fc2", GraphOp::dense, {act}, {b.param("fc2", H, 0, true, 0, true, k.hidden)});
  const int res2 = b.node("res2", GraphOp::add, {res1, fc2}, {});
  const int out = b.node("readout", GraphOp::readout, {res2},
                         {b.param("readout", TensorKind::output_like, o.output_dim, false, 0, true, k.output), -1});
  g.nodes[static_cast<std::size_t>(out)].pooling = o.pooling;
  // data: N(0, 1) inputs from a fixed stream (the same for every width and seed)
  g.train_x.resize(static_cast<Eigen::Index>(o.examples) * o.positions, o.input_dim);
  Rng(0x5eed, 0xb10c).fill_normal(g.train_x.data(), static_cast<std::size_t>(g.train_x.size()));
  g.train_y.resize(o.examples, o.output_dim);
  for (int i = 0; i < o.examples; ++i)
    for (int j = 0; j < o.output_dim; ++j)
      g.train_y(i, j) = std::sin(g.train_x.row(static_cast<Eigen::Index>(i) * o.positions + o.positions - 1).sum() + j);
  return g;
}

GraphSpec mlp_graph(const MlpTraining& spec) {
  Builder b;
  GraphSpec& g = b.g;
  const int L = spec.abc.depth();
  g.positions = 1;
  g.input_dim = static_cast<int>(spec.inputs.cols());
  g.output_dim = 1;
  g.training.optimizer = Optimizer::sgd;
  g.training.lr = spec.lr;
  g.training.weight_decay = spec.weight_decay;
  g.training.steps = spec.steps;
  auto sc = [&](int l) {
    TensorScaling s;
    s.a = spec.abc.a[static_cast<std::size_t>(l)];
    s.b = spec.abc.b[static_cast<std::size_t>(l)];
    s.c = spec.abc.c;
    return s;
  };
  int x = b.node("input", GraphOp::input, {}, {});
  for (int l = 1; l <= L; ++l) {
    const std::string ls = std::to_string(l);
    const int p = l == 1 ? b.param("w^1", TensorKind::input_like, 0, true, g.input_dim, false, sc(0))
                         : b.param("w^" + ls, TensorKind::hidden, 0, true, 0, true, sc(l - 1));
    const int h = b.node("h^" + ls, l == 1 ? GraphOp::embedding : GraphOp::dense, {x}, {p});
    x = b.node("x^" + ls, GraphOp::activation, {h}, {});
    g.nodes.back().activation = spec.activation;
  }
  b.node("f", GraphOp::readout, {x},
         {b.param("w^" + std::to_string(L + 1), TensorKind::output_like, 1, false, 0, true, sc(L)), -1});
  g.train_x = spec.inputs;
  g.train_y = spec.targets;
  return g;
}

}  // namespace tp::limits

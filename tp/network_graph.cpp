// See network_graph.h.
#include "tp/network_graph.h"

#include <string>

namespace tp {

namespace {

int add_param(GraphSpec& g, const std::string& name, TensorKind k, const Rational& a, const Rational& b,
              const Rational& c) {
  GraphParameter w;
  w.name = name;
  w.kind = k;
  w.rows_width = k == TensorKind::input_like || k == TensorKind::hidden || k == TensorKind::vector_like;
  w.cols_width = k == TensorKind::hidden || k == TensorKind::output_like;
  w.rows = k == TensorKind::output_like || k == TensorKind::scalar_like ? g.output_dim : 0;
  w.cols = k == TensorKind::input_like ? g.input_dim : k == TensorKind::vector_like || k == TensorKind::scalar_like ? 1 : 0;
  w.scaling.a = a;
  w.scaling.b = b;
  w.scaling.c = c;
  g.params.push_back(std::move(w));
  return static_cast<int>(g.params.size()) - 1;
}

int add_node(GraphSpec& g, const std::string& name, GraphOp op, std::vector<int> inputs, std::vector<int> params) {
  GraphNode v;
  v.name = name;
  v.op = op;
  v.inputs = std::move(inputs);
  v.params = std::move(params);
  g.nodes.push_back(std::move(v));
  return static_cast<int>(g.nodes.size()) - 1;
}

}  // namespace

GraphSpec network_graph(const NetworkSpec& s) {
  GraphSpec g;
  const int L = s.depth;
  const AbcParametrization& p = s.abc;
  const auto a = [&](int l) { return p.a[static_cast<std::size_t>(l - 1)]; };
  const auto b = [&](int l) { return p.b[static_cast<std::size_t>(l - 1)]; };
  const auto c = [&](int l) { return p.c_of(l - 1); };
  g.positions = 1;
  g.input_dim = s.input_dim;
  g.output_dim = s.output_dim;
  g.depth = 1;
  int x = add_node(g, "input", GraphOp::input, {}, {});
  for (int l = 1; l <= L; ++l) {
    const std::string ls = std::to_string(l);
    const int w = add_param(g, "W^" + ls, l == 1 ? TensorKind::input_like : TensorKind::hidden, a(l), b(l), c(l));
    const GraphOp op = l == 1 ? GraphOp::embedding : GraphOp::dense;
    int h = add_node(g, s.biases ? "Wx^" + ls : "h^" + ls, op, {x}, {w});
    if (s.biases)
      h = add_node(g, "h^" + ls, GraphOp::bias, {h}, {add_param(g, "beta^" + ls, TensorKind::vector_like, a(1), -a(1), c(1))});
    x = add_node(g, "x^" + ls, GraphOp::activation, {h}, {});
    g.nodes.back().activation = s.activation;
    g.nodes.back().activation_text = s.activation_text;
  }
  int readout_bias = -1;
  if (s.biases) {
    readout_bias = add_param(g, "bias_out", TensorKind::scalar_like, Rational(0), Rational(0), Rational(0));
    g.params.back().scaling.zero_init = true;
  }
  const int v = add_param(g, "W^" + std::to_string(L + 1), TensorKind::output_like, a(L + 1), b(L + 1), c(L + 1));
  add_node(g, "f", GraphOp::readout, {x}, {v, readout_bias});
  g.tied.assign(g.params.size(), -1);
  copy_training(s, g);
  g.source = s.source.network;
  return g;
}

void copy_training(const NetworkSpec& s, GraphSpec& g) {
  GraphTraining& t = g.training;
  t.optimizer = s.abc.optimizer;
  t.lr = s.lr;
  t.weight_decay = s.weight_decay;
  t.beta1 = s.adam_beta1;
  t.beta2 = s.adam_beta2;
  t.eps = s.adam_eps;
  t.loss = s.loss;
  t.batch = s.batch;
  t.batch_size = s.batch_size;
  t.steps = s.steps;
  g.train_x = s.train_x;
  g.train_y = s.train_y;
  g.eval_x = s.eval_x;
}

bool graph_quantity(const std::string& q, int t_general, GraphQuantity& out) {
  const bool delta = q.rfind("Δ", 0) == 0;
  const std::string rest = delta ? q.substr(std::string("Δ").size()) : q;
  const auto us = rest.rfind('_');
  if (us == std::string::npos) return false;
  const std::string node = rest.substr(0, us), step = rest.substr(us + 1);
  if (node != "f" && node.rfind("h^", 0) != 0) return false;
  if (step == "t") out.step = t_general;
  else if (step == "0" || step == "1") out.step = step[0] - '0';
  else return false;
  if (delta == (out.step == 0)) return false;
  out.node = node;
  out.delta = delta;
  return true;
}

}  // namespace tp

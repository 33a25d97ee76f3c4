// See graph.h: the graph's validity checks (graph_problem, width_problem) and the presets of TP5's tables.
#include "tp/graph.h"

#include <cmath>
#include <set>
#include <stdexcept>

namespace tp {

std::string_view tensor_kind_name(TensorKind k) {
  switch (k) {
    case TensorKind::input_like: return "input_like";
    case TensorKind::hidden: return "hidden";
    case TensorKind::output_like: return "output_like";
    case TensorKind::vector_like: return "vector_like";
    case TensorKind::scalar_like: return "scalar_like";
  }
  return "?";
}

std::string_view graph_op_name(GraphOp op) {
  switch (op) {
    case GraphOp::input: return "input";
    case GraphOp::embedding: return "embedding";
    case GraphOp::dense: return "dense";
    case GraphOp::bias: return "bias";
    case GraphOp::activation: return "activation";
    case GraphOp::layernorm: return "layernorm";
    case GraphOp::rmsnorm: return "rmsnorm";
    case GraphOp::add: return "add";
    case GraphOp::attention: return "attention";
    case GraphOp::readout: return "readout";
  }
  return "?";
}

std::string_view preset_form_name(PresetForm f) {
  switch (f) {
    case PresetForm::table3: return "table3";
    case PresetForm::table8: return "table8";
    case PresetForm::table9: return "table9";
  }
  return "?";
}

const std::vector<std::string>& graph_preset_names() {
  static const std::vector<std::string> names{"sp", "ntp", "mup"};
  return names;
}

TensorScaling shift_scaling(const TensorScaling& s, Optimizer o, const Rational& theta) {
  TensorScaling t = s;
  t.a += theta;
  t.b -= theta;
  t.c -= (o == Optimizer::sgd ? 2 : 1) * theta;
  if (o != Optimizer::sgd) t.d += theta;  // ε follows the gradient entries of w, which scale like n^{-θ}
  return t;
}

namespace {

// The multiplier exponent a of a kind in each form (scalar-like tensors never have one).
Rational form_a(PresetForm f, TensorKind k) {
  const Rational half(1, 2);
  if (k == TensorKind::scalar_like || f == PresetForm::table3) return 0;
  if (f == PresetForm::table8) return k == TensorKind::output_like ? Rational(1) : Rational(0);
  switch (k) {  // table9
    case TensorKind::input_like:
    case TensorKind::vector_like: return -half;
    case TensorKind::hidden: return 0;
    case TensorKind::output_like: return half;
    case TensorKind::scalar_like: return 0;
  }
  return 0;
}

}  // namespace

TensorScaling tensor_preset(std::string_view preset, PresetForm form, Optimizer o, TensorKind k) {
  const bool sgd = o == Optimizer::sgd;
  const Rational half(1, 2);
  TensorScaling s;  // the preset's natural form, then shifted to the form's a
  const bool in = k == TensorKind::input_like || k == TensorKind::vector_like;
  if (preset == "mup") {  // TP5 Table 3
    if (in) s.c = sgd ? -1 : 0;
    else if (k == TensorKind::hidden) s.b = half, s.c = sgd ? 0 : 1;
    else if (k == TensorKind::output_like) s.b = 1, s.c = 1;
  } else if (preset == "sp") {
    if (k == TensorKind::hidden || k == TensorKind::output_like) s.b = half;
  } else if (preset == "ntp") {
    if (k == TensorKind::hidden || k == TensorKind::output_like) s.a = half;
  } else {
    throw std::invalid_argument("unknown parametrization '" + std::string(preset) + "'; the presets are sp, ntp, mup");
  }
  return shift_scaling(s, o, form_a(form, k) - s.a);
}

Rational decay_exponent(DecayRule rule, TensorKind k, const TensorScaling& s) {
  switch (rule) {
    case DecayRule::independent: return 0;
    case DecayRule::lr_invariant: return -s.c;
    case DecayRule::fan2025:
      return k == TensorKind::hidden || k == TensorKind::output_like ? Rational(-1, 2) : Rational(-s.c);
  }
  return 0;
}

namespace {

std::string node_label(const GraphNode& v, std::size_t i) {
  return "node " + std::to_string(i) + " ('" + v.name + "', " + std::string(graph_op_name(v.op)) + ")";
}

// Whether node i's value has width n (else a finite width: the input d, the readout d_o).
bool width_like(const GraphSpec& s, int i) {
  const GraphNode& v = s.nodes[static_cast<std::size_t>(i)];
  if (v.op == GraphOp::input || v.op == GraphOp::readout) return false;
  if (v.op == GraphOp::embedding) return true;
  return v.inputs.empty() ? false : width_like(s, v.inputs[0]);
}

// The checks of one parameter slot: a valid index of the expected kind, or −1 where allowed.
std::string param_problem(const GraphSpec& s, const GraphNode& v, std::size_t i, int p, TensorKind kind,
                          bool optional, const char* role, std::vector<int>& users) {
  const std::string where = node_label(v, i);
  if (p == -1) return optional ? "" : where + " has no " + role + " parameter; give it one";
  if (p < 0 || p >= static_cast<int>(s.params.size()))
    return where + ": its " + role + " parameter index " + std::to_string(p) + " is out of range";
  const GraphParameter& w = s.params[static_cast<std::size_t>(p)];
  if (w.kind != kind)
    return "parameter '" + w.name + "' (" + role + " of " + where + ") is " + std::string(tensor_kind_name(w.kind)) +
           " but must be " + std::string(tensor_kind_name(kind));
  if (users[static_cast<std::size_t>(p)] >= 0)
    return "parameter '" + w.name + "' is used by two nodes; give each node its own (or tie them)";
  users[static_cast<std::size_t>(p)] = static_cast<int>(i);
  const bool rows_n = kind == TensorKind::input_like || kind == TensorKind::hidden || kind == TensorKind::vector_like;
  const bool cols_n = kind == TensorKind::hidden || kind == TensorKind::output_like;
  if (w.rows_width != rows_n || w.cols_width != cols_n)
    return "parameter '" + w.name + "' has the wrong shape for a " + std::string(tensor_kind_name(kind)) +
           " tensor: rows " + (rows_n ? "n" : "finite") + " and columns " + (cols_n ? "n" : "finite") + " expected";
  if (kind == TensorKind::input_like && w.cols != s.input_dim)
    return "parameter '" + w.name + "' has " + std::to_string(w.cols) + " columns but the input dimension is " +
           std::to_string(s.input_dim);
  if (kind == TensorKind::output_like && w.rows != s.output_dim)
    return "parameter '" + w.name + "' has " + std::to_string(w.rows) + " rows but the output dimension is " +
           std::to_string(s.output_dim);
  if (!std::isfinite(w.scaling.init_std) || w.scaling.init_std < 0 || !std::isfinite(w.init_value))
    return "parameter '" + w.name + "' needs a finite initial standard deviation >= 0 and a finite initial value";
  return "";
}

std::string node_problem(const GraphSpec& s, std::size_t i, std::vector<int>& users) {
  const GraphNode& v = s.nodes[i];
  const std::string where = node_label(v, i);
  const std::size_t arity = v.op == GraphOp::input ? 0 : v.op == GraphOp::add ? 2 : 1;
  if (v.inputs.size() != arity)
    return where + " takes " + std::to_string(arity) + " input" + (arity == 1 ? "" : "s") + " but has " +
           std::to_string(v.inputs.size());
  for (int in : v.inputs)
    if (in < 0 || in >= static_cast<int>(i))
      return where + " reads node " + std::to_string(in) +
             ", which is not an earlier node; store the graph in topological order (it must have no cycles)";
  if (v.op == GraphOp::input && i != 0) return where + ": the input must be the first node, and there is one";
  if (v.op != GraphOp::input && i == 0) return "the first node must be the input";
  const bool needs_width = v.op == GraphOp::dense || v.op == GraphOp::attention || v.op == GraphOp::readout ||
                           v.op == GraphOp::bias || v.op == GraphOp::layernorm || v.op == GraphOp::rmsnorm;
  if (needs_width && !width_like(s, v.inputs[0]))
    return where + " needs a width-n input, but '" + s.nodes[static_cast<std::size_t>(v.inputs[0])].name +
           "' has a finite width; put an 'embedding' first";
  if (v.op == GraphOp::embedding && width_like(s, v.inputs[0]))
    return where + ": an embedding maps the finite input to width n, but its input already has width n; use 'dense'";
  if (v.op == GraphOp::add && width_like(s, v.inputs[0]) != width_like(s, v.inputs[1]))
    return where + " adds a width-n value to a finite one; both summands must have width n";
  if (v.op == GraphOp::add && (!std::isfinite(v.branch_scale)))
    return where + ": the branch multiplier must be finite";
  if (v.op == GraphOp::activation && !v.activation) return where + " has no activation function";
  if ((v.op == GraphOp::layernorm || v.op == GraphOp::rmsnorm) && !(v.norm_eps >= 0 && std::isfinite(v.norm_eps)))
    return where + ": eps must be a finite number >= 0";
  if (v.op == GraphOp::attention) {
    if (v.head_dim_width && v.heads < 1)
      return where + " has no heads; give 'heads H' with H >= 1 (or a fixed 'head_dim')";
    if (!v.head_dim_width && v.head_dim < 1) return where + ": the head dimension must be at least 1";
  }
  auto need = [&](std::size_t k) { return v.params.size() == k ? std::string() : where + " has " + std::to_string(v.params.size()) +
                                                                           " parameters but needs " + std::to_string(k); };
  std::string p;
  switch (v.op) {
    case GraphOp::input:
    case GraphOp::activation:
    case GraphOp::add:
      if (!v.params.empty()) return where + " has no parameters";
      return "";
    case GraphOp::embedding:
      if (!(p = need(1)).empty()) return p;
      return param_problem(s, v, i, v.params[0], TensorKind::input_like, false, "weight", users);
    case GraphOp::dense:
      if (!(p = need(1)).empty()) return p;
      return param_problem(s, v, i, v.params[0], TensorKind::hidden, false, "weight", users);
    case GraphOp::bias:
      if (!(p = need(1)).empty()) return p;
      return param_problem(s, v, i, v.params[0], TensorKind::vector_like, false, "bias", users);
    case GraphOp::layernorm:
      if (!(p = need(2)).empty()) return p;
      if (!(p = param_problem(s, v, i, v.params[0], TensorKind::vector_like, true, "gain", users)).empty()) return p;
      return param_problem(s, v, i, v.params[1], TensorKind::vector_like, true, "bias", users);
    case GraphOp::rmsnorm:
      if (!(p = need(1)).empty()) return p;
      return param_problem(s, v, i, v.params[0], TensorKind::vector_like, true, "gain", users);
    case GraphOp::attention: {
      if (!(p = need(4)).empty()) return p;
      const char* roles[] = {"query", "key", "value", "output"};
      for (std::size_t k = 0; k < 4; ++k)
        if (!(p = param_problem(s, v, i, v.params[k], TensorKind::hidden, false, roles[k], users)).empty()) return p;
      return "";
    }
    case GraphOp::readout:
      if (!(p = need(2)).empty()) return p;
      if (!(p = param_problem(s, v, i, v.params[0], TensorKind::output_like, false, "weight", users)).empty()) return p;
      return param_problem(s, v, i, v.params[1], TensorKind::scalar_like, true, "bias", users);
  }
  return "";
}

std::string data_problem(const GraphSpec& s) {
  const auto S = static_cast<Eigen::Index>(s.positions);
  auto finite = [](const Eigen::MatrixXd& m) { return m.allFinite(); };
  if (s.train_x.size() == 0 && s.train_y.size() == 0) return "";
  if (s.train_x.cols() != s.input_dim)
    return "the training inputs have " + std::to_string(s.train_x.cols()) + " columns but the input dimension is " +
           std::to_string(s.input_dim);
  if (s.train_x.rows() == 0 || s.train_x.rows() % S != 0)
    return "the training inputs have " + std::to_string(s.train_x.rows()) + " rows, not a positive multiple of the " +
           std::to_string(s.positions) + " positions per example";
  if (s.train_y.rows() * S != s.train_x.rows())
    return "the training data has " + std::to_string(s.train_x.rows() / S) + " examples (" +
           std::to_string(s.train_x.rows()) + " input rows / " + std::to_string(s.positions) + " positions) but " +
           std::to_string(s.train_y.rows()) + " targets; give one target row per example";
  const bool class_indices = s.training.loss == LossKind::cross_entropy && s.train_y.cols() == 1 && s.output_dim > 1;
  if (s.train_y.cols() != s.output_dim && !class_indices)
    return "the targets have " + std::to_string(s.train_y.cols()) + " columns but the output dimension is " +
           std::to_string(s.output_dim);
  if (!finite(s.train_x) || !finite(s.train_y) || !finite(s.eval_x)) return "the data must be finite numbers";
  if (s.eval_x.size() != 0 && (s.eval_x.cols() != s.input_dim || s.eval_x.rows() % S != 0))
    return "the evaluation inputs must have " + std::to_string(s.input_dim) + " columns and a multiple of " +
           std::to_string(s.positions) + " rows (positions per example)";
  return "";
}

}  // namespace

std::string graph_problem(const GraphSpec& s) {
  // Steps: 1. sizes; 2. names; 3. nodes in order (arity, topological order, shapes, parameters); 4. the
  // readout last and alone; 5. ties; 6. training; 7. data.
  if (s.positions < 1) return "the number of positions S must be at least 1";
  if (s.input_dim < 1 || s.output_dim < 1) return "the input and output dimensions must be at least 1";
  if (s.depth < 1) return "the depth L (number of repeated blocks) must be at least 1";
  if (s.nodes.empty()) return "the graph has no nodes; it needs an input, layers and a readout";
  std::set<std::string> names;
  for (const auto& v : s.nodes)
    if (!names.insert(v.name).second) return "two nodes are named '" + v.name + "'; node names must be unique";
  names.clear();
  for (const auto& w : s.params)
    if (!names.insert(w.name).second) return "two parameters are named '" + w.name + "'; parameter names must be unique";
  std::vector<int> users(s.params.size(), -1);
  int readouts = 0;
  for (std::size_t i = 0; i < s.nodes.size(); ++i) {
    if (std::string p = node_problem(s, i, users); !p.empty()) return p;
    readouts += s.nodes[i].op == GraphOp::readout;
  }
  if (s.nodes.back().op != GraphOp::readout)
    return "the graph has no readout as its last node; end it with 'readout d_o' (n -> the output dimension)";
  if (readouts != 1) return "the graph has " + std::to_string(readouts) + " readouts; it needs exactly one, last";
  for (std::size_t p = 0; p < s.params.size(); ++p)
    if (users[p] < 0) return "parameter '" + s.params[p].name + "' is not used by any node";
  if (!s.tied.empty()) {
    if (s.tied.size() != s.params.size()) return "the tie list must have one entry per parameter (or be empty)";
    for (std::size_t p = 0; p < s.tied.size(); ++p) {
      const int q = s.tied[p];
      if (q == -1) continue;
      if (q < 0 || q >= static_cast<int>(s.params.size()) || q == static_cast<int>(p))
        return "parameter '" + s.params[p].name + "' is tied to an invalid parameter index " + std::to_string(q);
      const TensorKind a = s.params[p].kind, b = s.params[static_cast<std::size_t>(q)].kind;
      if (!((a == TensorKind::output_like && b == TensorKind::input_like) ||
            (a == TensorKind::input_like && b == TensorKind::output_like)))
        return "parameter '" + s.params[p].name + "' is tied to '" + s.params[static_cast<std::size_t>(q)].name +
               "'; only the readout can be tied to the embedding";
      if (s.input_dim != s.output_dim)
        return "the readout is tied to the embedding but the input dimension " + std::to_string(s.input_dim) +
               " differs from the output dimension " + std::to_string(s.output_dim);
    }
  }
  const GraphTraining& t = s.training;
  if (!(t.lr > 0) || !std::isfinite(t.lr)) return "the learning rate must be a finite number > 0";
  if (!(t.weight_decay >= 0) || !std::isfinite(t.weight_decay)) return "the weight decay must be a finite number >= 0";
  if (!(t.beta1 >= 0 && t.beta1 < 1 && t.beta2 >= 0 && t.beta2 < 1)) return "Adam's beta1 and beta2 must be in [0, 1)";
  if (!(t.eps > 0) || !std::isfinite(t.eps)) return "Adam's eps must be a finite number > 0";
  if (t.steps < 0) return "the number of steps must be >= 0";
  if (t.batch == BatchMode::minibatch && (t.batch_size < 1 ||
                                          (s.train_y.rows() > 0 && t.batch_size > s.train_y.rows())))
    return "the minibatch size must be between 1 and the number of training examples";
  return data_problem(s);
}

std::string width_problem(const GraphSpec& s, long long n) {
  if (n < 1) return "the width n must be at least 1";
  for (const auto& v : s.nodes) {
    if (v.op != GraphOp::attention) continue;
    const long long k = v.head_dim_width ? v.heads : v.head_dim;
    if (k < 1 || n % k != 0)
      return "attention '" + v.name + "': " + (v.head_dim_width ? "the " + std::to_string(k) + " heads" :
                                                                   "the head dimension " + std::to_string(k)) +
             " do not divide the width " + std::to_string(n) + "; choose widths that are multiples of " +
             std::to_string(k);
  }
  return "";
}

}  // namespace tp

// See graph_train.h. Steps of train_graph: 1. sample the parameters; 2. per step t = 0..T: forward the
// measurement set and record its sizes (and the top singular values), then (t < T) forward the batch of
// step t, backward, update.
#include "limits/graph_train.h"

#include <Eigen/Eigenvalues>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "limits/memory_budget.h"
#include "limits/rng.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"

namespace tp::limits {

namespace {

double to_double(const Rational& r) { return static_cast<double>(r); }

Eigen::MatrixXd apply_expr(const CompiledExpr& e, const Eigen::MatrixXd& x) {
  Eigen::ArrayXd flat = Eigen::Map<const Eigen::ArrayXd>(x.data(), x.size());
  ExprInput in;
  in.array = &flat;
  Eigen::ArrayXd y = e.eval({&in, 1}, flat.size());
  return Eigen::Map<Eigen::MatrixXd>(y.data(), x.rows(), x.cols());
}

// Rows of the pooled readout input: last position or mean over the S positions of each example.
Eigen::MatrixXd pool(const Eigen::MatrixXd& x, int S, Pooling p) {
  const Eigen::Index B = x.rows() / S;
  Eigen::MatrixXd out(B, x.cols());
  for (Eigen::Index b = 0; b < B; ++b)
    out.row(b) = p == Pooling::last ? Eigen::RowVectorXd(x.row(b * S + S - 1))
                                    : Eigen::RowVectorXd(x.middleRows(b * S, S).colwise().mean());
  return out;
}

}  // namespace

double top_singular_value(const Eigen::MatrixXd& m) {
  if (m.size() == 0) return 0;
  const bool left = m.rows() <= m.cols();  // Gram of the smaller side
  const Eigen::Index k = left ? m.rows() : m.cols();
  if (k <= 128) {
    const Eigen::MatrixXd g = left ? Eigen::MatrixXd(m * m.transpose()) : Eigen::MatrixXd(m.transpose() * m);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(g, Eigen::EigenvaluesOnly);
    return std::sqrt(std::max(0.0, es.eigenvalues()(k - 1)));
  }
  // Lanczos on G = Mᵀ M (or M Mᵀ) with full reorthogonalization.
  const int steps = static_cast<int>(std::min<Eigen::Index>(40, k));
  Eigen::MatrixXd basis(k, steps);
  Eigen::VectorXd alpha(steps), beta(steps);
  Eigen::VectorXd q(k);
  Rng(0x51e9, 0x1a2c).fill_normal(q.data(), static_cast<std::size_t>(k));
  q.normalize();
  int used = 0;
  for (int j = 0; j < steps; ++j) {
    basis.col(j) = q;
    used = j + 1;
    Eigen::VectorXd z = left ? Eigen::VectorXd(m * (m.transpose() * q)) : Eigen::VectorXd(m.transpose() * (m * q));
    alpha(j) = q.dot(z);
    for (int r = 0; r < 2; ++r) z -= basis.leftCols(j + 1) * (basis.leftCols(j + 1).transpose() * z);
    beta(j) = z.norm();
    if (beta(j) <= 1e-12 * std::abs(alpha(0)) || j + 1 == steps) break;
    q = z / beta(j);
  }
  Eigen::MatrixXd t = Eigen::MatrixXd::Zero(used, used);
  for (int j = 0; j < used; ++j) {
    t(j, j) = alpha(j);
    if (j + 1 < used) t(j, j + 1) = t(j + 1, j) = beta(j);
  }
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(t, Eigen::EigenvaluesOnly);
  return std::sqrt(std::max(0.0, es.eigenvalues()(used - 1)));
}

Eigen::Index GraphNet::param_rows(int p) const {
  const auto& g = spec_.params[static_cast<std::size_t>(p)];
  return g.rows_width ? static_cast<Eigen::Index>(width_) : g.rows;
}
Eigen::Index GraphNet::param_cols(int p) const {
  const auto& g = spec_.params[static_cast<std::size_t>(p)];
  return g.cols_width ? static_cast<Eigen::Index>(width_) : g.cols;
}
Eigen::Index GraphNet::node_width(int node) const { return node_widths_[static_cast<std::size_t>(node)]; }

int GraphNet::heads(const GraphNode& node) const {
  return node.head_dim_width ? node.heads : static_cast<int>(width_) / std::max(1, node.head_dim);
}

GraphNet::GraphNet(const GraphSpec& spec, std::size_t width, std::uint64_t seed, Eigen::Index batch_rows,
                   double memory_budget_bytes)
    : spec_(spec), width_(width), seed_(seed) {
  const std::size_t P = spec.params.size(), N = spec.nodes.size();
  const double nd = static_cast<double>(width);
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (N < 2 || spec.nodes[0].op != GraphOp::input) bad("the graph needs the input as its first node and at least one more node");
  if (spec.nodes.back().op != GraphOp::readout) bad("the graph's last node '" + spec.nodes.back().name + "' must be a readout");
  if (spec.positions < 1) bad("positions must be at least 1");
  // shapes and the memory estimate
  double doubles = 0;
  const bool adam = spec.training.optimizer == Optimizer::adam;
  for (std::size_t p = 0; p < P; ++p) {
    const int owner = spec.tied.size() > p ? spec.tied[p] : -1;
    if (owner < 0) doubles += (adam ? 4.0 : 2.0) * static_cast<double>(param_rows(static_cast<int>(p))) *
                              static_cast<double>(param_cols(static_cast<int>(p)));
  }
  node_widths_.assign(N, 0);
  node_widths_[0] = spec.input_dim;
  for (std::size_t i = 1; i < N; ++i) {
    const GraphNode& nd_ = spec.nodes[i];
    for (int in : nd_.inputs)
      if (in < 0 || static_cast<std::size_t>(in) >= i) bad("node '" + nd_.name + "' reads a node that does not come before it");
    for (int p : nd_.params)
      if (p >= static_cast<int>(P)) bad("node '" + nd_.name + "' names a parameter that does not exist");
    const bool matrix_op = nd_.op == GraphOp::embedding || nd_.op == GraphOp::dense || nd_.op == GraphOp::readout;
    if (nd_.inputs.empty() && nd_.op != GraphOp::input) bad("node '" + nd_.name + "' has no input");
    if (nd_.op == GraphOp::input) bad("node '" + nd_.name + "': only the first node may be the input");
    const Eigen::Index in_w = node_widths_[static_cast<std::size_t>(nd_.inputs[0])];
    auto need = [&](std::size_t k, Eigen::Index rows, Eigen::Index cols, const char* what) {
      if (nd_.params.size() <= k || nd_.params[k] < 0) bad("node '" + nd_.name + "' needs its " + what);
      const int p = nd_.params[k];
      if (param_rows(p) != rows || (cols >= 0 && param_cols(p) != cols))
        bad("node '" + nd_.name + "': its " + what + " '" + spec.params[static_cast<std::size_t>(p)].name + "' is " +
            std::to_string(param_rows(p)) + " x " + std::to_string(param_cols(p)) + ", expected " + std::to_string(rows) +
            " x " + (cols >= 0 ? std::to_string(cols) : std::string("k")));
    };
    auto optional = [&](std::size_t k) { return nd_.params.size() > k && nd_.params[k] >= 0; };
    const Eigen::Index nw = static_cast<Eigen::Index>(width);
    if (matrix_op) {
      if (nd_.params.empty() || nd_.params[0] < 0) bad("node '" + nd_.name + "' needs its weight matrix");
      if (param_cols(nd_.params[0]) != in_w) bad("node '" + nd_.name + "': the weight's fan-in does not match its input's width");
      node_widths_[i] = param_rows(nd_.params[0]);
      if (nd_.op == GraphOp::readout && optional(1)) need(1, node_widths_[i], 1, "bias");
    } else if (nd_.op == GraphOp::attention) {
      if (nd_.params.size() != 4) bad("attention '" + nd_.name + "' needs the four matrices q, k, v, o");
      for (std::size_t k = 0; k < 3; ++k) need(k, nw, in_w, "query/key/value matrix");
      need(3, nw, nw, "output matrix");
      const int H = heads(nd_);
      if (H < 1 || static_cast<int>(width_) % H != 0) bad("attention '" + nd_.name + "': the heads do not divide the width");
      node_widths_[i] = param_rows(nd_.params[3]);
    } else if (nd_.op == GraphOp::add) {
      if (nd_.inputs.size() != 2) bad("add '" + nd_.name + "' needs two inputs");
      node_widths_[i] = in_w;
    } else {
      node_widths_[i] = in_w;
      if (nd_.op == GraphOp::bias) need(0, in_w, 1, "bias vector");
      if ((nd_.op == GraphOp::layernorm || nd_.op == GraphOp::rmsnorm) && optional(0)) need(0, in_w, 1, "gain");
      if (nd_.op == GraphOp::layernorm && optional(1)) need(1, in_w, 1, "bias");
      if (nd_.op == GraphOp::activation && !nd_.activation) bad("activation '" + nd_.name + "' has no function");
    }
    const double rows = nd_.op == GraphOp::readout ? static_cast<double>(batch_rows) / spec.positions : static_cast<double>(batch_rows);
    doubles += 3.0 * rows * static_cast<double>(node_widths_[i]);  // value, gradient, measured x_0
    if (nd_.op == GraphOp::attention || nd_.op == GraphOp::layernorm || nd_.op == GraphOp::rmsnorm)
      doubles += 5.0 * static_cast<double>(batch_rows) * static_cast<double>(node_widths_[i]);
  }
  check_memory_budget({"training the graph at width n = " + std::to_string(width), 8.0 * doubles,
                       "the parameters, their gradients (and Adam's moments) and every node's values",
                       "use smaller --widths, fewer examples, --threads 1, or raise --memory-budget"},
                      memory_budget_bytes);
  // 1. parameters
  mult_.resize(P);
  lr_.resize(P);
  decay_.resize(P);
  eps_.resize(P);
  w_.resize(P);
  m1_.resize(P);
  m2_.resize(P);
  for (std::size_t p = 0; p < P; ++p) {
    const GraphParameter& g = spec.params[p];
    const TensorScaling& s = g.scaling;
    mult_[p] = std::pow(nd, -to_double(s.a));
    lr_[p] = spec.training.lr * std::pow(nd, -to_double(s.c));
    decay_[p] = spec.training.weight_decay * std::pow(nd, -to_double(s.wd_exponent));
    eps_[p] = spec.training.eps * std::pow(nd, -to_double(s.d));
    const int owner = spec.tied.size() > p ? spec.tied[p] : -1;
    const Eigen::Index r = param_rows(static_cast<int>(p)), c = param_cols(static_cast<int>(p));
    if (owner >= 0) {
      if (owner >= static_cast<int>(P) || (spec.tied.size() > static_cast<std::size_t>(owner) && spec.tied[owner] >= 0))
        bad("parameter '" + g.name + "' is tied to a parameter that is missing or itself tied");
      const Eigen::Index orr = param_rows(owner), oc = param_cols(owner);
      if (!(orr == r && oc == c) && !(orr == c && oc == r))
        bad("parameter '" + g.name + "' is tied to '" + spec.params[owner].name + "' of another shape");
      continue;
    }
    w_[p] = Eigen::MatrixXd::Constant(r, c, g.init_value);
    if (!s.zero_init) {
      Eigen::MatrixXd z(r, c);
      Rng(seed, 1 + p).fill_normal(z.data(), static_cast<std::size_t>(r * c));
      w_[p] += (s.init_std * std::pow(nd, -to_double(s.b))) * z;
    }
    if (adam) {
      m1_[p] = Eigen::MatrixXd::Zero(r, c);
      m2_[p] = Eigen::MatrixXd::Zero(r, c);
    }
  }
  values_.assign(N, {});
  logits_.assign(N, {});
  probs_.assign(N, {});
  aux_.assign(N, {});
  inv_std_.assign(N, {});
  qkv_index_.assign(N, -1);
  for (std::size_t i = 0; i < N; ++i)
    if (spec.nodes[i].op == GraphOp::attention) {
      qkv_index_[i] = static_cast<int>(qkv_.size());
      qkv_.resize(qkv_.size() + 3);
    }
}

Eigen::MatrixXd GraphNet::effective(int p) const {
  const int owner = spec_.tied.size() > static_cast<std::size_t>(p) ? spec_.tied[static_cast<std::size_t>(p)] : -1;
  const double m = mult_[static_cast<std::size_t>(p)];
  if (owner < 0) return m * w_[static_cast<std::size_t>(p)];
  const Eigen::MatrixXd& o = w_[static_cast<std::size_t>(owner)];
  if (o.rows() == param_rows(p) && o.cols() == param_cols(p)) return m * o;
  return m * o.transpose();
}

Eigen::MatrixXd GraphNet::times_transpose(const Eigen::MatrixXd& x, int p) const {
  const int owner = spec_.tied.size() > static_cast<std::size_t>(p) ? spec_.tied[static_cast<std::size_t>(p)] : -1;
  const double m = mult_[static_cast<std::size_t>(p)];
  const Eigen::MatrixXd& w = w_[static_cast<std::size_t>(owner < 0 ? p : owner)];
  Eigen::MatrixXd out;
  if (owner >= 0 && !(w.rows() == param_rows(p) && w.cols() == param_cols(p))) out.noalias() = x * w;
  else out.noalias() = x * w.transpose();
  return m * out;
}

Eigen::MatrixXd GraphNet::times(const Eigen::MatrixXd& x, int p) const {
  const int owner = spec_.tied.size() > static_cast<std::size_t>(p) ? spec_.tied[static_cast<std::size_t>(p)] : -1;
  const double m = mult_[static_cast<std::size_t>(p)];
  const Eigen::MatrixXd& w = w_[static_cast<std::size_t>(owner < 0 ? p : owner)];
  Eigen::MatrixXd out;
  if (owner >= 0 && !(w.rows() == param_rows(p) && w.cols() == param_cols(p))) out.noalias() = x * w.transpose();
  else out.noalias() = x * w;
  return m * out;
}

const std::vector<Eigen::MatrixXd>& GraphNet::logits(int node) const { return logits_[static_cast<std::size_t>(node)]; }

double GraphNet::forward(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, const std::vector<int>& examples) {
  const int S = spec_.positions;
  const Eigen::Index B = static_cast<Eigen::Index>(examples.size());
  batch_ = static_cast<int>(B);
  if (x.cols() != spec_.input_dim)
    throw std::invalid_argument("the inputs have " + std::to_string(x.cols()) + " columns but the graph's input dimension is " +
                                std::to_string(spec_.input_dim));
  for (int e : examples)
    if (e < 0 || static_cast<Eigen::Index>(e + 1) * S > x.rows()) throw std::invalid_argument("example index out of range (bug)");
  Eigen::MatrixXd& x0 = values_[0];
  x0.resize(B * S, x.cols());
  for (Eigen::Index b = 0; b < B; ++b) x0.middleRows(b * S, S) = x.middleRows(static_cast<Eigen::Index>(examples[b]) * S, S);
  for (std::size_t i = 1; i < spec_.nodes.size(); ++i) {
    const GraphNode& node = spec_.nodes[i];
    const Eigen::MatrixXd& in = values_[static_cast<std::size_t>(node.inputs[0])];
    Eigen::MatrixXd& out = values_[i];
    switch (node.op) {
      case GraphOp::input: break;  // rejected by the constructor
      case GraphOp::embedding:
      case GraphOp::dense: out = times_transpose(in, node.params[0]); break;
      case GraphOp::bias: out = in.rowwise() + effective(node.params[0]).col(0).transpose(); break;
      case GraphOp::activation: {
        CompiledExpr phi(node.activation, {true});
        out = apply_expr(phi, in);
        break;
      }
      case GraphOp::layernorm:
      case GraphOp::rmsnorm: {
        const bool ln = node.op == GraphOp::layernorm;
        Eigen::MatrixXd& xh = aux_[i];
        Eigen::VectorXd& r = inv_std_[i];
        if (ln) {
          const Eigen::VectorXd mu = in.rowwise().mean();
          xh = in.colwise() - mu;
        } else {
          xh = in;
        }
        r = (xh.rowwise().squaredNorm() / static_cast<double>(in.cols())).array().unaryExpr([&](double v) {
          return 1.0 / std::sqrt(v + node.norm_eps);
        });
        xh = r.asDiagonal() * xh;
        out = xh;
        const int gp = node.params.size() > 0 ? node.params[0] : -1;
        const int bp = ln && node.params.size() > 1 ? node.params[1] : -1;
        if (gp >= 0) out = out * effective(gp).col(0).asDiagonal();
        if (bp >= 0) out.rowwise() += effective(bp).col(0).transpose();
        break;
      }
      case GraphOp::add: {
        const double m = node.branch_scale * std::pow(static_cast<double>(spec_.depth), -to_double(node.branch_exponent));
        out = in + m * values_[static_cast<std::size_t>(node.inputs[1])];
        break;
      }
      case GraphOp::attention: {
        const int H = heads(node);
        const Eigen::Index dh = static_cast<Eigen::Index>(width_) / H;
        Eigen::MatrixXd* qkv = &qkv_[static_cast<std::size_t>(qkv_index_[i])];
        for (int k = 0; k < 3; ++k) qkv[k] = times_transpose(in, node.params[k]);
        const double scale = node.logit_scale == LogitScale::inverse_d ? 1.0 / static_cast<double>(dh)
                                                                       : 1.0 / std::sqrt(static_cast<double>(dh));
        Eigen::MatrixXd& o = aux_[i];
        o.resize(in.rows(), static_cast<Eigen::Index>(width_));
        auto& A = logits_[i];
        auto& Pm = probs_[i];
        A.resize(static_cast<std::size_t>(B * H));
        Pm.resize(A.size());
        for (Eigen::Index b = 0; b < B; ++b)
          for (int h = 0; h < H; ++h) {
            const std::size_t k = static_cast<std::size_t>(b * H + h);
            A[k].noalias() = scale * qkv[0].block(b * S, h * dh, S, dh) * qkv[1].block(b * S, h * dh, S, dh).transpose();
            Eigen::MatrixXd& P = Pm[k];
            P.resize(S, S);
            for (int s = 0; s < S; ++s) {
              const int last = node.causal ? s : S - 1;
              const double mx = A[k].row(s).head(last + 1).maxCoeff();
              double sum = 0;
              for (int j = 0; j < S; ++j) {
                P(s, j) = j <= last ? std::exp(A[k](s, j) - mx) : 0.0;
                sum += P(s, j);
              }
              P.row(s) /= sum;
            }
            o.block(b * S, h * dh, S, dh).noalias() = P * qkv[2].block(b * S, h * dh, S, dh);
          }
        out = times_transpose(o, node.params[3]);
        break;
      }
      case GraphOp::readout: {
        out = times_transpose(pool(in, S, node.pooling), node.params[0]);
        if (node.params.size() > 1 && node.params[1] >= 0) out.rowwise() += effective(node.params[1]).col(0).transpose();
        break;
      }
    }
  }
  // loss
  const Eigen::MatrixXd& f = values_.back();
  const Eigen::Index dout = f.cols();
  y_.resize(0, 0);
  if (y.size() == 0) return 0;
  const bool class_index = spec_.training.loss == LossKind::cross_entropy && y.cols() == 1 && dout > 1;
  if (!class_index && y.cols() != dout)
    throw std::invalid_argument("the targets have " + std::to_string(y.cols()) + " columns but the readout has " +
                                std::to_string(dout) + " outputs");
  y_ = Eigen::MatrixXd::Zero(B, dout);
  for (Eigen::Index b = 0; b < B; ++b) {
    if (class_index) {
      const double c = y(examples[b], 0);
      if (!(c >= 0 && c < static_cast<double>(dout) && c == std::floor(c)))
        throw std::invalid_argument("target " + std::to_string(examples[b] + 1) + " is " + std::to_string(c) +
                                    ", not a class index in 0.." + std::to_string(dout - 1));
      y_(b, static_cast<Eigen::Index>(c)) = 1;
    } else {
      y_.row(b) = y.row(examples[b]);
    }
  }
  double loss = 0;
  for (Eigen::Index b = 0; b < B; ++b) {
    if (spec_.training.loss == LossKind::mse) {
      loss += 0.5 * (f.row(b) - y_.row(b)).squaredNorm();
    } else if (dout == 1) {
      const double z = f(b, 0);  // log(1 + e^z) − y z, stably
      loss += std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))) - y_(b, 0) * z;
    } else {
      const double mx = f.row(b).maxCoeff();
      const double lse = mx + std::log((f.row(b).array() - mx).exp().sum());
      loss += -(y_.row(b).array() * (f.row(b).array() - lse)).sum();
    }
  }
  return loss / static_cast<double>(B);
}

std::vector<Eigen::MatrixXd> GraphNet::gradient() {
  const std::size_t N = spec_.nodes.size(), P = spec_.params.size();
  const int S = spec_.positions;
  const Eigen::Index B = batch_;
  std::vector<Eigen::MatrixXd> G(N), grads(P);
  // ∂L/∂W (effective) per parameter, then chained to w (times n^{-a}) and routed to the owner of a tie.
  std::vector<Eigen::MatrixXd> gW(P);
  auto acc = [](Eigen::MatrixXd& into, const Eigen::MatrixXd& v) {
    if (into.size() == 0) into = v;
    else into += v;
  };
  auto grad_of = [&](int node) -> Eigen::MatrixXd& {
    Eigen::MatrixXd& g = G[static_cast<std::size_t>(node)];
    if (g.size() == 0) g = Eigen::MatrixXd::Zero(values_[static_cast<std::size_t>(node)].rows(), values_[static_cast<std::size_t>(node)].cols());
    return g;
  };
  if (y_.rows() != B) throw std::invalid_argument("the gradient needs a forward pass with targets");
  // loss gradient ∂L/∂f
  {
    const Eigen::MatrixXd& f = values_.back();
    Eigen::MatrixXd df(f.rows(), f.cols());
    for (Eigen::Index b = 0; b < B; ++b) {
      if (spec_.training.loss == LossKind::mse) {
        df.row(b) = f.row(b) - y_.row(b);
      } else if (f.cols() == 1) {
        df(b, 0) = 1.0 / (1.0 + std::exp(-f(b, 0))) - y_(b, 0);
      } else {
        const Eigen::ArrayXd e = (f.row(b).array() - f.row(b).maxCoeff()).exp().transpose();
        df.row(b) = (e / e.sum()).matrix().transpose() * y_.row(b).sum() - y_.row(b);
      }
    }
    G[N - 1] = df / static_cast<double>(B);
  }
  for (std::size_t i = N - 1; i >= 1; --i) {
    const GraphNode& node = spec_.nodes[i];
    if (G[i].size() == 0) continue;  // does not reach the loss
    const Eigen::MatrixXd& dy = G[i];
    const int i0 = node.inputs[0];
    const bool need_in = i0 != 0;
    const Eigen::MatrixXd& in = values_[static_cast<std::size_t>(i0)];
    switch (node.op) {
      case GraphOp::input: break;
      case GraphOp::embedding:
      case GraphOp::dense: {
        const int p = node.params[0];
        acc(gW[static_cast<std::size_t>(p)], dy.transpose() * in);
        if (need_in) grad_of(i0) += times(dy, p);
        break;
      }
      case GraphOp::bias:
        acc(gW[static_cast<std::size_t>(node.params[0])], dy.colwise().sum().transpose());
        if (need_in) grad_of(i0) += dy;
        break;
      case GraphOp::activation:
        if (need_in) {
          CompiledExpr dphi(derivative(node.activation, 0), {true});
          grad_of(i0) += dy.cwiseProduct(apply_expr(dphi, in));
        }
        break;
      case GraphOp::layernorm:
      case GraphOp::rmsnorm: {
        const bool ln = node.op == GraphOp::layernorm;
        const Eigen::MatrixXd& xh = aux_[i];
        const int gp = node.params.size() > 0 ? node.params[0] : -1;
        const int bp = ln && node.params.size() > 1 ? node.params[1] : -1;
        if (gp >= 0) acc(gW[static_cast<std::size_t>(gp)], dy.cwiseProduct(xh).colwise().sum().transpose());
        if (bp >= 0) acc(gW[static_cast<std::size_t>(bp)], dy.colwise().sum().transpose());
        if (need_in) {
          Eigen::MatrixXd dxh = gp >= 0 ? Eigen::MatrixXd(dy * effective(gp).col(0).asDiagonal()) : dy;
          const double inv_n = 1.0 / static_cast<double>(xh.cols());
          const Eigen::VectorXd proj = dxh.cwiseProduct(xh).rowwise().sum() * inv_n;
          Eigen::MatrixXd dx = dxh - proj.asDiagonal() * xh;
          if (ln) dx = dx.colwise() - dxh.rowwise().mean();
          grad_of(i0) += inv_std_[i].asDiagonal() * dx;
        }
        break;
      }
      case GraphOp::add: {
        const double m = node.branch_scale * std::pow(static_cast<double>(spec_.depth), -to_double(node.branch_exponent));
        if (need_in) grad_of(i0) += dy;
        if (node.inputs[1] != 0) grad_of(node.inputs[1]) += m * dy;
        break;
      }
      case GraphOp::attention: {
        const int H = heads(node);
        const Eigen::Index dh = static_cast<Eigen::Index>(width_) / H;
        const Eigen::MatrixXd* qkv = &qkv_[static_cast<std::size_t>(qkv_index_[i])];
        const double scale = node.logit_scale == LogitScale::inverse_d ? 1.0 / static_cast<double>(dh)
                                                                       : 1.0 / std::sqrt(static_cast<double>(dh));
        const int po = node.params[3];
        acc(gW[static_cast<std::size_t>(po)], dy.transpose() * aux_[i]);
        const Eigen::MatrixXd dO = times(dy, po);
        Eigen::MatrixXd dq(dO.rows(), dO.cols()), dk(dO.rows(), dO.cols()), dv(dO.rows(), dO.cols());
        for (Eigen::Index b = 0; b < B; ++b)
          for (int h = 0; h < H; ++h) {
            const Eigen::MatrixXd& Pm = probs_[i][static_cast<std::size_t>(b * H + h)];
            const auto dOh = dO.block(b * S, h * dh, S, dh);
            const Eigen::MatrixXd dP = dOh * qkv[2].block(b * S, h * dh, S, dh).transpose();
            dv.block(b * S, h * dh, S, dh).noalias() = Pm.transpose() * dOh;
            const Eigen::VectorXd rs = dP.cwiseProduct(Pm).rowwise().sum();
            const Eigen::MatrixXd dA = scale * Pm.cwiseProduct(dP.colwise() - rs);
            dq.block(b * S, h * dh, S, dh).noalias() = dA * qkv[1].block(b * S, h * dh, S, dh);
            dk.block(b * S, h * dh, S, dh).noalias() = dA.transpose() * qkv[0].block(b * S, h * dh, S, dh);
          }
        const Eigen::MatrixXd* dqkv[3] = {&dq, &dk, &dv};
        for (int k = 0; k < 3; ++k) {
          acc(gW[static_cast<std::size_t>(node.params[k])], dqkv[k]->transpose() * in);
          if (need_in) grad_of(i0) += times(*dqkv[k], node.params[k]);
        }
        break;
      }
      case GraphOp::readout: {
        const int p = node.params[0];
        acc(gW[static_cast<std::size_t>(p)], dy.transpose() * pool(in, S, node.pooling));
        if (node.params.size() > 1 && node.params[1] >= 0)
          acc(gW[static_cast<std::size_t>(node.params[1])], dy.colwise().sum().transpose());
        if (need_in) {
          const Eigen::MatrixXd dpool = times(dy, p);
          Eigen::MatrixXd& gi = grad_of(i0);
          for (Eigen::Index b = 0; b < B; ++b) {
            if (node.pooling == Pooling::last) gi.row(b * S + S - 1) += dpool.row(b);
            else gi.middleRows(b * S, S).rowwise() += dpool.row(b) / static_cast<double>(S);
          }
        }
        break;
      }
    }
    if (i != N - 1) G[i].resize(0, 0);  // free what is no longer needed
  }
  for (std::size_t p = 0; p < P; ++p) {
    if (gW[p].size() == 0) {
      gW[p] = Eigen::MatrixXd::Zero(param_rows(static_cast<int>(p)), param_cols(static_cast<int>(p)));
    }
    const int owner = spec_.tied.size() > p ? spec_.tied[p] : -1;
    const Eigen::MatrixXd g = mult_[p] * gW[p];
    if (owner < 0) {
      acc(grads[p], g);
    } else {
      const bool same = w_[static_cast<std::size_t>(owner)].rows() == g.rows() && w_[static_cast<std::size_t>(owner)].cols() == g.cols();
      acc(grads[static_cast<std::size_t>(owner)], same ? g : Eigen::MatrixXd(g.transpose()));
    }
  }
  return grads;
}

void GraphNet::update(const std::vector<Eigen::MatrixXd>& grads, int t) {
  const GraphTraining& tr = spec_.training;
  for (std::size_t p = 0; p < w_.size(); ++p) {
    if (w_[p].size() == 0) continue;  // tied
    const Eigen::MatrixXd& g = grads[p];
    Eigen::MatrixXd& w = w_[p];
    if (decay_[p] != 0) w *= 1.0 - lr_[p] * decay_[p];
    switch (tr.optimizer) {
      case Optimizer::sgd: w -= lr_[p] * g; break;
      case Optimizer::signsgd: w -= lr_[p] * g.unaryExpr([](double v) { return double((v > 0) - (v < 0)); }); break;
      case Optimizer::adam: {
        m1_[p] = tr.beta1 * m1_[p] + (1 - tr.beta1) * g;
        m2_[p] = tr.beta2 * m2_[p] + (1 - tr.beta2) * g.cwiseAbs2();
        const double c1 = 1.0 / (1 - std::pow(tr.beta1, t)), c2 = 1.0 / (1 - std::pow(tr.beta2, t));
        const double eps = eps_[p];
        w.array() -= lr_[p] * (c1 * m1_[p].array()) / ((c2 * m2_[p].array()).sqrt() + eps);
        break;
      }
    }
  }
}

GraphTrace train_graph(const GraphSpec& spec, std::size_t width, std::uint64_t seed, const GraphTrainOptions& options) {
  const GraphTraining& tr = spec.training;
  const int S = spec.positions;
  if (spec.train_x.rows() % S != 0 || spec.eval_x.rows() % S != 0)
    throw std::invalid_argument("the data's rows must be whole examples of S = " + std::to_string(S) + " positions");
  const int m = static_cast<int>(spec.train_x.rows() / S);
  if (m < 1) throw std::invalid_argument("the graph needs at least one training example");
  if (spec.train_y.rows() != m) throw std::invalid_argument("train_y needs one row per training example");
  const bool own_eval = spec.eval_x.rows() > 0;
  const Eigen::MatrixXd& mx = own_eval ? spec.eval_x : spec.train_x;
  const int me = static_cast<int>(mx.rows() / S);
  std::vector<int> measure(static_cast<std::size_t>(me));
  for (int i = 0; i < me; ++i) measure[static_cast<std::size_t>(i)] = i;
  auto batch = [&](int t) {
    std::vector<int> idx;
    switch (tr.batch) {
      case BatchMode::full:
        for (int i = 0; i < m; ++i) idx.push_back(i);
        break;
      case BatchMode::per_sample: idx.push_back(t % m); break;
      case BatchMode::minibatch:
        for (int q = 0; q < tr.batch_size; ++q) idx.push_back((t * tr.batch_size + q) % m);
        break;
    }
    return idx;
  };
  if (tr.batch == BatchMode::minibatch && tr.batch_size < 1) throw std::invalid_argument("minibatch training needs a batch size of at least 1");
  const Eigen::Index rows = static_cast<Eigen::Index>(std::max<int>(me, tr.batch == BatchMode::minibatch ? tr.batch_size : m)) * S;
  GraphNet net(spec, width, seed, rows, options.memory_budget_bytes);
  const std::size_t N = spec.nodes.size();
  GraphTrace trace;
  std::vector<int> measured_nodes, attention_nodes;
  for (std::size_t i = 1; i < N; ++i) {
    trace.names.push_back(spec.nodes[i].name);
    measured_nodes.push_back(static_cast<int>(i));
  }
  for (std::size_t i = 1; i < N; ++i)
    if (spec.nodes[i].op == GraphOp::attention) {
      trace.names.push_back(spec.nodes[i].name + ".logits");
      attention_nodes.push_back(static_cast<int>(i));
    }
  std::vector<int> matrices;
  for (std::size_t p = 0; p < spec.params.size(); ++p) {
    if (net.raw(static_cast<int>(p)).size() == 0) continue;
    if (net.raw(static_cast<int>(p)).rows() > 1 && net.raw(static_cast<int>(p)).cols() > 1) {
      matrices.push_back(static_cast<int>(p));
      trace.matrices.push_back(spec.params[p].name);
    }
  }
  auto fail = [&](const std::string& what, int t) {
    throw NumericalError("training diverged: " + what + " became NaN or infinite at step " + std::to_string(t) +
                         " (width n = " + std::to_string(width) + ", seed " + std::to_string(seed) +
                         "); the parametrization is unstable or the learning rate too large");
  };
  auto check = [&](int t) {
    for (std::size_t i = 1; i < N; ++i)
      if (!net.value(static_cast<int>(i)).allFinite()) fail("node '" + spec.nodes[i].name + "'", t);
  };
  std::vector<Eigen::MatrixXd> x0(N);
  std::vector<std::vector<Eigen::MatrixXd>> a0(N);
  auto mean_abs = [](const Eigen::MatrixXd& v) { return v.size() ? v.cwiseAbs().mean() : 0.0; };
  auto logit_l1 = [&](const std::vector<Eigen::MatrixXd>& A, const std::vector<Eigen::MatrixXd>* base, bool causal) {
    double sum = 0, count = 0;
    for (std::size_t k = 0; k < A.size(); ++k)
      for (int s = 0; s < S; ++s)
        for (int j = 0; j <= (causal ? s : S - 1); ++j) {
          sum += std::abs(A[k](s, j) - (base ? (*base)[k](s, j) : 0.0));
          count += 1;
        }
    return sum / count;
  };
  const Eigen::MatrixXd no_y;
  const bool reuse = !own_eval && tr.batch == BatchMode::full;
  for (int t = 0; t <= tr.steps; ++t) {
    // 2. measure
    const double mloss = net.forward(mx, own_eval ? no_y : spec.train_y, measure);
    check(t);
    std::vector<double> l1, dl1;
    for (int i : measured_nodes) {
      const Eigen::MatrixXd& v = net.value(i);
      if (t == 0) x0[static_cast<std::size_t>(i)] = v;
      l1.push_back(mean_abs(v));
      dl1.push_back(mean_abs(v - x0[static_cast<std::size_t>(i)]));
    }
    for (int i : attention_nodes) {
      const auto& A = net.logits(i);
      if (t == 0) a0[static_cast<std::size_t>(i)] = A;
      const bool causal = spec.nodes[static_cast<std::size_t>(i)].causal;
      l1.push_back(logit_l1(A, nullptr, causal));
      dl1.push_back(logit_l1(A, &a0[static_cast<std::size_t>(i)], causal));
    }
    trace.l1.push_back(std::move(l1));
    trace.delta_l1.push_back(std::move(dl1));
    if (options.singular_values) {
      std::vector<double> sv;
      for (int p : matrices) sv.push_back(top_singular_value(net.effective(p)));
      trace.top_singular.push_back(std::move(sv));
    }
    if (t == tr.steps) {
      trace.loss.push_back(mloss);
      break;
    }
    // 3. train (the full batch of the training set was just forwarded when it is also the measurement set)
    const std::vector<int> idx = batch(t);
    const double loss = reuse ? mloss : net.forward(spec.train_x, spec.train_y, idx);
    if (!std::isfinite(loss)) fail("the loss", t);
    trace.loss.push_back(loss);
    const std::vector<Eigen::MatrixXd> grads = net.gradient();
    for (std::size_t p = 0; p < grads.size(); ++p)
      if (grads[p].size() && !grads[p].allFinite()) fail("the gradient of '" + spec.params[p].name + "'", t);
    net.update(grads, t + 1);
  }
  return trace;
}

}  // namespace tp::limits

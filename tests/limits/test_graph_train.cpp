// Finite-width graph training (limits/graph_train.h): the hand-written backward pass agrees with central
// finite differences on every op and option; an MLP graph reproduces limits/mlp_train number for number;
// the top singular value routine is exact on small matrices and accurate by Lanczos on large ones.
#include <doctest/doctest.h>

#include <Eigen/SVD>
#include <cmath>

#include "limits/graph_builders.h"
#include "limits/graph_train.h"
#include "limits/rng.h"
#include "tp/errors.h"

using namespace tp;

namespace {

// Every gradient entry of every parameter against (L(w + h e) − L(w − h e)) / 2h.
void check_gradient(const GraphSpec& spec, std::size_t width) {
  const int m = static_cast<int>(spec.train_x.rows() / spec.positions);
  std::vector<int> all;
  for (int i = 0; i < m; ++i) all.push_back(i);
  limits::GraphNet net(spec, width, 7, spec.train_x.rows());
  net.forward(spec.train_x, spec.train_y, all);
  const std::vector<Eigen::MatrixXd> g = net.gradient();
  const double h = 1e-5;
  for (std::size_t p = 0; p < spec.params.size(); ++p) {
    Eigen::MatrixXd& w = net.raw(static_cast<int>(p));
    if (w.size() == 0) {
      CHECK(g[p].size() == 0);  // tied: the owner holds the gradient
      continue;
    }
    REQUIRE(g[p].rows() == w.rows());
    REQUIRE(g[p].cols() == w.cols());
    for (Eigen::Index k = 0; k < w.size(); ++k) {
      const double keep = w.data()[k];
      w.data()[k] = keep + h;
      const double up = net.forward(spec.train_x, spec.train_y, all);
      w.data()[k] = keep - h;
      const double down = net.forward(spec.train_x, spec.train_y, all);
      w.data()[k] = keep;
      const double fd = (up - down) / (2 * h);
      CAPTURE(spec.params[p].name);
      CAPTURE(k);
      CHECK(std::abs(fd - g[p].data()[k]) <= 1e-7 + 1e-5 * std::abs(fd));
    }
  }
}

limits::TransformerBlockOptions smooth_block() {
  limits::TransformerBlockOptions o;
  o.positions = 3;
  o.input_dim = 3;
  o.examples = 2;
  // SP-like scales (b = 0 for vectors' random part) so that every op sees O(1), non-degenerate values
  o.scalings = limits::sp_adam_scalings();
  o.scalings.vector.zero_init = false;
  o.scalings.vector.init_std = 0.3;
  return o;
}

GraphSpec with_tanh(GraphSpec g) {
  for (auto& n : g.nodes)
    if (n.op == GraphOp::activation) n.activation = call(Function::tanh, argument(0));
  return g;
}

}  // namespace

TEST_CASE("graph backward pass matches finite differences: Transformer block, causal, 1/d logits, layernorm, last pooling") {
  check_gradient(with_tanh(limits::transformer_block(smooth_block())), 8);
}

TEST_CASE("graph backward pass matches finite differences: non-causal, 1/sqrt(d) logits, rmsnorm, mean pooling, two outputs") {
  auto o = smooth_block();
  o.causal = false;
  o.logit_scale = LogitScale::inverse_sqrt_d;
  o.rms = true;
  o.pooling = Pooling::mean;
  o.output_dim = 2;
  check_gradient(with_tanh(limits::transformer_block(o)), 8);
}

TEST_CASE("graph backward pass matches finite differences: fixed head dimension, branch multiplier, readout bias, cross-entropy") {
  auto o = smooth_block();
  o.output_dim = 3;
  GraphSpec g = with_tanh(limits::transformer_block(o));
  for (auto& n : g.nodes)
    if (n.op == GraphOp::attention) {
      n.head_dim_width = false;
      n.head_dim = 2;  // 4 heads at width 8
    } else if (n.op == GraphOp::add) {
      n.branch_scale = 0.7;
      n.branch_exponent = Rational(1, 2);
    }
  g.depth = 3;
  GraphParameter b;
  b.name = "readout.bias";
  b.kind = TensorKind::scalar_like;
  b.rows = 3;
  b.cols = 1;
  b.scaling.init_std = 0.5;
  g.params.push_back(b);
  g.nodes.back().params[1] = static_cast<int>(g.params.size()) - 1;
  g.training.loss = LossKind::cross_entropy;
  g.train_y = Eigen::MatrixXd(2, 1);
  g.train_y << 2, 0;  // class indices
  check_gradient(g, 8);
  g.train_y = Eigen::MatrixXd(2, 3);
  g.train_y << 0.2, 0.5, 0.3, 1, 0, 0;  // probability rows
  check_gradient(g, 8);
}

TEST_CASE("graph backward pass matches finite differences: tied embedding and readout, binary cross-entropy") {
  auto o = smooth_block();
  o.input_dim = 4;
  o.output_dim = 4;
  GraphSpec g = with_tanh(limits::transformer_block(o));
  g.tied.assign(g.params.size(), -1);
  int embed = -1, readout = -1;
  for (std::size_t p = 0; p < g.params.size(); ++p) {
    if (g.params[p].name == "embed") embed = static_cast<int>(p);
    if (g.params[p].name == "readout") readout = static_cast<int>(p);
  }
  g.tied[static_cast<std::size_t>(readout)] = embed;  // 4 x n readout shares the n x 4 embedding, transposed
  g.training.loss = LossKind::cross_entropy;
  g.train_y = Eigen::MatrixXd(2, 1);
  g.train_y << 3, 1;
  check_gradient(g, 8);
  g.params[static_cast<std::size_t>(readout)].scaling.a = 1;  // TP5 Table 8: the tied readout's own 1/fan_in
  check_gradient(g, 8);
  // binary cross-entropy on one logit
  auto o1 = smooth_block();
  GraphSpec b = with_tanh(limits::transformer_block(o1));
  b.training.loss = LossKind::cross_entropy;
  b.train_y = Eigen::MatrixXd(2, 1);
  b.train_y << 1, 0;
  check_gradient(b, 8);
}

TEST_CASE("an MLP graph reproduces limits/mlp_train: same draws, same outputs and features at every step") {
  limits::MlpTraining spec;
  spec.abc = preset("mup", 2);
  spec.activation = call(Function::tanh, argument(0));
  spec.lr = 0.5;
  spec.steps = 3;
  spec.weight_decay = 0.1;
  limits::default_data(4, 3, spec.inputs, spec.targets);
  const std::size_t n = 64;
  const limits::MlpTrace ref = limits::train_mlp(spec, n, 3);
  const GraphSpec g = limits::mlp_graph(spec);
  limits::GraphNet net(g, n, 3, 4);
  const std::vector<int> all{0, 1, 2, 3};
  for (int t = 0; t <= spec.steps; ++t) {
    const double loss = net.forward(g.train_x, g.train_y, all);
    CHECK(loss == doctest::Approx(ref.loss[static_cast<std::size_t>(t)]).epsilon(1e-12));
    for (int i = 0; i < 4; ++i) CHECK(net.value(static_cast<int>(g.nodes.size()) - 1)(i, 0) == doctest::Approx(ref.f_all[t][i]).epsilon(1e-10));
    for (int l = 1; l <= 2; ++l) {
      const Eigen::RowVectorXd h = net.value(2 * l - 1).row(0);  // nodes input, h^1, x^1, h^2, x^2, f
      CHECK(std::sqrt(h.squaredNorm() / static_cast<double>(n)) ==
            doctest::Approx(ref.h_rms[static_cast<std::size_t>(t)][static_cast<std::size_t>(l - 1)]).epsilon(1e-10));
    }
    if (t < spec.steps) net.update(net.gradient(), t + 1);
  }
}

TEST_CASE("train_graph records every node and the attention logits at every step, x_0's delta is 0") {
  limits::TransformerBlockOptions o;
  const GraphSpec g = limits::transformer_block(o);
  const limits::GraphTrace tr = limits::train_graph(g, 32, 1);
  REQUIRE(tr.l1.size() == 3);
  CHECK(tr.names.size() == g.nodes.size());  // every node but the input, plus attn.logits
  CHECK(tr.names.back() == "attn.logits");
  for (double v : tr.delta_l1[0]) CHECK(v == 0);
  for (double v : tr.l1[0]) CHECK(v > 0);
  for (double v : tr.delta_l1[1]) CHECK(v > 0);
  CHECK(tr.matrices.size() == 7);  // embed, q, k, v, o, fc1, fc2 (the 1 x n readout is a vector)
  CHECK(tr.loss.size() == 3);
}

TEST_CASE("train_graph refuses bad graphs and diverging runs with a named culprit") {
  limits::TransformerBlockOptions o;
  GraphSpec g = limits::transformer_block(o);
  GraphSpec bad_heads = g;
  for (auto& n : bad_heads.nodes)
    if (n.op == GraphOp::attention) n.heads = 3;
  CHECK_THROWS_WITH_AS(limits::train_graph(bad_heads, 32, 0), doctest::Contains("heads do not divide"), std::invalid_argument);
  GraphSpec bad_shape = g;
  bad_shape.params[1].rows_width = false;
  bad_shape.params[1].rows = 5;
  CHECK_THROWS_WITH_AS(limits::train_graph(bad_shape, 32, 0), doctest::Contains("ln1.gain"), std::invalid_argument);
  GraphSpec huge = g;
  huge.training.lr = 1e200;
  huge.training.optimizer = Optimizer::sgd;
  CHECK_THROWS_AS(limits::train_graph(huge, 32, 0), NumericalError);
  GraphSpec bad_class = g;
  bad_class.output_dim = 3;
  for (auto& p : bad_class.params)
    if (p.name == "readout") p.rows = 3;
  bad_class.training.loss = LossKind::cross_entropy;
  bad_class.train_y = Eigen::MatrixXd::Constant(4, 1, 1.0);
  bad_class.train_y(2, 0) = 3.5;
  CHECK_THROWS_WITH_AS(limits::train_graph(bad_class, 32, 0), doctest::Contains("target 3 is 3.5"), std::invalid_argument);
  GraphSpec bad_y = g;
  bad_y.train_y = Eigen::MatrixXd::Zero(4, 2);
  CHECK_THROWS_WITH_AS(limits::train_graph(bad_y, 32, 0), doctest::Contains("the targets have 2 columns"), std::invalid_argument);
  GraphSpec bad_x = g;
  bad_x.input_dim = 5;
  for (auto& p : bad_x.params)
    if (p.name == "embed") p.cols = 5;
  CHECK_THROWS_WITH_AS(limits::train_graph(bad_x, 32, 0), doctest::Contains("input dimension is 5"), std::invalid_argument);
  limits::GraphTrainOptions tiny;
  tiny.memory_budget_bytes = 1e5;
  CHECK_THROWS_AS(limits::train_graph(g, 64, 0, tiny), BudgetError);
}

TEST_CASE("top singular value: exact for small sides, Lanczos within 1e-3 on a 600 x 500 Gaussian matrix") {
  Eigen::MatrixXd small(5, 40);
  limits::Rng(1, 2).fill_normal(small.data(), static_cast<std::size_t>(small.size()));
  Eigen::JacobiSVD<Eigen::MatrixXd> s1(small);
  CHECK(limits::top_singular_value(small) == doctest::Approx(s1.singularValues()(0)).epsilon(1e-12));
  Eigen::MatrixXd big(600, 500);
  limits::Rng(3, 4).fill_normal(big.data(), static_cast<std::size_t>(big.size()));
  Eigen::BDCSVD<Eigen::MatrixXd> s2(big);
  const double exact = s2.singularValues()(0), lanczos = limits::top_singular_value(big);
  CHECK(lanczos <= exact * (1 + 1e-12));
  CHECK(lanczos >= exact * (1 - 1e-3));
}

TEST_CASE("optimizer updates: SignSGD and Adam's first step with decoupled weight decay, per-tensor exponents") {
  limits::TransformerBlockOptions o;
  o.training.weight_decay = 0.3;
  GraphSpec g = limits::transformer_block(o);
  for (auto& p : g.params) {
    p.scaling.c = Rational(1, 2);
    p.scaling.wd_exponent = Rational(-1, 2);  // λ n^{1/2}
    p.scaling.d = 1;                          // ε n^{-1}
  }
  const std::size_t n = 16;
  const std::vector<int> all{0, 1, 2, 3};
  int fc1 = -1;
  for (std::size_t p = 0; p < g.params.size(); ++p)
    if (g.params[p].name == "fc1") fc1 = static_cast<int>(p);
  const double lr = o.training.lr / 4, decay = 0.3 * 4;  // η n^{-1/2}, λ n^{1/2} at n = 16
  for (Optimizer opt : {Optimizer::signsgd, Optimizer::adam, Optimizer::sgd}) {
    g.training.optimizer = opt;
    limits::GraphNet net(g, n, 5, 16);
    net.forward(g.train_x, g.train_y, all);
    const auto grads = net.gradient();
    const Eigen::MatrixXd w0 = net.raw(fc1), gr = grads[static_cast<std::size_t>(fc1)];
    net.update(grads, 1);
    Eigen::MatrixXd q = gr;
    if (opt == Optimizer::signsgd) q = gr.unaryExpr([](double v) { return double((v > 0) - (v < 0)); });
    if (opt == Optimizer::adam)  // bias-corrected first step: g / (|g| + ε n^{-d})
      q = gr.array() / (gr.array().abs() + g.training.eps / 16);
    const Eigen::MatrixXd expect = w0 - lr * (q + decay * w0);
    CHECK((net.raw(fc1) - expect).cwiseAbs().maxCoeff() <= 1e-12 * (1 + w0.cwiseAbs().maxCoeff()));
  }
}

TEST_CASE("a minibatch of the whole training set trains exactly like full batch; per-sample and minibatch runs differ") {
  limits::TransformerBlockOptions o;
  GraphSpec full = limits::transformer_block(o);
  GraphSpec mini = full;
  mini.training.batch = BatchMode::minibatch;
  mini.training.batch_size = 4;  // all 4 examples
  const auto a = limits::train_graph(full, 32, 2), b = limits::train_graph(mini, 32, 2);
  for (std::size_t t = 0; t < a.l1.size(); ++t)
    for (std::size_t q = 0; q < a.l1[t].size(); ++q) CHECK(a.l1[t][q] == doctest::Approx(b.l1[t][q]).epsilon(1e-12));
  GraphSpec two = full;
  two.training.batch = BatchMode::minibatch;
  two.training.batch_size = 2;
  GraphSpec one = full;
  one.training.batch = BatchMode::per_sample;
  const auto c = limits::train_graph(two, 32, 2), d = limits::train_graph(one, 32, 2);
  CHECK(c.l1[1].back() != doctest::Approx(a.l1[1].back()).epsilon(1e-6));
  CHECK(d.l1[1].back() != doctest::Approx(c.l1[1].back()).epsilon(1e-6));
  // an evaluation set is measured instead of the training set
  GraphSpec ev = full;
  ev.eval_x = full.train_x.topRows(2 * full.positions);
  const auto e = limits::train_graph(ev, 32, 2);
  CHECK(e.l1[0][0] != doctest::Approx(a.l1[0][0]).epsilon(1e-9));
}

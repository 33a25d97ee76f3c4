// tp::representative_point_spec (issue 12 item 6): the size exponents propagated through the unrolled program
// on the one generic point equal those on the whole data set, for random small data sets, schedules,
// parametrizations, depths, biases, evaluation points and losses.
#include <doctest/doctest.h>

#include <map>
#include <random>

#include "tp/representative_point.h"
#include "tp/unroll.h"

using namespace tp;

namespace {

std::map<std::string, Rational> exponents_of(const NetworkSpec& s) {
  const UnrolledProgram up = unroll(s);
  REQUIRE(up.exponents_unavailable.empty());
  std::map<std::string, Rational> out;
  for (const auto& e : up.exponents) out[e.quantity] = e.exponent;
  return out;
}

}  // namespace

TEST_CASE("one representative point gives the exponents of every data set") {
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  int compared = 0;
  for (int trial = 0; trial < 24; ++trial) {
    const int L = 1 + trial % 3;
    const char* names[] = {"mup", "ntp", "sp"};
    NetworkSpec s;
    s.abc = preset(names[trial % 3], L);
    if (trial % 3 == 2) s.abc.c = 1;  // SP with lr n^-1 (stable)
    s.depth = L;
    s.input_dim = 1 + trial % 4;
    s.biases = trial % 2 == 1;
    s.activation = call(trial % 4 == 0 ? Function::relu : Function::tanh, argument(0));
    s.steps = 2;
    const int m = 2 + trial % 5;
    s.train_x = Eigen::MatrixXd::NullaryExpr(m, s.input_dim, [&] { return u(rng); });
    if (trial % 6 == 5) s.train_x.col(0).setZero();  // a coordinate no point uses
    if (trial % 5 == 3) {  // cross-entropy over 3 classes, class indices
      s.loss = LossKind::cross_entropy;
      s.output_dim = 3;
      s.train_y.resize(m, 1);
      for (int i = 0; i < m; ++i) s.train_y(i, 0) = i % 3;
      s.abc = preset(names[trial % 3], L);
    } else {
      s.train_y = Eigen::MatrixXd::NullaryExpr(m, 1, [&] { return u(rng); });
    }
    if (trial % 4 == 1) s.eval_x = Eigen::MatrixXd::NullaryExpr(2, s.input_dim, [&] { return u(rng); });
    if (trial % 3 == 1) s.batch = BatchMode::per_sample;
    if (trial % 7 == 2) {
      s.batch = BatchMode::minibatch;
      s.batch_size = 2;
    }
    REQUIRE(network_problem(s).empty());
    CAPTURE(trial);
    const auto all = exponents_of(s), one = exponents_of(representative_point_spec(s));
    CHECK(all.size() == one.size());
    for (const auto& [quantity, e] : all) {
      CAPTURE(quantity);
      REQUIRE(one.count(quantity) == 1);
      CHECK(to_string(one.at(quantity)) == to_string(e));
      ++compared;
    }
  }
  CHECK(compared > 24 * 5);
}

TEST_CASE("the representative point keeps the shape and the schedule a single point allows") {
  NetworkSpec s;
  s.abc = preset("mup", 1);
  s.input_dim = 3;
  s.activation = call(Function::tanh, argument(0));
  s.train_x.resize(4, 3);
  s.train_x << 0.5, 0, -2, 1, 0, 0, 0, 0, 3, -1, 0, 0;
  s.train_y = Eigen::MatrixXd::Constant(4, 1, 0.0);
  s.batch = BatchMode::minibatch;
  s.batch_size = 3;
  const NetworkSpec r = representative_point_spec(s);
  CHECK(r.train_x.rows() == 1);
  CHECK(r.train_x(0, 0) == 1.0);
  CHECK(r.train_x(0, 1) == 0.0);  // no point uses coordinate 2
  CHECK(r.train_x(0, 2) == 1.0);
  CHECK(r.train_y(0, 0) == 1.0);  // a nonzero target (mse), whatever the data's targets
  CHECK(r.eval_x.rows() == 0);
  CHECK(r.batch == BatchMode::full);
  CHECK(network_problem(r).empty());
}

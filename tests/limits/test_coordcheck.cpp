// The coordinate check: measured width exponents of trained MLPs match TP4's predictions for muP, SP
// (c = 0: unstable, first step only; c = 1), NTP and a parametrization that learns features only in the
// top hidden layer. Fixed seeds, so the fits are deterministic.
#include <doctest/doctest.h>

#include <cmath>

#include "limits/coordcheck.h"
#include "tp/errors.h"

using namespace tp;

namespace {

limits::CoordCheck check(AbcParametrization abc, int seeds = 8) {
  limits::MlpTraining spec;
  spec.abc = std::move(abc);
  spec.activation = call(Function::relu, argument(0));
  spec.lr = 0.5;
  spec.steps = 2;
  limits::default_data(4, 3, spec.inputs, spec.targets);
  limits::CoordCheckOptions opt;
  opt.widths = {128, 256, 512, 1024};
  opt.seeds = seeds;
  return limits::coordcheck(spec, opt);
}

void all_agree(const limits::CoordCheck& cc) {
  for (const auto& r : cc.rows) {
    CAPTURE(r.quantity);
    CAPTURE(r.predicted);
    CAPTURE(r.measured);
    CAPTURE(r.stderr_);
    CHECK(r.agrees);
  }
}

const limits::CoordRow& row(const limits::CoordCheck& cc, const std::string& q) {
  for (const auto& r : cc.rows)
    if (r.quantity == q) return r;
  FAIL("no row " << q);
  return cc.rows.front();
}

}  // namespace

TEST_CASE("muP: features move Theta(1) in every layer, f_0 ~ n^-1/2") {
  auto cc = check(preset("mup", 2));
  all_agree(cc);
  CHECK(std::abs(row(cc, "Δh^1_2").measured) < 0.15);
  CHECK(row(cc, "f_0").measured == doctest::Approx(-0.5).epsilon(0.4));
}

TEST_CASE("NTP and SP with c = 1: kernel regime, features move like n^-1/2 (NTP) and n^-3/2 (SP layer 1)") {
  all_agree(check(preset("ntp", 2)));
  auto sp = preset("sp", 2);
  sp.c = 1;
  auto cc = check(sp);
  all_agree(cc);
  CHECK(row(cc, "Δh^1_2").predicted == -1.5);
}

TEST_CASE("SP with c = 0 is unstable: the first step already blows up as predicted, later steps are not predicted") {
  auto cc = check(preset("sp", 2));
  CHECK_FALSE(cc.phase.stable);
  all_agree(cc);
  CHECK(row(cc, "Δh^2_1").predicted == 0.5);
  CHECK(row(cc, "Δf_1").predicted == 1.5);
  CHECK(row(cc, "Δf_1").measured > 1.0);
  CHECK_FALSE(row(cc, "Δf_2").has_prediction);
}

TEST_CASE("feature learning only in the top hidden layer") {
  AbcParametrization p = preset("mup", 2);
  p.a[0] = 0;
  p.b[0] = 0;
  auto cc = check(p);
  all_agree(cc);
  CHECK(row(cc, "Δh^1_2").predicted == -1.0);
  CHECK(row(cc, "Δh^2_2").predicted == 0.0);
}

TEST_CASE("a diverging finite-width run names the step and the quantity") {
  limits::MlpTraining spec;
  spec.abc = preset("sp", 3);
  spec.activation = call(Function::exp, argument(0));
  spec.lr = 50;
  spec.steps = 4;
  limits::default_data(4, 3, spec.inputs, spec.targets);
  try {
    limits::train_mlp(spec, 512, 0);
    FAIL("expected a NumericalError");
  } catch (const NumericalError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("at step") != std::string::npos);
    CHECK(msg.find("width n = 512") != std::string::npos);
  }
}

TEST_CASE("coordcheck of a network through the unrolled program: muP with biases and two outputs agrees") {
  NetworkSpec s;
  s.depth = 2;
  s.input_dim = 3;
  s.output_dim = 2;
  s.biases = true;
  s.activation = call(Function::tanh, argument(0));
  s.abc = preset("mup", 2);
  s.steps = 2;
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  limits::default_data(4, 3, x, y);
  s.train_x = x;
  s.train_y.resize(4, 2);
  s.train_y.col(0) = y;
  s.train_y.col(1) = -y;
  limits::CoordCheckOptions opt;
  opt.widths = {128, 256, 512, 1024};
  opt.seeds = 6;
  const auto cc = limits::coordcheck(s, opt);
  all_agree(cc);
  CHECK(cc.rows.size() == 2 + 1 + 2 * (2 + 1));
  // NTP through the same route: the features move like n^-1/2.
  s.abc = preset("ntp", 2);
  s.biases = false;
  const auto ntp = limits::coordcheck(s, opt);
  all_agree(ntp);
  CHECK(row(ntp, "Δh^2_2").predicted == -0.5);
}

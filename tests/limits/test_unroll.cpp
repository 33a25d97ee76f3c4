// tp::unroll: the unrolled SGD program, run by the finite-width executor, has the same distribution of f_t
// as the direct trainer limits/mlp_train (an independent implementation with explicit weight matrices), for
// µP, NTP and SP; width factors are explicit n^e values; Adam is refused with its reason.
#include <doctest/doctest.h>

#include <cmath>

#include "limits/finite.h"
#include "limits/mlp_train.h"
#include "limits/statistics.h"
#include "limits/zdot_limit.h"
#include "tp/errors.h"
#include "tp/printer.h"
#include "tp/unroll.h"

using namespace tp;

namespace {

NetworkSpec spec_for(const std::string& preset_name, int depth, ExprPtr act, int steps) {
  NetworkSpec s;
  s.depth = depth;
  s.input_dim = 3;
  s.activation = std::move(act);
  s.abc = preset(preset_name, depth);
  s.lr = 0.5;
  s.steps = steps;
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  limits::default_data(4, 3, x, y);
  s.train_x = x;
  s.train_y = y;
  return s;
}

// Mean ± s.e. over seeds of f_T at training point 0, by the unrolled program and by train_mlp.
void same_distribution(const NetworkSpec& s, std::size_t n, int seeds) {
  const UnrolledProgram up = unroll(s);
  limits::FiniteOptions fo;
  fo.width = n;
  fo.seeds.clear();
  for (int k = 0; k < seeds; ++k) fo.seeds.push_back(static_cast<std::uint64_t>(k));
  const auto fr = limits::run_finite(up.program, fo);
  limits::MlpTraining tr;
  tr.abc = s.abc;
  tr.activation = s.activation;
  tr.lr = s.lr;
  tr.inputs = s.train_x;
  tr.targets = s.train_y.col(0);
  tr.steps = s.steps;
  tr.weight_decay = s.weight_decay;
  for (int t = 0; t <= s.steps; ++t) {
    const std::string name = f_output_name(t, false, 0, 0, 1);
    std::size_t col = 0;
    while (fr.names[col] != name) ++col;
    std::vector<double> direct, program;
    for (int k = 0; k < seeds; ++k) {
      direct.push_back(limits::train_mlp(tr, n, 1000 + static_cast<std::uint64_t>(k)).f[t]);
      program.push_back(fr.per_seed[k].values[col]);
    }
    const auto a = limits::mean_with_error(direct, limits::Route::finite_width), b = limits::mean_with_error(program, limits::Route::finite_width);
    CAPTURE(t);
    CAPTURE(a.value);
    CAPTURE(a.error);
    CAPTURE(b.value);
    CAPTURE(b.error);
    CHECK(std::abs(a.value - b.value) < 4 * std::hypot(a.error, b.error) + 1e-12);
    // The spread agrees too (a wrong width factor changes it by a power of n).
    double va = 0, vb = 0;
    for (int k = 0; k < seeds; ++k) {
      va += (direct[k] - a.value) * (direct[k] - a.value);
      vb += (program[k] - b.value) * (program[k] - b.value);
    }
    if (va > 1e-20) CHECK(vb / va == doctest::Approx(1.0).epsilon(0.6));
  }
}

}  // namespace

TEST_CASE("unroll: muP, NTP and SP training programs match the direct trainer in distribution") {
  same_distribution(spec_for("mup", 2, call(Function::tanh, argument(0)), 2), 256, 40);
  same_distribution(spec_for("ntp", 2, call(Function::relu, argument(0)), 2), 256, 40);
  auto sp = spec_for("sp", 1, call(Function::tanh, argument(0)), 2);
  sp.abc.c = 1;
  same_distribution(sp, 256, 40);
}

TEST_CASE("unroll: weight decay (decoupled, every tensor) matches the direct trainer") {
  auto s = spec_for("mup", 2, call(Function::tanh, argument(0)), 3);
  s.weight_decay = 0.3;
  same_distribution(s, 256, 40);
  auto sp = spec_for("sp", 1, call(Function::tanh, argument(0)), 3);
  sp.abc.c = 1;  // ρ = 1 − η λ n^{-1}: the decay factor is an explicit width power
  sp.weight_decay = 50;
  same_distribution(sp, 256, 40);
}

TEST_CASE("unroll: muP has no width factor other than n^0; NTP keeps n^(1/2) on f and n^(-1/2) on updates") {
  auto has = [](const Program& p, std::int64_t num, std::int64_t den) {
    for (const auto& v : p.values())
      if (v.op == Op::WidthPower && v.width_num == num && v.width_den == den) return true;
    return false;
  };
  const auto mup = unroll(spec_for("mup", 2, call(Function::tanh, argument(0)), 2)).program;
  for (const auto& v : mup.values())
    if (v.op == Op::WidthPower) CHECK(v.width_num == 0);
  CHECK(mup.uses_transpose());
  const auto ntp = unroll(spec_for("ntp", 2, call(Function::relu, argument(0)), 2)).program;
  CHECK(has(ntp, 1, 2));
  CHECK(has(ntp, -1, 2));
  // The program prints and every output is named f_t<step>_train<i>.
  CHECK(dump(mup).find("output f_t2_train4") != std::string::npos);
}

TEST_CASE("unroll: Adam is refused with the reason") {
  auto s = spec_for("mup", 1, call(Function::tanh, argument(0)), 1);
  s.abc.optimizer = Optimizer::adam;
  CHECK_THROWS_WITH_AS(unroll(s), doctest::Contains("NE⊗OR⊤"), std::invalid_argument);
}

TEST_CASE("a program too large for the memory budget is refused before it is built, with the figure") {
  // Issue 12: 450,000 inline points (one full-batch step) needs ~1.5e5 GiB; unroll refused nothing and crashed.
  // Two hidden layers: the second's update has a term per point at every point in either input-layer form (with
  // one hidden layer the columns form makes the program linear in the points, ~4 GB here, and it is built).
  NetworkSpec s = spec_for("mup", 2, call(Function::tanh, argument(0)), 1);
  const int m = 450000;
  s.train_x = Eigen::MatrixXd::Constant(m, 3, 0.5);
  s.train_y = Eigen::MatrixXd::Constant(m, 1, 1.0);
  CHECK(unroll_memory_estimate(s) > 1e14);
  UnrollOptions o;
  o.budget_flag = "--memory-budget";
  try {
    (void)unroll(s, o);
    FAIL("no BudgetError");
  } catch (const BudgetError& e) {
    const std::string what = e.what();
    CHECK(what.find("450000 training and 0 evaluation points needs about") != std::string::npos);
    CHECK(what.find("over the memory budget of 8.0 GiB") != std::string::npos);
    CHECK(what.find("or raise --memory-budget") != std::string::npos);
  }
  // A billion steps on four points: refused from the estimate, summed in closed form instead of a billion-step
  // loop (one hidden layer in the columns form: linear in the steps, ~1.6e13 bytes; two: saturated).
  NetworkSpec longer = spec_for("mup", 1, call(Function::tanh, argument(0)), 1000000000);
  CHECK(unroll_memory_estimate(longer) > 1e13);
  CHECK(unroll_memory_estimate(spec_for("mup", 2, call(Function::tanh, argument(0)), 1000000000)) >= 1e16);
  CHECK_THROWS_AS((void)unroll(longer), BudgetError);
  // The estimate of a small spec is small and it unrolls.
  CHECK(unroll_memory_estimate(spec_for("mup", 2, call(Function::tanh, argument(0)), 3)) < 1e8);
}

TEST_CASE("unroll: the input layer as its columns and as sums over earlier updates are the same function") {
  // Three points in R^3 (coordinate 3 is zero at the first two points and the third point is not in the first
  // minibatch, so column 3 stays implicit for a step), biases, weight decay, a minibatch of 2, three steps, an
  // evaluation point; NTP keeps n^(±1/2) factors in the columns.
  for (const char* preset_name : {"mup", "ntp"}) {
    CAPTURE(preset_name);
    NetworkSpec s = spec_for(preset_name, 2, call(Function::tanh, argument(0)), 3);
    s.train_x.resize(3, 3);
    s.train_x << 1, 0.5, 0, -0.5, 1, 0, 0.3, -0.2, 0.8;
    s.train_y.resize(3, 1);
    s.train_y << 1, -1, 0.5;
    s.eval_x.resize(1, 3);
    s.eval_x << 0.2, 0, -0.4;
    s.biases = true;
    s.weight_decay = 0.1;
    s.batch = BatchMode::minibatch;
    s.batch_size = 2;
    UnrollOptions columns, sums;
    columns.input_layer = InputLayerForm::columns;
    sums.input_layer = InputLayerForm::sums;
    const UnrolledProgram a = unroll(s, columns), b = unroll(s, sums);
    CHECK(dump(a.program).find("W1c3_t2") != std::string::npos);  // the first batch (points 1, 2) leaves column 3
    CHECK(dump(a.program).find("W1c3_t1") == std::string::npos);
    CHECK(dump(b.program).find("W1c1_t1") == std::string::npos);
    // Same exponent tables (the phase analysis reads them) and the same outputs.
    REQUIRE(a.exponents.size() == b.exponents.size());
    for (std::size_t i = 0; i < a.exponents.size(); ++i) {
      CHECK(a.exponents[i].quantity == b.exponents[i].quantity);
      CHECK(a.exponents[i].exponent == b.exponents[i].exponent);
    }
    REQUIRE(a.program.outputs().size() == b.program.outputs().size());
    // Finite width: the same SGD up to rounding.
    limits::FiniteOptions fo;
    fo.width = 64;
    fo.seeds = {3, 4};
    fo.threads = 1;
    const auto fa = limits::run_finite(a.program, fo), fb = limits::run_finite(b.program, fo);
    for (std::size_t k = 0; k < fo.seeds.size(); ++k)
      for (std::size_t j = 0; j < fa.names.size(); ++j) {
        CAPTURE(fa.names[j]);
        CHECK(fa.per_seed[k].values[j] == doctest::Approx(fb.per_seed[k].values[j]).epsilon(1e-9).scale(1.0));
      }
    if (std::string(preset_name) != "mup") continue;
    // The Monte Carlo limit with the derivative ZDot (whose tangents the columns form shortens): equal within errors.
    limits::ZDotOptions zo;
    zo.particles = 512;
    zo.replicas = 6;
    zo.zdot = limits::ZDotMode::derivative;
    zo.threads = 1;
    const auto la = limits::zdot_limit(a.program, zo), lb = limits::zdot_limit(b.program, zo);
    for (std::size_t j = 0; j < la.outputs.size(); ++j) {
      CAPTURE(la.names[j]);
      CHECK(std::abs(la.outputs[j].value - lb.outputs[j].value) <= 4 * std::hypot(la.outputs[j].error, lb.outputs[j].error) + 1e-12);
    }
  }
  // automatic: columns for few inputs trained over steps; sums when d·(1 + B) exceeds points·B·(T + 1)/2.
  NetworkSpec wide = spec_for("mup", 2, call(Function::tanh, argument(0)), 1);
  wide.input_dim = 10;
  wide.train_x = Eigen::MatrixXd::Constant(4, 10, 0.1);
  CHECK(input_columns_pay(spec_for("mup", 2, call(Function::tanh, argument(0)), 3)));  // 4·4·4/2 ≥ 3·5
  CHECK_FALSE(input_columns_pay(wide));  // 4 points, batch 4, 1 step, d = 10: 4·4·2/2 < 10·5
  CHECK(unroll_memory_estimate(wide) == unroll_memory_estimate(wide, InputLayerForm::sums));
  CHECK(unroll_memory_estimate(wide) < unroll_memory_estimate(wide, InputLayerForm::columns));
  CHECK(dump(unroll(wide).program).find("W1c") == std::string::npos);
  CHECK(dump(unroll(spec_for("mup", 2, call(Function::tanh, argument(0)), 3)).program).find("W1c1_t3") != std::string::npos);
}

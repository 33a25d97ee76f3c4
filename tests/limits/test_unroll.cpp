// tp::unroll: the unrolled SGD program, run by the finite-width executor, has the same distribution of f_t
// as the direct trainer limits/mlp_train (an independent implementation with explicit weight matrices), for
// µP, NTP and SP; width factors are explicit n^e values; Adam is refused with its reason.
#include <doctest/doctest.h>

#include <cmath>

#include "limits/finite.h"
#include "limits/mlp_train.h"
#include "limits/statistics.h"
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
  NetworkSpec s = spec_for("mup", 1, call(Function::tanh, argument(0)), 1);
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
  // A billion steps on four points: refused from the estimate, which saturates instead of looping a billion times.
  NetworkSpec longer = spec_for("mup", 1, call(Function::tanh, argument(0)), 1000000000);
  CHECK(unroll_memory_estimate(longer) >= 1e16);
  CHECK_THROWS_AS((void)unroll(longer), BudgetError);
  // The estimate of a small spec is small and it unrolls.
  CHECK(unroll_memory_estimate(spec_for("mup", 2, call(Function::tanh, argument(0)), 3)) < 1e8);
}

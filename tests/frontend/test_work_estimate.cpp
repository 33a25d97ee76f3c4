// frontend/work_estimate: the derivative ZDot form's tangent work, fitted from zdot_limit's plan, stays within 1.5x
// of the plan's exact count off the sizes it was fitted on; the form it predicts is the one zdot_limit takes; the
// jackknife doubles the particle work.
#include <doctest/doctest.h>

#include <cmath>

#include "frontend/work_estimate.h"
#include "limits/zdot_limit.h"
#include "tp/unroll.h"

using namespace tp;

namespace {

NetworkSpec circle_network(int m, int steps, int depth, ExprPtr act) {
  NetworkSpec s;
  s.depth = depth;
  s.input_dim = 2;
  s.activation = std::move(act);
  s.abc = preset("mup", depth);
  s.lr = 0.5;
  s.steps = steps;
  s.train_x.resize(m, 2);
  s.train_y.resize(m, 1);
  for (int i = 0; i < m; ++i) {
    const double th = 6.283 * i / m, r = 0.5 + 0.25 * (i % 3);
    s.train_x(i, 0) = r * std::cos(th);
    s.train_x(i, 1) = r * std::sin(th);
    s.train_y(i, 0) = 0.8 * std::sin(3 * th);
  }
  s.eval_x.resize(1, 2);
  s.eval_x << 0.2, -0.3;
  return s;
}

}  // namespace

TEST_CASE("work estimate: derivative ZDot tangent columns within 1.5x of the plan's count; the predicted form is taken") {
  for (const auto& [m, steps, depth] : {std::tuple{12, 6, 2}, std::tuple{6, 5, 3}}) {
    CAPTURE(m);
    CAPTURE(depth);
    const NetworkSpec s = circle_network(m, steps, depth, call(Function::tanh, argument(0)));
    const UnrolledProgram up = unroll(s);
    limits::ZDotOptions zo;
    zo.zdot = limits::ZDotMode::derivative;
    zo.particles = 64;
    const double exact = limits::zdot_work(up.program, zo).tangent_columns;
    limits::NetworkLimitOptions o;
    o.zdot = "derivative";
    const double fitted = frontend::zdot_form(s, o).tangent_columns;
    CAPTURE(exact);
    CAPTURE(fitted);
    CHECK(exact > 0);
    CHECK(fitted / exact > 1 / 1.5);
    CHECK(fitted / exact < 1.5);
    // automatic: derivative here, as zdot_limit decides; Stein under a budget the tangents do not fit, also as
    // zdot_limit decides; Stein for relu (φ' = step: a Dirac delta).
    o.zdot = "auto";
    o.particles = 64;
    zo.zdot = limits::ZDotMode::automatic;
    CHECK(frontend::zdot_form(s, o).derivative);
    CHECK(limits::zdot_work(up.program, zo).mode == limits::ZDotMode::derivative);
    o.memory_budget_bytes = zo.memory_budget_bytes = 1e6;
    CHECK_FALSE(frontend::zdot_form(s, o).derivative);
    CHECK(limits::zdot_work(up.program, zo).mode == limits::ZDotMode::stein);
  }
  limits::NetworkLimitOptions o;
  const NetworkSpec relu = circle_network(6, 3, 2, call(Function::relu, argument(0)));
  CHECK_FALSE(frontend::zdot_form(relu, o).derivative);
  CHECK(frontend::zdot_form(relu, o).tangent_columns == 0);
  // The jackknife runs every particle twice (whole and halves): twice the particle work, the same plan.
  const NetworkSpec s = circle_network(12, 6, 2, call(Function::tanh, argument(0)));
  o.route = limits::LimitRoute::monte_carlo;
  o.zdot = "derivative";
  o.particles = 1 << 20;
  o.threads = 1;
  const auto with = frontend::network_limit_estimate(s, o);
  o.jackknife = false;
  const auto without = frontend::network_limit_estimate(s, o);
  REQUIRE(with);
  REQUIRE(without);
  CHECK(with->seconds / without->seconds == doctest::Approx(2.0).epsilon(0.01));
  CHECK(with->what.find("tangent columns") != std::string::npos);
}

// Expressions: symbolic derivatives against finite differences, compiled evaluation against scalar
// evaluation, constant folding, printing.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "tp/compiled_expr.h"
#include "tp/expr.h"
#include "tp/singularity.h"

using namespace tp;

namespace {

double eval1(const ExprPtr& e, double x) {
  CompiledExpr c(e, {false});
  double in[] = {x};
  return c.eval_scalar(in);
}

}  // namespace

TEST_CASE("every catalogue function's symbolic derivative matches a central finite difference") {
  const double points[] = {-1.7, -0.6, 0.3, 0.9, 2.2};
  for (Function f : all_functions()) {
    ExprPtr e = call(f, argument(0));
    ExprPtr d = derivative(e, 0);
    for (double x : points) {
      if ((f == Function::log || f == Function::sqrt) && x <= 0) continue;
      const double h = 1e-6;
      const double fd = (eval1(e, x + h) - eval1(e, x - h)) / (2 * h);
      CAPTURE(function_spelling(f));
      CAPTURE(x);
      CHECK(eval1(d, x) == doctest::Approx(fd).epsilon(1e-6));
    }
  }
}

TEST_CASE("derivatives of compound expressions: product, quotient and general powers") {
  // f(x, y) = tanh(x) * y^3 / (1 + x^2) + x^y
  ExprPtr x = argument(0), y = argument(1);
  ExprPtr f = add(div(mul(call(Function::tanh, x), pow(y, constant(3))), add(constant(1), pow(x, constant(2)))),
                  pow(x, y));
  CompiledExpr cf(f, {false, false});
  for (int i = 0; i < 2; ++i) {
    CompiledExpr cd(derivative(f, i), {false, false});
    double p[] = {0.8, 1.3};
    double q[] = {0.8, 1.3};
    const double h = 1e-6;
    p[i] += h;
    q[i] -= h;
    const double fd = (cf.eval_scalar(p) - cf.eval_scalar(q)) / (2 * h);
    double at[] = {0.8, 1.3};
    CHECK(cd.eval_scalar(at) == doctest::Approx(fd).epsilon(1e-6));
  }
}

TEST_CASE("relu' is the step function and the step's derivative is zero") {
  ExprPtr d = derivative(call(Function::relu, argument(0)), 0);
  CHECK(to_string(d, {"x"}) == "step(x)");
  CHECK(is_const(derivative(d, 0), 0));
}

TEST_CASE("compiled array evaluation equals scalar evaluation coordinate by coordinate") {
  // phi(x, y; theta) = gelu(x) * sigmoid(y) - theta * erf(x - y)^2 + Phi(y) / (2 + cos(x))
  ExprPtr x = argument(0), y = argument(1), th = argument(2);
  ExprPtr e = sub(mul(call(Function::gelu, x), call(Function::sigmoid, y)),
                  add(mul(th, pow(call(Function::erf, sub(x, y)), constant(2))),
                      div(call(Function::normcdf, y), add(constant(2), call(Function::cos, x)))));
  Eigen::ArrayXd xs = Eigen::ArrayXd::LinSpaced(101, -3, 3);
  Eigen::ArrayXd ys = xs.reverse() * 0.7;
  CompiledExpr c(e, {true, true, false});
  ExprInput in[3];
  in[0].array = &xs;
  in[1].array = &ys;
  in[2].scalar = 0.4;
  Eigen::ArrayXd out = c.eval(in, xs.size());
  CompiledExpr cs(e, {false, false, false});
  for (Eigen::Index k = 0; k < xs.size(); ++k) {
    double p[] = {xs(k), ys(k), 0.4};
    CHECK(out(k) == doctest::Approx(cs.eval_scalar(p)).epsilon(1e-14));
  }
  CHECK_FALSE(c.is_scalar());
}

TEST_CASE("constant folding simplifies trivial sub-trees") {
  CHECK(is_const(mul(constant(0), argument(0)), 0));
  CHECK(equal(mul(constant(1), argument(0)), argument(0)));
  CHECK(is_const(add(constant(2), constant(3)), 5));
  CHECK(equal(neg(neg(argument(1))), argument(1)));
  CHECK(is_const(call(Function::exp, constant(0)), 1));
}

TEST_CASE("printing uses minimal parentheses that keep the tree") {
  ExprPtr x = argument(0), y = argument(1);
  CHECK(to_string(sub(x, sub(y, x)), {"x", "y"}) == "x - (y - x)");
  CHECK(to_string(mul(add(x, y), y), {"x", "y"}) == "(x + y) * y");
  CHECK(to_string(pow(x, constant(-1)), {"x", "y"}) == "x^(-1)");
  CHECK(to_string(neg(pow(x, constant(2))), {"x", "y"}) == "-x^2");
  CHECK(to_string(pow(neg(x), constant(2)), {"x", "y"}) == "(-x)^2");
  CHECK(to_string(div(x, mul(x, y)), {"x", "y"}) == "x / (x * y)");
  CHECK(format_number(0.1) == "0.1");
  CHECK(format_number(1e-300) == "1e-300");
}

TEST_CASE("arguments_used, remap_arguments and substitute") {
  ExprPtr e = add(argument(2), mul(argument(0), argument(2)));
  CHECK(arguments_used(e) == std::vector<int>{0, 2});
  CHECK(max_argument(e) == 2);
  ExprPtr r = remap_arguments(e, {1, -1, 0});
  CHECK(to_string(r, {"a", "b"}) == "a + b * a");
  ExprPtr s = substitute(e, {constant(3), nullptr, argument(0)});
  CHECK(to_string(s, {"z"}) == "z + 3 * z");
}

namespace {

int depth(const ExprPtr& e) { return e ? 1 + std::max(depth(e->lhs), depth(e->rhs)) : 0; }

}  // namespace

TEST_CASE("balanced_sum of a million terms is 21 levels deep, so the recursive walkers cannot overflow") {
  // tp::unroll sums one term per data point (issue 12: 450,000 inline points built a 450,000-deep chain of
  // Adds, and collect_arguments overflowed the stack).
  std::vector<ExprPtr> terms;
  for (int i = 0; i < 1000000; ++i) terms.push_back(mul(constant(i % 7 + 1.0), argument(i % 3)));
  const ExprPtr s = balanced_sum(terms);
  CHECK(depth(s) <= 22);
  CHECK(arguments_used(s) == std::vector<int>{0, 1, 2});
  CHECK(max_argument(derivative(s, 1)) == -1);  // the derivative in arg 1 is a constant
  CHECK(balanced_sum({}) == nullptr);
  CHECK(equal(balanced_sum({argument(4)}), argument(4)));
  double in[] = {1.0, 2.0, 3.0};
  const ExprPtr small = balanced_sum({argument(0), argument(1), argument(2), constant(4)});
  CHECK(CompiledExpr(small, {false, false, false}).eval_scalar(in) == 10.0);
}

TEST_CASE("find_pole flags poles on the real line and passes integrable singularities and safe divisions") {
  // Issue 12 item 8: quadrature and Monte Carlo printed numbers for E[1/x²] (infinite) and E[1/x] (undefined).
  auto pole = [](const ExprPtr& e) { return find_pole(e, {true, true}, {"x", "y"}); };
  const ExprPtr x = argument(0), y = argument(1);
  CHECK(pole(div(constant(1), mul(x, x))) == "1 / (x * x) has a pole at x = 0, where it grows like |x|^-2");
  CHECK(pole(div(constant(1), x)) == "1 / x has a pole at x = 0, where it grows like |x|^-1");
  CHECK(pole(pow(x, constant(-1))).find("has a pole at x = 0") != std::string::npos);
  CHECK(pole(div(call(Function::sin, x), call(Function::cos, x))).find("has a pole at x = -") != std::string::npos);
  CHECK(pole(div(constant(1), sub(x, constant(30)))).find("has a pole at x = 30") != std::string::npos);  // far out
  const ExprPtr shifted = sub(x, constant(0.3));
  CHECK(pole(div(constant(1), mul(shifted, shifted))).find("has a pole at x = 0.3") != std::string::npos);
  CHECK(pole(mul(y, div(constant(1), sub(call(Function::exp, y), constant(1.5))))).find("at y = 0.405465") != std::string::npos);
  // Not poles: removable, integrable (|x|^-1/2, log|x|), or denominators without real zeros.
  CHECK(pole(div(call(Function::sin, x), x)).empty());
  CHECK(pole(div(constant(1), call(Function::sqrt, call(Function::abs, x)))).empty());
  CHECK(pole(call(Function::log, call(Function::abs, x))).empty());
  CHECK(pole(div(constant(1), add(constant(1), call(Function::exp, x)))).empty());
  CHECK(pole(div(x, add(mul(x, x), constant(1)))).empty());
  CHECK(pole(div(constant(1), add(constant(2), call(Function::sin, y)))).empty());
  CHECK(pole(call(Function::tanh, div(constant(1), x))).empty());  // bounded near the zero of its denominator
  // A scalar operand is a fixed number, not a Gaussian coordinate: x / s is no pole.
  CHECK(find_pole(div(x, y), {true, false}, {"x", "s"}).empty());
}

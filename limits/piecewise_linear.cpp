// Arc-cosine transforms of piecewise-linear activations; formulas and sources in piecewise_linear.h.
#include "limits/piecewise_linear.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tp::limits {
namespace {

constexpr double pi = std::numbers::pi;
const double inv_sqrt_2pi = 1.0 / std::sqrt(2 * pi);

PiecewiseLinear scaled(PiecewiseLinear f, double s) {
  f.relu_pos *= s;
  f.relu_neg *= s;
  f.step_pos *= s;
  f.step_neg *= s;
  f.constant *= s;
  return f;
}

PiecewiseLinear sum(const PiecewiseLinear& f, const PiecewiseLinear& g, double sign) {
  PiecewiseLinear r;
  r.relu_pos = f.relu_pos + sign * g.relu_pos;
  r.relu_neg = f.relu_neg + sign * g.relu_neg;
  r.step_pos = f.step_pos + sign * g.step_pos;
  r.step_neg = f.step_neg + sign * g.step_neg;
  r.constant = f.constant + sign * g.constant;
  return r;
}

/// The slope k if f(x) = k x (α = k, β = −k, nothing else).
std::optional<double> linear_slope(const PiecewiseLinear& f) {
  if (f.has_order0() || f.relu_pos != -f.relu_neg) return std::nullopt;
  return f.relu_pos;
}

bool is_constant(const PiecewiseLinear& f) { return !f.has_order1() && f.step_pos == 0.0 && f.step_neg == 0.0; }

/// h(t) = sin t − t cos t on [0, π], by its Taylor series Σ_{k≥1} (−1)^{k+1} 2k t^{2k+1}/(2k+1)! for small t.
double h(double t) {
  if (t > 0.25) return std::sin(t) - t * std::cos(t);
  const double t2 = t * t;
  double term = t * t2 / 3, total = 0.0;  // k = 1
  for (int k = 1; k <= 8; ++k) {
    total += term;
    // term_{k+1}/term_k = −t² (2k+2) / ((2k)(2k+2)(2k+3)) = −t² / (2k (2k + 3))
    term *= -t2 / (2.0 * k * (2.0 * k + 3.0));
  }
  return total;
}

double square(double x) { return x * x; }

}  // namespace

double PiecewiseLinear::operator()(double x) const {
  if (x > 0) return relu_pos * x + step_pos + constant;
  if (x < 0) return relu_neg * -x + step_neg + constant;
  return constant;
}

std::optional<PiecewiseLinear> match_piecewise_linear(const ExprPtr& e) {
  PiecewiseLinear f;
  switch (e->kind) {
    case ExprKind::Const:
      if (!std::isfinite(e->value)) return std::nullopt;
      f.constant = e->value;
      return f;
    case ExprKind::Arg:
      if (e->arg != 0) return std::nullopt;
      f.relu_pos = 1.0;
      f.relu_neg = -1.0;
      return f;
    case ExprKind::Neg: {
      auto a = match_piecewise_linear(e->lhs);
      if (!a) return std::nullopt;
      return scaled(*a, -1.0);
    }
    case ExprKind::Add:
    case ExprKind::Sub: {
      auto a = match_piecewise_linear(e->lhs), b = match_piecewise_linear(e->rhs);
      if (!a || !b) return std::nullopt;
      return sum(*a, *b, e->kind == ExprKind::Add ? 1.0 : -1.0);
    }
    case ExprKind::Mul: {
      auto a = match_piecewise_linear(e->lhs), b = match_piecewise_linear(e->rhs);
      if (!a || !b) return std::nullopt;
      if (is_constant(*a)) return scaled(*b, a->constant);
      if (is_constant(*b)) return scaled(*a, b->constant);
      return std::nullopt;
    }
    case ExprKind::Div: {
      auto a = match_piecewise_linear(e->lhs), b = match_piecewise_linear(e->rhs);
      if (!a || !b || !is_constant(*b) || b->constant == 0.0) return std::nullopt;
      return scaled(*a, 1.0 / b->constant);
    }
    case ExprKind::Pow: return std::nullopt;
    case ExprKind::Call: {
      auto arg = match_piecewise_linear(e->lhs);
      if (!arg) return std::nullopt;
      const auto k = linear_slope(*arg);
      if (!k || *k == 0.0) return std::nullopt;  // kink not at 0, or a constant argument (folded by tp::call)
      const double m = std::abs(*k);
      const bool pos = *k > 0;
      switch (e->fn) {
        case Function::relu: (pos ? f.relu_pos : f.relu_neg) = m; return f;
        case Function::step: (pos ? f.step_pos : f.step_neg) = 1.0; return f;
        case Function::abs: f.relu_pos = f.relu_neg = m; return f;
        case Function::sign:
          f.step_pos = pos ? 1.0 : -1.0;
          f.step_neg = -f.step_pos;
          return f;
        case Function::tanh:
        case Function::erf:
        case Function::gelu:
        case Function::sigmoid:
        case Function::sin:
        case Function::cos:
        case Function::exp:
        case Function::log:
        case Function::sqrt:
        case Function::normcdf:
        case Function::normpdf: return std::nullopt;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

double expect_piecewise_at(const PiecewiseLinear& f, double a, double b, double theta) {
  const double al = f.relu_pos, be = f.relu_neg;
  const double p = f.step_pos + f.constant, q = f.step_neg + f.constant;  // c0 folds into the steps a.e.
  const double sab = std::sqrt(a * b);
  const double c2 = square(std::cos(0.5 * theta)), s2 = square(std::sin(0.5 * theta));
  const double order1 = sab / (2 * pi) * ((al * al + be * be) * h(pi - theta) + 2 * al * be * h(theta));
  const double order0 = ((p * p + q * q) * (pi - theta) + 2 * p * q * theta) / (2 * pi);
  const double cross =
      (std::sqrt(a) + std::sqrt(b)) * inv_sqrt_2pi * ((al * p + be * q) * c2 + (al * q + be * p) * s2);
  return order1 + order0 + cross;
}

double expect_piecewise_squared(const PiecewiseLinear& f, double k) {
  if (!(k > 0)) return square(f.constant);
  const double p = f.step_pos + f.constant, q = f.step_neg + f.constant;
  return (square(f.relu_pos) + square(f.relu_neg)) * k / 2 + (p * p + q * q) / 2 +
         2 * std::sqrt(k) * inv_sqrt_2pi * (f.relu_pos * p + f.relu_neg * q);
}

PiecewiseTransform expect_piecewise(const PiecewiseLinear& f, const Gram2& g) {
  PiecewiseTransform t;
  t.var_u = expect_piecewise_squared(f, g.a);
  t.var_v = expect_piecewise_squared(f, g.b);
  if (!(g.a > 0) || !(g.b > 0)) {
    // a zero variance: that side is the constant φ(0) = c0, so E φ(u)φ(v) = c0 E φ(other)
    const double k = g.a > 0 ? g.a : g.b;
    const double p = f.step_pos + f.constant, q = f.step_neg + f.constant;
    const double mean_other =
        k > 0 ? (f.relu_pos + f.relu_neg) * std::sqrt(k) * inv_sqrt_2pi + (p + q) / 2 : f.constant;
    t.value = f.constant * mean_other;
    t.gap = std::max(std::sqrt(t.var_u * t.var_v) - t.value, 0.0);
    t.exact_gap = true;  // one side is constant: |E φ(u)φ(v)| = √(AB) only if the other is too
    return t;
  }
  const double theta = std::atan2(std::sqrt(std::max(g.det, 0.0)), g.c);
  t.value = expect_piecewise_at(f, g.a, g.b, theta);
  if (!f.has_order0()) {
    const double P = square(f.relu_pos) + square(f.relu_neg), Q = 2 * f.relu_pos * f.relu_neg;
    const double sab = std::sqrt(g.a * g.b);
    const double bracket = theta <= pi / 2
                               ? 2 * pi * P * square(std::sin(0.5 * theta)) - (P + Q) * h(theta)
                               : pi * (P - Q) + 2 * pi * Q * square(std::sin(0.5 * (pi - theta))) - (P + Q) * h(pi - theta);
    t.gap = std::max(sab / (2 * pi) * bracket, 0.0);
  } else if (!f.has_order1()) {
    const double p = f.step_pos + f.constant, q = f.step_neg + f.constant;
    t.gap = square(p - q) * theta / (2 * pi);
  } else {
    t.gap = std::max(std::sqrt(t.var_u * t.var_v) - t.value, 0.0);
    t.exact_gap = false;
  }
  return t;
}

double next_det(const PiecewiseTransform& t, double sw2, double sb2) {
  const double root = std::sqrt(std::max(t.var_u, 0.0) * std::max(t.var_v, 0.0));
  const double delta = t.gap * std::max(2 * root - t.gap, 0.0);
  const double distance = square(std::sqrt(std::max(t.var_u, 0.0)) - std::sqrt(std::max(t.var_v, 0.0))) + 2 * t.gap;
  return sw2 * sw2 * delta + sw2 * sb2 * distance;
}

}  // namespace tp::limits

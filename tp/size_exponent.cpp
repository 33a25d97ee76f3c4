// See size_exponent.h.
#include "tp/size_exponent.h"

#include <cmath>
#include <vector>

#include "tp/compiled_expr.h"

namespace tp {

SizeExp size_max(const SizeExp& a, const SizeExp& b) {
  if (!a) return b;
  if (!b) return a;
  return std::max(*a, *b);
}
SizeExp size_plus(const SizeExp& a, const SizeExp& b) {
  if (!a || !b) return std::nullopt;
  return *a + *b;
}
SizeExp size_plus(const SizeExp& a, const Rational& b) {
  if (!a) return std::nullopt;
  return *a + b;
}

namespace {
double eval1(const ExprPtr& e, double x) {
  const std::vector<double> in{x};
  return CompiledExpr(e, {false}).eval_scalar(in);
}
}  // namespace

ActivationProfile activation_profile(const ExprPtr& phi) {
  ActivationProfile p;
  ExprPtr d = phi;
  p.vanishing_order = 4;
  for (int k = 0; k <= 3; ++k) {
    if (std::abs(eval1(d, 0.0)) > 1e-12) {
      p.vanishing_order = k;
      break;
    }
    d = derivative(d, 0);
  }
  if (p.vanishing_order == 4) {
    // φ vanishes to high order at 0 (or everywhere): check whether it is identically zero.
    p.identically_zero = std::abs(eval1(phi, 0.7)) < 1e-300 && std::abs(eval1(phi, -1.3)) < 1e-300;
    p.vanishing_order = 3;
  }
  // Growth degree: the slope of log|φ| against log|x| between 1e4 and 1e6 (both signs), rounded to halves.
  double worst = 0;
  for (double sgn : {1.0, -1.0}) {
    const double lo = std::abs(eval1(phi, sgn * 1e4)), hi = std::abs(eval1(phi, sgn * 1e6));
    if (!std::isfinite(lo) || !std::isfinite(hi) || hi > 1e60) return p;  // super-polynomial
    const double slope = (hi < 1e-300 || lo < 1e-300) ? 0.0 : std::log(hi / lo) / std::log(100.0);
    worst = std::max(worst, slope);
  }
  const double halves = std::round(worst * 2);
  if (std::abs(worst * 2 - halves) > 0.1) return p;
  p.growth = Rational(static_cast<long long>(halves), 2);
  return p;
}

SizeExp activation_size(const ActivationProfile& p, const SizeExp& s, bool& known) {
  known = true;
  if (p.identically_zero) return std::nullopt;
  if (!s) return p.vanishing_order == 0 ? SizeExp(Rational(0)) : std::nullopt;  // φ(0)
  if (*s == 0) return Rational(0);
  if (*s < 0) return *s * p.vanishing_order;
  if (!p.growth) {
    known = false;
    return std::nullopt;
  }
  return *s * *p.growth;
}

}  // namespace tp

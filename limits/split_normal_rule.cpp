// Split Gauss–Legendre rules for the standard normal; see split_normal_rule.h.
#include "limits/split_normal_rule.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <numbers>
#include <stdexcept>
#include <string>

#include "limits/piecewise_linear.h"

namespace tp::limits {

const GaussLegendreRule& gauss_legendre_rule(int n) {
  if (n < 1 || n > 1024) throw std::invalid_argument("Gauss-Legendre order must be in [1, 1024], got " + std::to_string(n));
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<GaussLegendreRule>> cache;
  const std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[n];
  if (slot) return *slot;
  auto rule = std::make_unique<GaussLegendreRule>();
  rule->nodes.resize(static_cast<std::size_t>(n));
  rule->weights.resize(static_cast<std::size_t>(n));
  for (int i = 0; i < (n + 1) / 2; ++i) {
    double x = std::cos(std::numbers::pi * (i + 0.75) / (n + 0.5));
    double dp = 0.0;
    for (int iter = 0; iter < 100; ++iter) {
      double p0 = 1.0, p1 = x;
      for (int j = 1; j < n; ++j) {
        const double p2 = ((2.0 * j + 1) * x * p1 - j * p0) / (j + 1);
        p0 = p1;
        p1 = p2;
      }
      if (n == 1) p0 = 1.0, p1 = x;
      dp = n * (x * p1 - p0) / (x * x - 1);
      const double step = p1 / dp;
      x -= step;
      if (std::abs(step) < 1e-16) break;
    }
    const double w = 2.0 / ((1 - x * x) * dp * dp);
    const auto lo = static_cast<std::size_t>(i), hi = static_cast<std::size_t>(n - 1 - i);
    rule->nodes[lo] = -x;
    rule->nodes[hi] = x;
    rule->weights[lo] = rule->weights[hi] = w;
  }
  if (n % 2 == 1) rule->nodes[static_cast<std::size_t>(n / 2)] = 0.0;
  slot = std::move(rule);
  return *slot;
}

void split_normal_rule(std::span<const double> breakpoints, int n, double half_width, NormalRule& out) {
  out.nodes.clear();
  out.weights.clear();
  std::vector<double> cuts{-half_width};
  for (double b : breakpoints)
    if (b > -half_width && b < half_width) cuts.push_back(b);
  cuts.push_back(half_width);
  std::sort(cuts.begin(), cuts.end());
  const GaussLegendreRule& gl = gauss_legendre_rule(n);
  const double density = 1.0 / std::sqrt(2 * std::numbers::pi);
  for (std::size_t p = 0; p + 1 < cuts.size(); ++p) {
    const double lo = cuts[p], hi = cuts[p + 1];
    if (hi - lo <= 1e-12) continue;
    const double mid = 0.5 * (lo + hi), half = 0.5 * (hi - lo);
    for (std::size_t j = 0; j < gl.nodes.size(); ++j) {
      const double z = mid + half * gl.nodes[j];
      out.nodes.push_back(z);
      out.weights.push_back(half * gl.weights[j] * density * std::exp(-0.5 * z * z));
    }
  }
}

namespace {

bool collect_breakpoints(const ExprPtr& e, std::vector<double>& out) {
  if (!e) return true;
  if (e->kind == ExprKind::Call) {
    switch (e->fn) {
      case Function::relu:
      case Function::step:
      case Function::abs:
      case Function::sign:
      case Function::sqrt:  // √x and log x are not smooth at 0 either (and undefined below; the diagonal sees that)
      case Function::log: {
        // an affine argument k x + c is piecewise linear with α = k, β = −k and constant c, no steps
        const auto f = match_piecewise_linear(e->lhs);
        if (!f || f->step_pos != 0.0 || f->step_neg != 0.0 || f->relu_pos != -f->relu_neg) return false;
        if (f->relu_pos != 0.0) out.push_back(-f->constant / f->relu_pos + 0.0);  // + 0.0: no −0
        break;
      }
      case Function::tanh:
      case Function::erf:
      case Function::gelu:
      case Function::sigmoid:
      case Function::sin:
      case Function::cos:
      case Function::exp:
      case Function::normcdf:
      case Function::normpdf: break;
    }
  }
  return collect_breakpoints(e->lhs, out) && collect_breakpoints(e->rhs, out);
}

}  // namespace

std::optional<std::vector<double>> breakpoints(const ExprPtr& e) {
  std::vector<double> out;
  if (!collect_breakpoints(e, out)) return std::nullopt;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace tp::limits

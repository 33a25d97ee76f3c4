// Split double-exponential rules for the standard normal; see double_exponential_rule.h.
#include "limits/double_exponential_rule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace tp::limits {

namespace {

constexpr double half_pi = std::numbers::pi / 2;

/// Whether the node z, meant at `distance` from the end e, is there to 1e−4 relative: closer to e ≠ 0 than ~1e4
/// ulps, z rounds to the same few doubles and the integrand would see another distance than the weight assumes.
bool representable(double z, double e, double distance) {
  return distance > 0 && z != e && std::abs(std::abs(z - e) - distance) <= 1e-4 * distance;
}

double normal_density(double z) { return std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi); }

class RuleBuilder {
 public:
  RuleBuilder(double h, DoubleExponentialRule& out) : h_(h), out_(out) {}

  /// Adds a node, returns false (and adds nothing) if its weight is 0.
  bool add(double z, double dz_dt) {
    const double w = h_ * dz_dt * normal_density(z);
    if (!(w > 0) || !std::isfinite(w)) return false;
    out_.nodes.push_back(z);
    out_.weights.push_back(w);
    return true;
  }

  /// Records the last two nodes added since `first` as one side's end.
  void end_side(std::size_t first) {
    const auto n = out_.nodes.size();
    const int last = n > first ? static_cast<int>(n - 1) : -1;
    const int second = n > first + 1 ? static_cast<int>(n - 2) : -1;
    out_.ends.emplace_back(last, second);
  }

  /// tanh-sinh on [a, b].
  void finite(double a, double b) {
    const double mid = 0.5 * (a + b), half = 0.5 * (b - a);
    add(mid, half * half_pi);
    for (int side = -1; side <= 1; side += 2) {
      const std::size_t first = out_.nodes.size();
      for (int j = 1;; ++j) {
        const double t = j * h_;
        const double u = half_pi * std::sinh(t);
        if (u > 350) break;
        const double e = std::exp(-2 * u);
        const double distance = 2 * half * e / (1 + e);  // to the end: half (1 − tanh u)
        const double z = side > 0 ? b - distance : a + distance;
        if (!representable(z, side > 0 ? b : a, distance)) break;
        // dz/dt = half (π/2) cosh t / cosh² u, 1/cosh² u = 4 e^{−2u}/(1 + e^{−2u})²
        if (!add(z, half * half_pi * std::cosh(t) * 4 * e / ((1 + e) * (1 + e)))) break;
      }
      end_side(first);
    }
  }

  /// exp-sinh on [a, ∞) (direction +1) or (−∞, a] (direction −1).
  void half_line(double a, int direction) {
    add(a + direction * 1.0, half_pi);
    for (int side = -1; side <= 1; side += 2) {  // −1: towards a, +1: towards infinity
      const std::size_t first = out_.nodes.size();
      for (int j = 1;; ++j) {
        const double t = side * j * h_;
        const double v = half_pi * std::sinh(t);
        if (v > 700 || v < -740) break;
        const double distance = std::exp(v);
        const double z = a + direction * distance;
        if (!representable(z, a, distance)) break;
        if (!add(z, half_pi * std::cosh(t) * distance)) break;
      }
      end_side(first);
    }
  }

 private:
  double h_;
  DoubleExponentialRule& out_;
};

}  // namespace

void double_exponential_normal_rule(std::span<const double> breakpoints, int level, DoubleExponentialRule& out) {
  if (level < 0 || level > 16) throw std::invalid_argument("double-exponential level must be in [0, 16], got " + std::to_string(level));
  out.nodes.clear();
  out.weights.clear();
  out.ends.clear();
  std::vector<double> cuts{0.0};
  for (double s : breakpoints)
    if (s > -40 && s < 40) cuts.push_back(s + 0.0);
  std::sort(cuts.begin(), cuts.end());
  // Cuts closer than a few ulps leave a panel no node fits in.
  std::vector<double> kept;
  for (double s : cuts)
    if (kept.empty() || s - kept.back() > 4 * std::numeric_limits<double>::epsilon() * std::max(1.0, std::abs(s)))
      kept.push_back(s);
  RuleBuilder builder(std::ldexp(1.0, -level), out);
  builder.half_line(kept.front(), -1);
  for (std::size_t i = 0; i + 1 < kept.size(); ++i) builder.finite(kept[i], kept[i + 1]);
  builder.half_line(kept.back(), +1);
}

double truncation_estimate(double last, double second_last) {
  if (last == 0) return 0.0;
  if (!(second_last > last)) return std::numeric_limits<double>::infinity();
  const double ratio = last / second_last;
  return last * ratio / (1 - ratio);
}

}  // namespace tp::limits

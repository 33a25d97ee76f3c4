// See trapezoid_rule.h.
#include "limits/trapezoid_rule.h"

#include <cmath>
#include <numbers>

namespace tp::limits {

NormalRule trapezoid_normal_rule(double h, double threshold) {
  const double c = h / std::sqrt(2 * std::numbers::pi);
  auto weight = [&](long j) { return c * std::exp(-0.5 * (j * h) * (j * h)); };
  long J = 0;  // nodes −J..J
  while (weight(J + 1) >= threshold) ++J;
  NormalRule r;
  for (long j = -J; j <= J; ++j) {
    r.nodes.push_back(static_cast<double>(j) * h);
    r.weights.push_back(weight(j));
  }
  return r;
}

}  // namespace tp::limits

// See statistics.h.
#include "limits/statistics.h"

#include <cmath>
#include <limits>

namespace tp::limits {

Estimate mean_with_error(std::span<const double> xs, Route route) {
  Estimate e;
  e.route = route;
  if (xs.empty()) {
    e.value = std::numeric_limits<double>::quiet_NaN();
    e.error = std::numeric_limits<double>::quiet_NaN();
    return e;
  }
  double sum = 0;
  for (double x : xs) sum += x;
  e.value = sum / static_cast<double>(xs.size());
  if (xs.size() < 2) {
    e.error = std::numeric_limits<double>::quiet_NaN();
    return e;
  }
  double ss = 0;
  for (double x : xs) ss += (x - e.value) * (x - e.value);
  e.error = std::sqrt(ss / static_cast<double>(xs.size() - 1) / static_cast<double>(xs.size()));
  return e;
}

}  // namespace tp::limits

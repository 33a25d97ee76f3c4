// See number_format.h.
#include "frontend/number_format.h"

#include <cmath>
#include <cstdio>

namespace tp::frontend {

std::string format_with_error(double value, double error) {
  char buf[96];
  if (std::isnan(error)) {
    std::snprintf(buf, sizeof buf, "%.6g ± n/a", value);
    return buf;
  }
  if (error == 0 || !std::isfinite(error) || !std::isfinite(value)) {
    std::snprintf(buf, sizeof buf, "%.12g ± %.2g", value, error);
    return buf;
  }
  if (std::abs(value) >= 1e7 || error >= 1e7) {  // huge (e.g. a blow-up): scientific notation
    std::snprintf(buf, sizeof buf, "%.3e ± %.1e", value, error);
    return buf;
  }
  // decimal places so that the error shows two significant digits
  int places = 1 - static_cast<int>(std::floor(std::log10(error)));
  if (places > 9) {  // tiny errors: all the digits a double has, error in scientific notation
    std::snprintf(buf, sizeof buf, "%.15g ± %.1e", value, error);
    return buf;
  }
  if (places < 0) {  // round both to a multiple of 10^-places
    const double unit = std::pow(10.0, -places);
    std::snprintf(buf, sizeof buf, "%.0f ± %.0f", std::round(value / unit) * unit, std::round(error / unit) * unit);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.*f ± %.*f", places, value, places, error);
  return buf;
}

std::string fixed(double v, int places) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", places, v);
  return buf;
}

}  // namespace tp::frontend

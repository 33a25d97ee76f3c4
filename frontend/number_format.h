// Human-readable numbers with uncertainties for text output (JSON keeps full precision).
#pragma once

#include <string>

namespace tp::frontend {

/// "0.2361 ± 0.0015": the error to two significant digits and the value to the same decimal place.
/// A NaN error (unknown, e.g. one seed) prints the value to 6 significant digits and "± n/a"; a zero
/// error prints the value to 12 significant digits; errors below 1e-8 print as "0.236450410499296 ± 1.2e-14";
/// values or errors of 1e7 and more print in scientific notation ("4.700e+62 ± 4.7e+62").
std::string format_with_error(double value, double error);

/// v with exactly `places` decimals ("%.*f"), for exponents in tables.
std::string fixed(double v, int places);

}  // namespace tp::frontend

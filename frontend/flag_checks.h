// Validators for numeric command-line flags that CLI11's own checks let through: CLI11 2.1 converts "-1"
// to an unsigned option by wrapping it to 2^64 − 1, and its PositiveNumber and Range pass "nan" (every
// comparison with NaN is false). Each validator says what it expects and what it found.
#pragma once

#include <CLI/CLI.hpp>
#include <cmath>
#include <string>

namespace tp::frontend {

/// A non-negative integer written with digits only (no sign): seeds, thread counts.
inline CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        const bool digits = !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
        return digits ? std::string() : "expected a non-negative integer, found '" + s + "'";
      },
      "UINT");
}

/// A finite number > 0: memory budgets, learning rates.
inline CLI::Validator positive_finite() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        double v = 0;
        const bool number = CLI::detail::lexical_cast(s, v);
        return number && std::isfinite(v) && v > 0 ? std::string()
                                                   : "expected a finite number > 0, found '" + s + "'";
      },
      "POSITIVE");
}

}  // namespace tp::frontend

// Typed exceptions for API misuse and broken invariants (STYLE.md "Errors": user input goes through
// frontend diagnostics instead; these carry the offending value).
#pragma once

#include <stdexcept>
#include <string>

namespace tp {

/// A program was built or used in a way the IR forbids (wrong operand kind, bad covariance, ...).
struct IrError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A numerical computation failed (non-finite value, blow-up); message names the quantity and where.
struct NumericalError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A request exceeds a resource budget (memory); message names the budget and how to change it.
struct BudgetError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace tp

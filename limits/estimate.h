// The one result record every evaluator returns: a value, its error estimate and the route that made it.
// DESIGN.md §2 ("All evaluators return one result type so they can be compared").
#pragma once

#include <string_view>

namespace tp::limits {

/// How a number was produced. The error field's meaning depends on it (see Estimate).
enum class Route {
  exact,         ///< exact arithmetic or an exact finite-dimensional representation; error = rounding bound
  closed_form,   ///< an analytic formula evaluated in double; error = rounding bound
  quadrature,    ///< a tensor rule (Gauss–Hermite or trapezoid); error = change under refinement (e.g. |Q_k − Q_2k|)
  monte_carlo,   ///< Monte Carlo over Z's; error = standard error of the mean
  finite_width,  ///< the program run at a finite width, mean over seeds; error = standard error over seeds
};

constexpr std::string_view route_name(Route r) {
  switch (r) {
    case Route::exact: return "exact";
    case Route::closed_form: return "closed_form";
    case Route::quadrature: return "quadrature";
    case Route::monte_carlo: return "monte_carlo";
    case Route::finite_width: return "finite_width";
  }
  return "?";
}

/// A number with its uncertainty. Invariant: error >= 0 (or NaN only if value is NaN, which evaluators
/// must report as an error instead of returning).
struct Estimate {
  double value = 0.0;
  double error = 0.0;
  Route route = Route::exact;
};

}  // namespace tp::limits

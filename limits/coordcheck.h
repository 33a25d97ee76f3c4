// The coordinate check: train the same MLP at several widths and seeds (limits/mlp_train.h), measure
// the coordinate size of h^l_0, f_0, Δh^l_t and Δf_t, fit its exponent in n, and compare it with the
// exponent predicted by TP4's closed form (tp/mlp_phase.h). This is the empirical test of the phase
// compiler (TP4 §3; the "coord check" of TP5, App. D.1).
//
// Steps: 1. run every (width, seed) pair in parallel; 2. per quantity and width, the size is the RMS over
// seeds of the per-run size (RMS over coordinates for vectors, |value| for f); 3. the exponent is the
// least-squares slope of log size against log n, its standard error a jackknife over seeds; 4. a row
// agrees when |measured − predicted| ≤ 3 s.e. + 0.1 (the 0.1 allows for finite-width corrections of
// relative size n^{-1/2} at the widths used). For an unstable parametrization only initialization and
// the first step are compared: after the first update the blow-up compounds (tp/mlp_phase.h).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "limits/mlp_train.h"
#include "tp/network.h"

namespace tp::limits {

struct CoordCheckOptions {
  std::vector<std::size_t> widths{256, 512, 1024, 2048};
  int seeds = 4;
  unsigned threads = 0;
  double memory_budget_bytes = 8.0 * (1ull << 30);  ///< each run's check (limits/memory_budget.h)
};

struct CoordRow {
  std::string quantity;              ///< "h^1_0", "f_0", "Δh^2_t", "Δf_t"
  int step = 0;                      ///< t
  bool has_prediction = true;        ///< false for steps after the first of an unstable parametrization
  double predicted = 0;              ///< TP4 exponent (NaN without a prediction)
  double measured = 0;               ///< fitted exponent
  double stderr_ = 0;                ///< jackknife standard error of the fit
  bool agrees = false;
  std::vector<double> size_by_width; ///< RMS over seeds, one per width
};

struct CoordCheck {
  std::vector<std::size_t> widths;
  MlpPhase phase;                    ///< the prediction
  std::vector<CoordRow> rows;
};

/// Runs the check. Throws what train_mlp throws (a diverging run names its step, quantity, width, seed).
CoordCheck coordcheck(const MlpTraining& spec, const CoordCheckOptions& options);
/// The same check for any network tp::unroll accepts (biases, several outputs, cross-entropy, batches,
/// weight decay): the unrolled program with size outputs on the finite-width executor; sizes are measured
/// at the probe point (the first evaluation point, else the first training point). Throws what unroll and
/// run_finite throw (NumericalError names the diverging value, whose name carries the step).
CoordCheck coordcheck(const NetworkSpec& spec, const CoordCheckOptions& options);

/// Least-squares slope of ys against xs (both logs) — exposed for tests.
double fit_slope(const std::vector<double>& xs, const std::vector<double>& ys);

/// sizes[width][seed] (non-negative) → the exponent e of size ~ n^e fitted to the RMS over seeds at each
/// width (written to rms_by_width), and its jackknife standard error over seeds (NaN for one seed).
std::pair<double, double> fit_exponent(const std::vector<std::size_t>& widths, const std::vector<std::vector<double>>& sizes,
                                       std::vector<double>& rms_by_width);

}  // namespace tp::limits

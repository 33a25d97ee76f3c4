// The coordinate check for graph networks (issue #14): train a GraphSpec at several widths and seeds
// (limits/graph_train.h), fit the width exponent of every node's coordinate size (mup's `l1`: mean
// |coordinate|) and of its change x_t − x_0 at every step, and compare them with the phase compiler's
// predictions (tp::PredictedSize); fit the top singular value of every weight matrix against width too (the
// sublayer-gain diagnostic of Fan et al. 2025). The empirical test of TP5's µP (Yang et al. 2022, arXiv
// 2203.03466, App. D.1 "coord check") with the prediction printed beside the measurement.
//
// Steps: 1. run every (width, seed) pair in parallel; 2. per quantity and width, the size is the RMS over
// seeds of the per-run size; 3. the exponent is the least-squares slope of log size against log n and its
// standard error a jackknife over seeds (fit_exponent of limits/coordcheck.h); 4. a row with a prediction
// agrees when |measured − predicted| ≤ 3 s.e. + tolerance (the tolerance allows for finite-width corrections
// at the widths used, as limits/coordcheck.h); a quantity that is exactly 0 at every width and seed is
// "vanishing" and agrees only with a prediction that it vanishes.
#pragma once

#include <string>
#include <vector>

#include "limits/graph_train.h"
#include "tp/graph.h"

namespace tp::limits {

struct GraphCoordCheckOptions {
  std::vector<std::size_t> widths{128, 256, 512, 1024};
  int seeds = 4;
  unsigned threads = 0;
  double tolerance = 0.1;
  GraphTrainOptions train;
};

struct GraphCoordRow {
  std::string node;                   ///< node name or "<attention node>.logits"
  int step = 0;                       ///< t
  bool delta = false;                 ///< the size of x_t − x_0 (else of x_t)
  bool has_prediction = false;
  bool predicted_vanishes = false;
  double predicted = 0;               ///< exponent (NaN without a prediction)
  bool measured_vanishes = false;     ///< exactly 0 at every width and seed
  double measured = 0;                ///< fitted exponent (NaN when vanishing)
  double stderr_ = 0;                 ///< jackknife standard error (NaN for one seed)
  bool agrees = true;                 ///< true without a prediction
  std::vector<double> size_by_width;  ///< RMS over seeds, one per width
};

struct SingularRow {
  std::string matrix;                 ///< parameter name
  int step = 0;
  bool vanishes = false;              ///< the matrix is exactly 0 at every width and seed (e.g. a zero-initialized query)
  double measured = 0, stderr_ = 0;   ///< fitted exponent of the top singular value and its s.e. (NaN when vanishing)
  std::vector<double> size_by_width;  ///< RMS over seeds
};

struct GraphCoordCheck {
  std::vector<std::size_t> widths;
  int seeds = 0;
  std::vector<GraphCoordRow> rows;         ///< per step: x_t of every quantity, then (t ≥ 1) x_t − x_0
  std::vector<SingularRow> singular;
  std::vector<std::string> unmatched;      ///< predictions naming a quantity that is not measured
  int disagreements = 0;
};

/// Runs the check. Throws what train_graph throws (NumericalError names the node, step, width, seed).
GraphCoordCheck graph_coordcheck(const GraphSpec& spec, const std::vector<PredictedSize>& predicted,
                                 const GraphCoordCheckOptions& options);

}  // namespace tp::limits

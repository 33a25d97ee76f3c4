// See graph_coordcheck.h for the steps.
#include "limits/graph_coordcheck.h"

#include <cmath>
#include <map>
#include <tuple>

#include "limits/coordcheck.h"
#include "limits/parallel.h"

namespace tp::limits {

GraphCoordCheck graph_coordcheck(const GraphSpec& spec, const std::vector<PredictedSize>& predicted,
                                 const GraphCoordCheckOptions& options) {
  const std::size_t W = options.widths.size(), S = static_cast<std::size_t>(options.seeds);
  if (W < 2 || S < 1) throw std::invalid_argument("the coordinate check needs at least two widths and one seed");
  // 1. every (width, seed) run
  std::vector<GraphTrace> traces(W * S);
  parallel_for(W * S, options.threads, [&](std::size_t k) {
    traces[k] = train_graph(spec, options.widths[k / S], static_cast<std::uint64_t>(k % S), options.train);
  });
  GraphCoordCheck out;
  out.widths = options.widths;
  out.seeds = options.seeds;
  std::map<std::tuple<std::string, int, bool>, const PredictedSize*> pred;
  for (const auto& p : predicted) pred[{p.node, p.step, p.delta}] = &p;
  std::map<std::tuple<std::string, int, bool>, bool> used;
  const GraphTrace& first = traces[0];
  const int T = static_cast<int>(first.l1.size()) - 1;
  // 2-4. per quantity
  for (int t = 0; t <= T; ++t)
    for (int delta = 0; delta <= (t > 0 ? 1 : 0); ++delta)
      for (std::size_t q = 0; q < first.names.size(); ++q) {
        std::vector<std::vector<double>> sizes(W, std::vector<double>(S));
        bool all_zero = true;
        for (std::size_t wi = 0; wi < W; ++wi)
          for (std::size_t s = 0; s < S; ++s) {
            const GraphTrace& tr = traces[wi * S + s];
            sizes[wi][s] = (delta ? tr.delta_l1 : tr.l1)[static_cast<std::size_t>(t)][q];
            all_zero = all_zero && sizes[wi][s] == 0;
          }
        GraphCoordRow row;
        row.node = first.names[q];
        row.step = t;
        row.delta = delta != 0;
        std::tie(row.measured, row.stderr_) = fit_exponent(options.widths, sizes, row.size_by_width);
        row.measured_vanishes = all_zero;
        if (all_zero) row.measured = row.stderr_ = std::nan("");
        const auto key = std::make_tuple(row.node, t, row.delta);
        const auto it = pred.find(key);
        if (it != pred.end()) {
          used[key] = true;
          const PredictedSize& p = *it->second;
          row.has_prediction = p.known;
          row.predicted_vanishes = p.known && p.vanishes;
          row.predicted = p.known && !p.vanishes ? static_cast<double>(p.exponent) : std::nan("");
        } else {
          row.predicted = std::nan("");
        }
        if (row.has_prediction) {
          if (row.predicted_vanishes || row.measured_vanishes) {
            row.agrees = row.predicted_vanishes == row.measured_vanishes;
          } else {
            const double se = std::isnan(row.stderr_) ? 0.0 : row.stderr_;
            row.agrees = std::abs(row.measured - row.predicted) <= 3 * se + options.tolerance;
          }
        }
        out.disagreements += !row.agrees;
        out.rows.push_back(std::move(row));
      }
  for (const auto& p : predicted)
    if (!used.count({p.node, p.step, p.delta}))
      out.unmatched.push_back(p.node + (p.delta ? " (delta)" : "") + " at step " + std::to_string(p.step));
  if (!first.top_singular.empty())
    for (int t = 0; t <= T; ++t)
      for (std::size_t j = 0; j < first.matrices.size(); ++j) {
        std::vector<std::vector<double>> sizes(W, std::vector<double>(S));
        bool all_zero = true;
        for (std::size_t wi = 0; wi < W; ++wi)
          for (std::size_t s = 0; s < S; ++s) {
            sizes[wi][s] = traces[wi * S + s].top_singular[static_cast<std::size_t>(t)][j];
            all_zero = all_zero && sizes[wi][s] == 0;
          }
        SingularRow row;
        row.matrix = first.matrices[j];
        row.step = t;
        std::tie(row.measured, row.stderr_) = fit_exponent(options.widths, sizes, row.size_by_width);
        row.vanishes = all_zero;
        if (all_zero) row.measured = row.stderr_ = std::nan("");
        out.singular.push_back(std::move(row));
      }
  return out;
}

}  // namespace tp::limits

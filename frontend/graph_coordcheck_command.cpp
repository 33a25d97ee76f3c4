// See graph_coordcheck_command.h. Steps: 1. widths from the flag; 2. run the check; 3. the plot (a grid:
// row 1 the sizes of x_t, one panel per step; row 2 the sizes of x_t − x_0 for t ≥ 1; one shared legend;
// the top singular values are in the table only); 4. the table (text) or rows (JSON).
#include "frontend/graph_coordcheck_command.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "frontend/phase_command.h"
#include "frontend/number_format.h"
#include "frontend/check_errors.h"
#include "frontend/plot.h"
#include "limits/graph_coordcheck.h"
#include "tp/errors.h"

namespace tp::frontend {

namespace {

using nlohmann::json;


std::size_t columns_of(const std::string& s) {
  std::size_t cols = 0;
  for (unsigned char ch : s) cols += (ch & 0xC0) != 0x80;
  return cols;
}

std::string pad(const std::string& s, std::size_t width) {
  const std::size_t c = columns_of(s);
  return s + std::string(c < width ? width - c : 1, ' ');
}

std::string label(const limits::GraphCoordRow& r) { return (r.delta ? "Δ" : "") + r.node; }

std::string exponent_text(bool has, bool vanishes, double v) {
  if (!has) return "-";
  if (vanishes) return "0 exactly";
  return fixed(v, 2);
}

// mup-style panels: one per step, coordinate size against width on log-log axes, one line per node in a
// colour it keeps in every panel, its predicted slope dashed through its widest point. Row 1 holds x_t
// (t = 0..T), row 2 the change x_t − x_0 under the same step (its t = 0 cell is empty). The legend (node →
// colour) is shared and drawn once below; a panel's title names the nodes flagged DIFF in it.
std::vector<PlotPanel> panels_of(const limits::GraphCoordCheck& cc, int steps, std::vector<PlotKey>& key) {
  std::vector<double> xs(cc.widths.begin(), cc.widths.end());
  std::map<std::string, int> color;
  for (const auto& r : cc.rows)
    if (!color.count(r.node)) {
      const int c = static_cast<int>(color.size());
      color[r.node] = c;
      key.push_back({r.node, c, false});
    }
  key.push_back({"predicted slope", 9, true});
  std::vector<PlotPanel> panels;
  for (int delta = 0; delta <= 1; ++delta)
    for (int t = 0; t <= steps; ++t) {
      PlotPanel panel;
      panel.xlabel = "width n";
      panel.logx = panel.logy = true;
      if (delta && t == 0) {
        panels.push_back(std::move(panel));  // no change at initialization: an empty cell
        continue;
      }
      panel.ylabel = delta ? "mean |x_t - x_0|" : "mean |x_t|";
      std::string diff;
      for (const auto& r : cc.rows) {
        if (r.step != t || r.delta != (delta != 0) || r.measured_vanishes) continue;
        const int c = color.at(r.node);
        panel.series.push_back({r.node, xs, r.size_by_width, false, c, false});
        if (r.has_prediction && !r.predicted_vanishes) {
          std::vector<double> ys;
          for (double x : xs) ys.push_back(r.size_by_width.back() * std::pow(x / xs.back(), r.predicted));
          panel.series.push_back({"", xs, ys, true, c, false});
        }
        if (!r.agrees) diff += (diff.empty() ? "" : ", ") + r.node;
      }
      panel.title = (delta ? "change x_t - x_0" : "x_t") + std::string(t == 0 ? " at initialization" : ", step " + std::to_string(t));
      if (!diff.empty()) panel.title += "\nDIFF: " + (diff.size() > 60 ? diff.substr(0, 57) + "..." : diff);
      panels.push_back(std::move(panel));
    }
  return panels;
}

}  // namespace

int run_graph_coordcheck(const GraphSpec& spec, const std::vector<PredictedSize>& predicted, const GraphCoordCheckArgs& args,
                         std::ostream& out, std::ostream& err) {
  const bool as_json = args.format == "json";
  auto fail = [&](const std::string& msg) {
    if (as_json) out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
    else err << "tpc coordcheck: error: " << msg << "\n";
    return 1;
  };
  if (args.format != "text" && args.format != "json") return fail("--format must be text or json, not '" + args.format + "'");
  if (args.seeds < 1) return fail("--seeds must be at least 1");
  if (!(args.tolerance >= 0) || !std::isfinite(args.tolerance)) return fail("the tolerance must be a finite number >= 0");
  limits::GraphCoordCheckOptions opt;
  try {
    opt.widths = parse_width_list(args.widths, 65536);
  } catch (const FlagError& e) {
    return fail(e.message);
  }
  opt.seeds = args.seeds;
  opt.threads = args.threads;
  opt.train.memory_budget_bytes = args.budget_gib * 1024.0 * 1024.0 * 1024.0;
  opt.tolerance = args.tolerance;
  // 2. the check
  limits::GraphCoordCheck cc;
  if (const std::string e = check_failure([&] { cc = limits::graph_coordcheck(spec, predicted, opt); }); !e.empty())
    return fail(e);
  const int T = spec.training.steps;
  // 3. the plot
  if (!args.plot.empty()) {
    try {
      std::vector<PlotKey> key;
      const std::vector<PlotPanel> panels = panels_of(cc, T, key);
      write_png(args.plot, panels, T + 1, key);
    } catch (const PlotError& e) {
      return fail(std::string("--plot: ") + e.what());
    }
  }
  // 4. the table
  if (as_json) {
    json rows = json::array(), sv = json::array();
    auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    for (const auto& r : cc.rows)
      rows.push_back({{"node", r.node},
                      {"step", r.step},
                      {"delta", r.delta},
                      {"predicted", r.has_prediction && !r.predicted_vanishes ? json(r.predicted) : json(nullptr)},
                      {"predicted_vanishes", r.predicted_vanishes},
                      {"measured", num(r.measured)},
                      {"measured_vanishes", r.measured_vanishes},
                      {"stderr", num(r.stderr_)},
                      {"agrees", r.agrees},
                      {"size_by_width", r.size_by_width}});
    for (const auto& s : cc.singular)
      sv.push_back({{"matrix", s.matrix}, {"step", s.step}, {"vanishes", s.vanishes}, {"measured", num(s.measured)}, {"stderr", num(s.stderr_)},
                    {"size_by_width", s.size_by_width}});
    out << json{{"ok", true},   {"widths", cc.widths},        {"seeds", cc.seeds},
                {"rows", rows}, {"top_singular_values", sv}, {"unmatched_predictions", cc.unmatched},
                {"disagreements", cc.disagreements}}
               .dump(2)
        << "\n";
    return 0;
  }
  std::size_t name_w = 10;
  for (const auto& r : cc.rows) name_w = std::max(name_w, columns_of(label(r)) + 2);
  for (const auto& s : cc.singular) name_w = std::max(name_w, columns_of(s.matrix) + 2);
  out << "coordinate check: graph of " << spec.nodes.size() << " nodes, S = " << spec.positions << " positions, "
      << optimizer_name(spec.training.optimizer) << " lr " << spec.training.lr << ", " << T << " step" << (T == 1 ? "" : "s")
      << ", " << cc.seeds << " seeds\nsize = RMS over seeds of mean |coordinate| (mup's l1 statistic); exponent e in size ~ n^e; "
         "Δx = x_t - x_0\n\n";
  out << pad("quantity", name_w) << "t  predicted   measured (s.e.)        ";
  for (auto w : cc.widths) out << pad("n=" + std::to_string(w), 11);
  out << "\n";
  for (const auto& r : cc.rows) {
    std::string measured = r.measured_vanishes ? "0 exactly" : fixed(r.measured, 2) + " (" + (std::isnan(r.stderr_) ? "-" : fixed(r.stderr_, 2)) + ")";
    out << pad(label(r), name_w) << r.step << "  " << pad(exponent_text(r.has_prediction, r.predicted_vanishes, r.predicted), 12)
        << pad(measured, 17) << (r.agrees ? "      " : " DIFF ");
    for (double s : r.size_by_width) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%-11.3g", s);
      out << buf;
    }
    out << "\n";
  }
  if (!cc.singular.empty()) {
    out << "\ntop singular value of W = n^-a w (Fan et al. 2025's sublayer gain), fitted exponent in n:\n";
    out << pad("matrix", name_w) << "t  measured (s.e.)        ";
    for (auto w : cc.widths) out << pad("n=" + std::to_string(w), 11);
    out << "\n";
    for (const auto& s : cc.singular) {
      out << pad(s.matrix, name_w) << s.step << "  "
          << pad(s.vanishes ? std::string("0 exactly") : fixed(s.measured, 2) + " (" + (std::isnan(s.stderr_) ? "-" : fixed(s.stderr_, 2)) + ")", 23);
      for (double v : s.size_by_width) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%-11.3g", v);
        out << buf;
      }
      out << "\n";
    }
  }
  for (const auto& u : cc.unmatched) out << "\nwarning: the prediction for " << u << " names no measured quantity";
  if (!cc.unmatched.empty()) out << "\n";
  out << "\n" << (cc.disagreements ? std::to_string(cc.disagreements) + " quantities disagree with the prediction (DIFF)"
                                   : "all predicted exponents agree with the measurement")
      << " (tolerance 3 s.e. + " << fixed(args.tolerance, 2) << "; '-' = no prediction)\n";
  return 0;
}

}  // namespace tp::frontend

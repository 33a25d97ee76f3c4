// Plots through gnuplot (Debian gnuplot-nox): panels of named series written to a PNG. Used by
// `tpc coordcheck --plot` (log-log, one panel per step); general enough for finite-vs-limit plots.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace tp::frontend {

struct PlotSeries {
  std::string name;
  std::vector<double> x, y;
  bool dashed = false;  ///< e.g. a predicted slope
  int color = -1;       ///< gnuplot line type (its colour), −1 = the next one
  bool in_key = true;   ///< false: no legend entry (e.g. a predicted slope drawn in its measurement's colour)
  std::vector<double> error;  ///< when not empty (one per point): a shaded band y ± error under the line
};

struct PlotPanel {
  std::string title, xlabel, ylabel;
  bool logx = false, logy = false;
  std::vector<PlotSeries> series;
  bool key_outside = false;  ///< the legend to the right of the axes (for many series)
  bool integer_x = false;    ///< x is a count (a step): integer tick marks only
};

/// gnuplot is missing or failed; the message says how to install it or what it printed.
struct PlotError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The gnuplot script (data inline) that write_png sends to gnuplot: exposed for tests.
std::string gnuplot_script(const std::string& path, const std::vector<PlotPanel>& panels, int columns);
/// Writes the panels side by side into a PNG at path.
void write_png(const std::string& path, const std::vector<PlotPanel>& panels);
/// Writes the panels into a grid of `columns` columns (row by row; a panel without series leaves its cell empty).
void write_png(const std::string& path, const std::vector<PlotPanel>& panels, int columns);

}  // namespace tp::frontend

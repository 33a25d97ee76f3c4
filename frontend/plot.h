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
  int color = -1;       ///< an index into a palette of 20 colours (and 13 point types), −1 = gnuplot's next
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

/// One entry of a legend shared by all panels (drawn once, below the grid): the name of a colour.
struct PlotKey {
  std::string name;
  int color = 0;        ///< as PlotSeries::color
  bool dashed = false;  ///< drawn as a dashed line without points (e.g. "predicted slope")
};

/// gnuplot is missing or failed; the message says how to install it or what it printed.
struct PlotError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The gnuplot script (data inline) that write_png sends to gnuplot: exposed for tests. With a shared key,
/// the panels carry no legend of their own and the key is drawn once under the grid, in as many columns as
/// fit (for plots with many series, e.g. one line per layer of a graph network).
std::string gnuplot_script(const std::string& path, const std::vector<PlotPanel>& panels, int columns,
                           const std::vector<PlotKey>& shared_key = {});
/// Writes the panels side by side into a PNG at path.
void write_png(const std::string& path, const std::vector<PlotPanel>& panels);
/// Writes the panels into a grid of `columns` columns (row by row; a panel without series leaves its cell empty).
void write_png(const std::string& path, const std::vector<PlotPanel>& panels, int columns,
               const std::vector<PlotKey>& shared_key = {});

}  // namespace tp::frontend

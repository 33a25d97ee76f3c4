// The gnuplot script behind every --plot (issue #13 item 10): integer step ticks, an error band on the limit.
#include <doctest/doctest.h>

#include "frontend/plot.h"

using namespace tp::frontend;

TEST_CASE("plots of f_t over steps have integer ticks and draw the limit's error as a band") {
  PlotPanel steps;
  steps.title = "f_t";
  steps.integer_x = true;
  PlotSeries limit{"infinite-width limit", {0, 1, 2, 3}, {0.0, 0.1, 0.2, 0.3}, true};
  limit.error = {1e-3, 2e-3, 3e-3, 4e-3};
  steps.series.push_back(limit);
  steps.series.push_back({"n = 256", {0, 1, 2, 3}, {0.01, 0.11, 0.19, 0.31}, false});
  const std::string g = gnuplot_script("out.png", {steps}, 1);
  CHECK(g.find("set xtics 1\n") != std::string::npos);
  CHECK(g.find("with filledcurves") != std::string::npos);
  CHECK(g.find("\"infinite-width limit ± error\"") != std::string::npos);
  CHECK(g.find("3 0.29999999999999999 0.0040000000000000001\n") != std::string::npos);  // x y error rows
  // 40 steps: ticks every 4, still whole numbers
  PlotPanel many;
  many.integer_x = true;
  many.series.push_back({"f", {0, 40}, {0, 1}, false});
  CHECK(gnuplot_script("out.png", {many}, 1).find("set xtics 4\n") != std::string::npos);
  // widths: automatic ticks, no band
  PlotPanel widths;
  widths.logx = true;
  widths.series.push_back({"gap", {256, 1024}, {0.02, 0.01}, false});
  const std::string w = gnuplot_script("out.png", {widths}, 1);
  CHECK(w.find("set xtics autofreq\n") != std::string::npos);
  CHECK(w.find("filledcurves") == std::string::npos);
}

TEST_CASE("a shared legend is drawn once (in an empty cell when it fits, else under the grid), colours kept per series") {
  std::vector<PlotPanel> panels(4);
  for (int p = 0; p < 3; ++p) {
    panels[static_cast<std::size_t>(p)].logx = panels[static_cast<std::size_t>(p)].logy = true;
    for (int c = 0; c < 22; ++c)
      panels[static_cast<std::size_t>(p)].series.push_back({"node" + std::to_string(c), {128, 256}, {1, 1.1}, false, c, false});
  }
  std::swap(panels[0], panels[3]);  // cell 0 empty: the legend goes there
  std::vector<PlotKey> key;
  for (int c = 0; c < 22; ++c) key.push_back({"node" + std::to_string(c), c, false});
  key.push_back({"predicted slope", 9, true});
  const std::string g = gnuplot_script("out.png", panels, 2, key);
  CHECK(g.find("set multiplot\nunset key\n") != std::string::npos);
  CHECK(g.find("title \"node21\"") != std::string::npos);        // once, in the key
  CHECK(g.find("title \"node21\"", g.find("title \"node21\"") + 1) == std::string::npos);
  CHECK(g.find("lc rgb \"#0072b2\" pt 1") != std::string::npos);  // colour 0 (and colour 20 wraps to it)
  CHECK(g.find("set origin 0,0.5\n") != std::string::npos);        // the key in the empty top-left cell
  CHECK(g.find("size 940,760 ") != std::string::npos);             // no extra strip under the grid
  // no empty cell: the key goes under the grid, which grows by its rows
  panels[0] = panels[1];
  const std::string h = gnuplot_script("out.png", panels, 2, key);
  CHECK(h.find("size 940,760 ") == std::string::npos);
  CHECK(h.find("set origin 0,0\n") != std::string::npos);
}

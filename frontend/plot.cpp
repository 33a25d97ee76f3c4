// See plot.h. The script and the data (inline "$d<k> << EOD" blocks) go to gnuplot's standard input.
#include "frontend/plot.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <sstream>

namespace tp::frontend {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n') {  // a line break in a title
      out += "\\n";
      continue;
    }
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// 20 distinguishable colours (colour-blind-safe first ten, then lighter and darker variants); a series'
// colour index also picks its point type, so neighbouring colours differ in their marks too.
constexpr const char* kPalette[] = {"#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#000000",
                                    "#f0e442", "#8c564b", "#7f7f7f", "#1f3b73", "#b35806", "#00543c", "#8e0152",
                                    "#6a3d9a", "#a6cee3", "#b2df8a", "#fb9a99", "#fdbf6f", "#cab2d6"};
constexpr int kColors = sizeof kPalette / sizeof kPalette[0];

std::string style_of(int color, bool points) {
  if (color < 0) return "";
  std::string s = " lc rgb \"" + std::string(kPalette[color % kColors]) + "\"";
  if (points) s += " pt " + std::to_string(1 + color % 13) + " ps 1.2";
  return s;
}

}  // namespace

void write_png(const std::string& path, const std::vector<PlotPanel>& panels) {
  write_png(path, panels, static_cast<int>(panels.size()));
}

std::string gnuplot_script(const std::string& path, const std::vector<PlotPanel>& panels, int columns,
                           const std::vector<PlotKey>& shared_key) {
  if (panels.empty()) throw PlotError("nothing to plot");
  columns = std::max(1, std::min(columns, static_cast<int>(panels.size())));
  const int rows = (static_cast<int>(panels.size()) + columns - 1) / columns;
  std::ostringstream g;
  g.precision(17);
  int block = 0;
  for (const auto& panel : panels)
    for (const auto& s : panel.series) {
      g << "$d" << block++ << " << EOD\n";
      for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i)
        if (std::isfinite(s.x[i]) && std::isfinite(s.y[i]) && (!panel.logy || s.y[i] > 0)) {
          g << s.x[i] << " " << s.y[i];
          if (!s.error.empty()) g << " " << (i < s.error.size() && std::isfinite(s.error[i]) ? s.error[i] : 0.0);
          g << "\n";
        }
      g << "EOD\n";
    }
  bool outside = false;
  for (const auto& panel : panels) outside = outside || panel.key_outside;
  const bool shared = !shared_key.empty();
  // With a shared key: cells of 470 x 380 pixels placed by hand. The key goes into the first empty cell if it
  // fits there, else under the grid; rows of 22 pixels, columns as wide as the longest name (about 7 pixels a
  // character at this font, plus the line sample).
  const int cell_w = 470, cell_h = 380, row_px = 22;
  std::size_t longest = 1;
  for (const auto& e : shared_key) longest = std::max(longest, e.name.size());
  const int col_px = 7 * static_cast<int>(longest) + 60;
  int empty_cell = -1;
  for (std::size_t i = 0; i < panels.size() && empty_cell < 0; ++i)
    if (panels[i].series.empty()) empty_cell = static_cast<int>(i);
  const int n_key = static_cast<int>(shared_key.size());
  const int cell_cols = std::max(1, cell_w / col_px), cell_rows = (cell_h - 40) / row_px;
  const bool key_in_cell = shared && empty_cell >= 0 && n_key <= cell_cols * cell_rows;
  const int key_cols = key_in_cell ? cell_cols : std::max(1, cell_w * columns / col_px);
  const int key_rows = shared ? (n_key + key_cols - 1) / key_cols : 0;
  const int key_h = shared && !key_in_cell ? 24 + row_px * key_rows : 0;
  const int width = shared ? cell_w * columns : (outside ? 760 : 520) * columns;
  const int height = shared ? cell_h * rows + key_h : 440 * rows;
  g << "set terminal pngcairo size " << width << "," << height << (shared ? " font ',12'" : "") << " noenhanced\n";
  g << "set output " << quoted(path) << "\n";
  if (shared) g << "set multiplot\nunset key\nset grid\n";
  else g << "set multiplot layout " << rows << "," << columns << "\nset key top left font ',8'\nset grid\n";
  block = 0;
  int cell = -1;
  for (const auto& panel : panels) {
    ++cell;
    if (panel.series.empty()) {
      if (!shared) g << "set multiplot next\n";
      continue;
    }
    if (shared) {
      const int r = cell / columns, c = cell % columns;
      g << "set origin " << static_cast<double>(c * cell_w) / width << ","
        << static_cast<double>(key_h + (rows - 1 - r) * cell_h) / height << "\nset size "
        << static_cast<double>(cell_w) / width << "," << static_cast<double>(cell_h) / height << "\n";
    } else {
      g << (panel.key_outside ? "set key outside right top font ',8'\n" : "set key inside top left font ',8'\n");
    }
    g << (panel.logx ? "set logscale x 2\n" : "unset logscale x\n");
    g << (panel.logy ? "set logscale y\n" : "unset logscale y\n");
    if (panel.integer_x) {  // ticks at whole numbers, at most about ten of them
      double xmax = 1;
      for (const auto& s : panel.series)
        for (double x : s.x)
          if (std::isfinite(x)) xmax = std::max(xmax, x);
      g << "set xtics " << std::max(1.0, std::ceil(xmax / 10)) << "\n";
    } else {
      g << "set xtics autofreq\n";
    }
    g << "set title " << quoted(panel.title) << "\nset xlabel " << quoted(panel.xlabel) << "\nset ylabel "
      << quoted(panel.ylabel) << "\nplot ";
    for (std::size_t k = 0; k < panel.series.size(); ++k) {
      const auto& s = panel.series[k];
      if (!s.error.empty()) {  // the band first, so the line is drawn over it
        g << (k ? ", " : "") << "$d" << block << " using 1:($2-$3):($2+$3) with filledcurves fs transparent solid 0.25 noborder";
        if (s.color >= 0) g << " lt " << s.color + 1;
        g << " title " << quoted(s.name + " ± error");
      }
      g << (k || !s.error.empty() ? ", " : "") << "$d" << block++ << " using 1:2 with " << (s.dashed ? "lines dt 2" : "linespoints");
      g << style_of(s.color, !s.dashed);
      g << " lw 2 " << (s.in_key && !shared ? "title " + quoted(s.name) : std::string("notitle"));
    }
    g << "\n";
  }
  if (shared) {  // the key: an empty plot whose only content is its legend
    if (key_in_cell) {
      const int r = empty_cell / columns, c = empty_cell % columns;
      g << "set origin " << static_cast<double>(c * cell_w) / width << ","
        << static_cast<double>((rows - 1 - r) * cell_h) / height << "\nset size " << static_cast<double>(cell_w) / width
        << "," << static_cast<double>(cell_h) / height << "\n";
    } else {
      g << "set origin 0,0\nset size 1," << static_cast<double>(key_h) / height << "\n";
    }
    g << "unset border\nunset tics\nunset grid\nunset title\nunset xlabel\nunset ylabel\nunset logscale\n";
    g << "set lmargin 5\nset rmargin 1\nset tmargin 1\nset bmargin 1\nset xrange [0:1]\nset yrange [0:1]\n";
    g << "set key left center vertical maxrows " << key_rows << " Left reverse samplen 2 width -3\nplot ";
    for (std::size_t k = 0; k < shared_key.size(); ++k) {
      const auto& e = shared_key[k];
      g << (k ? ", " : "") << "NaN with " << (e.dashed ? "lines dt 2" : "linespoints") << style_of(e.color, !e.dashed)
        << " lw 2 title " << quoted(e.name);
    }
    g << "\n";
  }
  g << "unset multiplot\n";
  return g.str();
}

void write_png(const std::string& path, const std::vector<PlotPanel>& panels, int columns,
               const std::vector<PlotKey>& shared_key) {
  const std::string script = gnuplot_script(path, panels, columns, shared_key);
  if (std::system("command -v gnuplot > /dev/null 2>&1") != 0)
    throw PlotError("gnuplot is not installed; install it with 'apt-get install gnuplot-nox' (scripts/install-deps.sh does)");
  if (FILE* probe = std::fopen(path.c_str(), "wb")) {
    std::fclose(probe);
  } else {
    throw PlotError("cannot write the plot '" + path + "': " + std::strerror(errno));
  }
  FILE* pipe = ::popen("gnuplot", "w");  // gnuplot's own messages go to our stderr
  if (!pipe) throw PlotError("cannot start gnuplot");
  std::fwrite(script.data(), 1, script.size(), pipe);
  const int status = ::pclose(pipe);
  if (status != 0) throw PlotError("gnuplot failed writing '" + path + "' (see its messages above)");
}

}  // namespace tp::frontend

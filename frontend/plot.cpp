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
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void write_png(const std::string& path, const std::vector<PlotPanel>& panels) {
  write_png(path, panels, static_cast<int>(panels.size()));
}

std::string gnuplot_script(const std::string& path, const std::vector<PlotPanel>& panels, int columns) {
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
  g << "set terminal pngcairo size " << (outside ? 760 : 520) * columns << "," << 440 * rows << " noenhanced\n";
  g << "set output " << quoted(path) << "\n";
  g << "set multiplot layout " << rows << "," << columns << "\n";
  g << "set key top left font ',8'\nset grid\n";
  block = 0;
  for (const auto& panel : panels) {
    if (panel.series.empty()) {
      g << "set multiplot next\n";
      continue;
    }
    g << (panel.key_outside ? "set key outside right top font ',8'\n" : "set key inside top left font ',8'\n");
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
      if (s.color >= 0) g << " lt " << s.color + 1;
      g << " lw 2 " << (s.in_key ? "title " + quoted(s.name) : std::string("notitle"));
    }
    g << "\n";
  }
  g << "unset multiplot\n";
  return g.str();
}

void write_png(const std::string& path, const std::vector<PlotPanel>& panels, int columns) {
  const std::string script = gnuplot_script(path, panels, columns);
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

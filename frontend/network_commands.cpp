// See network_commands.h.
#include "frontend/network_commands.h"

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "frontend/number_format.h"
#include "frontend/plot.h"
#include "frontend/progress.h"
#include "frontend/source_loader.h"
#include "frontend/work_estimate.h"
#include "limits/coordcheck.h"
#include "limits/distributed.h"
#include "limits/finite.h"
#include "limits/statistics.h"
#include "tp/errors.h"
#include "tp/unroll.h"

namespace tp::frontend {

using nlohmann::json;

bool file_is_network_script(const std::string& path) {
  std::string problem;
  auto loaded = load_source(path, problem);
  return loaded && is_network_script(loaded->text);
}

std::optional<NetworkScript> load_network_script(const std::string& path, bool as_json, std::ostream& out,
                                                 std::ostream& err, FreeExponents free) {
  std::string problem;
  auto file = load_source(path, problem);
  if (!file) {
    if (as_json) out << json{{"ok", false}, {"error", problem}}.dump(2) << "\n";
    else err << "tpc: error: " << problem << "\n";
    return std::nullopt;
  }
  DiagnosticEngine diags;
  auto script = compile_network(file->text, std::filesystem::path(path).parent_path().string(), diags, free);
  if (script) return script;
  if (as_json) {
    out << json{{"ok", false}, {"diagnostics", diagnostics_json(diags.diagnostics(), *file)}}.dump(2) << "\n";
  } else {
    err << render(diags.diagnostics(), *file);
    err << diags.error_count() << " error" << (diags.error_count() == 1 ? "" : "s") << " in " << file->name << "\n";
  }
  return std::nullopt;
}

std::vector<std::string> point_labels(const NetworkSpec& s) {
  std::vector<std::string> out;
  auto add = [&](const std::string& base) {
    if (s.output_dim == 1) out.push_back(base);
    else
      for (int k = 0; k < s.output_dim; ++k) out.push_back(base + "[" + std::to_string(k + 1) + "]");
  };
  for (Eigen::Index i = 0; i < s.train_x.rows(); ++i) add("train" + std::to_string(i + 1));
  for (Eigen::Index i = 0; i < s.eval_x.rows(); ++i) add("eval" + std::to_string(i + 1));
  return out;
}

namespace {

std::string describe(const NetworkSpec& s) {
  std::string d = "L = " + std::to_string(s.depth) + " MLP " + std::to_string(s.input_dim) + " → n";
  for (int l = 1; l < s.depth; ++l) d += " → n";
  d += " → " + std::to_string(s.output_dim) + ", φ = " + s.activation_text + ", " + s.abc.name + " (" +
       std::string(optimizer_name(s.abc.optimizer)) + ", lr " + format_number(s.lr) + "), " +
       std::to_string(s.steps) + " steps on " + std::to_string(s.train_x.rows()) + " training points";
  return d;
}

int fail(const NetworkRunOptions& o, const std::string& what, const std::string& msg, std::ostream& out, std::ostream& err) {
  if (o.json) out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
  else err << "tpc " << what << ": error: " << msg << "\n";
  return 1;
}

/// Text tables wider than this are printed in blocks of columns (limit) or wrapped lines (compare).
constexpr std::size_t max_table_width = 100;

json estimate_json(const limits::Estimate& e) { return {{"value", e.value}, {"error", e.error}}; }

/// What the printed ± means on the route the limit took (README, "What the printed error means").
std::string error_meaning(const limits::NetworkLimit& lim, const limits::NetworkLimitOptions& o) {
  switch (lim.route) {
    case limits::LimitRoute::monte_carlo:
      return "one standard error over " + std::to_string(o.replicas) + " independent replicas of " +
             std::to_string(o.particles) + " particles (" + std::to_string(o.replicas - 1) + " degrees of freedom; " +
             (o.sampling == "sobol" ? "scrambled Sobol points" : "pseudo-random points") +
             (o.jackknife ? "); the O(1/particles) bias is removed by the two-half jackknife in every replica"
                          : "); the O(1/particles) bias of the particle estimates is not included (--no-jackknife)");
    case limits::LimitRoute::quadrature:
      return "the change between the last two trapezoidal grids plus a rounding allowance (an estimate; target 1e-10)";
    case limits::LimitRoute::exact: return "rounding only (exact rational arithmetic: 0)";
    case limits::LimitRoute::kernel:
      return "mse: the largest change of kernel gradient descent with every kernel entry moved by ± its error; "
             "cross-entropy: the Monte Carlo standard error over draws of f_0 (when f_0 is a nonzero Gaussian process)";
    case limits::LimitRoute::automatic: break;
  }
  return "";
}

// Item 7 of issue 12: the time the work will take, before it starts. Printed on stderr when it is 5 s or
// more (or progress is on); with --estimate it is the whole output. Returns true when the command stops here.
bool report_estimate(const std::string& command, const std::vector<WorkEstimate>& parts, const NetworkRunOptions& o,
                     std::ostream& out, std::ostream& err) {
  double total = 0;
  bool bound = false;
  for (const auto& p : parts) total += p.seconds, bound = bound || p.upper_bound;
  const WorkEstimate sum{total, bound, ""};
  if (o.estimate_only) {
    if (o.json) {
      json j = json::array();
      for (const auto& p : parts) j.push_back({{"work", p.what}, {"seconds", p.seconds}, {"upper_bound", p.upper_bound}});
      out << json{{"ok", true}, {"estimate", j}, {"seconds", total}}.dump(2) << "\n";
    } else {
      for (const auto& p : parts) out << p.what << ": " << duration_text(p) << "\n";
      out << "total: " << duration_text(sum) << " (rough: paces measured on one idle core, from op counts)\n";
    }
    return true;
  }
  if (total >= 5 || o.progress) {
    err << "tpc " << command << ": estimate: " << duration_text(sum) << " (";
    for (std::size_t i = 0; i < parts.size(); ++i) err << (i ? "; " : "") << parts[i].what << ": " << duration_text(parts[i]);
    err << "; rough, from op counts)\n" << std::flush;
  }
  return false;
}

}  // namespace

int run_network_limit(const NetworkSpec& s, const NetworkRunOptions& o, std::ostream& out, std::ostream& err) {
  try {
    if (const auto e = network_limit_estimate(s, o.limit); e && report_estimate("limit", {*e}, o, out, err)) return 0;
  } catch (const std::exception& e) {
    return fail(o, "limit", e.what(), out, err);
  }
  limits::NetworkLimit lim;
  try {
    lim = limits::network_limit(s, o.limit);
  } catch (const limits::LimitUnavailable& e) {
    return fail(o, "limit", e.what(), out, err);
  } catch (const std::exception& e) {
    return fail(o, "limit", e.what(), out, err);
  }
  const auto labels = point_labels(s);
  if (o.json) {
    json f = json::array();
    for (const auto& row : lim.f) {
      json r = json::array();
      for (const auto& e : row) r.push_back(estimate_json(e));
      f.push_back(r);
    }
    out << json{{"ok", true},
                {"network", describe(s)},
                {"route", std::string(limits::limit_route_name(lim.route))},
                {"reason", lim.reason},
                {"warnings", lim.warnings},
                {"error_meaning", error_meaning(lim, o.limit)},
                {"regime", std::string(regime_name(lim.phase.regime))},
                {"points", labels},
                {"f", f}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << (o.title.empty() ? "" : o.title + ": ") << describe(s) << "\n";
  out << "phase: " << regime_name(lim.phase.regime) << " (r = " << to_string(lim.phase.r) << ")\n";
  out << "route: " << limits::limit_route_name(lim.route) << (lim.reason.empty() ? "" : " — " + lim.reason) << "\n";
  out << "error: " << error_meaning(lim, o.limit) << "\n";
  out << "infinite-width f_t (value ± error):\n";
  std::vector<std::vector<std::string>> cells;
  std::vector<std::size_t> width(labels.size() + 1, 4);
  for (std::size_t t = 0; t < lim.f.size(); ++t) {
    cells.emplace_back();
    cells.back().push_back(std::to_string(t));
    for (const auto& e : lim.f[t]) cells.back().push_back(format_with_error(e.value, e.error));
  }
  std::vector<std::string> head{"step"};
  head.insert(head.end(), labels.begin(), labels.end());
  for (std::size_t c = 0; c < head.size(); ++c) {
    width[c] = std::max(width[c], head[c].size());
    for (const auto& r : cells) width[c] = std::max(width[c], r[c].size());
  }
  // Wide tables (many points, or d_o outputs per point) are printed in blocks of columns that fit in
  // max_table_width characters, each block repeating the step column.
  std::size_t first = 1;
  while (first < head.size()) {
    std::size_t last = first, used = width[0] + 2 + width[first];
    while (last + 1 < head.size() && used + 2 + width[last + 1] <= max_table_width) used += 2 + width[++last];
    if (first > 1) out << "\n";
    auto print_row = [&](const std::vector<std::string>& r) {
      std::string line = r[0] + std::string(width[0] - r[0].size(), ' ');
      for (std::size_t c = first; c <= last; ++c) line += "  " + r[c] + std::string(width[c] - r[c].size(), ' ');
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << line << "\n";
    };
    print_row(head);
    for (const auto& r : cells) print_row(r);
    first = last + 1;
  }
  for (const auto& w : lim.warnings) err << "tpc limit: warning: " << w << "\n";
  return 0;
}

int run_network_compare(const NetworkSpec& s, const NetworkRunOptions& o, std::ostream& out, std::ostream& err) {
  // 1. The unrolled program for the finite widths, and every width's memory checked before any work.
  const std::size_t W = o.widths.size(), S = static_cast<std::size_t>(o.seeds);
  auto finite_options = [&](std::size_t wi) {
    limits::FiniteOptions fo;
    fo.width = o.widths[wi];
    fo.seeds.clear();
    for (std::size_t k = 0; k < S; ++k) fo.seeds.push_back(k);
    fo.threads = o.limit.threads;
    fo.memory_budget_bytes = o.limit.memory_budget_bytes;
    return fo;
  };
  if (const std::string why = limits::optimizer_limit_unavailable(s); !why.empty())
    return fail(o, "compare", "it compares finite widths with the infinite-width limit, and there is " + why, out, err);
  UnrolledProgram up;
  try {
    UnrollOptions uo;
    uo.memory_budget_bytes = o.limit.memory_budget_bytes;
    uo.budget_flag = "--memory-budget";
    if (unroll_memory_estimate(s) > uo.memory_budget_bytes) (void)unroll(s, uo);  // refused with the figure
    // 1b. the time it will take (the limit's route and the finite widths), before building anything large
    std::vector<WorkEstimate> parts;
    if (const auto e = network_limit_estimate(s, o.limit)) parts.push_back(*e);
    parts.push_back(finite_runs_estimate(s, o.widths, o.seeds, o.limit.threads));
    if (report_estimate("compare", parts, o, out, err)) return 0;
    up = unroll(s, uo);
    for (std::size_t wi = 0; wi < W; ++wi) limits::check_finite_budget(up.program, finite_options(wi));
  } catch (const std::exception& e) {
    return fail(o, "compare", e.what(), out, err);
  }
  // 2. The limit (absent for an unstable parametrization: the finite widths still run and show the blow-up).
  std::optional<limits::NetworkLimit> lim;
  std::string no_limit;
  try {
    limits::NetworkLimitOptions lo = o.limit;
    if (o.progress) {
      lo.progress = progress_reporter(err, "limit: Monte Carlo replica");
      lo.quadrature_progress = progress_reporter(err, "limit: quadrature, particle steps");
      lo.kernel_progress = progress_reporter(err, "limit: kernel gradient descent, stage");
    }
    lim = limits::network_limit(s, lo);
  } catch (const limits::LimitUnavailable& e) {
    no_limit = e.what();
  } catch (const std::exception& e) {
    return fail(o, "compare", e.what(), out, err);
  }
  // 3. Finite widths: the unrolled program on the executor, every seed.
  const int T = s.steps;
  const std::size_t P = static_cast<std::size_t>(s.train_x.rows() + s.eval_x.rows()) * static_cast<std::size_t>(s.output_dim);
  // f[w][seed][t][p]
  std::vector<std::vector<std::vector<std::vector<double>>>> f(W);
  std::vector<std::string> blowup(W);
  for (std::size_t wi = 0; wi < W; ++wi) {
    limits::FiniteOptions fo = finite_options(wi);
    if (o.progress) fo.progress = progress_reporter(err, "width n = " + std::to_string(o.widths[wi]) + ": seed");
    try {
      const limits::FiniteResult fr = limits::run_finite(up.program, fo);
      f[wi].assign(S, std::vector<std::vector<double>>(static_cast<std::size_t>(T) + 1, std::vector<double>(P)));
      for (std::size_t q = 0; q < up.outputs.size(); ++q) {
        const auto& u = up.outputs[q];
        if (u.kind != UnrolledOutput::Kind::f) continue;
        const std::size_t p = flat_f_index(u, s);
        for (std::size_t k = 0; k < S; ++k) f[wi][k][static_cast<std::size_t>(u.step)][p] = fr.per_seed[k].values[q];
      }
    } catch (const NumericalError& e) {
      blowup[wi] = e.what();
    } catch (const BudgetError& e) {
      return fail(o, "compare", e.what(), out, err);
    }
  }
  // 4. Per width: mean ± s.e. of f_T per point, |mean − limit|, and the RMS over seeds and points of f_T − limit.
  const auto labels = point_labels(s);
  std::vector<std::vector<limits::Estimate>> mean(W);
  std::vector<std::vector<double>> dev(W, std::vector<double>(S, 0.0));
  std::vector<std::size_t> fit_widths;
  std::vector<std::vector<double>> fit_dev;
  for (std::size_t wi = 0; wi < W; ++wi) {
    if (!blowup[wi].empty()) continue;
    for (std::size_t p = 0; p < P; ++p) {
      std::vector<double> xs;
      for (std::size_t k = 0; k < S; ++k) xs.push_back(f[wi][k][static_cast<std::size_t>(T)][p]);
      mean[wi].push_back(limits::mean_with_error(xs, limits::Route::finite_width));
    }
    if (lim) {
      for (std::size_t k = 0; k < S; ++k) {
        double ss = 0;
        for (std::size_t p = 0; p < P; ++p) ss += std::pow(f[wi][k][static_cast<std::size_t>(T)][p] - lim->f[static_cast<std::size_t>(T)][p].value, 2);
        dev[wi][k] = std::sqrt(ss / static_cast<double>(P));
      }
      fit_widths.push_back(o.widths[wi]);
      fit_dev.push_back(dev[wi]);
    }
  }
  // Without a limit (unstable), the growth of f is the finding: the largest |f_t| over seeds and points per
  // step, and the first step where it exceeds 1e6 (1 + max |y|) (a blow-up; later values may even return to
  // 0 when every relu unit dies, which is why the step is reported).
  std::vector<std::vector<double>> max_abs(W, std::vector<double>(static_cast<std::size_t>(T) + 1, 0.0));
  std::vector<int> blowup_step(W, -1);
  const double threshold = 1e6 * (1.0 + (s.train_y.size() ? s.train_y.cwiseAbs().maxCoeff() : 0.0));
  for (std::size_t wi = 0; wi < W; ++wi) {
    if (!blowup[wi].empty()) continue;
    for (int t = 0; t <= T; ++t) {
      for (std::size_t k = 0; k < S; ++k)
        for (std::size_t p = 0; p < P; ++p)
          max_abs[wi][static_cast<std::size_t>(t)] = std::max(max_abs[wi][static_cast<std::size_t>(t)], std::abs(f[wi][k][static_cast<std::size_t>(t)][p]));
      if (blowup_step[wi] < 0 && max_abs[wi][static_cast<std::size_t>(t)] > threshold) blowup_step[wi] = t;
    }
  }
  const bool kernel = lim && lim->route == limits::LimitRoute::kernel;
  double slope = std::nan(""), slope_se = std::nan("");
  std::vector<double> rms_dev;
  if (lim && fit_widths.size() >= 2 && !kernel) std::tie(slope, slope_se) = limits::fit_exponent(fit_widths, fit_dev, rms_dev);
  // 5. Plot: f_t at the first point per width with the limit; distance vs width (under mpirun: rank 0 only).
  if (!o.plot.empty() && limits::process_rank() == 0) {
    std::vector<PlotPanel> panels(lim && !rms_dev.empty() ? 2 : 1);
    panels[0].title = "f_t(" + labels[0] + ") during training";
    panels[0].xlabel = "step t";
    panels[0].integer_x = true;
    panels[0].ylabel = "f_t";
    std::vector<double> ts;
    for (int t = 0; t <= T; ++t) ts.push_back(t);
    for (std::size_t wi = 0; wi < W; ++wi) {
      if (!blowup[wi].empty()) continue;
      std::vector<double> ys;
      for (int t = 0; t <= T; ++t) {
        double sum = 0;
        for (std::size_t k = 0; k < S; ++k) sum += f[wi][k][static_cast<std::size_t>(t)][0];
        ys.push_back(sum / static_cast<double>(S));
      }
      panels[0].series.push_back({"n = " + std::to_string(o.widths[wi]) + " (mean of " + std::to_string(S) + " seeds)", ts, ys, false});
    }
    if (lim) {
      std::vector<double> lv, le;
      for (int t = 0; t <= T; ++t) {
        lv.push_back(lim->f[static_cast<std::size_t>(t)][0].value);
        le.push_back(lim->f[static_cast<std::size_t>(t)][0].error);
      }
      PlotSeries limit_series{"infinite-width limit", ts, lv, true};
      limit_series.error = le;
      panels[0].series.push_back(std::move(limit_series));
    }
    if (panels.size() == 2) {
      panels[1].title = "distance to the limit at step " + std::to_string(T);
      panels[1].xlabel = "width n";
      panels[1].ylabel = "RMS over seeds and points of f_T - limit";
      panels[1].logx = panels[1].logy = true;
      std::vector<double> xs(fit_widths.begin(), fit_widths.end()), ref;
      for (double x : xs) ref.push_back(rms_dev.back() * std::sqrt(xs.back() / x));
      char label[64];
      std::snprintf(label, sizeof label, "measured (fit n^%.2f)", slope);
      panels[1].series.push_back({label, xs, rms_dev, false});
      panels[1].series.push_back({"n^-1/2", xs, ref, true});
    }
    try {
      write_png(o.plot, panels);
    } catch (const PlotError& e) {
      return fail(o, "compare", std::string("--plot: ") + e.what(), out, err);
    }
  }
  // 6. Print.
  if (o.json) {
    json rows = json::array();
    for (std::size_t wi = 0; wi < W; ++wi) {
      json row{{"width", o.widths[wi]}};
      if (!blowup[wi].empty()) {
        row["diverged"] = blowup[wi];
      } else {
        row["max_abs_f_by_step"] = max_abs[wi];
        if (blowup_step[wi] >= 0) row["blowup_step"] = blowup_step[wi];
        json fs = json::array();
        for (std::size_t p = 0; p < P; ++p) {
          json e{{"mean", mean[wi][p].value}, {"stderr", mean[wi][p].error}};
          if (lim) e["distance"] = std::abs(mean[wi][p].value - lim->f[static_cast<std::size_t>(T)][p].value);
          fs.push_back(e);
        }
        row["f_T"] = fs;
        if (lim && !kernel) {
          double ss = 0;
          for (double d : dev[wi]) ss += d * d;
          row["rms_deviation"] = std::sqrt(ss / static_cast<double>(S));
        }
      }
      rows.push_back(row);
    }
    // the training data (drawn at random for --mlp) so a run can be reproduced and checked elsewhere
    auto rows_of = [](const Eigen::MatrixXd& m) {
      json a = json::array();
      for (Eigen::Index i = 0; i < m.rows(); ++i) {
        json r = json::array();
        for (Eigen::Index c = 0; c < m.cols(); ++c) r.push_back(m(i, c));
        a.push_back(r);
      }
      return a;
    };
    json j{{"ok", true}, {"network", describe(s)}, {"steps", T}, {"points", labels}, {"widths", rows},
           {"data", {{"x", rows_of(s.train_x)}, {"y", rows_of(s.train_y)}, {"eval", rows_of(s.eval_x)}}}};
    if (lim) {
      json lf = json::array();
      for (const auto& row : lim->f) {
        json r = json::array();
        for (const auto& e : row) r.push_back(estimate_json(e));
        lf.push_back(r);
      }
      j["limit_route"] = std::string(limits::limit_route_name(lim->route));
      j["limit_warnings"] = lim->warnings;
      j["limit_f"] = lf;
      if (!std::isnan(slope)) {
        j["convergence_exponent"] = slope;
        j["convergence_exponent_stderr"] = slope_se;
      }
    } else {
      j["limit_unavailable"] = no_limit;
    }
    out << j.dump(2) << "\n";
    return 0;
  }
  out << (o.title.empty() ? "" : o.title + ": ") << describe(s) << ", " << S << " seeds per width\n";
  if (lim) {
    out << "limit (route " << limits::limit_route_name(lim->route) << (lim->reason.empty() ? "" : ": " + lim->reason)
        << ") of f_" << T << ":\n";
    for (std::size_t p = 0; p < P; ++p)
      out << "  " << labels[p] << " " << format_with_error(lim->f[static_cast<std::size_t>(T)][p].value, lim->f[static_cast<std::size_t>(T)][p].error) << "\n";
    for (const auto& w : lim->warnings) err << "tpc compare: warning: " << w << "\n";
  } else {
    out << "no infinite-width limit: " << no_limit << "\n";
  }
  out << "\nfinite width, mean ± s.e. over seeds of f_" << T
      << (lim ? " (|mean − limit| in units of the combined standard error)" : "") << ":\n";
  for (std::size_t wi = 0; wi < W; ++wi) {
    const std::string lead = "n = " + std::to_string(o.widths[wi]) + ":";
    out << lead;
    if (!blowup[wi].empty()) {
      out << "  diverged: " << blowup[wi] << "\n";
      continue;
    }
    // entries wrap at max_table_width; a wrapped line starts under the first entry, and every entry of a
    // table with more than 4 points carries its point label
    std::size_t used = lead.size();
    for (std::size_t p = 0; p < P; ++p) {
      std::string entry = (P > 4 ? labels[p] + " " : "") + format_with_error(mean[wi][p].value, mean[wi][p].error);
      if (lim && mean[wi][p].error > 0) {
        const limits::Estimate& l = lim->f[static_cast<std::size_t>(T)][p];
        char buf[32];
        std::snprintf(buf, sizeof buf, " (%.1f)", std::abs(mean[wi][p].value - l.value) / std::hypot(mean[wi][p].error, l.error));
        entry += buf;
      }
      if (p > 0 && used + 2 + entry.size() > max_table_width) {
        out << "\n" << std::string(lead.size(), ' ');
        used = lead.size();
      }
      out << "  " << entry;
      used += 2 + entry.size();
    }
    out << "\n";
  }
  if (!lim) {
    out << "\nlargest |f_t| over seeds and points, by step t = 0.." << T << ":\n";
    for (std::size_t wi = 0; wi < W; ++wi) {
      if (!blowup[wi].empty()) continue;
      out << "n = " << o.widths[wi] << ":";
      for (double v : max_abs[wi]) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "  %.3g", v);
        out << buf;
      }
      if (blowup_step[wi] >= 0) out << "   blow-up at step " << blowup_step[wi];
      out << "\n";
    }
  }
  if (!std::isnan(slope)) {
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "\nconvergence: RMS over seeds and points of f_T − limit ~ n^%.3f ± %.3f (jackknife over seeds); "
                  "expected n^-0.5\n",
                  slope, slope_se);
    out << buf;
  } else if (kernel) {
    out << "\nconvergence: in the kernel regime f_0 is a Gaussian process, so single runs do not approach the limit; "
           "the limit is the mean over that process, and the means above approach it\n";
  }
  return 0;
}

}  // namespace tp::frontend

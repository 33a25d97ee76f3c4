// See compare_command.h. Steps: 1. flags → parametrization (must be µP-equivalent with L = 1), activation,
// data; 2. the limit (limits/mup1_limit.h); 3. every (width, seed) trained in parallel (limits/mlp_train.h);
// 4. per width the mean ± s.e. of f_T(ξ_i), |mean − limit|, and the RMS over seeds and inputs of
// f_T − limit, whose width exponent is fitted (expected −1/2: fluctuations of the finite network);
// 5. print, and plot on request.
#include "frontend/compare_command.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "frontend/activation.h"
#include "frontend/number_format.h"
#include "frontend/plot.h"
#include "limits/coordcheck.h"
#include "limits/linear1_exact.h"
#include "limits/mup1_limit.h"
#include "limits/parallel.h"
#include "limits/statistics.h"
#include "tp/errors.h"

namespace tp::frontend {

namespace {

using nlohmann::json;


// θ with shift(p, −θ) == µP, if p is µP up to TP4 Eq. 5.
bool mup_equivalent(const AbcParametrization& p) {
  if (p.depth() != 1) return false;
  const Rational theta = p.a[0] - Rational(-1, 2);
  const AbcParametrization q = shift(p, -theta);
  const AbcParametrization m = preset("mup", 1);
  return q.a == m.a && q.b == m.b && q.c == m.c;
}

}  // namespace

CLI::App* add_compare_command(CLI::App& app, CompareArgs& args) {
  auto* sub = app.add_subcommand("compare",
                                 "train the finite network at several widths and compare f_t with the infinite-width "
                                 "limit (one-hidden-layer muP, TP4 Thm 6.1): distances and the fitted convergence rate");
  add_parametrization_flags(sub, args.abc);
  sub->add_option("--act", args.act, "activation: a name (tanh, relu, ...) or an expression in x")->default_val("tanh");
  sub->add_option("--widths", args.widths, "comma-separated increasing widths")->default_val("256,1024,4096");
  sub->add_option("--seeds", args.seeds, "seeds per width")->check(CLI::Range(2, 100000))->default_val(16);
  sub->add_option("--steps", args.steps, "full-batch SGD steps T")->check(CLI::Range(1, 10000))->default_val(3);
  sub->add_option("--lr", args.lr, "learning rate eta")->check(CLI::PositiveNumber)->default_val(0.5);
  sub->add_option("--inputs", args.inputs, "training inputs m (random, fixed)")->check(CLI::Range(1, 1000))->default_val(4);
  sub->add_option("--dim", args.dim, "input dimension d (quadrature limit when d + 1 <= 4, Monte Carlo above)")
      ->check(CLI::Range(1, 1000))
      ->default_val(2);
  sub->add_option("--threads", args.threads, "worker threads (0 = all cores)")->default_val(0);
  sub->add_option("--plot", args.plot, "write a PNG: f_t(xi_0) per step per width with the limit, and distance vs width");
  sub->add_option("--format", args.abc.format, "output format: text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->default_val("text");
  return sub;
}

int run_compare_command(const CompareArgs& args, std::ostream& out, std::ostream& err) {
  const bool as_json = args.abc.format == "json";
  auto fail = [&](const std::string& msg) {
    if (as_json) out << json{{"ok", false}, {"error", msg}}.dump(2) << "\n";
    else err << "tpc compare: error: " << msg << "\n";
    return 1;
  };
  // 1.
  limits::MlpTraining spec;
  std::vector<std::size_t> widths;
  try {
    spec.abc = parametrization_from_flags(args.abc);
    widths = parse_width_list(args.widths, 1 << 20);
  } catch (const FlagError& e) {
    return fail(e.message);
  }
  if (!mup_equivalent(spec.abc)) {
    const MlpPhase ph = classify_mlp(spec.abc);
    return fail("the limit of this network is not available yet: tpc compare computes the infinite-width limit of "
                "one-hidden-layer muP (TP4 Thm 6.1) and its Eq. 5 equivalents (e.g. --preset mfp); this one is L = " +
                std::to_string(spec.abc.depth()) + ", regime " + std::string(regime_name(ph.regime)) +
                (ph.stable ? "" : " (unstable: the limit does not exist; 'tpc coordcheck' shows the blow-up)") +
                (ph.regime == Regime::kernel ? "; kernel-regime limits are given by 'tpc kernel'" : ""));
  }
  std::string problem;
  spec.activation = parse_activation(args.act, problem);
  if (!spec.activation) return fail("--act: " + problem);
  spec.lr = args.lr;
  spec.steps = args.steps;
  limits::default_data(args.inputs, args.dim, spec.inputs, spec.targets);
  // 2-3.
  limits::Mup1Limit lim;
  const std::size_t W = widths.size(), S = static_cast<std::size_t>(args.seeds);
  std::vector<limits::MlpTrace> traces(W * S);
  try {
    if (equal(spec.activation, argument(0))) {
      // linear network: the exact width-(d+1) representation in rational arithmetic (every double is a rational)
      std::vector<std::vector<Rational>> xs(spec.inputs.rows());
      std::vector<Rational> ys;
      for (Eigen::Index i = 0; i < spec.inputs.rows(); ++i) {
        for (Eigen::Index k = 0; k < spec.inputs.cols(); ++k) xs[i].push_back(Rational(spec.inputs(i, k)));
        ys.push_back(Rational(spec.targets(i)));
      }
      const auto exact = limits::linear1_exact(xs, ys, Rational(spec.lr), spec.steps);
      lim.route = limits::Route::exact;
      for (const auto& row : exact) {
        lim.f.emplace_back();
        for (const auto& v : row) {
          const double x = static_cast<double>(v);
          lim.f.back().push_back({x, std::abs(x) * 1.2e-16, limits::Route::exact});  // rounding to double only
        }
      }
    } else {
      lim = limits::mup1_limit(spec.activation, spec.lr, spec.inputs, spec.targets, spec.steps);
    }
    limits::parallel_for(W * S, args.threads, [&](std::size_t k) {
      traces[k] = limits::train_mlp(spec, widths[k / S], static_cast<std::uint64_t>(k % S));
    });
  } catch (const NumericalError& e) {
    return fail(e.what());
  } catch (const BudgetError& e) {
    return fail(e.what());
  }
  // 4.
  const int T = spec.steps;
  const Eigen::Index m = spec.inputs.rows();
  std::vector<std::vector<limits::Estimate>> mean(W, std::vector<limits::Estimate>(m));
  std::vector<std::vector<double>> dev(W, std::vector<double>(S));
  for (std::size_t wi = 0; wi < W; ++wi) {
    for (Eigen::Index i = 0; i < m; ++i) {
      std::vector<double> xs;
      for (std::size_t s = 0; s < S; ++s) xs.push_back(traces[wi * S + s].f_all[T][i]);
      mean[wi][i] = limits::mean_with_error(xs, limits::Route::finite_width);
    }
    for (std::size_t s = 0; s < S; ++s) {
      double ss = 0;
      for (Eigen::Index i = 0; i < m; ++i) ss += std::pow(traces[wi * S + s].f_all[T][i] - lim.f[T][i].value, 2);
      dev[wi][s] = std::sqrt(ss / static_cast<double>(m));
    }
  }
  std::vector<double> rms_dev;
  const auto [slope, slope_se] = limits::fit_exponent(widths, dev, rms_dev);
  // 5.
  if (!args.plot.empty()) {
    std::vector<PlotPanel> panels(2);
    panels[0].title = "f_t(xi_0) during training";
    panels[0].xlabel = "step t";
    panels[0].ylabel = "f_t(xi_0)";
    std::vector<double> ts, lv;
    for (int t = 0; t <= T; ++t) {
      ts.push_back(t);
      lv.push_back(lim.f[t][0].value);
    }
    for (std::size_t wi = 0; wi < W; ++wi) {
      std::vector<double> ys;
      for (int t = 0; t <= T; ++t) {
        double sum = 0;
        for (std::size_t s = 0; s < S; ++s) sum += traces[wi * S + s].f_all[t][0];
        ys.push_back(sum / static_cast<double>(S));
      }
      panels[0].series.push_back({"n = " + std::to_string(widths[wi]) + " (mean of " + std::to_string(S) + " seeds)", ts, ys, false});
    }
    panels[0].series.push_back({"infinite-width limit", ts, lv, true});
    panels[1].title = "distance to the limit at step " + std::to_string(T);
    panels[1].xlabel = "width n";
    panels[1].ylabel = "RMS over seeds and inputs of f_T - limit";
    panels[1].logx = panels[1].logy = true;
    std::vector<double> xs(widths.begin(), widths.end()), ref;
    for (double x : xs) ref.push_back(rms_dev.back() * std::sqrt(xs.back() / x));
    char label[64];
    std::snprintf(label, sizeof label, "measured (fit n^%.2f)", slope);
    panels[1].series.push_back({label, xs, rms_dev, false});
    panels[1].series.push_back({"n^-1/2", xs, ref, true});
    try {
      write_png(args.plot, panels);
    } catch (const PlotError& e) {
      return fail(std::string("--plot: ") + e.what());
    }
  }
  if (as_json) {
    json lim_j = json::array(), rows = json::array();
    for (int t = 0; t <= T; ++t) {
      json row = json::array();
      for (Eigen::Index i = 0; i < m; ++i) row.push_back({{"value", lim.f[t][i].value}, {"error", lim.f[t][i].error}});
      lim_j.push_back(row);
    }
    for (std::size_t wi = 0; wi < W; ++wi) {
      json fs = json::array();
      for (Eigen::Index i = 0; i < m; ++i)
        fs.push_back({{"mean", mean[wi][i].value},
                      {"stderr", mean[wi][i].error},
                      {"distance", std::abs(mean[wi][i].value - lim.f[T][i].value)}});
      rows.push_back({{"width", widths[wi]}, {"f_T", fs}, {"rms_deviation", rms_dev[wi]}});
    }
    out << json{{"ok", true},
                {"parametrization", spec.abc.name},
                {"limit_route", std::string(limits::route_name(lim.route))},
                {"steps", T},
                {"limit_f", lim_j},
                {"widths", rows},
                {"convergence_exponent", slope},
                {"convergence_exponent_stderr", slope_se}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << "compare: one-hidden-layer MLP, " << spec.abc.name << ", act " << args.act << ", lr " << args.lr << ", " << T
      << " full-batch SGD steps on " << m << " inputs in R^" << args.dim << ", " << S << " seeds per width\n";
  out << "limit (TP4 Thm 6.1, route " << limits::route_name(lim.route) << ") of f_" << T << " at the inputs:";
  for (Eigen::Index i = 0; i < m; ++i) out << "  " << format_with_error(lim.f[T][i].value, lim.f[T][i].error);
  out << "\n\n";
  for (std::size_t wi = 0; wi < W; ++wi) {
    out << "n = " << widths[wi] << ":";
    for (Eigen::Index i = 0; i < m; ++i) out << "  " << format_with_error(mean[wi][i].value, mean[wi][i].error);
    double worst = 0;
    for (Eigen::Index i = 0; i < m; ++i) worst = std::max(worst, std::abs(mean[wi][i].value - lim.f[T][i].value) / mean[wi][i].error);
    char buf[160];
    std::snprintf(buf, sizeof buf, "\n          RMS deviation from the limit %.3g; largest |mean - limit| = %.1f s.e.\n", rms_dev[wi], worst);
    out << buf;
  }
  char buf[200];
  std::snprintf(buf, sizeof buf, "\nconvergence: RMS deviation ~ n^%.3f ± %.3f (jackknife over seeds); expected n^-0.5\n", slope, slope_se);
  out << buf;
  return 0;
}

}  // namespace tp::frontend

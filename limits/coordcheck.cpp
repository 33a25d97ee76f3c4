// See coordcheck.h for the steps.
#include "limits/coordcheck.h"

#include <cmath>
#include <map>

#include "limits/finite.h"
#include "limits/parallel.h"
#include "tp/unroll.h"

namespace tp::limits {

double fit_slope(const std::vector<double>& xs, const std::vector<double>& ys) {
  const double k = static_cast<double>(xs.size());
  double mx = 0, my = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    mx += xs[i] / k;
    my += ys[i] / k;
  }
  double sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    sxx += (xs[i] - mx) * (xs[i] - mx);
    sxy += (xs[i] - mx) * (ys[i] - my);
  }
  return sxy / sxx;
}

std::pair<double, double> fit_exponent(const std::vector<std::size_t>& widths, const std::vector<std::vector<double>>& sizes,
                                       std::vector<double>& rms_by_width) {
  const std::size_t S = sizes[0].size();
  std::vector<double> lx;
  for (std::size_t w : widths) lx.push_back(std::log(static_cast<double>(w)));
  auto slope_without = [&](std::size_t skip, bool record) {
    std::vector<double> ly;
    for (std::size_t wi = 0; wi < widths.size(); ++wi) {
      double ss = 0, cnt = 0;
      for (std::size_t s = 0; s < S; ++s)
        if (s != skip) {
          ss += sizes[wi][s] * sizes[wi][s];
          cnt += 1;
        }
      const double r = std::sqrt(ss / cnt);
      if (record) rms_by_width.push_back(r);
      ly.push_back(std::log(std::max(r, 1e-300)));
    }
    return fit_slope(lx, ly);
  };
  const double slope = slope_without(S, true);
  if (S < 2) return {slope, std::nan("")};
  std::vector<double> jk;
  double mean = 0;
  for (std::size_t s = 0; s < S; ++s) {
    jk.push_back(slope_without(s, false));
    mean += jk.back() / static_cast<double>(S);
  }
  double var = 0;
  for (double v : jk) var += (v - mean) * (v - mean);
  return {slope, std::sqrt(var * (static_cast<double>(S) - 1) / static_cast<double>(S))};
}

namespace {

// Rows of the check from traces[width * S + seed] (steps 2-4 of the header comment).
CoordCheck assemble(const std::vector<MlpTrace>& traces, const AbcParametrization& abc, int steps,
                    const CoordCheckOptions& options) {
  const int L = abc.depth();
  const std::size_t W = options.widths.size(), S = static_cast<std::size_t>(options.seeds);
  CoordCheck out;
  out.widths = options.widths;
  out.phase = classify_mlp(abc);
  std::map<std::string, double> predicted;
  for (const auto& e : out.phase.exponents) predicted[e.quantity] = static_cast<double>(e.exponent);
  auto add_row = [&](const std::string& name, const std::string& key, int t, auto get) {
    std::vector<std::vector<double>> sizes(W, std::vector<double>(S));
    for (std::size_t wi = 0; wi < W; ++wi)
      for (std::size_t s = 0; s < S; ++s) sizes[wi][s] = get(traces[wi * S + s]);
    CoordRow row;
    row.quantity = name;
    row.step = t;
    // Unstable: only initialization and the first step are predicted (later blow-ups compound).
    row.has_prediction = out.phase.stable || t <= 1;
    row.predicted = row.has_prediction ? predicted.at(key) : std::nan("");
    std::tie(row.measured, row.stderr_) = fit_exponent(options.widths, sizes, row.size_by_width);
    const double se = std::isnan(row.stderr_) ? 0.0 : row.stderr_;
    row.agrees = !row.has_prediction || std::abs(row.measured - row.predicted) <= 3 * se + 0.1;
    out.rows.push_back(std::move(row));
  };
  // 2-4. per quantity
  for (int l = 1; l <= L; ++l)
    add_row("h^" + std::to_string(l) + "_0", "h^" + std::to_string(l) + "_0", 0,
            [l](const MlpTrace& tr) { return tr.h_rms[0][l - 1]; });
  add_row("f_0", "f_0", 0, [](const MlpTrace& tr) { return std::abs(tr.f[0]); });
  for (int t = 1; t <= steps; ++t) {
    for (int l = 1; l <= L; ++l)
      add_row("Δh^" + std::to_string(l) + "_" + std::to_string(t), "Δh^" + std::to_string(l) + (t == 1 ? "_1" : "_t"), t,
              [l, t](const MlpTrace& tr) { return tr.dh_rms[t][l - 1]; });
    add_row("Δf_" + std::to_string(t), t == 1 ? "Δf_1" : "Δf_t", t, [t](const MlpTrace& tr) { return std::abs(tr.df[t]); });
  }
  return out;
}

}  // namespace

CoordCheck coordcheck(const MlpTraining& spec, const CoordCheckOptions& options) {
  const std::size_t W = options.widths.size(), S = static_cast<std::size_t>(options.seeds);
  std::vector<MlpTrace> traces(W * S);
  parallel_for(W * S, options.threads, [&](std::size_t k) {
    traces[k] = train_mlp(spec, options.widths[k / S], static_cast<std::uint64_t>(k % S), options.memory_budget_bytes);
  });
  return assemble(traces, spec.abc, spec.steps, options);
}

CoordCheck coordcheck(const NetworkSpec& spec, const CoordCheckOptions& options) {
  UnrollOptions uo;
  uo.size_outputs = true;
  uo.memory_budget_bytes = options.memory_budget_bytes;
  uo.budget_flag = "--memory-budget";
  const UnrolledProgram up = unroll(spec, uo);
  const std::size_t W = options.widths.size(), S = static_cast<std::size_t>(options.seeds);
  const int L = spec.depth, T = spec.steps;
  std::vector<MlpTrace> traces(W * S);
  for (std::size_t wi = 0; wi < W; ++wi) {
    FiniteOptions fo;
    fo.width = options.widths[wi];
    fo.seeds.clear();
    for (std::size_t k = 0; k < S; ++k) fo.seeds.push_back(k);
    fo.threads = options.threads;
    fo.memory_budget_bytes = options.memory_budget_bytes;
    const FiniteResult fr = run_finite(up.program, fo);
    for (std::size_t k = 0; k < S; ++k) {
      MlpTrace& tr = traces[wi * S + k];
      tr.h_rms.assign(static_cast<std::size_t>(T) + 1, std::vector<double>(static_cast<std::size_t>(L), 0.0));
      tr.dh_rms = tr.h_rms;
      tr.f.assign(static_cast<std::size_t>(T) + 1, 0.0);
      for (std::size_t q = 0; q < up.outputs.size(); ++q) {
        const UnrolledOutput& u = up.outputs[q];
        const double v = fr.per_seed[k].values[q];
        const std::size_t t = static_cast<std::size_t>(u.step), l = static_cast<std::size_t>(u.layer - 1);
        switch (u.kind) {
          case UnrolledOutput::Kind::h_sq: tr.h_rms[t][l] = std::sqrt(v); break;
          case UnrolledOutput::Kind::dh_sq: tr.dh_rms[t][l] = std::sqrt(v); break;
          case UnrolledOutput::Kind::x_sq: break;
          case UnrolledOutput::Kind::f:
            if (u.eval == up.probe_is_eval && u.point == up.probe_point && u.component == 0) tr.f[t] = v;
            break;
        }
      }
      for (double x : tr.f) tr.df.push_back(x - tr.f[0]);
    }
  }
  return assemble(traces, spec.abc, T, options);
}

}  // namespace tp::limits

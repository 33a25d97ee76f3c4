// Every example in examples/ runs end to end at a small width, and where it is a NETSOR program its
// limit is computed and lies within 6 standard errors of a moderate-width run.
#include <cmath>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "limits/graph_train.h"
#include "limits/finite.h"
#include "limits/gaussian_limit.h"
#include "limits/linear_limit.h"
#include "limits/network_limit.h"
#include "tp/network_graph.h"
#include "limits/zdot_limit.h"
#include "tp/unroll.h"

namespace fs = std::filesystem;

TEST_CASE("every example runs at finite width and agrees with its limit when it has one") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TPC_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".tp") continue;
    ++count;
    CAPTURE(entry.path().string());
    std::ifstream in(entry.path());
    std::ostringstream ss;
    ss << in.rdbuf();
    if (tp::frontend::is_graph_network_script(ss.str())) {
      // A graph network (issue #14): its finite-width training at a small width (the phase and the
      // coordinate check are tested in tests/tp/test_graph_phase.cpp, tests/limits/test_graph_coordcheck.cpp).
      tp::frontend::DiagnosticEngine diags;
      auto script = tp::frontend::compile_graph_network(ss.str(), entry.path().parent_path().string(), diags);
      REQUIRE(script);
      const auto trace = tp::limits::train_graph(script->spec, 64, 0);
      REQUIRE(trace.loss.size() >= 1);
      for (double l : trace.loss) CHECK(std::isfinite(l));
      continue;
    }
    if (tp::frontend::is_network_script(ss.str())) {
      // Level 2: the unrolled training at finite width against the network's limit (any route), or a
      // refusal that names the reason (unstable parametrizations, Adam).
      tp::frontend::DiagnosticEngine diags;
      auto script = tp::frontend::compile_network(ss.str(), entry.path().parent_path().string(), diags);
      REQUIRE(script);
      tp::limits::NetworkLimit lim;
      try {
        tp::limits::NetworkLimitOptions lo;
        lo.particles = 1 << 13;
        lim = tp::limits::network_limit(script->spec, lo);
      } catch (const tp::limits::LimitUnavailable& e) {
        const std::string why = e.what();
        if (script->spec.abc.optimizer == tp::Optimizer::sgd || why.find("unstable") != std::string::npos) {
          CHECK(why.find("unstable") != std::string::npos);
          continue;
        }
        // a stable Adam/SignSGD MLP: no limit route; its graph trains at finite width (tp/network_graph.h)
        CHECK(why.find("no limit route for") != std::string::npos);
        const auto trace = tp::limits::train_graph(tp::network_graph(script->spec), 64, 0);
        CHECK(trace.l1.size() == static_cast<std::size_t>(script->spec.steps) + 1);
        continue;
      }
      const auto up = tp::unroll(script->spec);
      tp::limits::FiniteOptions o;
      o.width = 512;
      o.seeds = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
      const auto fin = tp::limits::run_finite(up.program, o);
      const auto& spec = script->spec;
      for (std::size_t j = 0; j < up.outputs.size(); ++j) {
        const auto& u = up.outputs[j];
        const auto& l = lim.f[static_cast<std::size_t>(u.step)][tp::flat_f_index(u, spec)];
        CAPTURE(fin.names[j]);
        CHECK(std::abs(fin.summary[j].value - l.value) < 6 * std::hypot(fin.summary[j].error, l.error) + 0.02);
      }
      continue;
    }
    tp::frontend::DiagnosticEngine diags;
    auto p = tp::frontend::compile_source(ss.str(), diags);
    REQUIRE(p);
    tp::limits::FiniteOptions o;
    o.width = 512;
    o.seeds = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    auto fin = tp::limits::run_finite(*p, o);
    REQUIRE(fin.summary.size() == p->outputs().size());
    bool has_limit = true;
    tp::limits::LimitResult lim;
    try {
      lim = tp::limits::gaussian_limit(*p);
    } catch (const tp::limits::RouteUnavailable&) {
      // W and W' both used: the exact route when linear, else Monte Carlo with ZDot.
      CHECK(p->uses_transpose());
      tp::limits::ZDotOptions zo;
      zo.particles = 1 << 13;
      lim = tp::limits::is_linear_program(*p) ? tp::limits::linear_limit(*p).limit : tp::limits::zdot_limit(*p, zo);
    }
    if (!has_limit) continue;
    for (std::size_t j = 0; j < lim.outputs.size(); ++j) {
      CAPTURE(lim.names[j]);
      // finite-width bias is O(1/n), far below the seed noise at n = 512
      CHECK(std::abs(fin.summary[j].value - lim.outputs[j].value) <
            6 * std::hypot(fin.summary[j].error, lim.outputs[j].error) + 0.01);
    }
  }
  CHECK(count >= 3);
}

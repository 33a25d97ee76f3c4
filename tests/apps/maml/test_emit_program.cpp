// The link to the calculator (TP4 Thm D.1): two first-order MAML meta-steps of a tiny instance (d = 3,
// d_o = 2, 2 tasks), written by `tpc maml emit-program` as a level-1 program; `tpc limit --route exact`
// on it equals Algorithm 3 to 1e-12, `tpc run` at finite width agrees with it within its standard errors,
// and Algorithm 2 converges to it with fitted exponent ≈ −1/2.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "apps/maml/emit_program.h"
#include "limits/coordcheck.h"
#include "tests/frontend/cli_runner.h"

using namespace tp::maml;
using nlohmann::json;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tpc_maml_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("tpc limit on the emitted MAML program equals Algorithm 3 to 1e-12") {
  const std::string path = temp_path("maml2.tp");
  const auto w = tp::testing::tpc({"maml", "emit-program", "--d", "3", "--d-out", "2", "--tasks", "2", "--meta-steps", "2", "--out", path});
  REQUIRE_MESSAGE(w.code == 0, w.err);
  const auto r = tp::testing::tpc({"limit", path, "--route", "exact", "--format", "json"});
  REQUIRE_MESSAGE(r.code == 0, (r.out + r.err));
  const json j = json::parse(r.out);
  const EmitInstance inst = tiny_instance(3, 2, 2, 2, 0);
  const auto engine = run_instance(inst, init_limit_net(3, 2, inst.hyper));
  const auto names = emitted_output_names(inst);
  REQUIRE(j["outputs"].size() == engine.size());
  double scale = 0;
  for (std::size_t i = 0; i < engine.size(); ++i) {
    CHECK(j["outputs"][i]["name"] == names[i]);
    CHECK(std::abs(j["outputs"][i]["value"].get<double>() - engine[i]) < 1e-12);
    scale = std::max(scale, std::abs(engine[i]));
  }
  CHECK(scale > 0.05);  // the meta-steps moved the logits away from f_0 = 0
  std::remove(path.c_str());
}

TEST_CASE("the instance exercises both clip branches: not clipped in meta-step 1, clipped in meta-step 2") {
  const EmitInstance inst = tiny_instance(3, 2, 2, 2, 0);
  LinearNet net = init_limit_net(3, 2, inst.hyper);
  const auto s1 = fomaml_step(net, inst.batches[0], inst.options);
  const auto s2 = fomaml_step(net, inst.batches[1], inst.options);
  CHECK(s1.grad_norm < inst.options.clip);
  CHECK(s2.grad_norm > inst.options.clip);
}

TEST_CASE("tpc run of the emitted program at finite width agrees with Algorithm 2's distribution around the limit") {
  const std::string path = temp_path("maml_run.tp");
  REQUIRE(tp::testing::tpc({"maml", "emit-program", "--out", path}).code == 0);
  const auto r = tp::testing::tpc({"run", path, "--width", "2048", "--seeds", "24", "--format", "json"});
  REQUIRE_MESSAGE(r.code == 0, (r.out + r.err));
  const json j = json::parse(r.out);
  const EmitInstance inst = tiny_instance(3, 2, 2, 2, 0);
  const auto engine = run_instance(inst, init_limit_net(3, 2, inst.hyper));
  // Algorithm 2 at the same width: its spread over seeds
  std::vector<double> mean(engine.size(), 0.0), sq(engine.size(), 0.0);
  for (std::uint64_t s = 0; s < 24; ++s) {
    const auto f = run_instance(inst, init_finite_net(3, 2, 2048, inst.hyper, 100 + s));
    for (std::size_t i = 0; i < f.size(); ++i) {
      mean[i] += f[i] / 24;
      sq[i] += f[i] * f[i] / 24;
    }
  }
  const auto& outs = j["outputs"];
  REQUIRE(outs.size() == engine.size());
  for (std::size_t i = 0; i < engine.size(); ++i) {
    const double tpc_mean = outs[i]["mean"].get<double>(), tpc_se = outs[i]["stderr"].get<double>();
    const double sd = std::sqrt(std::max(0.0, sq[i] - mean[i] * mean[i]));
    // both are width-2048 samples around the limit: within 5 standard errors of it, spreads alike
    CHECK(std::abs(tpc_mean - engine[i]) < 5 * tpc_se + 1e-3);
    CHECK(std::abs(mean[i] - engine[i]) < 5 * sd / std::sqrt(24.0) + 1e-3);
    CHECK(tpc_se * std::sqrt(24.0) == doctest::Approx(sd).epsilon(0.6));
  }
  std::remove(path.c_str());
}

TEST_CASE("Algorithm 2 converges to the program's limit with fitted exponent about -1/2") {
  const EmitInstance inst = tiny_instance(3, 2, 2, 2, 0);
  const auto limit = run_instance(inst, init_limit_net(3, 2, inst.hyper));
  const std::vector<std::size_t> widths{64, 256, 1024, 4096};
  std::vector<std::vector<double>> dist(widths.size());
  for (std::size_t w = 0; w < widths.size(); ++w)
    for (std::uint64_t s = 0; s < 32; ++s) {
      const auto f = run_instance(inst, init_finite_net(3, 2, static_cast<Eigen::Index>(widths[w]), inst.hyper, s));
      double sq = 0;
      for (std::size_t i = 0; i < f.size(); ++i) sq += (f[i] - limit[i]) * (f[i] - limit[i]);
      dist[w].push_back(std::sqrt(sq / static_cast<double>(f.size())));
    }
  std::vector<double> rms;
  const auto [slope, err] = tp::limits::fit_exponent(widths, dist, rms);
  MESSAGE("fitted exponent " << slope << " ± " << err);
  CHECK(slope > -0.65);
  CHECK(slope < -0.35);
}

TEST_CASE("emit-program --check reports agreement and the exponent; bad sizes exit 1 naming the flag") {
  const auto r = tp::testing::tpc({"maml", "emit-program", "--check", "--seeds", "8", "--format", "json"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const json j = json::parse(r.out);
  CHECK(j["max_abs_difference"].get<double>() < 1e-12);
  CHECK(j["exponent"].get<double>() < -0.3);
  const auto bad = tp::testing::tpc({"maml", "emit-program", "--d", "40"});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("--d") != std::string::npos);
}

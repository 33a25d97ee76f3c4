// The link to the calculator (TP4 §7, Thm 7.4; §9.3): the first updates of a tiny µP word2vec run, written
// by `tpc word2vec emit-program` as a NETSOR⊤ program, have `tpc limit` values (exact linear route) equal
// to the word2vec limit engine's inner products to 1e-12, and `tpc run` at growing widths converges to them.
#include <doctest/doctest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "apps/word2vec/emit_program.h"
#include "fixtures.h"
#include "tests/frontend/cli_runner.h"

using namespace tp::word2vec;
using tp::testing::tpc;

namespace {

std::map<std::string, double> limit_values(const std::string& path) {
  const auto r = tpc({"limit", path, "--route", "exact", "--format", "json"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  std::map<std::string, double> values;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& o : j["outputs"]) {
    CHECK(o["route"] == "exact");
    values[o["name"].get<std::string>()] = o["value"].get<double>();
  }
  return values;
}

/// Mean over outputs of |mean over seeds − limit| and of the standard error, at width n.
std::pair<double, double> finite_deviation(const std::string& path, const EmittedProgram& e, std::size_t n) {
  const auto r = tpc({"run", path, "--width", std::to_string(n), "--seeds", "6", "--format", "json"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  std::map<std::string, std::pair<double, double>> got;
  const auto j = nlohmann::json::parse(r.out);
  for (const auto& o : j["outputs"])
    got[o["name"].get<std::string>()] = {o["mean"].get<double>(), o["stderr"].get<double>()};
  double dev = 0, se = 0;
  for (std::size_t i = 0; i < e.output_names.size(); ++i) {
    dev += std::abs(got.at(e.output_names[i]).first - e.limit_values[i]);
    se += got.at(e.output_names[i]).second;
  }
  return {dev / static_cast<double>(e.output_names.size()), se / static_cast<double>(e.output_names.size())};
}

}  // namespace

TEST_CASE("emit-program: tpc limit (exact route) equals the word2vec limit engine to 1e-12; tpc run converges to it") {
  tp::testing::TempDir dir;
  for (double sigma_v : {0.0, 0.8}) {
    EmitOptions o;
    o.steps = 4;
    o.sigma_v = sigma_v;
    o.sigma_u = 1.3;
    o.weight_decay = 0.01;
    o.lr = 0.5;  // large enough that the logits and the embeddings move visibly
    const EmittedProgram e = emit_program(o);
    REQUIRE(e.steps.size() == 4);
    REQUIRE(e.output_names.size() == e.limit_values.size());
    const std::string path = dir.file(sigma_v > 0 ? "w2v_random_readout.tp" : "w2v.tp", e.program);
    const auto lim = limit_values(path);
    REQUIRE(lim.size() == e.output_names.size());
    double worst = 0, largest_logit = 0;
    for (std::size_t i = 0; i < e.output_names.size(); ++i) {
      worst = std::max(worst, std::abs(lim.at(e.output_names[i]) - e.limit_values[i]));
      if (e.output_names[i][0] == 'f') largest_logit = std::max(largest_logit, std::abs(e.limit_values[i]));
    }
    INFO("sigma_v = " << sigma_v << ": largest |limit - engine| = " << worst);
    CHECK(worst < 1e-12);
    CHECK(largest_logit > 1e-3);  // the comparison is not between zeros
    const auto [dev_small, se_small] = finite_deviation(path, e, 64);
    const auto [dev_large, se_large] = finite_deviation(path, e, 8192);
    INFO("mean |run - limit|: n = 64: " << dev_small << ", n = 8192: " << dev_large << " (s.e. " << se_large << ")");
    CHECK(dev_large < dev_small / 4);  // ~ n^(-1/2): a factor 11 expected
    CHECK(dev_large < 4 * se_large + 1e-12);
  }
}

TEST_CASE("emit-program: the program records its sampling, and is deterministic in the seed") {
  EmitOptions o;
  const EmittedProgram a = emit_program(o), b = emit_program(o);
  CHECK(a.program == b.program);
  CHECK(a.program.find("# step 1: target '") != std::string::npos);
  CHECK(a.program.find("input u0") != std::string::npos);
  o.seed = 2;
  CHECK(emit_program(o).program != a.program);
}

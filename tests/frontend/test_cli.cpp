// The tpc command line, in process: exit codes, text and JSON output, flag errors.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"
#include "frontend/cli.h"

namespace {

using tp::testing::Run;
using tp::testing::tpc;

std::string example(const char* name) { return std::string(TPC_SOURCE_DIR) + "/examples/" + name; }

}  // namespace

TEST_CASE("tpc check on an example reports the op counts and exits 0") {
  auto r = tpc({"check", example("transpose.tp")});
  CHECK(r.code == 0);
  CHECK(r.out.find("ok: 6 values") != std::string::npos);
  CHECK(r.out.find("NETSOR-T") != std::string::npos);
  auto j = tpc({"check", example("transpose.tp"), "--format", "json"});
  CHECK(j.code == 0);
  auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["ok"] == true);
  CHECK(parsed["transposed_matmuls"] == 1);
}

TEST_CASE("tpc run --format json gives per-seed values and mean with standard error") {
  auto r = tpc({"run", example("transpose.tp"), "--width", "256", "--seeds", "4", "--format", "json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["width"] == 256);
  CHECK(j["route"] == "finite_width");
  REQUIRE(j["outputs"].size() == 2);
  CHECK(j["outputs"][0]["name"] == "xz");
  CHECK(j["outputs"][0]["per_seed"].size() == 4);
  CHECK(j["outputs"][0]["stderr"].get<double>() > 0);
}

TEST_CASE("a script error exits 1 with file:line:col, also as JSON diagnostics") {
  const std::string bad = std::string(TPC_SOURCE_DIR) + "/tests/golden/bad_undefined.tp.in";
  auto r = tpc({"check", bad});
  CHECK(r.code == 1);
  CHECK(r.err.find("bad_undefined.tp.in:3:12: error: use of undefined name 'x2'") != std::string::npos);
  CHECK(r.err.find("did you mean 'x1'?") != std::string::npos);
  auto j = tpc({"run", bad, "--format", "json"});
  CHECK(j.code == 1);
  auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["ok"] == false);
  CHECK(parsed["diagnostics"][0]["line"] == 3);
  CHECK(parsed["diagnostics"][0]["column"] == 12);
}

TEST_CASE("flag and file problems exit 1 with a message that names the fix") {
  auto missing = tpc({"run", "/nonexistent/x.tp"});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("cannot read '/nonexistent/x.tp'") != std::string::npos);
  auto width = tpc({"run", example("transpose.tp"), "--width", "0"});
  CHECK(width.code == 1);
  CHECK(width.err.find("--width") != std::string::npos);
  auto fmt = tpc({"check", example("transpose.tp"), "--format", "xml"});
  CHECK(fmt.code == 1);
  auto budget = tpc({"run", example("transpose.tp"), "--width", "100000", "--seeds", "2"});
  CHECK(budget.code == 1);
  CHECK(budget.err.find("--memory-budget") != std::string::npos);
  auto none = tpc({});
  CHECK(none.code == 1);
  auto unknown = tpc({"frobnicate"});
  CHECK(unknown.code == 1);
}

TEST_CASE("tpc --help and subcommand help exit 0") {
  auto r = tpc({"--help"});
  CHECK(r.code == 0);
  CHECK(r.out.find("check") != std::string::npos);
  auto s = tpc({"run", "--help"});
  CHECK(s.code == 0);
  CHECK(s.out.find("--width") != std::string::npos);
}

TEST_CASE("numerical failure at run time exits 1 naming the value and line") {
  const std::string bad = std::string(TPC_SOURCE_DIR) + "/tests/golden/bad_log.tp.in";
  auto r = tpc({"run", bad, "--width", "64", "--seeds", "1"});
  CHECK(r.code == 1);
  CHECK(r.err.find("'y' (line 4) became NaN or infinite") != std::string::npos);
}

#include "frontend/number_format.h"

TEST_CASE("values are printed to the precision their error supports") {
  using tp::frontend::format_with_error;
  CHECK(format_with_error(0.23610201, 0.0015208) == "0.2361 ± 0.0015");
  CHECK(format_with_error(2.0381, 0.051) == "2.038 ± 0.051");
  CHECK(format_with_error(1.09023, std::nan("")) == "1.09023 ± n/a");
  CHECK(format_with_error(12345.6, 150) == "12350 ± 150");
  CHECK(format_with_error(4.7e62, 4.7e62) == "4.700e+62 ± 4.7e+62");
}

TEST_CASE("tpc limit prints every output with error and route, and refuses what it cannot do") {
  auto r = tpc({"limit", example("multi_input_kernel.tp")});
  CHECK(r.code == 0);
  CHECK(r.out.find("closed_form") != std::string::npos);
  auto j = tpc({"limit", example("nngp_tanh.tp"), "--format", "json"});
  REQUIRE(j.code == 0);
  auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["outputs"][0]["route"] == "quadrature");
  CHECK(parsed["outputs"][0]["error"].get<double>() < 1e-10);
  // NETSOR-T: exact for a linear program, Monte Carlo with ZDot on request; dropping ZDot is visibly wrong.
  auto t = tpc({"limit", example("transpose.tp"), "--format", "json"});
  REQUIRE(t.code == 0);
  auto tj = nlohmann::json::parse(t.out);
  CHECK(tj["outputs"][0]["route"] == "exact");
  CHECK(tj["outputs"][1]["value"].get<double>() == 2.0);
  auto mc = tpc({"limit", example("transpose.tp"), "--route", "monte_carlo", "--particles", "8192", "--format", "json"});
  REQUIRE(mc.code == 0);
  auto mj = nlohmann::json::parse(mc.out);
  CHECK(std::abs(mj["outputs"][0]["value"].get<double>() - 1.0) < 5 * mj["outputs"][0]["error"].get<double>());
  auto none = tpc({"limit", example("transpose.tp"), "--route", "monte_carlo", "--zdot", "none", "--particles", "8192",
                   "--format", "json"});
  REQUIRE(none.code == 0);
  CHECK(std::abs(nlohmann::json::parse(none.out)["outputs"][0]["value"].get<double>()) < 0.1);
  auto d = tpc({"limit", std::string(TPC_SOURCE_DIR) + "/tests/golden/bad_divergent.tp.in"});
  CHECK(d.code == 1);
  CHECK(d.err.find("not finite") != std::string::npos);
  CHECK(d.out.empty());
}

TEST_CASE("tpc phase: JSON fields, negative lists, free exponents and flag errors") {
  auto r = tpc({"phase", "--mlp", "2", "--a=-1/2,0,1/2", "--b", "1/2,1/2,1/2", "--c", "0", "--format", "json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["regime"] == "feature_learning");
  CHECK(j["stable"] == true);
  CHECK(j["r"] == "0");
  CHECK(j["updated_maximally"].size() == 3);
  CHECK(j["f0_limit"] == "zero");
  CHECK(j["nngp_limit"] == false);
  auto neg = tpc({"phase", "--mlp", "2", "--a", "-1/2,0,1/2", "--b", "1/2,1/2,1/2", "--c", "0"});
  CHECK(neg.code == 0);
  CHECK(neg.out.find("FEATURE LEARNING") != std::string::npos);
  auto sp = tpc({"phase", "--mlp", "3", "--preset", "sp", "--format", "json"});
  auto spj = nlohmann::json::parse(sp.out);
  CHECK(spj["regime"] == "unstable");
  CHECK(spj["instability_reasons"].size() == 3);
  auto fr = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "c"});
  CHECK(fr.code == 0);
  CHECK(fr.out.find("c = 1") != std::string::npos);
  CHECK(fr.out.find("kernel") != std::string::npos);
  auto count = tpc({"phase", "--mlp", "2", "--a", "0,0", "--b", "0,0,0", "--c", "0"});
  CHECK(count.code == 1);
  CHECK(count.err.find("needs L+1 = 3") != std::string::npos);
  auto bad = tpc({"phase", "--mlp", "1", "--a", "0,x", "--b", "0,0", "--c", "0"});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("'x'") != std::string::npos);
  auto pre = tpc({"phase", "--mlp", "2", "--preset", "mfp"});
  CHECK(pre.code == 1);
  CHECK(pre.err.find("L = 1") != std::string::npos);
  auto fre = tpc({"phase", "--mlp", "2", "--preset", "mup", "--free", "a_9"});
  CHECK(fre.code == 1);
}

#include <cstdio>
#include <fstream>

TEST_CASE("tpc coordcheck prints the table, writes a PNG plot and rejects bad widths") {
  const std::string png = "/tmp/tpc-test-coordcheck.png";
  std::remove(png.c_str());
  auto r = tpc({"coordcheck", "--mlp", "1", "--preset", "mup", "--widths", "64,128,256", "--seeds", "3", "--steps", "1",
                "--plot", png});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("Δh^1_1") != std::string::npos);
  std::ifstream in(png, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  CHECK(std::string(magic + 1, 3) == "PNG");
  auto j = tpc({"coordcheck", "--mlp", "1", "--preset", "ntp", "--widths", "64,128", "--seeds", "2", "--format", "json"});
  REQUIRE(j.code == 0);
  auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["rows"].size() == 2 + 2 * 2);
  auto bad = tpc({"coordcheck", "--mlp", "1", "--preset", "mup", "--widths", "256,128"});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("increasing") != std::string::npos);
  auto act = tpc({"coordcheck", "--mlp", "1", "--preset", "mup", "--act", "tanhh"});
  CHECK(act.code == 1);
  CHECK(act.err.find("did you mean 'tanh'") != std::string::npos);
}

TEST_CASE("tpc compare: muP limit vs finite widths in JSON; kernel regime; an unstable network still runs") {
  auto r = tpc({"compare", "--mlp", "1", "--preset", "mfp", "--widths", "128,512", "--seeds", "6", "--steps", "2",
                "--format", "json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["limit_route"] == "quadrature");
  CHECK(j["widths"].size() == 2);
  CHECK(j["limit_f"].size() == 3);
  CHECK(j["convergence_exponent"].get<double>() < 0);
  // the training data it drew (issue 13.10): one row per point, d coordinates, one target each
  REQUIRE(j["data"]["x"].size() == j["points"].size());
  CHECK(j["data"]["y"].size() == j["data"]["x"].size());
  CHECK(j["data"]["y"][0].size() == 1);
  auto ntp = tpc({"compare", "--mlp", "1", "--preset", "ntp", "--widths", "64,128", "--seeds", "4", "--format", "json"});
  REQUIRE(ntp.code == 0);
  CHECK(nlohmann::json::parse(ntp.out)["limit_route"] == "kernel");
  // SP with c = 0 is unstable: no limit, but the finite widths run and show the growth.
  auto sp = tpc({"compare", "--mlp", "2", "--preset", "sp", "--widths", "64,256", "--seeds", "3", "--lr", "0.1"});
  CHECK(sp.code == 0);
  CHECK(sp.out.find("no infinite-width limit") != std::string::npos);
  CHECK(sp.out.find("unstable") != std::string::npos);
  auto both = tpc({"compare", "--widths", "64"});
  CHECK(both.code == 1);
}

TEST_CASE("tpc compare on a linear network uses the exact route") {
  auto r = tpc({"compare", "--mlp", "1", "--preset", "mup", "--act", "identity", "--widths", "64,256", "--seeds", "4",
                "--format", "json"});
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["limit_route"] == "exact");
}

// The network commands end to end on the README examples: tpc phase / limit / compare / coordcheck / dump / run
// of level-2 scripts, their JSON, and the refusals (unstable, Adam) with reasons.
#include <unistd.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

using tp::testing::tpc;

namespace {
std::string example(const std::string& name) { return std::string(TPC_SOURCE_DIR) + "/examples/" + name; }
}  // namespace

TEST_CASE("tpc phase net.tp: the verdict, the script lines, and both exponent routes") {
  auto r = tpc({"phase", example("mup_tanh.tp")});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("FEATURE LEARNING") != std::string::npos);
  CHECK(r.out.find("mup_tanh.tp:4") != std::string::npos);
  CHECK(r.out.find("the routes agree") != std::string::npos);
  auto j = tpc({"phase", example("ntp_relu.tp"), "--format", "json"});
  REQUIRE(j.code == 0);
  auto pj = nlohmann::json::parse(j.out);
  CHECK(pj["regime"] == "kernel");
  CHECK(pj["exponent_routes_agree"] == true);
  CHECK(pj["exponents_propagated"].size() >= 9);
  CHECK(pj["source"]["parametrization_line"] == 4);
  auto adam = tpc({"phase", example("sp_adam.tp")});
  CHECK(adam.code == 0);
  CHECK(adam.out.find("UNSTABLE") != std::string::npos);
  CHECK(adam.out.find("sp_adam.tp:5") != std::string::npos);
  auto both = tpc({"phase", example("mup_tanh.tp"), "--mlp", "2"});
  CHECK(both.code == 1);
  CHECK(both.err.find("not both") != std::string::npos);
}

TEST_CASE("tpc limit net.tp: route choice, JSON shape and refusals") {
  auto lin = tpc({"limit", example("deep_linear.tp"), "--format", "json"});
  REQUIRE(lin.code == 0);
  auto lj = nlohmann::json::parse(lin.out);
  CHECK(lj["route"] == "exact");
  CHECK(lj["f"].size() == 5);        // steps 0..4
  CHECK(lj["f"][0].size() == 5);     // 4 training points + 1 evaluation point
  CHECK(lj["points"][4] == "eval1");
  auto mc = tpc({"limit", example("mup_tanh.tp"), "--particles", "4096", "--format", "json"});
  REQUIRE(mc.code == 0);
  auto mj = nlohmann::json::parse(mc.out);
  CHECK(mj["route"] == "monte_carlo");
  CHECK(mj["f"][3][0]["error"].get<double>() > 0);
  // the output says what the error is (issue 13.3): replicas and degrees of freedom, and what it leaves out
  CHECK(mj["error_meaning"].get<std::string>().find("8 independent replicas of 4096 particles (7 degrees of freedom") !=
        std::string::npos);
  CHECK(mj["error_meaning"].get<std::string>().find("bias is removed by the two-half jackknife") != std::string::npos);
  auto kernel = tpc({"limit", example("ntp_relu.tp")});
  CHECK(kernel.code == 0);
  CHECK(kernel.out.find("route: kernel") != std::string::npos);
  auto forced = tpc({"limit", example("ntp_relu.tp"), "--route", "monte_carlo"});
  CHECK(forced.code == 1);
  CHECK(forced.err.find("kernel regime") != std::string::npos);
  auto unstable = tpc({"limit", example("sp_adam.tp")});
  CHECK(unstable.code == 1);
  CHECK(unstable.err.find("unstable") != std::string::npos);
  CHECK(unstable.out.empty());
}

TEST_CASE("tpc compare / coordcheck / dump / run accept network scripts") {
  auto c = tpc({"compare", example("deep_linear.tp"), "--widths", "64,256", "--seeds", "4", "--format", "json"});
  REQUIRE(c.code == 0);
  auto cj = nlohmann::json::parse(c.out);
  CHECK(cj["limit_route"] == "exact");
  CHECK(cj["widths"][0]["f_T"].size() == 5);
  auto cc = tpc({"coordcheck", example("mup_tanh.tp"), "--widths", "64,128,256", "--seeds", "3", "--format", "json"});
  REQUIRE(cc.code == 0);
  CHECK(nlohmann::json::parse(cc.out)["regime"] == "feature_learning");
  auto d = tpc({"dump", example("mup_tanh.tp")});
  REQUIRE(d.code == 0);
  CHECK(d.out.find("output f_t3_eval2") != std::string::npos);
  auto run = tpc({"run", example("deep_linear.tp"), "--width", "64", "--seeds", "2"});
  CHECK(run.code == 0);
  CHECK(run.out.find("f_t4_eval1") != std::string::npos);
  // Adam: the script as a graph, its entrywise update as TP4b's outer nonlinearity (tp/network_graph.h)
  auto adam = tpc({"run", example("sp_adam.tp"), "--width", "64", "--seeds", "2"});
  CHECK(adam.code == 0);
  CHECK(adam.out.find("f_t5_e1_k2") != std::string::npos);
}

TEST_CASE("tpc limit: the quadrature route warns on stderr and in JSON when it misses its target (issue 13.4)") {
  const auto path = std::filesystem::temp_directory_path() / ("tpc_test_mup1_lr500_" + std::to_string(::getpid()) + ".tp");
  std::ofstream(path) << "network mlp { input 2; dense n tanh; readout 1 }\nparametrization mup\n"
                         "optimizer sgd lr 500\nloss mse\ndata {\n  x = [[1, 0], [0, 1], [0.5, 0.5]]\n"
                         "  y = [1, -1, 0.5]\n}\ntrain steps 1 batch full\n";
  // a small rule budget: the default (12M particles) reaches the same verdict after ~20 s
  auto r = tpc({"limit", path.string(), "--max-nodes", "200000"});
  CHECK(r.code == 0);
  CHECK(r.err.find("tpc limit: warning: the quadrature route did not reach its target error") != std::string::npos);
  CHECK(r.err.find("would exceed 200000 particles") != std::string::npos);
  auto j = tpc({"limit", path.string(), "--format", "json", "--max-nodes", "200000"});
  REQUIRE(j.code == 0);
  CHECK(nlohmann::json::parse(j.out)["warnings"].size() == 1);
  std::filesystem::remove(path);
}

TEST_CASE("tpc phase prog.tp on a level-1 program: exponents by propagation, growing values, outputs (issue 13.12)") {
  // Before: "a network script cannot contain level-1 statements" and exit 1.
  auto r = tpc({"phase", example("transpose.tp")});
  CAPTURE(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("stable: no value grows with n") != std::string::npos);
  CHECK(r.out.find("xz (line 13): converges to a nonzero limit (n^0)") != std::string::npos);
  const auto path = std::filesystem::temp_directory_path() / ("tpc_test_growing_" + std::to_string(::getpid()) + ".tp");
  std::ofstream(path) << "input x, v ~ N(0, [[1, 0], [0, 1]])\nmatrix W ~ N(0, 1/n)\n"
                         "h = n^(1/2) * W tanh(x)\noutput f = avg(v * tanh(W x))\noutput g = avg(h * h)\n";
  auto g = tpc({"phase", path.string()});
  REQUIRE(g.code == 0);
  CHECK(g.out.find("unstable: 'h' grows like n^(1/2) (line 3)") != std::string::npos);
  CHECK(g.out.find("f (line 4): vanishes like n^(-1/2) (a mean-zero average: CLT)") != std::string::npos);
  CHECK(g.out.find("g (line 5): blows up like n^(1)") != std::string::npos);
  auto j = tpc({"phase", path.string(), "--format", "json"});
  REQUIRE(j.code == 0);
  const auto pj = nlohmann::json::parse(j.out);
  CHECK(pj["stable"] == false);
  CHECK(pj["outputs"][0]["verdict"] == "vanishes");
  CHECK(pj["outputs"][1]["verdict"] == "blows_up");
  std::filesystem::remove(path);
}

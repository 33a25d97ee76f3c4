// MLP scripts trained by Adam or SignSGD on the command line, through the script as a graph (tp/network_graph.h):
// `tpc phase` compares the closed form (TP4b as in tp/mlp_phase) with the sizes propagated through the graph's
// unrolled program (the entrywise update as TP4b's outer nonlinearity); `run`, `dump` and `check` use that program,
// `coordcheck` trains the graph; `limit` and `compare` refuse with the reason. Before, every command but `phase`
// refused these scripts, and phase's second route was "not available".
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/frontend/cli_runner.h"

using nlohmann::json;
using tp::testing::tpc;

namespace {

std::string script(int L, const std::string& opt, const std::string& act, const std::vector<std::string>& a,
                   const std::vector<std::string>& b, const std::vector<std::string>& c) {
  auto list = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  std::string layers = "input 2";
  for (int l = 0; l < L; ++l) layers += "; dense n " + act;
  return "network mlp { " + layers + "; readout 1 }\nparametrization abc { a = [" + list(a) + "]; b = [" + list(b) +
         "]; c = [" + list(c) + "] }\noptimizer " + opt +
         " lr 0.01\ndata {\n  x = [[1, 0], [0, 1], [0.5, 0.5]]\n  y = [1, -1, 0.5]\n}\ntrain steps 3\n";
}

json phase_json(const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / ("tpc_adam_routes_" + std::to_string(::getpid()) + ".tp")).string();
  std::ofstream(path) << text;
  const auto r = tpc({"phase", path, "--format", "json"});
  std::filesystem::remove(path);
  REQUIRE(r.code == 0);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("tpc phase on Adam and SignSGD MLP scripts: the closed form and the graph IR route agree") {
  // TP4b's µP for Adam (README "Phases of abc-parametrized MLPs"): every quantity is compared and agrees
  const json mup = phase_json(script(2, "adam", "tanh", {"0", "0", "0"}, {"0", "1/2", "1"}, {"0", "1", "1"}));
  CHECK(mup["regime"] == "feature_learning");
  CHECK_FALSE(mup.contains("exponents_propagated_unavailable"));
  CHECK(mup["exponents_propagated"].size() == 9);
  CHECK(mup["exponent_routes_agree"] == true);

  // Random exponents around it (as tests/tp/test_graph_phase.cpp does for the calculus): both optimizers, four
  // activations, depths 1–3. Unstable ones are compared up to the first quantity that leaves the stable range.
  std::mt19937_64 rng(20261208);
  std::uniform_int_distribution<int> half(-2, 2), depth(1, 3), pick(0, 3);
  std::uniform_real_distribution<double> u(0, 1);
  int stable = 0, compared = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const int L = depth(rng);
    std::vector<std::string> a(L + 1, "0"), b(L + 1, "1/2"), c(L + 1, "1");
    b[0] = "0";
    b[L] = "1";
    c[0] = "0";
    auto jiggle = [&](std::vector<std::string>& v) {
      for (auto& x : v)
        if (u(rng) < 0.35) x = "(" + x + ") + " + std::to_string(half(rng)) + "/2";
    };
    jiggle(a);
    jiggle(b);
    jiggle(c);
    const char* acts[] = {"tanh", "relu", "x", "gelu"};
    const std::string text = script(L, trial % 2 ? "adam" : "signsgd", acts[pick(rng)], a, b, c);
    CAPTURE(text);
    const json j = phase_json(text);
    REQUIRE_FALSE(j.contains("exponents_propagated_unavailable"));
    CHECK(j["exponent_routes_agree"] == true);
    if (j["stable"] == true) {
      ++stable;
      compared += static_cast<int>(j["exponents_propagated"].size());
    }
  }
  CHECK(stable >= 4);  // not vacuous
  CHECK(compared >= 4 * 6);
}

TEST_CASE("tpc phase on an unstable Adam MLP: quantities past the first blow-up are not compared, and it says so") {
  const std::string text = script(2, "adam", "tanh", {"-1/2", "0", "1/2"}, {"1/2", "1/2", "1/2"}, {"0", "0", "0"});
  const std::string path = (std::filesystem::temp_directory_path() / ("tpc_adam_blowup_" + std::to_string(::getpid()) + ".tp")).string();
  std::ofstream(path) << text;
  const auto r = tpc({"phase", path});
  std::filesystem::remove(path);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("UNSTABLE") != std::string::npos);
  CHECK(r.out.find("Δh^1_1    1/2      1/2") != std::string::npos);  // the first blow-up is compared
  CHECK(r.out.find("Δh^2_1    n/a") != std::string::npos);          // what follows it is not
  CHECK(r.out.find("past the first quantity that leaves the stable range") != std::string::npos);
  CHECK(r.out.find("the routes agree") != std::string::npos);
  CHECK(r.out.find("unrolls SGD") == std::string::npos);
}

TEST_CASE("run, dump, check and coordcheck take Adam MLP scripts; limit and compare refuse with the reason") {
  const std::string text = script(2, "adam", "tanh", {"0", "0", "0"}, {"0", "1/2", "1"}, {"0", "1", "1"});
  const std::string path = (std::filesystem::temp_directory_path() / ("tpc_adam_cli_" + std::to_string(::getpid()) + ".tp")).string();
  const std::string dumped = path + ".dump.tp";
  std::ofstream(path) << text;
  const auto run = tpc({"run", path, "--width", "32", "--seeds", "2"});
  CHECK(run.code == 0);
  CHECK(run.out.find("f_t3_e3_k1") != std::string::npos);  // f after 3 steps at the third point
  const auto dump = tpc({"dump", path});
  REQUIRE(dump.code == 0);
  CHECK(dump.out.find("outer_avg(") != std::string::npos);  // Adam's entrywise update
  std::ofstream(dumped) << dump.out;
  const auto check = tpc({"check", dumped});
  CHECK(check.code == 0);
  CHECK(check.out.find("NE⊗OR⊤") != std::string::npos);
  const auto cc = tpc({"coordcheck", path, "--widths", "32,64", "--seeds", "2"});
  CHECK(cc.code == 0);
  CHECK(cc.out.find("Δh^1") != std::string::npos);
  CHECK(cc.out.find("W^2") != std::string::npos);  // the hidden matrix's top singular value
  for (const char* cmd : {"limit", "compare"}) {
    const auto r = tpc({cmd, path});
    CHECK(r.code == 1);
    CHECK(r.err.find("no limit route for adam") != std::string::npos);
    CHECK(r.err.find("'tpc run' and 'tpc coordcheck'") != std::string::npos);
  }
  std::filesystem::remove(path);
  std::filesystem::remove(dumped);
}

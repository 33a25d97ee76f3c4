// The parity rule end to end (tp/graph_parity.h): µP + SGD with 1/d attention logits, one block, one head. Both
// routes predict the logits' change after step 1 as n^(-1/2) (before the rule: Θ(1)), and the finite-width
// coordinate check measures it decaying, without a DIFF.
#include <unistd.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/frontend/cli_runner.h"

using tp::testing::tpc;

namespace {

const char* const kBlock =
    "network graph {\n  input 4 positions 3\n  embedding n as h\n  layernorm\n  attention heads 1 logit (1/d) causal\n"
    "  add h as h\n  readout 1 pool last\n}\nparametrization mup form table3\noptimizer sgd lr 0.05\n"
    "data { x = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]; y = [-3] }\ntrain steps 1\n";

std::string write_block() {
  const auto path = std::filesystem::temp_directory_path() / ("tpc_parity_" + std::to_string(::getpid()) + ".tp");
  std::ofstream(path) << kBlock;
  return path.string();
}

// The fields of the first output line starting with `prefix`.
std::vector<std::string> line_fields(const std::string& out, const std::string& prefix) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(prefix, 0) == 0) {
      std::istringstream ls(line);
      std::vector<std::string> f;
      for (std::string w; ls >> w;) f.push_back(w);
      return f;
    }
  return {};
}

}  // namespace

TEST_CASE("µP + SGD, 1/d logits: the logits' change after step 1 is n^(-1/2) in both routes and at finite width") {
  const auto file = write_block();
  const auto ph = tpc({"phase", file});
  INFO(ph.out << ph.err);
  REQUIRE(ph.code == 0);
  const auto lg = line_fields(ph.out, "attention.logits ");
  REQUIRE(lg.size() >= 3);
  CHECK(lg[1] == "-1/2");  // init: q_0·k_0 from independent W_q, W_k
  CHECK(lg[2] == "-1/2");  // Δ_1: every part CLT or carrying ∂f/∂ℓ's CLT factor (Θ(1) without the rule)
  CHECK(ph.out.find("the routes agree") != std::string::npos);
  const auto cc = tpc({"coordcheck", file, "--widths", "64,128,256,512", "--seeds", "4", "--threads", "1"});
  INFO(cc.out << cc.err);
  REQUIRE(cc.code == 0);
  const auto d = line_fields(cc.out, "Δattention.logits ");
  REQUIRE(d.size() >= 4);
  CHECK(d[2] == "-0.50");
  CHECK(std::stod(d[3]) < -0.2);  // the measured slope decays
  CHECK(std::find(d.begin(), d.end(), "DIFF") == d.end());  // agrees within the fit's error
}

TEST_CASE("SP + Adam block: a layer norm after the blow-up changes by Θ(1) at most (x̂ has RMS 1), in both routes") {
  // Without the cap, Δx r_0 and Δx Δr were sized apart and layernorm_2 was predicted n^2, dense.pre n^3.
  std::ifstream in(std::string(TPC_SOURCE_DIR) + "/examples/transformer_block.tp");
  std::stringstream text;
  text << in.rdbuf();
  std::string script = text.str();
  const std::string from = "parametrization mup form table3";
  REQUIRE(script.find(from) != std::string::npos);
  script.replace(script.find(from), from.size(), "parametrization sp");
  const auto path = std::filesystem::temp_directory_path() / ("tpc_parity_sp_" + std::to_string(::getpid()) + ".tp");
  std::ofstream(path) << script;
  const auto ph = tpc({"phase", path.string()});
  INFO(ph.out << ph.err);
  REQUIRE(ph.code == 0);
  CHECK(ph.out.find("verdict: unstable: 'block1.attention.q' after step 1 grows like n^1") != std::string::npos);
  for (const char* row : {"block1.layernorm ", "block1.layernorm_2 ", "block2.layernorm ", "block2.layernorm_2 ", "layernorm "}) {
    const auto f = line_fields(ph.out, row);
    REQUIRE(f.size() >= 3);
    CHECK(f[2] == "0");
  }
  CHECK(line_fields(ph.out, "block1.dense.pre ").at(2) == "1");  // Adam's ΔW x on a Θ(1) input: n^1
  CHECK(ph.out.find("the routes agree") != std::string::npos);
}

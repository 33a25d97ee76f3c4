// `tpc coordcheck net.tp` on a graph script (issue #14): the phase compiler's predicted sizes beside the
// finite-width measurements, end to end from the command line.
#include <unistd.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/frontend/cli_runner.h"

using tp::testing::tpc;

namespace {

std::string write_script(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / ("tpc_graph_cc_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

const char* const kEmbeddingReadout =
    "network graph {\n  input 4\n  embedding n\n  readout 1\n}\nparametrization mup form table3\n"
    "optimizer sgd lr 0.1\ndata { x = [[1, 0, 0, 0], [0, 1, 0, 0]]; y = [1, -1] }\ntrain steps 1\n";

}  // namespace

TEST_CASE("tpc coordcheck on a graph script prints predicted and measured exponents, which agree for µP") {
  const auto file = write_script("embed.tp", kEmbeddingReadout);
  const auto r = tpc({"coordcheck", file, "--widths", "256,1024,4096", "--seeds", "6"});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(r.out.find("coordinate check: graph of 3 nodes") != std::string::npos);
  CHECK(r.out.find("readout      0  -0.50") != std::string::npos);  // f_0 = Θ(n^-1/2) in µP
  CHECK(r.out.find("DIFF") == std::string::npos);
  CHECK(r.out.find("names no measured quantity") == std::string::npos);  // input and q/k/v are not predicted rows
  const auto j = tpc({"coordcheck", file, "--widths", "64,128", "--seeds", "2", "--format", "json"});
  CHECK(j.code == 0);
  CHECK(j.out.find("\"ok\": true") != std::string::npos);
}

TEST_CASE("tpc coordcheck on a graph script refuses a width the attention heads do not divide, and script errors") {
  const auto file = write_script(
      "attn.tp",
      "network graph {\n  input 2 positions 2\n  embedding n\n  attention heads 3\n  readout 1\n}\n"
      "parametrization mup\noptimizer adam lr 0.01\ndata { x = [[1, 0], [0, 1]]; y = [1] }\ntrain steps 1\n");
  const auto r = tpc({"coordcheck", file, "--widths", "64,128", "--seeds", "2"});
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  CHECK(r.err.find("tpc coordcheck: error: --widths: ") != std::string::npos);
  const auto bad = write_script("bad.tp", "network graph {\n  input 2\n  embedding n\n  attention heads 0\n  readout 1\n}\n"
                                          "parametrization mup\noptimizer sgd lr 0.1\ndata { x = [[1, 0]]; y = [1] }\n");
  const auto b = tpc({"coordcheck", bad, "--widths", "64,128"});
  CHECK(b.code == 1);
  CHECK(b.err.find("bad.tp:4:") != std::string::npos);
}

TEST_CASE("tpc coordcheck on a tied readout (TP5 Table 8 form): f_0 = Θ(1) as predicted, where an untied one is n^(-1/2)") {
  const auto file = write_script(
      "tied.tp",
      "network graph {\n  input 4\n  embedding n as h\n  layernorm\n  add h\n  readout 4 tied\n}\n"
      "parametrization mup form table8\noptimizer adam lr 0.01\n"
      "data { x = [[1, 0, 0, 0], [0, 1, 0, 0]]; y = [[1, 0, 0, 0], [0, 1, 0, 0]] }\ntrain steps 2\n");
  const auto r = tpc({"coordcheck", file, "--widths", "256,1024,4096", "--seeds", "6", "--format", "json"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["disagreements"] == 0);
  for (const auto& row : j["rows"])
    if (row["node"] == "readout" && row["step"] == 0 && !row["delta"]) {
      CHECK(row["predicted"].get<double>() == 0.0);
      CHECK(std::abs(row["measured"].get<double>()) < 0.2);
    }
}

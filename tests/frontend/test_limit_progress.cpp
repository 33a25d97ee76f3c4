// Progress of `tpc limit` on its quadrature and kernel routes (issue #13 item 10): the one-hidden-layer µP
// quadrature at lr 2 ran ~30 s with no output. The form of the line is checked, never its timing.
#include <unistd.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "cli_runner.h"

using tp::testing::tpc;

TEST_CASE("tpc limit --progress: the quadrature route reports particle steps, the time so far and left, the rate") {
  const auto path = std::filesystem::temp_directory_path() / ("tpc_test_progress_" + std::to_string(::getpid()) + ".tp");
  std::ofstream(path) << "network mlp { input 1; dense n tanh; readout 1 }\nparametrization mup\n"
                         "optimizer sgd lr 0.5\nloss mse\ndata {\n  x = [[1], [-0.5]]\n  y = [1, -1]\n}\n"
                         "train steps 2 batch full\n";
  auto r = tpc({"limit", path.string(), "--progress"});
  std::filesystem::remove(path);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("quadrature") != std::string::npos);
  // e.g. "\rtpc: limit: quadrature, particle steps 52000/720000, 0 s so far, about 3 s left (2.1e+05 per s)"
  const std::regex line(R"(tpc: limit: quadrature, particle steps \d+/\d+, \d+ s so far, about \d+ s left \(.* (each|per s)\))");
  CHECK(std::regex_search(r.err, line));
  // the last report closes the line: done = total
  const std::regex last(R"(particle steps (\d+)/\1, \d+ s so far \(.*\)\n)");
  CHECK(std::regex_search(r.err, last));
}

TEST_CASE("tpc limit --progress: the kernel route reports its stages (kernels, then the kernel-GD runs)") {
  auto r = tpc({"limit", std::string(TPC_SOURCE_DIR) + "/examples/ntp_relu.tp", "--progress"});
  REQUIRE(r.code == 0);
  CHECK(r.err.find("tpc: limit: kernel gradient descent, stage 1/4, ") != std::string::npos);
  CHECK(r.err.find("tpc: limit: kernel gradient descent, stage 4/4, ") != std::string::npos);
  CHECK(std::regex_search(r.err, std::regex(R"(stage 4/4, \d+ s so far \(.* (each|per s)\)\n)")));
}

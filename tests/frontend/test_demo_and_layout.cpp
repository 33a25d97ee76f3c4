// Issue #13 items 7, 8, 10 at the command line: `tpc demo` shows a network's phase, limit and finite widths
// with the plot; the top-level help names every command family; SP with c = 1 has a kernel limit in `tpc
// limit` and `tpc compare`; wide tables (multi-class cross-entropy) wrap at 100 columns.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <string>

#include "cli_runner.h"

using tp::testing::tpc;

namespace {

std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("tpc-test-layout-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

std::string write(const std::string& name, const std::string& text) {
  const auto p = scratch(name);
  std::ofstream(p) << text;
  return p.string();
}

// The longest line of the text that belongs to a table (starts with "step", a digit, "n = " or blanks).
std::size_t widest_table_line(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::size_t widest = 0;
  while (std::getline(in, line)) {
    const bool table = line.rfind("step", 0) == 0 || line.rfind("n = ", 0) == 0 || (!line.empty() && std::isdigit(
                           static_cast<unsigned char>(line[0]))) || line.rfind("   ", 0) == 0;
    if (!table) continue;
    // count characters, not bytes (± is two bytes)
    std::size_t chars = 0;
    for (unsigned char c : line) chars += (c & 0xC0) != 0x80;
    widest = std::max(widest, chars);
  }
  return widest;
}

const char* sp_c1 = R"(network mlp bias { input 2; dense n relu; dense n relu; readout 1 }
parametrization abc { a = [0, 0, 0]; b = [0, 1/2, 1/2]; c = 1 }
optimizer sgd lr 0.1
loss mse
data { x = [[1, 0], [0, 1], [0.6, 0.8]]; y = [1, -1, 0]; eval = [[0.8, 0.6]] }
train steps 3 batch sample
)";

}  // namespace

TEST_CASE("tpc --help describes every command, the application families' subcommands and the demo") {
  const auto r = tpc({"--help"});
  CHECK(r.code == 0);
  for (const char* word : {"check", "dump", "run", "limit", "phase", "coordcheck", "compare", "kernel", "word2vec",
                           "prepare-corpus", "make-analogies", "maml", "make-dataset", "dataset-info", "demo",
                           "feature learning", "error bar"})
    CHECK_MESSAGE(r.out.find(word) != std::string::npos, word);
}

TEST_CASE("tpc demo: the phase, the limit and finite widths converging to it, with the plot") {
  const auto dir = scratch("demo");
  const auto r = tpc({"demo", "--dir", dir.string(), "--widths", "64,256", "--seeds", "4"});
  CAPTURE(r.err);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("$ tpc phase") != std::string::npos);
  CHECK(r.out.find("FEATURE LEARNING") != std::string::npos);
  CHECK(r.out.find("route: quadrature") != std::string::npos);
  CHECK(r.out.find("n = 256:") != std::string::npos);
  CHECK(r.out.find("convergence: RMS") != std::string::npos);
  CHECK(std::filesystem::file_size(dir / "demo.png") > 1000);
  CHECK(std::filesystem::exists(dir / "demo.tp"));
  // the script it wrote is the one it ran: tpc phase on it works on its own
  CHECK(tpc({"phase", (dir / "demo.tp").string()}).code == 0);
}

TEST_CASE("SP with c = 1: tpc limit and tpc compare use kernel GD without layer 1") {
  const std::string file = write("sp_c1.tp", sp_c1);
  const auto lim = tpc({"limit", file});
  CAPTURE(lim.err);
  REQUIRE(lim.code == 0);
  CHECK(lim.out.find("route: kernel") != std::string::npos);
  CHECK(lim.out.find("layers 2, 3 of 3") != std::string::npos);
  const auto cmp = tpc({"compare", file, "--widths", "64,128", "--seeds", "2"});
  CAPTURE(cmp.err);
  CHECK(cmp.code == 0);
  CHECK(cmp.out.find("route kernel") != std::string::npos);
}

TEST_CASE("multi-class cross-entropy: the limit and compare tables wrap at 100 columns") {
  const std::string file = write("ce5.tp", R"(network mlp { input 2; dense n relu; readout 5 }
parametrization ntp
optimizer sgd lr 0.5
loss cross_entropy
data { x = [[1, 0], [0, 1], [0.6, 0.8], [-1, 0.2]]; y = [0, 1, 4, 2]; eval = [[0.8, 0.6]] }
train steps 2 batch full
)");
  const auto lim = tpc({"limit", file});
  REQUIRE(lim.code == 0);
  CHECK(widest_table_line(lim.out) <= 100);
  CHECK(lim.out.find("eval1[5]") != std::string::npos);  // every column still printed
  const auto cmp = tpc({"compare", file, "--widths", "32,64", "--seeds", "2"});
  REQUIRE(cmp.code == 0);
  CHECK(widest_table_line(cmp.out) <= 100);
  CHECK(cmp.out.find("eval1[5]") != std::string::npos);
}

TEST_CASE("compare --mlp --format json includes the training data it drew") {
  const auto r = tpc({"compare", "--mlp", "1", "--preset", "mup", "--inputs", "3", "--dim", "2", "--widths", "32,64",
                      "--seeds", "2", "--steps", "1", "--format", "json"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("\"data\"") != std::string::npos);
  CHECK(r.out.find("\"x\"") != std::string::npos);
}

TEST_CASE("progress lines give the rate next to the time left") {
  const std::string file = write("sp_c1_progress.tp", sp_c1);
  const auto r = tpc({"compare", file, "--progress", "--widths", "16,32", "--seeds", "2", "--threads", "1"});
  CAPTURE(r.err);
  CHECK(r.code == 0);
  CHECK(r.err.find("tpc: width n = 32: seed 2/2") != std::string::npos);
  CHECK((r.err.find(" per s)") != std::string::npos || r.err.find(" s each)") != std::string::npos));
}

// `tpc phase --free x,y` and network scripts with two free symbols: the faces of the plane grouped by
// verdict (text and JSON), and the errors (a name twice, three names, an unknown name, tied symbols).
#include <unistd.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace {

using tp::testing::tpc;
namespace fs = std::filesystem;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string write_script(const std::string& name, const std::string& parametrization) {
  const fs::path dir = fs::temp_directory_path() / ("tpc_phase_free2_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream f(dir / name);
  f << "network mlp { input 1; dense n tanh; dense n tanh; readout 1 }\n"
    << parametrization << "\noptimizer sgd lr 1\ndata { x = [1]; y = [1] }\n";
  return (dir / name).string();
}

}  // namespace

TEST_CASE("tpc phase --free c,a_3: SP's plane, muP the only feature-learning point, the kernel segment") {
  auto r = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "c,a_3"});
  REQUIRE(r.code == 0);
  CHECK(has(r.out, "c and a_3 free"));
  CHECK(has(r.out, "  feature_learning:\n    c = 0 and a_3 = 1/2\n"));
  CHECK(has(r.out, "  kernel:\n    c + 2 a_3 = 1 and 0 < c <= 1\n"));
  CHECK(has(r.out, "  trivial:\n    a_3 >= 0 and c + a_3 >= 1/2 and c + 2 a_3 > 1\n"));
  CHECK(has(r.out, "unstable, violates init"));
  auto j = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "c, a3", "--format", "json"});
  REQUIRE(j.code == 0);
  auto jj = nlohmann::json::parse(j.out);
  CHECK(jj["ok"] == true);
  CHECK(jj["free"] == nlohmann::json::array({"c", "a_3"}));
  CHECK(jj["c"] == "free");
  int fl = 0;
  for (const auto& region : jj["regions"]) {
    CHECK(region.contains("sample"));
    CHECK(region["sample"].contains("a_3"));
    CHECK(region["conditions"].is_array());
    if (region["regime"] == "feature_learning") {
      ++fl;
      CHECK(region["conditions"] == nlohmann::json::array({"c = 0", "a_3 = 1/2"}));
      CHECK(region["sample"]["c"] == "0");
      CHECK(region["violated"].empty());
    }
    if (region["regime"] == "unstable") CHECK(!region["violated"].empty());
  }
  CHECK(fl == 1);
}

TEST_CASE("tpc phase --free: one exponent keeps its output; two names with a per-layer c and Adam") {
  auto one = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "c"});
  REQUIRE(one.code == 0);
  CHECK(has(one.out, "c free:\n"));
  CHECK(has(one.out, "c = 1"));
  auto adam = tpc({"phase", "--mlp", "2", "--a=0,0,0", "--b=0,1/2,1", "--c-layers=0,1,1", "--optimizer", "adam", "--free",
                   "c_1,c_3", "--format", "json"});
  REQUIRE(adam.code == 0);
  auto aj = nlohmann::json::parse(adam.out);
  CHECK(aj["c_l"] == nlohmann::json::array({"free", "1", "free"}));
  // Adam: r = min(c_1, 0), stable iff c_1 >= 0 and c_3 >= 1: feature learning on the whole closed quadrant, one
  // region (a cell with its two sides and its corner, muP for Adam of TP5 Table 3)
  int fl = 0;
  for (const auto& region : aj["regions"])
    if (region["regime"] == "feature_learning") {
      ++fl;
      CHECK(region["dimension"] == 2);
      CHECK(region["conditions"] == nlohmann::json::array({"c_3 >= 1", "c_1 >= 0"}));
    }
  CHECK(fl == 1);
}

TEST_CASE("tpc phase --free: a name twice, three names and unknown names are errors") {
  auto twice = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "a_3,a3"});
  CHECK(twice.code == 1);
  CHECK(has(twice.err, "a_3 is named twice"));
  auto three = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "c,a_3,b_2"});
  CHECK(three.code == 1);
  CHECK(has(three.err, "at most two free exponents"));
  auto unknown = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "c,x_1"});
  CHECK(unknown.code == 1);
  CHECK(has(unknown.err, "cannot read the free exponent 'x_1'"));
  auto range = tpc({"phase", "--mlp", "2", "--preset", "sp", "--free", "c,a_9", "--format", "json"});
  CHECK(range.code == 1);
  CHECK(has(nlohmann::json::parse(range.out)["error"].get<std::string>(), "layers are 1..3"));
}

TEST_CASE("tpc phase net.tp: a script with two free symbols uses both") {
  const auto two = write_script("two.tp", "parametrization abc { a = [0, 0, s]; b = [0, 1/2, 1/2]; c = c }");
  auto r = tpc({"phase", two});
  REQUIRE(r.code == 0);
  CHECK(has(r.out, "a_3 and c free"));
  CHECK(has(r.out, "  feature_learning:\n    a_3 = 1/2 and c = 0\n"));
  auto j = tpc({"phase", two, "--format", "json"});
  REQUIRE(j.code == 0);
  CHECK(nlohmann::json::parse(j.out)["free"] == nlohmann::json::array({"a_3", "c"}));
  const auto three = write_script("three.tp", "parametrization abc { a = [t, 0, s]; b = [0, 1/2, u]; c = 0 }");
  auto e = tpc({"phase", three});
  CHECK(e.code == 1);
  CHECK(has(e.err, "three.tp:2:51: error: a third free symbol 'u' (after 't' and 's')"));
  const auto tied = write_script("tied.tp", "parametrization abc { a = [0, s, s]; b = [0, 1/2, 1/2]; c = c }");
  auto t = tpc({"phase", tied});
  CHECK(t.code == 1);
  CHECK(has(t.err, "one place only"));
  fs::remove_all(fs::temp_directory_path() / ("tpc_phase_free2_test_" + std::to_string(::getpid())));
}

TEST_CASE("tpc phase --free c prints r and the size exponents as affine functions of c (issue 13.9)") {
  auto r = tp::testing::tpc({"phase", "--mlp", "3", "--preset", "sp", "--free", "c"});
  REQUIRE(r.code == 0);
  CHECK(r.out.find("c > 1         trivial           r = c - 1/2\n") != std::string::npos);
  CHECK(r.out.find("Δf_t 1 - c") != std::string::npos);
  auto j = tp::testing::tpc({"phase", "--mlp", "3", "--preset", "sp", "--free", "c", "--format", "json"});
  REQUIRE(j.code == 0);
  const auto regions = nlohmann::json::parse(j.out)["regions"];
  CHECK(regions[3]["affine"][0]["r"] == "c - 1/2");
  CHECK(regions[3]["affine"][0]["condition"] == "c > 1");
}

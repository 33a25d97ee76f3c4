// `tpc maml train | test | compare` on a synthetic data set (no Omniglot needed): results, JSON, the plot,
// model files, and bad input (flags out of range, too few classes or drawers, missing files) → exit 1 with a
// message naming the flag or file.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "apps/maml/model_io.h"
#include "tests/frontend/cli_runner.h"

using nlohmann::json;
using tp::testing::tpc;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("tpc_maml_cli_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("compare --format json gives a row per model with per-seed accuracies, and writes the plot") {
  const std::string plot = temp_path("compare.png");
  const auto r = tpc({"maml", "compare", "--synthetic", "20", "--widths", "4,64", "--kernels", "linear-ntk,relu-gp",
                      "--meta-steps", "20", "--batch", "8", "--test-tasks", "40", "--seeds", "2", "--plot", plot,
                      "--format", "json", "--threads", "2"});
  REQUIRE_MESSAGE(r.code == 0, (r.out + r.err));
  const json j = json::parse(r.out);
  REQUIRE(j["rows"].size() == 5);
  CHECK(j["rows"][0]["model"] == "4");
  CHECK(j["rows"][2]["model"] == "limit");
  CHECK(j["rows"][3]["model"] == "linear-ntk");
  CHECK(j["rows"][4]["model"] == "relu-gp");
  for (const auto& row : j["rows"]) {
    CHECK(row["accuracy_per_seed"].size() == 2);
    CHECK(row["accuracy_mean"].get<double>() > 0.3);  // well above chance (0.2) on separable synthetic classes
    CHECK(row["accuracy_mean"].get<double>() <= 1.0);
  }
  CHECK(j["rows"][2]["hyper"]["sigma_v"].get<double>() == 0.03125);  // TP4 Table 4, limit
  CHECK(std::filesystem::file_size(plot) > 1000);
  CHECK(r.err.find("tasks/s") != std::string::npos);  // the progress line
  CHECK(r.err.find("ETA") != std::string::npos);
  std::remove(plot.c_str());
}

TEST_CASE("compare text output is a table with mean ± s.d.") {
  const auto r = tpc({"maml", "compare", "--synthetic", "20", "--widths", "16", "--kernels", "none", "--meta-steps", "5",
                      "--batch", "4", "--test-tasks", "20", "--seeds", "2", "--no-progress"});
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("width 16") != std::string::npos);
  CHECK(r.out.find("µP limit") != std::string::npos);
  CHECK(r.out.find(" ± ") != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("train --out writes a model that test reads back with the same validation accuracy") {
  const std::string model = temp_path("limit.model");
  const auto t = tpc({"maml", "train", "--synthetic", "20", "--model", "limit", "--meta-steps", "10", "--batch", "4",
                      "--val-tasks", "30", "--out", model, "--format", "json", "--no-progress"});
  REQUIRE_MESSAGE(t.code == 0, t.err);
  const json jt = json::parse(t.out);
  const auto v = tpc({"maml", "test", model, "--synthetic", "20", "--split", "validation", "--test-tasks", "30", "--format",
                      "json", "--no-progress"});
  REQUIRE_MESSAGE(v.code == 0, v.err);
  const json jv = json::parse(v.out);
  CHECK(jv["accuracy"].get<double>() == jt["validation_accuracy"].get<double>());
  CHECK(jv["meta_steps"] == 10);
  const tp::maml::TrainedModel m = tp::maml::load_model(model);
  CHECK(m.net->hidden() == 64 + 5);
  std::remove(model.c_str());

  const std::string kmodel = temp_path("relu.model");
  REQUIRE(tpc({"maml", "train", "--synthetic", "20", "--model", "relu-ntk", "--meta-steps", "3", "--batch", "4",
               "--val-tasks", "10", "--out", kmodel, "--no-progress"})
              .code == 0);
  const auto k = tpc({"maml", "test", kmodel, "--synthetic", "20", "--test-tasks", "10", "--no-progress"});
  CHECK(k.code == 0);
  CHECK(k.out.find("relu NTK") != std::string::npos);
  std::remove(kmodel.c_str());
}

TEST_CASE("bad input exits 1 with a message naming the flag or file") {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  };
  const std::vector<Case> cases{
      {{"maml", "compare", "--synthetic", "20", "--seeds", "0"}, "--seeds"},
      {{"maml", "compare", "--synthetic", "20", "--ways", "1"}, "--ways"},
      {{"maml", "train", "--synthetic", "20", "--inner-lr", "-1"}, "--inner-lr"},
      {{"maml", "train", "--synthetic", "20", "--model", "wide"}, "--model"},
      {{"maml", "compare", "--synthetic", "20", "--widths", "8,x"}, "--widths"},
      {{"maml", "compare", "--synthetic", "20", "--kernels", "tanh-gp"}, "--kernels"},
      {{"maml", "compare", "--synthetic", "20", "--sweep", "--grid-meta-lr", "0.1,abc"}, "--grid-meta-lr"},
      // fewer classes than ways: the synthetic validation split has 5 classes
      {{"maml", "train", "--synthetic", "20", "--ways", "6", "--meta-steps", "1"}, "fewer than --ways 6"},
      // fewer drawers (20) than shots + queries
      {{"maml", "train", "--synthetic", "20", "--shots", "15", "--query-shots", "6", "--meta-steps", "1"}, "--shots 15"},
      {{"maml", "train", "--omniglot", "/nonexistent/omniglot", "--meta-steps", "1"}, "/nonexistent/omniglot"},
      {{"maml", "test", "/nonexistent/model.bin", "--synthetic", "20"}, "/nonexistent/model.bin"},
      // a width whose meta-step needs several GiB: refused before any work, with the figure
      {{"maml", "train", "--synthetic", "20", "--model", "1048576", "--memory-budget", "1", "--meta-steps", "1"},
       "training the width 1048576 model on 64-pixel images needs about"},
      {{"maml", "compare", "--synthetic", "20", "--widths", "4,1048576", "--no-limit", "--kernels", "", "--memory-budget", "1"},
       "over the memory budget of 1 GiB"},
      {{"maml", "train", "--synthetic", "20", "--memory-budget", "0"}, "--memory-budget"},

  };
  for (const auto& c : cases) {
    const auto r = tpc(c.args);
    CAPTURE(c.expect);
    CHECK(r.code == 1);
    CHECK((r.err + r.out).find(c.expect) != std::string::npos);
  }
  const std::string junk = temp_path("junk.model");
  std::ofstream(junk) << "not a model\n";
  const auto r = tpc({"maml", "test", junk, "--synthetic", "20"});
  CHECK(r.code == 1);
  CHECK(r.err.find("not a tpc maml model") != std::string::npos);
  std::remove(junk.c_str());
}

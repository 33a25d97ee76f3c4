// run_graph_coordcheck (frontend/graph_coordcheck_command.h): the table with predictions and agreement,
// the top singular values, the mup-style PNG, JSON rows, and errors for bad widths and a diverging run.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "../limits/block_predictions.h"
#include "frontend/graph_coordcheck_command.h"

using namespace tp;

namespace {

limits::TransformerBlockOptions small_block() {
  limits::TransformerBlockOptions o;
  o.zero_query = true;
  o.training.lr = 0.05;
  o.training.steps = 1;
  return o;
}

}  // namespace

TEST_CASE("graph coordcheck prints measured exponents beside the predictions and writes the plot") {
  const auto o = small_block();
  const std::string png = "/tmp/tpc-test-graph-coordcheck.png";
  std::remove(png.c_str());
  frontend::GraphCoordCheckArgs args;
  args.widths = "64,128,256";
  args.seeds = 3;
  args.plot = png;
  std::ostringstream out, err;
  REQUIRE(frontend::run_graph_coordcheck(limits::transformer_block(o), test::mup_adam_block_predictions(o), args, out, err) == 0);
  const std::string text = out.str();
  CHECK(text.find("Δattn.logits") != std::string::npos);
  CHECK(text.find("0 exactly") != std::string::npos);  // the zero-initialized query's logits and matrix at init
  CHECK(text.find("top singular value") != std::string::npos);
  CHECK(text.find("all predicted exponents agree") != std::string::npos);
  std::ifstream in(png, std::ios::binary);
  char magic[4] = {};
  in.read(magic, 4);
  CHECK(std::string(magic + 1, 3) == "PNG");
  // a wrong prediction is flagged
  auto wrong = test::mup_adam_block_predictions(o);
  for (auto& p : wrong)
    if (p.node == "fc2" && p.step == 1 && !p.delta) p.exponent = 1;
  std::ostringstream out2, err2;
  args.plot.clear();
  REQUIRE(frontend::run_graph_coordcheck(limits::transformer_block(o), wrong, args, out2, err2) == 0);
  CHECK(out2.str().find(" DIFF ") != std::string::npos);
  CHECK(out2.str().find("1 quantities disagree") != std::string::npos);
}

TEST_CASE("graph coordcheck JSON rows; bad widths and a diverging run exit 1 with the reason") {
  const auto o = small_block();
  frontend::GraphCoordCheckArgs args;
  args.widths = "32,64";
  args.seeds = 2;
  args.format = "json";
  std::ostringstream out, err;
  REQUIRE(frontend::run_graph_coordcheck(limits::transformer_block(o), test::mup_adam_block_predictions(o), args, out, err) == 0);
  const auto j = nlohmann::json::parse(out.str());
  CHECK(j["ok"] == true);
  CHECK(j["rows"].size() == 2 * 12 + 12);  // x_0, x_1 and Δx_1 of 11 nodes and the logits
  CHECK(j["disagreements"].is_number());
  args.format = "text";
  args.widths = "64,32";
  std::ostringstream o2, e2;
  CHECK(frontend::run_graph_coordcheck(limits::transformer_block(o), {}, args, o2, e2) == 1);
  CHECK(e2.str().find("increasing") != std::string::npos);
  auto diverge = small_block();
  diverge.training.optimizer = Optimizer::sgd;
  diverge.training.lr = 1e200;
  args.widths = "32,64";
  std::ostringstream o3, e3;
  CHECK(frontend::run_graph_coordcheck(limits::transformer_block(diverge), {}, args, o3, e3) == 1);
  CHECK(e3.str().find("became NaN or infinite") != std::string::npos);
}

// `tpc phase --optimizer sgd|adam|signsgd --c-layers ...`: text and JSON output, negative per-layer values,
// free exponents with each optimizer, and the flag errors (wrong count, non-rational, unknown optimizer).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "cli_runner.h"

namespace {

using tp::testing::tpc;

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("tpc phase: muP for Adam (TP5 Table 3) is feature learning with every layer updated maximally") {
  auto r = tpc({"phase", "--mlp", "2", "--a=0,0,0", "--b=0,1/2,1", "--c-layers=0,1,1", "--optimizer", "adam", "--format",
                "json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["ok"] == true);
  CHECK(j["optimizer"] == "adam");
  CHECK(j["c_l"] == nlohmann::json::array({"0", "1", "1"}));
  CHECK(j["c"].is_null());
  CHECK(j["regime"] == "feature_learning");
  CHECK(j["r_l"] == nlohmann::json::array({"0", "0"}));
  CHECK(j["u_l"] == nlohmann::json::array({"0", "1", "1"}));
  CHECK(j["updated_maximally"] == nlohmann::json::array({true, true, true}));
  CHECK(j["feature_learning_by_layer"] == nlohmann::json::array({true, true}));
  auto t = tpc({"phase", "--mlp", "2", "--a=0,0,0", "--b=0,1/2,1", "--c-layers=0,1,1", "--optimizer", "signsgd"});
  REQUIRE(t.code == 0);
  CHECK(has(t.out, "SignSGD with per-layer learning rates"));
  CHECK(has(t.out, "FEATURE LEARNING"));
  CHECK(has(t.out, "a_l + c_l"));
  // the same exponents trained by SGD are not muP
  auto s = tpc({"phase", "--mlp", "2", "--a=0,0,0", "--b=0,1/2,1", "--c-layers=0,1,1", "--format", "json"});
  REQUIRE(s.code == 0);
  auto sj = nlohmann::json::parse(s.out);
  CHECK(sj["optimizer"] == "sgd");
  CHECK(sj["regime"] != "feature_learning");
}

TEST_CASE("tpc phase: --c-layers takes negative values with '=' and as a separate word; global c is reported") {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"phase", "--mlp", "2", "--a", "0,0,0", "--b", "0,1/2,1", "--c-layers=-1,0,1", "--format", "json"},
        std::vector<std::string>{"phase", "--mlp", "2", "--a", "0,0,0", "--b", "0,1/2,1", "--c-layers", "-1,0,1", "--format", "json"}}) {
    auto r = tpc(args);
    REQUIRE(r.code == 0);
    auto j = nlohmann::json::parse(r.out);
    CHECK(j["c_l"] == nlohmann::json::array({"-1", "0", "1"}));
    CHECK(j["regime"] == "feature_learning");  // TP5 Table 3, SGD column
  }
  auto g = tpc({"phase", "--mlp", "2", "--preset", "mup", "--format", "json"});
  auto gj = nlohmann::json::parse(g.out);
  CHECK(gj["c"] == "0");
  CHECK(gj["c_l"] == nlohmann::json::array({"0", "0", "0"}));
  CHECK(gj["optimizer"] == "sgd");
}

TEST_CASE("tpc phase: SP with Adam and a global learning rate is unstable at c = 0; --free c finds c = 3/2") {
  auto r = tpc({"phase", "--mlp", "2", "--preset", "sp", "--optimizer", "adam", "--format", "json"});
  REQUIRE(r.code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["regime"] == "unstable");
  CHECK(j["instability_reasons"].size() == 3);
  auto f = tpc({"phase", "--mlp", "2", "--preset", "sp", "--optimizer", "adam", "--free", "c"});
  REQUIRE(f.code == 0);
  CHECK(has(f.out, "Adam"));
  CHECK(has(f.out, "c = 3/2       kernel"));
  CHECK(has(f.out, "a_out+c_out<1"));
  auto fj = tpc({"phase", "--mlp", "2", "--preset", "sp", "--optimizer", "adam", "--free", "c", "--format", "json"});
  auto fjj = nlohmann::json::parse(fj.out);
  CHECK(fjj["optimizer"] == "adam");
  CHECK(fjj["c"] == "free");
  // a free per-layer exponent
  auto c2 = tpc({"phase", "--mlp", "2", "--a=0,0,0", "--b=0,1/2,1", "--c-layers=0,1,1", "--optimizer", "adam", "--free",
                 "c_2", "--format", "json"});
  REQUIRE(c2.code == 0);
  auto c2j = nlohmann::json::parse(c2.out);
  CHECK(c2j["free"] == "c_2");
  CHECK(c2j["c_l"][1] == "free");
  CHECK(c2j["regions"][0]["condition"] == "c_2 < 1");
  CHECK(c2j["regions"][0]["regime"] == "unstable");
}

TEST_CASE("tpc phase: clear errors for the optimizer and per-layer learning rates") {
  auto unknown = tpc({"phase", "--mlp", "2", "--preset", "mup", "--optimizer", "adamw"});
  CHECK(unknown.code == 1);
  CHECK(has(unknown.err, "unknown optimizer 'adamw'"));
  CHECK(has(unknown.err, "sgd, adam or signsgd"));
  auto unknown_json = tpc({"phase", "--mlp", "2", "--preset", "mup", "--optimizer", "adamw", "--format", "json"});
  CHECK(unknown_json.code == 1);
  CHECK(nlohmann::json::parse(unknown_json.out)["ok"] == false);
  auto count = tpc({"phase", "--mlp", "2", "--preset", "mup", "--c-layers=0,1"});
  CHECK(count.code == 1);
  CHECK(has(count.err, "--c-layers has 2 entries"));
  CHECK(has(count.err, "needs L+1 = 3"));
  auto bad = tpc({"phase", "--mlp", "2", "--preset", "mup", "--c-layers=0,1/x,1"});
  CHECK(bad.code == 1);
  CHECK(has(bad.err, "--c-layers: cannot read '1/x'"));
  auto both = tpc({"phase", "--mlp", "2", "--preset", "mup", "--c-layers=0,1,1", "--c", "1"});
  CHECK(both.code == 1);
  CHECK(has(both.err, "not both"));
  auto free_c = tpc({"phase", "--mlp", "2", "--preset", "mup", "--c-layers=0,1,1", "--free", "c"});
  CHECK(free_c.code == 1);
  CHECK(has(free_c.err, "--free c_1"));
  auto free_range = tpc({"phase", "--mlp", "2", "--preset", "mup", "--free", "c_4"});
  CHECK(free_range.code == 1);
  CHECK(has(free_range.err, "1..3"));
  // --c may be omitted when --c-layers is given
  auto no_c = tpc({"phase", "--mlp", "1", "--a", "0,0", "--b", "0,1", "--c-layers", "0,1", "--optimizer", "adam"});
  CHECK(no_c.code == 0);
  auto help = tpc({"phase", "--help"});
  CHECK(help.code == 0);
  CHECK(has(help.out, "--optimizer"));
  CHECK(has(help.out, "--c-layers"));
}

// The IR route for graph scripts (tp/graph_unroll): TP5's Tables 3, 8, 9 for SGD through the unrolled program
// (the three forms give the same sizes, µP alone learns features), TP5 Def. 4.1's 1/d vs 1/√d read off the
// program's logits, and the CLI: `tpc phase` prints the routes' agreement, `tpc dump` prints a program that
// parses back, both refuse over --memory-budget with the figure.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "tp/graph_unroll.h"
#include "tp/printer.h"
#include "tp/verify.h"
#include "tests/compile_text.h"

using tp::frontend::DiagnosticEngine;
using tp::testing::compile_graph;

namespace {

std::string block(const std::string& attention, const std::string& param, const std::string& opt, int steps = 2) {
  return "network graph {\n"
         "  input 4 positions 3\n"
         "  embedding n as h\n"
         "  layernorm\n"
         "  attention heads 2 " + attention + "\n"
         "  add h as h\n"
         "  rmsnorm\n"
         "  dense n relu\n"
         "  dense n\n"
         "  bias\n"
         "  add h as h\n"
         "  readout 1 bias\n"
         "}\n" + param + "\n" + opt + "\n"
         "data { x = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]; y = [1] }\n"
         "train steps " + std::to_string(steps) + "\n";
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

tp::GraphUnrolled ir(const tp::GraphSpec& g) { return tp::unroll_graph(tp::graph_representative_spec(g)); }

std::string sizes_text(const tp::GraphUnrolled& u) {
  std::string s;
  for (const auto& p : u.sizes) s += p.node + (p.delta ? "Δ" : "") + std::to_string(p.step) + "=" + (p.vanishes ? "0" : tp::to_string(p.exponent)) + " ";
  return s;
}

tp::PredictedSize size_of(const tp::GraphUnrolled& u, const std::string& node, int step, bool delta) {
  for (const auto& p : u.sizes)
    if (p.node == node && p.step == step && p.delta == delta) return p;
  FAIL("no size for " << node);
  return {};
}

// The verdict read off the program's sizes: unstable if a value grows, feature learning if a width-n node
// moves by Θ(1), else neither.
std::string ir_verdict(const tp::GraphSpec& g, const tp::GraphUnrolled& u) {
  for (const auto& p : u.sizes)
    if (!p.vanishes && p.exponent > 0 && !(p.node.size() > 7 && p.node.substr(p.node.size() - 7) == ".logits" && g.positions == 1))
      return "unstable";
  for (const auto& v : g.nodes) {
    if (v.op == tp::GraphOp::input || v.op == tp::GraphOp::readout) continue;
    for (int t = 1; t <= u.steps; ++t) {
      const auto p = size_of(u, v.name, t, true);
      if (!p.vanishes && p.exponent == 0) return "feature_learning";
    }
  }
  return "other";
}

}  // namespace

TEST_CASE("TP5 Tables 3, 8, 9 (SGD) through the IR route: the forms agree, µP alone learns features, both routes agree") {
  for (const char* preset : {"mup", "sp", "ntp"}) {
    std::vector<std::string> seen;
    for (const char* form : {"table3", "table8", "table9"}) {
      const tp::GraphSpec g = compile_graph(block("logit (1/d)", std::string("parametrization ") + preset + " form " + form, "optimizer sgd lr 0.1"));
      const tp::GraphUnrolled u = ir(g);
      const tp::GraphPhase ph = tp::graph_phase(g);
      const auto cmp = tp::compare_graph_routes(g, ph, u);
      std::string why = std::string(preset) + " " + form;
      for (const auto& m : cmp.mismatches) why += "\n" + m;
      INFO(why);
      CHECK(cmp.agree);
      CHECK(cmp.compared > (std::string(preset) == "sp" ? 20 : 50));
      seen.push_back(sizes_text(u));
      const std::string v = ir_verdict(g, u);
      CHECK((v == "feature_learning") == (std::string(preset) == "mup"));
      CHECK((v == "unstable") == (ph.regime == tp::Regime::unstable));
      CHECK((v == "feature_learning") == (ph.regime == tp::Regime::feature_learning));
    }
    INFO(std::string(preset));
    CHECK(seen[0] == seen[1]);
    CHECK(seen[0] == seen[2]);
  }
}

TEST_CASE("TP5 Tables 3, 8, 9 (Adam, SignSGD) through the IR route: TP4b's outer nonlinearity, the forms agree, µP alone learns features") {
  for (const char* opt : {"optimizer adam lr 0.01", "optimizer signsgd lr 0.01"}) {
    for (const char* preset : {"mup", "sp", "ntp"}) {
      std::vector<std::string> seen;
      for (const char* form : {"table3", "table8", "table9"}) {
        const tp::GraphSpec g = compile_graph(block("logit (1/d)", std::string("parametrization ") + preset + " form " + form, opt));
        const tp::GraphUnrolled u = ir(g);
        const tp::GraphPhase ph = tp::graph_phase(g);
        const auto cmp = tp::compare_graph_routes(g, ph, u);
        std::string why = std::string(opt) + " " + preset + " " + form;
        for (const auto& m : cmp.mismatches) why += "\n" + m;
        INFO(why);
        int outer = 0;
        for (const auto& v : u.program.values()) outer += v.op == tp::Op::OuterNonlin ? 1 : 0;
        CHECK(outer > 20);  // every use of an updated width × width matrix
        CHECK(cmp.agree);
        CHECK(cmp.compared > (std::string(preset) == "mup" ? 50 : 10));  // sp, ntp + Adam blow up at step 1
        seen.push_back(sizes_text(u));
        const std::string v = ir_verdict(g, u);
        CHECK((v == "feature_learning") == (std::string(preset) == "mup"));
        CHECK((v == "unstable") == (ph.regime == tp::Regime::unstable));
        CHECK((v == "feature_learning") == (ph.regime == tp::Regime::feature_learning));
      }
      const std::string what = std::string(opt) + " " + preset;
      INFO(what);
      CHECK(seen[0] == seen[1]);
      CHECK(seen[0] == seen[2]);
    }
  }
  // SP + Adam at a width-independent learning rate blows up at step 1 (TP5 §3): the IR route sees it too
  const tp::GraphSpec spg = compile_graph(block("logit (1/d)", "parametrization sp", "optimizer adam lr 0.01"));
  CHECK(ir_verdict(spg, ir(spg)) == "unstable");
}

TEST_CASE("a tied readout and weight decay through the IR route: both routes agree; a fixed head_dim is refused with why") {
  auto swap = [](std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    REQUIRE(at != std::string::npos);
    return s.replace(at, from.size(), to);
  };
  for (const char* opt : {"optimizer sgd lr 0.1", "optimizer adam lr 0.01", "optimizer adam lr 0.01 weight_decay 0.1"}) {
    for (const char* form : {"table8", "table9"}) {
      const std::string text = swap(swap(block("logit (1/d)", std::string("parametrization mup form ") + form, opt), "readout 1 bias", "readout 4 tied"),
                                    "y = [1]", "y = [[1, 0, 0, 0]]");
      const tp::GraphSpec g = compile_graph(text);
      REQUIRE(!g.tied.empty());
      const tp::GraphUnrolled u = ir(g);
      const auto cmp = tp::compare_graph_routes(g, tp::graph_phase(g), u);
      std::string why = std::string(opt) + " " + form;
      for (const auto& m : cmp.mismatches) why += "\n" + m;
      INFO(why);
      CHECK(cmp.agree);
      CHECK(cmp.compared > 50);
      CHECK(size_of(u, "readout", 0, false).exponent == 0);  // w_0ᵀ meets w_0 ξ in the residual stream: LLN (untied: −1/2)
      CHECK(ir_verdict(g, u) == "feature_learning");
    }
  }
  const tp::GraphSpec hd = compile_graph(swap(block("logit (1/d)", "parametrization mup", "optimizer adam lr 0.01"), "attention heads 2", "attention head_dim 8"));
  const std::string why = tp::graph_unroll_unsupported(hd);
  CHECK(why.find("fixed head dimension (8)") != std::string::npos);
  CHECK(why.find("each head's logit is an average over finitely many coordinates") != std::string::npos);
  CHECK(why.find("not a NETSOR⊤ program") != std::string::npos);
}

TEST_CASE("TP5 Def. 4.1 through the IR route: logits q·k/d are Θ(1) after an update, q·k/√d grow like n^(1/2)") {
  const std::string mup = "parametrization mup", sgd = "optimizer sgd lr 0.1";
  const tp::GraphUnrolled d = ir(compile_graph(block("logit (1/d)", mup, sgd)));
  const tp::GraphUnrolled sqrt_d = ir(compile_graph(block("logit (1/sqrt(d))", mup, sgd)));
  CHECK(size_of(d, "attention.logits", 0, false).exponent == tp::Rational(-1, 2));  // CLT over n/H at init
  // SGD step 1: every part of Δq·k is CLT or carries ∂f/∂ℓ's CLT factor (the parity rule; measured n^-0.45)
  CHECK(size_of(d, "attention.logits", 1, true).exponent == tp::Rational(-1, 2));
  CHECK(size_of(sqrt_d, "attention.logits", 0, false).exponent == 0);
  CHECK(size_of(sqrt_d, "attention.logits", 1, true).exponent == tp::Rational(1, 2));
  // a zero-initialized query: logits exactly 0 at init; the first update of q is driven by ∂L/∂A, a CLT-sized
  // average at init (gradient independence), so Δℓ_1 = n^(-1/2); from step 2 on ∂L/∂A is an LLN average: Θ(1)
  const tp::GraphUnrolled zq = ir(compile_graph(block("logit (1/d) zero_query", mup, sgd)));
  CHECK(size_of(zq, "attention.logits", 0, false).vanishes);
  CHECK(size_of(zq, "attention.logits", 1, true).exponent == tp::Rational(-1, 2));
  CHECK(size_of(zq, "attention.logits", 2, true).exponent == 0);
}

TEST_CASE("tpc phase prints the routes' agreement for graph scripts; tpc dump prints a program that parses back") {
  const std::string path = "graph_ir_route_" + std::to_string(::getpid()) + ".tp";
  const std::string adam_path = "graph_ir_route_adam_" + std::to_string(::getpid()) + ".tp";
  write_file(path, block("logit (1/d) causal", "parametrization mup", "optimizer sgd lr 0.1"));
  write_file(adam_path, block("logit (1/d)", "parametrization mup", "optimizer adam lr 0.01"));
  const auto r = tp::testing::tpc({"phase", path});
  CHECK(r.code == 0);
  CHECK(r.out.find("the routes agree") != std::string::npos);
  const auto j = tp::testing::tpc({"phase", path, "--format", "json"});
  REQUIRE(j.code == 0);
  const auto parsed = nlohmann::json::parse(j.out);
  CHECK(parsed["ir_route"]["agree"] == true);
  CHECK(parsed["ir_route"]["compared"].get<int>() > 50);
  const auto a = tp::testing::tpc({"phase", adam_path});
  CHECK(a.code == 0);
  CHECK(a.out.find("the routes agree") != std::string::npos);
  const auto refused = tp::testing::tpc({"phase", path, "--memory-budget", "0.000001"});
  CHECK(refused.code == 0);  // the graph calculus still answers; the second route says why it did not run
  CHECK(refused.out.find("GiB for the program") != std::string::npos);
  CHECK(refused.out.find("raise --memory-budget") != std::string::npos);

  const auto d = tp::testing::tpc({"dump", path});
  REQUIRE(d.code == 0);
  DiagnosticEngine diags;
  const auto again = tp::frontend::compile_source(d.out, diags);
  REQUIRE(again);
  CHECK(tp::verify(*again).empty());
  CHECK(tp::dump(*again) == d.out);
  CHECK(again->uses_transpose());
  CHECK(again->outputs().size() == 3);  // f at steps 0, 1, 2 of the one example
  const auto over = tp::testing::tpc({"dump", path, "--memory-budget", "0.000001"});
  CHECK(over.code == 1);
  CHECK(over.err.find("tpc dump: error: unrolling 2 training steps of the graph needs about") != std::string::npos);
  CHECK(over.err.find("raise --memory-budget") != std::string::npos);
  std::remove(path.c_str());
  std::remove(adam_path.c_str());
}

TEST_CASE("a dumped Adam program (TP4b's outer_avg) parses back, verifies, runs at finite width; the limit routes refuse it") {
  const std::string path = "graph_ir_adam_" + std::to_string(::getpid()) + ".tp";
  const std::string dumped = "graph_ir_adam_dump_" + std::to_string(::getpid()) + ".tp";
  write_file(path, "network graph {\n  input 2 positions 1\n  embedding n\n  dense n tanh\n  dense n\n  readout 1\n}\n"
                   "parametrization mup\noptimizer adam lr 0.05 weight_decay 0.1\ndata { x = [[1, 0]]; y = [1] }\ntrain steps 2\n");
  const auto ph = tp::testing::tpc({"phase", path});
  CHECK(ph.code == 0);
  CHECK(ph.out.find("the routes agree") != std::string::npos);
  const auto d = tp::testing::tpc({"dump", path});
  REQUIRE(d.code == 0);
  CHECK(d.out.find("outer_avg(") != std::string::npos);
  DiagnosticEngine diags;
  const auto again = tp::frontend::compile_source(d.out, diags);
  REQUIRE(again);
  CHECK(tp::verify(*again).empty());
  CHECK(tp::dump(*again) == d.out);
  CHECK(!again->outer_nonlin_refusal().empty());
  write_file(dumped, d.out);
  const auto chk = tp::testing::tpc({"check", dumped});
  CHECK(chk.code == 0);
  CHECK(chk.out.find("outer nonlinearities") != std::string::npos);
  const auto run = tp::testing::tpc({"run", dumped, "--width", "32", "--seeds", "2"});
  CHECK(run.code == 0);
  CHECK(run.out.find("f_t2_e1_k1") != std::string::npos);
  const auto lph = tp::testing::tpc({"phase", dumped});  // the level-1 propagation does not size outer_avg: says so
  CHECK(lph.code == 0);
  CHECK(lph.out.find("f_t1_e1_k1 (line") != std::string::npos);
  CHECK(lph.out.find("unknown (it depends on an outer nonlinearity outer_avg") != std::string::npos);
  CHECK(lph.out.find("stable: no value grows with n") == std::string::npos);
  const auto lim = tp::testing::tpc({"limit", dumped});
  CHECK(lim.code == 1);
  CHECK(lim.err.find("TP4b's Master Theorem, which tpc does not evaluate") != std::string::npos);
  // `tpc run` on the script itself runs the same program: bitwise the dump's numbers
  const auto direct = tp::testing::tpc({"run", path, "--width", "32", "--seeds", "2"});
  CHECK(direct.code == 0);
  CHECK(direct.out.substr(direct.out.find('\n')) == run.out.substr(run.out.find('\n')));  // after the file name
  const auto glim = tp::testing::tpc({"limit", path});
  CHECK(glim.code == 1);
  CHECK(glim.err.find("'tpc run' or 'tpc coordcheck' to train it at finite widths") != std::string::npos);
  std::remove(path.c_str());
  std::remove(dumped.c_str());
}

TEST_CASE("outer_avg in a level-1 program: x' marks the summed coordinate; misuse is an error at its word") {
  DiagnosticEngine diags;
  const auto p = tp::frontend::compile_source(
      "input g, x ~ N(0, 1)\ny = outer_avg(sign(g * x') * x')\noutput avg(y * g)\n", diags);
  REQUIRE(p);
  const tp::Value& y = p->value(p->find("y"));
  CHECK(y.op == tp::Op::OuterNonlin);
  CHECK(y.column == std::vector<bool>{false, true});
  CHECK(tp::dump(*p).find("y = outer_avg(sign(g * x') * x')") != std::string::npos);
  for (const char* bad : {"input x ~ N(0, 1)\ny = outer_avg(x * x)\noutput avg(y)\n",        // no column vector
                          "input x ~ N(0, 1)\ny = x' * x\noutput avg(y)\n",                   // x' outside outer_avg
                          "input x ~ N(0, 1)\ny = outer_avg(avg(x') * x')\noutput avg(y)\n"}) {  // x' inside avg
    DiagnosticEngine d2;
    CHECK_FALSE(tp::frontend::compile_source(bad, d2));
  }
}

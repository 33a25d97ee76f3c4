// Graph network scripts (frontend/network_script.h, `network graph { ... }`) and `tpc phase` on them: the
// example Transformer block, TP5's Tables 3, 8, 9 for SGD and Adam, SP's blow-up under Adam, the 1/d vs 1/√d
// attention rule (TP5 Def. 4.1), an MLP written as a graph against the MLP script (random abc values), and
// every bad input at its line:col.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "cli_runner.h"
#include "frontend/network_script.h"
#include "tp/graph_phase.h"
#include "tests/compile_text.h"

namespace fs = std::filesystem;
using tp::frontend::DiagnosticEngine;
using tp::testing::compile_graph;

namespace {

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const fs::path kExample = fs::path(TPC_SOURCE_DIR) / "examples" / "transformer_block.tp";

std::string errors(const std::string& text) {
  DiagnosticEngine diags;
  CHECK_FALSE(tp::frontend::compile_graph_network(text, "", diags).has_value());
  return tp::frontend::render(diags.diagnostics(), {"net.tp", text});
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// A Transformer block with the given attention options, parametrization line and optimizer line.
std::string block(const std::string& attention, const std::string& param, const std::string& opt) {
  return "network graph {\n"
         "  input 4 positions 3\n"
         "  embedding n as h\n"
         "  layernorm\n"
         "  attention heads 2 " + attention + "\n"
         "  add h as h\n"
         "  layernorm\n"
         "  dense n relu\n"
         "  dense n\n"
         "  add h as h\n"
         "  readout 1 bias\n"
         "}\n" + param + "\n" + opt + "\n"
         "data { x = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]; y = [1] }\n"
         "train steps 2\n";
}

// Per tensor: init size, update size, maximal, features; then the regime and every predicted size.
std::string exponents(const tp::GraphPhase& ph) {
  std::string v(tp::regime_name(ph.regime));
  for (const auto& t : ph.tensors)
    v += "|" + t.name + ":" + tp::size_text(t.init_output) + "," + tp::size_text(t.update_effect) +
         (t.updated_maximally ? "M" : "m") + (t.learns_features ? "F" : "f");
  for (const auto& s : ph.sizes) v += "|" + tp::to_string(s.exponent) + (s.known ? "" : "?") + (s.vanishes ? "0" : "");
  return v;
}

}  // namespace

TEST_CASE("the Transformer block example lowers to the graph it describes and is µP: feature learning, every tensor maximal") {
  const tp::GraphSpec g = compile_graph(read(kExample));
  CHECK(g.positions == 3);
  CHECK(g.input_dim == 4);
  CHECK(g.depth == 2);
  CHECK(g.training.optimizer == tp::Optimizer::adam);
  CHECK(g.nodes.back().op == tp::GraphOp::readout);
  int attention = 0;
  for (const auto& v : g.nodes)
    if (v.op == tp::GraphOp::attention) {
      ++attention;
      CHECK(v.causal);
      CHECK(v.logit_scale == tp::LogitScale::inverse_d);
      CHECK(g.params[static_cast<std::size_t>(v.params[0])].scaling.zero_init);  // zero_query
      CHECK(g.params[static_cast<std::size_t>(v.params[0])].scaling.c == 1);    // Adam µP hidden: η/fan_in
    }
  CHECK(attention == 2);
  // The residual stream: block2's first add reads block1's last add.
  const auto& add = *std::find_if(g.nodes.begin(), g.nodes.end(), [](const auto& v) { return v.name == "block2.h"; });
  CHECK(g.nodes[static_cast<std::size_t>(add.inputs[0])].name == "block1.h_2");
  const tp::GraphPhase ph = tp::graph_phase(g);
  CHECK(ph.regime == tp::Regime::feature_learning);
  for (const auto& t : ph.tensors) {
    INFO(t.name);
    CHECK(t.updated_maximally);
  }
  const auto r = tp::testing::tpc({"phase", kExample.string()});
  CHECK(r.code == 0);
  CHECK(r.out.find("verdict: feature learning") != std::string::npos);
  CHECK(r.out.find("block1.attention.q") != std::string::npos);
}

TEST_CASE("TP5 Tables 3, 8 and 9: the three forms give the same exponents and verdicts, for SGD and Adam") {
  for (const char* opt : {"optimizer sgd lr 0.1", "optimizer adam lr 0.01"})
    for (const char* preset : {"mup", "sp", "ntp"}) {
      std::vector<std::string> seen;
      for (const char* form : {"table3", "table8", "table9"})
        seen.push_back(exponents(tp::graph_phase(
            compile_graph(block("logit (1/d)", std::string("parametrization ") + preset + " form " + form, opt)))));
      INFO(opt << " " << preset);
      CHECK(seen[0] == seen[1]);
      CHECK(seen[0] == seen[2]);
      const bool mup = std::string(preset) == "mup";
      CHECK((seen[0].rfind("feature_learning", 0) == 0) == mup);
    }
}

TEST_CASE("SP blows up under Adam at a width-independent learning rate, at step 1, and tpc names the tensor") {
  const tp::GraphPhase ph =
      tp::graph_phase(compile_graph(block("logit (1/sqrt(d))", "parametrization sp", "optimizer adam lr 0.001")));
  CHECK(ph.regime == tp::Regime::unstable);
  CHECK(ph.first_step == 1);
  // Θ(1) update entries summed over n inputs: the first hidden tensor's output grows like n.
  CHECK(ph.first_tensor == "attention.q");
  CHECK(ph.first_problem.find("grows like n^1") != std::string::npos);
  CHECK(ph.first_range.begin.line == 5);
  const auto r = tp::testing::tpc({"phase", kExample.string(), "--format", "json"});
  REQUIRE(r.code == 0);
  CHECK(nlohmann::json::parse(r.out)["regime"] == "feature_learning");
}

TEST_CASE("TP5 Def. 4.1: attention logits q·k/d are Θ(1) after updates in µP; with 1/√d they blow up like n^(1/2)") {
  const std::string param = "parametrization mup", adam = "optimizer adam lr 0.01";
  const tp::GraphPhase d = tp::graph_phase(compile_graph(block("logit (1/d)", param, adam)));
  const tp::GraphPhase sqrt_d = tp::graph_phase(compile_graph(block("logit (1/sqrt(d))", param, adam)));
  auto size = [](const tp::GraphPhase& ph, const std::string& node, int step, bool delta) {
    for (const auto& s : ph.sizes)
      if (s.node == node && s.step == step && s.delta == delta) return s;
    FAIL("missing " << node);
    return tp::PredictedSize{};
  };
  CHECK(d.regime == tp::Regime::feature_learning);
  CHECK(size(d, "attention.logits", 0, false).exponent == tp::Rational(-1, 2));  // q·k/d at init: CLT over n/H
  CHECK(size(d, "attention.logits", 1, true).exponent == 0);                     // Δq correlated with k: LLN
  CHECK(sqrt_d.regime == tp::Regime::unstable);
  CHECK(size(sqrt_d, "attention.logits", 0, false).exponent == 0);
  CHECK(sqrt_d.first_problem.find("'attention.logits' after step 1 grows like n^(1/2)") != std::string::npos);
  // The same for SGD µP.
  const tp::GraphPhase sgd = tp::graph_phase(compile_graph(block("logit (1/sqrt(d))", param, "optimizer sgd lr 0.1")));
  CHECK(sgd.regime == tp::Regime::unstable);
  CHECK(sgd.first_problem.find("attention.logits") != std::string::npos);
  // A fixed head dimension makes the scale a constant: no width growth either way.
  const tp::GraphPhase fixed = tp::graph_phase(compile_graph(
      replace(block("logit (1/sqrt(d))", param, adam), "attention heads 2", "attention head_dim 8")));
  CHECK(fixed.regime == tp::Regime::feature_learning);
}

TEST_CASE("an MLP written as a graph gets the MLP script's verdict over random abc values (SGD and Adam)") {
  std::mt19937_64 rng(14);
  std::uniform_int_distribution<int> num(-2, 2), coin(0, 1);
  auto r = [&](int base2) { return tp::to_string(tp::Rational(base2 + num(rng) * coin(rng), 2)); };
  int regimes[4] = {0, 0, 0, 0};
  for (int trial = 0; trial < 60; ++trial) {
    const std::string a1 = r(-1), a2 = r(0), a3 = r(1), b1 = r(1), b2 = r(1), b3 = r(1), c = r(0);
    const std::string opt = trial % 2 ? "optimizer sgd lr 0.1" : "optimizer adam lr 0.01";
    const std::string data = "data { x = [[1, 0], [0, 1]]; y = [1, -1] }\n";
    const std::string mlp = "network mlp { input 2; dense n tanh; dense n tanh; readout 1 }\n"
                            "parametrization abc { a = [" + a1 + ", " + a2 + ", " + a3 + "]; b = [" + b1 + ", " + b2 +
                            ", " + b3 + "]; c = " + c + " }\n" + opt + "\n" + data;
    const std::string graph = "network graph { input 2; embedding n; activation tanh; dense n tanh; readout 1 }\n"
                              "parametrization abc {\n  input_like a (" + a1 + ") b (" + b1 + ") c (" + c +
                              ")\n  hidden a (" + a2 + ") b (" + b2 + ") c (" + c + ")\n  output_like a (" + a3 +
                              ") b (" + b3 + ") c (" + c + ")\n}\n" + opt + "\n" + data;
    DiagnosticEngine diags;
    const auto m = tp::frontend::compile_network(mlp, "", diags);
    REQUIRE(m.has_value());
    const tp::MlpPhase want = tp::classify_mlp(m->spec.abc);
    const tp::GraphPhase got = tp::graph_phase(compile_graph(graph));
    INFO(graph);
    CHECK(got.regime == want.regime);
    ++regimes[static_cast<int>(want.regime)];
  }
  CHECK(regimes[static_cast<int>(tp::Regime::unstable)] > 0);
  CHECK(regimes[static_cast<int>(tp::Regime::feature_learning)] + regimes[static_cast<int>(tp::Regime::kernel)] > 0);
}

TEST_CASE("per-tensor overrides, weight-decay rules and TP4b's d in the parametrization block") {
  const std::string base = block("logit (1/d)", "parametrization mup decay fan2025 { tensor \"attention.q\" zero_init; "
                                                "hidden d 1 }", "optimizer adam lr 0.01 weight_decay 0.1");
  const tp::GraphSpec g = compile_graph(base);
  for (const auto& w : g.params) {
    INFO(w.name);
    if (w.kind == tp::TensorKind::hidden) {
      CHECK(w.scaling.wd_exponent == tp::Rational(-1, 2));
      CHECK(w.scaling.eps_modelled);
      CHECK(w.scaling.d == 1);
    }
    CHECK(w.scaling.zero_init == (w.name == "attention.q"));
  }
  const tp::GraphPhase ph = tp::graph_phase(g);
  CHECK(ph.regime == tp::Regime::feature_learning);
  const auto q = std::find_if(ph.tensors.begin(), ph.tensors.end(), [](const auto& t) { return t.name == "attention.q"; });
  CHECK(q->decay.find("vanishes") != std::string::npos);
  // lr_invariant: c + e = 0 for every tensor.
  const tp::GraphSpec inv = compile_graph(replace(base, "decay fan2025", "decay lr_invariant"));
  for (const auto& w : inv.params) CHECK(w.scaling.c + w.scaling.wd_exponent == 0);
  // An ε that dominates µP's n^-1 hidden gradient entries with Adam (d = 0, ε fixed: gradient entries vanish
  // like n^-1/2 or faster): the update becomes SGD-like and smaller than maximal.
  const tp::GraphPhase eps = tp::graph_phase(compile_graph(replace(base, "hidden d 1", "hidden d 0")));
  const auto o = std::find_if(eps.tensors.begin(), eps.tensors.end(), [](const auto& t) { return t.name == "dense_2.W"; });
  CHECK_FALSE(o->updated_maximally);
}

TEST_CASE("the mup preset starts norm gains at exactly 1 and norm biases at 0; std adds noise when asked") {
  auto net = [](const std::string& param) {
    return "network graph {\n  input 2\n  embedding n\n  layernorm\n  dense n\n  bias\n  rmsnorm\n  readout 1\n}\n" +
           param + "\noptimizer adam lr 0.01\ndata { x = [[1, 0]]; y = [1] }\ntrain steps 1\n";
  };
  auto std_of = [](const tp::GraphSpec& g, const std::string& name) {
    for (const auto& w : g.params)
      if (w.name == name) return w.scaling.init_std;
    FAIL("no tensor " << name);
    return -1.0;
  };
  for (const char* form : {"table3", "table8", "table9"}) {
    INFO(form);
    const tp::GraphSpec g = compile_graph(net(std::string("parametrization mup form ") + form));
    CHECK(std_of(g, "layernorm.gain") == 0);
    CHECK(std_of(g, "layernorm.bias") == 0);
    CHECK(std_of(g, "rmsnorm.gain") == 0);
    CHECK(std_of(g, "bias.b") == 1);  // a layer's bias keeps TP5 Table 3's vector-like init
  }
  // The gain's constant 1 is still there (only its noise is gone): the norm's output is Θ(1) at init.
  const tp::GraphPhase ph = tp::graph_phase(compile_graph(net("parametrization mup")));
  CHECK(ph.stable);
  // Asked-for noise: a kind or tensor entry's std applies after the preset.
  const tp::GraphSpec noisy = compile_graph(net("parametrization mup { vector_like std 0.5; tensor \"rmsnorm.gain\" std 2 }"));
  CHECK(std_of(noisy, "layernorm.gain") == 0.5);
  CHECK(std_of(noisy, "layernorm.bias") == 0.5);
  CHECK(std_of(noisy, "rmsnorm.gain") == 2);
  // Other presets are TP5's tables as written.
  CHECK(std_of(compile_graph(net("parametrization sp")), "layernorm.gain") == 1);
}

TEST_CASE("bad graph scripts: every error at its word, with line:col") {
  const std::string good = block("logit (1/d)", "parametrization mup", "optimizer adam lr 0.01");
  compile_graph(good);
  // a forward reference is a cycle
  CHECK(errors(replace(good, "add h as h\n  layernorm", "add r as h\n  layernorm as r")).find(
            "net.tp:6:7: error: 'r' is defined later (line 7)") != std::string::npos);
  CHECK(errors(replace(good, "add h as h\n  layernorm", "add hh as h\n  layernorm"))
            .find("net.tp:6:7: error: undefined layer name 'hh'") != std::string::npos);
  // shapes: a dense layer on the finite input, an embedding on width n
  CHECK(errors(replace(good, "embedding n as h", "dense n as h")).find("net.tp:3:3: error: 'dense' needs a width-n input") !=
        std::string::npos);
  CHECK(errors(replace(good, "  layernorm\n  attention", "  embedding n\n  attention")).find("net.tp:4:3: error: 'embedding' maps") !=
        std::string::npos);
  // a misspelt input: two errors (the word, and the first layer that needed an input), no cascade, and no read
  // before the first node (fuzz_graph found it: UBSan, vector index −1)
  const std::string misspelt = errors(replace(good, "input 4 positions 3", "intut 2"));
  CHECK(misspelt.find("net.tp:2:3: error: unknown layer 'intut'") != std::string::npos);
  CHECK(misspelt.find("net.tp:3:3: error: the network starts with 'input d'") != std::string::npos);
  const std::string second = "net.tp:3:3: error:";
  CHECK(misspelt.find("error:", misspelt.find(second) + second.size()) == std::string::npos);
  // the readout missing
  CHECK(errors(replace(good, "  readout 1 bias\n", "")).find("net.tp:1:15: error: the network has no readout") !=
        std::string::npos);
  // attention with no heads, zero heads, heads and head_dim, an unknown logit scale
  CHECK(errors(replace(good, "heads 2 ", "")).find("net.tp:5:3: error: attention with no heads") != std::string::npos);
  CHECK(errors(replace(good, "heads 2", "heads 0")).find("net.tp:5:19: error: attention with no heads") !=
        std::string::npos);
  CHECK(errors(replace(good, "logit (1/d)", "logit (1/n)")).find("net.tp:5:27: error: unknown logit scale") !=
        std::string::npos);
  // an unknown optimizer option, an unknown layer option, an unknown layer (with suggestions)
  CHECK(errors(replace(good, "lr 0.01", "lr 0.01 momentum 0.9")).find("net.tp:14:24: error: unknown optimizer option 'momentum'") !=
        std::string::npos);
  CHECK(errors(replace(good, "heads 2", "heads 2 casual")).find("net.tp:5:21: error: unknown option 'casual' of 'attention'") !=
        std::string::npos);
  CHECK(errors(replace(good, "layernorm\n  dense", "layernrom\n  dense")).find("did you mean 'layernorm'") != std::string::npos);
  // nested repeat, a layer after the readout, an unknown parametrization entry, an unknown tensor
  CHECK(errors(replace(good, "  layernorm\n  attention", "  repeat 2 { repeat 2 { layernorm } }\n  attention"))
            .find("net.tp:4:14: error: a 'repeat' inside a 'repeat'") != std::string::npos);
  CHECK(errors(replace(good, "readout 1 bias", "readout 1 bias\n  dense n")).find("net.tp:12:3: error: 'dense' comes after the readout") !=
        std::string::npos);
  CHECK(errors(replace(good, "parametrization mup", "parametrization mup { hiden c 1 }")).find("did you mean 'hidden'") !=
        std::string::npos);
  CHECK(errors(replace(good, "parametrization mup", "parametrization mup { tensor \"attn.q\" zero_init }"))
            .find("net.tp:13:30: error: no tensor is named 'attn.q'") != std::string::npos);
  CHECK(errors(replace(good, "parametrization mup", "parametrization abc { hidden a 0 b 0.5 c 1 }"))
            .find("'abc' does not give a, b and c of the input_like tensors") != std::string::npos);
  // data: x rows must be whole examples of S positions
  CHECK(errors(replace(good, "[0, 0, 1, 0]]", "[0, 0, 1, 0], [1, 1, 1, 1]]")).find("not a multiple of the 3 positions") !=
        std::string::npos);
  // an MLP command on a graph script
  DiagnosticEngine diags;
  CHECK_FALSE(tp::frontend::compile_network(good, "", diags).has_value());
  CHECK(tp::frontend::render(diags.diagnostics(), {"net.tp", good}).find("read by 'tpc phase', 'check', 'dump', 'run' and 'coordcheck'") != std::string::npos);
}

TEST_CASE("a readout tied to the embedding: µP in TP5's Table 8 and 9 forms, unstable in Table 3's (multiplier 1)") {
  // readout d_o = d = 4 shares the embedding's n x 4 matrix; the residual stream carries the embedding's
  // w_0 ξ to the readout, so w_0ᵀ meets w_0: a sum of n correlated terms at init.
  auto tied = [](const std::string& form, const std::string& opt) {
    std::string s = replace(block("logit (1/d)", "parametrization mup form " + form, opt), "readout 1 bias", "readout 4 tied");
    return replace(s, "y = [1]", "y = [[1, 0, 0, 0]]");
  };
  for (const char* opt : {"optimizer sgd lr 0.1", "optimizer adam lr 0.01"}) {
    INFO(opt);
    const tp::GraphSpec g8 = compile_graph(tied("table8", opt));
    REQUIRE(g8.tied.size() == g8.params.size());
    const tp::GraphPhase p8 = tp::graph_phase(g8), p9 = tp::graph_phase(compile_graph(tied("table9", opt)));
    CHECK(exponents(p8) == exponents(p9));
    CHECK(p8.regime == tp::Regime::feature_learning);
    for (const auto& t : p8.tensors) {
      INFO(t.name);
      CHECK(t.updated_maximally);
      if (t.name == "readout.W") CHECK(tp::size_text(t.init_output) == "n^0");  // untied: n^(-1/2)
    }
    const tp::GraphPhase p3 = tp::graph_phase(compile_graph(tied("table3", opt)));
    CHECK(p3.regime == tp::Regime::unstable);
    CHECK(p3.first_step == 0);
    CHECK(p3.first_tensor == "readout.W");
    CHECK(p3.first_problem.find("grows like n^1, driven by the tied readout.W") != std::string::npos);
  }
  // Table 3 gives the readout its own init and learning rate, which a shared matrix cannot have: a warning.
  DiagnosticEngine diags;
  const std::string t3 = tied("table3", "optimizer adam lr 0.01");
  REQUIRE(tp::frontend::compile_graph_network(t3, "", diags).has_value());
  const std::string w = tp::frontend::render(diags.diagnostics(), {"net.tp", t3});
  CHECK(w.find("warning: the tied readout shares the embedding's w, so its b = 1 (the embedding's 0), c = 1 (0) do not apply") !=
        std::string::npos);
  DiagnosticEngine quiet;
  REQUIRE(tp::frontend::compile_graph_network(tied("table8", "optimizer adam lr 0.01"), "", quiet).has_value());
  CHECK(quiet.diagnostics().empty());
}

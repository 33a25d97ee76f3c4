// Level-2 scripts (frontend/network_script.h): every field of the NetworkSpec they produce, presets equal to
// tp::preset, abc lists and per-layer c_l, optimizer options, inline and CSV data, free exponents, errors
// with their locations, `tpc check` on the examples, and level-1 scripts left untouched.
#include <unistd.h>
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "cli_runner.h"
#include "frontend/activation.h"

namespace fs = std::filesystem;
using tp::frontend::compile_network;
using tp::frontend::DiagnosticEngine;
using tp::frontend::is_network_script;

namespace {

std::optional<tp::frontend::NetworkScript> compile(const std::string& text, DiagnosticEngine& diags,
                                                   const std::string& base_dir = "") {
  auto s = compile_network(text, base_dir, diags);
  INFO(tp::frontend::render(diags.diagnostics(), {"test.tp", text}));
  CHECK(s.has_value() == !diags.has_errors());
  return s;
}

std::string errors(const std::string& text, const std::string& base_dir = "") {
  DiagnosticEngine diags;
  CHECK_FALSE(compile_network(text, base_dir, diags).has_value());
  CHECK(diags.has_errors());
  return tp::frontend::render(diags.diagnostics(), {"net.tp", text});
}

tp::Rational q(long long p, long long r = 1) { return tp::Rational(p, r); }

void check_same(const tp::AbcParametrization& got, const tp::AbcParametrization& want) {
  CHECK(got.name == want.name);
  CHECK(got.a == want.a);
  CHECK(got.b == want.b);
  CHECK(got.c == want.c);
  CHECK(got.c_l == want.c_l);
  CHECK(got.optimizer == want.optimizer);
}

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kMup =
    "network mlp { input 2; dense n tanh; dense n tanh; readout 1 }\n"
    "parametrization mup\n"
    "optimizer sgd lr 0.5\n"
    "loss mse\n"
    "data { x = [[1, 0], [0.5, 0.5]]; y = [1, -1]; eval = [[0, 1]] }\n"
    "train steps 3 batch full\n";

}  // namespace

TEST_CASE("the sketch of DESIGN.md §3 fills every field of the NetworkSpec") {
  DiagnosticEngine diags;
  auto script = compile(kMup, diags);
  REQUIRE(script);
  const tp::NetworkSpec& s = script->spec;
  CHECK(s.depth == 2);
  CHECK(s.input_dim == 2);
  CHECK(s.output_dim == 1);
  CHECK_FALSE(s.biases);
  REQUIRE(s.activation);
  std::string err;
  CHECK(tp::equal(s.activation, tp::frontend::parse_activation("tanh", err)));
  CHECK(s.activation_text == "tanh");
  check_same(s.abc, tp::preset("mup", 2));
  CHECK(s.lr == 0.5);
  CHECK(s.weight_decay == 0);
  CHECK(s.adam_beta1 == 0.9);
  CHECK(s.adam_beta2 == 0.999);
  CHECK(s.adam_eps == 1e-8);
  CHECK(s.loss == tp::LossKind::mse);
  Eigen::MatrixXd x(2, 2), y(2, 1), e(1, 2);
  x << 1, 0, 0.5, 0.5;
  y << 1, -1;
  e << 0, 1;
  CHECK(s.train_x == x);
  CHECK(s.train_y == y);
  CHECK(s.eval_x == e);
  CHECK(s.batch == tp::BatchMode::full);
  CHECK(s.steps == 3);
  CHECK(s.source.network.begin.line == 1);
  CHECK(s.source.network.end.col == 63);  // through the closing brace
  CHECK(s.source.parametrization.begin.line == 2);
  CHECK(s.source.optimizer.begin.line == 3);
  CHECK(s.source.loss.begin.line == 4);
  CHECK(s.source.data.begin.line == 5);
  CHECK(s.source.train.begin.line == 6);
  REQUIRE(s.source.layer_exponents.size() == 3);
  for (const auto& r : s.source.layer_exponents) {
    CHECK(r.begin.line == 2);
    CHECK(r.begin.col == 17);  // the preset's name
  }
  CHECK(script->free.empty());
  CHECK(tp::network_problem(s).empty());
}

TEST_CASE("every preset gives exactly tp::preset(name, L); 'ntk' is 'ntp'") {
  for (const char* name : {"sp", "ntp", "ntk", "mup", "mfp"}) {
    CAPTURE(name);
    const int L = std::string(name) == "mfp" ? 1 : 3;
    std::string layers;
    for (int l = 0; l < L; ++l) layers += "dense n relu; ";
    const std::string text = "network mlp { input 1; " + layers + "readout 1 }\nparametrization " + name +
                             "\noptimizer signsgd lr 0.1\ndata { x = [1, 2]; y = [0, 1] }\n";
    DiagnosticEngine diags;
    auto script = compile(text, diags);
    REQUIRE(script);
    tp::AbcParametrization want = tp::preset(std::string(name) == "ntk" ? "ntp" : name, L);
    want.optimizer = tp::Optimizer::signsgd;
    check_same(script->spec.abc, want);
    CHECK(script->spec.depth == L);
    CHECK(script->spec.train_x.rows() == 2);  // a flat list is one number per point
    CHECK(script->spec.train_x.cols() == 1);
    // Defaults of the optional blocks: loss mse, train steps 1 batch full.
    CHECK(script->spec.loss == tp::LossKind::mse);
    CHECK(script->spec.steps == 1);
    CHECK(script->spec.batch == tp::BatchMode::full);
    CHECK_FALSE(script->spec.source.loss.valid());
    CHECK_FALSE(script->spec.source.train.valid());
  }
}

TEST_CASE("abc exponents are exact rationals; c may be one per layer; sources point at each a_l") {
  const std::string text =
      "network mlp bias {\n"
      "  input 3\n"
      "  dense n (x * tanh(x))   # an expression in x\n"
      "  dense n (x * tanh(x))\n"
      "  readout 2\n"
      "}\n"
      "parametrization abc { a = [-1/2, 0.25, 1/2]; b = [1/2, -0.5, 3]; c = [0, 1, -2/4] }\n"
      "optimizer adam lr 1e-3 weight_decay 0.01 beta1 0.8 beta2 0.99 eps 1e-6\n"
      "loss cross_entropy\n"
      "data { x = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]; y = [[1, 0], [0, 1], [1, 0]] }\n"
      "train steps 0 batch 2\n";
  DiagnosticEngine diags;
  auto script = compile(text, diags);
  REQUIRE(script);
  const tp::NetworkSpec& s = script->spec;
  CHECK(s.biases);
  CHECK(s.input_dim == 3);
  CHECK(s.output_dim == 2);
  CHECK(s.activation_text == "x * tanh(x)");
  std::string err;
  CHECK(tp::equal(s.activation, tp::frontend::parse_activation("x * tanh(x)", err)));
  CHECK(s.abc.a == std::vector<tp::Rational>{q(-1, 2), q(1, 4), q(1, 2)});
  CHECK(s.abc.b == std::vector<tp::Rational>{q(1, 2), q(-1, 2), q(3)});
  CHECK(s.abc.c_l == std::vector<tp::Rational>{q(0), q(1), q(-1, 2)});
  CHECK(s.abc.c_of(2) == q(-1, 2));
  CHECK(s.abc.optimizer == tp::Optimizer::adam);
  CHECK(s.lr == 1e-3);
  CHECK(s.weight_decay == 0.01);
  CHECK(s.adam_beta1 == 0.8);
  CHECK(s.adam_beta2 == 0.99);
  CHECK(s.adam_eps == 1e-6);
  CHECK(s.loss == tp::LossKind::cross_entropy);
  CHECK(s.train_y.rows() == 3);
  CHECK(s.train_y.cols() == 2);
  CHECK(s.eval_x.rows() == 0);
  CHECK(s.steps == 0);
  CHECK(s.batch == tp::BatchMode::minibatch);
  CHECK(s.batch_size == 2);
  CHECK(s.source.network.begin.line == 1);
  CHECK(s.source.network.end.line == 6);
  REQUIRE(s.source.layer_exponents.size() == 3);
  CHECK(s.source.layer_exponents[0].begin.col == 28);  // -1/2
  CHECK(s.source.layer_exponents[1].begin.col == 34);  // 0.25
  CHECK(s.source.layer_exponents[2].begin.col == 40);  // 1/2
  for (const auto& r : s.source.layer_exponents) CHECK(r.begin.line == 7);
}

TEST_CASE("an exponent written as a name is free: recorded with its place, 0 in the spec") {
  const std::string text =
      "network mlp { input 1; dense n tanh; readout 1 }\n"
      "parametrization abc { a = [0, s]; b = [0, 1/2]; c = c }\n"
      "optimizer sgd lr 1\n"
      "data { x = [1]; y = [1] }\n";
  DiagnosticEngine diags;
  auto script = compile_network(text, "", diags, tp::frontend::FreeExponents::up_to_two);
  REQUIRE(script);
  DiagnosticEngine refused;  // the default, for every command but phase and check
  CHECK_FALSE(compile_network(text, "", refused).has_value());
  CHECK(refused.error_count() == 2);
  REQUIRE(script->free.size() == 2);
  CHECK(script->free[0].symbol == "s");
  CHECK(script->free[0].exponent == 'a');
  CHECK(script->free[0].layer == 2);
  CHECK(script->free[0].range.begin.col == 31);
  CHECK(script->free[1].symbol == "c");
  CHECK(script->free[1].exponent == 'c');
  CHECK(script->free[1].layer == 0);
  CHECK(script->spec.abc.a[1] == 0);
  CHECK(script->spec.abc.c == 0);
}

TEST_CASE("CSV data: the last d_o columns are targets, the path is relative to the script's directory") {
  const fs::path dir = fs::temp_directory_path() / ("tpc_network_script_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "train.csv");
    f << "x1,x2,y1,y2\n1,2,3,4\n5,6,7,8\n# a comment\n9,10,11,12\n";
  }
  const std::string text =
      "network mlp { input 2; dense n erf; readout 2 }\n"
      "parametrization ntp\n"
      "optimizer sgd lr 0.5\n"
      "data { file = \"train.csv\"; eval = [[0, 0], [1, 1]] }\n"
      "train batch sample steps 6\n";
  DiagnosticEngine diags;
  auto script = compile(text, diags, dir.string());
  REQUIRE(script);
  Eigen::MatrixXd x(3, 2), y(3, 2);
  x << 1, 2, 5, 6, 9, 10;
  y << 3, 4, 7, 8, 11, 12;
  CHECK(script->spec.train_x == x);
  CHECK(script->spec.train_y == y);
  CHECK(script->spec.eval_x.rows() == 2);
  CHECK(script->spec.batch == tp::BatchMode::per_sample);
  CHECK(script->spec.steps == 6);

  // The short form, and a CSV error that names the CSV's own line.
  {
    std::ofstream f(dir / "bad.csv");
    f << "1,2,3,4\n5,6,7\n";
  }
  const std::string bad = "network mlp { input 2; dense n erf; readout 2 }\nparametrization ntp\n"
                          "optimizer sgd lr 0.5\ndata \"bad.csv\"\n";
  const std::string out = errors(bad, dir.string());
  CHECK(out.find("net.tp:4:6: error: bad CSV data: ") != std::string::npos);
  CHECK(out.find("bad.csv:2:") != std::string::npos);
  // Columns that do not add up to d + d_o.
  const std::string wide = "network mlp { input 3; dense n erf; readout 2 }\nparametrization ntp\n"
                           "optimizer sgd lr 0.5\ndata \"train.csv\"\n";
  CHECK(errors(wide, dir.string()).find("has 4 columns but the network needs 5") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("a diagnostic has the location, the line, a caret, the fix-it and the did-you-mean note") {
  const std::string text =
      "network mlp { input 2; dense n tanh; readout 1 }\n"
      "parametrization mup\n"
      "optimizer sgd lr 0.5\n"
      "loss mes\n"
      "data { x = [[1, 0]]; y = [1] }\n";
  CHECK(errors(text) ==
        "net.tp:4:6: error: unknown loss 'mes'\n"
        "  loss mes\n"
        "       ^~~\n"
        "       mse\n"
        "net.tp: note: did you mean 'mse'?\n"
        "net.tp: note: the losses are mse (1/2 |f - y|^2) and cross_entropy (softmax)\n");
}

TEST_CASE("independent mistakes in several blocks are all reported in one run") {
  const std::string text =
      "network mlp { input 2; dense n tahn; readout 1 }\n"
      "parametrization mupp\n"
      "optimizer sgd lr -1\n"
      "data { x = [[1, 0, 0], [0, 1, 0]]; y = [1] }\n"
      "train steps 2.5\n";
  const std::string out = errors(text);
  INFO(out);
  CHECK(out.find("net.tp:1:32: error: unknown activation 'tahn'") != std::string::npos);
  CHECK(out.find("net.tp:2:17: error: unknown parametrization 'mupp'") != std::string::npos);
  CHECK(out.find("net.tp:3:18: error: the learning rate must be positive") != std::string::npos);
  CHECK(out.find("net.tp:5:13: error: the number of steps must be a whole number") != std::string::npos);
  CHECK(out.find("net.tp:4:40: error: y has 1 row but x has 2") != std::string::npos);
  // The column check needs the network block, which has an error: no cascade.
  CHECK(out.find("x has 3 columns") == std::string::npos);
}

TEST_CASE("a class index out of range is reported at the target, with its value") {
  // Checked by network_problem (tp::class_index_problem), pointed at by the script's lowering (issue 12 item 10).
  const std::string text =
      "network mlp { input 2; dense n tanh; readout 3 }\n"
      "parametrization sp\n"
      "optimizer sgd lr 0.5\n"
      "loss cross_entropy\n"
      "data { x = [[1, 0], [0, 1]]; y = [0, 3] }\n";
  const std::string out = errors(text);
  CHECK(out.find("net.tp:5:38: error: target 2 is 3, not a class index in 0..2") != std::string::npos);
}

TEST_CASE("level-1 scripts are not network scripts and compile as before") {
  for (const char* name : {"nngp_tanh.tp", "transpose.tp", "multi_input_kernel.tp"}) {
    const std::string text = read(fs::path(TPC_SOURCE_DIR) / "examples" / name);
    CHECK_FALSE(is_network_script(text));
    DiagnosticEngine diags;
    CHECK(tp::frontend::compile_source(text, diags).has_value());
  }
  // Block keywords used as level-1 names stay level 1.
  const std::string level1 = "input x ~ N(0, 1)\nloss = avg(x * x)\ndata = loss + 1\noutput data\n";
  CHECK_FALSE(is_network_script(level1));
  DiagnosticEngine diags;
  CHECK(tp::frontend::compile_source(level1, diags).has_value());
  // A brace in a level-1 program is a syntax error, as any stray token.
  DiagnosticEngine d2;
  CHECK_FALSE(tp::frontend::compile_source("input x ~ N(0, 1)\noutput avg(x * x) {\n", d2).has_value());
  REQUIRE(d2.error_count() == 1);
  CHECK(d2.diagnostics()[0].message == "expected end of statement, found '{'");
}

TEST_CASE("every level-2 example passes tpc check, in text and JSON") {
  int count = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(TPC_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".tp" || !is_network_script(read(entry.path()))) continue;
    ++count;
    CAPTURE(entry.path().string());
    const auto text = tp::testing::tpc({"check", entry.path().string()});
    INFO(text.err);
    CHECK(text.code == 0);
    CHECK(text.out.find(": ok: network script") != std::string::npos);
    CHECK(text.out.find("parametrization  ") != std::string::npos);
    const auto json = tp::testing::tpc({"check", "--format", "json", entry.path().string()});
    CHECK(json.code == 0);
    CHECK(json.out.find("\"level\": 2") != std::string::npos);
  }
  CHECK(count >= 4);
  const auto mup = tp::testing::tpc({"check", std::string(TPC_SOURCE_DIR) + "/examples/mup_tanh.tp"});
  CHECK(mup.out.find("mlp, L = 2 hidden layers of width n, input d = 2, readout d_o = 1, activation tanh, no biases") !=
        std::string::npos);
  CHECK(mup.out.find("mup: a = [-1/2, 0, 1/2], b = [1/2, 1/2, 1/2], c = 0") != std::string::npos);
  CHECK(mup.out.find("4 training points (x 4x2, y 4x1), 2 evaluation points") != std::string::npos);
  CHECK(mup.out.find("3 steps, batch full") != std::string::npos);
}

TEST_CASE("tpc check reports level-2 errors with file:line:col and exits 1") {
  const fs::path file = fs::path(TPC_SOURCE_DIR) / "tests" / "corpus" / "errors" / "network_csv_not_found.tp";
  const auto r = tp::testing::tpc({"check", file.string()});
  CHECK(r.code == 1);
  CHECK(r.err.find(file.string() + ":6:6: error: cannot read the data file 'no_such_data.csv'") != std::string::npos);
  // The path tried is the script's directory joined with the name.
  CHECK(r.err.find((file.parent_path() / "no_such_data.csv").string()) != std::string::npos);
  const auto j = tp::testing::tpc({"check", "--format", "json", file.string()});
  CHECK(j.code == 1);
  CHECK(j.out.find("\"line\": 6") != std::string::npos);
}

TEST_CASE("a syntax error inside a block is reported once, without follow-on errors") {
  const std::string text =
      "network mlp { input 2; dense n (x^); readout 1 }\n"
      "parametrization abc { a = [0, 1/2; b = [0, 1/2]; c = 0 }\n"
      "optimizer sgd lr 0.5\n"
      "data { x = [[1, 0]]; y = [1] }\n";
  DiagnosticEngine diags;
  CHECK_FALSE(compile_network(text, "", diags).has_value());
  INFO(tp::frontend::render(diags.diagnostics(), {"net.tp", text}));
  REQUIRE(diags.error_count() == 2);
  CHECK(diags.diagnostics()[0].message == "expected an expression, found ')'");
  CHECK(diags.diagnostics()[1].range.begin.line == 2);
  CHECK(diags.diagnostics()[1].message.find("expected ']'") != std::string::npos);
}

TEST_CASE("tpc check shows a free exponent by its symbol") {
  const fs::path dir = fs::temp_directory_path() / ("tpc_network_free_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "free.tp");
    f << "network mlp { input 1; dense n tanh; readout 1 }\n"
         "parametrization abc { a = [0, 1/2]; b = [0, 1/2]; c = c }\n"
         "optimizer sgd lr 1\ndata { x = [1]; y = [1] }\n";
  }
  const auto r = tp::testing::tpc({"check", (dir / "free.tp").string()});
  CHECK(r.code == 0);
  CHECK(r.out.find("abc: a = [0, 1/2], b = [0, 1/2], c = c\n") != std::string::npos);
  const auto j = tp::testing::tpc({"check", "--format", "json", (dir / "free.tp").string()});
  CHECK(j.out.find("\"symbol\": \"c\"") != std::string::npos);
  fs::remove_all(dir);
}

TEST_CASE("every prefix of every network script compiles or reports an error, never throws") {
  // Truncation exercises the recovery paths: open braces and brackets at the end of the file, half words.
  std::vector<fs::path> files;
  for (const auto& dir : {fs::path(TPC_SOURCE_DIR) / "examples", fs::path(TPC_SOURCE_DIR) / "tests/corpus/errors"})
    for (const auto& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".tp" && is_network_script(read(entry.path()))) files.push_back(entry.path());
  CHECK(files.size() >= 19);
  for (const auto& f : files) {
    const std::string text = read(f);
    for (std::size_t k = 0; k <= text.size(); ++k) {
      DiagnosticEngine diags;
      std::optional<tp::frontend::NetworkScript> s;
      CHECK_NOTHROW(s = compile_network(text.substr(0, k), f.parent_path().string(), diags));
      if (s.has_value() == diags.has_errors()) {
        FAIL_CHECK(f.filename().string() << " cut at " << k << ": a result must come without errors");
        break;
      }
      if (s) CHECK(tp::network_problem(s->spec).empty());
    }
  }
}

TEST_CASE("a network script given where a program is needed is one error at its first block") {
  DiagnosticEngine diags;
  CHECK_FALSE(tp::frontend::compile_source("# comment\n" + kMup, diags).has_value());
  REQUIRE(diags.error_count() == 1);
  CHECK(diags.diagnostics()[0].range.begin.line == 2);
  CHECK(diags.diagnostics()[0].message.find("this is a network script (level 2)") == 0);
}

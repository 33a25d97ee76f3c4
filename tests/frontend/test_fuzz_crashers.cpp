// Regression tests for inputs that crashed, hung or exhausted the front end (found by fuzz/fuzz_parser.cpp,
// fuzz_network.cpp, fuzz_graph.cpp and fuzz_csv.cpp, or by hand while fuzzing), kept minimised in tests/corpus/fuzz_crashers/. Each must now compile to either
// a program or diagnostics, without throwing, and a program must satisfy the printer's round-trip
// property, exactly as the fuzz target checks.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"
#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "limits/csv_matrix.h"
#include "tp/errors.h"
#include "tp/graph_phase.h"
#include "tp/printer.h"
#include "tp/unroll.h"
#include "tp/verify.h"

namespace fs = std::filesystem;
using tp::frontend::compile_source;
using tp::frontend::DiagnosticEngine;

namespace {

const fs::path kCrashers = fs::path(TPC_SOURCE_DIR) / "tests" / "corpus" / "fuzz_crashers";

// What the fuzz target does with one input; fails the test where the fuzz target would abort.
void compile_like_the_fuzzer(const std::string& text, const std::string& name) {
  INFO("input: " << name);
  DiagnosticEngine diags;
  std::optional<tp::Program> program;
  CHECK_NOTHROW(program = compile_source(text, diags));
  CHECK_NOTHROW((void)tp::frontend::render(diags.diagnostics(), {name, text}));
  CHECK(program.has_value() != diags.has_errors());
  if (!program) return;
  const std::string dumped = tp::dump(*program);
  DiagnosticEngine again_diags;
  const auto again = compile_source(dumped, again_diags);
  INFO("dump:\n" << dumped << tp::frontend::render(again_diags.diagnostics(), {"dump.tp", dumped}));
  REQUIRE(again.has_value());
  CHECK(tp::dump(*again) == dumped);
}

// Level-2 crashers (fuzz/fuzz_network.cpp) are named network_*.tp; CSV crashers (fuzz/fuzz_csv.cpp) *.csv.
bool is_network_crasher(const fs::path& p) { return p.filename().string().rfind("network_", 0) == 0; }

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What fuzz_network does before the command line: compile, then unroll under a 64 MiB budget and verify.
void unroll_like_the_fuzzer(const std::string& text, const std::string& name) {
  INFO("input: " << name);
  DiagnosticEngine diags;
  std::optional<tp::frontend::NetworkScript> script;
  CHECK_NOTHROW(script = tp::frontend::compile_network(text, kCrashers.string(), diags,
                                                       tp::frontend::FreeExponents::up_to_two));
  CHECK(script.has_value() != diags.has_errors());
  if (!script) return;
  CHECK(tp::network_problem(script->spec).empty());
  tp::UnrollOptions options;
  options.memory_budget_bytes = 64.0 * (1 << 20);
  try {
    const tp::UnrolledProgram up = tp::unroll(script->spec, options);
    CHECK(tp::verify(up.program).empty());
  } catch (const std::invalid_argument&) {
  } catch (const tp::BudgetError&) {
  }
}

// Graph-script crashers (fuzz/fuzz_graph.cpp) are named graph_*.tp: compile, then the calculus.
bool is_graph_crasher(const fs::path& p) { return p.filename().string().rfind("graph_", 0) == 0; }

void graph_like_the_fuzzer(const std::string& text, const std::string& name) {
  INFO("input: " << name);
  DiagnosticEngine diags;
  std::optional<tp::frontend::GraphScript> script;
  CHECK_NOTHROW(script = tp::frontend::compile_graph_network(text, kCrashers.string(), diags));
  CHECK_NOTHROW((void)tp::frontend::render(diags.diagnostics(), {name, text}));
  CHECK(script.has_value() != diags.has_errors());
  if (!script) return;
  CHECK(tp::graph_problem(script->spec).empty());
  try {
    (void)tp::graph_phase(script->spec);
  } catch (const tp::BudgetError&) {
  }
}

}  // namespace

TEST_CASE("every level-2, graph and CSV fuzz crasher is diagnostics, a refusal or a verified program") {
  for (const auto& entry : fs::directory_iterator(kCrashers)) {
    const fs::path& p = entry.path();
    if (p.extension() == ".tp" && is_network_crasher(p)) unroll_like_the_fuzzer(read_text(p), p.filename().string());
    if (p.extension() == ".tp" && is_graph_crasher(p)) graph_like_the_fuzzer(read_text(p), p.filename().string());
    if (p.extension() != ".csv") continue;
    for (const auto rows : {tp::limits::CsvRows::lines, tp::limits::CsvRows::lines_or_semicolons}) {
      INFO("input: " << p.filename().string());
      try {
        const auto m = tp::limits::parse_csv_matrix(read_text(p), p.filename().string(), rows);
        CHECK(m.values.allFinite());
      } catch (const tp::limits::CsvError&) {
      }
    }
  }
}

TEST_CASE("every fuzz crasher compiles to a program or to diagnostics, without crashing") {
  REQUIRE(fs::is_directory(kCrashers));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kCrashers))
    if (entry.path().extension() == ".tp" && !is_network_crasher(entry.path()) && !is_graph_crasher(entry.path()))
      files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  CHECK_FALSE(files.empty());
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    compile_like_the_fuzzer(ss.str(), path.filename().string());
  }
}

TEST_CASE("a chain of 100000 operators is an error, not a stack overflow") {
  // Parentheses are bounded by the nesting limit, but x + x + ... is a left-deep tree as tall as it is long;
  // lowering and destroying it recursed once per operator.
  std::string text = "input x ~ N(0, 1)\ny = x";
  for (int i = 0; i < 100000; ++i) text += " + x";
  text += "\noutput avg(y * y)\n";
  DiagnosticEngine diags;
  CHECK_FALSE(compile_source(text, diags).has_value());
  REQUIRE(diags.error_count() == 1);
  CHECK(diags.diagnostics()[0].message.find("more than 256 operations in a chain") != std::string::npos);
  CHECK(diags.diagnostics()[0].range.begin.line == 2);
}

TEST_CASE("100000 names in one input statement are an error, not an 80 GB covariance") {
  std::string text = "input a0";
  for (int i = 1; i < 100000; ++i) text += ", a" + std::to_string(i);
  text += " ~ N(0, 1)\noutput avg(a1 * a2)\n";
  DiagnosticEngine diags;
  CHECK_FALSE(compile_source(text, diags).has_value());
  REQUIRE(diags.error_count() == 1);
  CHECK(diags.diagnostics()[0].message == "an 'input' statement declares at most 256 vectors, found 100000");
}

TEST_CASE("expressions at the nesting and chain limits still compile") {
  std::string nested = "input x ~ N(0, 1)\ny = ";
  for (int i = 0; i < 200; ++i) nested += "(";
  nested += "x";
  for (int i = 0; i < 200; ++i) nested += ")";
  nested += "\noutput avg(y * y)\n";
  compile_like_the_fuzzer(nested, "nested200.tp");

  std::string chain = "input x ~ N(0, 1)\ny = x";
  for (int i = 0; i < 255; ++i) chain += " * x";
  chain += "\noutput avg(y)\n";
  compile_like_the_fuzzer(chain, "chain255.tp");

  std::string group = "input a0";
  for (int i = 1; i < 256; ++i) group += ", a" + std::to_string(i);
  group += " ~ N(0, 2)\noutput avg(a0 * a255)\n";
  compile_like_the_fuzzer(group, "group256.tp");
}

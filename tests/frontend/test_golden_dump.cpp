// Golden tests for `tpc dump`: every example prints exactly its tests/golden/<name>.dump, and the dump
// is a fixpoint (it parses back to a program that prints identically).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "frontend/network_script.h"
#include "frontend/sema.h"
#include "tp/printer.h"
#include "tp/unroll.h"
#include "tp/verify.h"

namespace fs = std::filesystem;

namespace {
std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("every example compiles, verifies, matches its golden dump and round-trips") {
  const fs::path root = TPC_SOURCE_DIR;
  int examples = 0;
  for (const auto& entry : fs::directory_iterator(root / "examples")) {
    if (entry.path().extension() != ".tp") continue;
    if (tp::frontend::is_graph_network_script(read(entry.path()))) {  // graph networks are not unrolled
      tp::frontend::DiagnosticEngine diags;
      CHECK(tp::frontend::compile_graph_network(read(entry.path()), entry.path().parent_path().string(), diags));
      continue;
    }
    if (tp::frontend::is_network_script(read(entry.path()))) {
      // Level 2: the unrolled program verifies and its dump parses back to the same dump (fixpoint).
      tp::frontend::DiagnosticEngine diags;
      auto script = tp::frontend::compile_network(read(entry.path()), entry.path().parent_path().string(), diags);
      REQUIRE(script);
      if (script->spec.abc.optimizer != tp::Optimizer::sgd) continue;  // unroll writes SGD only
      const auto up = tp::unroll(script->spec);
      CHECK(tp::verify(up.program).empty());
      const std::string text = tp::dump(up.program);
      tp::frontend::DiagnosticEngine diags2;
      auto again = tp::frontend::compile_source(text, diags2);
      REQUIRE(again);
      CHECK(tp::dump(*again) == text);
      continue;
    }
    ++examples;
    CAPTURE(entry.path().string());
    tp::frontend::DiagnosticEngine diags;
    auto p = tp::frontend::compile_source(read(entry.path()), diags);
    REQUIRE(p);
    CHECK(tp::verify(*p).empty());
    const std::string text = tp::dump(*p);
    const fs::path golden = root / "tests" / "golden" / (entry.path().stem().string() + ".dump");
    REQUIRE(fs::exists(golden));
    CHECK(text == read(golden));
    tp::frontend::DiagnosticEngine diags2;
    auto again = tp::frontend::compile_source(text, diags2);
    REQUIRE(again);
    CHECK(tp::dump(*again) == text);
  }
  CHECK(examples >= 3);
}

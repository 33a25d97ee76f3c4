// The error corpus (STYLE.md "Tests"): every file in tests/corpus/errors/ holds one mistake and opens
// with comment lines stating the diagnostics it must produce:
//
//   # expect: LINE:COL: MESSAGE-SUBSTRING      one line per expected error
//   # expect-note: NOTE-SUBSTRING              a note that one of the errors must carry (optional)
//
// Level-2 files (network scripts, tests/corpus/errors/network_*.tp) go through compile_network with the
// corpus folder as the base of relative data paths; the others through compile_source.
// Each file must report exactly its expected errors: each at its line and column, and no others, so a
// cascade of follow-on errors fails the test just as a missing or misplaced one does.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"
#include "frontend/network_script.h"
#include "frontend/sema.h"

namespace fs = std::filesystem;
using tp::frontend::compile_source;
using tp::frontend::DiagnosticEngine;
using tp::frontend::Severity;

namespace {

const fs::path kCorpus = fs::path(TPC_SOURCE_DIR) / "tests" / "corpus" / "errors";

struct Expectation {
  unsigned line = 0, col = 0;
  std::string message;
};

struct CorpusFile {
  fs::path path;
  std::string text;
  std::vector<Expectation> errors;
  std::vector<std::string> notes;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<CorpusFile> load_corpus() {
  static const std::regex expect(R"(^# expect: (\d+):(\d+): (.+)$)");
  static const std::regex expect_note(R"(^# expect-note: (.+)$)");
  std::vector<CorpusFile> files;
  for (const auto& entry : fs::directory_iterator(kCorpus)) {
    if (entry.path().extension() != ".tp") continue;
    CorpusFile f{entry.path(), read_file(entry.path()), {}, {}};
    std::istringstream lines(f.text);
    std::string line;
    std::smatch m;
    while (std::getline(lines, line) && line.rfind('#', 0) == 0) {  // the leading comment block only
      if (std::regex_match(line, m, expect))
        f.errors.push_back({static_cast<unsigned>(std::stoul(m[1])), static_cast<unsigned>(std::stoul(m[2])), m[3]});
      else if (std::regex_match(line, m, expect_note))
        f.notes.push_back(m[1]);
    }
    files.push_back(std::move(f));
  }
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  return files;
}

std::vector<tp::frontend::Diagnostic> errors_of(const DiagnosticEngine& diags) {
  std::vector<tp::frontend::Diagnostic> out;
  for (const auto& d : diags.diagnostics())
    if (d.severity == Severity::Error) out.push_back(d);
  return out;
}

// Runs a shell command, returning its exit code and its combined stdout and stderr.
int run_command(const std::string& command, std::string& output) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) output.append(buf, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST_CASE("the error corpus has at least 35 files, each stating its expected errors") {
  const auto files = load_corpus();
  CHECK(files.size() >= 35);
  for (const auto& f : files) {
    INFO("file: " << f.path.filename().string());
    CHECK_FALSE(f.errors.empty());
  }
}

TEST_CASE("every corpus file reports exactly its expected errors, at their line and column") {
  for (const auto& f : load_corpus()) {
    DiagnosticEngine diags;
    const bool level2 = tp::frontend::is_network_script(f.text);
    CHECK(level2 == (f.path.filename().string().rfind("network_", 0) == 0));
    const bool compiled = level2 ? tp::frontend::compile_network(f.text, kCorpus.string(), diags).has_value()
                                 : compile_source(f.text, diags).has_value();
    const auto errors = errors_of(diags);
    const std::string rendered = tp::frontend::render(diags.diagnostics(), {f.path.filename().string(), f.text});
    INFO("file: " << f.path.filename().string() << "\n" << rendered);
    CHECK_FALSE(compiled);
    CHECK(errors.size() == f.errors.size());
    CHECK(diags.error_count() == f.errors.size());
    for (const auto& e : f.errors) {
      INFO("expected " << e.line << ":" << e.col << ": " << e.message);
      const bool found = std::any_of(errors.begin(), errors.end(), [&](const auto& d) {
        return d.range.begin.line == e.line && d.range.begin.col == e.col &&
               d.message.find(e.message) != std::string::npos;
      });
      CHECK(found);
    }
    for (const auto& note : f.notes) {
      INFO("expected note: " << note);
      const bool found = std::any_of(errors.begin(), errors.end(), [&](const auto& d) {
        return std::any_of(d.notes.begin(), d.notes.end(),
                           [&](const std::string& n) { return n.find(note) != std::string::npos; });
      });
      CHECK(found);
    }
  }
}

TEST_CASE("a file with three independent mistakes reports all three in one run") {
  // A syntax error (line 3), an unknown function (line 5) and a kind error (line 6), each on its own line;
  // the statement dropped on line 3 does not make 'y' undefined on line 6.
  const std::string text =
      "input x ~ N(0, 1)\n"
      "matrix W ~ N(0, 1/n)\n"
      "y = W tanh(x\n"
      "z = W x\n"
      "h = tahn(z)\n"
      "output avg(y * z), W\n";
  DiagnosticEngine diags;
  CHECK_FALSE(compile_source(text, diags).has_value());
  const auto errors = errors_of(diags);
  INFO(tp::frontend::render(diags.diagnostics(), {"three.tp", text}));
  REQUIRE(errors.size() == 3);
  CHECK(errors[0].range.begin.line == 3);
  CHECK(errors[0].message.find("expected ')'") != std::string::npos);
  CHECK(errors[1].range.begin.line == 5);
  CHECK(errors[1].message.find("unknown function 'tahn'") != std::string::npos);
  CHECK(errors[2].range.begin.line == 6);
  CHECK(errors[2].range.begin.col == 20);
  CHECK(errors[2].message.find("an output must be a scalar") != std::string::npos);
}

TEST_CASE("rendered diagnostics are in source order with the line, a caret and notes") {
  // The lexer's error (line 2) is found before the parser's (line 1) but is printed after it.
  const std::string text = "y = (\ninput x ~ N(0, 1) $\n";
  DiagnosticEngine diags;
  CHECK_FALSE(compile_source(text, diags).has_value());
  const std::string out = tp::frontend::render(diags.diagnostics(), {"order.tp", text});
  const auto first = out.find("order.tp:1:");
  const auto second = out.find("order.tp:2:19: error: unexpected character '$'");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(first < second);

  const std::string typo = "input x1 ~ N(0, 1)\noutput avg(x2 * x1)\n";
  DiagnosticEngine d2;
  CHECK_FALSE(compile_source(typo, d2).has_value());
  CHECK(tp::frontend::render(d2.diagnostics(), {"typo.tp", typo}) ==
        "typo.tp:2:12: error: use of undefined name 'x2'\n"
        "  output avg(x2 * x1)\n"
        "             ^~\n"
        "             x1\n"
        "typo.tp: note: did you mean 'x1'?\n");
}

TEST_CASE("tpc check on a corpus file exits with 1 and prints file:line:col: error:") {
  const fs::path file = kCorpus / "undefined_name.tp";
  std::string output;
  const int code = run_command("\"" + std::string(TPC_BINARY) + "\" check \"" + file.string() + "\"", output);
  INFO(output);
  CHECK(code == 1);
  CHECK(output.find(file.string() + ":7:12: error: use of undefined name 'x2'") != std::string::npos);
}

TEST_CASE("a matrix applied to a parenthesised vector is a MatMul, not a call of an unknown function") {
  // The MatMul notes suggest 'A (B x)'; the parser reads `W (...)` as a call, which sema maps back.
  const std::string text =
      "input x ~ N(0, 1)\n"
      "matrix A ~ N(0, 1/n)\n"
      "matrix B ~ N(0, 1/n)\n"
      "y = A (B x)\n"
      "z = A (tanh(x) + 1)\n"
      "output avg(y * z)\n";
  DiagnosticEngine diags;
  const auto program = compile_source(text, diags);
  INFO(tp::frontend::render(diags.diagnostics(), {"paren.tp", text}));
  REQUIRE(program.has_value());
  int matmuls = 0;
  for (const auto& v : program->values()) matmuls += v.op == tp::Op::MatMul;
  CHECK(matmuls == 3);
}

// Corpus preparation (apps/word2vec/corpus_prepare.h): text8 normalization, Brown tags, JSON text, files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include "apps/word2vec/corpus_prepare.h"
#include "apps/word2vec/prepare_error.h"
#include "tests/frontend/cli_runner.h"

namespace fs = std::filesystem;
using namespace tp::word2vec;

namespace {
fs::path scratch(const char* name) {
  const fs::path d = fs::temp_directory_path() / fmt::format("tpc_w2v_prep_{}_{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
void write(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }
std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}
}  // namespace

TEST_CASE("text8 normalization: lowercase letters, single spaces, digits spelled out, the rest breaks words") {
  std::string out;
  CHECK(append_text8("Hello, World!  In 1790's\tfirst—session: café", out) == 11);
  CHECK(out == "hello world in one seven nine zero s first session caf");
  std::string more = out;
  append_text8("  Next", more);
  CHECK(more == out + " next");
  std::string none;
  CHECK(append_text8("--- !!! ", none) == 0);
  CHECK(none.empty());
}

TEST_CASE("Brown corpus tags are dropped, the words kept") {
  CHECK(strip_brown_tags("\tThe/at Fulton/np-tl Atlanta's/np$ ./.\n") == "\tThe Fulton Atlanta's .\n");
  CHECK(strip_brown_tags("a/b/c d") == "a/b d");
}

TEST_CASE("JSON text: a text member, else every string; malformed JSON names the file") {
  CHECK(json_text(R"({"chapter":"1","title":"Loomings.","text":"Call me Ishmael."})", "c.json") == "Call me Ishmael.\n");
  CHECK(json_text(R"(["One.", ["Two."], {"x": 3}])", "d.json") == "One.\nTwo.\n");
  CHECK_THROWS_WITH_AS(json_text("[\"open", "bad.json"), doctest::Contains("bad.json: not valid JSON"), PrepareError);
}

TEST_CASE("prepare_corpus reads directories in sorted order and writes one normalized line") {
  const auto d = scratch("dir");
  fs::create_directories(d / "txt");
  write(d / "txt" / "b.txt", "Second text.");
  write(d / "txt" / "a.txt", "First TEXT,");
  write(d / "txt" / "ignored.json", "[\"not read\"]");
  write(d / "ca01", "The/at jury/nn");
  write(d / "doc.json", R"(["Three 4"])");
  const auto stats = prepare_corpus({{SourceFormat::Text, (d / "txt").string()},
                                     {SourceFormat::Brown, (d / "ca01").string()},
                                     {SourceFormat::Json, (d / "doc.json").string()}},
                                    (d / "out" / "corpus.txt").string());
  CHECK(slurp(d / "out" / "corpus.txt") == "first text second text the jury three four\n");
  CHECK(stats.words == 8);
  REQUIRE(stats.sources.size() == 3);
  CHECK(stats.sources[0].files == 2);
  CHECK_FALSE(fs::exists(d / "out" / "corpus.txt.partial"));
  fs::remove_all(d);
}

TEST_CASE("prepare_corpus refuses a missing source or one without words, leaving no output") {
  const auto d = scratch("bad");
  write(d / "empty.txt", "... !!!");
  CHECK_THROWS_WITH_AS(prepare_corpus({{SourceFormat::Text, (d / "nope").string()}}, (d / "c.txt").string()),
                       doctest::Contains("no such file or directory"), PrepareError);
  CHECK_THROWS_WITH_AS(prepare_corpus({{SourceFormat::Text, (d / "empty.txt").string()}}, (d / "c.txt").string()),
                       doctest::Contains("contributes no words"), PrepareError);
  CHECK_THROWS_AS(prepare_corpus({}, (d / "c.txt").string()), PrepareError);
  CHECK_FALSE(fs::exists(d / "c.txt"));
  fs::remove_all(d);
}

TEST_CASE("tpc word2vec prepare-corpus: a missing source is exit 1 with the path in the message") {
  const auto d = scratch("cli");
  const auto r = tp::testing::tpc({"word2vec", "prepare-corpus", "--text", (d / "missing.txt").string(), "--out",
                                   (d / "c.txt").string()});
  CHECK(r.code == 1);
  CHECK(r.err.find("missing.txt: no such file or directory") != std::string::npos);
  write(d / "a.txt", "Some words here");
  const auto ok = tp::testing::tpc({"word2vec", "prepare-corpus", "--text", (d / "a.txt").string(), "--out", (d / "c.txt").string()});
  CHECK(ok.code == 0);
  CHECK(ok.out.find("3 words") != std::string::npos);
  fs::remove_all(d);
}

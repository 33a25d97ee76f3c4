// `tpc word2vec train | eval | compare | emit-program` end to end on a synthetic corpus: outputs, JSON,
// and the bad-input contract (clear message naming the problem and the fix, exit 1, no file written).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fixtures.h"
#include "tests/frontend/cli_runner.h"

using tp::testing::TempDir;
using tp::testing::tpc;

namespace {

std::vector<std::string> small_run(const std::string& corpus) {
  return {"--corpus", corpus, "--min-count", "2", "--window", "3", "--negatives", "3", "--epochs", "1", "--threads", "1", "--quiet"};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("tpc word2vec train writes word2vec vectors that tpc word2vec eval reads; JSON fields") {
  TempDir dir;
  const std::string corpus = dir.file("corpus.txt", tp::testing::synthetic_corpus(4000));
  const std::string questions = dir.file("q.txt", tp::testing::synthetic_analogies());
  const std::string vectors = dir / "v.txt";
  auto r = tpc(concat({"word2vec", "train", "--width", "16", "--output", vectors, "--analogies", questions}, small_run(corpus)));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  CHECK(r.out.find("width 16") != std::string::npos);
  CHECK(r.out.find("words/s") != std::string::npos);
  CHECK(r.out.find("1 question not answered") != std::string::npos);  // 'unicorn'
  REQUIRE(std::filesystem::exists(vectors));
  auto e = tpc({"word2vec", "eval", vectors, "--analogies", questions, "--format", "json"});
  REQUIRE_MESSAGE(e.code == 0, e.err);
  const auto j = nlohmann::json::parse(e.out);
  CHECK(j["total"]["questions"] == 8);
  CHECK(j["total"]["oov"] == 1);
  CHECK(j["sections"].size() == 2);
  auto lim = tpc(concat({"word2vec", "train", "--width", "inf", "--format", "json"}, small_run(corpus)));
  REQUIRE_MESSAGE(lim.code == 0, lim.err);
  const auto lj = nlohmann::json::parse(lim.out);
  CHECK(lj["row_length"] == lj["vocab"]);
  CHECK(lj["width"] == "inf");
}

TEST_CASE("tpc word2vec: bad input is refused with the problem and the fix, exit 1, nothing written") {
  TempDir dir;
  const std::string corpus = dir.file("corpus.txt", tp::testing::synthetic_corpus(2000));
  const std::string out = dir / "v.txt";
  auto missing = tpc({"word2vec", "train", "--corpus", dir / "nope.txt", "--output", out});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("cannot open the corpus") != std::string::npos);
  auto empty = tpc({"word2vec", "train", "--corpus", dir.file("empty.txt", "\n\n"), "--output", out});
  CHECK(empty.code == 1);
  CHECK(empty.err.find("empty") != std::string::npos);
  auto few = tpc({"word2vec", "train", "--corpus", dir.file("few.txt", "a b a b a b a b a b"), "--min-count", "1", "--output", out});
  CHECK(few.code == 1);
  CHECK(few.err.find("--window") != std::string::npos);
  auto width = tpc(concat({"word2vec", "train", "--width", "0", "--output", out}, small_run(corpus)));
  CHECK(width.code == 1);
  CHECK(width.err.find("--width") != std::string::npos);
  auto window = tpc({"word2vec", "train", "--corpus", corpus, "--window", "0", "--output", out});
  CHECK(window.code == 1);
  CHECK(window.err.find("--window 0 is out of range") != std::string::npos);
  auto budget = tpc(concat({"word2vec", "train", "--width", "inf", "--memory-budget", "0.00001", "--output", out}, small_run(corpus)));
  CHECK(budget.code == 1);
  CHECK(budget.err.find("--vocab-max") != std::string::npos);
  CHECK(budget.err.find("bytes") != std::string::npos);
  CHECK(!std::filesystem::exists(out));
  // analogy files: malformed lines are skipped with a warning (line number) or stop the run with --strict
  const std::string vectors = dir / "ok.txt";
  REQUIRE(tpc(concat({"word2vec", "train", "--width", "8", "--output", vectors}, small_run(corpus))).code == 0);
  const std::string bad_q = dir.file("bad_q.txt", ": plural\ncat cats dog dogs\ncat cats dog\n");
  auto skip = tpc({"word2vec", "eval", vectors, "--analogies", bad_q});
  CHECK(skip.code == 0);
  CHECK(skip.err.find("bad_q.txt:3:") != std::string::npos);
  auto strict = tpc({"word2vec", "eval", vectors, "--analogies", bad_q, "--strict"});
  CHECK(strict.code == 1);
  CHECK(strict.err.find("bad_q.txt:3:") != std::string::npos);
  auto truncated = tpc({"word2vec", "eval", dir.file("t.txt", "5 3\ncat 1 2 3\ndog 1 2\n"), "--analogies", bad_q});
  CHECK(truncated.code == 1);
  CHECK(truncated.err.find("t.txt:3:") != std::string::npos);
  auto no_q = tpc({"word2vec", "eval", vectors, "--analogies", dir / "none.txt"});
  CHECK(no_q.code == 1);
  CHECK(no_q.err.find("make-analogies") != std::string::npos);
}

TEST_CASE("tpc word2vec compare: table rows per width, the limit, NTK; distances to the limit and a fitted exponent") {
  TempDir dir;
  const std::string corpus = dir.file("corpus.txt", tp::testing::synthetic_corpus(3000));
  const std::string questions = dir.file("q.txt", tp::testing::synthetic_analogies());
  auto r = tpc(concat({"word2vec", "compare", "--widths", "16,256", "--limit", "--ntk", "--seeds", "2", "--top-k", "10", "--analogies",
                       questions, "--format", "json", "--threads", "2"},
                      {"--corpus", corpus, "--min-count", "2", "--window", "3", "--negatives", "3", "--epochs", "2", "--quiet"}));
  REQUIRE_MESSAGE(r.code == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);
  REQUIRE(j["rows"].size() == 5);  // 16, 256, inf, NTK 16, NTK 256
  CHECK(j["rows"][2]["width"] == "inf");
  CHECK(j["rows"][0]["accuracy_by_epoch"].size() == 2);
  CHECK(j["runs"].size() == 10);
  const double d16 = j["rows"][0]["distance_mean"], d256 = j["rows"][1]["distance_mean"];
  CHECK(d256 < d16);
  CHECK(j["exponent"].get<double>() < -0.25);
  CHECK(j["exponent_se"].is_number());
  auto text = tpc(concat({"word2vec", "compare", "--widths", "16,64", "--limit", "--top-k", "10", "--analogies", questions},
                         {"--corpus", corpus, "--min-count", "2", "--window", "3", "--negatives", "3", "--epochs", "1", "--quiet"}));
  REQUIRE_MESSAGE(text.code == 0, text.err);
  CHECK(text.out.find("inf (muP limit)") != std::string::npos);
  CHECK(text.out.find("distance to the limit ~ n^(") != std::string::npos);
}

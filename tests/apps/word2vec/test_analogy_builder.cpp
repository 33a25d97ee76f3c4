// Analogy questions from WordNet and the state capitals (apps/word2vec/analogy_builder.h), on a tiny
// hand-made WordNet directory and corpus, so every kept and every rejected pair is known.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <unistd.h>

#include "apps/word2vec/analogy_builder.h"
#include "apps/word2vec/prepare_error.h"
#include "tests/frontend/cli_runner.h"

namespace fs = std::filesystem;
using namespace tp::word2vec;

namespace {
fs::path scratch(const char* name) {
  const fs::path d = fs::temp_directory_path() / fmt::format("tpc_w2v_analogy_{}_{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

/// A corpus where each listed word occurs `times` times.
std::string corpus_of(const std::vector<std::string>& words, int times) {
  std::string s;
  for (int k = 0; k < times; ++k)
    for (const auto& w : words) s += w + " ";
  return s;
}

AnalogyInputs tiny_inputs(const fs::path& d) {
  const fs::path wn = d / "wordnet";
  fs::create_directories(wn);
  write(wn / "index.noun", "  1 license line\ndog n 1\nchild n 1\ncity n 1\nwork n 1\nha n 1\n");
  write(wn / "index.verb", "stop v 1\nplay v 1\nwork v 1\ngo v 1\n");
  write(wn / "index.adj", "big a 1\nquick a 1\ngood a 1\n");
  write(wn / "index.adv", "quickly r 1\n");
  write(wn / "noun.exc", "children child\n");
  write(wn / "verb.exc", "went go\nstopped stop\n");
  write(wn / "adj.exc", "better good\nbest good\n");
  // work is mostly a verb in SemCor, so it is no plural-noun example.
  write(wn / "cntlist.rev",
        "dog%1:05:00:: 1 10\nchild%1:18:00:: 1 10\ncity%1:15:00:: 1 10\nha%1:23:00:: 1 1\nwork%1:04:00:: 1 5\n"
        "work%2:41:00:: 1 50\nstop%2:38:00:: 1 9\nplay%2:33:00:: 1 9\ngo%2:38:00:: 1 9\nbig%3:00:01:: 1 9\n"
        "quick%3:00:00:: 1 9\ngood%3:00:01:: 1 9\n");
  write(d / "states.txt", "Alabama\nNew York\nTexas\n");
  write(d / "capitals.txt", "Montgomery\nAlbany\nAustin\n");
  write(d / "corpus.txt", corpus_of({"dog", "dogs", "child", "children", "city", "cities", "work", "works", "ha", "has",
                                     "stop", "stopped", "stopping", "stops", "play", "played", "playing", "plays", "go",
                                     "goed", "going", "big", "bigger", "biggest", "quick", "quickly", "quicker",
                                     "quickest", "good", "better", "best", "montgomery", "alabama", "austin", "texas",
                                     "albany", "york"},
                                    3));
  return {(d / "corpus.txt").string(), wn.string(), (d / "states.txt").string(), (d / "capitals.txt").string()};
}

const AnalogySection& section(const std::vector<AnalogySection>& s, const std::string& name) {
  for (const auto& x : s)
    if (x.name == name) return x;
  FAIL("no section " << name);
  throw 0;
}
using P = std::vector<std::pair<std::string, std::string>>;
}  // namespace

TEST_CASE("regular inflection candidates follow English spelling, with the doubled consonant as an alternative") {
  CHECK(inflection_candidates("stop", "ed") == std::vector<std::string>{"stoped", "stopped"});
  CHECK(inflection_candidates("try", "ed") == std::vector<std::string>{"tried"});
  CHECK(inflection_candidates("dance", "ing") == std::vector<std::string>{"dancing"});
  CHECK(inflection_candidates("die", "ing") == std::vector<std::string>{"dying"});
  CHECK(inflection_candidates("see", "ing") == std::vector<std::string>{"seeing"});
  CHECK(inflection_candidates("box", "plural") == std::vector<std::string>{"boxes"});
  CHECK(inflection_candidates("city", "plural") == std::vector<std::string>{"cities"});
  CHECK(inflection_candidates("day", "plural") == std::vector<std::string>{"days"});
  CHECK(inflection_candidates("big", "est") == std::vector<std::string>{"bigest", "biggest"});
  CHECK(inflection_candidates("wise", "er") == std::vector<std::string>{"wiser"});
  CHECK(inflection_candidates("happy", "ly") == std::vector<std::string>{"happily"});
  CHECK(inflection_candidates("gentle", "ly") == std::vector<std::string>{"gently"});
  CHECK_THROWS_AS(inflection_candidates("x", "nonsense"), PrepareError);
}

TEST_CASE("the sections keep pairs of frequent, well-formed words of the right part of speech") {
  const auto d = scratch("tiny");
  const auto in = tiny_inputs(d);
  AnalogyBuildOptions o;
  o.min_count = 3;
  const auto s = build_analogies(in, o);
  // 'ha' is too short, 'work' is mostly a verb, the New York pair is not one word.
  CHECK(section(s, "gram8-plural").pairs == P{{"child", "children"}, {"city", "cities"}, {"dog", "dogs"}});
  CHECK(section(s, "capital-state").pairs == P{{"austin", "texas"}, {"montgomery", "alabama"}});
  // 'go' has the irregular form 'went', so its regular-looking 'goed' is no past tense.
  CHECK(section(s, "gram7-past-tense").pairs == P{{"play", "played"}, {"stop", "stopped"}});
  CHECK(section(s, "gram5-present-participle").pairs == P{{"play", "playing"}, {"stop", "stopping"}});
  CHECK(section(s, "gram9-plural-verbs").pairs == P{{"play", "plays"}, {"stop", "stops"}, {"work", "works"}});
  CHECK(section(s, "gram3-comparative").pairs == P{{"big", "bigger"}, {"good", "better"}, {"quick", "quicker"}});
  CHECK(section(s, "gram4-superlative").pairs == P{{"big", "biggest"}, {"good", "best"}, {"quick", "quickest"}});
  // Only one adverb pair exists: a section needs two, so it is left out.
  for (const auto& x : s) CHECK(x.name != "gram1-adjective-to-adverb");
  CHECK(s.front().name == "capital-state");

  // A higher threshold drops everything: a clear error, not an empty file.
  o.min_count = 4;
  CHECK_THROWS_WITH_AS(build_analogies(in, o), doctest::Contains("no analogy section has two usable pairs"), PrepareError);
  fs::remove_all(d);
}

TEST_CASE("max_pairs keeps the most frequent pairs; the file lists every ordered combination") {
  const auto d = scratch("file");
  const auto in = tiny_inputs(d);
  std::ofstream(in.corpus, std::ios::app) << corpus_of({"city", "cities", "dog", "dogs"}, 5);
  AnalogyBuildOptions o;
  o.min_count = 3;
  o.max_pairs = 2;
  const auto s = build_analogies(in, o);
  CHECK(section(s, "gram8-plural").pairs == P{{"city", "cities"}, {"dog", "dogs"}});
  const std::string path = (d / "q.txt").string();
  write_analogies(s, path);
  std::ifstream f(path);
  std::string first, second, third;
  std::getline(f, first), std::getline(f, second), std::getline(f, third);
  CHECK(first == ": capital-state");
  CHECK(second == "austin texas montgomery alabama");
  CHECK(third == "montgomery alabama austin texas");
  fs::remove_all(d);
}

TEST_CASE("tpc word2vec make-analogies: missing inputs and mismatched lists are exit 1 with the file named") {
  const auto d = scratch("cli");
  const auto in = tiny_inputs(d);
  auto r = tp::testing::tpc({"word2vec", "make-analogies", "--corpus", (d / "none.txt").string(), "--wordnet", in.wordnet_dir,
                             "--states", in.states, "--capitals", in.capitals, "--out", (d / "q.txt").string()});
  CHECK(r.code == 1);
  CHECK(r.err.find("none.txt: cannot be read") != std::string::npos);
  write(in.capitals, "Montgomery\n");
  r = tp::testing::tpc({"word2vec", "make-analogies", "--corpus", in.corpus, "--wordnet", in.wordnet_dir, "--states",
                        in.states, "--capitals", in.capitals, "--out", (d / "q.txt").string()});
  CHECK(r.code == 1);
  CHECK(r.err.find("must be parallel") != std::string::npos);
  CHECK_FALSE(fs::exists(d / "q.txt"));
  r = tp::testing::tpc({"word2vec", "make-analogies", "--max-pairs", "1"});
  CHECK(r.code == 1);
  fs::remove_all(d);
}

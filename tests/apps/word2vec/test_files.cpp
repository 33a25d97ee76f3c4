// Files of the word2vec application: vectors in word2vec's text and binary formats (round trip, truncated
// files, wrong dimensions, no half-written output), questions-words files (sections, malformed lines
// skipped or stopping with their line number) and compute-accuracy's evaluation rule.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "apps/word2vec/analogy.h"
#include "apps/word2vec/errors.h"
#include "apps/word2vec/word_vectors.h"
#include "fixtures.h"

using namespace tp::word2vec;
using tp::testing::TempDir;

namespace {

WordVectors toy_vectors() {
  WordVectors v;
  v.words = {"king", "queen", "man", "woman", "apple", "pear"};
  v.dim = 3;
  v.values = {1, 1, 0,   1, -1, 0,   0.9f, 1, 0.1f,   0.9f, -1, 0.1f,   0, 0, 1,   0.1f, 0.2f, -0.5f};
  return v;
}

}  // namespace

TEST_CASE("vectors: text and binary files round-trip exactly and leave no temporary file") {
  TempDir dir;
  const WordVectors v = toy_vectors();
  for (bool binary : {false, true}) {
    const std::string path = dir / (binary ? "v.bin" : "v.txt");
    write_vectors(path, v, binary);
    const WordVectors r = read_vectors(path);
    CHECK(r.words == v.words);
    CHECK(r.dim == v.dim);
    CHECK(r.values == v.values);
  }
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path)) files += e.is_regular_file();
  CHECK(files == 2);
}

TEST_CASE("vectors: a truncated file or a row of the wrong dimension is refused with its line number") {
  TempDir dir;
  CHECK_THROWS_WITH_AS(read_vectors(dir.file("short.txt", "3 2\na 1 2\nb 3 4\n")), doctest::Contains("short.txt:4: truncated"),
                       VectorsFileError);
  CHECK_THROWS_WITH_AS(read_vectors(dir.file("dim.txt", "2 3\na 1 2 3\nb 3 4\n")),
                       doctest::Contains("dim.txt:3: the vector of 'b' has 2 numbers, but the header says dimension 3"), VectorsFileError);
  CHECK_THROWS_WITH_AS(read_vectors(dir.file("header.txt", "hello\n")), doctest::Contains("header.txt:1: expected a header"),
                       VectorsFileError);
  CHECK_THROWS_AS(read_vectors(dir / "missing.txt"), VectorsFileError);
  // binary, cut in the middle of the second row
  const std::string full = dir / "full.bin";
  write_vectors(full, toy_vectors(), true);
  std::ifstream in(full, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = dir.file("cut.bin", bytes.substr(0, bytes.size() - 20));
  CHECK_THROWS_WITH_AS(read_vectors(cut), doctest::Contains("truncated"), VectorsFileError);
}

TEST_CASE("vectors: an unwritable destination is an error and nothing is left behind") {
  TempDir dir;
  CHECK_THROWS_AS(write_vectors(dir / "no/such/dir/v.txt", toy_vectors(), false), VectorsFileError);
  CHECK(std::filesystem::is_empty(dir.path));
}

TEST_CASE("analogies: sections, questions lowercased, malformed lines skipped with their line numbers or stopping") {
  const std::string text = ": capitals\nAthens Greece Paris France\nnot a question\n: plural\ncat cats dog dogs\n\nx y z\n";
  const AnalogySet s = parse_analogies(text, "q.txt", MalformedLines::skip);
  REQUIRE(s.sections.size() == 2);
  CHECK(s.sections[1] == "plural");
  REQUIRE(s.questions.size() == 2);
  CHECK(s.questions[0].words[0] == "athens");
  CHECK(s.questions[1].line == 5);
  REQUIRE(s.skipped.size() == 2);
  CHECK(s.skipped[0].find("q.txt:3:") == 0);
  CHECK(s.skipped[1].find("q.txt:7:") == 0);
  CHECK_THROWS_WITH_AS(parse_analogies(text, "q.txt", MalformedLines::stop), doctest::Contains("q.txt:3: expected a section line"),
                       AnalogyFileError);
  CHECK_THROWS_AS(parse_analogies(": only a section\n", "q.txt", MalformedLines::skip), AnalogyFileError);
}

TEST_CASE("analogies: cosine argmax of b - a + c excluding the question words, OOV counted apart, restrict-vocab") {
  const WordVectors v = toy_vectors();
  const AnalogySet s = parse_analogies(": royal\nman king woman queen\nking queen man woman\nman king woman pear\n"
                                       ": other\nman king woman unicorn\n",
                                       "toy", MalformedLines::stop);
  const AnalogyScore score = evaluate_analogies(v, s);
  REQUIRE(score.sections.size() == 2);
  CHECK(score.sections[0].answered == 3);
  CHECK(score.sections[0].correct == 2);  // queen, woman right; pear wrong
  CHECK(score.sections[1].oov == 1);
  CHECK(score.sections[1].answered == 0);
  CHECK(score.total.questions == 4);
  CHECK(score.total.accuracy() == doctest::Approx(2.0 / 3.0));
  // b − a + c = a question word would win without the exclusion: 'king queen man' → best excluding them is woman.
  AnalogyOptions restricted;
  restricted.restrict_vocab = 3;  // woman is beyond the 3 most frequent words: the questions with it are OOV
  const AnalogyScore r = evaluate_analogies(v, s, restricted);
  CHECK(r.total.answered == 0);
  CHECK(r.total.oov == 4);
}

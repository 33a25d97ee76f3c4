// The word-analogy evaluation of TP4 §9.3 (Table 3), as word2vec's compute-accuracy does it: questions
// "a b c d" in sections (word2vec's questions-words.txt format: ": section" lines, then questions), words
// compared case-insensitively, vectors normalized to unit length, the answer the word x maximizing
// cos(x, b − a + c) over the vocabulary (optionally its restrict_vocab most frequent words) excluding a, b
// and c. A question with a word outside that vocabulary is not answered: it is counted separately (OOV),
// and accuracy is correct / answered, per section and overall.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "apps/word2vec/word_vectors.h"

namespace tp::word2vec {

struct AnalogyQuestion {
  std::size_t section = 0;
  std::array<std::string, 4> words;  ///< lowercase
  std::size_t line = 0;              ///< 1-based line in the file
};

struct AnalogySet {
  std::string source;
  std::vector<std::string> sections;
  std::vector<AnalogyQuestion> questions;
  std::vector<std::string> skipped;  ///< "file:line: why" for each malformed line skipped
};

/// What to do with a malformed line (not ": name" and not four words): skip it and report it, or stop.
enum class MalformedLines { skip, stop };

/// Reads a questions file. Throws AnalogyFileError if it cannot be read, has no questions, or (stop) has a
/// malformed line — the message names the file and line.
AnalogySet read_analogies(const std::string& path, MalformedLines policy);
AnalogySet parse_analogies(std::string_view text, const std::string& source, MalformedLines policy);

struct SectionScore {
  std::string name;
  std::size_t questions = 0, answered = 0, correct = 0, oov = 0;
  double accuracy() const { return answered ? static_cast<double>(correct) / static_cast<double>(answered) : 0.0; }
};

struct AnalogyScore {
  std::vector<SectionScore> sections;
  SectionScore total{"total"};
};

struct AnalogyOptions {
  std::size_t restrict_vocab = 0;  ///< 0: the whole vocabulary (compute-accuracy's threshold 0)
  int threads = 1;
};

AnalogyScore evaluate_analogies(const WordVectors& vectors, const AnalogySet& questions, const AnalogyOptions& options = {});

}  // namespace tp::word2vec

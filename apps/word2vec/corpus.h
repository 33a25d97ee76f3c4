// A prepared training text read for CBOW training (TP4 §9.3): whitespace-separated words (text8 style:
// lowercase letters and single spaces; any plain text works), newlines ending sentences. Words below
// --min-count (or beyond --vocab-max) are dropped before training, as word2vec does; sentences longer than
// 1000 words are cut, as word2vec's MAX_SENTENCE_LENGTH does, by the trainer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "apps/word2vec/vocab.h"

namespace tp::word2vec {

struct CorpusOptions {
  std::uint64_t min_count = 5;
  std::size_t vocab_max = 0;    ///< 0: no limit
  std::uint64_t max_words = 0;  ///< read only the first max_words words (0: all)
  int window = 8;               ///< the vocabulary must hold at least window + 1 distinct words
};

/// The token stream: vocabulary indices of the kept words in corpus order; kSentenceEnd marks a newline.
struct Corpus {
  static constexpr std::int32_t kSentenceEnd = -1;
  std::string source;  ///< file name (or "<text>")
  Vocab vocab;
  std::vector<std::int32_t> tokens;
  std::uint64_t raw_words = 0;      ///< words in the text
  std::uint64_t dropped_words = 0;  ///< words below min-count / beyond vocab-max
  std::size_t distinct_words = 0;   ///< distinct words in the text
};

/// Reads and tokenizes `path`. Throws CorpusError if it is missing, unreadable, empty, or leaves fewer
/// than window + 1 distinct words after min-count (naming the counts and the flags to change).
Corpus read_corpus(const std::string& path, const CorpusOptions& options);
/// The same on text in memory (tests, emit-program); `source` names it in messages.
Corpus corpus_from_text(std::string_view text, const CorpusOptions& options, const std::string& source = "<text>");

}  // namespace tp::word2vec

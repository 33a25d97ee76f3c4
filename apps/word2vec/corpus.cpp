// See corpus.h. Steps: 1. read the file whole; 2. count words; 3. build the vocabulary; 4. map the text to
// indices (dropped words vanish, newlines become kSentenceEnd); 5. check the result is trainable.
#include "apps/word2vec/corpus.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "apps/word2vec/errors.h"

namespace tp::word2vec {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

/// Calls on_word(word) for every word and on_newline() for every newline, up to max_words words.
template <class OnWord, class OnNewline>
void scan(std::string_view text, std::uint64_t max_words, OnWord on_word, OnNewline on_newline) {
  std::uint64_t words = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '\n') {
      on_newline();
      ++i;
      continue;
    }
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    if (max_words > 0 && words >= max_words) return;
    on_word(text.substr(i, j - i));
    ++words;
    i = j;
  }
}

}  // namespace

Corpus corpus_from_text(std::string_view text, const CorpusOptions& options, const std::string& source) {
  Corpus c;
  c.source = source;
  std::unordered_map<std::string, std::uint64_t> counts;
  scan(text, options.max_words, [&](std::string_view w) { ++counts[std::string(w)]; ++c.raw_words; }, [] {});
  if (c.raw_words == 0)
    throw CorpusError(source + ": the corpus has no words; give a plain-text file (words separated by spaces) with --corpus");
  c.distinct_words = counts.size();
  c.vocab = make_vocab(counts, options.min_count, options.vocab_max);
  const std::size_t needed = static_cast<std::size_t>(options.window) + 1;
  if (c.vocab.size() < needed) {
    throw CorpusError(source + ": " + std::to_string(c.vocab.size()) + " distinct word" +
                      (c.vocab.size() == 1 ? "" : "s") + " occur at least --min-count " +
                      std::to_string(options.min_count) + " times (of " + std::to_string(c.distinct_words) +
                      " distinct, " + std::to_string(c.raw_words) + " words in all), but a window of " +
                      std::to_string(options.window) + " needs at least " + std::to_string(needed) +
                      "; use a larger corpus, a smaller --min-count or a smaller --window");
  }
  c.tokens.reserve(c.raw_words + 16);
  std::unordered_map<std::string_view, std::int32_t> lookup;
  lookup.reserve(c.vocab.size() * 2);
  for (std::size_t i = 0; i < c.vocab.size(); ++i) lookup.emplace(c.vocab.words[i], static_cast<std::int32_t>(i));
  scan(
      text, options.max_words,
      [&](std::string_view w) {
        const auto it = lookup.find(w);
        if (it == lookup.end()) {
          ++c.dropped_words;
        } else {
          c.tokens.push_back(it->second);
        }
      },
      [&] {
        if (!c.tokens.empty() && c.tokens.back() != Corpus::kSentenceEnd) c.tokens.push_back(Corpus::kSentenceEnd);
      });
  return c;
}

Corpus read_corpus(const std::string& path, const CorpusOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw CorpusError(path + ": is a directory; give the prepared text file (e.g. data/word2vec/corpus.txt) with --corpus");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw CorpusError(path + ": cannot open the corpus (" + std::strerror(errno) +
                      "); run 'tpc word2vec prepare-corpus' (scripts/setup.sh does) or give a text file with --corpus");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw CorpusError(path + ": read error while reading the corpus; check the file and the disk");
  const std::string text = std::move(ss).str();
  if (text.find_first_not_of(" \t\r\n\f\v") == std::string::npos)
    throw CorpusError(path + ": the corpus is empty; run 'tpc word2vec prepare-corpus' or give a non-empty text with --corpus");
  return corpus_from_text(text, options, path);
}

}  // namespace tp::word2vec

// The vocabulary of a word2vec run (TP4 §9.3, as in the original word2vec tool): the words of the corpus
// that occur at least --min-count times, most frequent first (ties broken alphabetically, so the order is
// reproducible), optionally cut to the --vocab-max most frequent. The row of a word in every embedding
// matrix is its index here; in the µP limit it is also the coordinate of its initial input embedding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tp::word2vec {

struct Vocab {
  std::vector<std::string> words;     ///< index → word, by decreasing count
  std::vector<std::uint64_t> counts;  ///< index → occurrences in the corpus
  std::unordered_map<std::string, std::int32_t> index;

  std::size_t size() const { return words.size(); }
  /// The index of w, or -1 if it is not in the vocabulary.
  std::int32_t find(std::string_view w) const;
  /// Σ counts: the corpus words that training sees (word2vec's train_words).
  std::uint64_t total() const;
};

/// The vocabulary of the words in `counts` with count ≥ min_count, most frequent first; with vocab_max > 0
/// only the vocab_max most frequent of them.
Vocab make_vocab(const std::unordered_map<std::string, std::uint64_t>& counts, std::uint64_t min_count,
                 std::size_t vocab_max);

}  // namespace tp::word2vec

// Negative samples of CBOW with negative sampling (Mikolov et al. 2013; TP4 §9.3 uses 25 per word): word w
// with probability count(w)^0.75 / Σ count^0.75. word2vec fills a table of 10^8 ints (400 MB) with repeated
// indices; Walker's alias method gives the exact distribution from two arrays of |V| entries and one draw.
#pragma once

#include <cstdint>
#include <vector>

namespace tp::word2vec {

class UnigramTable {
 public:
  /// The table for counts^power; every count must be positive.
  UnigramTable(const std::vector<std::uint64_t>& counts, double power = 0.75);
  /// One sample from a 64-bit random draw: the high 32 bits pick a column, the low 32 bits accept it or
  /// take its alias.
  std::int32_t sample(std::uint64_t draw) const {
    const auto column = static_cast<std::uint32_t>((static_cast<std::uint64_t>(static_cast<std::uint32_t>(draw >> 32)) * size_) >> 32);
    return static_cast<std::uint32_t>(draw) < threshold_[column] ? static_cast<std::int32_t>(column) : alias_[column];
  }
  /// The probability of word w (for tests).
  double probability(std::int32_t w) const { return probability_[static_cast<std::size_t>(w)]; }

 private:
  std::uint32_t size_ = 0;
  std::vector<std::uint32_t> threshold_;  ///< accept column c if the low bits < threshold_[c]
  std::vector<std::int32_t> alias_;
  std::vector<double> probability_;
};

}  // namespace tp::word2vec

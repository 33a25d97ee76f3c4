// See unigram_table.h. Vose's construction of the alias table: columns with scaled probability below 1
// are filled up by columns above 1.
#include "apps/word2vec/unigram_table.h"

#include <cmath>
#include <stdexcept>

namespace tp::word2vec {

UnigramTable::UnigramTable(const std::vector<std::uint64_t>& counts, double power) {
  if (counts.empty()) throw std::invalid_argument("UnigramTable: empty vocabulary (bug: the corpus check should have refused it)");
  size_ = static_cast<std::uint32_t>(counts.size());
  probability_.resize(counts.size());
  double total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) total += probability_[i] = std::pow(static_cast<double>(counts[i]), power);
  std::vector<double> scaled(counts.size());
  std::vector<std::uint32_t> small, large;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    probability_[i] /= total;
    scaled[i] = probability_[i] * static_cast<double>(size_);
    (scaled[i] < 1.0 ? small : large).push_back(static_cast<std::uint32_t>(i));
  }
  threshold_.assign(counts.size(), 0);
  alias_.resize(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) alias_[i] = static_cast<std::int32_t>(i);
  while (!small.empty() && !large.empty()) {
    const std::uint32_t s = small.back(), l = large.back();
    small.pop_back();
    threshold_[s] = static_cast<std::uint32_t>(std::min(scaled[s] * 4294967296.0, 4294967295.0));
    alias_[s] = static_cast<std::int32_t>(l);
    scaled[l] -= 1.0 - scaled[s];
    if (scaled[l] < 1.0) {
      large.pop_back();
      small.push_back(l);
    }
  }
  for (std::uint32_t c : large) threshold_[c] = 0xFFFFFFFFu;
  for (std::uint32_t c : small) threshold_[c] = 0xFFFFFFFFu;  // rounding leftovers: probability ~1
}

}  // namespace tp::word2vec

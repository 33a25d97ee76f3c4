// See vocab.h.
#include "apps/word2vec/vocab.h"

#include <algorithm>
#include <numeric>

namespace tp::word2vec {

std::int32_t Vocab::find(std::string_view w) const {
  const auto it = index.find(std::string(w));
  return it == index.end() ? -1 : it->second;
}

std::uint64_t Vocab::total() const { return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0}); }

Vocab make_vocab(const std::unordered_map<std::string, std::uint64_t>& counts, std::uint64_t min_count,
                 std::size_t vocab_max) {
  std::vector<std::pair<std::string, std::uint64_t>> kept;
  for (const auto& [w, c] : counts)
    if (c >= min_count) kept.emplace_back(w, c);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (vocab_max > 0 && kept.size() > vocab_max) kept.resize(vocab_max);
  Vocab v;
  v.words.reserve(kept.size());
  v.counts.reserve(kept.size());
  for (auto& [w, c] : kept) {
    v.index.emplace(w, static_cast<std::int32_t>(v.words.size()));
    v.words.push_back(std::move(w));
    v.counts.push_back(c);
  }
  return v;
}

}  // namespace tp::word2vec

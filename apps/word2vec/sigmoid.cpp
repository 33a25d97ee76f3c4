// σ for cbow_step.h: the table of the float path and the exact double.
#include <array>
#include <cmath>

#include "apps/word2vec/cbow_step.h"

namespace tp::word2vec {

namespace {

constexpr int kTableSize = 4096;
constexpr float kTableRange = 16.0f;

struct SigmoidTable {
  std::array<float, kTableSize + 2> value{};
  SigmoidTable() {
    for (int i = 0; i <= kTableSize + 1; ++i) {
      const double x = -kTableRange + 2.0 * kTableRange * i / kTableSize;
      value[static_cast<std::size_t>(i)] = static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    }
  }
};

const SigmoidTable table;

}  // namespace

template <>
double sigmoid<double>(double x) {
  return 1.0 / (1.0 + std::exp(-x));
}

template <>
float sigmoid<float>(float x) {
  if (!(x > -kTableRange)) return x != x ? x : 0.0f;
  if (x >= kTableRange) return 1.0f;
  const float pos = (x + kTableRange) * (kTableSize / (2 * kTableRange));
  const int i = static_cast<int>(pos);
  const float frac = pos - static_cast<float>(i);
  return table.value[static_cast<std::size_t>(i)] + frac * (table.value[static_cast<std::size_t>(i) + 1] - table.value[static_cast<std::size_t>(i)]);
}

}  // namespace tp::word2vec

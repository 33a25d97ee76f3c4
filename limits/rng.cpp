// See rng.h.
#include "limits/rng.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace tp::limits {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Rng::Rng(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t st = seed;
  const std::uint64_t mixed = splitmix64(st) ^ (stream * 0xd1342543de82ef95ULL + 0x2545f4914f6cdd1dULL);
  std::uint64_t sm = mixed;
  for (auto& w : s_) w = splitmix64(sm);
}

std::uint64_t Rng::next_u64() {
  auto rotl = [](std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); };
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() {
  // 53 random bits, shifted by half an ulp so the result lies strictly inside (0, 1).
  return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53;
}

namespace {

// Ziggurat tables for f(x) = exp(-x^2/2) with 128 layers of equal area V; layer 0 is the base strip plus
// the tail beyond R. x[i] is the right edge of layer i, ratio[i] = x[i+1]/x[i].
constexpr int kLayers = 128;
constexpr double kR = 3.442619855899;
constexpr double kV = 9.91256303526217e-3;

struct ZigguratTables {
  double x[kLayers + 1];
  double ratio[kLayers];
  ZigguratTables() {
    auto f = [](double t) { return std::exp(-0.5 * t * t); };
    x[0] = kV / f(kR);
    x[1] = kR;
    for (int i = 2; i < kLayers; ++i) x[i] = std::sqrt(-2.0 * std::log(kV / x[i - 1] + f(x[i - 1])));
    x[kLayers] = 0.0;
    for (int i = 0; i < kLayers; ++i) ratio[i] = x[i + 1] / x[i];
  }
};

const ZigguratTables& tables() {
  static const ZigguratTables t;
  return t;
}

}  // namespace

double Rng::normal_tail(bool negative) {
  // Marsaglia (1964): x = -log(U1)/R, y = -log(U2), accept if 2y > x^2; the sample is R + x.
  double x, y;
  do {
    x = -std::log(uniform()) / kR;
    y = -std::log(uniform());
  } while (2.0 * y < x * x);
  return negative ? -(kR + x) : kR + x;
}

double Rng::normal() {
  const ZigguratTables& t = tables();
  while (true) {
    const std::uint64_t bits = next_u64();
    const int layer = static_cast<int>(bits & (kLayers - 1));
    // 53 bits -> u uniform in (-1, 1)
    const double u = 2.0 * ((static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53) - 1.0;
    if (std::abs(u) < t.ratio[layer]) return u * t.x[layer];
    if (layer == 0) return normal_tail(u < 0);
    const double x = u * t.x[layer];
    const double f0 = std::exp(-0.5 * (t.x[layer] * t.x[layer] - x * x));
    const double f1 = std::exp(-0.5 * (t.x[layer + 1] * t.x[layer + 1] - x * x));
    if (f1 + uniform() * (f0 - f1) < 1.0) return x;
  }
}

void Rng::fill_normal(double* out, std::size_t count) {
  for (std::size_t k = 0; k < count; ++k) out[k] = normal();
}

}  // namespace tp::limits

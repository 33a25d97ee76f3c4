// See rng.h.
#include "limits/rng.h"

#include <Eigen/Core>
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

double Rng::normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_;
  }
  const double r = std::sqrt(-2.0 * std::log(uniform()));
  const double theta = 2.0 * std::numbers::pi * uniform();
  spare_ = r * std::sin(theta);
  has_spare_ = true;
  return r * std::cos(theta);
}

void Rng::fill_normal(double* out, std::size_t count) {
  constexpr Eigen::Index kBlock = 512;  // pairs per block
  Eigen::ArrayXd u1(kBlock), u2(kBlock), r(kBlock), theta(kBlock);
  std::size_t done = 0;
  while (done < count) {
    for (Eigen::Index k = 0; k < kBlock; ++k) {
      u1(k) = uniform();
      u2(k) = uniform();
    }
    r = (-2.0 * u1.log()).sqrt();
    theta = (2.0 * std::numbers::pi) * u2;
    const std::size_t pairs = std::min<std::size_t>(kBlock, (count - done + 1) / 2);
    Eigen::ArrayXd c = r * theta.cos(), s = r * theta.sin();
    for (std::size_t k = 0; k < pairs; ++k) {
      out[done++] = c(static_cast<Eigen::Index>(k));
      if (done < count) out[done++] = s(static_cast<Eigen::Index>(k));
    }
  }
}

}  // namespace tp::limits

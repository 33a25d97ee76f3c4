// Reproducible random numbers for the finite-width executor: xoshiro256** (Blackman & Vigna 2018) seeded
// by SplitMix64, and standard normals by the ziggurat method with 128 layers (Marsaglia & Tsang 2000, in
// Doornik's 2005 formulation: one 64-bit draw gives the layer from 7 bits and the position from 53 other
// bits, so the layer and the value are not correlated). Written here (not <random>'s distributions) so
// that the same seed gives bitwise the same numbers on every platform and compiler.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tp::limits {

/// SplitMix64 step: a good 64-bit mixer, used to derive independent stream seeds.
std::uint64_t splitmix64(std::uint64_t& state);

class Rng {
 public:
  /// A stream determined by (seed, stream): e.g. the user's seed and the id of the value being sampled.
  Rng(std::uint64_t seed, std::uint64_t stream);
  std::uint64_t next_u64();
  /// Uniform in (0, 1), never exactly 0 or 1.
  double uniform();
  /// Standard normal N(0, 1).
  double normal();
  /// Fills out[0..count) with standard normals (the executor's sampler for vectors and matrices).
  void fill_normal(double* out, std::size_t count);

 private:
  double normal_tail(bool negative);
  std::uint64_t s_[4];
};

}  // namespace tp::limits

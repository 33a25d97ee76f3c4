// The random stream of word2vec's sampling (effective windows, negatives, subsampling): wyrand (Wang Yi,
// 2019), one 64-bit add and one 64×64→128-bit multiply per draw, inlined in the training loop. TP4's code
// calls rand(), which takes a global lock in glibc; word2vec's own linear congruential generator has
// weak low bits. Initial embeddings use limits::Rng (normals); this stream only draws integers and uniforms.
#pragma once

#include <cstdint>

namespace tp::word2vec {

class SamplingRng {
 public:
  /// A stream determined by (seed, stream), e.g. (the user's seed, thread and epoch).
  SamplingRng(std::uint64_t seed, std::uint64_t stream) : state_(seed * 0x9E3779B97F4A7C15ULL ^ (stream + 1) * 0xD1B54A32D192ED03ULL) {
    for (int i = 0; i < 4; ++i) next();
  }
  std::uint64_t next() {
    state_ += 0xa0761d6478bd642fULL;
    const __uint128_t m = static_cast<__uint128_t>(state_) * (state_ ^ 0xe7037ed1a0b428dbULL);
    return static_cast<std::uint64_t>(m >> 64) ^ static_cast<std::uint64_t>(m);
  }
  /// Uniform integer in [0, bound) (Lemire's multiply-shift; bias < bound / 2^32, irrelevant here).
  std::uint32_t below(std::uint32_t bound) {
    return static_cast<std::uint32_t>((static_cast<std::uint64_t>(static_cast<std::uint32_t>(next() >> 32)) * bound) >> 32);
  }
  /// Uniform in [0, 1) with 24 random bits (compared against float keep-probabilities).
  float uniform_float() { return static_cast<float>(next() >> 40) * 0x1.0p-24f; }

 private:
  std::uint64_t state_;
};

}  // namespace tp::word2vec

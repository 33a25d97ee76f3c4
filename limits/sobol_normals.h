// Randomized quasi-Monte Carlo normals: scrambled Sobol points (Sobol 1967; direction numbers of Joe & Kuo
// 2008 as tabulated in Boost.Random's default_sobol_table, 3667 dimensions) with Matoušek's linear matrix
// scramble plus a random digital shift (Matoušek 1998, "On the L2-discrepancy for anchored boxes"; Owen 2003
// §3), mapped to N(0, 1) by the inverse normal CDF.
//
// One randomization is drawn per (seed, stream) — the Monte Carlo limit uses one per (replica, dimension) — so
// that each point is exactly uniform on (0, 1)^D and different replicas are independent randomizations of the
// same net: a mean over a replica's points is unbiased and the spread over replicas is an honest standard error
// (Owen 1997; L'Ecuyer & Lemieux 2002 §3). Points are produced per dimension (all particles of one Z at once)
// in Gray-code order from any first index, so a replica can be evaluated in blocks or halves of its point set.
// Coordinates are 32-bit (points i < 2^32), mapped to (x + 1/2)·2^-32, so |z| ≤ 6.2 (the dropped tail mass,
// 2·10^-10 per coordinate, is far below every Monte Carlo error this feeds).
#pragma once

#include <cstddef>
#include <cstdint>

namespace tp::limits {

/// Largest number of Sobol dimensions available (Boost's table); later dimensions must use pseudo-random normals.
std::size_t sobol_max_dimension();

class ScrambledSobol {
 public:
  /// Dimension `dim` (< sobol_max_dimension()) with the randomization drawn from Rng(seed, stream).
  ScrambledSobol(std::size_t dim, std::uint64_t seed, std::uint64_t stream);
  /// out[k] = Φ^{-1}(u_{first + k}) for k < count: standard normals of points first..first+count-1.
  void fill_normal(std::uint64_t first, std::size_t count, double* out) const;
  /// out[k] = u_{first + k} in (0, 1).
  void fill_uniform(std::uint64_t first, std::size_t count, double* out) const;

 private:
  std::uint32_t v_[32];  // scrambled direction numbers
  std::uint32_t shift_;  // digital shift
};

}  // namespace tp::limits

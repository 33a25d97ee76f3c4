// See sobol_normals.h.
#include "limits/sobol_normals.h"

#include <bit>
#include <boost/math/special_functions/erf.hpp>
#include <boost/random/detail/sobol_table.hpp>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "limits/rng.h"

namespace tp::limits {

namespace {

using Table = boost::random::detail::qrng_tables::sobol;
constexpr int kBits = 32;

// m_j (odd, < 2^{j+1}) of dimension dim by the Bratley–Fox recurrence over Boost's primitive polynomials and
// initial values; direction number j is m_j · 2^{31-j}.
void direction_numbers(std::size_t dim, std::uint32_t (&v)[kBits]) {
  std::uint32_t m[kBits];
  if (dim == 0) {
    for (auto& x : m) x = 1;
  } else {
    const unsigned poly = Table::polynomial(dim - 1);
    const int degree = std::bit_width(poly) - 1;
    for (int k = 0; k < degree && k < kBits; ++k) m[k] = Table::minit(dim - 1, static_cast<std::size_t>(k));
    for (int j = degree; j < kBits; ++j) {
      unsigned p = poly;
      m[j] = m[j - degree];
      for (int k = 0; k < degree; ++k, p >>= 1) {
        const int rem = degree - k;
        if (p & 1u) m[j] ^= m[j - rem] << rem;
      }
    }
  }
  for (int j = 0; j < kBits; ++j) v[j] = m[j] << (kBits - 1 - j);
}

}  // namespace

std::size_t sobol_max_dimension() { return Table::max_dimension; }

ScrambledSobol::ScrambledSobol(std::size_t dim, std::uint64_t seed, std::uint64_t stream) {
  if (dim >= sobol_max_dimension())
    throw std::logic_error("bug: Sobol dimension " + std::to_string(dim) + " is beyond the table");
  std::uint32_t v[kBits];
  direction_numbers(dim, v);
  // Linear matrix scramble: digit k of the output (bit 31-k) is digit k of the input plus random multiples of
  // the input's earlier digits — a random lower-triangular binary matrix with unit diagonal, as columns.
  Rng rng(seed, stream);
  std::uint32_t column[kBits];  // column[b]: the image of input bit b
  for (int b = 0; b < kBits; ++b) {
    const std::uint32_t below = b == 0 ? 0u : static_cast<std::uint32_t>(rng.next_u64()) & ((1u << b) - 1u);
    column[b] = (1u << b) | below;
  }
  for (int j = 0; j < kBits; ++j) {
    std::uint32_t s = 0;
    for (int b = 0; b < kBits; ++b)
      if ((v[j] >> b) & 1u) s ^= column[b];
    v_[j] = s;
  }
  shift_ = static_cast<std::uint32_t>(rng.next_u64() >> 32);
}

void ScrambledSobol::fill_uniform(std::uint64_t first, std::size_t count, double* out) const {
  if (first + count > (std::uint64_t{1} << kBits)) throw std::invalid_argument("Sobol points are limited to 2^32");
  // Point i is the XOR of the direction numbers at the set bits of its Gray code i ^ (i >> 1).
  std::uint32_t x = shift_;
  const std::uint64_t gray = first ^ (first >> 1);
  for (int j = 0; j < kBits; ++j)
    if ((gray >> j) & 1u) x ^= v_[j];
  for (std::size_t k = 0; k < count; ++k) {
    out[k] = (static_cast<double>(x) + 0.5) * 0x1.0p-32;
    if (k + 1 < count) x ^= v_[std::countr_zero(first + k + 1)];
  }
}

void ScrambledSobol::fill_normal(std::uint64_t first, std::size_t count, double* out) const {
  fill_uniform(first, count, out);
  for (std::size_t k = 0; k < count; ++k) out[k] = -std::numbers::sqrt2 * boost::math::erfc_inv(2.0 * out[k]);
}

}  // namespace tp::limits

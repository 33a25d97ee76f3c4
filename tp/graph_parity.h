// ParityParts parts of a width-n quantity: the sign-flip symmetry that decides whether an inner product of two change
// terms is an LLN average or a CLT fluctuation (DESIGN.md "Phase of graph networks", the parity rule).
//
// The symmetry. At initialization the law of the weights is invariant under w_p ↦ −w_p, separately for every
// randomly initialized tensor p (zero-mean Gaussian init), and SGD/Adam training is equivariant under it. So every
// quantity of the unrolled program splits into parts of definite parity, a character χ ∈ Z₂^P (a bit mask). An
// average of a product of two parts with different characters has expectation 0: by the Master Theorem (TP2/TP4
// NETSOR⊤: Ẑ^{Wx} for different W are independent Gaussians, the Ż term goes through Wᵀ; TP4b's NE⊗OR⊤ for the
// entrywise updates) it converges to E[Z^a Z^b] = 0 and is a CLT fluctuation, n^{-1/2} smaller than the LLN size.
// Same character: LLN (an upper bound, as without the rule).
//
// Propagation: W_p y flips bit p (so does W_pᵀ; W_p W_pᵀ g keeps g's, NETSOR⊤'s Ż); a coordinatewise product
// multiplies characters (XOR); a generic nonlinearity maps a sum of parts into the subgroup they generate, the even
// part included; a Moment (a scalar) carries its size but no parity (its own CLT smallness is counted where it is
// computed; a scalar factor does not make a vector independent of anything). A part of mask kAny ("wild") shares
// every parity: it is the fallback of the rule (LLN with everything, the rule without parity), used past kMaxParts
// parts, for tensors beyond the 63rd, and for the update terms the rule does not track (Adam/SignSGD's entrywise
// updates, a tied readout).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "tp/size_exponent.h"

namespace tp {

/// An exact rational exponent, in 64-bit parts while it fits (normalized: gcd 1, den > 0) and as a multiprecision
/// Rational beyond (sizes compound after a blow-up: a moment of x·x doubles the exponent at every op). The rule's
/// inner loops add and compare sizes millions of times on a deep graph, which multiprecision arithmetic alone made
/// the cost of the whole analysis. Conversions from and to Rational are exact.
struct PartSize {
  std::int64_t num = 0, den = 1;
  std::shared_ptr<const Rational> big;  ///< set when the value does not fit 64-bit parts (then num/den are unused)
  static PartSize of(const Rational& r);
  Rational rational() const;
  friend PartSize operator+(const PartSize& a, const PartSize& b);
  friend bool operator==(const PartSize& a, const PartSize& b) {
    if (a.big || b.big) return a.rational() == b.rational();
    return a.num == b.num && a.den == b.den;
  }
  friend bool operator<(const PartSize& a, const PartSize& b) {
    if (a.big || b.big) return a.rational() < b.rational();
    return static_cast<__int128>(a.num) * b.den < static_cast<__int128>(b.num) * a.den;
  }
  friend bool operator>(const PartSize& a, const PartSize& b) { return b < a; }
};

/// One part: the character (bit p set = odd in tensor p) and the size exponent of the part.
struct ParityPart {
  std::uint64_t mask = 0;
  PartSize size;
  bool operator==(const ParityPart& o) const { return mask == o.mask && size == o.size; }
};

/// A sum of parts with distinct masks (sorted); empty = exactly zero.
struct ParityParts {
  static constexpr std::uint64_t kAny = ~std::uint64_t{0};  ///< shares every parity (the LLN fallback)
  static constexpr std::size_t kMaxParts = 64;              ///< past this many parts: one wild part
  std::vector<ParityPart> parts;

  static ParityParts wild(const SizeExp& size);  ///< one wild part (empty if size is nullopt)
  static ParityParts even(const SizeExp& size);  ///< one even part (mask 0)
  static ParityParts odd(int tensor, const SizeExp& size);  ///< odd in one tensor (wild for tensor ≥ 63 or < 0)
  SizeExp size() const;  ///< the largest part (nullopt when empty)
  bool operator==(const ParityParts& o) const { return parts == o.parts; }
  bool operator!=(const ParityParts& o) const { return !(*this == o); }
};

ParityParts parity_shift(const ParityParts& a, const SizeExp& by);            ///< every part times n^by (empty if nullopt)
ParityParts parity_join(const ParityParts& a, const ParityParts& b);               ///< a + b (same mask: the larger size)
ParityParts parity_flip(const ParityParts& a, int tensor);                    ///< W_p a: bit p flipped
ParityParts parity_product(const ParityParts& a, const ParityParts& b);            ///< a ⊙ b: masks XOR, sizes add
ParityParts parity_closure(const ParityParts& a, const SizeExp& size);        ///< φ(a): the generated subgroup at `size`
ParityParts parity_cap(const ParityParts& a, const SizeExp& size);            ///< every part at most n^size (sizes clipped)
/// The size of Σ_α a_α b_α over n^f coordinates: per pair of parts LLN (+f) when the masks are equal (or one is
/// wild), CLT (+f − 1/2) otherwise; the largest over pairs (nullopt if either is zero). f = 0: avg(a b).
SizeExp parity_inner(const ParityParts& a, const ParityParts& b, const Rational& f);

}  // namespace tp

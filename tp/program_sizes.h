// The width exponent of every value of a level-1 Tensor Program, by propagating sizes op by op (the TP4
// heuristics of App. H and §3 that tp/size_exponent.h implements, applied to any NETSOR⊤ program): a value is
// Θ(n^e) per coordinate (vectors) or in value (scalars), or exactly zero.
//
// Rules, in program order:
//   InitVector         e = 0 (0-variance members: exactly zero);
//   WidthPower n^q     e = q;
//   MatMul W x         e = e(x): a Gaussian matrix with N(0, σ²/n) entries keeps the coordinate size (CLT over n
//                      terms), for Ẑ as for Ż (TP4 Def. 7.3: Ż^{Wᵀy} = Σ Z^{x_i} · E[∂Z^y/∂Ẑ^{W x_i}]);
//   Nonlin, ScalarExpr the expression's size: a sum the largest of its terms (no cancellation: the generic case),
//                      a product the sum, a quotient the difference, φ(h) by tp::activation_size;
//   Moment avg(φ)      the size of φ (law of large numbers) when E φ(Z) may be nonzero, and 1/2 less (central
//                      limit theorem) when E φ(Z) = 0 for a structural reason: φ is a product of factors that
//                      fall into groups with independent Gaussian sources, and some group is odd under the sign
//                      flip of all Gaussians (e.g. avg(v · tanh(W x)) with v independent of W x: TP4's f_0 → 0
//                      in µP, §5).
// Sources: each set of inputs linked by nonzero covariances is one Gaussian source; every matrix in each orientation is another (its Ẑ's); a
// MatMul by W whose opposite orientation was used before also carries the sources of those earlier inputs
// (their Ż terms), conservatively all of them. Parity under the flip: inputs and Ẑ are odd; Ż is as odd as
// the earlier inputs; scalars (deterministic limits) are even.
// An output then converges to a nonzero limit (e = 0, generically; a random one when its leading part is a
// mean-zero average scaled up by n^{1/2}), vanishes (e < 0) or blows up (e > 0);
// a vector or a Moment with e > 0 makes the program unstable.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tp/ir.h"
#include "tp/size_exponent.h"

namespace tp {

struct ValueSize {
  SizeExp exponent;        ///< nullopt: exactly zero (when known)
  bool known = true;       ///< false: φ grows faster than any power of its argument and the argument grows
  bool mean_zero = false;  ///< Moment: E φ(Z) = 0 structurally, so the CLT rule applied
  bool random = false;     ///< scalar: its leading part is a (rescaled) CLT fluctuation, so its limit is a
                           ///< Gaussian random variable, not a number (TP4: f_0 of NTP/SP is a GP sample)
};

/// One entry per value of p (matrices get exponent 0).
std::vector<ValueSize> program_sizes(const Program& p);

}  // namespace tp

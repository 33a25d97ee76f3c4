// Coordinate-size exponents: a quantity is Θ(n^e) (e rational) or exactly zero. The arithmetic of the TP4
// heuristics (App. H; DESIGN.md §4.1): a sum has the largest exponent of its terms (no cancellation is
// assumed — the generic case), a product adds exponents, an average of a product of two vectors adds their
// exponents when the vectors are correlated (law of large numbers) and subtracts 1/2 more when they are
// independent (central limit theorem), and a Gaussian matrix with N(0, 1/n) entries preserves the size of
// the vector it multiplies (CLT over n terms of size n^{-1/2}).
#pragma once

#include <optional>

#include "tp/expr.h"
#include "tp/rational.h"

namespace tp {

using SizeExp = std::optional<Rational>;  ///< nullopt: exactly zero

SizeExp size_max(const SizeExp& a, const SizeExp& b);
SizeExp size_plus(const SizeExp& a, const SizeExp& b);
SizeExp size_plus(const SizeExp& a, const Rational& b);

/// How φ scales: its order of vanishing at 0 (0 if φ(0) ≠ 0, at most 3) and its growth degree at infinity
/// (0 for bounded φ such as tanh, 1 for relu or the identity, 2 for x², …); growth is nullopt for
/// super-polynomial φ (exp), whose size under a growing argument is not a power of n.
struct ActivationProfile {
  int vanishing_order = 0;
  std::optional<Rational> growth;
  bool identically_zero = false;
};
ActivationProfile activation_profile(const ExprPtr& phi);

/// The size of φ(h) when h = Θ(n^s): Θ(1)·… for s = 0, n^{k s} for s < 0 (k the vanishing order),
/// n^{g s} for s > 0 (g the growth degree). nullopt result with `known` false when growth is unknown.
SizeExp activation_size(const ActivationProfile& p, const SizeExp& s, bool& known);

}  // namespace tp

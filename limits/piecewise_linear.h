// Exact Gaussian transforms of piecewise-linear activations with their kink at 0, the arc-cosine family:
//   φ(x) = α relu(x) + β relu(−x) + p step(x) + q step(−x) + c0      (step(0) = relu(0) = 0; φ(0) = c0).
// It covers relu, leaky relu (α = 1, β = −0.1), abs (α = β = 1), identity (α = 1, β = −1), step, sign
// (p = 1, q = −1), their derivatives (step combinations) and any sum, difference or multiple of these.
//
// For (u, v) ~ N(0, [[a, c], [c, b]]) with a, b > 0 and θ ∈ [0, π] the angle between u and v (cos θ = ρ), every
// term is an arc-cosine kernel of order 0 or 1 (Cho & Saul, "Kernel Methods for Deep Learning", NIPS 2009,
// eq. 6: J_0(θ) = π − θ, J_1(θ) = sin θ + (π − θ) cos θ) or a mixed one:
//   E[relu(u) relu(v)]  = √(ab) J_1(θ)/(2π) = √(ab) h(π − θ)/(2π),   h(t) = sin t − t cos t;
//   E[relu(u) relu(−v)] = √(ab) h(θ)/(2π)              (−v has angle π − θ);
//   E[step(u) step(v)]  = (π − θ)/(2π),   E[step(u) step(−v)] = θ/(2π);
//   E[relu(u) step(v)]  = √a (1 + ρ)/(2√(2π)) = √a cos²(θ/2)/√(2π)   (E[X 1{X>0, Y>0}] = φ(0)(1 + ρ)/2 for a
//                          standard bivariate normal pair), E[relu(u) step(−v)] = √a sin²(θ/2)/√(2π);
// and by the symmetry (u, v) → (−u, −v) the remaining sign combinations. Everything is a function of θ, never of
// ρ: θ = atan2(√det, c) with det = ab − c² supplied by the caller, so near-collinear inputs (ρ → ±1, where
// arccos ρ loses half the digits) keep full accuracy when det is accurate (issue #13 item 2).
//
// The gap G = √(E φ(u)² E φ(v)²) − E φ(u)φ(v) ≥ 0 gives the next layer's determinant without cancellation:
// for K' = σ_w² E[φφ] + σ_b², det K' = σ_w⁴ G (2√(AB) − G) + σ_w² σ_b² ((√A − √B)² + 2G) (A, B the variances of
// φ(u), φ(v)). G is computed exactly (no cancellation) for the homogeneous subfamilies:
//   order 1 (p = q = c0 = 0), P = α² + β², Q = 2αβ:
//     G = √(ab)/(2π) · [2πP sin²(θ/2) − (P + Q) h(θ)]                                     (θ ≤ π/2),
//     G = √(ab)/(2π) · [π(P − Q) + 2πQ sin²((π − θ)/2) − (P + Q) h(π − θ)]                  (θ > π/2);
//   order 0 (α = β = 0; c0 folds into p and q almost everywhere): G = (p − q)² θ/(2π).
// For mixed φ (both orders present) G = √(AB) − E φφ is computed directly and flagged `exact_gap = false`: the
// caller must carry the resulting angle rounding into its error estimate.
#pragma once

#include <optional>

#include "tp/expr.h"

namespace tp::limits {

/// φ(x) = α relu(x) + β relu(−x) + p step(x) + q step(−x) + c0.
struct PiecewiseLinear {
  double relu_pos = 0.0;  ///< α
  double relu_neg = 0.0;  ///< β
  double step_pos = 0.0;  ///< p
  double step_neg = 0.0;  ///< q
  double constant = 0.0;  ///< c0 = φ(0)

  bool has_order1() const { return relu_pos != 0.0 || relu_neg != 0.0; }
  bool has_order0() const { return step_pos != 0.0 || step_neg != 0.0 || constant != 0.0; }
  double operator()(double x) const;
};

/// The piecewise-linear form of e as a function of argument 0, if e is built from x, constants, relu, step,
/// abs and sign of c·x (c a nonzero constant), +, −, unary −, and products or quotients by constants.
std::optional<PiecewiseLinear> match_piecewise_linear(const ExprPtr& e);

/// A 2×2 covariance [[a, c], [c, b]] with its determinant det = ab − c² ≥ 0 carried separately (accurately).
struct Gram2 {
  double a = 0.0, c = 0.0, b = 0.0, det = 0.0;
};

/// E φ(u)φ(v) and the gap G (see the header comment).
struct PiecewiseTransform {
  double value = 0.0;   ///< E φ(u) φ(v)
  double var_u = 0.0;   ///< A = E φ(u)²
  double var_v = 0.0;   ///< B = E φ(v)²
  double gap = 0.0;     ///< G = √(AB) − E φ(u)φ(v) ≥ 0
  bool exact_gap = true;  ///< false: G computed by subtraction (mixed order-0/order-1 φ)
};

/// E φ(u)φ(v) for (u, v) ~ N(0, g); the angle is θ = atan2(√g.det, g.c). Precondition: g validated (a, b ≥ 0,
/// det ≥ 0, c² ≤ ab up to rounding).
PiecewiseTransform expect_piecewise(const PiecewiseLinear& f, const Gram2& g);

/// The same at an explicit angle θ ∈ [0, π] (for sensitivity estimates): E φ(u)φ(v) with ρ = cos θ.
double expect_piecewise_at(const PiecewiseLinear& f, double a, double b, double theta);

/// E φ(u)² for u ~ N(0, k), k ≥ 0.
double expect_piecewise_squared(const PiecewiseLinear& f, double k);

/// det of σ_w² E[φφ] + σ_b² (the next layer's 2×2 covariance) from the transform, without cancellation.
double next_det(const PiecewiseTransform& t, double sw2, double sb2);

}  // namespace tp::limits

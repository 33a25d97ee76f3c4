// Closed-form Gaussian transforms E[φ(u) ψ(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]): the "dual
// activations" / V_φ maps of the NNGP and NTK recursions (DESIGN.md §4.3: closed forms for identity, relu,
// erf, sin; Gauss–Hermite, limits/gaussian_expectation.h, for every other φ).
//
// With θ = arccos(ρ), ρ = k12/√(k11 k22) the correlation, and det = k11 k22 − k12²:
//  * relu, arc-cosine kernel of degree 1 (Cho & Saul, "Kernel Methods for Deep Learning", NIPS 2009, eq. 6
//    with J_1(θ) = sin θ + (π − θ) cos θ, halved because they integrate 2·E):
//      E[relu(u) relu(v)] = (√det + (π − θ) k12) / (2π);
//  * step = relu', arc-cosine kernel of degree 0 (Cho & Saul eq. 6, J_0 = π − θ; the relu NTK derivative
//    kernel of Jacot et al. 2018): E[step(u) step(v)] = (π − θ) / (2π), with step(x) = 1[x > 0];
//  * erf, arcsine kernel (Williams, "Computing with Infinite Networks", NIPS 1997, eq. 11):
//      E[erf(u) erf(v)] = (2/π) asin(2 k12 / √((1 + 2k11)(1 + 2k22)));
//  * erf'(x) = (2/√π) e^{−x²}: E[erf'(u) erf'(v)] = (4/π) det(I + 2K)^{−1/2} = (4/π)/√(1 + 2k11 + 2k22 + 4 det);
//  * sin and cos, from E e^{i(u ± v)} = e^{−(k11 + k22 ± 2k12)/2} (Gaussian characteristic function):
//      E[sin u sin v] = e^{−(k11+k22)/2} sinh k12,  E[cos u cos v] = e^{−(k11+k22)/2} cosh k12,
//      E[sin u cos v] = 0 (the integrand is odd under (u, v) → (−u, −v));
//  * exp (lognormal moment): E[e^u e^v] = e^{(k11 + k22)/2 + k12};  identity: E[u v] = k12.
// Degenerate covariances are exact limits, never NaN: k12 is clamped into [−√(k11 k22), √(k11 k22)] (|ρ| ≤ 1),
// a zero variance gives u ≡ 0, and sinh/cosh are evaluated as e^{|k12| − (k11+k22)/2}(1 ∓ e^{−2|k12|})/2 so
// no intermediate overflows. Inputs that are not finite or not PSD beyond a relative 1e−10 (smallest
// eigenvalue below −1e−10 · largest) throw CovarianceError.
#pragma once

namespace tp::limits {

/// E[u v] = k12.
double expect_identity_identity(double k11, double k12, double k22);

/// E[relu(u) relu(v)], the degree-1 arc-cosine kernel (Cho & Saul 2009); 0 if a variance is 0.
double expect_relu_relu(double k11, double k12, double k22);

/// E[step(u) step(v)] with step(x) = 1[x > 0] (= relu'), the degree-0 arc-cosine kernel; 0 if a variance is 0.
double expect_step_step(double k11, double k12, double k22);

/// E[erf(u) erf(v)] = (2/π) asin(2 k12 / √((1 + 2k11)(1 + 2k22))) (Williams 1997).
double expect_erf_erf(double k11, double k12, double k22);

/// E[erf'(u) erf'(v)] = (4/π) / √((1 + 2k11)(1 + 2k22) − 4 k12²), erf'(x) = (2/√π) e^{−x²}.
double expect_erf_prime_erf_prime(double k11, double k12, double k22);

/// E[sin u sin v] = e^{−(k11+k22)/2} sinh k12.
double expect_sin_sin(double k11, double k12, double k22);

/// E[cos u cos v] = e^{−(k11+k22)/2} cosh k12.
double expect_cos_cos(double k11, double k12, double k22);

/// E[sin u cos v] = 0 for every covariance (checked for validity all the same).
double expect_sin_cos(double k11, double k12, double k22);

/// E[exp(u) exp(v)] = exp((k11 + k22)/2 + k12).
double expect_exp_exp(double k11, double k12, double k22);

/// E relu(u) = √(k/(2π)) for u ~ N(0, k), k >= 0 (CovarianceError otherwise; likewise below).
double expect_relu(double k);

/// E relu(u)² = k/2.
double expect_relu_squared(double k);

/// E step(u) = 1/2 if k > 0, 0 if k = 0 (step(0) = 0).
double expect_step(double k);

/// E erf(u)² = (2/π) asin(2k / (1 + 2k)).
double expect_erf_squared(double k);

/// E erf'(u) = (2/√π) / √(1 + 2k).
double expect_erf_prime(double k);

/// E cos u = e^{−k/2}.
double expect_cos(double k);

/// E exp(u) = e^{k/2}.
double expect_exp(double k);

}  // namespace tp::limits

// Non-integrable singularities of coordinatewise expressions (issue 12 item 8): a Gaussian expectation
// E f(Z) exists only if E|f(Z)| < ∞, and a pole of f on the real line (1/x, 1/x², sin(x)/cos(x), x^-1) makes
// it infinite or undefined whatever the variance — quadrature and Monte Carlo would still print a number.
// The analysis looks at every division and negative power of the tree: it scans the denominator along each
// random argument (the others held at fixed values) for real zeros (exact zeros on the grid and sign
// changes, refined by bisection) and measures how fast the whole expression grows towards each zero: like |t − t0|^-p
// with p ≥ 0.95 is a pole (p ≥ 1 is not integrable; 1/√|x|, log|x| and sin(x)/x are not flagged).
// A pole anywhere on the line counts (the scan reaches ±2^20: 1/(x − 100) has no expectation either); a
// denominator that only underflows far out (1/phi(x)) is a tail question. Singularities no denominator shows
// (exp(−log|x|) = 1/|x|, |x|^(−c) with a scalar c) are found numerically where a log or a non-constant power
// could make them: spikes of the whole expression, judged by divergent refinement (the integral of |f| over
// shells closing in on the spike does not shrink; singularity.cpp steps 4–5).
// Tails that are not integrable (exp(x²), 1/phi(x)) are detected by the quadrature itself and, before Monte
// Carlo, by a tail probe (gaussian_expectation.h).
#pragma once

#include <string>
#include <vector>

#include "tp/expr.h"
#include "tp/ir.h"

namespace tp {

/// "" if no pole or divergent singularity is found; else one sentence: where e has one and how it grows, e.g.
/// "1 / x has a pole at x = 0, where it grows like |x|^-1". random[i] says whether argument i is a random
/// (Gaussian-driven) coordinate; the other arguments are scalars, held at 1. names are the arguments' names.
std::string find_pole(const ExprPtr& e, const std::vector<bool>& random, const std::vector<std::string>& names);

/// The first Nonlin or Moment of p whose expression has a pole in its vector operands: "" or
/// "'name' (line L): <find_pole's sentence>".
std::string find_pole(const Program& p);

}  // namespace tp

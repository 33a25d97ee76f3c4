// The representative data point of a network's exponent analysis (issue 12 item 6): `tpc phase`'s second
// route propagates size exponents through the unrolled training program (tp/unroll.h, TP4 App. H.3–H.4), whose
// size grows like points² × steps²; the exponents do not depend on how many points there are, so the route
// unrolls one generic point instead.
//
// Why one point gives the exponents of m points (TP4 §3, the Master Theorem's size rules in tp/size_exponent.h):
//   1. every vector of the unrolled program is a sum over training points i of terms built by the same ops
//      from ξ_i, y_i (the update ΔW^l x = Σ_i g_i avg(x_i x) / n^{c}, its transpose and the input layer's
//      (ξ_i · ξ)); the terms of different points differ only in data constants, so the rules give each the
//      same exponent as long as those constants are nonzero;
//   2. a sum takes the largest exponent of its terms (exact cancellation between points is not generic and
//      the rules never assume it), and m is fixed as n → ∞, so Σ_i over m points has the exponent of one term;
//   3. the rules see a data constant only as zero or nonzero (Const 0 has no size, any other Θ(1)), so the
//      generic point — 1 in every input coordinate where some point is nonzero, target 1 (mse) or the first
//      target (cross-entropy class), the same point as the evaluation probe when the script has evaluation
//      points — has every term a point of the data can have, and the exponents are TP4's (stated for generic
//      data). Per-sample and minibatch schedules visit one point per step at T = 2 exactly as full batch does.
// tests/tp/test_representative_point.cpp checks the equality against full unrolls on random small data.
#pragma once

#include "tp/network.h"

namespace tp {

/// spec with its data replaced by the one generic training point described above (and that same point as the
/// only evaluation point when spec has evaluation points), full-batch training; every other field unchanged.
NetworkSpec representative_point_spec(const NetworkSpec& spec);

}  // namespace tp

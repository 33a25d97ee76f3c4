// The parity rule (tp/graph_parity.h) and its effect on both routes: an inner product of parts with different
// sign-flip characters is a CLT fluctuation; µP + SGD with 1/d logits changes the logits by n^(-1/2) at step 1.
#include <doctest/doctest.h>

#include "tp/graph.h"
#include "tp/graph_parity.h"
#include "tp/graph_phase.h"
#include "tp/graph_unroll.h"

using namespace tp;

TEST_CASE("parity parts: MatMul flips its tensor's bit, products XOR, φ closes the subgroup, inner products are CLT across parities") {
  const ParityParts x = ParityParts::even(Rational(0));
  const ParityParts q = parity_flip(x, 1), k = parity_flip(x, 2);
  CHECK(*parity_inner(q, k, Rational(0)) == Rational(-1, 2));   // W_q x · W_k x: independent, CLT
  CHECK(*parity_inner(q, q, Rational(0)) == Rational(0));       // the same parity: LLN
  CHECK(*parity_inner(q, k, Rational(1)) == Rational(1, 2));    // sum form over n terms
  CHECK(parity_flip(q, 1).parts.at(0).mask == 0u);  // W Wᵀ g keeps g's parity (the Ż term)
  CHECK(parity_product(q, k).parts.at(0).mask == 6u);
  const ParityParts phi = parity_closure(parity_join(q, k), Rational(0));
  CHECK(phi.parts.size() == 4);  // {0, q, k, q⊕k}: the even part included
  CHECK(*parity_inner(phi, x, Rational(0)) == Rational(0));
  // the wild fallback shares every parity (LLN), and so does a part set past the cap
  CHECK(*parity_inner(ParityParts::wild(Rational(0)), k, Rational(0)) == Rational(0));
  ParityParts many;
  for (int b = 0; b < 7; ++b) many = parity_join(many, ParityParts::odd(b, Rational(0)));
  CHECK(parity_closure(many, Rational(0)).parts.at(0).mask == ParityParts::kAny);
  CHECK(ParityParts::odd(70, Rational(0)).parts.at(0).mask == ParityParts::kAny);
  CHECK(!parity_inner(ParityParts(), q, Rational(0)));  // zero stays exactly zero
  // sizes: a moment's value is the largest pair, matched pairs LLN
  const ParityParts mixed = parity_join(parity_shift(q, Rational(-1)), k);
  CHECK(*parity_inner(mixed, q, Rational(0)) == Rational(-1, 2));  // k·q CLT (−1/2) beats q·q LLN at −1
}

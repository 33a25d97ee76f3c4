// Hand-derived TP5 predictions for the Transformer block of limits/graph_builders.h under µP + Adam (TP5 =
// Yang et al. 2022, arXiv 2203.03466, Table 3 and Definition 4.1), used as the phase compiler's stand-in in
// the coordinate-check tests until the graph phase compiler lands. Derivation, per node at step t:
//  - every width-n node (embed, ln1, attn, res1, ln2, fc1, fc1.bias, act, fc2, res2): Θ(1) coordinates at
//    every step and Θ(1) change after every step — µP's defining property (TP5 §4: every hidden layer's
//    features move by Θ(1); Adam's update of a hidden matrix is −η/n·Q(g) with Q(g) = Θ(1) entries correlated
//    with the layer input, so ΔW x = Θ(1)); layer norm keeps Θ(1) vectors Θ(1); the attention output is a
//    convex combination of the Θ(1) value rows, so it stays Θ(1) even when the logits grow.
//  - readout f: the output weights have std 1/n and x_0 is independent of them, so f_0 = Θ(n^{-1/2}); after
//    an update Δf = Θ(1) (the readout's update −η/n·Q(g) against x, summed over n coordinates), so f_t = Θ(1).
//  - attention logits q·k/d (Def. 4.1): at init q and k are independent Θ(1) vectors, q·k = Θ(√d), logits
//    Θ(n^{-1/2}) (and exactly 0 with a zero-initialized query); after an update Δq correlates with k and
//    q·k = Θ(d): logits Θ(1). With 1/√d instead: Θ(1) at init, Θ(n^{1/2}) after an update.
#pragma once

#include <vector>

#include "limits/graph_builders.h"
#include "tp/graph.h"

namespace tp::test {

inline std::vector<PredictedSize> mup_adam_block_predictions(const limits::TransformerBlockOptions& o) {
  std::vector<PredictedSize> out;
  auto add = [&](const std::string& node, int t, bool delta, Rational e, bool vanishes = false) {
    PredictedSize p;
    p.node = node;
    p.step = t;
    p.delta = delta;
    p.exponent = e;
    p.vanishes = vanishes;
    out.push_back(p);
  };
  const bool sqrt_d = o.logit_scale == LogitScale::inverse_sqrt_d;
  for (int t = 0; t <= o.training.steps; ++t) {
    for (const char* n : {"embed", "ln1", "attn", "res1", "ln2", "fc1", "fc1.bias", "act", "fc2", "res2"}) {
      add(n, t, false, 0);
      if (t > 0) add(n, t, true, 0);
    }
    add("readout", t, false, t == 0 ? Rational(-1, 2) : Rational(0));
    if (t > 0) add("readout", t, true, 0);
    if (t == 0) {
      if (o.zero_query) add("attn.logits", 0, false, 0, true);
      else add("attn.logits", 0, false, sqrt_d ? Rational(0) : Rational(-1, 2));
    } else {
      add("attn.logits", t, false, sqrt_d ? Rational(1, 2) : Rational(0));
      add("attn.logits", t, true, sqrt_d ? Rational(1, 2) : Rational(0));
    }
  }
  return out;
}

}  // namespace tp::test

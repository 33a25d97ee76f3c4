// The phase of an L-hidden-layer MLP under an abc-parametrization trained by SGD, by the closed form of
// TP4 (Yang & Hu 2021, "Feature Learning in Infinite-Width Neural Networks", arXiv 2011.14522 v3):
//   W^l = n^{-a_l} w^l, w^l_{αβ} ~ N(0, n^{-2 b_l}), learning rate η n^{-c}; layers 1..L hidden, L+1 readout.
//   r   := min(a_{L+1}+b_{L+1}, 2a_{L+1}+c) + c − 1 + min_{l≤L} (2a_l + [l=1])          (Def. 3.2)
//   r_l := min(a_{L+1}+b_{L+1}, 2a_{L+1}+c) + c − 1 + 2a_l + [l=1]                      (§5)
//   stable ⇔ a_1+b_1 = 0, a_l+b_l = 1/2 (2≤l≤L), a_{L+1}+b_{L+1} ≥ 1/2 (init);
//            r ≥ 0; 2a_{L+1}+c ≥ 1; a_{L+1}+b_{L+1}+r ≥ 1                              (Thm 3.3)
//   nontrivial ⇔ a_{L+1}+b_{L+1}+r = 1 or 2a_{L+1}+c = 1                               (Thm 3.4)
//   stable & nontrivial: feature learning ⇔ r = 0, kernel regime ⇔ r > 0             (Thm 3.6, 3.8, Cor 3.9)
//   W^l (l ≤ L) updated maximally ⇔ r_l = 0 (Prop 5.3); W^{L+1} updated maximally ⇔ 2a_{L+1}+c = 1,
//   initialized maximally ⇔ a_{L+1}+b_{L+1}+r = 1 (Prop 5.5); layer l learns features ⇔ min_{m≤l} r_m = 0
//   (Thm H.13(3), monotone in l); NNGP limit ⇔ r > 0, a_{L+1}+b_{L+1}+r > 1, 2a_{L+1}+c = 1 (Thm H.13(5));
//   f_0 → nonzero GP ⇔ a_{L+1}+b_{L+1} = 1/2, → 0 if > 1/2.
// Size exponents (stable case): Δh^l_t = Θ(n^{-min_{m≤l} r_m}) and Δf_t for t ≥ 2; the first step sees only
// W^{L+1}_0 in the backward pass, so Δh^l_1, Δf_1 use a_{L+1}+b_{L+1} in place of min(a+b, 2a+c). For an
// unstable parametrization the blow-up compounds after the first update and the exponents of later steps
// are not predicted by this closed form.
// Every verdict is invariant under a_l + θ, b_l − θ, c − 2θ (TP4 Eq. 5), which the tests check.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tp/rational.h"

namespace tp {

/// The optimizer whose updates the exponents describe (SGD: TP4; Adam and SignSGD: TP4b's abcd form).
enum class Optimizer { sgd, adam, signsgd };
std::string_view optimizer_name(Optimizer o);  ///< "sgd", "adam", "signsgd"

/// Per-layer exponents; index 0 is layer 1, index L is the readout L+1.
struct AbcParametrization {
  std::string name = "custom";
  std::vector<Rational> a, b;
  Rational c;                 ///< the learning-rate exponent: η n^{-c}
  std::vector<Rational> c_l;  ///< per-layer learning-rate exponents (L+1 entries); empty = c for every layer
  Optimizer optimizer = Optimizer::sgd;
  int depth() const { return static_cast<int>(a.size()) - 1; }  ///< L, the number of hidden layers
  /// The learning-rate exponent of layer index i (0-based: 0 is layer 1, L is the readout).
  const Rational& c_of(int i) const { return c_l.empty() ? c : c_l.at(static_cast<std::size_t>(i)); }
};

/// The named presets of TP4 Table 1 for depth L: "sp" (c = 0), "ntp", "mfp" (L = 1 only, c = −1), "mup".
/// Throws std::invalid_argument naming the valid presets (or the depth restriction).
AbcParametrization preset(std::string_view name, int depth);
/// Names of the presets, for help texts.
const std::vector<std::string>& preset_names();

/// TP4 Eq. 5: a_l + θ, b_l − θ, c − 2θ (the same network function and SGD dynamics).
AbcParametrization shift(const AbcParametrization& p, const Rational& theta);

enum class Regime { unstable, trivial, kernel, feature_learning };
std::string_view regime_name(Regime r);

/// One reason of Thm 3.3; `key` is one of "init", "r<0", "2a_out+c<1", "a_out+b_out+r<1".
struct Instability {
  std::string key;
  std::string detail;  ///< e.g. "a_2 + b_2 = 1 but must be 1/2 (hidden layer 2's preactivations blow up like n^(1/2))"
};

/// A predicted coordinate size: quantity = Θ(n^exponent).
struct SizeExponent {
  std::string quantity;
  Rational exponent;
  std::string meaning;
};

struct MlpPhase {
  bool stable = false;
  std::vector<Instability> instabilities;  ///< every violated condition of Thm 3.3
  bool nontrivial = false;
  Regime regime = Regime::unstable;
  Rational r;
  std::vector<Rational> r_l;                   ///< l = 1..L
  std::vector<bool> feature_learning_by_layer; ///< l = 1..L
  std::vector<bool> updated_maximally;         ///< l = 1..L+1
  bool readout_initialized_maximally = false;
  bool nngp_limit = false;
  bool f0_nonzero_gp = false;                  ///< else f_0 → 0
  std::vector<SizeExponent> exponents;         ///< initial and update sizes, TP4 §3 heuristics (App. H)
};

/// Classifies p. Throws std::invalid_argument if a and b do not both have L+1 ≥ 2 entries.
MlpPhase classify_mlp(const AbcParametrization& p);

}  // namespace tp

// The phase of an L-hidden-layer MLP under an abc-parametrization with per-layer learning rates, trained by
// SGD (TP4 = Yang & Hu 2021, "Feature Learning in Infinite-Width Neural Networks", arXiv 2011.14522 v3) or
// by an entrywise adaptive optimizer, Adam or SignSGD (TP4b = Yang & Littwin 2023, arXiv 2308.01814):
//   W^l = n^{-a_l} w^l, w^l_{αβ} ~ N(0, n^{-2 b_l}), layer l's learning rate η n^{-c_l} (c_l = c when not
//   given per layer); layers 1..L hidden, L+1 the readout; [l=1] is 1 for the input layer, else 0.
//
// Update exponent u_l (how the step of w^l moves W^l):
//   SGD:  ΔW^l = n^{-a_l} Δw^l = −η n^{-(2a_l+c_l)} ∂L/∂W^l  (one n^{-a_l} from the chain rule, one from W = n^{-a} w)
//         u_l := 2a_l + c_l.
//   Adam/SignSGD: Δw^l = −η n^{-c_l} Q(∂L/∂w^l) with Q entrywise and scale-invariant (sign, or m/√v with ε
//         negligible), so the entries of Q are Θ(1) whatever the gradient's size: ΔW^l has Θ(n^{-u_l})
//         entries, u_l := a_l + c_l, and the backward pass's size drops out.
// Backward exponent g (coordinate size n^{-g} of the gradient dh^l reaching the hidden layers):
//   SGD: g := min(a_{L+1}+b_{L+1}, u_{L+1})  (W^{L+1}_0 plus the readout's own updates; TP4 Def. 3.2);
//   Adam/SignSGD: g := 0 (it only enters through Q, which normalizes it away).
// ΔW^l applied to its own input is a sum over the fan-in of correlated terms (LLN): fan-in n for l ≥ 2 and
// the readout, d = Θ(1) for l = 1. Hence
//   r_l := g + u_l − 1 + [l=1],   r := min_{l≤L} r_l                                   (TP4 Def. 3.2, §5)
// which for SGD with a global c is TP4's r = min(a_{L+1}+b_{L+1}, 2a_{L+1}+c) + c − 1 + min_l (2a_l + [l=1]).
//   stable ⇔ a_1+b_1 = 0, a_l+b_l = 1/2 (2≤l≤L), a_{L+1}+b_{L+1} ≥ 1/2 (init);
//            r ≥ 0; u_{L+1} ≥ 1 (ΔW^{L+1} x^L = Θ(n^{1−u_{L+1}})); a_{L+1}+b_{L+1}+r ≥ 1 (W^{L+1}_0 Δx^L)
//                                                                                       (Thm 3.3)
//   nontrivial ⇔ a_{L+1}+b_{L+1}+r = 1 or u_{L+1} = 1                                    (Thm 3.4)
//   stable & nontrivial: feature learning ⇔ r = 0, kernel regime ⇔ r > 0             (Thm 3.6, 3.8, Cor 3.9;
//                        for Adam the kernel regime is TP4b's nonlinear "operator" regime)
//   W^l (l ≤ L) updated maximally ⇔ r_l = 0 (Prop 5.3); W^{L+1} updated maximally ⇔ u_{L+1} = 1,
//   initialized maximally ⇔ a_{L+1}+b_{L+1}+r = 1 (Prop 5.5); layer l learns features ⇔ min_{m≤l} r_m = 0
//   (Thm H.13(3), monotone in l); NNGP limit ⇔ r > 0, a_{L+1}+b_{L+1}+r > 1, u_{L+1} = 1 (Thm H.13(5));
//   f_0 → nonzero GP ⇔ a_{L+1}+b_{L+1} = 1/2, → 0 if > 1/2.
// Size exponents (stable case): Δh^l_t = Θ(n^{-min_{m≤l} r_m}) and Δf_t for t ≥ 2. For SGD the first step sees
// only W^{L+1}_0 in the backward pass, so Δh^l_1, Δf_1 use g_1 = a_{L+1}+b_{L+1} in place of g; for
// Adam/SignSGD g does not enter and the first step has the same exponents. For an unstable parametrization
// the blow-up compounds after the first update and the exponents of later steps are not predicted.
// Adam assumption: ε is negligible against the gradient entries (ε → 0 before n → ∞); TP4b's ε n^{-d}
// scaling (the d of abcd) is not modelled, so an ε that dominates the gradients (SGD-like updates) is not
// covered. Adam's momenta do not change any exponent (they average Θ(1) entries).
// Symmetries (every verdict and exponent is invariant, tested): per layer l and any θ,
//   SGD: a_l + θ, b_l − θ, c_l − 2θ (TP4 Eq. 5, here layer-wise because c_l is per layer);
//   Adam/SignSGD: a_l + θ, b_l − θ, c_l − θ (the update does not see the n^{-a_l} of the gradient).
#pragma once

#include <optional>
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
  Rational c;                 ///< the learning-rate exponent of every layer, η n^{-c}, unless c_l is given
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

/// Parses "sgd", "adam", "signsgd"; nullopt otherwise.
std::optional<Optimizer> parse_optimizer(std::string_view text);

/// The symmetry of every layer at once: a_l + θ, b_l − θ, and c − 2θ (SGD, TP4 Eq. 5) or c − θ (Adam,
/// SignSGD); c_l, when given, moves like c. The network function and the training dynamics are unchanged.
AbcParametrization shift(const AbcParametrization& p, const Rational& theta);
/// True if p is q up to the symmetry of shift (same depth and optimizer; learning-rate exponents compared
/// per layer, so a global c and equal per-layer c_l are the same).
bool equivalent_up_to_shift(const AbcParametrization& p, const AbcParametrization& q);
/// The same symmetry for one layer (0-based index i); fills c_l from c first, since only layer i's learning
/// rate moves. Throws std::out_of_range for a bad index.
AbcParametrization shift_layer(const AbcParametrization& p, int i, const Rational& theta);

/// u_l of layer index i (see the header comment): 2a_l + c_l for SGD, a_l + c_l for Adam/SignSGD.
Rational update_exponent(const AbcParametrization& p, int i);

enum class Regime { unstable, trivial, kernel, feature_learning };
std::string_view regime_name(Regime r);

/// One reason of Thm 3.3; `key` is one of "init", "r<0", "a_out+b_out+r<1", and for the readout's update
/// "2a_out+c<1" (SGD: u_{L+1} = 2a_{L+1}+c_{L+1}) or "a_out+c_out<1" (Adam/SignSGD: u_{L+1} = a_{L+1}+c_{L+1}).
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
  std::vector<Rational> u_l;                   ///< update exponents, l = 1..L+1 (see the header comment)
  Rational g;                                  ///< backward exponent (0 for Adam/SignSGD)
  std::vector<bool> feature_learning_by_layer; ///< l = 1..L
  std::vector<bool> updated_maximally;         ///< l = 1..L+1
  bool readout_initialized_maximally = false;
  bool nngp_limit = false;
  bool f0_nonzero_gp = false;                  ///< else f_0 → 0
  std::vector<SizeExponent> exponents;         ///< initial and update sizes, TP4 §3 heuristics (App. H)
};

/// Classifies p. Throws std::invalid_argument if a and b do not both have L+1 ≥ 2 entries or c_l is neither
/// empty nor of L+1 entries.
MlpPhase classify_mlp(const AbcParametrization& p);

}  // namespace tp

// See mlp_phase.h for the formulas and their sources in TP4 and TP4b.
#include "tp/mlp_phase.h"

#include <algorithm>
#include <stdexcept>

namespace tp {

namespace {

// n^e with a parenthesised fractional exponent: "n^(1/2)", "n^2".
std::string power(const Rational& e) {
  const std::string s = to_string(e);
  return s.find('/') == std::string::npos ? "n^" + s : "n^(" + s + ")";
}

std::string layer_name(int l, int L) { return l == L + 1 ? "readout" : "layer " + std::to_string(l); }

Rational min_of(const std::vector<Rational>& v) { return *std::min_element(v.begin(), v.end()); }

}  // namespace

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names{"sp", "ntp", "mfp", "mup"};
  return names;
}

AbcParametrization preset(std::string_view name, int L) {
  if (L < 1) throw std::invalid_argument("the depth L (number of hidden layers) must be at least 1, got " + std::to_string(L));
  AbcParametrization p;
  p.name = std::string(name);
  p.a.assign(L + 1, Rational(0));
  p.b.assign(L + 1, Rational(0));
  const Rational half(1, 2);
  if (name == "sp") {
    for (int l = 1; l <= L; ++l) p.b[l] = half;  // b_1 = 0, b_l = 1/2 for l ≥ 2; a = 0; c = 0
    p.c = 0;
  } else if (name == "ntp") {
    for (int l = 1; l <= L; ++l) p.a[l] = half;  // a_1 = 0, a_l = 1/2 for l ≥ 2; b = 0; c = 0
    p.c = 0;
  } else if (name == "mfp") {
    if (L != 1)
      throw std::invalid_argument("the mean-field parametrization 'mfp' is defined for L = 1 hidden layer only (got L = " +
                                  std::to_string(L) + "); use 'mup', its generalisation to any depth");
    p.a[1] = 1;  // a = (0, 1), b = 0, c = −1
    p.c = -1;
  } else if (name == "mup") {
    p.a[0] = -half;  // a = (−1/2, 0, …, 0, 1/2), b = 1/2, c = 0
    p.a[L] = half;
    p.b.assign(L + 1, half);
    p.c = 0;
  } else {
    throw std::invalid_argument("unknown parametrization preset '" + std::string(name) + "'; the presets are sp, ntp, mfp, mup");
  }
  return p;
}

std::string_view optimizer_name(Optimizer o) {
  switch (o) {
    case Optimizer::sgd: return "sgd";
    case Optimizer::adam: return "adam";
    case Optimizer::signsgd: return "signsgd";
  }
  return "?";
}

std::optional<Optimizer> parse_optimizer(std::string_view text) {
  for (Optimizer o : {Optimizer::sgd, Optimizer::adam, Optimizer::signsgd})
    if (text == optimizer_name(o)) return o;
  return std::nullopt;
}

namespace {
// How c moves under a + θ: the update of W = n^{-a} w scales like n^{-2a-c} (SGD) or n^{-a-c} (entrywise).
Rational c_slope(Optimizer o) { return o == Optimizer::sgd ? Rational(2) : Rational(1); }
}  // namespace

bool equivalent_up_to_shift(const AbcParametrization& p, const AbcParametrization& q) {
  if (p.a.size() != q.a.size() || p.b.size() != q.b.size() || p.a.empty() || p.optimizer != q.optimizer) return false;
  const AbcParametrization s = shift(p, q.a[0] - p.a[0]);
  for (int i = 0; i < static_cast<int>(s.a.size()); ++i)
    if (s.a[i] != q.a[i] || s.b[i] != q.b[i] || s.c_of(i) != q.c_of(i)) return false;
  return true;
}

AbcParametrization shift(const AbcParametrization& p, const Rational& theta) {
  AbcParametrization q = p;
  const Rational dc = c_slope(p.optimizer) * theta;
  for (auto& x : q.a) x += theta;
  for (auto& x : q.b) x -= theta;
  q.c -= dc;
  for (auto& x : q.c_l) x -= dc;
  return q;
}

AbcParametrization shift_layer(const AbcParametrization& p, int i, const Rational& theta) {
  AbcParametrization q = p;
  if (q.c_l.empty()) q.c_l.assign(q.a.size(), q.c);
  const auto k = static_cast<std::size_t>(i);
  q.a.at(k) += theta;
  q.b.at(k) -= theta;
  q.c_l.at(k) -= c_slope(p.optimizer) * theta;
  return q;
}

Rational update_exponent(const AbcParametrization& p, int i) {
  const Rational& a = p.a.at(static_cast<std::size_t>(i));
  return (p.optimizer == Optimizer::sgd ? 2 * a : a) + p.c_of(i);
}

std::string_view regime_name(Regime r) {
  switch (r) {
    case Regime::unstable: return "unstable";
    case Regime::trivial: return "trivial";
    case Regime::kernel: return "kernel";
    case Regime::feature_learning: return "feature_learning";
  }
  return "?";
}

MlpPhase classify_mlp(const AbcParametrization& p) {
  const int L = p.depth();
  if (L < 1 || p.b.size() != p.a.size())
    throw std::invalid_argument("an abc-parametrization of an MLP needs a and b with L+1 >= 2 entries each (got " +
                                std::to_string(p.a.size()) + " and " + std::to_string(p.b.size()) + ")");
  if (!p.c_l.empty() && p.c_l.size() != p.a.size())
    throw std::invalid_argument("per-layer learning-rate exponents c_l need L+1 = " + std::to_string(p.a.size()) +
                                " entries (got " + std::to_string(p.c_l.size()) + ")");
  const bool sgd = p.optimizer == Optimizer::sgd;
  const Rational half(1, 2);
  MlpPhase out;
  // Steps: 1. update exponents u_l and the backward exponent g; 2. r_l, r; 3. Thm 3.3 conditions;
  // 4. regime and per-layer verdicts; 5. size exponents (t >= 2, then the first step).
  for (int i = 0; i <= L; ++i) out.u_l.push_back(update_exponent(p, i));
  const Rational ab_out = p.a[L] + p.b[L];
  const Rational u_out = out.u_l[L];
  out.g = sgd ? std::min(ab_out, u_out) : Rational(0);
  std::vector<Rational> hidden;  // u_l − 1 + [l=1]
  for (int l = 1; l <= L; ++l) hidden.push_back(out.u_l[l - 1] - 1 + (l == 1 ? 1 : 0));
  for (int l = 1; l <= L; ++l) out.r_l.push_back(out.g + hidden[l - 1]);
  out.r = min_of(out.r_l);

  // Thm 3.3: every violated condition.
  std::vector<std::string> init;
  if (p.a[0] + p.b[0] != 0)
    init.push_back("a_1 + b_1 = " + to_string(p.a[0] + p.b[0]) + " but must be 0 (layer 1's preactivations are Θ(" +
                   power(-(p.a[0] + p.b[0])) + "))");
  for (int l = 2; l <= L; ++l) {
    const Rational s = p.a[l - 1] + p.b[l - 1];
    if (s != half)
      init.push_back("a_" + std::to_string(l) + " + b_" + std::to_string(l) + " = " + to_string(s) +
                     " but must be 1/2 (layer " + std::to_string(l) + "'s preactivations are Θ(" + power(half - s) + "))");
  }
  const std::string out_l = std::to_string(L + 1);
  if (ab_out < half)
    init.push_back("a_" + out_l + " + b_" + out_l + " = " + to_string(ab_out) + " < 1/2 (the output f_0 blows up like " +
                   power(half - ab_out) + ")");
  for (const auto& d : init) out.instabilities.push_back({"init", d});
  if (out.r < 0)
    out.instabilities.push_back({"r<0", "r = " + to_string(out.r) + " < 0 (features Δx blow up like " + power(-out.r) + " after one step)"});
  if (u_out < 1) {
    const std::string c_name = p.c_l.empty() ? "c" : "c_" + out_l;
    out.instabilities.push_back(
        {sgd ? "2a_out+c<1" : "a_out+c_out<1",
         (sgd ? "2a_" : "a_") + out_l + " + " + c_name + " = " + to_string(u_out) +
             " < 1 (the readout update ΔW x blows up like " + power(1 - u_out) + ")"});
  }
  if (ab_out + out.r < 1)
    out.instabilities.push_back({"a_out+b_out+r<1", "a_" + out_l + " + b_" + out_l + " + r = " + to_string(ab_out + out.r) +
                                                        " < 1 (W_0 Δx blows up like " + power(1 - ab_out - out.r) + ")"});
  out.stable = out.instabilities.empty();
  out.nontrivial = ab_out + out.r == 1 || u_out == 1;
  if (!out.stable) out.regime = Regime::unstable;
  else if (!out.nontrivial) out.regime = Regime::trivial;
  else out.regime = out.r == 0 ? Regime::feature_learning : Regime::kernel;

  Rational running = out.r_l[0];
  for (int l = 1; l <= L; ++l) {
    running = std::min(running, out.r_l[l - 1]);
    out.feature_learning_by_layer.push_back(out.stable && running == 0);
    out.updated_maximally.push_back(out.r_l[l - 1] == 0);
  }
  out.updated_maximally.push_back(u_out == 1);
  out.readout_initialized_maximally = ab_out + out.r == 1;
  out.nngp_limit = out.stable && out.r > 0 && ab_out + out.r > 1 && u_out == 1;
  out.f0_nonzero_gp = ab_out == half;

  // Sizes (TP4 §3 and App. H; for l ≥ 2 the initial sizes assume the layers below are Θ(1)).
  out.exponents.push_back({"h^1_0", -(p.a[0] + p.b[0]), "layer 1 preactivation at init"});
  for (int l = 2; l <= L; ++l)
    out.exponents.push_back({"h^" + std::to_string(l) + "_0", half - (p.a[l - 1] + p.b[l - 1]),
                             "layer " + std::to_string(l) + " preactivation at init"});
  out.exponents.push_back({"f_0", half - ab_out, "output at init"});
  running = out.r_l[0];
  for (int l = 1; l <= L; ++l) {
    running = std::min(running, out.r_l[l - 1]);
    out.exponents.push_back({"ΔW^" + std::to_string(l) + " x^" + std::to_string(l - 1), -out.r_l[l - 1],
                             "update of " + layer_name(l, L) + "'s weights applied to its input"});
    out.exponents.push_back({"Δh^" + std::to_string(l) + "_t", -running, "change of layer " + std::to_string(l) + "'s features (t >= 2)"});
  }
  out.exponents.push_back({"ΔW^" + out_l + " x^" + std::to_string(L), 1 - u_out, "readout update term of Δf"});
  out.exponents.push_back({"W^" + out_l + "_0 Δx^" + std::to_string(L), 1 - ab_out - out.r, "feature-change term of Δf"});
  // Δf = ΔW x_0 + W_0 Δx + ΔW Δx; the last term matters only when features blow up (r < 0).
  out.exponents.push_back({"Δf_t", std::max({1 - u_out, 1 - ab_out - out.r, 1 - u_out - out.r}),
                           "change of the output (t >= 2)"});
  // SGD: the first step backpropagates through W^{L+1}_0 alone (ΔW^{L+1} is still 0), so its r uses a+b of
  // the readout instead of min(a+b, 2a+c); from the second step on TP4's r applies. They differ only when
  // 2a_{L+1}+c_{L+1} < a_{L+1}+b_{L+1}. Adam/SignSGD: the backward size never enters (g = 0).
  const Rational g1 = sgd ? ab_out : Rational(0);
  Rational r1 = g1 + min_of(hidden);
  running = g1 + hidden[0];
  for (int l = 1; l <= L; ++l) {
    running = std::min(running, g1 + hidden[l - 1]);
    out.exponents.push_back({"Δh^" + std::to_string(l) + "_1", -running, "change of layer " + std::to_string(l) + "'s features after the first step"});
  }
  out.exponents.push_back({"Δf_1", std::max({1 - u_out, 1 - ab_out - r1, 1 - u_out - r1}),
                           "change of the output after the first step"});
  return out;
}

}  // namespace tp

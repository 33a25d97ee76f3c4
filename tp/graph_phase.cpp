// See graph_phase.h; DESIGN.md "Phase of graph networks" lists the rule of every op with its theorem.
#include "tp/graph_phase.h"

#include "tp/graph_parity.h"

#include <algorithm>
#include <map>
#include <stdexcept>

namespace tp {

std::string size_text(const SizeExp& s) {
  if (!s) return "0";
  const std::string e = to_string(*s);
  return e.find('/') == std::string::npos ? "n^" + e : "n^(" + e + ")";
}

namespace {

using S = SizeExp;
const Rational kHalf(1, 2);

S plus(const S& a, const Rational& b) { return size_plus(a, b); }
S plus(const S& a, const S& b) { return size_plus(a, b); }
S smax(const S& a, const S& b) { return size_max(a, b); }
bool positive(const S& s) { return s && *s > 0; }

// One term of a quantity's size, with the tensor it comes from (for naming the culprit of a blow-up).
struct Term {
  S size;
  std::string label;
  int param = -1;
  ParityParts parts;  // its parity parts (empty with a size: not tracked, one wild part)
};
// A term from its parity parts (its size is their largest).
Term parted(ParityParts parts, std::string label, int param) {
  const S size = parts.size();
  return {size, std::move(label), param, std::move(parts)};
}
ParityParts parts_of(const Term& t) { return t.parts.parts.empty() ? ParityParts::wild(t.size) : t.parts; }

// A tracked quantity: a node's value or an attention's q, k, v, logits.
struct Tracked {
  std::string name;
  int node = -1;
  bool width = false;          // has width n
  bool check_init = false;     // must be Θ(1) at init (feeds a layer)
  bool can_blow = true;        // a blow-up counts (logits over one position cannot)
  S init;
  std::vector<S> delta;        // per step (delta[0] unused)
  ParityParts pinit;                // parity parts of the value at init
  std::vector<ParityParts> pdelta;  // of the change, per step
  std::vector<Term> init_terms;
  std::vector<std::vector<Term>> delta_terms;
};

// The change of softmax weights from a change of the logits of size n^e: n^e while it vanishes, Θ(1) at most.
S softmax_change(const S& logits_change) {
  return logits_change && *logits_change > 0 ? S(Rational(0)) : logits_change;
}

Term top(const std::vector<Term>& terms) {
  Term best{std::nullopt, "", -1};
  for (const auto& t : terms)
    if (t.size && (!best.size || *t.size > *best.size)) best = t;
  return best;
}

class Calculus {
 public:
  explicit Calculus(const GraphSpec& s) : s_(s), sgd_(s.training.optimizer == Optimizer::sgd) {
    const std::size_t P = s.params.size(), N = s.nodes.size();
    E_.assign(P, std::nullopt);
    U_.assign(P, std::nullopt);
    owner_.assign(P, -1);
    for (std::size_t p = 0; p < P && p < s.tied.size(); ++p) owner_[p] = s.tied[p];
    corr_.assign(N, std::nullopt);
    upd_.assign(P, std::nullopt);
    upd_step_.assign(P, 0);
    init_term_.assign(P, std::nullopt);
    G_.assign(N, std::nullopt);
    pG_.assign(N, ParityParts());
    hist_.assign(P, {});
    pending_.assign(P, {});
    pvector_delta_memo_.assign(P, std::nullopt);
    shared_.assign(P, false);
    for (std::size_t p = 0; p < P; ++p)
      if (owner_[p] >= 0) shared_[p] = shared_[static_cast<std::size_t>(owner_[p])] = true;
    for (std::size_t i = 0; i < N; ++i) {
      const GraphNode& v = s.nodes[i];
      if (v.op == GraphOp::activation) {
        profile_[i] = activation_profile(v.activation);
        dprofile_[i] = activation_profile(derivative(v.activation, 0));
      }
    }
    // Which width-n nodes feed a layer (not only the branch slot of an add): they must be Θ(1) at init.
    feeds_.assign(N, false);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t k = 0; k < s.nodes[i].inputs.size(); ++k)
        if (!(s.nodes[i].op == GraphOp::add && k == 1)) feeds_[static_cast<std::size_t>(s.nodes[i].inputs[k])] = true;
    node_track_.assign(N, -1);
  }

  GraphPhase run();

 private:
  const GraphParameter& P(int p) const { return s_.params[static_cast<std::size_t>(p)]; }
  // The parameter whose values w a tensor uses: itself, or the tensor it is tied to (the readout tied to the
  // embedding: W_out = n^{-a_out} w_embᵀ). Init (b, σ, zero init), learning rate (c), ε (d) and weight decay
  // are w's; only the multiplier n^{-a} is the tensor's own.
  int w_of(int p) const { return owner_[static_cast<std::size_t>(p)] >= 0 ? owner_[static_cast<std::size_t>(p)] : p; }
  const TensorScaling& Wsc(int p) const { return P(w_of(p)).scaling; }
  Rational ab(int p) const { return P(p).scaling.a + Wsc(p).b; }
  bool zero(int p) const { return Wsc(p).zero_init; }

  // The tracked quantity `name` (created at step 0).
  Tracked& track(const std::string& name, int node, bool width) {
    const auto it = index_.find(name);
    if (it != index_.end()) return tracked_[it->second];
    index_[name] = tracked_.size();
    Tracked t;
    t.name = name;
    t.node = node;
    t.width = width;
    tracked_.push_back(std::move(t));
    return tracked_.back();
  }
  // Records the value at step t from its terms (t = 0: init terms; t ≥ 1: delta terms).
  S record(Tracked& q, int t, std::vector<Term> terms) {
    S size;
    ParityParts parts;
    for (const auto& x : terms) size = smax(size, x.size), parts = parity_join(parts, parts_of(x));
    if (t == 0) {
      q.pinit = parts;
      q.init = size;
      q.init_terms = std::move(terms);
    } else {
      q.delta.resize(static_cast<std::size_t>(t) + 1);
      q.delta_terms.resize(static_cast<std::size_t>(t) + 1);
      q.pdelta.resize(static_cast<std::size_t>(t) + 1);
      q.delta[static_cast<std::size_t>(t)] = size;
      q.pdelta[static_cast<std::size_t>(t)] = parts;
      q.delta_terms[static_cast<std::size_t>(t)] = std::move(terms);
    }
    return size;
  }
  S init_of(int node) const { return tracked_[static_cast<std::size_t>(node_track_[static_cast<std::size_t>(node)])].init; }
  S delta_of(int node, int t) const {
    if (t == 0) return std::nullopt;
    return tracked_[static_cast<std::size_t>(node_track_[static_cast<std::size_t>(node)])].delta[static_cast<std::size_t>(t)];
  }
  S now_of(int node, int t) const { return smax(init_of(node), delta_of(node, t)); }
  const Tracked& tr(int node) const { return tracked_[static_cast<std::size_t>(node_track_[static_cast<std::size_t>(node)])]; }
  ParityParts pinit_of(int node) const { return tr(node).pinit; }
  ParityParts pdelta_of(int node, int t) const { return t == 0 ? ParityParts() : tr(node).pdelta[static_cast<std::size_t>(t)]; }
  ParityParts pnow_of(int node, int t) const { return parity_join(pinit_of(node), pdelta_of(node, t)); }
  ParityParts ptracked_now(const std::string& name, int t) const {
    const Tracked& q = tracked_[index_.at(name)];
    return parity_join(q.pinit, t == 0 ? ParityParts() : q.pdelta[static_cast<std::size_t>(t)]);
  }
  // The parity bit of p's random init: w's (a readout tied to the embedding shares its bit; odd() makes bits past
  // the 63rd wild). exact(p): the rule tracks the parts of p's update (SGD, w not shared by a tie); otherwise the
  // update's effect is one wild part (LLN, the rule without parity).
  int bit(int p) const { return w_of(p); }
  bool exact(int p) const { return sgd_ && !shared_[static_cast<std::size_t>(w_of(p))]; }
  // The parts of the accumulated update of a vector-like tensor's entries (dy ⊙ x summed over the steps).
  // Memoized per tensor until the history changes (end of a step): a vector is read at every position and use.
  ParityParts pvector_delta(int p) const {
    if (!exact(p)) return ParityParts::wild(E_[static_cast<std::size_t>(p)]);
    auto& memo = pvector_delta_memo_[static_cast<std::size_t>(p)];
    if (memo) return *memo;
    ParityParts out;
    const Rational upd = -P(p).scaling.c - 2 * P(p).scaling.a;
    for (const auto& [dy, x] : hist_[static_cast<std::size_t>(p)]) out = parity_join(out, parity_shift(parity_product(dy, x), S(upd)));
    memo = out;
    return out;
  }
  ParityParts pvector_init(int p) const {
    const auto& w = P(p);
    ParityParts e;
    if (w.init_value != 0) e = ParityParts::even(Rational(0));
    if (!w.scaling.zero_init && w.scaling.init_std > 0) e = parity_join(e, ParityParts::odd(bit(p), S(-w.scaling.a - w.scaling.b)));
    return e;
  }
  ParityParts pvector_now(int p, int t) const { return t == 0 ? pvector_init(p) : parity_join(pvector_init(p), pvector_delta(p)); }
  S tracked_now(const std::string& name, int t) const {
    const Tracked& q = tracked_[index_.at(name)];
    return smax(q.init, t == 0 ? S() : q.delta[static_cast<std::size_t>(t)]);
  }

  // Entries of a vector-like / scalar-like tensor at init: init_value + n^{-a} σ n^{-b} g (the constant is the
  // effective tensor's, so it does not move with the multiplier; see GraphParameter::init_value).
  S vector_init(int p) const {
    const auto& w = P(p);
    S e;
    if (w.init_value != 0) e = Rational(0);
    if (!w.scaling.zero_init && w.scaling.init_std > 0) e = smax(e, S(-w.scaling.a - w.scaling.b));
    return e;
  }
  // The relative per-step weight-decay shrink exponent −(c+e), or nullopt without weight decay.
  S decay_rate(int p) const {
    if (!(s_.training.weight_decay > 0)) return std::nullopt;
    const auto& sc = Wsc(p);
    return -(sc.c + sc.wd_exponent);
  }

  // A matrix W applied to x: the terms of W_0 x_0 (t = 0) or of W_t x_t − W_0 x_0 (t ≥ 1), with their parity parts.
  // fan_in_n: the sum over the fan-in has n terms. A hidden matrix or the embedding flips its bit (W_0 x: CLT, the
  // Master Theorem's MatMul); the readout is an inner product of its row w_0 (odd in its bit) with x: CLT at init,
  // and for W_0 Δx LLN only on the parts of Δx that carry its bit (backpropagation through w_0 put them there: the
  // Ż term, TP4 §5), CLT on the rest. ΔW x_t = Σ_τ −η n^{-c-2a} dy_τ (x_τ · x_t): dy_τ's parts times the inner
  // product of the inputs, LLN or CLT by their parts (the parity rule; TP4 App. H takes it LLN).
  std::vector<Term> matrix_terms(int p, const ParityParts& x0, const ParityParts& dx, const ParityParts& xt, int t, bool fan_in_n,
                                 bool readout) {
    const auto& w = P(p);
    const Rational f = fan_in_n ? Rational(1) : Rational(0);
    const std::string W = w.name;
    std::vector<Term> out;
    const S w0 = zero(p) ? S() : S(-ab(p));
    const S clt = plus(w0, f * kHalf);
    if (t == 0) {
      if (readout) out.push_back(parted(ParityParts::even(plus(clt, x0.size())), "the initial " + W + " x (W_0 x_0)", p));
      else out.push_back(parted(parity_shift(parity_flip(x0, bit(p)), clt), "the initial " + W + " x (W_0 x_0)", p));
      init_term_[static_cast<std::size_t>(p)] = out.back().size;
      return out;
    }
    if (readout) out.push_back(parted(ParityParts::even(parity_inner(ParityParts::odd(bit(p), w0), dx, f)), "W_0 Δx of " + W, p));
    else out.push_back(parted(parity_shift(parity_flip(dx, bit(p)), clt), "W_0 Δx of " + W, p));
    ParityParts dwx;
    if (exact(p)) {
      const Rational upd = -P(p).scaling.c - 2 * P(p).scaling.a;
      for (const auto& [dy, x] : hist_[static_cast<std::size_t>(p)]) dwx = parity_join(dwx, parity_shift(dy, plus(parity_inner(x, xt, f), upd)));
    } else {
      dwx = ParityParts::wild(plus(plus(E_[static_cast<std::size_t>(p)], f), xt.size()));
    }
    out.push_back(parted(dwx, "the update of " + W + " (ΔW x)", p));
    S effect = out.back().size;
    if (const S r = decay_rate(p)) {
      const ParityParts decay = readout ? ParityParts::even(plus(plus(clt, xt.size()), r)) : parity_shift(parity_flip(xt, bit(p)), plus(clt, r));
      out.push_back(parted(decay, "the weight decay of " + W, p));
      effect = smax(effect, out.back().size);
    }
    note_update(p, effect, t);
    return out;
  }
  void note_update(int p, const S& effect, int t) {
    auto& u = upd_[static_cast<std::size_t>(p)];
    if (effect && (!u || *effect > *u)) {
      u = effect;
      upd_step_[static_cast<std::size_t>(p)] = t;
    }
  }
  // A vector-like tensor's entries now (init and accumulated update) and its Δ-terms.
  S vector_now(int p, int t) const { return smax(vector_init(p), t == 0 ? S() : E_[static_cast<std::size_t>(p)]); }
  std::vector<Term> vector_delta_terms(int p, const ParityParts& times, int t) {
    std::vector<Term> out;
    out.push_back(parted(parity_product(pvector_delta(p), times), "the update of " + P(p).name, p));
    S effect = out.back().size;
    if (const S r = decay_rate(p)) {
      out.push_back(parted(parity_shift(parity_product(pvector_init(p), times), r), "the weight decay of " + P(p).name, p));
      effect = smax(effect, out.back().size);
    }
    note_update(p, effect, t);
    return out;
  }

  void forward(int t);
  S correlated_part(const GraphNode& v, std::size_t i, const S& x0, const S& size) const;
  void backward(int t);
  // The update of parameter p at step t+1 from its gradient entries n^{γ} at step t.
  // γ is the exponent of the entries of ∂L/∂w through this use of w (it includes the use's n^{-a}); a tied w
  // sums the gradients of its two uses, so its entries are the larger of the two (no cancellation). Adam's
  // entrywise normalization acts on that sum. dy, x: the parts of the gradient's two sides (∂L/∂w = n^{-a} dy ⊗ x;
  // x is the data for the embedding and 1 for a bias), kept for the parity rule when exact(p).
  void gradient(int p, const S& gamma, const ParityParts& dy, const ParityParts& x) {
    const auto& sc = Wsc(p);
    S q;
    if (gamma) {
      if (sgd_) q = gamma;
      else q = sc.eps_modelled ? S(std::min(Rational(0), *gamma + sc.d)) : S(Rational(0));
    }
    next_U_[static_cast<std::size_t>(w_of(p))] = smax(next_U_[static_cast<std::size_t>(w_of(p))], plus(q, -sc.c));
    if (gamma && exact(p)) pending_[static_cast<std::size_t>(p)].push_back({dy, x});
  }
  // W_tᵀ dy for a matrix whose fan-out has n terms (fan_out_n) or finitely many: W_0ᵀ dy flips p's bit (CLT; for
  // the readout the row w_0 times the scalar dy), ΔWᵀ dy = Σ_τ x_τ (dy_τ · dy) by the parity rule.
  ParityParts back_matrix(int p, const ParityParts& gy, bool fan_out_n) const {
    const Rational f = fan_out_n ? Rational(1) : Rational(0);
    const S w0 = zero(p) ? S() : S(-ab(p));
    ParityParts out = parity_shift(parity_flip(gy, bit(p)), plus(w0, f * kHalf));
    if (!exact(p)) return parity_join(out, ParityParts::wild(plus(plus(E_[static_cast<std::size_t>(p)], f), gy.size())));
    const Rational upd = -P(p).scaling.c - 2 * P(p).scaling.a;
    for (const auto& [dy, x] : hist_[static_cast<std::size_t>(p)]) out = parity_join(out, parity_shift(x, plus(parity_inner(dy, gy, f), upd)));
    return out;
  }
  void give(int node, const ParityParts& g) {
    G_[static_cast<std::size_t>(node)] = smax(G_[static_cast<std::size_t>(node)], g.size());
    pG_[static_cast<std::size_t>(node)] = parity_join(pG_[static_cast<std::size_t>(node)], g);
  }

  const GraphSpec& s_;
  bool sgd_;
  std::vector<S> E_, next_E_, upd_, init_term_, G_;
  std::vector<ParityParts> pG_;     // per node: the parity parts of ∂L/∂x at this step
  // Per tensor (exact ones): the parts (dy, x) of its gradient at each step so far; pending_: this step's.
  std::vector<std::vector<std::pair<ParityParts, ParityParts>>> hist_, pending_;
  mutable std::vector<std::optional<ParityParts>> pvector_delta_memo_;  // pvector_delta per tensor, reset with hist_
  std::vector<bool> shared_;   // per tensor: its w is shared by a tie (the rule does not track its update)
  std::map<std::size_t, ParityParts> hat_now_;  // per norm node: the parts of x̂ at the current step
  std::vector<S> U_, next_U_;  // per w: entries of its accumulated update Δw (E = U − a per tensor using w)
  std::vector<int> owner_;     // per tensor: −1, or the tensor whose w it uses (GraphSpec::tied)
  // Per node at init: the size of the part of its value that is a coordinatewise image of the embedding's
  // output n^{-a} w_0 ξ (carried by the residual stream). A readout tied to the embedding applies w_0ᵀ to it:
  // a sum of n correlated terms (LLN), where an untied readout's independent W_0 gives a CLT sum.
  std::vector<S> corr_;
  std::vector<int> upd_step_;
  std::map<std::size_t, ActivationProfile> profile_, dprofile_;
  std::vector<bool> feeds_;
  std::vector<int> node_track_;
  std::vector<Tracked> tracked_;
  std::map<std::string, std::size_t> index_;
  std::map<int, S> attn_gq_, attn_gk_, attn_gv_;  // per attention node: gradients of q, k, v at this step
  std::map<std::string, std::string> outputs_;    // tensor name → the quantity it produces
};

void Calculus::forward(int t) {
  for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
    const GraphNode& v = s_.nodes[i];
    const int in = v.inputs.empty() ? -1 : v.inputs[0];
    const bool width = v.op != GraphOp::input && v.op != GraphOp::readout;
    if (v.op == GraphOp::attention)  // its inner quantities come before its output in the blow-up scan
      for (const char* suffix : {".q", ".k", ".v"}) track(v.name + suffix, static_cast<int>(i), true);
    if (v.op == GraphOp::attention) track(v.name + ".logits", static_cast<int>(i), false);
    Tracked& q = track(v.name, static_cast<int>(i), width);
    const std::size_t qi = index_.at(v.name);
    node_track_[i] = static_cast<int>(qi);
    if (t == 0) {
      q.check_init = width && feeds_[i];
      for (int p : v.params)
        if (p >= 0) outputs_[P(p).name] = v.name;
    }
    const S x0 = in >= 0 ? init_of(in) : S(Rational(0));
    const S dx = in >= 0 ? delta_of(in, t) : S();
    const S xt = smax(x0, dx);
    const ParityParts px0 = in >= 0 ? pinit_of(in) : ParityParts::even(Rational(0));
    const ParityParts pdx = in >= 0 ? pdelta_of(in, t) : ParityParts();
    const ParityParts pxt = parity_join(px0, pdx);
    std::vector<Term> terms;
    const std::string from = in >= 0 ? "'" + s_.nodes[static_cast<std::size_t>(in)].name + "'" : "";
    switch (v.op) {
      case GraphOp::input:
        if (t == 0) terms.push_back(parted(ParityParts::even(Rational(0)), "the data", -1));
        break;
      case GraphOp::embedding:
      case GraphOp::dense:
      case GraphOp::readout: {
        const bool fan_in_n = v.op != GraphOp::embedding;
        terms = matrix_terms(v.params[0], px0, pdx, pxt, t, fan_in_n, v.op == GraphOp::readout);
        const int p = v.params[0];
        if (t == 0 && v.op == GraphOp::readout && w_of(p) != p && !zero(p) && corr_[static_cast<std::size_t>(in)]) {
          // tied: n^{-a_out} w_0ᵀ x sums n terms w_0[α]·(the embedding's w_0[α] ξ carried into x): LLN, +1
          terms.push_back(parted(ParityParts::even(plus(plus(S(-ab(p)), Rational(1)), corr_[static_cast<std::size_t>(in)])),
                                 "the tied " + P(p).name + " meeting the embedding it shares w with (w_0ᵀ w_0 ξ)", p));
          init_term_[static_cast<std::size_t>(p)] = smax(init_term_[static_cast<std::size_t>(p)], terms.back().size);
        }
        if (v.op == GraphOp::readout && v.params[1] >= 0) {
          const int b = v.params[1];
          if (t == 0) terms.push_back(parted(ParityParts::even(vector_init(b)), "the readout bias", b));
          else for (auto& x : vector_delta_terms(b, ParityParts::even(Rational(0)), t)) terms.push_back(x);
        }
        break;
      }
      case GraphOp::bias: {
        const int b = v.params[0];
        if (t == 0) {
          terms.push_back(parted(px0, "its input " + from, -1));
          terms.push_back(parted(pvector_init(b), "the initial " + P(b).name, b));
          init_term_[static_cast<std::size_t>(b)] = vector_init(b);
        } else {
          terms.push_back(parted(pdx, "the change of its input " + from, -1));
          for (auto& x : vector_delta_terms(b, ParityParts::even(Rational(0)), t)) terms.push_back(x);
        }
        break;
      }
      case GraphOp::activation: {
        bool known = true;
        if (t == 0) {
          S y = activation_size(profile_.at(i), x0, known);
          if (!known) y = x0;  // super-polynomial φ of a growing input: at least as large
          terms.push_back(parted(parity_closure(px0, y), "φ of " + from, -1));
        } else {
          S slope = activation_size(dprofile_.at(i), x0, known);
          if (!known) slope = x0;
          // φ'(x_0) Δx: φ' of x_0 has parts in the subgroup x_0's parts generate, times Δx's
          terms.push_back(parted(parity_product(parity_closure(px0, slope), pdx), "φ' · the change of " + from, -1));
        }
        break;
      }
      case GraphOp::layernorm:
      case GraphOp::rmsnorm: {
        // x̂ = (x − μ) r, r = (var + eps)^{-1/2}: Θ(1) when x is Θ(1) or larger, x/√eps when x vanishes. μ and r
        // are Moments (scalars, no parity); μ = avg(x) is CLT-small on the parts of x that are not even.
        const bool ln = v.op == GraphOp::layernorm;
        const Rational scale = x0 ? std::max(*x0, Rational(0)) : Rational(0);
        const int gain = v.params[0];
        const int bias = ln ? v.params[1] : -1;
        const ParityParts even0 = ParityParts::even(Rational(0));
        auto centred = [&](const ParityParts& x) { return ln ? parity_join(x, ParityParts::even(parity_inner(x, even0, 0))) : x; };
        const ParityParts hat0 = parity_shift(centred(px0), S(-scale));
        const ParityParts g0 = gain >= 0 ? pvector_init(gain) : even0;
        if (t == 0) {
          hat_now_[i] = hat0;
          terms.push_back(parted(parity_product(hat0, g0), "the normalized " + from, gain));
          if (gain >= 0) init_term_[static_cast<std::size_t>(gain)] = terms.back().size;
          if (bias >= 0) {
            terms.push_back(parted(pvector_init(bias), "the initial " + P(bias).name, bias));
            init_term_[static_cast<std::size_t>(bias)] = vector_init(bias);
          }
        } else {
          // Δx̂ = x_0 Δr + Δx (r_0 + Δr) (the IR route's sizes: b = avg x², Δr = −(3/2) b_0 + Δb while Δb ≤ b_0)
          const S b0 = x0 ? S(std::max(2 * *x0, Rational(0))) : S(Rational(0));
          const S db = dx ? smax(plus(x0, dx), plus(dx, dx)) : S();
          S dr;
          if (db) dr = *db <= *b0 ? S(Rational(-3, 2) * *b0 + *db) : S(Rational(-1, 2) * *b0);
          const S r0 = S(Rational(-1, 2) * *b0);
          // x̂ has RMS at most 1 at every step, so each part of Δx̂ is at most Θ(1): once Δx outgrows x_0 (a blow-up),
          // Δx r_0 and Δx Δr cancel to x̂_t − x̂_0 = Θ(1), which the term sizes alone do not see
          const ParityParts hatd =
              parity_cap(parity_join(parity_shift(centred(px0), dr), parity_shift(centred(pdx), smax(r0, dr))), S(Rational(0)));
          hat_now_[i] = parity_join(hat0, hatd);
          const ParityParts gt = gain >= 0 ? pvector_now(gain, t) : even0;
          terms.push_back(parted(parity_product(hatd, gt), "the normalized change of " + from, -1));
          if (gain >= 0) for (auto& x : vector_delta_terms(gain, hat_now_[i], t)) terms.push_back(x);
          if (bias >= 0) for (auto& x : vector_delta_terms(bias, even0, t)) terms.push_back(x);
        }
        break;
      }
      case GraphOp::add: {
        const int b = v.inputs[1];
        const S m = v.branch_scale == 0 ? S() : S(Rational(0));
        const std::string bn = "'" + s_.nodes[static_cast<std::size_t>(b)].name + "'";
        if (t == 0) {
          terms.push_back(parted(px0, "the residual stream " + from, -1));
          terms.push_back(parted(parity_shift(pinit_of(b), m), "the branch " + bn, -1));
        } else {
          terms.push_back(parted(pdx, "the change of the residual stream " + from, -1));
          terms.push_back(parted(parity_shift(pdelta_of(b, t), m), "the change of the branch " + bn, -1));
        }
        break;
      }
      case GraphOp::attention: {
        const int pq = v.params[0], pk = v.params[1], pv = v.params[2], po = v.params[3];
        const Rational dh = v.head_dim_width ? Rational(1) : Rational(0);
        const Rational sc = v.logit_scale == LogitScale::inverse_d ? -dh : -dh * kHalf;
        const std::string sc_text = v.logit_scale == LogitScale::inverse_d ? "1/d" : "1/√d";
        ParityParts qkv0[3], qkvd[3];
        const int ps[3] = {pq, pk, pv};
        const char* suffix[3] = {".q", ".k", ".v"};
        for (int k = 0; k < 3; ++k) {
          Tracked& sub = track(v.name + suffix[k], static_cast<int>(i), true);
          outputs_[P(ps[k]).name] = sub.name;
          record(sub, t, matrix_terms(ps[k], px0, pdx, pxt, t, true, false));
          const Tracked& done = tracked_[index_.at(v.name + suffix[k])];
          qkv0[k] = done.pinit;
          if (t > 0) qkvd[k] = done.pdelta[static_cast<std::size_t>(t)];
        }
        Tracked& lg = track(v.name + ".logits", static_cast<int>(i), false);
        lg.can_blow = s_.positions > 1;
        std::vector<Term> lterms;
        // q·k over d_head coordinates: by the parity rule (q_0, k_0 from independent W_q, W_k: CLT at init; a
        // change is LLN against the parts it shares). A fixed head dimension sums finitely many terms.
        auto dot = [&](const ParityParts& a, const ParityParts& b) {
          return v.head_dim_width ? parity_inner(a, b, dh) : plus(a.size(), b.size());
        };
        if (t == 0) {
          lterms.push_back(parted(ParityParts::even(plus(dot(qkv0[0], qkv0[1]), sc)), "q·k " + sc_text + " at init", pq));
        } else {
          const std::string why = "q·k " + sc_text + " after the update of ";
          lterms.push_back(parted(ParityParts::even(plus(dot(qkvd[0], qkv0[1]), sc)), why + P(pq).name, pq));
          lterms.push_back(parted(ParityParts::even(plus(dot(qkv0[0], qkvd[1]), sc)), why + P(pk).name, pk));
          lterms.push_back(parted(ParityParts::even(plus(dot(qkvd[0], qkvd[1]), sc)), why + P(pq).name + " and " + P(pk).name, pq));
        }
        const S lsize = record(lg, t, std::move(lterms));
        // softmax over the S positions: Θ(1) weights (uniform when the logits vanish); over one position
        // the weight is 1 and never moves. The weights are a convex combination, so their change is at most
        // Θ(1) however far the logits move (growing logits saturate the softmax; they are reported themselves).
        const S dA = (t == 0 || s_.positions == 1) ? S() : softmax_change(lsize);
        // z = Σ_r A_r v_r: the weights are scalars (no parity), so z has v's parts
        const ParityParts z0 = qkv0[2], zd = parity_join(qkvd[2], parity_shift(parity_join(qkv0[2], qkvd[2]), dA));
        terms = matrix_terms(po, z0, zd, parity_join(z0, zd), t, true, false);
        break;
      }
    }
    const S size = record(tracked_[qi], t, std::move(terms));
    if (t == 0) corr_[i] = correlated_part(v, i, x0, size);
  }
}

S Calculus::correlated_part(const GraphNode& v, std::size_t i, const S& x0, const S& size) const {
  const int in = v.inputs.empty() ? -1 : v.inputs[0];
  const S c = in >= 0 ? corr_[static_cast<std::size_t>(in)] : S();
  switch (v.op) {
    case GraphOp::embedding:
      for (int o : owner_)
        if (o == v.params[0]) return size;  // the embedding whose w a readout shares
      return std::nullopt;
    case GraphOp::bias: return c;
    case GraphOp::activation: {  // φ(x) keeps a part φ'(x)·c along it (Stein's lemma; no cancellation assumed)
      bool known = true;
      S slope = activation_size(dprofile_.at(i), x0, known);
      if (!known) slope = x0;
      return plus(c, slope);
    }
    case GraphOp::layernorm:
    case GraphOp::rmsnorm: {  // divided by the scale of the whole input, times the gain
      const Rational scale = x0 ? std::max(*x0, Rational(0)) : Rational(0);
      const S g0 = v.params[0] >= 0 ? vector_init(v.params[0]) : S(Rational(0));
      return plus(plus(c, -scale), g0);
    }
    case GraphOp::add: {
      const S m = v.branch_scale == 0 ? S() : S(Rational(0));
      return smax(c, plus(corr_[static_cast<std::size_t>(v.inputs[1])], m));
    }
    default:  // an independent matrix (dense, attention) leaves only a CLT-small overlap, counted as untied
      return std::nullopt;
  }
}

void Calculus::backward(int t) {
  std::fill(G_.begin(), G_.end(), std::nullopt);
  std::fill(pG_.begin(), pG_.end(), ParityParts());
  next_U_ = U_;
  const int last = static_cast<int>(s_.nodes.size()) - 1;
  const ParityParts even0 = ParityParts::even(Rational(0));
  give(last, even0);  // ∂L/∂f = Θ(1), a scalar
  for (int i = last; i >= 1; --i) {
    const GraphNode& v = s_.nodes[static_cast<std::size_t>(i)];
    const S gy = G_[static_cast<std::size_t>(i)];
    const ParityParts pgy = pG_[static_cast<std::size_t>(i)];
    const int in = v.inputs.empty() ? -1 : v.inputs[0];
    const S xt = in >= 0 ? now_of(in, t) : S(Rational(0));
    const ParityParts pxt = in >= 0 ? pnow_of(in, t) : even0;
    switch (v.op) {
      case GraphOp::input: break;
      case GraphOp::embedding:
        gradient(v.params[0], plus(plus(gy, -P(v.params[0]).scaling.a), xt), pgy, even0);
        break;
      case GraphOp::dense:
      case GraphOp::readout: {
        const int p = v.params[0];
        gradient(p, plus(plus(gy, -P(p).scaling.a), xt), pgy, pxt);
        give(in, back_matrix(p, pgy, v.op == GraphOp::dense));
        if (v.op == GraphOp::readout && v.params[1] >= 0) gradient(v.params[1], plus(gy, -P(v.params[1]).scaling.a), pgy, even0);
        break;
      }
      case GraphOp::bias:
        gradient(v.params[0], plus(gy, -P(v.params[0]).scaling.a), pgy, even0);
        give(in, pgy);
        break;
      case GraphOp::activation: {
        bool known = true;
        S slope = activation_size(dprofile_.at(static_cast<std::size_t>(i)), xt, known);
        if (!known) slope = xt;
        give(in, parity_product(pgy, parity_closure(pxt, slope)));
        break;
      }
      case GraphOp::layernorm:
      case GraphOp::rmsnorm: {
        // dx = r (dx̂ − avg dx̂ − x̂ avg(dx̂ x̂)), dx̂ = γ ⊙ dy: the averages are Moments (no parity), by the rule
        const int gain = v.params[0];
        const int bias = v.op == GraphOp::layernorm ? v.params[1] : -1;
        const S hat = xt ? S(std::min(*xt, Rational(0))) : S();
        const ParityParts& phat = hat_now_[static_cast<std::size_t>(i)];
        const ParityParts gt = gain >= 0 ? pvector_now(gain, t) : even0;
        if (gain >= 0) gradient(gain, plus(plus(gy, -P(gain).scaling.a), hat), pgy, phat);
        if (bias >= 0) gradient(bias, plus(gy, -P(bias).scaling.a), pgy, even0);
        const Rational inv_scale = xt ? -std::max(*xt, Rational(0)) : Rational(0);
        const ParityParts dxh = parity_product(pgy, gt);
        ParityParts e = parity_join(dxh, parity_shift(phat, parity_inner(dxh, phat, 0)));
        if (v.op == GraphOp::layernorm) e = parity_join(e, ParityParts::even(parity_inner(dxh, even0, 0)));
        give(in, parity_shift(e, S(inv_scale)));
        break;
      }
      case GraphOp::add:
        give(in, pgy);
        if (v.branch_scale != 0) give(v.inputs[1], pgy);
        break;
      case GraphOp::attention: {
        const int pq = v.params[0], pk = v.params[1], pv = v.params[2], po = v.params[3];
        const Rational dh = v.head_dim_width ? Rational(1) : Rational(0);
        const Rational sc = v.logit_scale == LogitScale::inverse_d ? -dh : -dh * kHalf;
        const ParityParts qt = ptracked_now(v.name + ".q", t), kt = ptracked_now(v.name + ".k", t), vt = ptracked_now(v.name + ".v", t);
        const S dA = t == 0 || s_.positions == 1 ? S() : softmax_change(tracked_[index_.at(v.name + ".logits")].delta[static_cast<std::size_t>(t)]);
        const ParityParts zt = parity_join(vt, parity_shift(vt, dA));
        gradient(po, plus(plus(gy, -P(po).scaling.a), zt.size()), pgy, zt);
        const ParityParts gz = back_matrix(po, pgy, true);
        const ParityParts& gv = gz;  // Aᵀ: finitely many positions with Θ(1) weights (scalars)
        // ∂L/∂A sums d_head products of dz and v (a Moment): by the parity rule (independent at init: CLT)
        const S gl = s_.positions == 1 ? S() : v.head_dim_width ? parity_inner(gz, vt, dh) : plus(gz.size(), vt.size());
        const ParityParts gq = parity_shift(kt, plus(gl, sc)), gk = parity_shift(qt, plus(gl, sc));
        gradient(pq, plus(plus(gq.size(), -P(pq).scaling.a), xt), gq, pxt);
        gradient(pk, plus(plus(gk.size(), -P(pk).scaling.a), xt), gk, pxt);
        gradient(pv, plus(plus(gv.size(), -P(pv).scaling.a), xt), gv, pxt);
        give(in, parity_join(parity_join(back_matrix(pq, gq, true), back_matrix(pk, gk, true)), back_matrix(pv, gv, true)));
        break;
      }
    }
  }
  for (std::size_t p = 0; p < pending_.size(); ++p) {  // a pair already in the history adds nothing to a max
    for (auto& e : pending_[p])
      if (std::find(hist_[p].begin(), hist_[p].end(), e) == hist_[p].end()) hist_[p].push_back(std::move(e));
    pending_[p].clear();
    pvector_delta_memo_[p].reset();
  }
  next_E_.assign(E_.size(), std::nullopt);
  for (std::size_t p = 0; p < E_.size(); ++p)
    next_E_[p] = plus(next_U_[static_cast<std::size_t>(w_of(static_cast<int>(p)))], -P(static_cast<int>(p)).scaling.a);
}

GraphPhase Calculus::run() {
  // Steps: 1. forward at init; 2. for t = 0, 1, …: backward at t, the update to t+1, forward at t+1, until
  // both T and the fixed point are reached (or a cap); 3. the first blow-up or degenerate init; 4. the
  // regime; 5. per tensor; 6. the predicted sizes for steps 0..T.
  const int T = s_.training.steps;
  const int cap = std::max(T, 8 + 4 * static_cast<int>(s_.nodes.size()));
  GraphPhase out;
  forward(0);
  int t = 0;
  int fixed = -1;
  std::vector<S> prevG, prevE;
  for (; t < cap; ++t) {
    backward(t);
    const bool same_g = t >= 1 && G_ == prevG && next_E_ == prevE && E_ == prevE;
    prevG = G_;
    prevE = next_E_;
    E_ = next_E_;
    U_ = next_U_;
    forward(t + 1);
    bool same_d = t >= 1;
    for (const auto& q : tracked_)
      if (same_d && q.delta[static_cast<std::size_t>(t + 1)] != q.delta[static_cast<std::size_t>(t)]) same_d = false;
    if (same_g && same_d && fixed < 0) fixed = t;
    if (fixed >= 0 && t + 1 >= T) break;
  }
  const int steps = t + 1 >= cap ? cap : t + 1;  // the last step with sizes
  out.fixed_point = fixed >= 0 ? fixed : steps;

  // 3. The first problem: in step order, then graph order.
  int blow_step = -1;
  for (int step = 0; step <= steps; ++step) {
    for (const auto& q : tracked_) {
      const S sz = step == 0 ? q.init : q.delta[static_cast<std::size_t>(step)];
      const bool blow = q.can_blow && positive(sz);
      const bool degenerate = step == 0 && q.check_init && (!sz || *sz < 0);
      if (!blow && !degenerate) continue;
      const Term why = top(step == 0 ? q.init_terms : q.delta_terms[static_cast<std::size_t>(step)]);
      std::string msg = "'" + q.name + "' " + (step == 0 ? "at init" : "after step " + std::to_string(step)) +
                        (blow ? " grows like " + size_text(sz) : sz ? " vanishes like " + size_text(sz) + " (it must be Θ(1) to feed the next layer)"
                                                                    : " is exactly 0 (it must be Θ(1) to feed the next layer)");
      if (blow && !why.label.empty()) msg += ", driven by " + why.label;
      const GraphNode& node = s_.nodes[static_cast<std::size_t>(q.node)];
      msg += " (line " + std::to_string(node.range.begin.line) + ")";
      out.problems.push_back(msg);
      if (blow_step < 0) {
        blow_step = step;
        out.first_problem = msg;
        out.first_step = step;
        out.first_tensor = why.param >= 0 ? P(why.param).name : "";
        out.first_range = why.param >= 0 && P(why.param).range.valid() ? P(why.param).range : node.range;
      }
    }
    if (blow_step >= 0) break;  // later steps compound the first blow-up
  }
  out.stable = blow_step < 0;

  // 4. The regime at the fixed point.
  const Tracked& f = tracked_[static_cast<std::size_t>(node_track_.back())];
  S df;
  for (int step = 1; step <= steps; ++step) df = smax(df, f.delta[static_cast<std::size_t>(step)]);
  std::string learner;
  for (std::size_t i = 0; i < s_.nodes.size() && learner.empty(); ++i) {
    const Tracked& q = tracked_[static_cast<std::size_t>(node_track_[i])];
    if (!q.width) continue;
    for (int step = 1; step <= steps; ++step)
      if (q.delta[static_cast<std::size_t>(step)] == S(Rational(0))) {
        learner = q.name;
        break;
      }
  }
  if (!out.stable) {
    out.regime = Regime::unstable;
    out.regime_reason = out.first_problem;
  } else if (!df || *df < 0) {
    out.regime = Regime::trivial;
    out.regime_reason = "the output moves only by " + size_text(df) + ": training does nothing in the limit";
  } else if (!learner.empty()) {
    out.regime = Regime::feature_learning;
    out.regime_reason = "'" + learner + "' moves by Θ(1): features are learned";
  } else {
    out.regime = Regime::kernel;
    out.regime_reason = "the output moves by Θ(1) but every width-n value moves by o(1): the kernel regime";
  }

  // 5. Per tensor.
  for (std::size_t p = 0; p < s_.params.size(); ++p) {
    const GraphParameter& w = s_.params[p];
    TensorPhase tp;
    tp.param = static_cast<int>(p);
    tp.name = w.name;
    tp.output = outputs_.count(w.name) ? outputs_.at(w.name) : "";
    for (const auto& v : s_.nodes)
      if (std::find(v.params.begin(), v.params.end(), static_cast<int>(p)) != v.params.end()) {
        tp.node = v.name;
        if (!w.range.valid()) tp.range = v.range;
      }
    if (w.range.valid()) tp.range = w.range;
    tp.init_output = init_term_[p];
    tp.update_effect = upd_[p];
    tp.update_step = upd_[p] ? upd_step_[p] : 0;
    tp.updated_maximally = upd_[p] && *upd_[p] == 0;
    if (out.stable && index_.count(tp.output)) {
      const Tracked& q = tracked_[index_.at(tp.output)];
      for (int step = 1; step <= steps && q.width; ++step)
        if (q.delta[static_cast<std::size_t>(step)] == S(Rational(0))) tp.learns_features = true;
    }
    if (const S r = decay_rate(static_cast<int>(p))) {
      const std::string per = "per-step shrink ηλ n^" + ("(" + to_string(*r) + ")");
      tp.decay = *r == 0   ? per + ": width-invariant, weight decay acts at every width alike"
                 : *r < 0 ? per + ": vanishes, negligible over any fixed number of steps (it acts over ~" +
                                size_text(-*r) + " steps)"
                          : per + ": grows with n, the decay alone blows the weights up";
    }
    out.tensors.push_back(std::move(tp));
  }

  // 6. Predicted sizes, steps 0..T (unknown after the first blow-up).
  for (const auto& q : tracked_) {
    for (int step = 0; step <= T; ++step) {
      const int k = std::min(step, steps);
      const S d = k == 0 ? S() : q.delta[static_cast<std::size_t>(k)];
      const bool known = blow_step < 0 || step <= blow_step;
      for (const bool delta : {false, true}) {
        if (delta && step == 0) continue;
        PredictedSize ps;
        ps.node = q.name;
        ps.step = step;
        ps.delta = delta;
        ps.known = known;
        const S v = delta ? d : smax(q.init, d);
        ps.vanishes = known && !v;
        ps.exponent = v ? *v : Rational(0);
        out.sizes.push_back(std::move(ps));
      }
    }
  }
  return out;
}

}  // namespace

GraphPhase graph_phase(const GraphSpec& spec) {
  if (const std::string p = graph_problem(spec); !p.empty()) throw std::invalid_argument(p);
  // Memory: one PredictedSize (about 100 bytes) per quantity, step and kind (value, change).
  std::size_t quantities = spec.nodes.size();
  for (const auto& v : spec.nodes) quantities += v.op == GraphOp::attention ? 4 : 0;
  const double entries = static_cast<double>(quantities) * (2.0 * spec.training.steps + 1);
  if (entries > 2e6)
    throw std::invalid_argument("predicting every size for " + std::to_string(spec.training.steps) + " steps needs " +
                                std::to_string(static_cast<long long>(entries)) + " entries (~" +
                                std::to_string(static_cast<long long>(entries * 100 / 1048576)) +
                                " MiB, over the 200 MiB budget); the exponents reach their fixed point after a few "
                                "steps, so use fewer steps ('train steps T')");
  return Calculus(spec).run();
}

}  // namespace tp

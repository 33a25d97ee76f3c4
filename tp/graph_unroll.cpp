// See graph_unroll.h for the program form and the size rules (DESIGN.md "The IR route for graph networks").
#include "tp/graph_unroll.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <stdexcept>

#include "tp/builder.h"
#include "tp/errors.h"
#include "tp/graph_parity.h"
#include "tp/graph_unroll_update.h"

namespace tp {
namespace {

using S = SizeExp;
const Rational kHalf(1, 2);

S smax(const S& a, const S& b) { return size_max(a, b); }
S plus(const S& a, const S& b) { return size_plus(a, b); }
S plus(const S& a, const Rational& b) { return size_plus(a, b); }

/// A value with its sizes: init = its step-0 counterpart's exponent, delta = its change's (forward values);
/// backward values and update terms use init only, as their size now.
/// pi, pd: the parity parts of init and delta (tp/graph_parity.h); unset: one wild part of that size (the rule
/// without parity, LLN against anything).
struct Val {
  ValueId id = -1;
  S init, delta;
  std::optional<ParityParts> pi, pd;
  S now() const { return smax(init, delta); }
  bool zero() const { return id < 0; }
};
ParityParts P0(const Val& v) { return v.pi ? *v.pi : ParityParts::wild(v.init); }
ParityParts Pd(const Val& v) { return v.pd ? *v.pd : ParityParts::wild(v.delta); }
ParityParts Pnow(const Val& v) { return parity_join(P0(v), Pd(v)); }
// A backward value (or an update term's operand) with its size now and the parts of it.
Val now_val(const Val& v) { return Val{v.id, v.now(), std::nullopt, Pnow(v), std::nullopt}; }
const ParityParts kEven0 = ParityParts::even(Rational(0));

/// Operands of one expression: arg(v) is the argument standing for value v.
struct Args {
  std::vector<ValueId> ids;
  ExprPtr arg(ValueId v) {
    for (std::size_t k = 0; k < ids.size(); ++k)
      if (ids[k] == v) return argument(static_cast<int>(k));
    ids.push_back(v);
    return argument(static_cast<int>(ids.size()) - 1);
  }
};

std::int64_t to_int64(const boost::multiprecision::cpp_int& v) {
  if (v > std::numeric_limits<std::int64_t>::max() || v < std::numeric_limits<std::int64_t>::min())
    throw std::invalid_argument("a width exponent's numerator or denominator does not fit in 64 bits");
  return static_cast<std::int64_t>(v);
}

std::string ident(const std::string& s) {
  std::string out;
  for (char c : s) out += (std::isalnum(static_cast<unsigned char>(c)) != 0) ? c : '_';
  return out;
}

// One rank-one term of a matrix's update made at step `step`: out ⊗ key (dense: ΔW y = out·avg(key y)), or for an
// embedding out ⊗ ξ_{example, pos}.
struct Rank1 {
  int step = 0;
  Val out, key;
  int example = -1, pos = -1;
};

class GraphUnroller {
 public:
  GraphUnroller(const GraphSpec& s, const GraphUnrollOptions& o) : s_(s), o_(o) {}

  GraphUnrolled run() {
    if (const std::string p = graph_problem(s_); !p.empty()) throw std::invalid_argument(p);
    if (const std::string p = graph_unroll_unsupported(s_); !p.empty()) throw std::invalid_argument(p);
    T_ = o_.steps >= 0 ? o_.steps : s_.training.steps;
    check_budget();
    m_ = static_cast<int>(s_.train_x.rows()) / s_.positions;
    S_ = s_.positions;
    declare();
    std::vector<std::vector<std::vector<std::vector<Val>>>> fw;  // [t][example][node][pos]
    for (int t = 0; t <= T_; ++t) {
      std::vector<std::vector<std::vector<Val>>> ex(static_cast<std::size_t>(m_));
      for (int i = 0; i < m_; ++i) ex[static_cast<std::size_t>(i)] = forward(t, i);
      record(t, ex);
      for (int i = 0; i < m_; ++i) output_f(t, i, ex[static_cast<std::size_t>(i)]);
      if (t < T_) step(t, ex);
    }
    out_.steps = T_;
    out_.program = b_.finish();
    init_.resize(out_.program.size());
    delta_.resize(out_.program.size());
    out_.init = std::move(init_);
    out_.delta = std::move(delta_);
    return std::move(out_);
  }

 private:
  const GraphParameter& P(int p) const { return s_.params[static_cast<std::size_t>(p)]; }
  Rational ab(int p) const { return P(p).scaling.a + P(p).scaling.b; }
  Rational upd(int p) const { return -P(p).scaling.c - 2 * P(p).scaling.a; }  // ΔW = −η n^{upd} ∂L/∂W
  bool random_init(int p) const { return !P(p).scaling.zero_init && P(p).scaling.init_std > 0; }
  double lr() const { return s_.training.lr; }
  bool adaptive() const { return s_.training.optimizer != Optimizer::sgd; }  // Adam / SignSGD (graph_unroll_update.h)
  ExprPtr eps(int p, Args& a) { return mul(constant(s_.training.eps), a.arg(width(-P(p).scaling.d))); }
  // Decoupled weight decay (limits/graph_train.cpp: w ← ρ w − η n^{-c}·update, ρ = 1 − η λ n^{r}, r = −(c + e) with e
  // the tensor's decay exponent): w_t = ρ^t w_0 − η n^{-c} Σ_u ρ^{t−u} ψ_u. ρ^k − 1 has size n^r (r ≤ 0) or n^{kr}.
  bool decays() const { return s_.training.weight_decay != 0; }
  Rational decay_r(int p) const { return -(P(p).scaling.c + P(p).scaling.wd_exponent); }
  ExprPtr rho(const ExprPtr& width_arg) const {
    return sub(constant(1.0), mul(constant(lr() * s_.training.weight_decay), width_arg));
  }
  ExprPtr decayed(int p, int k, Args& a, const ExprPtr& e) {
    return decays() && k > 0 ? mul(pow(rho(a.arg(width(decay_r(p)))), constant(k)), e) : e;
  }
  S decay_change(int p, int k) const {
    if (!decays() || k <= 0) return std::nullopt;
    return decay_r(p) <= 0 ? decay_r(p) : k * decay_r(p);
  }
  Rational decay_growth(int p, int k) const { return decays() && k > 0 && decay_r(p) > 0 ? k * decay_r(p) : Rational(0); }

  void check_budget() const {
    const double need = graph_unroll_memory_estimate(s_, T_);
    if (need <= o_.memory_budget_bytes) return;
    auto gib = [](double b) {
      char buf[48];
      std::snprintf(buf, sizeof buf, "%.3g GiB", b / (1024.0 * 1024.0 * 1024.0));
      return std::string(buf);
    };
    throw BudgetError("unrolling " + std::to_string(T_) + " training steps of the graph needs about " + gib(need) +
                      " for the program (each step's forward pass has a term per earlier update at every example "
                      "and position: it grows like examples^2 x positions^2 x steps^2, times the heads of an attention), over the memory budget of " +
                      gib(o_.memory_budget_bytes) + "; use fewer steps, examples, positions or heads" +
                      (o_.budget_flag.empty() ? "" : ", or raise " + o_.budget_flag));
  }

  // ---- values and sizes ----
  void set(ValueId id, const S& init, const S& delta) {
    if (init_.size() <= static_cast<std::size_t>(id)) {
      init_.resize(static_cast<std::size_t>(id) + 1);
      delta_.resize(static_cast<std::size_t>(id) + 1);
    }
    init_[static_cast<std::size_t>(id)] = init;
    delta_[static_cast<std::size_t>(id)] = delta;
  }
  Val nonlin(const std::string& name, const ExprPtr& e, const Args& a, const S& init, const S& delta,
             std::optional<ParityParts> pi = std::nullopt, std::optional<ParityParts> pd = std::nullopt) {
    const ValueId id = b_.add_nonlin(name, e, a.ids);
    set(id, init, delta);
    return {id, init, delta, std::move(pi), std::move(pd)};
  }
  // A Nonlin whose sizes are those of its parity parts.
  Val nonlin_p(const std::string& name, const ExprPtr& e, const Args& a, const ParityParts& pi, const ParityParts& pd) {
    return nonlin(name, e, a, pi.size(), pd.size(), pi, pd);
  }
  Val moment(const std::string& name, const ExprPtr& e, const Args& a, const S& init, const S& delta) {
    const ValueId id = b_.add_moment(name, e, a.ids);
    set(id, init, delta);
    return {id, init, delta};
  }
  Val scalar(const std::string& name, const ExprPtr& e, const Args& a, const S& init, const S& delta) {
    const ValueId id = b_.add_scalar(name, e, a.ids);
    set(id, init, delta);
    return {id, init, delta};
  }
  ValueId width(const Rational& e) {
    auto it = width_.find(e);
    if (it != width_.end()) return it->second;
    std::string name = "n_pow_" + to_string(e);
    for (char& c : name) c = c == '-' ? 'm' : c == '/' ? '_' : c;
    const ValueId id = b_.add_width_power(name, to_int64(numerator(e)), to_int64(denominator(e)));
    set(id, e, std::nullopt);
    return width_.emplace(e, id).first->second;
  }
  // A sum of terms (each already scaled); the value is exactly zero (Val{}) when there are none.
  Val sum(const std::string& name, const std::vector<std::pair<ExprPtr, Val>>& terms, Args& a) {
    std::vector<ExprPtr> es;
    S init, delta;
    ParityParts pi, pd;
    for (const auto& [e, v] : terms) {
      es.push_back(e);
      init = smax(init, v.init);
      delta = smax(delta, v.delta);
      pi = parity_join(pi, P0(v));
      pd = parity_join(pd, Pd(v));
    }
    if (es.empty()) return {};
    return nonlin(name, balanced_sum(es), a, init, delta, pi, pd);
  }
  S activation(const ActivationProfile& p, const S& s) {
    bool known = true;
    S r = activation_size(p, s, known);
    if (!known) r = s;  // a super-polynomial φ of a growing argument: at least as large (as tp::graph_phase)
    return r;
  }

  // ---- parameters ----
  void declare() {
    std::vector<std::string> names;
    std::vector<double> var;
    auto input = [&](const std::string& n, double v) {
      names.push_back(n);
      var.push_back(v);
      return static_cast<int>(names.size()) - 1;
    };
    std::map<int, std::vector<int>> emb_u;  // param → indices of its u_j
    std::map<int, int> vec_beta;            // vector param → index of β
    std::map<int, std::vector<int>> out_v;  // readout W → indices of v_k
    std::map<int, int> head_z;              // attention node → index of z
    for (std::size_t i = 0; i < s_.nodes.size(); ++i) {
      const GraphNode& v = s_.nodes[i];
      for (int p : v.params) {
        if (p < 0) continue;
        const GraphParameter& w = P(p);
        const std::string base = ident(w.name);
        if (v.op == GraphOp::embedding)
          for (int j = 0; j < s_.input_dim; ++j) emb_u[p].push_back(input(base + "_u" + std::to_string(j + 1), 1));
        else if (w.kind == TensorKind::vector_like)
          vec_beta[p] = input(base + "_beta", random_init(p) ? 1 : 0);
        else if (v.op == GraphOp::readout && w.kind == TensorKind::output_like && !(p < static_cast<int>(s_.tied.size()) && s_.tied[static_cast<std::size_t>(p)] >= 0))
          for (int k = 0; k < s_.output_dim; ++k) out_v[p].push_back(input(base + "_v" + std::to_string(k + 1), 1));
      }
      if (v.op == GraphOp::attention && v.heads > 1) head_z[static_cast<int>(i)] = input(ident(v.name) + "_head_z", 1);
    }
    std::vector<ValueId> ids;
    if (!names.empty()) {
      Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(names.size()), static_cast<Eigen::Index>(names.size()));
      for (std::size_t k = 0; k < var.size(); ++k) cov(static_cast<Eigen::Index>(k), static_cast<Eigen::Index>(k)) = var[k];
      ids = b_.add_inputs(names, cov);
      for (std::size_t k = 0; k < ids.size(); ++k) set(ids[k], var[k] > 0 ? S(Rational(0)) : S(), std::nullopt);
    }
    const std::size_t np = s_.params.size();
    u_.assign(np, {});
    M_.assign(np, -1);
    vec_.assign(np, {});
    rows_.assign(np, {});
    rank1_.assign(np, {});
    scal_.assign(np, {});
    for (auto& [p, idx] : emb_u)
      for (int k : idx) u_[static_cast<std::size_t>(p)].push_back(ids[static_cast<std::size_t>(k)]);
    for (std::size_t p = 0; p < np; ++p) {
      const GraphParameter& w = P(static_cast<int>(p));
      if (w.kind == TensorKind::hidden && random_init(static_cast<int>(p)))
        M_[p] = b_.add_matrix(ident(w.name) + "_M", 1.0);
    }
    // vector-like tensors at step 0: init_value + σ n^{-(a+b)} β
    for (auto& [p, k] : vec_beta) {
      const GraphParameter& w = P(p);
      Args a;
      std::vector<ExprPtr> es;
      S init;
      ParityParts pi;  // the constant is even, the random part odd in p
      if (w.init_value != 0) {
        es.push_back(constant(w.init_value));
        init = Rational(0);
        pi = kEven0;
      }
      if (random_init(p)) {
        es.push_back(mul(mul(constant(w.scaling.init_std), a.arg(width(-ab(p)))), a.arg(ids[static_cast<std::size_t>(k)])));
        init = smax(init, S(-ab(p)));
        pi = parity_join(pi, ParityParts::odd(p, S(-ab(p))));
      }
      if (es.empty()) continue;  // exactly zero
      // a Nonlin needs a vector operand: a constant gain is written as init_value + 0·β
      if (!random_init(p)) es.push_back(mul(constant(0.0), a.arg(ids[static_cast<std::size_t>(k)])));
      vec_[static_cast<std::size_t>(p)] = nonlin(ident(w.name) + "_t0", balanced_sum(es), a, init, std::nullopt, pi, ParityParts());
    }
    // readout rows r_k = σ n^{-(a+b)} v_k
    for (auto& [p, idx] : out_v) {
      for (std::size_t k = 0; k < idx.size(); ++k) {
        if (!random_init(p)) {
          rows_[static_cast<std::size_t>(p)].push_back({});
          continue;
        }
        Args a;
        ExprPtr e = mul(mul(constant(P(p).scaling.init_std), a.arg(width(-ab(p)))), a.arg(ids[static_cast<std::size_t>(idx[k])]));
        rows_[static_cast<std::size_t>(p)].push_back(nonlin(ident(P(p).name) + "_row" + std::to_string(k + 1) + "_t0", e, a, S(-ab(p)), std::nullopt,
                                                            ParityParts::odd(p, S(-ab(p))), ParityParts()));
      }
    }
    // scalar-like tensors (the readout bias): init_value + σ n^{-(a+b)} (one fixed draw of the random part)
    for (std::size_t p = 0; p < np; ++p) {
      const GraphParameter& w = P(static_cast<int>(p));
      if (w.kind != TensorKind::scalar_like) continue;
      for (int k = 0; k < s_.output_dim; ++k) {
        Args a;
        S init;
        ExprPtr e = constant(w.init_value);
        if (w.init_value != 0) init = Rational(0);
        if (random_init(static_cast<int>(p))) {
          e = add(e, mul(constant(w.scaling.init_std), a.arg(width(-ab(static_cast<int>(p))))));
          init = smax(init, S(-ab(static_cast<int>(p))));
        }
        scal_[p].push_back(scalar(ident(w.name) + "_k" + std::to_string(k + 1) + "_t0", e, a, init, std::nullopt));
      }
    }
    // attention head masks m_h = 1[Φ(z) ∈ [h/H, (h+1)/H)]
    for (auto& [node, k] : head_z) {
      const int H = s_.nodes[static_cast<std::size_t>(node)].heads;
      for (int h = 0; h < H; ++h) {
        Args a;
        const ExprPtr u = call(Function::normcdf, a.arg(ids[static_cast<std::size_t>(k)]));
        ExprPtr e = mul(call(Function::step, sub(u, constant(static_cast<double>(h) / H))),
                        call(Function::step, sub(constant(static_cast<double>(h + 1) / H), u)));
        masks_[node].push_back(nonlin(ident(s_.nodes[static_cast<std::size_t>(node)].name) + "_head" + std::to_string(h + 1), e, a,
                                      Rational(0), std::nullopt, kEven0, ParityParts()));  // no weight's sign: even
      }
    }
    tie_declare();
  }

  // ---- forward ----
  double xi(int example, int pos, int j) const { return s_.train_x(example * S_ + pos, j); }
  double dot_xi(int e1, int p1, int e2, int p2) const {
    double d = 0;
    for (int j = 0; j < s_.input_dim; ++j) d += xi(e1, p1, j) * xi(e2, p2, j);
    return d;
  }

  // W_t y for a hidden matrix (transposed: W_tᵀ y). Sizes: σ n^{1/2-(a+b)} M y keeps y's (CLT); each rank-one
  // term −η n^{1-c-2a} out · avg(key y) is n^{1-c-2a} |out| |key| |y| (the average of correlated vectors: LLN).
  Val apply(int p, int t, const Val& y, bool transposed, const std::string& name) {
    if (y.zero()) return {};
    std::vector<std::pair<ExprPtr, Val>> terms;
    Args a;
    if (M_[static_cast<std::size_t>(p)] >= 0) {
      const ValueId my = b_.add_matmul(name + "_M", M_[static_cast<std::size_t>(p)], y.id, transposed);
      set(my, y.init, y.delta);
      const Rational e = kHalf - ab(p);
      // M y flips p's bit (the parity rule; a readout tied to the embedding has the embedding's bit)
      const int bit = w_of(p);
      Val sz{my, plus(y.init, e), plus(y.delta, e), parity_shift(parity_flip(P0(y), bit), S(e)), parity_shift(parity_flip(Pd(y), bit), S(e))};
      if (transposed) {  // ρ^t W_0: a backward value's size now
        sz.init = plus(sz.init, decay_growth(p, t));
        sz.pi = parity_shift(*sz.pi, S(decay_growth(p, t)));
      } else if (const S dc = decay_change(p, t)) {
        sz.delta = smax(sz.delta, plus(plus(y.now(), e), dc));
        sz.pd = parity_join(*sz.pd, parity_shift(parity_flip(Pnow(y), bit), plus(S(e), dc)));
      }
      terms.push_back({decayed(p, t, a, mul(mul(constant(P(p).scaling.init_std), a.arg(width(e))), a.arg(my))), sz});
    }
    if (adaptive()) {
      adaptive_matrix_term(p, t, y, transposed, name, a, terms);
      return sum(name, terms, a);
    }
    for (const Rank1& r : rank1_[static_cast<std::size_t>(p)]) {
      if (r.step >= t) continue;
      const Val& out = transposed ? r.key : r.out;
      const Val& key = transposed ? r.out : r.key;
      Args m;
      // avg(key y) by the parity rule (the same layer's forward vectors share their parts: LLN, TP4 App. H)
      const Val dot = moment("", mul(m.arg(key.id), m.arg(y.id)), m, parity_inner(P0(key), Pnow(y), 0), std::nullopt);
      const Rational e = 1 + upd(p);
      const ParityParts pz = parity_shift(P0(out), plus(plus(dot.init, e), decay_growth(p, t - 1 - r.step)));
      const S sz = pz.size();
      // forward: a change (zero at step 0); backward values carry their size now in init
      const Val term = transposed ? Val{-1, sz, std::nullopt, pz, std::nullopt} : Val{-1, std::nullopt, sz, std::nullopt, pz};
      terms.push_back({decayed(p, t - 1 - r.step, a, mul(mul(constant(-lr()), a.arg(width(e))), mul(a.arg(out.id), a.arg(dot.id)))), term});
    }
    return sum(name, terms, a);
  }

  // The forward pass of example i at step t: per node, per position.
  std::vector<std::vector<Val>> forward(int t, int i) {
    const std::size_t N = s_.nodes.size();
    std::vector<std::vector<Val>> x(N, std::vector<Val>(static_cast<std::size_t>(S_)));
    cur_example_ = i;
    const std::string ts = "_t" + std::to_string(t) + "_e" + std::to_string(i + 1);
    for (std::size_t v = 1; v < N; ++v) {
      const GraphNode& g = s_.nodes[v];
      const int in = g.inputs.empty() ? -1 : g.inputs[0];
      const std::string base = ident(g.name) + ts;
      if (g.op == GraphOp::attention) {
        x[v] = attention(static_cast<int>(v), t, x[static_cast<std::size_t>(in)], base);
        continue;
      }
      if (g.op == GraphOp::readout) {
        readout_forward(static_cast<int>(v), t, i, x[static_cast<std::size_t>(in)], base);
        continue;
      }
      for (int s = 0; s < S_; ++s) {
        const std::string name = base + "_p" + std::to_string(s + 1);
        const Val xin = in >= 0 ? x[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)] : Val{};
        Val& y = x[v][static_cast<std::size_t>(s)];
        switch (g.op) {
          case GraphOp::input: break;
          case GraphOp::embedding: y = embed(g.params[0], t, i, s, name); break;
          case GraphOp::dense: y = apply(g.params[0], t, xin, false, name); break;
          case GraphOp::bias: {
            const Val& bv = vec_[static_cast<std::size_t>(g.params[0])];
            Args a;
            std::vector<std::pair<ExprPtr, Val>> terms;
            if (!xin.zero()) terms.push_back({a.arg(xin.id), xin});
            if (!bv.zero()) terms.push_back({a.arg(bv.id), bv});
            y = sum(name, terms, a);
            break;
          }
          case GraphOp::activation: {
            if (!profiles_.count(static_cast<int>(v))) {
              profiles_[static_cast<int>(v)] = activation_profile(g.activation);
              dprofiles_[static_cast<int>(v)] = activation_profile(derivative(g.activation, 0));
            }
            const ActivationProfile& ph = profiles_[static_cast<int>(v)];
            if (xin.zero()) {
              if (ph.vanishing_order == 0 && !ph.identically_zero) throw std::invalid_argument(
                  "the IR route needs a vector operand for φ of an exactly-zero input at '" + g.name + "'");
              break;
            }
            // Δφ(h) = φ'(h_0) Δh while Δh is no larger than h_0, else as large as φ(Δh) (tp::unroll's rule)
            // parts: φ maps into the subgroup its argument's parts generate (even part included)
            S d;
            ParityParts pd;
            if (xin.delta) {
              if (xin.init && *xin.delta <= *xin.init) {
                const S slope = activation(dprofiles_[static_cast<int>(v)], xin.init);
                d = plus(slope, xin.delta);
                pd = parity_product(parity_closure(P0(xin), slope), Pd(xin));
              } else {
                d = activation(ph, xin.delta);
                pd = parity_closure(Pnow(xin), d);
              }
            }
            Args a;
            const S y0 = activation(ph, xin.init);
            y = nonlin(name, substitute(g.activation, {a.arg(xin.id)}), a, y0, d, parity_closure(P0(xin), y0), pd);
            break;
          }
          case GraphOp::layernorm:
          case GraphOp::rmsnorm: y = norm(static_cast<int>(v), t, i, s, xin, name); break;
          case GraphOp::add: {
            const Val& br = x[static_cast<std::size_t>(g.inputs[1])][static_cast<std::size_t>(s)];
            const double mult = g.branch_scale * std::pow(static_cast<double>(s_.depth), -static_cast<double>(g.branch_exponent));
            Args a;
            std::vector<std::pair<ExprPtr, Val>> terms;
            if (!xin.zero()) terms.push_back({a.arg(xin.id), xin});
            if (!br.zero() && mult != 0) terms.push_back({mul(constant(mult), a.arg(br.id)), br});
            y = sum(name, terms, a);
            break;
          }
          case GraphOp::attention:
          case GraphOp::readout: break;
        }
      }
      if (t == 0 && tie_out_ >= 0) note_corr(static_cast<int>(v), i, x);
    }
    return x;
  }

  Val embed(int p, int t, int i, int s, const std::string& name) {
    if (p == tie_emb_) return tied_embed(t, i, s, name);
    Args a;
    std::vector<std::pair<ExprPtr, Val>> terms;
    std::vector<ExprPtr> init;
    for (int j = 0; j < s_.input_dim; ++j)
      if (xi(i, s, j) != 0 && !u_[static_cast<std::size_t>(p)].empty()) init.push_back(mul(constant(xi(i, s, j)), a.arg(u_[static_cast<std::size_t>(p)][static_cast<std::size_t>(j)])));
    if (!init.empty() && random_init(p))
      terms.push_back({decayed(p, t, a, mul(mul(constant(P(p).scaling.init_std), a.arg(width(-ab(p)))), balanced_sum(init))),
                       Val{-1, S(-ab(p)), plus(S(-ab(p)), decay_change(p, t)), ParityParts::odd(p, S(-ab(p))),
                           ParityParts::odd(p, plus(S(-ab(p)), decay_change(p, t)))}});
    if (adaptive()) {
      adaptive_embedding_term(p, t, i, s, a, terms);
      return sum(name, terms, a);
    }
    for (const Rank1& r : rank1_[static_cast<std::size_t>(p)]) {
      if (r.step >= t) continue;
      const double d = dot_xi(r.example, r.pos, i, s);
      if (d == 0) continue;
      const ParityParts pz = parity_shift(P0(r.out), S(upd(p) + decay_growth(p, t - 1 - r.step)));
      terms.push_back({decayed(p, t - 1 - r.step, a, mul(mul(constant(-lr() * d), a.arg(width(upd(p)))), a.arg(r.out.id))),
                       Val{-1, std::nullopt, pz.size(), std::nullopt, pz}});
    }
    return sum(name, terms, a);
  }

  // A vector-like tensor's current value (Val{} when exactly zero).
  const Val& vec(int p) const { return vec_[static_cast<std::size_t>(p)]; }

  struct NormState {
    Val xhat, r;
  };
  Val norm(int v, int t, int i, int s, const Val& x, const std::string& name) {
    const GraphNode& g = s_.nodes[static_cast<std::size_t>(v)];
    const bool ln = g.op == GraphOp::layernorm;
    const int gain = g.params[0], bias = ln ? g.params[1] : -1;
    if (x.zero()) {
      // x = 0: x̂ = 0 and the output is the bias; the gradient still passes with r = ε^{-1/2}
      const Val r = scalar(name + "_rsd", constant(1.0 / std::sqrt(g.norm_eps)), Args{}, Rational(0), std::nullopt);
      norm_[{v, i, s}] = NormState{{}, r};
      if (bias >= 0 && !vec(bias).zero()) {
        Args a;
        return sum(name, {{a.arg(vec(bias).id), vec(bias)}}, a);
      }
      return {};
    }
    // μ = avg(x) (LLN, an upper bound), m = avg(x²) (LLN), var = m − μ², r = (var + ε)^{-1/2}
    Args am;
    const Val m2 = moment(name + "_sq", mul(am.arg(x.id), am.arg(x.id)), am, plus(x.init, x.init),
                          smax(plus(x.init, x.delta), plus(x.delta, x.delta)));
    Val mu;
    if (ln) {
      Args a1;
      // avg(x): LLN on x's even part, CLT on the rest (the parity rule)
      mu = moment(name + "_mean", a1.arg(x.id), a1, parity_inner(P0(x), kEven0, 0), parity_inner(Pd(x), kEven0, 0));
    }
    Args ar;
    ExprPtr var = ar.arg(m2.id);
    if (ln) var = sub(var, mul(ar.arg(mu.id), ar.arg(mu.id)));
    const S b0 = smax(m2.init, S(Rational(0))), db = m2.delta;
    S dr;  // Δ(b^{-1/2}): −(3/2) b_0 + Δb while Δb ≤ b_0, else b_0^{-1/2} dominates the difference
    if (db) dr = *db <= *b0 ? S(Rational(-3, 2) * *b0 + *db) : S(Rational(-1, 2) * *b0);
    const Val r = scalar(name + "_rsd", pow(add(var, constant(g.norm_eps)), constant(-0.5)), ar, Rational(-1, 2) * *b0, dr);
    Args ax;
    ExprPtr centred = ax.arg(x.id);
    if (ln) centred = sub(centred, ax.arg(mu.id));
    // x̂ = (x − μ) r: Δ = x_0 Δr + Δx r_0 + Δx Δr, at most Θ(1) (x̂ has RMS at most 1: after a blow-up of x the
    // last two cancel to x̂_t − x̂_0; the same cap as tp::graph_phase)
    S xhd = smax(smax(plus(x.init, r.delta), plus(x.delta, r.init)), plus(x.delta, r.delta));
    if (xhd && *xhd > 0) xhd = Rational(0);
    // parts: x − μ has x's parts and an even part of μ's size; r is a scalar (no parity)
    auto cpart = [&](const ParityParts& xp, const S& m) { return ln ? parity_join(xp, ParityParts::even(m)) : xp; };
    const ParityParts c0 = cpart(P0(x), mu.init), cd = cpart(Pd(x), mu.delta);
    const Val xhat = nonlin(name + "_hat", mul(centred, ax.arg(r.id)), ax, plus(x.init, r.init), xhd, parity_shift(c0, r.init),
                            parity_cap(parity_join(parity_shift(c0, r.delta), parity_shift(cd, r.now())), S(Rational(0))));
    norm_[{v, i, s}] = NormState{xhat, r};
    Args a;
    std::vector<std::pair<ExprPtr, Val>> terms;
    if (gain >= 0) {
      const Val& gv = vec(gain);
      if (!gv.zero()) {
        const S init = plus(xhat.init, gv.init);
        const S d = smax(smax(plus(xhat.init, gv.delta), plus(xhat.delta, gv.init)), plus(xhat.delta, gv.delta));
        terms.push_back({mul(a.arg(xhat.id), a.arg(gv.id)),
                         Val{-1, init, d, parity_product(P0(xhat), P0(gv)),
                             parity_join(parity_product(P0(xhat), Pd(gv)), parity_product(Pd(xhat), Pnow(gv)))}});
      }
    } else {
      terms.push_back({a.arg(xhat.id), xhat});
    }
    if (bias >= 0 && !vec(bias).zero()) terms.push_back({a.arg(vec(bias).id), vec(bias)});
    (void)t;
    return sum(name, terms, a);
  }

  // Attention over the S positions (heads with d_head = n/H: masks; one head: no mask).
  std::vector<Val> attention(int v, int t, const std::vector<Val>& x, const std::string& base) {
    const GraphNode& g = s_.nodes[static_cast<std::size_t>(v)];
    const int pq = g.params[0], pk = g.params[1], pv = g.params[2], po = g.params[3];
    const int H = g.heads;
    const bool inv_d = g.logit_scale == LogitScale::inverse_d;
    const Rational e = inv_d ? Rational(0) : kHalf;
    const double kappa = inv_d ? H : std::sqrt(static_cast<double>(H));
    AttnState st;
    for (int s = 0; s < S_; ++s) {
      const std::string ps = "_p" + std::to_string(s + 1);
      st.q.push_back(apply(pq, t, x[static_cast<std::size_t>(s)], false, base + "_q" + ps));
      st.k.push_back(apply(pk, t, x[static_cast<std::size_t>(s)], false, base + "_k" + ps));
      st.v.push_back(apply(pv, t, x[static_cast<std::size_t>(s)], false, base + "_v" + ps));
    }
    const auto& masks = masks_[v];
    st.A.assign(static_cast<std::size_t>(H), std::vector<std::vector<Val>>(static_cast<std::size_t>(S_)));
    st.logits.assign(static_cast<std::size_t>(H), std::vector<std::vector<Val>>(static_cast<std::size_t>(S_)));
    std::vector<Val> z(static_cast<std::size_t>(S_));
    for (int s = 0; s < S_; ++s) {
      const int last = g.causal ? s : S_ - 1;
      const std::string ps = "_p" + std::to_string(s + 1);
      Args az;
      std::vector<std::pair<ExprPtr, Val>> zterms;
      for (int h = 0; h < H; ++h) {
        // logits ℓ_r = κ n^e avg(m_h q_s k_r): CLT at step 0 (q, k from independent matrices), LLN for changes
        std::vector<Val>& lg = st.logits[static_cast<std::size_t>(h)][static_cast<std::size_t>(s)];
        for (int r = 0; r <= last; ++r) {
          const Val& q = st.q[static_cast<std::size_t>(s)];
          const Val& k = st.k[static_cast<std::size_t>(r)];
          if (q.zero() || k.zero()) {
            lg.push_back({});
            continue;
          }
          Args m;
          ExprPtr prod = mul(m.arg(q.id), m.arg(k.id));
          if (H > 1) prod = mul(m.arg(masks[static_cast<std::size_t>(h)].id), prod);
          // by the parity rule: q_0, k_0 come from independent W_q, W_k (CLT); a change is LLN on shared parts
          const S init = parity_inner(P0(q), P0(k), 0);
          const S d = smax(parity_inner(P0(q), Pd(k), 0), parity_inner(Pd(q), Pnow(k), 0));
          const std::string hsr = "_h" + std::to_string(h + 1) + ps + "_r" + std::to_string(r + 1);
          const Val avg = moment(base + "_qk" + hsr, prod, m, init, d);
          Args al;
          lg.push_back(scalar(base + "_logit" + hsr,
                              mul(mul(constant(kappa), al.arg(width(e))), al.arg(avg.id)), al, plus(init, e), plus(d, e)));
        }
        // softmax over positions 0..last: A_r = 1 / Σ_r' exp(ℓ_r' − ℓ_r); Θ(1), moving with the logits (bounded)
        std::vector<Val>& A = st.A[static_cast<std::size_t>(h)][static_cast<std::size_t>(s)];
        S dl;
        for (const Val& l : lg) dl = smax(dl, l.delta);
        const S dA = last == 0 ? S() : dl ? S(std::min(*dl, Rational(0))) : S();
        for (int r = 0; r <= last; ++r) {
          Args aa;
          std::vector<ExprPtr> den;
          for (int r2 = 0; r2 <= last; ++r2) {
            if (r2 == r) {
              den.push_back(constant(1.0));
              continue;
            }
            const Val& l2 = lg[static_cast<std::size_t>(r2)];
            const Val& l1 = lg[static_cast<std::size_t>(r)];
            ExprPtr diff = constant(0.0);
            if (!l2.zero()) diff = aa.arg(l2.id);
            if (!l1.zero()) diff = sub(diff, aa.arg(l1.id));
            den.push_back(call(Function::exp, diff));
          }
          A.push_back(scalar(base + "_A_h" + std::to_string(h + 1) + ps + "_r" + std::to_string(r + 1),
                             div(constant(1.0), balanced_sum(den)), aa, Rational(0), dA));
          const Val& vr = st.v[static_cast<std::size_t>(r)];
          if (vr.zero()) continue;
          ExprPtr term = mul(az.arg(A.back().id), az.arg(vr.id));
          if (H > 1) term = mul(az.arg(masks[static_cast<std::size_t>(h)].id), term);
          zterms.push_back({term, Val{-1, vr.init, smax(vr.delta, plus(dA, vr.now())), P0(vr),
                                      parity_join(Pd(vr), parity_shift(Pnow(vr), dA))}});
        }
      }
      z[static_cast<std::size_t>(s)] = sum(base + "_z" + ps, zterms, az);
    }
    std::vector<Val> out(static_cast<std::size_t>(S_));
    for (int s = 0; s < S_; ++s) out[static_cast<std::size_t>(s)] = apply(po, t, z[static_cast<std::size_t>(s)], false, base + "_o_p" + std::to_string(s + 1));
    st.z = z;
    attn_[{v, cur_example_}] = std::move(st);
    return out;
  }

  void readout_forward(int v, int t, int i, const std::vector<Val>& x, const std::string& base) {
    const GraphNode& g = s_.nodes[static_cast<std::size_t>(v)];
    const int p = g.params[0], pb = g.params[1];
    std::vector<Val> f;
    for (int k = 0; k < s_.output_dim; ++k) {
      const Val& r = rows_[static_cast<std::size_t>(p)][static_cast<std::size_t>(k)];
      Args af;
      std::vector<ExprPtr> es;
      S init, delta;
      for (int s = 0; s < S_; ++s) {
        const double pi = pool(g, s);
        const Val& xs = x[static_cast<std::size_t>(s)];
        if (pi == 0 || r.zero() || xs.zero()) continue;
        // n·avg(r x): r_0 independent of x_0 (CLT, −1/2); its changes are correlated with x (LLN)
        Args m;
        S ai = plus(plus(r.init, xs.init), -kHalf);
        if (p == tie_out_) ai = smax(ai, plus(r.init, corr(g.inputs[0], i, s)));  // w_0ᵀ meets w_0 ξ: LLN
        S ad = smax(parity_inner(P0(r), Pd(xs), 0), parity_inner(Pd(r), Pnow(xs), 0));  // the parity rule
        // weight decay (ρ^t − 1) r_0 · x_t: r_0 independent of x_0 (CLT), coherent with Δx (LLN)
        if (decays()) ad = smax(ad, plus(smax(ai, plus(r.init, xs.delta)), decay_change(w_of(p), t)));
        const Val avg = moment(base + "_rx_k" + std::to_string(k + 1) + "_p" + std::to_string(s + 1), mul(m.arg(r.id), m.arg(xs.id)), m, ai, ad);
        es.push_back(mul(mul(constant(pi), af.arg(width(Rational(1)))), af.arg(avg.id)));
        init = smax(init, plus(ai, Rational(1)));
        delta = smax(delta, plus(ad, Rational(1)));
      }
      if (pb >= 0) {
        const Val& bk = scal_[static_cast<std::size_t>(pb)][static_cast<std::size_t>(k)];
        es.push_back(af.arg(bk.id));
        init = smax(init, bk.init);
        delta = smax(delta, bk.delta);
      }
      if (es.empty()) es.push_back(constant(0.0));
      f.push_back(scalar(base + "_f" + std::to_string(k + 1), balanced_sum(es), af, init, delta));
    }
    f_[{t, i}] = f;
  }
  double pool(const GraphNode& g, int s) const {
    if (g.pooling == Pooling::mean) return 1.0 / S_;
    return s == S_ - 1 ? 1.0 : 0.0;
  }

  void output_f(int t, int i, const std::vector<std::vector<Val>>&) {
    const auto& f = f_.at({t, i});
    for (std::size_t k = 0; k < f.size(); ++k)
      b_.add_output("f_t" + std::to_string(t) + "_e" + std::to_string(i + 1) + "_k" + std::to_string(k + 1), f[k].id);
  }

  // ---- sizes per node ----
  void record(int t, const std::vector<std::vector<std::vector<Val>>>& ex) {
    for (std::size_t v = 0; v < s_.nodes.size(); ++v) {
      const GraphNode& g = s_.nodes[v];
      S init, delta;
      if (g.op == GraphOp::input) {
        init = Rational(0);
      } else if (g.op == GraphOp::readout) {
        for (int i = 0; i < m_; ++i)
          for (const Val& f : f_.at({t, i})) init = smax(init, f.init), delta = smax(delta, f.delta);
      } else {
        for (const auto& e : ex)
          for (const Val& x : e[v]) init = smax(init, x.init), delta = smax(delta, x.delta);
      }
      if (g.op == GraphOp::attention) {
        S qi, qd, ki, kd, vi, vd, li, ld;
        for (int i = 0; i < m_; ++i) {
          const AttnState& st = attn_.at({static_cast<int>(v), i});
          for (int s = 0; s < S_; ++s) {
            qi = smax(qi, st.q[static_cast<std::size_t>(s)].init), qd = smax(qd, st.q[static_cast<std::size_t>(s)].delta);
            ki = smax(ki, st.k[static_cast<std::size_t>(s)].init), kd = smax(kd, st.k[static_cast<std::size_t>(s)].delta);
            vi = smax(vi, st.v[static_cast<std::size_t>(s)].init), vd = smax(vd, st.v[static_cast<std::size_t>(s)].delta);
          }
          for (const auto& h : st.logits)
            for (const auto& row : h)
              for (const Val& l : row) li = smax(li, l.init), ld = smax(ld, l.delta);
        }
        put(g.name + ".q", t, qi, qd);
        put(g.name + ".k", t, ki, kd);
        put(g.name + ".v", t, vi, vd);
        put(g.name + ".logits", t, li, ld);
      }
      put(g.name, t, init, delta);
    }
  }
  void put(const std::string& node, int t, const S& init, const S& delta) {
    for (const bool d : {false, true}) {
      if (d && t == 0) continue;
      PredictedSize ps;
      ps.node = node;
      ps.step = t;
      ps.delta = d;
      const S v = d ? delta : t == 0 ? init : smax(init, delta);
      ps.vanishes = !v;
      ps.exponent = v ? *v : Rational(0);
      out_.sizes.push_back(std::move(ps));
    }
  }

  // ---- backward and the SGD update of step t ----
  std::vector<int> batch(int t) const {
    std::vector<int> idx;
    switch (s_.training.batch) {
      case BatchMode::full:
        for (int i = 0; i < m_; ++i) idx.push_back(i);
        break;
      case BatchMode::per_sample: idx.push_back(t % m_); break;
      case BatchMode::minibatch:
        for (int q = 0; q < s_.training.batch_size; ++q) idx.push_back((t * s_.training.batch_size + q) % m_);
        break;
    }
    return idx;
  }

  // The gradient of one node and position: a list of contributions, summed into one value on first use.
  struct Grad {
    std::vector<Val> parts;
  };
  Val gather(Grad& g, const std::string& name) {
    if (g.parts.empty()) return {};
    if (g.parts.size() == 1) return g.parts[0];
    Args a;
    std::vector<std::pair<ExprPtr, Val>> terms;
    for (const Val& p : g.parts) terms.push_back({a.arg(p.id), p});
    Val v = sum(name, terms, a);
    g.parts = {v};
    return v;
  }
  static void give(Grad& g, const Val& v) {
    if (!v.zero()) g.parts.push_back(v);
  }

  // ∂L/∂W accumulators for vector-like tensors and readout rows / bias at this step.
  struct VecGrad {
    std::vector<std::pair<ExprPtr, Val>> terms;
    Args a;
  };

  void step(int t, const std::vector<std::vector<std::vector<Val>>>& ex) {
    const std::vector<int> idx = batch(t);
    const double inv_b = 1.0 / static_cast<double>(idx.size());
    const std::size_t N = s_.nodes.size(), np = s_.params.size();
    std::vector<VecGrad> vgrad(np);
    std::vector<std::vector<VecGrad>> rgrad(np, std::vector<VecGrad>(static_cast<std::size_t>(s_.output_dim)));
    std::vector<std::vector<std::vector<ExprPtr>>> sgrad(np, std::vector<std::vector<ExprPtr>>(static_cast<std::size_t>(s_.output_dim)));
    std::vector<std::vector<Args>> sargs(np, std::vector<Args>(static_cast<std::size_t>(s_.output_dim)));
    std::vector<Rank1> new_rank1;
    std::vector<int> new_rank1_param;
    const bool class_index = s_.training.loss == LossKind::cross_entropy && s_.train_y.cols() == 1 && s_.output_dim > 1;
    for (int i : idx) {
      cur_example_ = i;
      const auto& x = ex[static_cast<std::size_t>(i)];
      const std::string ts = "_t" + std::to_string(t) + "_e" + std::to_string(i + 1);
      const auto& f = f_.at({t, i});
      // χ_k = ∂ℓ/∂f_k / B: Θ(1) (a nonzero target or a probability minus a label)
      std::vector<Val> chi;
      for (int k = 0; k < s_.output_dim; ++k) {
        const double y = class_index ? (s_.train_y(i, 0) == k ? 1.0 : 0.0) : s_.train_y(i, k);
        Args a;
        ExprPtr e;
        if (s_.training.loss == LossKind::mse) {
          e = sub(a.arg(f[static_cast<std::size_t>(k)].id), constant(y));
        } else if (s_.output_dim == 1) {
          e = sub(call(Function::sigmoid, a.arg(f[static_cast<std::size_t>(k)].id)), constant(y));
        } else {
          std::vector<ExprPtr> den;
          for (int j = 0; j < s_.output_dim; ++j)
            den.push_back(j == k ? constant(1.0) : call(Function::exp, sub(a.arg(f[static_cast<std::size_t>(j)].id), a.arg(f[static_cast<std::size_t>(k)].id))));
          e = sub(div(constant(1.0), balanced_sum(den)), constant(y));
        }
        chi.push_back(scalar("chi" + std::to_string(k + 1) + ts, mul(constant(inv_b), e), a, Rational(0), std::nullopt));
      }
      std::vector<std::vector<Grad>> G(N, std::vector<Grad>(static_cast<std::size_t>(S_)));
      for (int v = static_cast<int>(N) - 1; v >= 1; --v) {
        const GraphNode& g = s_.nodes[static_cast<std::size_t>(v)];
        const int in = g.inputs.empty() ? -1 : g.inputs[0];
        const std::string base = "g_" + ident(g.name) + ts;
        if (g.op == GraphOp::readout) {
          const int p = g.params[0], pb = g.params[1];
          for (int s = 0; s < S_; ++s) {
            const double pi = pool(g, s);
            if (pi == 0) continue;
            Args a;
            std::vector<std::pair<ExprPtr, Val>> terms;
            for (int k = 0; k < s_.output_dim; ++k) {
              const Val& r = rows_[static_cast<std::size_t>(p)][static_cast<std::size_t>(k)];
              if (!r.zero()) terms.push_back({mul(mul(constant(pi), a.arg(chi[static_cast<std::size_t>(k)].id)), a.arg(r.id)), now_val(r)});
              const Val& xs = x[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)];
              if (!xs.zero()) {
                VecGrad& rg = rgrad[static_cast<std::size_t>(p)][static_cast<std::size_t>(k)];
                rg.terms.push_back({mul(mul(constant(pi), rg.a.arg(chi[static_cast<std::size_t>(k)].id)), rg.a.arg(xs.id)), now_val(xs)});
              }
            }
            give(G[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)], sum(base + "_p" + std::to_string(s + 1), terms, a));
          }
          if (pb >= 0)
            for (int k = 0; k < s_.output_dim; ++k)
              sgrad[static_cast<std::size_t>(pb)][static_cast<std::size_t>(k)].push_back(sargs[static_cast<std::size_t>(pb)][static_cast<std::size_t>(k)].arg(chi[static_cast<std::size_t>(k)].id));
          continue;
        }
        if (g.op == GraphOp::attention) {
          attention_backward(v, t, i, x[static_cast<std::size_t>(in)], G, new_rank1, new_rank1_param, base);
          continue;
        }
        for (int s = 0; s < S_; ++s) {
          const std::string name = base + "_p" + std::to_string(s + 1);
          const Val gy = gather(G[static_cast<std::size_t>(v)][static_cast<std::size_t>(s)], name + "_sum");
          if (gy.zero()) continue;
          const Val xs = in >= 0 ? x[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)] : Val{};
          switch (g.op) {
            case GraphOp::input:
            case GraphOp::readout:
            case GraphOp::attention: break;
            case GraphOp::embedding:
              new_rank1.push_back(Rank1{t, gy, {}, i, s});
              new_rank1_param.push_back(g.params[0]);
              break;
            case GraphOp::dense:
              if (!xs.zero()) {
                new_rank1.push_back(Rank1{t, gy, now_val(xs), i, s});
                new_rank1_param.push_back(g.params[0]);
              }
              give(G[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)], apply(g.params[0], t, gy, true, name + "_in"));
              break;
            case GraphOp::bias: {
              VecGrad& vg = vgrad[static_cast<std::size_t>(g.params[0])];
              vg.terms.push_back({vg.a.arg(gy.id), gy});
              give(G[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)], gy);
              break;
            }
            case GraphOp::activation: {
              Args a;
              const S slope = activation(dprofiles_.at(v), xs.now());
              if (!slope) break;  // φ'(0) = 0 at an exactly-zero input
              const ExprPtr at = xs.zero() ? constant(0.0) : a.arg(xs.id);
              give(G[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)],
                   nonlin(name + "_in", mul(a.arg(gy.id), substitute(derivative(g.activation, 0), {at})), a, plus(gy.init, slope), std::nullopt,
                          parity_product(P0(gy), parity_closure(Pnow(xs), slope)), ParityParts()));
              break;
            }
            case GraphOp::layernorm:
            case GraphOp::rmsnorm: {
              const NormState& ns = norm_.at({v, i, s});
              const int gain = g.params[0], bias = g.op == GraphOp::layernorm ? g.params[1] : -1;
              const Val xh = now_val(ns.xhat);
              if (gain >= 0 && !xh.zero()) {
                VecGrad& vg = vgrad[static_cast<std::size_t>(gain)];
                vg.terms.push_back({mul(vg.a.arg(gy.id), vg.a.arg(xh.id)),
                                    Val{-1, plus(gy.init, xh.init), std::nullopt, parity_product(P0(gy), P0(xh)), std::nullopt}});
              }
              if (bias >= 0) {
                VecGrad& vg = vgrad[static_cast<std::size_t>(bias)];
                vg.terms.push_back({vg.a.arg(gy.id), gy});
              }
              // dx̂ = γ ⊙ g; dx = r (dx̂ − avg dx̂ − x̂ avg(dx̂ x̂))   (rmsnorm: without the avg dx̂ term)
              Args ad;
              Val dxh = gy;
              if (gain >= 0 && !vec(gain).zero()) {
                dxh = nonlin(name + "_dhat", mul(ad.arg(gy.id), ad.arg(vec(gain).id)), ad, plus(gy.init, vec(gain).now()), std::nullopt,
                             parity_product(P0(gy), Pnow(vec(gain))), ParityParts());
              } else if (gain >= 0) {
                break;  // a zero gain passes no gradient
              }
              // the averages avg(dx̂ x̂), avg(dx̂) are Moments: sized by the parity rule, no parity of their own
              Args a3;
              ExprPtr e = a3.arg(dxh.id);
              ParityParts pe = P0(dxh);
              if (!xh.zero()) {
                Args a2;
                const Val c = moment(name + "_dc", mul(a2.arg(dxh.id), a2.arg(xh.id)), a2, parity_inner(P0(dxh), P0(xh), 0), std::nullopt);
                e = sub(e, mul(a3.arg(xh.id), a3.arg(c.id)));
                pe = parity_join(pe, parity_shift(P0(xh), c.init));
              }
              if (g.op == GraphOp::layernorm) {
                Args a4;
                const Val mu = moment(name + "_dm", a4.arg(dxh.id), a4, parity_inner(P0(dxh), kEven0, 0), std::nullopt);
                e = sub(e, a3.arg(mu.id));
                pe = parity_join(pe, ParityParts::even(mu.init));
              }
              pe = parity_shift(pe, ns.r.now());
              give(G[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)],
                   nonlin(name + "_in", mul(e, a3.arg(ns.r.id)), a3, pe.size(), std::nullopt, pe, ParityParts()));
              break;
            }
            case GraphOp::add: {
              give(G[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)], gy);
              const double mult = g.branch_scale * std::pow(static_cast<double>(s_.depth), -static_cast<double>(g.branch_exponent));
              if (mult != 0) {
                Args a;
                give(G[static_cast<std::size_t>(g.inputs[1])][static_cast<std::size_t>(s)],
                     nonlin(name + "_br", mul(constant(mult), a.arg(gy.id)), a, gy.init, std::nullopt, P0(gy), ParityParts()));
              }
              break;
            }
          }
        }
      }
    }
    // the updates: matrices get their rank-one terms; vectors, readout rows and biases new values
    for (std::size_t q = 0; q < new_rank1.size(); ++q) rank1_[static_cast<std::size_t>(new_rank1_param[q])].push_back(new_rank1[q]);
    const std::string next = "_t" + std::to_string(t + 1);
    for (std::size_t p = 0; p < np; ++p) {
      if (static_cast<int>(p) == tie_out_ || static_cast<int>(p) == tie_emb_) continue;  // tie_step below
      if (adaptive()) {
        adaptive_step(static_cast<int>(p), vgrad[p], rgrad[p], sgrad[p], sargs[p], next);
        continue;
      }
      if (!vgrad[p].terms.empty() || P(static_cast<int>(p)).kind == TensorKind::vector_like)
        vec_[p] = updated(static_cast<int>(p), vec_[p], vgrad[p], ident(P(static_cast<int>(p)).name) + next);
      for (int k = 0; k < s_.output_dim && !rows_[p].empty(); ++k)
        rows_[p][static_cast<std::size_t>(k)] = updated(static_cast<int>(p), rows_[p][static_cast<std::size_t>(k)], rgrad[p][static_cast<std::size_t>(k)],
                                                        ident(P(static_cast<int>(p)).name) + "_row" + std::to_string(k + 1) + next, false);
      for (int k = 0; k < s_.output_dim && !scal_[p].empty(); ++k) {
        Val& b = scal_[p][static_cast<std::size_t>(k)];
        auto& terms = sgrad[p][static_cast<std::size_t>(k)];
        if (terms.empty() && !decays()) continue;
        Args& a = sargs[p][static_cast<std::size_t>(k)];
        ExprPtr e = decayed(static_cast<int>(p), 1, a, a.arg(b.id));
        S d = smax(plus(b.delta, decay_growth(static_cast<int>(p), 1)), plus(b.init, decay_change(static_cast<int>(p), 1)));
        if (!terms.empty()) {
          e = add(e, mul(mul(constant(-lr()), a.arg(width(upd(static_cast<int>(p))))), balanced_sum(terms)));
          d = smax(d, S(upd(static_cast<int>(p))));
        }
        b = scalar(ident(P(static_cast<int>(p)).name) + "_k" + std::to_string(k + 1) + next, e, a, b.init, d);
      }
    }
    if (tie_out_ >= 0) tie_step(t, rgrad[static_cast<std::size_t>(tie_out_)], next);
  }

  // v_{t+1} = v_t − η n^{-c-2a} Σ grads (sizes: the change grows by n^{-c-2a} |grad|).
  // With decoupled weight decay v_{t+1} = ρ v_t − …: the change also gets (ρ − 1) v_0 (size init + r), counted in
  // the delta unless decay_in_delta is false (readout rows: the readout adds it as a term of its own, CLT on x_0).
  Val updated(int p, const Val& cur, VecGrad& g, const std::string& name, bool decay_in_delta = true) {
    if (g.terms.empty() && (!decays() || cur.zero())) return cur;
    std::vector<ExprPtr> es;
    S gs;
    ParityParts pg;
    for (const auto& [e, v] : g.terms) {
      es.push_back(e);
      gs = smax(gs, v.now());
      pg = parity_join(pg, Pnow(v));
    }
    Args& a = g.a;
    ExprPtr e = es.empty() ? nullptr : mul(mul(constant(-lr()), a.arg(width(upd(p)))), balanced_sum(es));
    if (!cur.zero()) e = e ? add(decayed(p, 1, a, a.arg(cur.id)), e) : decayed(p, 1, a, a.arg(cur.id));
    const S d = smax(smax(plus(cur.delta, decay_growth(p, 1)), decay_in_delta ? plus(cur.init, decay_change(p, 1)) : S()), plus(gs, upd(p)));
    ParityParts pd = parity_join(parity_shift(Pd(cur), S(decay_growth(p, 1))), parity_shift(pg, S(upd(p))));
    if (decay_in_delta) pd = parity_join(pd, parity_shift(P0(cur), decay_change(p, 1)));
    return nonlin(name, e, a, cur.init, d, P0(cur), pd);
  }

  void attention_backward(int v, int t, int i, const std::vector<Val>& x, std::vector<std::vector<Grad>>& G,
                          std::vector<Rank1>& nr, std::vector<int>& np, const std::string& base) {
    const GraphNode& g = s_.nodes[static_cast<std::size_t>(v)];
    const int pq = g.params[0], pk = g.params[1], pv = g.params[2], po = g.params[3];
    const int in = g.inputs[0], H = g.heads;
    const bool inv_d = g.logit_scale == LogitScale::inverse_d;
    const Rational e = inv_d ? Rational(0) : kHalf;
    const double kappa = inv_d ? H : std::sqrt(static_cast<double>(H));
    const AttnState& st = attn_.at({v, i});
    const auto& masks = masks_[v];
    auto mask = [&](Args& a, int h, ExprPtr term) { return H > 1 ? mul(a.arg(masks[static_cast<std::size_t>(h)].id), term) : term; };
    std::vector<Val> gz(static_cast<std::size_t>(S_));
    for (int s = 0; s < S_; ++s) {
      const std::string ps = "_p" + std::to_string(s + 1);
      const Val gy = gather(G[static_cast<std::size_t>(v)][static_cast<std::size_t>(s)], base + ps + "_sum");
      if (gy.zero()) continue;
      const Val& zs = st.z[static_cast<std::size_t>(s)];
      if (!zs.zero()) {
        nr.push_back(Rank1{t, gy, now_val(zs), i, s});
        np.push_back(po);
      }
      gz[static_cast<std::size_t>(s)] = apply(po, t, gy, true, base + "_gz" + ps);
    }
    std::vector<Args> aq(static_cast<std::size_t>(S_)), ak(static_cast<std::size_t>(S_)), av(static_cast<std::size_t>(S_));
    std::vector<std::vector<std::pair<ExprPtr, Val>>> tq(static_cast<std::size_t>(S_)), tk(static_cast<std::size_t>(S_)), tv(static_cast<std::size_t>(S_));
    for (int s = 0; s < S_; ++s) {
      const Val& gzs = gz[static_cast<std::size_t>(s)];
      if (gzs.zero()) continue;
      const int last = g.causal ? s : S_ - 1;
      const std::string ps = "_p" + std::to_string(s + 1);
      for (int h = 0; h < H; ++h) {
        const auto& A = st.A[static_cast<std::size_t>(h)][static_cast<std::size_t>(s)];
        // gv_r += m_h A_{s,r} gz_s
        for (int r = 0; r <= last; ++r) {
          Args& a = av[static_cast<std::size_t>(r)];
          tv[static_cast<std::size_t>(r)].push_back({mask(a, h, mul(a.arg(A[static_cast<std::size_t>(r)].id), a.arg(gzs.id))), Val{-1, gzs.init, std::nullopt, P0(gzs), std::nullopt}});
        }
        if (last == 0) continue;  // one attended position: its weight is 1 and passes no gradient to q, k
        // dA_r = n avg(m_h gz_s v_r) (CLT at step 0: gz and v independent; LLN after), dℓ_r = A_r (dA_r − Σ A dA)
        std::vector<Val> dA;
        for (int r = 0; r <= last; ++r) {
          const Val& vr = st.v[static_cast<std::size_t>(r)];
          if (vr.zero()) {
            dA.push_back({});
            continue;
          }
          Args m;
          const S sz = parity_inner(P0(gzs), Pnow(vr), 0);  // the parity rule (at init gz and v are independent: CLT)
          const Val avg = moment("", mask(m, h, mul(m.arg(gzs.id), m.arg(vr.id))), m, sz, std::nullopt);
          Args a;
          dA.push_back(scalar(base + "_dA_h" + std::to_string(h + 1) + ps + "_r" + std::to_string(r + 1), mul(a.arg(width(Rational(1))), a.arg(avg.id)), a,
                              plus(sz, Rational(1)), std::nullopt));
        }
        S dAs;
        Args asum;
        std::vector<ExprPtr> mix;
        for (int r = 0; r <= last; ++r)
          if (!dA[static_cast<std::size_t>(r)].zero()) {
            dAs = smax(dAs, dA[static_cast<std::size_t>(r)].init);
            mix.push_back(mul(asum.arg(A[static_cast<std::size_t>(r)].id), asum.arg(dA[static_cast<std::size_t>(r)].id)));
          }
        if (mix.empty()) continue;
        const Val avgA = scalar(base + "_dAbar_h" + std::to_string(h + 1) + ps, balanced_sum(mix), asum, dAs, std::nullopt);
        for (int r = 0; r <= last; ++r) {
          if (dA[static_cast<std::size_t>(r)].zero()) continue;
          Args a;
          const Val dl = scalar(base + "_dl_h" + std::to_string(h + 1) + ps + "_r" + std::to_string(r + 1),
                                mul(a.arg(A[static_cast<std::size_t>(r)].id), sub(a.arg(dA[static_cast<std::size_t>(r)].id), a.arg(avgA.id))), a, dAs, std::nullopt);
          // ∂ℓ_{s,r}/∂q_s = κ n^{e-1} m_h k_r, ∂ℓ_{s,r}/∂k_r = κ n^{e-1} m_h q_s
          const Rational f = e - 1;
          const Val& kr = st.k[static_cast<std::size_t>(r)];
          const Val& qs = st.q[static_cast<std::size_t>(s)];
          if (!kr.zero()) {
            Args& b = aq[static_cast<std::size_t>(s)];
            tq[static_cast<std::size_t>(s)].push_back({mask(b, h, mul(mul(constant(kappa), b.arg(width(f))), mul(b.arg(dl.id), b.arg(kr.id)))),
                                                       Val{-1, plus(plus(dl.init, kr.now()), f), std::nullopt,
                                                           parity_shift(Pnow(kr), plus(dl.init, f)), std::nullopt}});
          }
          if (!qs.zero()) {
            Args& b = ak[static_cast<std::size_t>(r)];
            tk[static_cast<std::size_t>(r)].push_back({mask(b, h, mul(mul(constant(kappa), b.arg(width(f))), mul(b.arg(dl.id), b.arg(qs.id)))),
                                                       Val{-1, plus(plus(dl.init, qs.now()), f), std::nullopt,
                                                           parity_shift(Pnow(qs), plus(dl.init, f)), std::nullopt}});
          }
        }
      }
    }
    for (int s = 0; s < S_; ++s) {
      const std::string ps = "_p" + std::to_string(s + 1);
      const Val& xs = x[static_cast<std::size_t>(s)];
      const Val key = now_val(xs);
      const std::pair<int, std::pair<std::vector<std::pair<ExprPtr, Val>>*, Args*>> parts[3] = {
          {pq, {&tq[static_cast<std::size_t>(s)], &aq[static_cast<std::size_t>(s)]}},
          {pk, {&tk[static_cast<std::size_t>(s)], &ak[static_cast<std::size_t>(s)]}},
          {pv, {&tv[static_cast<std::size_t>(s)], &av[static_cast<std::size_t>(s)]}}};
      const char* nm[3] = {"_gq", "_gk", "_gv"};
      for (int k = 0; k < 3; ++k) {
        const Val gp = sum(base + nm[k] + ps, *parts[k].second.first, *parts[k].second.second);
        if (gp.zero()) continue;
        const Val gpv{gp.id, gp.init, std::nullopt, P0(gp), std::nullopt};
        if (!xs.zero()) {
          nr.push_back(Rank1{t, gpv, key, i, s});
          np.push_back(parts[k].first);
        }
        give(G[static_cast<std::size_t>(in)][static_cast<std::size_t>(s)], apply(parts[k].first, t, gpv, true, base + nm[k] + "_in" + ps));
      }
    }
  }

#include "tp/graph_unroll_adaptive.inc"
#include "tp/graph_unroll_tied.inc"

  struct AttnState {
    std::vector<Val> q, k, v, z;
    std::vector<std::vector<std::vector<Val>>> logits, A;  // [head][s][r]
  };

  const GraphSpec& s_;
  GraphUnrollOptions o_;
  int T_ = 0, m_ = 1, S_ = 1, cur_example_ = 0;
  ProgramBuilder b_;
  GraphUnrolled out_;
  std::vector<SizeExp> init_, delta_;
  std::map<Rational, ValueId> width_;
  std::vector<std::vector<ValueId>> u_;
  std::vector<ValueId> M_;
  std::vector<Val> vec_;
  std::vector<std::vector<Val>> rows_, scal_;
  std::vector<std::vector<Rank1>> rank1_;
  std::map<int, std::vector<Val>> masks_;
  std::map<int, ActivationProfile> profiles_, dprofiles_;
  std::map<std::tuple<int, int, int>, NormState> norm_;
  std::map<std::pair<int, int>, AttnState> attn_;
  std::map<std::pair<int, int>, std::vector<Val>> f_;
};

}  // namespace

std::string graph_unroll_unsupported(const GraphSpec& spec) {
  for (const auto& v : spec.nodes)
    if (v.op == GraphOp::attention && !v.head_dim_width)
      return "attention '" + v.name + "' has a fixed head dimension (" + std::to_string(v.head_dim) +
             "), so its number of heads n/" + std::to_string(v.head_dim) + " grows with n and each head's logit is "
             "an average over finitely many coordinates, not over n: that is not a NETSOR⊤ program, and the IR "
             "route does not unroll it (the graph calculus answers alone)";
  return "";
}

double graph_unroll_memory_estimate(const GraphSpec& s, int steps) {
  constexpr double bytes_per_term = 400, saturated = 1e16;
  const double m = s.positions > 0 ? static_cast<double>(s.train_x.rows() / s.positions) : 0.0, S = s.positions;
  double nodes = 0;
  for (const auto& v : s.nodes)  // attention: S logits, weights and their gradients per position and head
    nodes += v.op == GraphOp::attention ? 8.0 * S * std::max(1, v.head_dim_width ? v.heads : 1) : 1.0;
  double terms = 0, updates = 0;  // updates: rank-one terms of a matrix so far (examples × positions per step)
  for (int t = 0; t <= steps && terms * bytes_per_term < saturated; ++t) {
    terms += m * S * nodes * (2 + 2 * updates + s.input_dim);
    if (t == steps) break;
    terms += m * S * nodes * (4 + 2 * updates);
    updates += m * S;
  }
  return std::min(terms * bytes_per_term, saturated);
}

GraphSpec graph_representative_spec(const GraphSpec& spec) {
  GraphSpec r = spec;
  const Eigen::Index d = spec.train_x.cols(), S = spec.positions;
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(S, d);
  auto mark = [&](const Eigen::MatrixXd& m) {
    for (Eigen::Index i = 0; i < m.rows(); ++i)
      for (Eigen::Index j = 0; j < d; ++j)
        if (m(i, j) != 0) x(i % S, j) = 1.0;
  };
  mark(spec.train_x);
  mark(spec.eval_x);
  if (spec.train_x.rows() == 0) x.setOnes();  // no data: a generic example
  r.train_x = x;
  if (spec.training.loss == LossKind::cross_entropy && spec.train_y.rows() > 0) r.train_y = spec.train_y.topRows(1);
  else r.train_y = Eigen::MatrixXd::Ones(1, spec.train_y.cols() > 0 ? spec.train_y.cols() : spec.output_dim);
  r.eval_x = Eigen::MatrixXd(0, d);
  r.training.batch = BatchMode::full;
  r.training.batch_size = 0;
  return r;
}

GraphUnrolled unroll_graph(const GraphSpec& spec, const GraphUnrollOptions& options) {
  return GraphUnroller(spec, options).run();
}

GraphRouteComparison compare_graph_routes(const GraphSpec& spec, const GraphPhase& phase, const GraphUnrolled& ir) {
  GraphRouteComparison out;
  std::map<std::tuple<std::string, int, bool>, const PredictedSize*> graph;
  for (const auto& p : phase.sizes) graph[{p.node, p.step, p.delta}] = &p;
  auto text = [](const PredictedSize& p) { return p.vanishes ? std::string("0") : size_text(p.exponent); };
  bool stop = false;
  for (int t = 0; t <= ir.steps && !stop; ++t) {
    for (const auto& p : ir.sizes) {
      if (p.step != t) continue;
      const auto it = graph.find({p.node, p.step, p.delta});
      if (it == graph.end() || !it->second->known) continue;
      const PredictedSize& g = *it->second;
      ++out.compared;
      if (g.vanishes != p.vanishes || (!g.vanishes && g.exponent != p.exponent)) {
        out.agree = false;
        out.mismatches.push_back("'" + p.node + "' step " + std::to_string(t) + (p.delta ? " change" : " value") +
                                 ": graph calculus " + text(g) + ", IR " + text(p));
      }
      // past a blow-up neither route follows the dynamics (logits over one position cannot blow up)
      const bool one_position_logits = spec.positions == 1 && p.node.size() > 7 && p.node.compare(p.node.size() - 7, 7, ".logits") == 0;
      if (!one_position_logits && ((!g.vanishes && g.exponent > 0) || (!p.vanishes && p.exponent > 0))) {
        stop = true;
        break;
      }
    }
  }
  return out;
}

}  // namespace tp

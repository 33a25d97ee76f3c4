// See unroll.h for the program form (TP4 App. H.3–H.4).
#include "tp/unroll.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "tp/builder.h"
#include "tp/errors.h"

namespace tp {

std::string f_output_name(int step, bool eval, int point, int component, int output_dim) {
  std::string s = "f_t" + std::to_string(step) + (eval ? "_eval" : "_train") + std::to_string(point + 1);
  if (output_dim > 1) s += "_k" + std::to_string(component + 1);
  return s;
}

namespace {

// Collects operands for one expression: arg(v) returns the argument standing for value v.
class Operands {
 public:
  ExprPtr arg(ValueId v) {
    auto [it, added] = index_.emplace(v, static_cast<int>(ids_.size()));
    if (added) ids_.push_back(v);
    return argument(it->second);
  }
  const std::vector<ValueId>& ids() const { return ids_; }

 private:
  std::vector<ValueId> ids_;
  std::map<ValueId, int> index_;
};

// A sum collected term by term and built balanced (tp::balanced_sum): sums over thousands of data points or
// input coordinates stay shallow, so the recursive expression walkers cannot overflow the stack.
class Sum {
 public:
  void add(ExprPtr term) { terms_.push_back(std::move(term)); }
  bool empty() const { return terms_.empty(); }
  ExprPtr get() const { return balanced_sum(terms_); }

 private:
  std::vector<ExprPtr> terms_;
};

std::int64_t to_int64(const boost::multiprecision::cpp_int& v) {
  if (v > std::numeric_limits<std::int64_t>::max() || v < std::numeric_limits<std::int64_t>::min())
    throw std::invalid_argument("a width exponent's numerator or denominator does not fit in 64 bits");
  return static_cast<std::int64_t>(v);
}

// A rank-one update term of W^l at step s: vector `out` times avg(key · x) (hidden) or (ξ_key · ξ) (input).
struct UpdateTerm {
  ValueId out = -1;  ///< gh^l_{s,i} (forward use) — for the transposed use, the roles swap
  ValueId key = -1;  ///< x^{l-1}_{s,i} (hidden layers)
  int sample = -1;   ///< training point i (input layer: ξ_i)
};

class Unroller {
 public:
  Unroller(const NetworkSpec& spec, const UnrollOptions& options) : s_(spec), o_(options) {}

  UnrolledProgram run() {
    if (s_.abc.optimizer != Optimizer::sgd)
      throw std::invalid_argument(std::string("tp::unroll writes SGD training as a NETSOR⊤ program; ") +
                                  std::string(optimizer_name(s_.abc.optimizer)) +
                                  " processes the gradient matrix entrywise, which needs TP4b's NE⊗OR⊤ "
                                  "instruction (use 'tpc phase' for its exponents)");
    if (auto problem = network_problem(s_); !problem.empty()) throw std::invalid_argument(problem);
    check_budget();
    L_ = s_.depth;
    s0_x_.assign(static_cast<std::size_t>(L_) + 1, std::nullopt);
    dphi_ = derivative(s_.activation, 0);
    phi_profile_ = activation_profile(s_.activation);
    dphi_profile_ = activation_profile(dphi_);
    declare_parameters();
    columns_form_ = options_columns();
    column_.assign(static_cast<std::size_t>(s_.input_dim), -1);
    const int m = static_cast<int>(s_.train_x.rows()), k_eval = static_cast<int>(s_.eval_x.rows());
    out_.probe_is_eval = k_eval > 0;
    update_terms_.assign(static_cast<std::size_t>(L_) + 1, {});
    std::vector<std::vector<ValueId>> h0_probe;
    for (int t = 0; t <= s_.steps; ++t) {
      std::vector<Forward> train(static_cast<std::size_t>(m)), eval(static_cast<std::size_t>(k_eval));
      for (int i = 0; i < m; ++i) train[i] = forward(t, s_.train_x.row(i), "tr" + std::to_string(i + 1));
      for (int i = 0; i < k_eval; ++i) eval[i] = forward(t, s_.eval_x.row(i), "ev" + std::to_string(i + 1));
      for (int i = 0; i < m; ++i) output_f(t, false, i, train[i]);
      for (int i = 0; i < k_eval; ++i) output_f(t, true, i, eval[i]);
      const Forward& probe = out_.probe_is_eval ? eval[0] : train[0];
      if (o_.size_outputs) output_sizes(t, probe, h0_probe);
      record_exponents(t, probe);
      if (t < s_.steps) train_step(t, train);
    }
    out_.program = b_.finish();
    S_.resize(out_.program.size());
    D_.resize(out_.program.size());
    out_.size = std::move(S_);
    out_.delta = std::move(D_);
    if (!sizes_known_) {
      out_.exponents.clear();
      out_.exponents_unavailable = "the activation grows faster than any power, so sizes under a growing "
                                   "preactivation are not powers of n";
    }
    return std::move(out_);
  }

 private:
  struct Forward {
    std::vector<ValueId> h, x;  // index l = 1..L (0 unused)
    std::vector<ValueId> f;     // per output component
  };

  void check_budget() const {
    const double need = unroll_memory_estimate(s_, o_.input_layer);
    if (need <= o_.memory_budget_bytes) return;
    const double gib = 1024.0 * 1024.0 * 1024.0;
    auto figure = [&](double bytes) {
      char buf[32];
      std::snprintf(buf, sizeof buf, bytes < 1e6 * gib ? "%.1f GiB" : "%.1e GiB", bytes / gib);
      return std::string(buf);
    };
    const auto m = s_.train_x.rows(), k = s_.eval_x.rows();
    throw BudgetError("unrolling " + std::to_string(s_.steps) + " training step" + (s_.steps == 1 ? "" : "s") +
                      " on " + std::to_string(m) + " training and " + std::to_string(k) +
                      " evaluation points needs about " + figure(need) + " for the program (each step's forward pass "
                      "has a term per earlier update at every point: it grows like points x batch x steps^2), over "
                      "the memory budget of " + figure(o_.memory_budget_bytes) +
                      "; use fewer training points or steps, or a smaller batch" +
                      (o_.budget_flag.empty() ? "" : ", or raise " + o_.budget_flag));
  }

  // ---- parameters and factors ----
  void declare_parameters() {
    const int d = s_.input_dim;
    std::vector<std::string> names;
    for (int j = 0; j < d; ++j) names.push_back("u" + std::to_string(j + 1));
    for (int k = 0; k < s_.output_dim; ++k) names.push_back("v" + std::to_string(k + 1));
    if (s_.biases)
      for (int l = 1; l <= L_; ++l) names.push_back("beta" + std::to_string(l));
    const auto ids = b_.add_inputs(names, Eigen::MatrixXd::Identity(static_cast<Eigen::Index>(names.size()),
                                                                     static_cast<Eigen::Index>(names.size())));
    for (ValueId id : ids) set_size(id, Rational(0));
    u_.assign(ids.begin(), ids.begin() + d);
    vt_.assign(ids.begin() + d, ids.begin() + d + s_.output_dim);
    if (s_.biases) beta_.assign(ids.begin() + d + s_.output_dim, ids.end());
    beta_.insert(beta_.begin(), -1);  // index by layer
    M_.assign(static_cast<std::size_t>(L_) + 1, -1);
    for (int l = 2; l <= L_; ++l) M_[l] = b_.add_matrix("M" + std::to_string(l), 1.0);
    readout_bias_.assign(static_cast<std::size_t>(s_.output_dim), -1);
  }

  const Rational& a(int l) const { return s_.abc.a[static_cast<std::size_t>(l - 1)]; }
  const Rational& bb(int l) const { return s_.abc.b[static_cast<std::size_t>(l - 1)]; }
  const Rational& c(int l) const { return s_.abc.c_of(l - 1); }
  Rational e_out() const { return a(L_ + 1) + bb(L_ + 1); }

  ValueId width(const Rational& e) {
    auto it = width_.find(e);
    if (it != width_.end()) return it->second;
    std::string name = "n_pow_" + to_string(e);
    for (char& ch : name)
      if (ch == '-') ch = 'm';
      else if (ch == '/') ch = '_';
    const ValueId id = b_.add_width_power(name, to_int64(numerator(e)), to_int64(denominator(e)));
    set_size(id, e);
    width_.emplace(e, id);
    return id;
  }
  // The scalar factor of layer l's initial weights, and of its updates (κ without −η).
  Rational init_exponent(int l) const {
    if (l == 1) return -(a(1) + bb(1));
    return Rational(1, 2) - (a(l) + bb(l));
  }
  Rational update_exponent(int l) const {
    if (l == 1) return -c(1) - 2 * a(1) - e_out();
    return 1 - c(l) - 2 * a(l) - e_out();
  }
  // ρ_l^k for decoupled weight decay (nullopt without decay or for k = 0).
  ExprPtr decay_power(int l, int k, Operands& ops) {
    if (s_.weight_decay == 0 || k == 0) return nullptr;
    const auto key = std::make_pair(l, k);
    auto it = decay_.find(key);
    if (it == decay_.end()) {
      Operands o;
      ExprPtr rho = sub(constant(1.0), mul(constant(s_.lr * s_.weight_decay), o.arg(width(-c(l)))));
      ExprPtr e = pow(rho, constant(static_cast<double>(k)));
      const ValueId id = b_.add_scalar("rho" + std::to_string(l) + "_pow" + std::to_string(k), e, o.ids());
      it = decay_.emplace(key, id).first;
    }
    return ops.arg(it->second);
  }
  // avg(x_s · x_t) for two forward vectors of layer l (steps s, t) = avg(x_0 x_0) + avg(Δx_s Δx_t) (both
  // LLN) + avg(x_0 Δx_t) + avg(Δx_s x_0). A first-step change Δx_1 is odd in the readout v (the backward
  // pass starts from χ v, and v is independent of every step-0 forward vector), so it is uncorrelated with
  // the step-0 features: those cross terms are CLT-sized (−1/2). From step 2 on the updated readout
  // correlates them (LLN).
  SizeExp forward_dot_size(int l, int s, ValueId key, int t, ValueId y) const {
    const SizeExp s0 = s0_x_[static_cast<std::size_t>(l)];
    SizeExp r = size_max(size_plus(s0, s0), size_plus(D(key), D(y)));
    r = size_max(r, size_plus(size_plus(s0, D(y)), t <= 1 ? Rational(-1, 2) : Rational(0)));
    r = size_max(r, size_plus(size_plus(D(key), s0), s <= 1 ? Rational(-1, 2) : Rational(0)));
    return r;
  }

  // The change ρ^t − 1 ≈ −t η λ n^{-c_l} of a decayed initial term of size `init`.
  SizeExp decay_change(int l, int t, const SizeExp& init) const {
    if (s_.weight_decay == 0 || t == 0) return std::nullopt;
    return size_plus(init, -c(l));
  }
  ExprPtr scaled(ExprPtr e, ExprPtr factor) { return factor ? mul(std::move(e), std::move(factor)) : e; }

  // ---- forward ----
  ValueId add_bias(ValueId h, int l, int t, const std::string& name) {
    if (!s_.biases) return h;
    Operands ops;
    ExprPtr e = add(ops.arg(h), ops.arg(beta_[l]));
    const ValueId id = b_.add_nonlin(name, e, ops.ids());
    set_size(id, size_max(S(h), S(beta_[l])), size_max(D(h), D(beta_[l])));
    return id;
  }

  Forward forward(int t, const Eigen::RowVectorXd& xi, const std::string& tag) {
    Forward fw;
    fw.h.assign(static_cast<std::size_t>(L_) + 1, -1);
    fw.x = fw.h;
    const std::string ts = "_t" + std::to_string(t) + "_" + tag;
    // Layer 1: n^{-(a_1+b_1)} ρ^t Σ_j ξ_j u_j + Σ_s ρ^{t-1-s} κ_1 Σ_i gh^1_{s,i} (ξ_i · ξ) + β^1, either spelled
    // out as that sum over every earlier update (sums form) or as Σ_j ξ_j c_{j,t} over the columns c_{j,t} = W^1_t e_j
    // (columns form, train_step). The size exponents are those of the sum either way (same loop), so the phase
    // analysis does not depend on the form.
    {
      Operands ops;
      Sum init_terms, column_terms;
      for (int j = 0; j < s_.input_dim; ++j) {
        if (xi(j) == 0) continue;
        if (columns_form_ && column_[j] >= 0) column_terms.add(mul(constant(xi(j)), ops.arg(column_[j])));
        else init_terms.add(mul(constant(xi(j)), ops.arg(u_[j])));
      }
      const ExprPtr init = init_terms.get();
      Sum e;
      if (init) e.add(scaled(mul(init, ops.arg(width(init_exponent(1)))), decay_power(1, t, ops)));
      if (!column_terms.empty()) e.add(column_terms.get());
      bool any_init = false;
      for (int j = 0; j < s_.input_dim; ++j) any_init = any_init || xi(j) != 0;
      SizeExp size = any_init ? SizeExp(init_exponent(1)) : std::nullopt, change = decay_change(1, t, size);
      for (const auto& [step, terms] : update_terms_[1]) {
        if (step >= t) continue;
        if (columns_form_) {  // the program reads the columns; only the size of the sum is needed
          change = size_max(change, size_plus(largest_touching(step, terms, xi), update_exponent(1)));
          continue;
        }
        Sum inner;
        for (const UpdateTerm& u : terms) {
          const double dot = s_.train_x.row(u.sample).dot(xi);
          if (dot == 0) continue;
          inner.add(mul(constant(dot), ops.arg(u.out)));
          change = size_max(change, size_plus(S(u.out), update_exponent(1)));
        }
        if (!inner.empty())
          e.add(scaled(mul(mul(constant(-s_.lr), ops.arg(width(update_exponent(1)))), inner.get()),
                       decay_power(1, t - 1 - step, ops)));
      }
      size = size_max(size, change);
      if (s_.biases) {
        e.add(ops.arg(beta_[1]));
        size = size_max(size, S(beta_[1]));
        change = size_max(change, D(beta_[1]));
      }
      if (e.empty()) e.add(mul(constant(0.0), ops.arg(u_[0])));  // ξ = 0 without bias: h^1 = 0
      fw.h[1] = b_.add_nonlin("h1" + ts, e.get(), ops.ids());
      set_size(fw.h[1], size, change);
      fw.x[1] = b_.add_nonlin("x1" + ts, s_.activation, {fw.h[1]});
      set_activation_size(fw.x[1], fw.h[1]);
    }
    for (int l = 2; l <= L_; ++l) {
      const ValueId wx = apply_weight(l, t, fw.x[l - 1], false, "Wx" + std::to_string(l) + ts);
      fw.h[l] = add_bias(wx, l, t, "h" + std::to_string(l) + ts + "b");
      fw.x[l] = b_.add_nonlin("x" + std::to_string(l) + ts, s_.activation, {fw.h[l]});
      set_activation_size(fw.x[l], fw.h[l]);
    }
    if (t == 0)
      for (int l = 1; l <= L_; ++l) s0_x_[static_cast<std::size_t>(l)] = S(fw.x[l]);
    // f_k = n^{1-e} avg(ṽ_k x^L) (+ readout bias).
    for (int k = 0; k < s_.output_dim; ++k) {
      Operands m;
      ExprPtr prod = mul(m.arg(vt_[k]), m.arg(fw.x[L_]));
      const ValueId avg = b_.add_moment("vx" + std::to_string(k + 1) + ts, prod, m.ids());
      // avg(ṽ_t x_t) = avg(v x_0) [independent: CLT] + avg(v Δx) + avg(Δṽ x_t) [correlated: LLN].
      const ValueId x = fw.x[L_];
      const SizeExp change = size_max(size_plus(Rational(0), D(x)), size_plus(D(vt_[k]), S(x)));
      set_size(avg, size_max(size_plus(S(x), Rational(-1, 2)), change), t > 0 ? change : std::nullopt);
      Operands ops;
      ExprPtr f = mul(ops.arg(width(1 - e_out())), ops.arg(avg));
      SizeExp fs = size_plus(S(avg), 1 - e_out()), fd = size_plus(D(avg), 1 - e_out());
      if (readout_bias_[k] >= 0) {
        f = add(f, ops.arg(readout_bias_[k]));
        fs = size_max(fs, S(readout_bias_[k]));
        fd = size_max(fd, D(readout_bias_[k]));
      }
      fw.f.push_back(b_.add_scalar("f" + std::to_string(k + 1) + ts, f, ops.ids()));
      set_size(fw.f.back(), fs, fd);
    }
    return fw;
  }

  // W^l_t y (or (W^l_t)ᵀ y, normalized by n^e): n^{1/2-(a+b)} ρ^t M y + Σ_s ρ^{t-1-s} κ_l Σ_i out·avg(key·y).
  ValueId apply_weight(int l, int t, ValueId y, bool transposed, const std::string& name) {
    const ValueId my = b_.add_matmul(name + "_M", M_[l], y, transposed);
    Operands ops;
    set_size(my, S(y), D(y));  // a Gaussian matrix preserves sizes (CLT)
    Sum e;
    e.add(scaled(mul(ops.arg(width(init_exponent(l))), ops.arg(my)), decay_power(l, t, ops)));
    const SizeExp init = size_plus(S(my), init_exponent(l));
    SizeExp change = size_max(size_plus(D(my), init_exponent(l)), decay_change(l, t, init));
    for (const auto& [step, terms] : update_terms_[l]) {
      if (step >= t) continue;
      Sum inner;
      for (const UpdateTerm& u : terms) {
        const ValueId out = transposed ? u.key : u.out, key = transposed ? u.out : u.key;
        Operands m;
        ExprPtr prod = mul(m.arg(key), m.arg(y));
        const ValueId dot = b_.add_moment("", prod, m.ids());
        set_size(dot, transposed ? size_plus(S(key), S(y)) : forward_dot_size(l - 1, step, key, t, y));
        inner.add(mul(ops.arg(out), ops.arg(dot)));
        change = size_max(change, size_plus(size_plus(S(out), S(dot)), update_exponent(l)));
      }
      e.add(scaled(mul(mul(constant(-s_.lr), ops.arg(width(update_exponent(l)))), inner.get()),
                   decay_power(l, t - 1 - step, ops)));
    }
    const ValueId id = b_.add_nonlin(name, e.get(), ops.ids());
    set_size(id, size_max(init, change), change);
    return id;
  }

  // ---- the exponent table at the probe point (quantity names as in tp::classify_mlp) ----
  void record_exponents(int t, const Forward& fw) {
    auto put = [&](const std::string& q, const SizeExp& e, const std::string& meaning) {
      if (e) out_.exponents.push_back({q, *e, meaning});  // an exactly-zero quantity has no exponent
    };
    const std::string first = t == 1 ? "1" : "t";
    if (t == 0) {
      for (int l = 1; l <= L_; ++l)
        put("h^" + std::to_string(l) + "_0", S(fw.h[l]), "layer " + std::to_string(l) + " preactivation at init");
      put("f_0", S(fw.f[0]), "output at init");
      return;
    }
    if (t > 2) return;
    for (int l = 1; l <= L_; ++l)
      put("Δh^" + std::to_string(l) + "_" + first, D(fw.h[l]),
          "change of layer " + std::to_string(l) + "'s features " + (t == 1 ? "after the first step" : "(t = 2)"));
    put("Δf_" + first, D(fw.f[0]), t == 1 ? "change of the output after the first step" : "change of the output (t = 2)");
  }

  // ---- outputs ----
  void output_f(int t, bool eval, int point, const Forward& fw) {
    for (int k = 0; k < s_.output_dim; ++k) {
      b_.add_output(f_output_name(t, eval, point, k, s_.output_dim), fw.f[k]);
      UnrolledOutput o;
      o.kind = UnrolledOutput::Kind::f;
      o.step = t;
      o.eval = eval;
      o.point = point;
      o.component = k;
      out_.outputs.push_back(o);
    }
  }

  void output_sizes(int t, const Forward& fw, std::vector<std::vector<ValueId>>& h0) {
    if (t == 0) h0.push_back(fw.h);
    for (int l = 1; l <= L_; ++l) {
      const std::string ls = std::to_string(l), ts = std::to_string(t);
      auto add = [&](UnrolledOutput::Kind kind, const std::string& name, ExprPtr e, std::vector<ValueId> ops) {
        const ValueId id = b_.add_moment(name, std::move(e), std::move(ops));
        b_.add_output(name, id);
        UnrolledOutput o;
        o.kind = kind;
        o.step = t;
        o.layer = l;
        out_.outputs.push_back(o);
      };
      add(UnrolledOutput::Kind::h_sq, "h" + ls + "_sq_t" + ts, mul(argument(0), argument(0)), {fw.h[l]});
      add(UnrolledOutput::Kind::x_sq, "x" + ls + "_sq_t" + ts, mul(argument(0), argument(0)), {fw.x[l]});
      if (t > 0) {
        ExprPtr d = sub(argument(0), argument(1));
        add(UnrolledOutput::Kind::dh_sq, "dh" + ls + "_sq_t" + ts, mul(d, d), {fw.h[l], h0[0][l]});
      }
    }
  }

  // ---- one SGD step on the batch of step t ----
  std::vector<int> batch(int t) const {
    const int m = static_cast<int>(s_.train_x.rows());
    std::vector<int> idx;
    switch (s_.batch) {
      case BatchMode::full:
        for (int i = 0; i < m; ++i) idx.push_back(i);
        break;
      case BatchMode::per_sample: idx.push_back(t % m); break;
      case BatchMode::minibatch:
        for (int q = 0; q < s_.batch_size; ++q) idx.push_back((t * s_.batch_size + q) % m);
        break;
    }
    return idx;
  }

  // χ_ik = ∂ℓ/∂f_k at sample i, divided by the batch size.
  std::vector<ValueId> loss_gradient(int t, int i, const Forward& fw, int batch_size) {
    const std::string ts = "_t" + std::to_string(t) + "_tr" + std::to_string(i + 1);
    std::vector<ValueId> chi;
    const double inv_b = 1.0 / batch_size;
    const bool class_index = s_.loss == LossKind::cross_entropy && s_.train_y.cols() == 1 && s_.output_dim > 1;
    auto target = [&](int k) {
      if (class_index) return s_.train_y(i, 0) == k ? 1.0 : 0.0;
      return s_.train_y(i, k);
    };
    for (int k = 0; k < s_.output_dim; ++k) {
      Operands ops;
      ExprPtr g;
      if (s_.loss == LossKind::mse) {
        g = sub(ops.arg(fw.f[k]), constant(target(k)));
      } else if (s_.output_dim == 1) {
        // Binary cross-entropy on the logit f with label y ∈ [0, 1]: ∂ℓ/∂f = σ(f) − y.
        g = sub(call(Function::sigmoid, ops.arg(fw.f[k])), constant(target(k)));
      } else {
        // softmax_k = 1 / Σ_j exp(f_j − f_k) (stable for large logits).
        Sum denom;
        for (int j = 0; j < s_.output_dim; ++j)
          denom.add(j == k ? constant(1.0) : call(Function::exp, sub(ops.arg(fw.f[j]), ops.arg(fw.f[k]))));
        g = sub(div(constant(1.0), denom.get()), constant(target(k)));
      }
      g = mul(constant(inv_b), g);
      chi.push_back(b_.add_scalar("chi" + std::to_string(k + 1) + ts, g, ops.ids()));
      // mse: f − y (the target is Θ(1) unless 0); cross-entropy: a bounded probability minus the label.
      set_size(chi.back(), s_.loss == LossKind::mse ? size_max(S(fw.f[k]), target(k) != 0 ? SizeExp(Rational(0)) : std::nullopt)
                                                    : SizeExp(Rational(0)));
    }
    return chi;
  }

  // Columns form of the input layer: c_{j,t+1} = ρ c_{j,t} − η n^{-c_1-2a_1-e} Σ_i ξ_{i,j} gh^1_{t,i}, starting from
  // c_{j,0} = n^{-(a_1+b_1)} u_j (kept implicit: column_[j] = -1 while no sample of the batches so far has ξ_j ≠ 0,
  // and then the forward pass uses n^{-(a_1+b_1)} ρ^t u_j directly).
  void update_columns(int t, const std::vector<int>& idx, const std::vector<std::vector<ValueId>>& gh) {
    const Rational ue = update_exponent(1);
    for (int j = 0; j < s_.input_dim; ++j) {
      Operands ops;
      Sum upd;
      SizeExp change;
      for (std::size_t q = 0; q < idx.size(); ++q) {
        const double xij = s_.train_x(idx[q], j);
        if (xij == 0) continue;
        upd.add(mul(constant(xij), ops.arg(gh[q][1])));
        change = size_max(change, size_plus(S(gh[q][1]), ue));
      }
      if (upd.empty() && (column_[j] < 0 || s_.weight_decay == 0)) continue;  // unchanged (or still implicit)
      ExprPtr prev;
      SizeExp size = change, delta = change;
      if (column_[j] >= 0) {
        prev = scaled(ops.arg(column_[j]), decay_power(1, 1, ops));
        size = size_max(size, S(column_[j]));
        delta = size_max(delta, D(column_[j]));
      } else {
        prev = scaled(mul(ops.arg(width(init_exponent(1))), ops.arg(u_[j])), decay_power(1, t + 1, ops));
        size = size_max(size, SizeExp(init_exponent(1)));
        delta = size_max(delta, decay_change(1, t + 1, SizeExp(init_exponent(1))));
      }
      ExprPtr e = upd.empty() ? prev : add(prev, mul(mul(constant(-s_.lr), ops.arg(width(ue))), upd.get()));
      column_[j] = b_.add_nonlin("W1c" + std::to_string(j + 1) + "_t" + std::to_string(t + 1), e, ops.ids());
      set_size(column_[j], size, delta);
    }
  }

  void train_step(int t, const std::vector<Forward>& train) {
    const std::vector<int> idx = batch(t);
    const int bsize = static_cast<int>(idx.size());
    std::vector<std::vector<ValueId>> chis;
    std::vector<std::vector<ValueId>> gh(idx.size(), std::vector<ValueId>(static_cast<std::size_t>(L_) + 1, -1));
    for (std::size_t q = 0; q < idx.size(); ++q) {
      const int i = idx[q];
      const Forward& fw = train[static_cast<std::size_t>(i)];
      const std::string ts = "_t" + std::to_string(t) + "_tr" + std::to_string(i + 1);
      chis.push_back(loss_gradient(t, i, fw, bsize));
      // gx^L = Σ_k χ_k ṽ_k; gh^L = gx^L ⊙ φ'(h^L).
      Operands ops;
      Sum gx;
      for (int k = 0; k < s_.output_dim; ++k) gx.add(mul(ops.arg(chis.back()[k]), ops.arg(vt_[k])));
      ExprPtr dphi_h = substitute(dphi_, {ops.arg(fw.h[L_])});
      ExprPtr ghe = mul(gx.get(), dphi_h);
      gh[q][L_] = b_.add_nonlin("gh" + std::to_string(L_) + ts, ghe, ops.ids());
      SizeExp gxs;
      for (int k = 0; k < s_.output_dim; ++k) gxs = size_max(gxs, size_plus(S(chis.back()[k]), S(vt_[k])));
      set_size(gh[q][L_], size_plus(gxs, dphi_size(S(fw.h[L_]))));
      for (int l = L_; l >= 2; --l) {
        const ValueId gxl = apply_weight(l, t, gh[q][l], true, "gx" + std::to_string(l - 1) + ts);
        Operands o2;
        ExprPtr gh_l = mul(o2.arg(gxl), substitute(dphi_, {o2.arg(fw.h[l - 1])}));
        gh[q][l - 1] = b_.add_nonlin("gh" + std::to_string(l - 1) + ts, gh_l, o2.ids());
        set_size(gh[q][l - 1], size_plus(S(gxl), dphi_size(S(fw.h[l - 1]))));
      }
    }
    // Record the rank-one updates of W^1..W^L made at step t.
    for (std::size_t q = 0; q < idx.size(); ++q) {
      const int i = idx[q];
      update_terms_[1][t].push_back(UpdateTerm{gh[q][1], -1, i});
      for (int l = 2; l <= L_; ++l) update_terms_[l][t].push_back(UpdateTerm{gh[q][l], train[i].x[l - 1], i});
    }
    if (columns_form_) update_columns(t, idx, gh);
    const std::string next = "_t" + std::to_string(t + 1);
    // ṽ_{k,t+1} = ρ ṽ_{k,t} − η n^{b−a−c} Σ_i χ_ik x^L_i.
    for (int k = 0; k < s_.output_dim; ++k) {
      Operands ops;
      ExprPtr e = scaled(ops.arg(vt_[k]), decay_power(L_ + 1, 1, ops));
      Sum upd;
      for (std::size_t q = 0; q < idx.size(); ++q) upd.add(mul(ops.arg(chis[q][k]), ops.arg(train[idx[q]].x[L_])));
      const Rational ue = bb(L_ + 1) - a(L_ + 1) - c(L_ + 1);
      e = add(e, mul(mul(constant(-s_.lr), ops.arg(width(ue))), upd.get()));
      SizeExp change = size_max(D(vt_[k]), decay_change(L_ + 1, 1, S(vt_[k])));
      for (std::size_t q = 0; q < idx.size(); ++q)
        change = size_max(change, size_plus(size_plus(S(chis[q][k]), S(train[idx[q]].x[L_])), ue));
      const SizeExp size = size_max(S(vt_[k]), change);
      vt_[k] = b_.add_nonlin("v" + std::to_string(k + 1) + next, e, ops.ids());
      set_size(vt_[k], size, change);
    }
    if (!s_.biases) return;
    // β^l_{t+1} = ρ β^l_t − η n^{-c_1-2a_1-e} Σ_i gh^l_i; readout bias b_k −= η Σ_i χ_ik.
    for (int l = 1; l <= L_; ++l) {
      Operands ops;
      ExprPtr e = scaled(ops.arg(beta_[l]), decay_power(1, 1, ops));
      Sum upd;
      for (std::size_t q = 0; q < idx.size(); ++q) upd.add(ops.arg(gh[q][l]));
      e = add(e, mul(mul(constant(-s_.lr), ops.arg(width(update_exponent(1)))), upd.get()));
      SizeExp change = size_max(D(beta_[l]), decay_change(1, 1, S(beta_[l])));
      for (std::size_t q = 0; q < idx.size(); ++q) change = size_max(change, size_plus(S(gh[q][l]), update_exponent(1)));
      const SizeExp size = size_max(S(beta_[l]), change);
      beta_[l] = b_.add_nonlin("beta" + std::to_string(l) + next, e, ops.ids());
      set_size(beta_[l], size, change);
    }
    for (int k = 0; k < s_.output_dim; ++k) {
      Operands ops;
      ExprPtr e = readout_bias_[k] >= 0 ? ops.arg(readout_bias_[k]) : constant(0.0);
      if (readout_bias_[k] >= 0 && s_.weight_decay != 0) e = mul(e, constant(1.0 - s_.lr * s_.weight_decay));
      Sum upd;
      for (std::size_t q = 0; q < idx.size(); ++q) upd.add(ops.arg(chis[q][k]));
      e = sub(e, mul(constant(s_.lr), upd.get()));
      SizeExp change = readout_bias_[k] >= 0 ? D(readout_bias_[k]) : std::nullopt;
      for (std::size_t q = 0; q < idx.size(); ++q) change = size_max(change, S(chis[q][k]));
      readout_bias_[k] = b_.add_scalar("bias_out" + std::to_string(k + 1) + next, e, ops.ids());
      set_size(readout_bias_[k], change, change);
    }
  }

  const NetworkSpec& s_;
  UnrollOptions o_;
  int L_ = 1;
  ExprPtr dphi_;
  ProgramBuilder b_;
  UnrolledProgram out_;
  std::vector<ValueId> u_, vt_, beta_, M_, readout_bias_;
  std::map<Rational, ValueId> width_;
  // Size exponents per value (see UnrolledProgram::size / delta).
  std::vector<SizeExp> S_, D_;
  ActivationProfile phi_profile_, dphi_profile_;
  std::vector<SizeExp> s0_x_;  // size of x^l_0 (index l), set by the first forward pass
  bool sizes_known_ = true;
  void set_size(ValueId id, SizeExp s, SizeExp d = std::nullopt) {
    if (S_.size() <= static_cast<std::size_t>(id)) {
      S_.resize(static_cast<std::size_t>(id) + 1);
      D_.resize(static_cast<std::size_t>(id) + 1);
    }
    S_[id] = std::move(s);
    D_[id] = std::move(d);
  }
  SizeExp S(ValueId id) const { return static_cast<std::size_t>(id) < S_.size() ? S_[id] : std::nullopt; }
  SizeExp D(ValueId id) const { return static_cast<std::size_t>(id) < D_.size() ? D_[id] : std::nullopt; }
  SizeExp phi_size(const SizeExp& h) {
    bool known = true;
    SizeExp r = activation_size(phi_profile_, h, known);
    sizes_known_ = sizes_known_ && known;
    return r;
  }
  SizeExp dphi_size(const SizeExp& h) {
    bool known = true;
    SizeExp r = activation_size(dphi_profile_, h, known);
    sizes_known_ = sizes_known_ && known;
    return r;
  }
  // x = φ(h): Δx ≈ φ'(h) Δh while Δh is no larger than h, else Δx is as large as φ(h_t).
  void set_activation_size(ValueId x, ValueId h) {
    const SizeExp sh = S(h), dh = D(h);
    SizeExp dx;
    if (dh) dx = (sh && *dh <= *sh) ? size_plus(dphi_size(sh), dh) : phi_size(dh);
    set_size(x, phi_size(sh), dx);
  }
  // Columns form: the largest size of gh^1_{step,i} over the step's samples i with ξ_i·ξ ≠ 0 (what the sums form's
  // loop takes). The samples are grouped by size, largest first, so a point usually costs one dot product per step
  // instead of one per sample with a rational comparison each (60,000 points in one full batch: 3.6e9 of them).
  SizeExp largest_touching(int step, const std::vector<UpdateTerm>& terms, const Eigen::RowVectorXd& xi) {
    auto [it, fresh] = size_groups_.try_emplace(step);
    auto& groups = it->second;
    if (fresh) {
      for (const UpdateTerm& u : terms) {
        const SizeExp s = S(u.out);
        if (!s) continue;
        auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& x) { return x.first == *s; });
        if (g == groups.end()) groups.push_back({*s, {u.sample}});
        else g->second.push_back(u.sample);
      }
      std::sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    }
    for (const auto& [size, samples] : groups)
      for (int i : samples)
        if (s_.train_x.row(i).dot(xi) != 0) return size;
    return std::nullopt;
  }
  std::map<int, std::vector<std::pair<Rational, std::vector<int>>>> size_groups_;  // per step, largest size first
  bool options_columns() const {
    switch (o_.input_layer) {
      case InputLayerForm::columns: return true;
      case InputLayerForm::sums: return false;
      case InputLayerForm::automatic: break;
    }
    return input_columns_pay(s_);
  }
  bool columns_form_ = false;
  std::vector<ValueId> column_;  // columns form: c_{j,t} of the current step, or -1 while implicit (update_columns)
  std::map<std::pair<int, int>, ValueId> decay_;
  // update_terms_[l][s]: the rank-one terms of ΔW^l made at step s.
  std::vector<std::map<int, std::vector<UpdateTerm>>> update_terms_;
};

}  // namespace

namespace {

double batch_size(const NetworkSpec& s) {
  return s.batch == BatchMode::full ? static_cast<double>(s.train_x.rows())
         : s.batch == BatchMode::per_sample ? 1.0 : static_cast<double>(s.batch_size);
}

}  // namespace

bool input_columns_pay(const NetworkSpec& s) {
  // Sums form: h^1_t at each point has t·B update terms, Σ_{t=1..T} points·t·B in all. Columns form: d columns of
  // 1 + B terms per step, T·d·(1 + B). Equal counts go to columns (d tangent sources per h^1 instead of t·B).
  const double points = static_cast<double>(s.train_x.rows() + s.eval_x.rows()), B = batch_size(s);
  return points * B * (static_cast<double>(s.steps) + 1) / 2 >= static_cast<double>(s.input_dim) * (1 + B);
}

double unroll_memory_estimate(const NetworkSpec& s, InputLayerForm form) {
  constexpr double bytes_per_term = 400, saturated = 1e16;
  const double points = static_cast<double>(s.train_x.rows() + s.eval_x.rows()), d = s.input_dim, L = s.depth,
               d_o = s.output_dim;
  const double batch = batch_size(s);
  const bool columns = form == InputLayerForm::columns || (form == InputLayerForm::automatic && input_columns_pay(s));
  // Step t has U_t = t·batch rank-one terms in each ΔW^l so far. Forward at steps 0..T: Σ_j ξ_j u_j (columns:
  // Σ_j ξ_j c_{j,t}; sums: and a term per earlier update), W^l_t x per hidden layer, f. Backward and the updates at
  // steps 0..T−1, and the input layer's columns. Summed in closed form (Σ_t U_t), so a billion steps cost nothing.
  const double T = s.steps, sumU_fwd = batch * T * (T + 1) / 2, sumU_bwd = batch * (T - 1) * T / 2;
  double terms = points * ((T + 1) * (d + 2 + 2 * d_o + (L - 1) * 2) + 2 * (L - 1) * sumU_fwd + (columns ? 0 : 2 * sumU_fwd));
  terms += T * batch * (d_o * d_o + 2 * d_o + 3 * L) + batch * L * 2 * sumU_bwd;
  if (columns) terms += T * d * (1 + batch);
  return std::min(terms * bytes_per_term, saturated);
}

UnrolledProgram unroll(const NetworkSpec& spec, const UnrollOptions& options) { return Unroller(spec, options).run(); }

}  // namespace tp

// See unroll.h for the program form (TP4 App. H.3–H.4).
#include "tp/unroll.h"

#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "tp/builder.h"

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

ExprPtr sum(ExprPtr acc, ExprPtr term) { return acc ? add(std::move(acc), std::move(term)) : std::move(term); }

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
    L_ = s_.depth;
    dphi_ = derivative(s_.activation, 0);
    declare_parameters();
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
      if (o_.size_outputs) output_sizes(t, out_.probe_is_eval ? eval[0] : train[0], h0_probe);
      if (t < s_.steps) train_step(t, train);
    }
    out_.program = b_.finish();
    return std::move(out_);
  }

 private:
  struct Forward {
    std::vector<ValueId> h, x;  // index l = 1..L (0 unused)
    std::vector<ValueId> f;     // per output component
  };

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
  ExprPtr scaled(ExprPtr e, ExprPtr factor) { return factor ? mul(std::move(e), std::move(factor)) : e; }

  // ---- forward ----
  ValueId add_bias(ValueId h, int l, int t, const std::string& name) {
    if (!s_.biases) return h;
    Operands ops;
    ExprPtr e = add(ops.arg(h), ops.arg(beta_[l]));
    return b_.add_nonlin(name, e, ops.ids());
  }

  Forward forward(int t, const Eigen::RowVectorXd& xi, const std::string& tag) {
    Forward fw;
    fw.h.assign(static_cast<std::size_t>(L_) + 1, -1);
    fw.x = fw.h;
    const std::string ts = "_t" + std::to_string(t) + "_" + tag;
    // Layer 1: n^{-(a_1+b_1)} ρ^t Σ_j ξ_j u_j + Σ_s ρ^{t-1-s} κ_1 Σ_i gh^1_{s,i} (ξ_i · ξ) + β^1.
    {
      Operands ops;
      ExprPtr init;
      for (int j = 0; j < s_.input_dim; ++j)
        if (xi(j) != 0) init = sum(init, mul(constant(xi(j)), ops.arg(u_[j])));
      ExprPtr e = init ? scaled(mul(init, ops.arg(width(init_exponent(1)))), decay_power(1, t, ops)) : nullptr;
      for (const auto& [step, terms] : update_terms_[1]) {
        if (step >= t) continue;
        ExprPtr inner;
        for (const UpdateTerm& u : terms) {
          const double dot = s_.train_x.row(u.sample).dot(xi);
          if (dot != 0) inner = sum(inner, mul(constant(dot), ops.arg(u.out)));
        }
        if (inner)
          e = sum(e, scaled(mul(mul(constant(-s_.lr), ops.arg(width(update_exponent(1)))), inner),
                            decay_power(1, t - 1 - step, ops)));
      }
      if (s_.biases) e = sum(e, ops.arg(beta_[1]));
      if (!e) e = mul(constant(0.0), ops.arg(u_[0]));  // ξ = 0 without bias: h^1 = 0
      fw.h[1] = b_.add_nonlin("h1" + ts, e, ops.ids());
      fw.x[1] = b_.add_nonlin("x1" + ts, s_.activation, {fw.h[1]});
    }
    for (int l = 2; l <= L_; ++l) {
      const ValueId wx = apply_weight(l, t, fw.x[l - 1], false, "Wx" + std::to_string(l) + ts);
      fw.h[l] = add_bias(wx, l, t, "h" + std::to_string(l) + ts + "b");
      fw.x[l] = b_.add_nonlin("x" + std::to_string(l) + ts, s_.activation, {fw.h[l]});
    }
    // f_k = n^{1-e} avg(ṽ_k x^L) (+ readout bias).
    for (int k = 0; k < s_.output_dim; ++k) {
      Operands m;
      ExprPtr prod = mul(m.arg(vt_[k]), m.arg(fw.x[L_]));
      const ValueId avg = b_.add_moment("vx" + std::to_string(k + 1) + ts, prod, m.ids());
      Operands ops;
      ExprPtr f = mul(ops.arg(width(1 - e_out())), ops.arg(avg));
      if (readout_bias_[k] >= 0) f = add(f, ops.arg(readout_bias_[k]));
      fw.f.push_back(b_.add_scalar("f" + std::to_string(k + 1) + ts, f, ops.ids()));
    }
    return fw;
  }

  // W^l_t y (or (W^l_t)ᵀ y, normalized by n^e): n^{1/2-(a+b)} ρ^t M y + Σ_s ρ^{t-1-s} κ_l Σ_i out·avg(key·y).
  ValueId apply_weight(int l, int t, ValueId y, bool transposed, const std::string& name) {
    const ValueId my = b_.add_matmul(name + "_M", M_[l], y, transposed);
    Operands ops;
    ExprPtr e = scaled(mul(ops.arg(width(init_exponent(l))), ops.arg(my)), decay_power(l, t, ops));
    for (const auto& [step, terms] : update_terms_[l]) {
      if (step >= t) continue;
      ExprPtr inner;
      for (const UpdateTerm& u : terms) {
        const ValueId out = transposed ? u.key : u.out, key = transposed ? u.out : u.key;
        Operands m;
        ExprPtr prod = mul(m.arg(key), m.arg(y));
        const ValueId dot = b_.add_moment("", prod, m.ids());
        inner = sum(inner, mul(ops.arg(out), ops.arg(dot)));
      }
      e = sum(e, scaled(mul(mul(constant(-s_.lr), ops.arg(width(update_exponent(l)))), inner),
                        decay_power(l, t - 1 - step, ops)));
    }
    return b_.add_nonlin(name, e, ops.ids());
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
        ExprPtr denom;
        for (int j = 0; j < s_.output_dim; ++j)
          denom = sum(denom, j == k ? constant(1.0) : call(Function::exp, sub(ops.arg(fw.f[j]), ops.arg(fw.f[k]))));
        g = sub(div(constant(1.0), denom), constant(target(k)));
      }
      g = mul(constant(inv_b), g);
      chi.push_back(b_.add_scalar("chi" + std::to_string(k + 1) + ts, g, ops.ids()));
    }
    return chi;
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
      ExprPtr gx;
      for (int k = 0; k < s_.output_dim; ++k) gx = sum(gx, mul(ops.arg(chis.back()[k]), ops.arg(vt_[k])));
      ExprPtr dphi_h = substitute(dphi_, {ops.arg(fw.h[L_])});
      ExprPtr ghe = mul(gx, dphi_h);
      gh[q][L_] = b_.add_nonlin("gh" + std::to_string(L_) + ts, ghe, ops.ids());
      for (int l = L_; l >= 2; --l) {
        const ValueId gxl = apply_weight(l, t, gh[q][l], true, "gx" + std::to_string(l - 1) + ts);
        Operands o2;
        ExprPtr gh_l = mul(o2.arg(gxl), substitute(dphi_, {o2.arg(fw.h[l - 1])}));
        gh[q][l - 1] = b_.add_nonlin("gh" + std::to_string(l - 1) + ts, gh_l, o2.ids());
      }
    }
    // Record the rank-one updates of W^1..W^L made at step t.
    for (std::size_t q = 0; q < idx.size(); ++q) {
      const int i = idx[q];
      update_terms_[1][t].push_back(UpdateTerm{gh[q][1], -1, i});
      for (int l = 2; l <= L_; ++l) update_terms_[l][t].push_back(UpdateTerm{gh[q][l], train[i].x[l - 1], i});
    }
    const std::string next = "_t" + std::to_string(t + 1);
    // ṽ_{k,t+1} = ρ ṽ_{k,t} − η n^{b−a−c} Σ_i χ_ik x^L_i.
    for (int k = 0; k < s_.output_dim; ++k) {
      Operands ops;
      ExprPtr e = scaled(ops.arg(vt_[k]), decay_power(L_ + 1, 1, ops));
      ExprPtr upd;
      for (std::size_t q = 0; q < idx.size(); ++q)
        upd = sum(upd, mul(ops.arg(chis[q][k]), ops.arg(train[idx[q]].x[L_])));
      e = add(e, mul(mul(constant(-s_.lr), ops.arg(width(bb(L_ + 1) - a(L_ + 1) - c(L_ + 1)))), upd));
      vt_[k] = b_.add_nonlin("v" + std::to_string(k + 1) + next, e, ops.ids());
    }
    if (!s_.biases) return;
    // β^l_{t+1} = ρ β^l_t − η n^{-c_1-2a_1-e} Σ_i gh^l_i; readout bias b_k −= η Σ_i χ_ik.
    for (int l = 1; l <= L_; ++l) {
      Operands ops;
      ExprPtr e = scaled(ops.arg(beta_[l]), decay_power(1, 1, ops));
      ExprPtr upd;
      for (std::size_t q = 0; q < idx.size(); ++q) upd = sum(upd, ops.arg(gh[q][l]));
      e = add(e, mul(mul(constant(-s_.lr), ops.arg(width(update_exponent(1)))), upd));
      beta_[l] = b_.add_nonlin("beta" + std::to_string(l) + next, e, ops.ids());
    }
    for (int k = 0; k < s_.output_dim; ++k) {
      Operands ops;
      ExprPtr e = readout_bias_[k] >= 0 ? ops.arg(readout_bias_[k]) : constant(0.0);
      if (readout_bias_[k] >= 0 && s_.weight_decay != 0) e = mul(e, constant(1.0 - s_.lr * s_.weight_decay));
      ExprPtr upd;
      for (std::size_t q = 0; q < idx.size(); ++q) upd = sum(upd, ops.arg(chis[q][k]));
      e = sub(e, mul(constant(s_.lr), upd));
      readout_bias_[k] = b_.add_scalar("bias_out" + std::to_string(k + 1) + next, e, ops.ids());
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
  std::map<std::pair<int, int>, ValueId> decay_;
  // update_terms_[l][s]: the rank-one terms of ΔW^l made at step s.
  std::vector<std::map<int, std::vector<UpdateTerm>>> update_terms_;
};

}  // namespace

UnrolledProgram unroll(const NetworkSpec& spec, const UnrollOptions& options) { return Unroller(spec, options).run(); }

}  // namespace tp

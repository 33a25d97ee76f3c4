// See program_sizes.h. Steps per value, in program order: 1. its terms (a vector is a sum of products of atoms,
// each atom with its Gaussian sources and parity; sums and products in a Nonlin are expanded, anything else
// is one atom); 2. its size, the largest term; for a Moment, 3. each term's atoms grouped by shared sources,
// the CLT rule for a term with an odd group, and the largest result.
#include "tp/program_sizes.h"

#include <cmath>
#include <map>
#include <numeric>
#include <set>
#include <utility>

namespace tp {
namespace {

/// The size exponent of e given its arguments' sizes; `known` turns false for a super-polynomial φ of a
/// growing argument or a power/quotient the rules cannot size.
SizeExp expr_size(const ExprPtr& e, const std::vector<ValueSize>& args, bool& known) {
  switch (e->kind) {
    case ExprKind::Const: return e->value == 0 ? SizeExp() : SizeExp(Rational(0));
    case ExprKind::Arg: {
      const ValueSize& a = args.at(static_cast<std::size_t>(e->arg));
      known = known && a.known;
      return a.exponent;
    }
    case ExprKind::Neg: return expr_size(e->lhs, args, known);
    case ExprKind::Add:
    case ExprKind::Sub: return size_max(expr_size(e->lhs, args, known), expr_size(e->rhs, args, known));
    case ExprKind::Mul: return size_plus(expr_size(e->lhs, args, known), expr_size(e->rhs, args, known));
    case ExprKind::Div: {
      const SizeExp a = expr_size(e->lhs, args, known), b = expr_size(e->rhs, args, known);
      if (!b) {
        known = false;
        return std::nullopt;
      }
      return size_plus(a, -*b);
    }
    case ExprKind::Pow: {
      const SizeExp base = expr_size(e->lhs, args, known);
      if (e->rhs->kind == ExprKind::Const) {
        const double k = e->rhs->value;
        if (!base) {
          if (k <= 0) known = false;
          return std::nullopt;
        }
        const Rational kr = k == std::floor(k) ? Rational(static_cast<long long>(k)) : Rational(static_cast<long long>(std::lround(2 * k)), 2);
        if (static_cast<double>(kr) != k) known = false;
        return *base * kr;
      }
      bool exp_known = true;
      const SizeExp ex = expr_size(e->rhs, args, exp_known);
      if (e->lhs->kind == ExprKind::Const && exp_known && (!ex || *ex <= 0)) return Rational(0);
      known = false;
      return std::nullopt;
    }
    case ExprKind::Call: {
      const SizeExp a = expr_size(e->lhs, args, known);
      bool k = true;
      const SizeExp s = activation_size(activation_profile(call(e->fn, argument(0))), a, k);
      known = known && k;
      return s;
    }
  }
  known = false;
  return std::nullopt;
}

void collect_args(const ExprPtr& e, std::set<int>& out) {
  if (!e) return;
  if (e->kind == ExprKind::Arg) out.insert(e->arg);
  collect_args(e->lhs, out);
  collect_args(e->rhs, out);
}

/// One Gaussian-dependent factor of a term: its sources and its parity under the flip of all Gaussians.
struct Atom {
  std::set<int> sources;
  Parity parity = Parity::even;
};

/// A product of atoms of total size n^size. A vector or coordinatewise expression is a sum of terms.
struct Term {
  Rational size;
  std::vector<Atom> atoms;
};
using Terms = std::vector<Term>;

constexpr std::size_t max_terms = 64;  // beyond this a sum is compacted: one term per size

/// One term per distinct size, each with one atom holding its terms' sources (parity: the terms' products'
/// parity when they all agree, else neither). Keeps the split between leading and smaller parts.
Terms compact(const Terms& t) {
  std::map<Rational, std::pair<Atom, bool>> by_size;  // size → (merged atom, seen)
  for (const Term& x : t) {
    Parity p = Parity::even;
    std::set<int> src;
    for (const Atom& a : x.atoms) {
      src.insert(a.sources.begin(), a.sources.end());
      p = parity_product(p, a.parity);
    }
    auto [it, fresh] = by_size.try_emplace(x.size, Atom{src, p}, true);
    if (!fresh) {
      it->second.first.sources.insert(src.begin(), src.end());
      if (it->second.first.parity != p) it->second.first.parity = Parity::neither;
    }
  }
  Terms out;
  for (auto& [size, atom] : by_size) out.push_back(Term{size, {atom.first}});
  return out;
}

/// compact() when there are too many terms.
Terms bounded(Terms t) { return t.size() > max_terms ? compact(t) : t; }

/// All terms as one (the largest size; every source in one atom).
Terms collapse(const Terms& t) {
  Terms c = compact(t);
  if (c.size() <= 1) return c;
  Term one{c.back().size, {Atom{{}, c[0].atoms[0].parity}}};
  for (const Term& x : c) {
    one.atoms[0].sources.insert(x.atoms[0].sources.begin(), x.atoms[0].sources.end());
    if (x.atoms[0].parity != one.atoms[0].parity) one.atoms[0].parity = Parity::neither;
  }
  return {one};
}

/// True if E of the term's product is 0 structurally: its atoms grouped by shared sources, some group odd.
bool mean_zero(const Term& t) {
  const std::size_t m = t.atoms.size();
  std::vector<std::size_t> root(m);
  std::iota(root.begin(), root.end(), 0);
  auto find = [&root](std::size_t x) {
    while (root[x] != x) x = root[x] = root[root[x]];
    return x;
  };
  for (std::size_t a = 0; a < m; ++a)
    for (std::size_t b = a + 1; b < m; ++b) {
      bool shared = false;
      for (int src : t.atoms[a].sources) shared = shared || t.atoms[b].sources.count(src) > 0;
      if (shared) root[find(a)] = find(b);
    }
  std::map<std::size_t, Parity> group;
  for (std::size_t a = 0; a < m; ++a) {
    if (t.atoms[a].sources.empty()) continue;
    auto [it, fresh] = group.emplace(find(a), t.atoms[a].parity);
    if (!fresh) it->second = parity_product(it->second, t.atoms[a].parity);
  }
  for (const auto& [g, p] : group)
    if (p == Parity::odd) return true;
  return false;
}

/// The largest size among the terms (nullopt if there are none: exactly zero).
SizeExp largest(const Terms& t) {
  SizeExp out;
  for (const Term& x : t) out = size_max(out, SizeExp(x.size));
  return out;
}

/// The terms of a coordinatewise expression: sums, products and quotients by source-free factors are expanded;
/// anything else (φ of a vector, powers) becomes one term of the size expr_size gives.
Terms expr_terms(const ExprPtr& e, const std::vector<Terms>& args, const std::vector<ValueSize>& sizes,
                 const std::vector<Parity>& parities, bool& known) {
  auto opaque = [&]() -> Terms {
    const SizeExp sz = expr_size(e, sizes, known);
    if (!sz) return {};
    Atom atom;
    std::set<int> used;
    collect_args(e, used);
    for (int a : used)
      for (const Term& t : args.at(static_cast<std::size_t>(a)))
        for (const Atom& x : t.atoms) atom.sources.insert(x.sources.begin(), x.sources.end());
    atom.parity = parity(e, parities);
    return {Term{*sz, {atom}}};
  };
  switch (e->kind) {
    case ExprKind::Const: return e->value == 0 ? Terms{} : Terms{Term{Rational(0), {}}};
    case ExprKind::Arg: known = known && sizes.at(static_cast<std::size_t>(e->arg)).known; return args.at(static_cast<std::size_t>(e->arg));
    case ExprKind::Neg: return expr_terms(e->lhs, args, sizes, parities, known);
    case ExprKind::Add:
    case ExprKind::Sub: {
      Terms a = expr_terms(e->lhs, args, sizes, parities, known), b = expr_terms(e->rhs, args, sizes, parities, known);
      a.insert(a.end(), b.begin(), b.end());
      return bounded(std::move(a));
    }
    case ExprKind::Mul: {
      Terms a = expr_terms(e->lhs, args, sizes, parities, known), b = expr_terms(e->rhs, args, sizes, parities, known);
      if (a.size() * b.size() > max_terms) {
        a = compact(a);
        b = compact(b);
      }
      Terms out;
      for (const Term& x : a)
        for (const Term& y : b) {
          Term t{x.size + y.size, x.atoms};
          t.atoms.insert(t.atoms.end(), y.atoms.begin(), y.atoms.end());
          out.push_back(std::move(t));
        }
      return bounded(std::move(out));
    }
    case ExprKind::Div: {
      const Terms b = expr_terms(e->rhs, args, sizes, parities, known);
      bool sourceless = b.size() == 1;
      for (const Term& t : b)
        for (const Atom& x : t.atoms) sourceless = sourceless && x.sources.empty();
      if (!sourceless) return opaque();
      Terms a = expr_terms(e->lhs, args, sizes, parities, known);
      for (Term& t : a) t.size -= b[0].size;
      return a;
    }
    case ExprKind::Pow: return opaque();
    case ExprKind::Call: {
      // φ(A + B), A the leading terms of the argument and B the smaller ones: φ(A) + φ'(A) B + … (first order),
      // so a dependence that enters only through B stays as small as B (e.g. the readout weights inside h_t
      // through an n^{-1/2} update in NTP)
      const Terms arg = expr_terms(e->lhs, args, sizes, parities, known);
      const SizeExp lead = largest(arg);
      if (!lead) return opaque();
      Terms small;
      Atom main;
      for (const Term& t : arg) {
        if (t.size == *lead) {
          for (const Atom& a : t.atoms) main.sources.insert(a.sources.begin(), a.sources.end());
        } else {
          small.push_back(t);
        }
      }
      bool k = true;
      const SizeExp value = activation_size(activation_profile(call(e->fn, argument(0))), lead, k);
      known = known && k;
      main.parity = parity(e, parities);
      Terms out;
      if (value) out.push_back(Term{*value, {main}});
      if (!small.empty()) {
        const ExprPtr d = derivative(call(e->fn, argument(0)), 0);
        const ActivationProfile dp = activation_profile(d);
        bool dk = true;
        // a jump (step, sign: φ' = 0 a.e.) moves φ by Θ(1) on a set of probability ~|B|: size of B
        const SizeExp slope = dp.identically_zero ? SizeExp(Rational(0)) : activation_size(dp, lead, dk);
        known = known && dk;
        if (slope)
          for (const Term& b : collapse(small)) {
            Term t{*slope + b.size, {Atom{main.sources, Parity::neither}}};
            t.atoms.insert(t.atoms.end(), b.atoms.begin(), b.atoms.end());
            out.push_back(std::move(t));
          }
      }
      return out;
    }
  }
  return opaque();
}


}  // namespace

std::vector<ValueSize> program_sizes(const Program& p) {
  const std::size_t count = p.size();
  std::vector<ValueSize> size(count);
  std::vector<Terms> terms(count);
  std::vector<Parity> par(count, Parity::even);
  // source ids: the connected components of the input groups' covariances (members with zero covariance are
  // independent Gaussians), then one per (matrix, orientation)
  std::map<ValueId, int> input_source;
  int components = 0;
  for (const InputGroup& g : p.input_groups()) {
    const auto m = static_cast<Eigen::Index>(g.members.size());
    std::vector<int> comp(g.members.size(), -1);
    for (Eigen::Index a = 0; a < m; ++a) {
      if (comp[static_cast<std::size_t>(a)] >= 0) continue;
      std::vector<Eigen::Index> stack{a};
      comp[static_cast<std::size_t>(a)] = components;
      while (!stack.empty()) {
        const Eigen::Index x = stack.back();
        stack.pop_back();
        for (Eigen::Index y = 0; y < m; ++y)
          if (comp[static_cast<std::size_t>(y)] < 0 && g.covariance(x, y) != 0) {
            comp[static_cast<std::size_t>(y)] = components;
            stack.push_back(y);
          }
      }
      ++components;
    }
    for (std::size_t k = 0; k < g.members.size(); ++k) input_source[g.members[k]] = comp[k];
  }
  auto matrix_source = [components](ValueId w, bool transposed) { return components + 2 * w + (transposed ? 1 : 0); };
  std::map<std::pair<ValueId, bool>, std::vector<ValueId>> multiplied;  // (W, orientation) → inputs so far
  const int first_fluctuation = components + 2 * static_cast<int>(count) + 2;
  int fluctuation_source = first_fluctuation;
  // the size of the part of a vector that depends on source src (its Ż coefficient E[∂Z/∂Ẑ] is that large)
  auto dependent_size = [](const Terms& ts, int src) {
    SizeExp out;
    for (const Term& t : ts)
      for (const Atom& a : t.atoms)
        if (a.sources.count(src)) out = size_max(out, SizeExp(t.size));
    return out;
  };
  for (std::size_t i = 0; i < count; ++i) {
    const Value& v = p.values()[i];
    ValueSize& s = size[i];
    switch (v.op) {
      case Op::InitVector: {
        const InputGroup& g = p.input_groups().at(static_cast<std::size_t>(v.group));
        const auto k = static_cast<Eigen::Index>(v.index_in_group);
        par[i] = Parity::odd;
        if (g.covariance(k, k) > 0) {
          s.exponent = Rational(0);
          terms[i] = {Term{Rational(0), {Atom{{input_source.at(static_cast<ValueId>(i))}, Parity::odd}}}};
        }
        break;
      }
      case Op::InitMatrix: s.exponent = Rational(0); break;
      case Op::WidthPower:
        s.exponent = Rational(v.width_num, v.width_den);
        terms[i] = {Term{*s.exponent, {}}};
        break;
      case Op::MatMul: {
        // Ẑ: a fresh Gaussian of x's size; Ż: the earlier inputs x_i of the opposite orientation when this
        // argument depends on their Ẑ^{W x_i} (TP4 Def. 7.3), at the size of the part of x that does
        const ValueId w = v.operands[0], x = v.operands[1];
        const auto xi = static_cast<std::size_t>(x);
        s.exponent = size[xi].exponent;
        s.known = size[xi].known;
        par[i] = Parity::odd;
        if (s.exponent) {
          terms[i] = {Term{*s.exponent, {Atom{{matrix_source(w, v.transposed)}, Parity::odd}}}};
          if (const SizeExp dot = dependent_size(terms[xi], matrix_source(w, !v.transposed)))
            for (ValueId earlier : multiplied[{w, !v.transposed}]) {
              const auto e = static_cast<std::size_t>(earlier);
              for (const Term& t : collapse(terms[e])) terms[i].push_back(Term{*dot, t.atoms});
              if (par[e] != Parity::odd) par[i] = Parity::neither;
            }
        }
        multiplied[{w, v.transposed}].push_back(x);
        break;
      }
      case Op::OuterNonlin: s.known = false; break;  // TP4b's outer nonlinearity: not in this analysis
      case Op::Nonlin:
      case Op::ScalarExpr:
      case Op::Moment: {
        std::vector<Terms> arg_terms;
        std::vector<ValueSize> arg_sizes;
        std::vector<Parity> arg_par;
        for (ValueId o : v.operands) {
          arg_terms.push_back(terms[static_cast<std::size_t>(o)]);
          arg_sizes.push_back(size[static_cast<std::size_t>(o)]);
          arg_par.push_back(par[static_cast<std::size_t>(o)]);
        }
        bool known = true;
        Terms t = expr_terms(v.expr, arg_terms, arg_sizes, arg_par, known);
        s.known = known;
        par[i] = v.op == Op::Nonlin ? parity(v.expr, arg_par) : Parity::even;
        if (v.op == Op::Moment) {
          // each term averages to its size (LLN), or 1/2 less when its mean is 0 (CLT); the Moment is a number
          SizeExp m;
          bool all_zero = !t.empty();
          for (const Term& x : t) {
            const bool zero = mean_zero(x);
            all_zero = all_zero && zero;
            m = size_max(m, SizeExp(zero ? x.size - Rational(1, 2) : x.size));
          }
          s.exponent = m;
          s.mean_zero = all_zero;
          // a mean-zero average is a CLT fluctuation: a random scalar of its own (a fresh source)
          if (m) terms[i] = {Term{*m, all_zero ? std::vector<Atom>{Atom{{fluctuation_source++}, Parity::neither}} : std::vector<Atom>{}}};
        } else {
          s.exponent = largest(t);
          terms[i] = bounded(std::move(t));
        }
        break;
      }
    }
    // a scalar whose leading part carries a CLT fluctuation has a random limit
    if (v.kind == ValueKind::Scalar && s.exponent)
      for (const Term& t : terms[i])
        if (t.size == *s.exponent)
          for (const Atom& a : t.atoms)
            for (int src : a.sources) s.random = s.random || src >= first_fluctuation;
  }
  return size;
}

}  // namespace tp

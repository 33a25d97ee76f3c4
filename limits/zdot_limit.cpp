// See zdot_limit.h for the steps.
#include "limits/zdot_limit.h"

#include "limits/gaussian_expectation.h"

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "limits/distributed.h"
#include "limits/parallel.h"
#include "limits/resident_memory.h"
#include "limits/rng.h"
#include "limits/sobol_normals.h"
#include "limits/statistics.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"

namespace tp::limits {

namespace {

using IdSet = std::vector<ValueId>;  // sorted, unique

std::string where(const Value& v) {
  std::string s = "'" + v.name + "'";
  if (v.range.valid()) s += " (line " + std::to_string(v.range.begin.line) + ")";
  return s;
}

bool contains(const IdSet& s, ValueId x) { return std::binary_search(s.begin(), s.end(), x); }

IdSet set_union(const IdSet& a, const IdSet& b) {
  IdSet out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

IdSet set_intersection(const IdSet& a, const IdSet& b) {
  IdSet out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

int index_of(const IdSet& s, ValueId x) {
  auto it = std::lower_bound(s.begin(), s.end(), x);
  return it != s.end() && *it == x ? static_cast<int>(it - s.begin()) : -1;
}

// A symmetric square root factor L (Σ = L Lᵀ) that tolerates singular PSD Σ (as in finite.cpp).
Eigen::MatrixXd psd_factor(const Eigen::MatrixXd& cov) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  Eigen::VectorXd ev = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return es.eigenvectors() * ev.asDiagonal();
}

// The step or sign call in e whose argument uses operand k (its derivative in k has a Dirac delta), or null.
const Expr* discontinuity_in(const ExprPtr& e, int k) {
  if (!e) return nullptr;
  if (e->kind == ExprKind::Call && (e->fn == Function::step || e->fn == Function::sign)) {
    if (contains(arguments_used(e->lhs), k)) return e.get();
  }
  if (const Expr* d = discontinuity_in(e->lhs, k)) return d;
  return discontinuity_in(e->rhs, k);
}


// The coefficients ∂e/∂(vector argument k) of an expression that is linear in its vector arguments (scalar
// arguments and constants free: unrolled training's update sums n^e·W x + Σ c·avg(·)·gh), as scalar-only
// expressions; nullopt if e is not linear in them. One walk, where tp::derivative per operand would rebuild
// the whole tree once per operand (quadratic in the sum's length: most of the Plan's time on long training).
using Coefficients = std::map<int, ExprPtr>;
std::optional<Coefficients> linear_coefficients(const ExprPtr& e, const std::vector<bool>& is_vec) {
  const auto vector_free = [&](const ExprPtr& x) {
    for (int a : arguments_used(x))
      if (is_vec[static_cast<std::size_t>(a)]) return false;
    return true;
  };
  const auto scaled = [](Coefficients c, const ExprPtr& by, bool divide) {
    for (auto& [k, v] : c) v = divide ? div(v, by) : mul(v, by);
    return c;
  };
  switch (e->kind) {
    case ExprKind::Const: return Coefficients{};
    case ExprKind::Arg:
      if (is_vec[static_cast<std::size_t>(e->arg)]) return Coefficients{{e->arg, constant(1.0)}};
      return Coefficients{};
    case ExprKind::Neg: {
      auto a = linear_coefficients(e->lhs, is_vec);
      if (a)
        for (auto& [k, v] : *a) v = neg(v);
      return a;
    }
    case ExprKind::Add:
    case ExprKind::Sub: {
      auto a = linear_coefficients(e->lhs, is_vec);
      if (!a) return std::nullopt;
      auto b = linear_coefficients(e->rhs, is_vec);
      if (!b) return std::nullopt;
      for (auto& [k, v] : *b) {
        auto it = a->find(k);
        if (it == a->end()) (*a)[k] = e->kind == ExprKind::Add ? v : neg(v);
        else it->second = e->kind == ExprKind::Add ? add(it->second, v) : sub(it->second, v);
      }
      return a;
    }
    case ExprKind::Mul:
      if (vector_free(e->lhs)) {
        auto b = linear_coefficients(e->rhs, is_vec);
        return b ? std::optional<Coefficients>(scaled(std::move(*b), e->lhs, false)) : std::nullopt;
      }
      if (vector_free(e->rhs)) {
        auto a = linear_coefficients(e->lhs, is_vec);
        return a ? std::optional<Coefficients>(scaled(std::move(*a), e->rhs, false)) : std::nullopt;
      }
      return std::nullopt;
    case ExprKind::Div:
      if (vector_free(e->rhs)) {
        auto a = linear_coefficients(e->lhs, is_vec);
        return a ? std::optional<Coefficients>(scaled(std::move(*a), e->rhs, true)) : std::nullopt;
      }
      return std::nullopt;
    case ExprKind::Pow:
    case ExprKind::Call: return vector_free(e) ? std::optional<Coefficients>(Coefficients{}) : std::nullopt;
  }
  return std::nullopt;
}

// Columns [from, from + length) of one tangent matrix that add into columns [to, to + length) of another.
struct ColumnRun {
  int from = 0, to = 0, length = 0;
};

// The positions of the elements of `from` that are also in `to`, as runs contiguous in both.
std::vector<ColumnRun> column_runs(const IdSet& from, const IdSet& to) {
  std::vector<ColumnRun> out;
  std::size_t a = 0, b = 0;
  while (a < from.size() && b < to.size()) {
    if (from[a] < to[b]) ++a;
    else if (to[b] < from[a]) ++b;
    else {
      const int fa = static_cast<int>(a), tb = static_cast<int>(b);
      if (!out.empty() && out.back().from + out.back().length == fa && out.back().to + out.back().length == tb) ++out.back().length;
      else out.push_back({fa, tb, 1});
      ++a, ++b;
    }
  }
  return out;
}

// The outputs of one matrix in one direction: their Ẑ's are one jointly Gaussian family (ZHat).
struct Family {
  ValueId matrix = -1;
  bool transposed = false;
  double variance = 0.0;
  std::vector<ValueId> members;  // MatMul ids in program order
  int opposite = -1;             // the family of the same matrix in the other direction
};

// Static analysis shared by all replicas: families, ZDot terms, tangents needed, liveness, compiled code.
struct Plan {
  Plan(const Program& prog, ZDotMode requested) : p(prog) {
    const std::size_t count = p.size();
    check_width_powers();
    build_families();
    // ZDot terms and Ẑ dependencies, forward. deps[v]: the MatMuls whose Ẑ the Z of v is a function of.
    deps.assign(count, {});
    terms.assign(count, {});
    for (std::size_t i = 0; i < count; ++i) {
      const Value& v = p.values()[i];
      const ValueId id = static_cast<ValueId>(i);
      if (v.op == Op::Nonlin) {
        for (ValueId o : v.operands)
          if (p.value(o).kind == ValueKind::Vector) deps[i] = set_union(deps[i], deps[o]);
      } else if (v.op == Op::MatMul) {
        deps[i] = {id};
        if (requested == ZDotMode::none) continue;
        const Family& f = families[family_of[i]];
        if (f.opposite < 0) continue;
        const IdSet& x_deps = deps[v.operands[1]];
        for (ValueId g : families[f.opposite].members)
          if (g < id && contains(x_deps, g)) terms[i].push_back(g);
        for (ValueId g : terms[i]) deps[i] = set_union(deps[i], deps[p.value(g).operands[1]]);
      }
    }
    // Stein needs no tangent analysis (for unrolled training it is the costly part of the plan).
    mode = requested;
    if (mode == ZDotMode::derivative || mode == ZDotMode::automatic) find_needed_tangents();
    if (mode == ZDotMode::automatic) mode = dirac.empty() ? ZDotMode::derivative : ZDotMode::stein;
    if (mode == ZDotMode::derivative && !dirac.empty()) throw RouteUnavailable(dirac);
    if (mode != ZDotMode::derivative) need.assign(count, {});
    compile();
    find_linear_matmuls();
    compute_liveness();
    number_dimensions();
  }

  // The point-set dimension of each base normal (input coordinates and ZHat ξ's), in program order: the
  // first Z's of the program get the best-distributed Sobol coordinates.
  void number_dimensions() {
    dim_of.assign(p.size(), -1);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Op op = p.values()[i].op;
      if (op == Op::InitVector || op == Op::MatMul) dim_of[i] = dimensions++;
    }
  }

  // WidthPower n^e in the limit: 0 for e < 0, 1 for e = 0; e > 0 has no limit.
  void check_width_powers() {
    for (const Value& v : p.values()) {
      if (v.op != Op::WidthPower || v.width_num <= 0) continue;
      throw RouteUnavailable(where(v) + " is n^(" + std::to_string(v.width_num) + "/" + std::to_string(v.width_den) +
                             "), which grows without bound: the Master Theorem limit needs every width factor to "
                             "converge (n^e with e <= 0); rescale the program so its vectors stay of order one");
    }
  }

  void build_families() {
    family_of.assign(p.size(), -1);
    position.assign(p.size(), -1);
    std::map<std::pair<ValueId, bool>, int> index;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      if (v.op != Op::MatMul) continue;
      auto [it, fresh] = index.emplace(std::make_pair(v.operands[0], v.transposed), static_cast<int>(families.size()));
      if (fresh) {
        Family f;
        f.matrix = v.operands[0];
        f.transposed = v.transposed;
        f.variance = p.value(v.operands[0]).variance;
        families.push_back(f);
        if (auto o = index.find({v.operands[0], !v.transposed}); o != index.end()) {
          families.back().opposite = o->second;
          families[o->second].opposite = it->second;
        }
      }
      family_of[i] = it->second;
      position[i] = static_cast<int>(families[it->second].members.size());
      families[it->second].members.push_back(static_cast<ValueId>(i));
    }
  }

  // need[v]: the leaves g whose tangent ∂Z^v/∂Ẑ^g some later ZDot uses (backward from the ZDot terms).
  // A Nonlin with step/sign of a needed leaf's descendant is recorded in `dirac`.
  void find_needed_tangents() {
    need.assign(p.size(), {});
    for (std::size_t i = p.size(); i-- > 0;) {
      const Value& v = p.values()[i];
      if (v.op == Op::MatMul) {
        const ValueId x = v.operands[1];
        need[x] = set_union(need[x], terms[i]);
        for (ValueId g : terms[i]) {
          const ValueId y = p.value(g).operands[1];
          need[y] = set_union(need[y], set_intersection(need[i], deps[y]));
        }
      } else if (v.op == Op::Nonlin && !need[i].empty()) {
        const bool has_step = has_step_or_sign(v.expr);
        for (std::size_t k = 0; k < v.operands.size(); ++k) {
          const ValueId o = v.operands[k];
          if (p.value(o).kind != ValueKind::Vector) continue;
          const IdSet through = set_intersection(need[i], deps[o]);
          if (through.empty()) continue;
          need[o] = set_union(need[o], through);
          const Expr* d = has_step ? discontinuity_in(v.expr, static_cast<int>(k)) : nullptr;
          if (d && dirac.empty())
            dirac = "ZDot derivative mode cannot differentiate " + where(v) + ": it applies " +
                    function_spelling(d->fn) + " to an expression of '" + p.value(o).name +
                    "', which depends on the ZHat of " + where(p.value(through.front())) +
                    ", and a later ZDot needs that derivative; the derivative of " + function_spelling(d->fn) +
                    " has a Dirac delta that the a.e. derivative drops (the result would be wrong); use the "
                    "Stein form (--zdot stein or automatic, TP4 Remark F.2)";
        }
      }
    }
  }

  void compile() {
    compiled.resize(p.size());
    dcompiled.resize(p.size());
    runs.assign(p.size(), {});
    expanded.assign(p.size(), {});
    map_matmul_tangents();
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      if (!v.expr) continue;
      std::vector<bool> is_vec;
      for (ValueId o : v.operands) is_vec.push_back(p.value(o).kind == ValueKind::Vector);
      compiled[i] = std::make_unique<CompiledExpr>(v.expr, is_vec);
      if (v.op != Op::Nonlin || need[i].empty()) continue;
      dcompiled[i].resize(v.operands.size());
      runs[i].resize(v.operands.size());
      const std::optional<Coefficients> linear_in = linear_coefficients(v.expr, is_vec);
      for (std::size_t k = 0; k < v.operands.size(); ++k) {
        if (!is_vec[k] || set_intersection(need[i], need[v.operands[k]]).empty()) continue;
        ExprPtr d;
        if (linear_in) {
          auto it = linear_in->find(static_cast<int>(k));
          d = it == linear_in->end() ? constant(0.0) : it->second;
        } else {
          d = derivative(v.expr, static_cast<int>(k));
        }
        dcompiled[i][k] = std::make_unique<CompiledExpr>(d, is_vec);
        runs[i][k] = column_runs(need[v.operands[k]], need[i]);
      }
    }
  }

  // A MatMul whose tangent only enters Nonlins linearly (∂φ/∂h a number: unrolled training's n^e · W x + Σ update
  // terms, whose update terms are the same y's as the ZDot's) is not materialised: its tangent e_h + Σ_q c_q ∂Z^{y_q}
  // is expanded into each such Nonlin, where the c_q add to the Nonlin's own coefficients of the same y's, so each
  // y's tangent columns are read once (one pass instead of two over the largest tangents of unrolled training).
  void find_linear_matmuls() {
    linear.assign(p.size(), false);
    expansion.assign(p.size(), {});
    if (mode != ZDotMode::derivative) return;
    for (std::size_t h = 0; h < p.size(); ++h) linear[h] = p.values()[h].op == Op::MatMul && !need[h].empty();
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      for (std::size_t k = 0; k < v.operands.size(); ++k) {
        const ValueId o = v.operands[k];
        if (!linear[o]) continue;
        const bool reads = v.op == Op::MatMul || (k < dcompiled[i].size() && dcompiled[i][k]);
        if (reads && (v.op != Op::Nonlin || !dcompiled[i][k]->is_scalar())) linear[o] = false;
      }
    }
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      if (v.op != Op::Nonlin || need[i].empty()) continue;
      expansion[i].resize(v.operands.size());
      for (std::size_t k = 0; k < v.operands.size(); ++k) {
        const ValueId o = v.operands[k];
        if (!linear[o] || k >= dcompiled[i].size() || !dcompiled[i][k]) continue;
        for (ValueId g : terms[o]) {
          const ValueId y = p.value(g).operands[1];
          int slot = -1;
          for (std::size_t j = 0; j < v.operands.size() && slot < 0; ++j)
            if (v.operands[j] == y && j < dcompiled[i].size() && dcompiled[i][j] && dcompiled[i][j]->is_scalar()) slot = static_cast<int>(j);
          for (std::size_t e = 0; e < expanded[i].size() && slot < 0; ++e)
            if (expanded[i][e] == y) slot = static_cast<int>(v.operands.size() + e);
          if (slot < 0) {
            slot = static_cast<int>(v.operands.size() + expanded[i].size());
            expanded[i].push_back(y);
            runs[i].push_back(column_runs(need[y], need[i]));
          }
          expansion[i][k].push_back(slot);
        }
      }
    }
  }

  // The tangent columns of a MatMul: its ZDot terms' y's tangents, scaled by the ZDot coefficients.
  void map_matmul_tangents() {
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p.values()[i].op != Op::MatMul || need[i].empty()) continue;
      for (ValueId g : terms[i]) runs[i].push_back(column_runs(need[p.value(g).operands[1]], need[i]));
    }
  }

  // A value dies after its last use; a MatMul operand lives until the matrix's last MatMul (ZHat
  // covariances and ZDot terms read it), and so do the family's ZHat normals.
  void compute_liveness() {
    std::vector<std::size_t> last(p.size(), 0), matrix_last(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i)
      if (p.values()[i].op == Op::MatMul) matrix_last[p.values()[i].operands[0]] = i;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      last[i] = std::max(last[i], i);
      for (ValueId o : v.operands) last[o] = std::max(last[o], i);
      if (v.op == Op::MatMul) last[v.operands[1]] = std::max(last[v.operands[1]], matrix_last[v.operands[0]]);
    }
    dies_at.assign(p.size(), {});
    family_dies_at.assign(p.size(), {});
    for (std::size_t i = 0; i < p.size(); ++i)
      if (p.values()[i].kind == ValueKind::Vector) dies_at[last[i]].push_back(static_cast<ValueId>(i));
    for (std::size_t f = 0; f < families.size(); ++f)
      family_dies_at[matrix_last[families[f].matrix]].push_back(static_cast<int>(f));
  }

  // The particle-array passes of one run per particle: one per expression node of a vector value and per tangent
  // column touched (a tangent matrix zeroed, then each source's runs added once: Replica::expression, matmul).
  double tangent_columns() const {
    double columns = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (need[i].empty() || linear[i]) continue;
      columns += static_cast<double>(need[i].size());
      for (const auto& slot : runs[i])
        for (const ColumnRun& r : slot) columns += r.length;
    }
    return columns;
  }

  // Peak number of particle arrays alive at once (vectors, their tangents, ZHat normals, workspace).
  double peak_arrays() const {
    double live = 0, peak = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      if (v.kind == ValueKind::Vector) live += 1 + static_cast<double>(need[i].size());
      if (v.op == Op::MatMul) live += 1;
      double work = 4 + static_cast<double>(v.operands.size());
      if (v.op == Op::MatMul) work += static_cast<double>(terms[i].size());
      peak = std::max(peak, live + work);
      for (ValueId d : dies_at[i]) live -= 1 + static_cast<double>(need[d].size());
      for (int f : family_dies_at[i]) live -= static_cast<double>(families[f].members.size());
    }
    return peak;
  }

  const Program& p;
  ZDotMode mode = ZDotMode::automatic;
  std::vector<Family> families;
  std::vector<int> family_of, position;  // per MatMul
  std::vector<IdSet> deps, terms, need;  // per value (terms: the earlier opposite-family MatMuls of a ZDot)
  std::string dirac;                     // why derivative mode is refused, or empty
  std::vector<std::unique_ptr<CompiledExpr>> compiled;
  std::vector<std::vector<std::unique_ptr<CompiledExpr>>> dcompiled;  // ∂φ/∂operand k, where needed
  // runs[v][k]: where the tangent columns of v's operand k (Nonlin) or of its k-th ZDot term's y (MatMul) go
  // among v's columns (need[o] ∩ need[v], as contiguous runs: unrolled training's need sets are step prefixes).
  std::vector<std::vector<std::vector<ColumnRun>>> runs;
  std::vector<bool> linear;  // a MatMul whose tangent is expanded into its (linear) Nonlin users, never stored
  // Per Nonlin: expanded[i], the y's of linear MatMul operands' ZDot terms that are not already scalar-derivative
  // operands (their runs follow the operands' in runs[i]); expansion[i][k][q]: the slot (operand index, or
  // operands + index in expanded) that term q of linear MatMul operand k adds its coefficient to.
  std::vector<std::vector<ValueId>> expanded;
  std::vector<std::vector<std::vector<int>>> expansion;
  std::vector<std::vector<ValueId>> dies_at;
  std::vector<std::vector<int>> family_dies_at;
  std::vector<long long> dim_of;  // per base normal: its dimension of the point set
  long long dimensions = 0;
};

constexpr long long kBlock = 4096;  // particles per pseudo-random stream block

// Factors filled row by row (ZHat rows, Stein rows) and read by rows: row-major.
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// The Cholesky factor of the Gram matrix G_TT of a ZDot's Stein terms (Replica::stein), in term order; a member
// whose pivot vanished has a unit diagonal and zero row and column, so the triangular solves give it a = 0.
struct SteinFactor {
  std::vector<int> members;   // positions in the family, in term order
  std::vector<bool> dropped;  // its Ẑ is a combination of the earlier members'
  RowMatrix r;                // lower triangular; leading members.size() rows are valid
  double largest = 0.0;       // largest diagonal of G so far (the pivot cutoff's scale)
};

// One replica's particles first..first+count-1 run through the program (steps 1-4 of zdot_limit.h).
class Replica {
 public:
  Replica(const Plan& plan, const std::vector<Eigen::MatrixXd>& factors, const ZDotOptions& o, std::size_t replica,
          long long first, Eigen::Index count)
      : plan_(plan), p_(plan.p), factors_(factors), o_(o), m_(count), replica_(replica), first_(first) {}

  std::vector<double> run() {
    const std::size_t count = p_.size();
    vec_.assign(count, {});
    tan_.assign(count, {});
    lin_.assign(count, {});
    sca_.assign(count, 0.0);
    basis_.assign(plan_.families.size(), {});
    stein_.assign(plan_.families.size(), {});
    chol_.clear();
    for (const Family& f : plan_.families) {
      const auto k = static_cast<Eigen::Index>(f.members.size());
      chol_.push_back(RowMatrix::Zero(k, k));
    }
    for (std::size_t i = 0; i < count; ++i) {
      const Value& v = p_.values()[i];
      switch (v.op) {
        case Op::InitVector: init_group(v); break;
        case Op::InitMatrix: break;
        case Op::MatMul: matmul(static_cast<ValueId>(i)); break;
        case Op::WidthPower: sca_[i] = v.width_num < 0 ? 0.0 : 1.0; break;  // e > 0 refused by the Plan
        case Op::Nonlin:
        case Op::Moment:
        case Op::ScalarExpr: expression(static_cast<ValueId>(i)); break;
        case Op::OuterNonlin: throw RouteUnavailable(p_.outer_nonlin_refusal());
      }
      for (ValueId dead : plan_.dies_at[i]) {
        vec_[dead] = Eigen::ArrayXd();
        tan_[dead] = Eigen::ArrayXXd();
      }
      for (int f : plan_.family_dies_at[i]) basis_[f].clear(), stein_[f] = {};
    }
    std::vector<double> out;
    for (const Output& o : p_.outputs()) out.push_back(sca_[o.value]);
    return out;
  }

 private:
  // Step 5: the standard normals of base value id at this run's particles (its dimension of the point set).
  Eigen::ArrayXd normals(std::size_t id) const {
    const auto dim = static_cast<std::size_t>(plan_.dim_of[id]);
    const std::uint64_t stream = (static_cast<std::uint64_t>(replica_) << 32) + id;
    Eigen::ArrayXd z(m_);
    if (o_.sampling == Sampling::sobol && dim < sobol_max_dimension()) {
      ScrambledSobol(dim, o_.seed, stream).fill_normal(static_cast<std::uint64_t>(first_), static_cast<std::size_t>(m_), z.data());
      return z;
    }
    // Pseudo-random: one stream per block of kBlock particles, so any range of particles is reproducible.
    std::vector<double> block(static_cast<std::size_t>(kBlock));
    for (long long b = first_ / kBlock; b * kBlock < first_ + m_; ++b) {
      std::uint64_t mix = stream ^ (static_cast<std::uint64_t>(b) * 0x9e3779b97f4a7c15ULL);
      Rng rng(o_.seed, splitmix64(mix));
      rng.fill_normal(block.data(), block.size());
      const long long lo = std::max(first_, b * kBlock), hi = std::min(first_ + m_, (b + 1) * kBlock);
      std::copy(block.begin() + (lo - b * kBlock), block.begin() + (hi - b * kBlock), z.data() + (lo - first_));
    }
    return z;
  }

  // Step 1 (ZInit): the whole group at its first member.
  void init_group(const Value& v) {
    if (v.index_in_group != 0) return;
    const InputGroup& g = p_.input_groups()[v.group];
    const auto d = static_cast<Eigen::Index>(g.members.size());
    Eigen::MatrixXd z(d, m_);
    for (Eigen::Index r = 0; r < d; ++r) z.row(r) = normals(static_cast<std::size_t>(g.members[r])).matrix().transpose();
    const Eigen::MatrixXd x = factors_[v.group] * z;
    for (Eigen::Index r = 0; r < d; ++r) vec_[g.members[r]] = x.row(r).transpose().array();
  }

  static double mean_product(const Eigen::ArrayXd& a, const Eigen::ArrayXd& b) {
    return a.matrix().dot(b.matrix()) / static_cast<double>(a.size());
  }

  // Ẑ of a family member from the family's normals and its row of the conditional factor.
  Eigen::ArrayXd zhat(ValueId g) const {
    const int f = plan_.family_of[g];
    const int k = plan_.position[g];
    Eigen::ArrayXd z = Eigen::ArrayXd::Zero(m_);
    for (int j = 0; j <= k; ++j)
      if (chol_[f](k, j) != 0.0) z += chol_[f](k, j) * basis_[f][j];
    return z;
  }

  // Steps 2-3 (ZHat + ZDot) for the MatMul h.
  void matmul(ValueId h) {
    const Value& v = p_.value(h);
    const int f = plan_.family_of[h];
    const Family& fam = plan_.families[f];
    const int k = plan_.position[h];
    const double s2 = fam.variance;
    const Eigen::ArrayXd& x = vec_[v.operands[1]];
    // ZHat: row k of the factor by forward substitution against the earlier members (conditional Gaussian).
    RowMatrix& c = chol_[f];
    for (int j = 0; j < k; ++j) {
      const double cov = s2 * mean_product(x, vec_[p_.value(fam.members[j]).operands[1]]);
      double r = cov;
      for (int q = 0; q < j; ++q) r -= c(k, q) * c(j, q);
      c(k, j) = c(j, j) > 0.0 ? r / c(j, j) : 0.0;
    }
    const double var = s2 * mean_product(x, x);
    double rest = var;
    for (int j = 0; j < k; ++j) rest -= c(k, j) * c(k, j);
    c(k, k) = rest > 1e-12 * var ? std::sqrt(rest) : 0.0;  // 0: Ẑ^h is determined by the earlier Ẑ's
    basis_[f].push_back(normals(static_cast<std::size_t>(h)));
    Eigen::ArrayXd z = zhat(h);
    // ZDot: σ² Σ_g a_g Z^{y_g} over the earlier opposite-family MatMuls g that x depends on.
    const IdSet& terms = plan_.terms[h];
    std::vector<double> coef(terms.size(), 0.0);
    if (!terms.empty()) {
      const std::vector<double> a = plan_.mode == ZDotMode::stein ? stein(h) : derivative_means(h);
      for (std::size_t t = 0; t < terms.size(); ++t) {
        coef[t] = s2 * a[t];
        z += coef[t] * vec_[p_.value(terms[t]).operands[1]];
      }
    }
    check(z.allFinite(), v);
    // Tangents ∂Z^h/∂Ẑ^g (one column per needed leaf g): 1 for g = h, plus the ZDot terms' tangents.
    const IdSet& need = plan_.need[h];
    if (plan_.linear[h]) {
      lin_[h] = std::move(coef);
    } else if (!need.empty()) {
      Eigen::ArrayXXd t = Eigen::ArrayXXd::Zero(m_, static_cast<Eigen::Index>(need.size()));
      if (const int self = index_of(need, h); self >= 0) t.col(self).setConstant(1.0);
      for (std::size_t q = 0; q < terms.size(); ++q) {
        const Eigen::ArrayXXd& ty = tan_[p_.value(terms[q]).operands[1]];
        for (const ColumnRun& r : plan_.runs[h][q]) t.middleCols(r.to, r.length) += coef[q] * ty.middleCols(r.from, r.length);
      }
      tan_[h] = std::move(t);
    }
    vec_[h] = std::move(z);
  }

  // a_g = mean over particles of ∂Z^x/∂Ẑ^g (forward-mode tangents).
  std::vector<double> derivative_means(ValueId h) const {
    const ValueId x = p_.value(h).operands[1];
    std::vector<double> a;
    for (ValueId g : plan_.terms[h]) {
      const int at = index_of(plan_.need[x], g);
      if (at < 0) throw std::logic_error("bug: zdot_limit has no tangent for a ZDot term");
      a.push_back(tan_[x].col(at).mean());
    }
    return a;
  }

  // TP4 Remark F.2: a = G⁺ b, the least squares regression of Z^x on the terms' Ẑ^{g_i}, with G_ij = Cov(Ẑ^{g_i},
  // Ẑ^{g_j}) and b_i = E[Z^x Ẑ^{g_i}]. Both come from the opposite family's factor (Ẑ = L ξ over its members) without
  // rebuilding the Ẑ's: G_ij = L_i · L_j (rows of L) and b_i = L_i · c with c_j = mean(Z^x ξ_j), O(KP) for the K
  // normals the terms use. G_TT is factored incrementally (SteinFactor): consecutive ZDots of unrolled training
  // share their terms up to the last few (the earlier steps' points), so only the rows past the common prefix are
  // recomputed; a term whose Ẑ is a combination of the earlier terms' (pivot below 1e-10 of the largest diagonal)
  // gets a = 0, which leaves the ZDot term Σ a_i Z^{y_i} unchanged (its y is the same combination of theirs).
  // Cost per ZDot O(KP + |T|²) plus O(|T| K) per new row.
  std::vector<double> stein(ValueId h) {
    const Eigen::ArrayXd& x = vec_[p_.value(h).operands[1]];
    const IdSet& terms = plan_.terms[h];
    const int opposite = plan_.families[plan_.family_of[h]].opposite;
    const RowMatrix& l = chol_[opposite];
    SteinFactor& fac = stein_[opposite];
    const auto k = static_cast<Eigen::Index>(terms.size());
    std::vector<int> pos(terms.size());
    Eigen::Index big_k = 0;
    for (std::size_t t = 0; t < terms.size(); ++t) {
      pos[t] = plan_.position[terms[t]];
      big_k = std::max<Eigen::Index>(big_k, pos[t] + 1);
    }
    // The factor of G_TT: keep the common prefix with the previous ZDot's terms, append the rest.
    std::size_t common = 0;
    while (common < fac.members.size() && common < pos.size() && fac.members[common] == pos[common]) ++common;
    fac.members.resize(common);
    fac.dropped.resize(common);
    if (fac.r.rows() < k) fac.r.conservativeResize(std::max<Eigen::Index>(k, 2 * fac.r.rows()), std::max<Eigen::Index>(k, 2 * fac.r.rows()));
    for (std::size_t t = common; t < pos.size(); ++t) {
      const auto q = static_cast<Eigen::Index>(t);
      const int pt = pos[t];
      Eigen::VectorXd g(q);
      for (Eigen::Index j = 0; j < q; ++j) {
        const int pj = fac.members[static_cast<std::size_t>(j)];
        const Eigen::Index upto = std::min(pt, pj) + 1;
        g(j) = fac.dropped[static_cast<std::size_t>(j)] ? 0.0 : l.row(pt).head(upto).dot(l.row(pj).head(upto));
      }
      const double diag = l.row(pt).head(pt + 1).squaredNorm();
      fac.largest = common == 0 && t == 0 ? diag : std::max(fac.largest, diag);
      if (q > 0) fac.r.row(q).head(q) = fac.r.topLeftCorner(q, q).triangularView<Eigen::Lower>().solve(g).transpose();
      const double pivot = diag - (q > 0 ? fac.r.row(q).head(q).squaredNorm() : 0.0);
      const bool drop = !(pivot > 1e-10 * fac.largest);
      if (drop) fac.r.row(q).head(q).setZero();
      fac.r(q, q) = drop ? 1.0 : std::sqrt(pivot);
      fac.members.push_back(pt);
      fac.dropped.push_back(drop);
    }
    Eigen::VectorXd c(big_k);
    for (Eigen::Index j = 0; j < big_k; ++j) c(j) = mean_product(x, basis_[opposite][j]);
    Eigen::VectorXd b(k);
    for (Eigen::Index t = 0; t < k; ++t)
      b(t) = fac.dropped[static_cast<std::size_t>(t)] ? 0.0 : l.row(pos[t]).head(pos[t] + 1).dot(c.head(pos[t] + 1));
    const auto r = fac.r.topLeftCorner(k, k).triangularView<Eigen::Lower>();
    const Eigen::VectorXd a = r.transpose().solve(r.solve(b));
    return {a.data(), a.data() + k};
  }

  // Step 4: Nonlin (with its tangents), Moment, ScalarExpr.
  void expression(ValueId i) {
    const Value& v = p_.value(i);
    std::vector<ExprInput> in(v.operands.size());
    for (std::size_t k = 0; k < v.operands.size(); ++k) {
      const ValueId o = v.operands[k];
      if (p_.value(o).kind == ValueKind::Vector) in[k].array = &vec_[o];
      else in[k].scalar = sca_[o];
    }
    if (v.op == Op::ScalarExpr) {
      sca_[i] = plan_.compiled[i]->eval(in, 1)(0);
      check(std::isfinite(sca_[i]), v);
      return;
    }
    Eigen::ArrayXd y = plan_.compiled[i]->eval(in, m_);
    check(y.allFinite(), v);
    if (v.op == Op::Moment) {
      sca_[i] = y.mean();
      return;
    }
    const IdSet& need = plan_.need[i];
    if (!need.empty()) {
      // Chain rule, ∂φ/∂o times o's tangent columns, added into this value's columns; a derivative that depends
      // on no particle array (a linear operand, as in unrolled training's sums) is applied as one number.
      // Scalar derivatives are first summed per source vector (slots: operands, then the expanded y's of linear
      // MatMul operands, whose unit column e_h is added directly), then applied once per source.
      Eigen::ArrayXXd t = Eigen::ArrayXXd::Zero(m_, static_cast<Eigen::Index>(need.size()));
      std::vector<double> weight(v.operands.size() + plan_.expanded[i].size(), 0.0);
      for (std::size_t k = 0; k < v.operands.size(); ++k) {
        if (k >= plan_.dcompiled[i].size() || !plan_.dcompiled[i][k]) continue;
        const CompiledExpr& dk = *plan_.dcompiled[i][k];
        const ValueId o = v.operands[k];
        if (dk.is_scalar()) {
          const double d = dk.eval(in, 1)(0);
          check(std::isfinite(d), v, " (its derivative)");
          if (!plan_.linear[o]) {
            weight[k] += d;
            continue;
          }
          if (const int self = index_of(need, o); self >= 0) t.col(self) += d;
          for (std::size_t q = 0; q < lin_[o].size(); ++q) weight[static_cast<std::size_t>(plan_.expansion[i][k][q])] += d * lin_[o][q];
          continue;
        }
        const Eigen::ArrayXXd& to = tan_[o];
        const Eigen::ArrayXd d = dk.eval(in, m_);
        check(d.allFinite(), v, " (its derivative)");
        for (const ColumnRun& r : plan_.runs[i][k])
          t.middleCols(r.to, r.length) += to.middleCols(r.from, r.length).colwise() * d;
      }
      for (std::size_t slot = 0; slot < weight.size(); ++slot) {
        if (weight[slot] == 0.0) continue;
        const ValueId src = slot < v.operands.size() ? v.operands[slot] : plan_.expanded[i][slot - v.operands.size()];
        const Eigen::ArrayXXd& ts = tan_[src];
        for (const ColumnRun& r : plan_.runs[i][slot]) t.middleCols(r.to, r.length) += weight[slot] * ts.middleCols(r.from, r.length);
      }
      tan_[i] = std::move(t);
    }
    vec_[i] = std::move(y);
  }

  void check(bool finite, const Value& v, const char* what = "") const {
    if (finite) return;
    throw NumericalError("value " + where(v) + what + " became NaN or infinite in the Monte Carlo limit (replica " +
                         std::to_string(replica_) + ", seed " + std::to_string(o_.seed) +
                         "); check the nonlinearity's domain (e.g. log or sqrt of a negative number) and the scales");
  }

  const Plan& plan_;
  const Program& p_;
  const std::vector<Eigen::MatrixXd>& factors_;
  const ZDotOptions& o_;
  Eigen::Index m_;
  std::size_t replica_;
  long long first_;
  std::vector<Eigen::ArrayXd> vec_;
  std::vector<Eigen::ArrayXXd> tan_;                // per vector: particles × plan_.need (one column per leaf)
  std::vector<std::vector<double>> lin_;            // per linear MatMul (Plan::linear): its ZDot coefficients
  std::vector<double> sca_;
  std::vector<std::vector<Eigen::ArrayXd>> basis_;  // per family: the ZHat normals ξ_j
  std::vector<RowMatrix> chol_;                      // per family: Cov(Ẑ) = L Lᵀ, rows filled as members run
  std::vector<SteinFactor> stein_;                   // per family: the factor of the last Stein ZDot's terms
};

long long particle_count(const ZDotOptions& o) {
  if (o.particles < 2) throw std::invalid_argument("the Monte Carlo limit needs at least 2 particles");
  return o.jackknife ? o.particles + (o.particles & 1) : o.particles;
}

unsigned concurrent_replicas(const ZDotOptions& o) {
  const unsigned threads = o.threads ? o.threads : default_threads();
  return static_cast<unsigned>(std::min<long long>(threads, std::max(o.replicas, 1)));
}

// Measured peaks exceed the live-array count by up to 1.25× (freed blocks the allocator keeps per thread, Eigen
// temporaries; bench/limit_32_points_16_steps.tp at 256 particles: 1.62 GiB against 0.7 GiB resident + 0.76 GiB
// of arrays), so the estimate allows 1.5×: an estimate that refuses a little early, never one that is exceeded.
constexpr double kArraySlack = 1.5;

double array_bytes(const Plan& plan, const ZDotOptions& o) {
  return kArraySlack * plan.peak_arrays() * 8.0 * static_cast<double>(particle_count(o)) * concurrent_replicas(o);
}

// What the run holds at its peak: what the process holds already (the program, unrolled training's often
// hundreds of MiB, and the plan built from it: need sets, column runs, compiled derivatives) plus the particle
// arrays of the replicas that run at once.
double bytes_needed(const Plan& plan, const ZDotOptions& o) { return resident_bytes() + array_bytes(plan, o); }

// The plan of the requested mode. Automatic: the derivative form has the lower variance (with many ZDot terms the
// Stein regression on k Ẑ's is noisy unless k ≪ P: the 32-point, 8-step µP network at P = 256 has 10× the
// derivative form's error), but its tangents number about (ZDot terms) × (vectors), O(m³T³) arrays for m points
// and T unrolled steps against O(mT) for Stein; so derivative when it fits the memory budget, else Stein.
std::unique_ptr<Plan> make_plan(const Program& p, const ZDotOptions& o) {
  auto plan = std::make_unique<Plan>(p, o.zdot);
  if (o.zdot == ZDotMode::automatic && plan->mode == ZDotMode::derivative && bytes_needed(*plan, o) > o.memory_budget_bytes)
    plan = std::make_unique<Plan>(p, ZDotMode::stein);
  return plan;
}

}  // namespace

bool has_step_or_sign(const ExprPtr& e) {
  if (!e) return false;
  if (e->kind == ExprKind::Call && (e->fn == Function::step || e->fn == Function::sign)) return true;
  return has_step_or_sign(e->lhs) || has_step_or_sign(e->rhs);
}

ZDotMode resolve_zdot_mode(const Program& p, ZDotMode requested) { return Plan(p, requested).mode; }

ZDotWork zdot_work(const Program& p, const ZDotOptions& options) {
  const auto plan = make_plan(p, options);
  return {plan->mode, plan->tangent_columns()};
}

double zdot_memory_bytes(const Program& p, const ZDotOptions& options) { return bytes_needed(*make_plan(p, options), options); }

LimitResult zdot_limit(const Program& p, const ZDotOptions& options) {
  if (const std::string r = p.outer_nonlin_refusal(); !r.empty()) throw RouteUnavailable(r);
  if (options.replicas < 2) throw std::invalid_argument("the Monte Carlo limit needs at least 2 replicas for its error");
  check_integrable(p);
  const long long particles = particle_count(options);
  const auto plan_ptr = make_plan(p, options);
  const Plan& plan = *plan_ptr;
  const unsigned threads = concurrent_replicas(options);
  const double arrays = array_bytes(plan, options);
  const double held = resident_bytes();  // bytes_needed(plan, options) is held + arrays
  if (held + arrays > options.memory_budget_bytes) {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    const auto gib_text = [&](double bytes) { return format_number(std::round(bytes / gib * 10) / 10); };
    const std::string fix = held > options.memory_budget_bytes
                                ? "the program and its plan alone exceed it: raise --memory-budget, or use fewer points or steps"
                                : "use fewer --particles (and more --replicas), --threads 1, or raise --memory-budget";
    throw BudgetError(std::to_string(particles) + " particles need about " + gib_text(held + arrays) + " GiB (" +
                      gib_text(held) + " GiB held already by the program and its plan, " + gib_text(arrays) + " GiB for " +
                      std::to_string(threads) + (threads == 1 ? " replica" : " replicas") + " at once: " +
                      format_number(plan.peak_arrays()) + " particle arrays of doubles each, with a 1.5x allowance)" +
                      ", over the memory budget of " + gib_text(options.memory_budget_bytes) + " GiB; " + fix);
  }
  std::vector<Eigen::MatrixXd> factors;
  for (const auto& g : p.input_groups()) factors.push_back(psd_factor(g.covariance));
  // Jobs: per replica the whole point set, then (jackknife) its two halves. Under mpirun the replicas are split
  // in contiguous blocks over the processes (limits/distributed.h); each process runs its block's jobs on its
  // threads and returns one row per replica (its jackknifed outputs), so the rows, and the means over them, are
  // bitwise those of one process: replica r depends only on (seed, r).
  const std::size_t parts = options.jackknife ? 3 : 1;
  const auto replicas = static_cast<std::size_t>(options.replicas);
  const std::size_t outputs = p.outputs().size();
  const std::vector<std::vector<double>> rows = distributed_rows(replicas, [&](IndexBlock block) {
    std::vector<std::vector<double>> per_job(block.size() * parts);
    std::vector<int> parts_left(block.size(), static_cast<int>(parts));
    std::mutex progress_mutex;
    std::size_t done = 0;
    parallel_for(per_job.size(), threads, [&](std::size_t job) {
      const std::size_t local = job / parts, part = job % parts;
      const long long half = particles / 2;
      const long long first = part == 2 ? half : 0;
      const long long count = part == 0 ? particles : half;
      per_job[job] = Replica(plan, factors, options, block.begin + local, first, static_cast<Eigen::Index>(count)).run();
      if (!options.progress) return;
      const std::lock_guard<std::mutex> lock(progress_mutex);
      if (--parts_left[local] == 0) options.progress(++done, block.size());
    });
    std::vector<std::vector<double>> block_rows(block.size(), std::vector<double>(outputs));
    for (std::size_t r = 0; r < block.size(); ++r)
      for (std::size_t j = 0; j < outputs; ++j) {
        const double whole = per_job[r * parts][j];
        block_rows[r][j] =
            parts == 1 ? whole : 2.0 * whole - 0.5 * (per_job[r * parts + 1][j] + per_job[r * parts + 2][j]);
      }
    return block_rows;
  });
  LimitResult out;
  for (std::size_t j = 0; j < p.outputs().size(); ++j) {
    out.names.push_back(p.outputs()[j].name);
    std::vector<double> xs;
    for (std::size_t r = 0; r < replicas; ++r) xs.push_back(rows[r][j]);
    out.outputs.push_back(mean_with_error(xs, Route::monte_carlo));
  }
  return out;
}

}  // namespace tp::limits

// See finite.h.
#include "limits/finite.h"

#include <Eigen/Eigenvalues>
#include <algorithm>
#include <atomic>
#include <map>
#include <cmath>
#include <memory>
#include <mutex>

#include "limits/distributed.h"
#include "limits/memory_budget.h"
#include "limits/multi_matvec.h"
#include "limits/npy_file.h"
#include "limits/parallel.h"
#include "limits/rng.h"
#include "limits/statistics.h"
#include "tp/compiled_expr.h"
#include "tp/errors.h"
#include "tp/expr.h"

namespace tp::limits {

namespace {

// A symmetric square root factor L (Σ = L Lᵀ) that tolerates singular PSD Σ.
Eigen::MatrixXd psd_factor(const Eigen::MatrixXd& cov) {
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(cov);
  Eigen::VectorXd ev = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return es.eigenvectors() * ev.asDiagonal();
}

std::string where(const Value& v) {
  std::string s = "'" + v.name + "'";
  if (v.range.valid()) s += " (line " + std::to_string(v.range.begin.line) + ")";
  return s;
}

// The order the executor runs the ops in. MatMuls with the same matrix and transposition whose operands
// are all ready run together as one matrix-matrix product (one pass over the n×n matrix for k vectors
// instead of k passes: the unrolled training programs of tp/unroll.h multiply the same M^l by every
// training and evaluation point). Level d of a value = the largest level of its operands, plus one for a
// MatMul; the schedule runs, for d = 0, 1, ...: the MatMuls of level d in batches (one per matrix and
// transposition, in order of first appearance), then the other ops of level d in program order. Every
// operand is computed before its use (a MatMul of level d needs values of level < d; another op of level d
// needs values of level ≤ d, which are either MatMuls of level d or earlier ops in program order).
struct Step {
  std::vector<ValueId> ids;  ///< one op, or a batch of MatMuls sharing matrix and transposition
};

std::vector<Step> schedule(const Program& p) {
  const std::size_t count = p.size();
  std::vector<int> level(count, 0);
  int top = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const Value& v = p.values()[i];
    int d = 0;
    for (ValueId o : v.operands) d = std::max(d, level[static_cast<std::size_t>(o)]);
    level[i] = d + (v.op == Op::MatMul ? 1 : 0);
    top = std::max(top, level[i]);
  }
  std::vector<std::vector<std::size_t>> by_level(static_cast<std::size_t>(top) + 1);
  for (std::size_t i = 0; i < count; ++i) by_level[static_cast<std::size_t>(level[i])].push_back(i);
  std::vector<Step> steps;
  for (const auto& ids : by_level) {
    std::map<std::pair<ValueId, bool>, std::size_t> batch_of;  // (matrix, transposed) → index into steps
    for (std::size_t i : ids) {
      const Value& v = p.values()[i];
      if (v.op != Op::MatMul) continue;
      const auto key = std::make_pair(v.operands[0], v.transposed);
      auto [it, fresh] = batch_of.emplace(key, steps.size());
      if (fresh) steps.emplace_back();
      steps[it->second].ids.push_back(static_cast<ValueId>(i));
    }
    for (std::size_t i : ids)
      if (p.values()[i].op != Op::MatMul) steps.push_back({{static_cast<ValueId>(i)}});
  }
  return steps;
}

std::size_t largest_batch(const std::vector<Step>& steps) {
  std::size_t k = 1;
  for (const Step& s : steps) k = std::max(k, s.ids.size());
  return k;
}

class Runner {
 public:
  Runner(const Program& p, std::size_t n, std::string save_dir)
      : p_(p), n_(static_cast<Eigen::Index>(n)), steps_(schedule(p)), save_dir_(std::move(save_dir)) {
    for (const auto& g : p.input_groups()) factors_.push_back(psd_factor(g.covariance));
    compiled_.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      if (!v.expr) continue;
      std::vector<bool> is_vec;
      for (std::size_t k = 0; k < v.operands.size(); ++k)  // an outer nonlinearity: row operands enter as scalars
        is_vec.push_back(v.op == Op::OuterNonlin ? bool(v.column[k]) : p.value(v.operands[k]).kind == ValueKind::Vector);
      compiled_[i] = std::make_unique<CompiledExpr>(v.expr, is_vec);
    }
    compute_liveness();
  }

  std::vector<double> run(std::uint64_t seed) const {
    const std::size_t count = p_.size();
    std::vector<Eigen::ArrayXd> vec(count);
    std::vector<Eigen::MatrixXd> mat(count);
    std::vector<double> sca(count, 0.0);
    for (std::size_t s = 0; s < steps_.size(); ++s) {
      const Step& step = steps_[s];
      if (p_.values()[static_cast<std::size_t>(step.ids[0])].op == Op::MatMul) multiply(step, mat, vec, seed);
      else run_op(static_cast<std::size_t>(step.ids[0]), seed, vec, mat, sca);
      // Matrices and vectors no later op needs are freed right away.
      for (ValueId dead : dies_at_[s]) {
        mat[static_cast<std::size_t>(dead)] = Eigen::MatrixXd();
        vec[static_cast<std::size_t>(dead)] = Eigen::ArrayXd();
      }
    }
    std::vector<double> out;
    for (const Output& o : p_.outputs()) out.push_back(sca[static_cast<std::size_t>(o.value)]);
    return out;
  }

 private:
  // A batch of MatMuls W x_1 … W x_k (or Wᵀ): one product with the n×k matrix of operands.
  void multiply(const Step& step, const std::vector<Eigen::MatrixXd>& mat, std::vector<Eigen::ArrayXd>& vec,
                std::uint64_t seed) const {
    const Value& first = p_.values()[static_cast<std::size_t>(step.ids[0])];
    const Eigen::MatrixXd& w = mat[static_cast<std::size_t>(first.operands[0])];
    const auto k = static_cast<Eigen::Index>(step.ids.size());
    Eigen::MatrixXd x(n_, k), y(n_, k);
    for (Eigen::Index j = 0; j < k; ++j) x.col(j) = vec[static_cast<std::size_t>(p_.value(step.ids[static_cast<std::size_t>(j)]).operands[1])].matrix();
    multi_matvec(w, first.transposed, x, y);
    for (Eigen::Index j = 0; j < k; ++j) {
      const auto i = static_cast<std::size_t>(step.ids[static_cast<std::size_t>(j)]);
      vec[i] = y.col(j).array();
      check(vec[i].allFinite(), p_.values()[i], seed);
    }
  }

  void run_op(std::size_t i, std::uint64_t seed, std::vector<Eigen::ArrayXd>& vec, std::vector<Eigen::MatrixXd>& mat,
              std::vector<double>& sca) const {
    const Value& v = p_.values()[i];
    switch (v.op) {
      case Op::InitVector: {
        if (v.index_in_group != 0) break;  // the whole group is sampled at its first member
        const InputGroup& g = p_.input_groups()[static_cast<std::size_t>(v.group)];
        const auto d = static_cast<Eigen::Index>(g.members.size());
        Rng rng(seed, i);
        Eigen::MatrixXd z(d, n_);
        rng.fill_normal(z.data(), static_cast<std::size_t>(d * n_));
        Eigen::MatrixXd x = factors_[static_cast<std::size_t>(v.group)] * z;
        for (Eigen::Index r = 0; r < d; ++r) {
          const auto m = static_cast<std::size_t>(g.members[static_cast<std::size_t>(r)]);
          vec[m] = x.row(r).transpose().array();
          save(m, seed, vec[m].matrix());
        }
        break;
      }
      case Op::InitMatrix: {
        Rng rng(seed, i);
        const double scale = std::sqrt(v.variance) / std::sqrt(static_cast<double>(n_));
        Eigen::MatrixXd& w = mat[i];
        w.resize(n_, n_);
        rng.fill_normal(w.data(), static_cast<std::size_t>(n_ * n_));
        w *= scale;
        save(i, seed, w);
        break;
      }
      case Op::MatMul: break;  // run in batches by multiply()
      case Op::WidthPower: sca[i] = Program::width_power(v, static_cast<double>(n_)); break;
      case Op::OuterNonlin: {
        // y_α = (1/n) Σ_β ψ(x_α; x'_β): the row operands' α-th coordinates as scalars, the columns as arrays (O(n² k))
        std::vector<ExprInput> in(v.operands.size());
        for (std::size_t k = 0; k < v.operands.size(); ++k) {
          const auto o = static_cast<std::size_t>(v.operands[k]);
          if (v.column[k]) in[k].array = &vec[o];
          else if (p_.values()[o].kind != ValueKind::Vector) in[k].scalar = sca[o];
        }
        Eigen::ArrayXd y(n_);
        for (Eigen::Index alpha = 0; alpha < n_; ++alpha) {
          for (std::size_t k = 0; k < v.operands.size(); ++k) {
            const auto o = static_cast<std::size_t>(v.operands[k]);
            if (!v.column[k] && p_.values()[o].kind == ValueKind::Vector) in[k].scalar = vec[o](alpha);
          }
          y(alpha) = compiled_[i]->eval(in, n_).mean();
        }
        check(y.allFinite(), v, seed);
        vec[i] = std::move(y);
        break;
      }
      case Op::Nonlin:
      case Op::Moment:
      case Op::ScalarExpr: {
        std::vector<ExprInput> in(v.operands.size());
        for (std::size_t k = 0; k < v.operands.size(); ++k) {
          const auto o = static_cast<std::size_t>(v.operands[k]);
          if (p_.values()[o].kind == ValueKind::Vector) in[k].array = &vec[o];
          else in[k].scalar = sca[o];
        }
        if (v.op == Op::ScalarExpr) {
          sca[i] = compiled_[i]->eval(in, 1)(0);
          check(std::isfinite(sca[i]), v, seed);
        } else {
          Eigen::ArrayXd y = compiled_[i]->eval(in, n_);
          check(y.allFinite(), v, seed);
          if (v.op == Op::Moment) sca[i] = y.mean();
          else vec[i] = std::move(y);
        }
        break;
      }
    }
  }

  // dies_at_[s]: the values whose last use is step s (values never used die where they are made).
  void compute_liveness() {
    std::vector<std::size_t> last(p_.size(), 0);
    for (std::size_t s = 0; s < steps_.size(); ++s)
      for (ValueId id : steps_[s].ids) {
        last[static_cast<std::size_t>(id)] = std::max(last[static_cast<std::size_t>(id)], s);
        for (ValueId o : p_.value(id).operands) last[static_cast<std::size_t>(o)] = std::max(last[static_cast<std::size_t>(o)], s);
      }
    dies_at_.assign(steps_.size(), {});
    for (std::size_t i = 0; i < p_.size(); ++i) dies_at_[last[i]].push_back(static_cast<ValueId>(i));
  }

  // FiniteOptions::save_init_dir: an initial value as <dir>/seed<seed>_<name>.npy.
  void save(std::size_t i, std::uint64_t seed, const Eigen::MatrixXd& m) const {
    if (save_dir_.empty()) return;
    write_npy(save_dir_ + "/seed" + std::to_string(seed) + "_" + p_.values()[i].name + ".npy", m);
  }

  void check(bool finite, const Value& v, std::uint64_t seed) const {
    if (finite) return;
    throw NumericalError("value " + where(v) + " became NaN or infinite at width n = " + std::to_string(n_) +
                         ", seed " + std::to_string(seed) +
                         "; check the nonlinearity's domain (e.g. log or sqrt of a negative number) and the scales");
  }

  const Program& p_;
  Eigen::Index n_;
  std::vector<Step> steps_;
  std::string save_dir_;
  std::vector<Eigen::MatrixXd> factors_;
  std::vector<std::unique_ptr<CompiledExpr>> compiled_;
  std::vector<std::vector<ValueId>> dies_at_;
};

}  // namespace

double finite_memory_bytes(const Program& p, std::size_t width, unsigned concurrent_seeds) {
  double matrices = 0, vectors = 0;
  for (const auto& v : p.values()) {
    if (v.kind == ValueKind::Matrix) matrices += 1;
    if (v.kind == ValueKind::Vector) vectors += 1;
  }
  const double n = static_cast<double>(width);
  // every vector live at once at worst, plus a batched product's n×k operands and results
  const double batch = static_cast<double>(largest_batch(schedule(p)));
  return concurrent_seeds * 8.0 * (matrices * n * n + (vectors + 4 + 2 * batch) * n);
}

namespace {

unsigned concurrent_seeds(const FiniteOptions& options) {
  const unsigned threads = options.threads ? options.threads : default_threads();
  return static_cast<unsigned>(std::min<std::size_t>(threads, options.seeds.size()));
}

}  // namespace

void check_finite_budget(const Program& p, const FiniteOptions& options) {
  const unsigned threads = concurrent_seeds(options);
  check_memory_budget({"width n = " + std::to_string(options.width), finite_memory_bytes(p, options.width, threads),
                       std::to_string(threads) + (threads == 1 ? " seed" : " seeds") + " at once, n×n matrices of doubles",
                       "use a smaller width, --threads 1, or raise --memory-budget"},
                      options.memory_budget_bytes);
}

FiniteResult run_finite(const Program& p, const FiniteOptions& options) {
  if (options.width == 0) throw std::invalid_argument("width must be at least 1");
  if (options.seeds.empty()) throw std::invalid_argument("at least one seed is needed");
  check_finite_budget(p, options);
  const unsigned threads = concurrent_seeds(options);
  Runner runner(p, options.width, options.save_init_dir);
  FiniteResult result;
  result.width = options.width;
  for (const auto& o : p.outputs()) result.names.push_back(o.name);
  // Seeds in blocks over the MPI processes (limits/distributed.h; one process: all of them), each block on
  // this process's threads; progress counts this process's block.
  const auto rows = distributed_rows(options.seeds.size(), [&](IndexBlock block) {
    std::vector<std::vector<double>> values(block.size());
    std::atomic<std::size_t> done{0};
    std::mutex progress_mutex;
    parallel_for(block.size(), threads, [&](std::size_t k) {
      values[k] = runner.run(options.seeds[block.begin + k]);
      const std::size_t finished = ++done;
      if (options.progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        options.progress(finished, block.size());
      }
    });
    return values;
  });
  result.per_seed.resize(options.seeds.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    result.per_seed[k].seed = options.seeds[k];
    result.per_seed[k].values = rows[k];
  }
  for (std::size_t j = 0; j < result.names.size(); ++j) {
    std::vector<double> xs;
    for (const auto& s : result.per_seed) xs.push_back(s.values[j]);
    result.summary.push_back(mean_with_error(xs, Route::finite_width));
  }
  return result;
}

}  // namespace tp::limits

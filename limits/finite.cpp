// See finite.h.
#include "limits/finite.h"

#include <Eigen/Eigenvalues>
#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>

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

class Runner {
 public:
  Runner(const Program& p, std::size_t n) : p_(p), n_(static_cast<Eigen::Index>(n)) {
    for (const auto& g : p.input_groups()) factors_.push_back(psd_factor(g.covariance));
    compiled_.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      const Value& v = p.values()[i];
      if (!v.expr) continue;
      std::vector<bool> is_vec;
      for (ValueId o : v.operands) is_vec.push_back(p.value(o).kind == ValueKind::Vector);
      compiled_[i] = std::make_unique<CompiledExpr>(v.expr, is_vec);
    }
  }

  std::vector<double> run(std::uint64_t seed) const {
    const std::size_t count = p_.size();
    std::vector<Eigen::ArrayXd> vec(count);
    std::vector<Eigen::MatrixXd> mat(count);
    std::vector<double> sca(count, 0.0);
    const double sqrt_n = std::sqrt(static_cast<double>(n_));
    for (std::size_t i = 0; i < count; ++i) {
      const Value& v = p_.values()[i];
      switch (v.op) {
        case Op::InitVector: {
          if (v.index_in_group != 0) break;  // the whole group is sampled at its first member
          const InputGroup& g = p_.input_groups()[v.group];
          const Eigen::Index d = static_cast<Eigen::Index>(g.members.size());
          Rng rng(seed, i);
          Eigen::MatrixXd z(d, n_);
          rng.fill_normal(z.data(), static_cast<std::size_t>(d * n_));
          Eigen::MatrixXd x = factors_[v.group] * z;
          for (Eigen::Index r = 0; r < d; ++r) vec[g.members[r]] = x.row(r).transpose().array();
          break;
        }
        case Op::InitMatrix: {
          Rng rng(seed, i);
          const double scale = std::sqrt(v.variance) / sqrt_n;
          Eigen::MatrixXd& w = mat[i];
          w.resize(n_, n_);
          rng.fill_normal(w.data(), static_cast<std::size_t>(n_ * n_));
          w *= scale;
          break;
        }
        case Op::MatMul: {
          const Eigen::MatrixXd& w = mat[v.operands[0]];
          const Eigen::VectorXd x = vec[v.operands[1]].matrix();
          vec[i] = v.transposed ? (w.transpose() * x).array().eval() : (w * x).array().eval();
          check(vec[i].allFinite(), v, seed);
          break;
        }
        case Op::WidthPower: sca[i] = Program::width_power(v, static_cast<double>(n_)); break;
        case Op::Nonlin:
        case Op::Moment:
        case Op::ScalarExpr: {
          std::vector<ExprInput> in(v.operands.size());
          for (std::size_t k = 0; k < v.operands.size(); ++k) {
            const ValueId o = v.operands[k];
            if (p_.value(o).kind == ValueKind::Vector) in[k].array = &vec[o];
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
      // Matrices and vectors no later op needs are freed right away.
      for (ValueId dead : last_uses_at(i)) {
        mat[dead] = Eigen::MatrixXd();
        vec[dead] = Eigen::ArrayXd();
      }
    }
    std::vector<double> out;
    for (const Output& o : p_.outputs()) out.push_back(sca[o.value]);
    return out;
  }

  void compute_liveness() {
    std::vector<std::size_t> last(p_.size(), 0);
    for (std::size_t i = 0; i < p_.size(); ++i) {
      last[i] = i;
      for (ValueId o : p_.values()[i].operands) last[o] = i;
    }
    dies_at_.assign(p_.size(), {});
    for (std::size_t i = 0; i < p_.size(); ++i) dies_at_[last[i]].push_back(static_cast<ValueId>(i));
  }

 private:
  const std::vector<ValueId>& last_uses_at(std::size_t i) const { return dies_at_[i]; }
  void check(bool finite, const Value& v, std::uint64_t seed) const {
    if (finite) return;
    throw NumericalError("value " + where(v) + " became NaN or infinite at width n = " + std::to_string(n_) +
                         ", seed " + std::to_string(seed) +
                         "; check the nonlinearity's domain (e.g. log or sqrt of a negative number) and the scales");
  }

  const Program& p_;
  Eigen::Index n_;
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
  return concurrent_seeds * 8.0 * (matrices * n * n + (vectors + 4) * n);
}

namespace {

unsigned concurrent_seeds(const FiniteOptions& options) {
  const unsigned threads = options.threads ? options.threads : default_threads();
  return static_cast<unsigned>(std::min<std::size_t>(threads, options.seeds.size()));
}

}  // namespace

void check_finite_budget(const Program& p, const FiniteOptions& options) {
  const unsigned threads = concurrent_seeds(options);
  const double need = finite_memory_bytes(p, options.width, threads);
  if (need > options.memory_budget_bytes) {
    const double gib = 1024.0 * 1024.0 * 1024.0;
    throw BudgetError("width n = " + std::to_string(options.width) + " needs about " + format_number(std::round(need / gib * 10) / 10) +
                      " GiB (" + std::to_string(threads) + " seeds at once, n×n matrices of doubles), over the memory budget of " +
                      format_number(std::round(options.memory_budget_bytes / gib * 10) / 10) +
                      " GiB; use a smaller width, --threads 1, or raise --memory-budget");
  }
}

FiniteResult run_finite(const Program& p, const FiniteOptions& options) {
  if (options.width == 0) throw std::invalid_argument("width must be at least 1");
  if (options.seeds.empty()) throw std::invalid_argument("at least one seed is needed");
  check_finite_budget(p, options);
  const unsigned threads = concurrent_seeds(options);
  Runner runner(p, options.width);
  runner.compute_liveness();
  FiniteResult result;
  result.width = options.width;
  for (const auto& o : p.outputs()) result.names.push_back(o.name);
  result.per_seed.resize(options.seeds.size());
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  parallel_for(options.seeds.size(), threads, [&](std::size_t k) {
    result.per_seed[k].seed = options.seeds[k];
    result.per_seed[k].values = runner.run(options.seeds[k]);
    const std::size_t finished = ++done;
    if (options.progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      options.progress(finished, options.seeds.size());
    }
  });
  for (std::size_t j = 0; j < result.names.size(); ++j) {
    std::vector<double> xs;
    for (const auto& s : result.per_seed) xs.push_back(s.values[j]);
    result.summary.push_back(mean_with_error(xs, Route::finite_width));
  }
  return result;
}

}  // namespace tp::limits

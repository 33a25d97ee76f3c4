// See kernel_maml.h.
#include "apps/maml/kernel_maml.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/maml/maml_error.h"
#include "limits/closed_forms.h"
#include "limits/parallel.h"

namespace tp::maml {

std::string kernel_kind_name(KernelKind kind) {
  switch (kind) {
    case KernelKind::linear_nngp: return "linear-gp";
    case KernelKind::linear_ntk: return "linear-ntk";
    case KernelKind::relu_nngp: return "relu-gp";
    case KernelKind::relu_ntk: return "relu-ntk";
  }
  return "?";
}

bool parse_kernel_kind(const std::string& name, KernelKind& kind) {
  for (KernelKind k : {KernelKind::linear_nngp, KernelKind::linear_ntk, KernelKind::relu_nngp, KernelKind::relu_ntk}) {
    std::string n = kernel_kind_name(k);
    std::string alt = n;
    if (auto pos = alt.find("gp"); pos != std::string::npos) alt.replace(pos, 2, "nngp");
    if (name == n || name == alt) {
      kind = k;
      return true;
    }
  }
  return false;
}

void validate(const KernelSpec& s) {
  if (!(s.sigma_u > 0.0) || !std::isfinite(s.sigma_u)) throw MamlError("--sigma-u must be a positive number");
  if (!(s.sigma_v > 0.0) || !std::isfinite(s.sigma_v)) throw MamlError("--sigma-v must be a positive number");
  if (!(s.sigma_b >= 0.0) || !std::isfinite(s.sigma_b)) throw MamlError("--sigma-b must be a number >= 0");
}

namespace {

bool is_linear(KernelKind k) { return k == KernelKind::linear_nngp || k == KernelKind::linear_ntk; }

/// K(x, x') = a x·x' + c for the linear kernels.
std::pair<double, double> linear_coefficients(const KernelSpec& s, Eigen::Index d) {
  const double factor = (s.kind == KernelKind::linear_ntk ? 2.0 : 1.0) * s.sigma_v * s.sigma_v;
  return {factor * s.sigma_u * s.sigma_u / static_cast<double>(d), factor * s.sigma_b * s.sigma_b};
}

}  // namespace

Eigen::MatrixXd kernel_matrix(const KernelSpec& s, const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  const double d = static_cast<double>(a.rows());
  const double su2 = s.sigma_u * s.sigma_u / d, sb2 = s.sigma_b * s.sigma_b, sv2 = s.sigma_v * s.sigma_v;
  Eigen::MatrixXd k1 = su2 * (a.transpose() * b);
  k1.array() += sb2;
  const Eigen::VectorXd ka = su2 * a.colwise().squaredNorm().transpose().array() + sb2;
  const Eigen::VectorXd kb = su2 * b.colwise().squaredNorm().transpose().array() + sb2;
  Eigen::MatrixXd k(a.cols(), b.cols());
  for (Eigen::Index j = 0; j < b.cols(); ++j)
    for (Eigen::Index i = 0; i < a.cols(); ++i) {
      const double k12 = k1(i, j);
      switch (s.kind) {
        case KernelKind::linear_nngp: k(i, j) = sv2 * limits::expect_identity_identity(ka[i], k12, kb[j]); break;
        case KernelKind::linear_ntk: k(i, j) = 2.0 * sv2 * limits::expect_identity_identity(ka[i], k12, kb[j]); break;
        case KernelKind::relu_nngp: k(i, j) = sv2 * limits::expect_relu_relu(ka[i], k12, kb[j]); break;
        case KernelKind::relu_ntk:
          k(i, j) = sv2 * (limits::expect_relu_relu(ka[i], k12, kb[j]) + limits::expect_step_step(ka[i], k12, kb[j]) * k12);
          break;
      }
    }
  return k;
}

KernelFunction::KernelFunction(KernelSpec spec, Eigen::Index input_dim, Eigen::Index output_dim)
    : spec_(spec), d_(input_dim), d_out_(output_dim), collapsed_(is_linear(spec.kind)) {
  validate(spec);
  w_ = Eigen::MatrixXd::Zero(d_out_, d_);
  b_ = Eigen::VectorXd::Zero(d_out_);
}

Eigen::MatrixXd KernelFunction::operator()(const Eigen::MatrixXd& x, unsigned threads) const {
  if (collapsed_) {
    Eigen::MatrixXd f = w_ * x;
    f.colwise() += b_;
    return f;
  }
  Eigen::MatrixXd f = Eigen::MatrixXd::Zero(d_out_, x.cols());
  if (size_ == 0) return f;
  const unsigned t = threads == 0 ? limits::default_threads() : threads;
  const Eigen::Index blocks = std::max<Eigen::Index>(1, std::min<Eigen::Index>(size_ / 256, t));
  const Eigen::Index step = (size_ + blocks - 1) / blocks;
  std::vector<Eigen::MatrixXd> parts(static_cast<std::size_t>(blocks));
  limits::parallel_for(static_cast<std::size_t>(blocks), t, [&](std::size_t i) {
    const Eigen::Index s0 = static_cast<Eigen::Index>(i) * step, len = std::min(step, size_ - s0);
    parts[i] = len > 0 ? Eigen::MatrixXd(coef_.middleCols(s0, len) * kernel_matrix(spec_, xi_.middleCols(s0, len), x))
                       : Eigen::MatrixXd::Zero(d_out_, x.cols());
  });
  for (const auto& p : parts) f += p;
  return f;
}

void KernelFunction::add(const Eigen::MatrixXd& x, const std::vector<std::size_t>& ids, const Eigen::MatrixXd& coef) {
  if (collapsed_) {
    const auto [a, c] = linear_coefficients(spec_, d_);
    w_.noalias() += a * (coef * x.transpose());
    b_ += c * coef.rowwise().sum();
    return;
  }
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    auto [it, fresh] = slot_.try_emplace(ids[static_cast<std::size_t>(j)], size_);
    if (fresh) {
      if (size_ == xi_.cols()) {
        const Eigen::Index cap = std::max<Eigen::Index>(64, 2 * size_);
        xi_.conservativeResize(d_, cap);
        coef_.conservativeResize(d_out_, cap);
      }
      xi_.col(size_) = x.col(j);
      coef_.col(size_).setZero();
      ++size_;
    }
    coef_.col(it->second) += coef.col(j);
  }
}

std::vector<Eigen::MatrixXd> KernelFunction::state() const {
  if (collapsed_) return {w_, b_};
  Eigen::MatrixXd ids(1, size_);
  for (const auto& [id, slot] : slot_) ids(0, slot) = static_cast<double>(id);
  return {xi_.leftCols(size_), coef_.leftCols(size_), ids};
}

void KernelFunction::restore(const std::vector<Eigen::MatrixXd>& st) {
  if (collapsed_) {
    if (st.size() != 2 || st[0].rows() != d_out_ || st[0].cols() != d_ || st[1].size() != d_out_)
      throw MamlError("the kernel model's state does not match its dimensions");
    w_ = st[0];
    b_ = Eigen::Map<const Eigen::VectorXd>(st[1].data(), d_out_);
    return;
  }
  if (st.size() != 3 || st[0].rows() != d_ || st[1].rows() != d_out_ || st[1].cols() != st[0].cols() ||
      st[2].cols() != st[0].cols())
    throw MamlError("the kernel model's stack does not match its dimensions");
  xi_ = st[0];
  coef_ = st[1];
  size_ = st[0].cols();
  slot_.clear();
  for (Eigen::Index j = 0; j < size_; ++j) slot_[static_cast<std::size_t>(st[2](0, j))] = j;
}

namespace {

struct KernelAdapted {
  Eigen::MatrixXd fq;  ///< d_o × m_q
};

KernelAdapted kernel_adapt(const KernelFunction& f, const Task& t, int steps, double lr) {
  const Eigen::Index ms = t.support.cols();
  const Eigen::MatrixXd fs0 = f(t.support), fq0 = f(t.query);
  const Eigen::MatrixXd kss = kernel_matrix(f.spec(), t.support, t.support);
  const Eigen::MatrixXd ksq = kernel_matrix(f.spec(), t.support, t.query);
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(fs0.rows(), ms);  // the task's inner-loop stack on its support set
  for (int k = 0; k < steps; ++k) a -= lr * cross_entropy_gradient(fs0 + a * kss, t.support_labels);
  return {fq0 + a * ksq};
}

}  // namespace

MetaStepStats kernel_maml_step(KernelFunction& f, const std::vector<Task>& tasks, const FomamlOptions& options) {
  validate(options);
  if (tasks.empty()) throw MamlError("a meta-step needs at least one task (--batch >= 1)");
  const std::size_t count = tasks.size();
  std::vector<Eigen::Index> qoff(1, 0);
  for (const auto& t : tasks) qoff.push_back(qoff.back() + t.query.cols());
  const Eigen::Index d = tasks[0].query.rows();
  Eigen::MatrixXd xq(d, qoff.back()), g(f.output_dim(), qoff.back());
  std::vector<std::size_t> ids(static_cast<std::size_t>(qoff.back()));
  std::vector<double> losses(count, 0.0), accs(count, 0.0);
  limits::parallel_for(count, options.threads, [&](std::size_t i) {
    const auto& t = tasks[i];
    KernelAdapted a = kernel_adapt(f, t, options.train_inner_steps, options.inner_lr);
    g.middleCols(qoff[i], t.query.cols()) = cross_entropy_gradient(a.fq, t.query_labels, &losses[i]);
    xq.middleCols(qoff[i], t.query.cols()) = t.query;
    std::copy(t.query_ids.begin(), t.query_ids.end(), ids.begin() + qoff[i]);
    accs[i] = task_accuracies({a.fq}, {t})[0];
  });
  MetaStepStats stats;
  const double norm2 = ((g.transpose() * g).array() * kernel_matrix(f.spec(), xq, xq).array()).sum();
  stats.grad_norm = std::sqrt(std::max(0.0, norm2));
  for (std::size_t i = 0; i < count; ++i) {
    stats.query_loss += losses[i] / static_cast<double>(count);
    stats.query_accuracy += accs[i] / static_cast<double>(count);
  }
  const double scale = options.clip > 0.0 && stats.grad_norm > options.clip ? options.clip / stats.grad_norm : 1.0;
  f.add(xq, ids, -options.meta_lr * scale * g);
  if (!std::isfinite(stats.query_loss)) throw MamlError("kernel meta-training diverged: lower --meta-lr or --inner-lr");
  return stats;
}

std::vector<Eigen::MatrixXd> kernel_adapted_query_logits(const KernelFunction& f, const std::vector<Task>& tasks,
                                                         int inner_steps, const FomamlOptions& options) {
  validate(options);
  std::vector<Eigen::MatrixXd> out(tasks.size());
  limits::parallel_for(tasks.size(), options.threads,
                       [&](std::size_t i) { out[i] = kernel_adapt(f, tasks[i], inner_steps, options.inner_lr).fq; });
  return out;
}

}  // namespace tp::maml

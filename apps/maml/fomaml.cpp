// See fomaml.h.
#include "apps/maml/fomaml.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/maml/maml_error.h"
#include "limits/parallel.h"

namespace tp::maml {

namespace {

/// Calls body(r0, len) for blocks of rows [r0, r0 + len) covering [0, rows), in parallel over the threads
/// (Eigen's matrix product is single-threaded; blocks of at least 64 rows, up to 4 per thread).
void for_row_blocks(Eigen::Index rows, unsigned threads, const std::function<void(Eigen::Index, Eigen::Index)>& body) {
  const unsigned t = threads == 0 ? limits::default_threads() : threads;
  const Eigen::Index blocks = std::max<Eigen::Index>(1, std::min<Eigen::Index>(rows / 64, 4 * t));
  const Eigen::Index step = (rows + blocks - 1) / blocks;
  limits::parallel_for(static_cast<std::size_t>(blocks), t, [&](std::size_t i) {
    const Eigen::Index r0 = static_cast<Eigen::Index>(i) * step;
    const Eigen::Index len = std::min(step, rows - r0);
    if (len > 0) body(r0, len);
  });
}

/// out = a * b, rows split over the threads.
void parallel_product(Eigen::MatrixXd& out, const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, unsigned threads) {
  out.resize(a.rows(), b.cols());
  for_row_blocks(a.rows(), threads,
                 [&](Eigen::Index r0, Eigen::Index len) { out.middleRows(r0, len).noalias() = a.middleRows(r0, len) * b; });
}

/// a −= s · p qᵀ, rows split over the threads.
void parallel_rank_update(Eigen::MatrixXd& a, double s, const Eigen::MatrixXd& p, const Eigen::MatrixXd& q,
                          unsigned threads) {
  for_row_blocks(a.rows(), threads, [&](Eigen::Index r0, Eigen::Index len) {
    a.middleRows(r0, len).noalias() -= s * (p.middleRows(r0, len) * q.transpose());
  });
}

/// A task after adaptation: its adapted v and the adapted hidden vectors and logits of its query images.
struct Adapted {
  Eigen::MatrixXd v;   ///< d_o × h
  Eigen::MatrixXd hq;  ///< h × m_query
  Eigen::MatrixXd fq;  ///< d_o × m_query
};

/// Inner loop of one task. h holds u Z + αβ for Z = [support, query] (h × (m_s + m_q)); see fomaml.h.
Adapted adapt(const LinearNet& net, const Task& t, Eigen::MatrixXd h, int steps, double lr) {
  const Eigen::Index ms = t.support.cols(), mq = t.query.cols();
  Eigen::MatrixXd gram(ms, ms + mq);  // X_sᵀ Z + α² 1 1ᵀ: how an update of (u, β) along X_s moves H
  gram.leftCols(ms).noalias() = t.support.transpose() * t.support;
  gram.rightCols(mq).noalias() = t.support.transpose() * t.query;
  gram.array() += net.alpha * net.alpha;
  Eigen::MatrixXd v = net.v;
  for (int k = 0; k < steps; ++k) {
    const Eigen::MatrixXd fs = v * h.leftCols(ms);
    const Eigen::MatrixXd g = cross_entropy_gradient(fs, t.support_labels);
    const Eigen::MatrixXd vtg = v.transpose() * g;  // h × m_s, with the pre-step v
    v.noalias() -= lr * (g * h.leftCols(ms).transpose());
    h.noalias() -= lr * (vtg * gram);
  }
  Adapted a;
  a.hq = h.rightCols(mq);
  a.fq = v * a.hq;
  a.v = std::move(v);
  return a;
}

/// u Z + αβ for every task's [support, query] at once (one product split over the threads); column offsets
/// of task τ in the result are offsets[τ].
Eigen::MatrixXd batch_features(const LinearNet& net, const std::vector<Task>& tasks, std::size_t begin,
                               std::size_t end, std::vector<Eigen::Index>& offsets, unsigned threads) {
  offsets.assign(1, 0);
  for (std::size_t i = begin; i < end; ++i) offsets.push_back(offsets.back() + tasks[i].support.cols() + tasks[i].query.cols());
  Eigen::MatrixXd z(net.input_dim(), offsets.back());
  for (std::size_t i = begin; i < end; ++i) {
    const auto& t = tasks[i];
    if (t.support.rows() != net.input_dim() || t.query.rows() != net.input_dim())
      throw MamlError(fmt::format("a task's images have {} pixels but the network expects {}", t.support.rows(),
                                  net.input_dim()));
    z.middleCols(offsets[i - begin], t.support.cols()) = t.support;
    z.middleCols(offsets[i - begin] + t.support.cols(), t.query.cols()) = t.query;
  }
  Eigen::MatrixXd h;
  parallel_product(h, net.u, z, threads);
  if (net.alpha != 0.0) h.colwise() += net.alpha * net.beta;
  return h;
}

}  // namespace

Eigen::MatrixXd cross_entropy_gradient(const Eigen::MatrixXd& logits, const std::vector<int>& labels, double* loss) {
  const Eigen::Index m = logits.cols();
  Eigen::MatrixXd g(logits.rows(), m);
  double total = 0.0;
  for (Eigen::Index j = 0; j < m; ++j) {
    const double mx = logits.col(j).maxCoeff();
    const Eigen::VectorXd e = (logits.col(j).array() - mx).exp();
    const double z = e.sum();
    g.col(j) = e / z;
    const int y = labels[static_cast<std::size_t>(j)];
    total += -(logits(y, j) - mx - std::log(z));
    g(y, j) -= 1.0;
  }
  g /= static_cast<double>(m);
  if (loss) *loss += total / static_cast<double>(m);
  return g;
}

void validate(const FomamlOptions& o) {
  if (!(o.inner_lr > 0.0) || !std::isfinite(o.inner_lr)) throw MamlError("--inner-lr must be a positive number");
  if (!(o.meta_lr > 0.0) || !std::isfinite(o.meta_lr)) throw MamlError("--meta-lr must be a positive number");
  if (!(o.clip >= 0.0) || !std::isfinite(o.clip)) throw MamlError("--clip must be a number >= 0 (0: no clipping)");
  if (o.train_inner_steps < 1 || o.train_inner_steps > 1000)
    throw MamlError(fmt::format("--inner-steps must be in [1, 1000] (got {})", o.train_inner_steps));
  if (o.test_inner_steps < 1 || o.test_inner_steps > 1000)
    throw MamlError(fmt::format("--test-inner-steps must be in [1, 1000] (got {})", o.test_inner_steps));
}

MetaStepStats fomaml_step(LinearNet& net, const std::vector<Task>& tasks, const FomamlOptions& options) {
  validate(options);
  if (tasks.empty()) throw MamlError("a meta-step needs at least one task (--batch >= 1)");
  const std::size_t count = tasks.size();
  std::vector<Eigen::Index> offsets;
  const Eigen::MatrixXd h0 = batch_features(net, tasks, 0, count, offsets, options.threads);

  std::vector<Eigen::Index> qoff(1, 0);
  for (const auto& t : tasks) qoff.push_back(qoff.back() + t.query.cols());
  Eigen::MatrixXd p(net.hidden(), qoff.back());      // [v'_τᵀ G_τ]_τ: g_u = p X_qᵀ, g_β = α p 1
  Eigen::MatrixXd xq(net.input_dim(), qoff.back());  // [X_q,τ]_τ
  std::vector<Eigen::MatrixXd> gv(count);
  std::vector<double> losses(count, 0.0), accs(count, 0.0);
  limits::parallel_for(count, options.threads, [&](std::size_t i) {
    const auto& t = tasks[i];
    const Eigen::Index m = t.support.cols() + t.query.cols();
    Adapted a = adapt(net, t, h0.middleCols(offsets[i], m), options.train_inner_steps, options.inner_lr);
    const Eigen::MatrixXd g = cross_entropy_gradient(a.fq, t.query_labels, &losses[i]);
    p.middleCols(qoff[i], t.query.cols()).noalias() = a.v.transpose() * g;
    xq.middleCols(qoff[i], t.query.cols()) = t.query;
    gv[i].noalias() = g * a.hq.transpose();
    accs[i] = task_accuracies({a.fq}, {t})[0];
  });
  Eigen::MatrixXd g_v = Eigen::MatrixXd::Zero(net.output_dim(), net.hidden());
  for (const auto& x : gv) g_v += x;
  const Eigen::VectorXd g_beta = net.alpha * p.rowwise().sum();
  const Eigen::MatrixXd pp = p.transpose() * p, xx = xq.transpose() * xq;
  const double norm2 = g_v.squaredNorm() + (net.alpha != 0.0 ? g_beta.squaredNorm() : 0.0) + (pp.array() * xx.array()).sum();

  MetaStepStats stats;
  stats.grad_norm = std::sqrt(std::max(0.0, norm2));
  for (std::size_t i = 0; i < count; ++i) {
    stats.query_loss += losses[i] / static_cast<double>(count);
    stats.query_accuracy += accs[i] / static_cast<double>(count);
  }
  const double scale = options.clip > 0.0 && stats.grad_norm > options.clip ? options.clip / stats.grad_norm : 1.0;
  const double s = options.meta_lr * scale;
  parallel_rank_update(net.u, s, p, xq, options.threads);
  if (net.alpha != 0.0) net.beta -= s * g_beta;
  net.v -= s * g_v;
  if (!std::isfinite(net.v.squaredNorm()) || !std::isfinite(stats.query_loss))
    throw MamlError("meta-training diverged (non-finite loss or weights): lower --meta-lr or --inner-lr");
  return stats;
}

std::vector<Eigen::MatrixXd> adapted_query_logits(const LinearNet& net, const std::vector<Task>& tasks,
                                                  int inner_steps, const FomamlOptions& options) {
  validate(options);
  std::vector<Eigen::MatrixXd> out(tasks.size());
  constexpr std::size_t chunk = 64;  // bounds the batch's hidden vectors to h × 64 (m_s + m_q)
  for (std::size_t begin = 0; begin < tasks.size(); begin += chunk) {
    const std::size_t end = std::min(tasks.size(), begin + chunk);
    std::vector<Eigen::Index> offsets;
    const Eigen::MatrixXd h0 = batch_features(net, tasks, begin, end, offsets, options.threads);
    limits::parallel_for(end - begin, options.threads, [&](std::size_t i) {
      const auto& t = tasks[begin + i];
      const Eigen::Index m = t.support.cols() + t.query.cols();
      out[begin + i] = adapt(net, t, h0.middleCols(offsets[i], m), inner_steps, options.inner_lr).fq;
    });
  }
  return out;
}

std::vector<double> task_accuracies(const std::vector<Eigen::MatrixXd>& query_logits, const std::vector<Task>& tasks) {
  std::vector<double> acc(query_logits.size(), 0.0);
  for (std::size_t i = 0; i < query_logits.size(); ++i) {
    const auto& f = query_logits[i];
    int right = 0;
    for (Eigen::Index j = 0; j < f.cols(); ++j) {
      Eigen::Index best = 0;
      f.col(j).maxCoeff(&best);
      right += static_cast<int>(best) == tasks[i].query_labels[static_cast<std::size_t>(j)];
    }
    acc[i] = f.cols() > 0 ? static_cast<double>(right) / static_cast<double>(f.cols()) : 0.0;
  }
  return acc;
}

}  // namespace tp::maml

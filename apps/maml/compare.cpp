// See compare.h.
#include "apps/maml/compare.h"

#include <algorithm>
#include <chrono>

#include "apps/maml/maml_error.h"

namespace tp::maml {

namespace {

std::size_t steps_of(const ModelConfig& c, const CompareOptions& o) {
  return c.family == ModelFamily::kernel && o.kernel_meta_steps > 0 ? o.kernel_meta_steps : o.run.meta_steps;
}

}  // namespace

std::size_t compare_total_tasks(const CompareOptions& o) {
  std::size_t total = 0;
  for (const auto& m : o.models) total += o.seeds * (steps_of(m, o) * o.run.batch + o.run.test_tasks);
  return total;
}

std::vector<CompareRow> run_compare(const CompareOptions& o, const TaskSampler& train, const TaskSampler& test,
                                    const CompareProgress& progress, const std::function<void(const CompareRow&)>& on_row) {
  if (o.seeds < 1) throw MamlError("--seeds must be at least 1");
  if (o.models.empty()) throw MamlError("nothing to compare: give --widths, --limit or --kernels");
  const Eigen::Index d = train.dim(), d_out = train.spec().ways;
  if (test.dim() != d) throw MamlError("the meta-train and meta-test images have different sizes");
  for (const auto& config : o.models) check_model_memory(config, d, d_out, o.run);  // before any work
  const std::size_t total = compare_total_tasks(o);
  std::size_t done = 0;
  std::vector<CompareRow> rows;
  for (const auto& config : o.models) {
    CompareRow row;
    row.config = config;
    RunOptions run = o.run;
    run.meta_steps = steps_of(config, o);
    const std::string label = config.label();
    auto tick = [&](std::size_t n) {
      done += n;
      if (progress) progress(done, total, label);
    };
    const auto t0 = std::chrono::steady_clock::now();
    double train_seconds = 0.0;
    for (std::size_t s = 0; s < o.seeds; ++s) {
      const std::uint64_t seed = o.seed_base + s;
      TrainedModel m = initial_model(config, d, d_out, seed);
      const auto t1 = std::chrono::steady_clock::now();
      meta_train(m, train, run, seed, tick);
      train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      const auto acc = evaluate(m, test, run.test_tasks, run, seed, tick);
      row.accuracy.push_back(mean_sd(acc).first);
      double tail = 0.0;
      const std::size_t k = std::min<std::size_t>(10, m.history.size());
      for (std::size_t i = m.history.size() - k; i < m.history.size(); ++i) tail += m.history[i].query_loss / static_cast<double>(k);
      row.final_train_loss += tail / static_cast<double>(o.seeds);
    }
    row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    row.train_tasks_per_second =
        train_seconds > 0 ? static_cast<double>(o.seeds * run.meta_steps * run.batch) / train_seconds : 0.0;
    std::tie(row.mean, row.sd) = mean_sd(row.accuracy);
    if (on_row) on_row(row);
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<SweepPoint> sweep(const ModelConfig& base, const SweepGrid& grid, const RunOptions& run,
                              const TaskSampler& train, const TaskSampler& validation, std::size_t validation_tasks,
                              std::uint64_t seed, const std::function<void(const SweepPoint&)>& on_point) {
  auto or_default = [](const std::vector<double>& xs, double dflt) { return xs.empty() ? std::vector<double>{dflt} : xs; };
  const bool kernel = base.family == ModelFamily::kernel;
  check_model_memory(base, train.dim(), train.spec().ways, run);
  std::vector<SweepPoint> points;
  for (double lr : or_default(grid.meta_lr, base.meta_lr))
    for (double su : or_default(grid.sigma_u, base.hyper.sigma_u))
      for (double sv : or_default(grid.sigma_v, base.hyper.sigma_v))
        for (double a : kernel ? std::vector<double>{base.hyper.alpha} : or_default(grid.alpha, base.hyper.alpha))
          for (double sb : kernel ? or_default(grid.sigma_b, base.sigma_b) : std::vector<double>{base.sigma_b}) {
            ModelConfig c = base;
            c.meta_lr = lr;
            c.hyper = {su, sv, a};
            c.sigma_b = sb;
            TrainedModel m = initial_model(c, train.dim(), train.spec().ways, seed);
            SweepPoint p{c, 0.0};
            try {
              meta_train(m, train, run, seed);
              p.validation_accuracy = mean_sd(evaluate(m, validation, validation_tasks, run, seed)).first;
            } catch (const MamlError&) {
              p.validation_accuracy = 0.0;  // diverged: never the best
            }
            points.push_back(p);
            if (on_point) on_point(p);
          }
  return points;
}

ModelConfig best_of(const std::vector<SweepPoint>& points) {
  if (points.empty()) throw MamlError("the sweep grid is empty");
  const SweepPoint* best = &points[0];
  for (const auto& p : points)
    if (p.validation_accuracy > best->validation_accuracy) best = &p;
  return best->config;
}

}  // namespace tp::maml

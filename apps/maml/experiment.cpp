// See experiment.h.
#include "apps/maml/experiment.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "apps/maml/maml_error.h"
#include "limits/memory_budget.h"
#include "limits/parallel.h"

namespace tp::maml {

std::string ModelConfig::label() const {
  switch (family) {
    case ModelFamily::finite: return fmt::format("width {}", width);
    case ModelFamily::limit: return "µP limit";
    case ModelFamily::kernel: {
      switch (kernel) {
        case KernelKind::linear_nngp: return "linear GP";
        case KernelKind::linear_ntk: return "linear NTK";
        case KernelKind::relu_nngp: return "relu GP";
        case KernelKind::relu_ntk: return "relu NTK";
      }
    }
  }
  return "?";
}

std::string ModelConfig::key() const {
  switch (family) {
    case ModelFamily::finite: return std::to_string(width);
    case ModelFamily::limit: return "limit";
    case ModelFamily::kernel: return kernel_kind_name(kernel);
  }
  return "?";
}

ModelConfig default_config(ModelFamily family, Eigen::Index width, KernelKind kernel) {
  ModelConfig c;
  c.family = family;
  c.width = width;
  c.kernel = kernel;
  struct Entry {
    double log2_width, meta_lr, sigma_u, sigma_v, alpha;
  };
  // TP4 Table 4 (TP4MAML/train_all.sh); log2_width 99 stands for the limit.
  static const Entry table[] = {{1, 0.05, 0.5, 0.5, 2},      {3, 0.1, 0.5, 0.25, 1},      {5, 0.4, 1, 0.125, 0.5},
                                {7, 0.1, 1, 0.125, 1},        {9, 0.1, 1, 0.03125, 1},     {11, 0.1, 1, 0.03125, 1},
                                {13, 0.1, 1, 0.03125, 1},     {99, 0.1, 1, 0.03125, 1}};
  if (family == ModelFamily::kernel) {
    c.hyper = {1.0, 1.0, 0.0};
    c.sigma_b = 1.0;
    c.meta_lr = kernel == KernelKind::linear_nngp || kernel == KernelKind::linear_ntk ? 0.1 : 0.4;
    return c;
  }
  const double lw = family == ModelFamily::limit ? 99.0 : std::log2(static_cast<double>(std::max<Eigen::Index>(1, width)));
  const Entry* best = &table[0];
  for (const auto& e : table)
    if (std::abs(e.log2_width - lw) < std::abs(best->log2_width - lw)) best = &e;
  c.meta_lr = best->meta_lr;
  c.hyper = {best->sigma_u, best->sigma_v, best->alpha};
  return c;
}

void validate(const ModelConfig& c, const RunOptions& o) {
  if (c.family == ModelFamily::finite && (c.width < 1 || c.width > (1 << 20)))
    throw MamlError(fmt::format("--widths: width {} is outside [1, 1048576]", c.width));
  if (!(c.meta_lr > 0.0) || !std::isfinite(c.meta_lr)) throw MamlError("--meta-lr must be a positive number");
  if (c.family == ModelFamily::kernel) validate(KernelSpec{c.kernel, c.hyper.sigma_u, c.hyper.sigma_v, c.sigma_b});
  else if (!(c.hyper.sigma_u > 0.0) || !(c.hyper.sigma_v >= 0.0) || !(c.hyper.alpha >= 0.0))
    throw MamlError("--sigma-u must be > 0, --sigma-v and --alpha >= 0");
  validate(o.fomaml);
  if (o.batch < 1 || o.batch > 4096) throw MamlError(fmt::format("--batch must be in [1, 4096] (got {})", o.batch));
}

// The allocator's share beside the arrays counted (glibc keeps freed blocks; Eigen's product buffers): the peak of
// `tpc maml train --model 65536` on the 28×28 images was 987 MiB over the 603 MiB held, 1.25× the 790 MiB counted.
constexpr double kAllowance = 1.5;

double model_memory_bytes(const ModelConfig& c, Eigen::Index d, Eigen::Index d_out, const RunOptions& o, bool training) {
  if (c.family == ModelFamily::kernel) return 0.0;
  const double n = c.family == ModelFamily::finite ? static_cast<double>(c.width) : static_cast<double>(d + d_out);
  const double ms = static_cast<double>(o.tasks.ways) * o.tasks.shots, mq = static_cast<double>(o.tasks.ways) * o.tasks.query_shots;
  const double m = ms + mq, B = static_cast<double>(o.batch), dd = static_cast<double>(d), dout = static_cast<double>(d_out);
  const unsigned workers = o.fomaml.threads ? o.fomaml.threads : limits::default_threads();
  const double per_thread = std::min<double>(workers, training ? B : 64.0) * n * (m + ms + mq + 2.0 * dout);
  const double weights = n * (dd + dout + 1.0);
  const double evaluation = n * 64.0 * m + per_thread;
  if (!training) return kAllowance * 8.0 * evaluation;
  const double init = n * (dd + dout);
  const double step = n * (B * m + B * mq + (B + 1.0) * dout) + per_thread;
  return kAllowance * 8.0 * (weights + std::max({init, step, evaluation}));
}

void check_model_memory(const ModelConfig& c, Eigen::Index d, Eigen::Index d_out, const RunOptions& o, bool training) {
  limits::check_memory_budget(
      {(training ? "training the " : "evaluating the ") + c.label() + " model on " + std::to_string(d) + "-pixel images",
       model_memory_bytes(c, d, d_out, o, training),
       training ? "its weights, one meta-step's hidden vectors of " + std::to_string(o.batch) + " tasks and per-thread copies"
                : "the hidden vectors of 64 tasks at once and per-thread copies",
       training ? "use a smaller width, a smaller --batch, --threads 1, or raise --memory-budget"
                : "use --threads 1, or raise --memory-budget"},
      o.memory_budget_bytes);
}

TrainedModel initial_model(const ModelConfig& config, Eigen::Index input_dim, Eigen::Index output_dim, std::uint64_t seed) {
  TrainedModel m;
  m.config = config;
  switch (config.family) {
    case ModelFamily::finite: m.net = init_finite_net(input_dim, output_dim, config.width, config.hyper, seed); break;
    case ModelFamily::limit: m.net = init_limit_net(input_dim, output_dim, config.hyper); break;
    case ModelFamily::kernel:
      m.kernel.emplace(KernelSpec{config.kernel, config.hyper.sigma_u, config.hyper.sigma_v, config.sigma_b}, input_dim,
                       output_dim);
      break;
  }
  return m;
}

void meta_train(TrainedModel& model, const TaskSampler& train, const RunOptions& options, std::uint64_t seed,
                const TaskProgress& progress) {
  validate(model.config, options);
  FomamlOptions fo = options.fomaml;
  fo.meta_lr = model.config.meta_lr;
  for (std::size_t s = 0; s < options.meta_steps; ++s) {
    limits::Rng rng(seed, 1 + model.meta_steps);
    const auto tasks = train.sample(options.batch, rng);
    const MetaStepStats st = model.net ? fomaml_step(*model.net, tasks, fo) : kernel_maml_step(*model.kernel, tasks, fo);
    model.history.push_back(st);
    ++model.meta_steps;
    if (progress) progress(tasks.size());
  }
}

std::vector<double> evaluate(const TrainedModel& model, const TaskSampler& split, std::size_t count,
                             const RunOptions& options, std::uint64_t seed, const TaskProgress& progress) {
  validate(options.fomaml);
  limits::Rng rng(seed, 0x7e57);
  std::vector<double> acc;
  constexpr std::size_t chunk = 128;
  for (std::size_t done = 0; done < count; done += chunk) {
    const auto tasks = split.sample(std::min(chunk, count - done), rng);
    const auto logits = model.net ? adapted_query_logits(*model.net, tasks, options.fomaml.test_inner_steps, options.fomaml)
                                  : kernel_adapted_query_logits(*model.kernel, tasks, options.fomaml.test_inner_steps,
                                                                options.fomaml);
    for (const auto& l : logits)
      if (!l.allFinite())
        throw MamlError(fmt::format("meta-test adaptation diverged (non-finite logits after {} inner steps of {:g}): lower "
                                    "--inner-lr or --test-inner-steps, or check the input scale (--white-background)",
                                    options.fomaml.test_inner_steps, options.fomaml.inner_lr));
    const auto a = task_accuracies(logits, tasks);
    acc.insert(acc.end(), a.begin(), a.end());
    if (progress) progress(tasks.size());
  }
  return acc;
}

std::pair<double, double> mean_sd(const std::vector<double>& xs) {
  if (xs.empty()) return {0.0, 0.0};
  double m = 0.0;
  for (double x : xs) m += x;
  m /= static_cast<double>(xs.size());
  if (xs.size() < 2) return {m, 0.0};
  double v = 0.0;
  for (double x : xs) v += (x - m) * (x - m);
  return {m, std::sqrt(v / static_cast<double>(xs.size() - 1))};
}

}  // namespace tp::maml

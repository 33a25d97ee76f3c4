// One MAML experiment = a model configuration trained by first-order MAML on the meta-train split and
// evaluated on another split (TP4 §9.2, App. D.1, Table 2 / Table 4): the model families of the
// comparison — finite width n (Algorithm 2), the µP limit (Algorithm 3), and kernel MAML with the linear
// or relu NNGP / NTK (Algorithm 4) — behind one train / evaluate interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apps/maml/fomaml.h"
#include "apps/maml/kernel_maml.h"
#include "apps/maml/linear_net.h"
#include "apps/maml/task_sampler.h"

namespace tp::maml {

enum class ModelFamily { finite, limit, kernel };

/// A model and its hyperparameters. For the kernel family hyper.sigma_u, hyper.sigma_v and sigma_b
/// parametrize the kernel (kernel_maml.h); alpha is unused there.
struct ModelConfig {
  ModelFamily family = ModelFamily::limit;
  Eigen::Index width = 0;  ///< finite family: hidden width n ≥ 1
  KernelKind kernel = KernelKind::relu_nngp;
  LinearNetHyper hyper;
  double sigma_b = 1.0;
  double meta_lr = 0.1;

  /// "width 8192", "µP limit", "relu GP", ...
  std::string label() const;
  /// "8192", "limit", "relu-gp", ... (JSON, --model)
  std::string key() const;
};

/// TP4's best hyperparameters per width (TP4 App. D.1, Table 4, as used by TP4's released script
/// TP4MAML/train_all.sh: (meta lr, σ_u, σ_v, α) = limit (0.1, 1, 1/32, 1); n = 2 (0.05, 0.5, 0.5, 2); 8 (0.1,
/// 0.5, 0.25, 1); 32 (0.4, 1, 1/8, 0.5); 128 (0.1, 1, 1/8, 1); 512, 2048, 8192 (0.1, 1, 1/32, 1)); other
/// widths take the entry of the nearest listed width in log2. Kernel baselines: TP4's release does not list
/// theirs; the defaults (meta lr 0.1 for linear kernels, 0.4 for relu, σ_u = σ_v = σ_b = 1) are untuned
/// starting values — `tpc maml compare --sweep` selects them on the validation split.
ModelConfig default_config(ModelFamily family, Eigen::Index width = 0, KernelKind kernel = KernelKind::relu_nngp);

/// Meta-training and evaluation settings shared by every model of a run.
struct RunOptions {
  TaskSpec tasks;               ///< 5-way 1-shot, one query per class
  FomamlOptions fomaml;         ///< inner lr 0.4, 1 / 20 inner steps, clip 0.5 (meta_lr comes from ModelConfig)
  std::size_t batch = 32;       ///< tasks per meta-step
  std::size_t meta_steps = 1000;
  std::size_t test_tasks = 1000;
  double memory_budget_bytes = 8.0 * (1ull << 30);  ///< --memory-budget (check_model_memory)
};

/// Peak bytes fomaml.cpp allocates for a network model of hidden size n (the width, or d + d_out for the limit):
/// its weights n (d + d_out + 1), plus the largest of (doubles, TP4 Algorithm 2/3 as written in fomaml.cpp)
///   initialization  Ω, n × (d + d_out), beside the projected weights;
///   a meta-step     u Z of the batch n·B·m, its query part p n·B·m_q, the B meta-gradients of v d_out·n each,
///                   and per thread one task's adapted copies n (m + m_s + m_q + 2 d_out);
///   evaluation      u Z of a chunk of 64 tasks n·64·m and the same per-thread copies,
/// with m = m_s + m_q images per task, times a 1.5× allowance for the allocator. Kernel models keep a stack of the images they saw (held with the data
/// set): 0 here. `training` false: evaluation only (a loaded model, whose weights are held already).
double model_memory_bytes(const ModelConfig& c, Eigen::Index d, Eigen::Index d_out, const RunOptions& o, bool training = true);

/// Refuses (tp::BudgetError, limits/memory_budget.h: with what the process holds already) a model whose
/// model_memory_bytes would take the process over o.memory_budget_bytes.
void check_model_memory(const ModelConfig& c, Eigen::Index d, Eigen::Index d_out, const RunOptions& o, bool training = true);

/// A trained model: a network (finite or limit) or a kernel function.
struct TrainedModel {
  ModelConfig config;
  std::optional<LinearNet> net;
  std::optional<KernelFunction> kernel;
  std::size_t meta_steps = 0;
  std::vector<MetaStepStats> history;  ///< one entry per meta-step
};

/// Called after every meta-step / evaluated chunk with the number of tasks just processed.
using TaskProgress = std::function<void(std::size_t tasks)>;

/// Throws MamlError naming the flag if a hyperparameter or size is out of range.
void validate(const ModelConfig& config, const RunOptions& options);

/// The untrained model (Algorithm 2 / 3 initialization, or an empty kernel stack); seed draws Ω.
TrainedModel initial_model(const ModelConfig& config, Eigen::Index input_dim, Eigen::Index output_dim, std::uint64_t seed);

/// Meta-trains `model` for options.meta_steps more steps on tasks of `train` drawn from Rng(seed, 1 + steps so far).
void meta_train(TrainedModel& model, const TaskSampler& train, const RunOptions& options, std::uint64_t seed,
                const TaskProgress& progress = {});

/// Meta-test accuracy of each of `count` tasks of `split` (drawn from Rng(seed, 0x7e57)), after
/// options.fomaml.test_inner_steps inner steps. Throws MamlError if the adaptation diverges (non-finite logits).
std::vector<double> evaluate(const TrainedModel& model, const TaskSampler& split, std::size_t count,
                             const RunOptions& options, std::uint64_t seed, const TaskProgress& progress = {});

/// Mean and sample standard deviation (0 for a single value).
std::pair<double, double> mean_sd(const std::vector<double>& xs);

}  // namespace tp::maml

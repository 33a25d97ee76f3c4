// The comparison of TP4 Table 2 (§9.2): meta-test accuracy, mean ± s.d. over seeds, of first-order MAML at
// finite widths, in the µP limit, and with the linear / relu GP and NTK (kernel MAML), every model meta-
// trained on the same tasks per seed and evaluated on the same test tasks per seed; plus the validation
// sweep that picks hyperparameters per model (TP4 App. D.1: "we sweep ... and report the best").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "apps/maml/experiment.h"

namespace tp::maml {

/// One row of the table.
struct CompareRow {
  ModelConfig config;
  std::vector<double> accuracy;  ///< mean meta-test accuracy per seed
  double mean = 0.0, sd = 0.0;
  double seconds = 0.0;             ///< wall time of the row (all seeds, training + test)
  double train_tasks_per_second = 0.0;
  double final_train_loss = 0.0;    ///< mean query loss of the last 10 meta-steps, averaged over seeds
};

struct CompareOptions {
  std::vector<ModelConfig> models;  ///< rows in order
  RunOptions run;
  std::size_t kernel_meta_steps = 0;  ///< meta-steps of kernel rows (0: run.meta_steps); their cost grows with the stack
  std::size_t seeds = 3;
  std::uint64_t seed_base = 0;
};

/// Progress of the whole comparison: tasks done / total, and the row being run.
using CompareProgress = std::function<void(std::size_t done, std::size_t total, const std::string& row)>;

/// The total number of tasks (meta-training and test) the comparison processes, for progress / ETA.
std::size_t compare_total_tasks(const CompareOptions& options);

/// Runs every row over seeds seed_base .. seed_base + seeds − 1; on_row (if given) sees each row when it is done.
std::vector<CompareRow> run_compare(const CompareOptions& options, const TaskSampler& train, const TaskSampler& test,
                                    const CompareProgress& progress = {},
                                    const std::function<void(const CompareRow&)>& on_row = {});

/// Hyperparameter grid of the sweep; an empty list keeps the model's default value.
struct SweepGrid {
  std::vector<double> meta_lr{0.05, 0.1, 0.2, 0.4};
  std::vector<double> sigma_u{0.5, 1.0};
  std::vector<double> sigma_v{0.03125, 0.125, 0.5};
  std::vector<double> alpha{0.5, 1.0, 2.0};  ///< networks only
  std::vector<double> sigma_b{0.5, 1.0};     ///< kernels only
};

/// One grid point's validation accuracy.
struct SweepPoint {
  ModelConfig config;
  double validation_accuracy = 0.0;
};

/// Every grid point of `base` (meta-trained with `run`, seed `seed`, evaluated on `validation_tasks`
/// validation tasks); the best is the one with the highest validation accuracy (first on ties).
std::vector<SweepPoint> sweep(const ModelConfig& base, const SweepGrid& grid, const RunOptions& run,
                              const TaskSampler& train, const TaskSampler& validation, std::size_t validation_tasks,
                              std::uint64_t seed, const std::function<void(const SweepPoint&)>& on_point = {});

/// The configuration of the best sweep point.
ModelConfig best_of(const std::vector<SweepPoint>& points);

}  // namespace tp::maml

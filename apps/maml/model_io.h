// Model files of `tpc maml train` / `tpc maml test`: a trained MAML model (network weights, or a kernel
// model's readout stack) with its configuration. Format: a text header of `key value` lines ending with
// `end`, then each matrix as `rows cols` and rows·cols little-endian IEEE doubles (column-major).
#pragma once

#include <string>

#include "apps/maml/experiment.h"

namespace tp::maml {

/// Writes the model; throws MamlError naming the path if it cannot be written.
void save_model(const std::string& path, const TrainedModel& model);

/// Reads a model written by save_model; throws MamlError naming the path and the problem (missing file,
/// not a tpc maml model, truncated, inconsistent dimensions).
TrainedModel load_model(const std::string& path);

}  // namespace tp::maml

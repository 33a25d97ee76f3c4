// `tpc maml ...`: training, evaluation and comparison subcommands of the maml application (apps/maml/).
#pragma once

#include "frontend/subcommand.h"

namespace tp::frontend {

/// Adds the maml training / evaluation / comparison subcommands to `parent` (the `tpc maml` node).
Subcommands add_maml_commands(CLI::App* parent);

}  // namespace tp::frontend

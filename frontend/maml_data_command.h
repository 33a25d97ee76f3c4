// `tpc maml ...`: the data preparation subcommands of the maml application (run by scripts/setup.sh).
#pragma once

#include "frontend/subcommand.h"

namespace tp::frontend {

/// Adds the maml data preparation subcommands to `parent` (the `tpc maml` node).
Subcommands add_maml_data_commands(CLI::App* parent);

}  // namespace tp::frontend

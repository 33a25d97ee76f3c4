// `tpc word2vec ...`: the data preparation subcommands of the word2vec application (run by scripts/setup.sh).
#pragma once

#include "frontend/subcommand.h"

namespace tp::frontend {

/// Adds the word2vec data preparation subcommands to `parent` (the `tpc word2vec` node).
Subcommands add_word2vec_data_commands(CLI::App* parent);

}  // namespace tp::frontend

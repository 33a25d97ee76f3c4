// `tpc word2vec ...`: training, evaluation and comparison subcommands of the word2vec application (apps/word2vec/).
#pragma once

#include "frontend/subcommand.h"

namespace tp::frontend {

/// Adds the word2vec training / evaluation / comparison subcommands to `parent` (the `tpc word2vec` node).
Subcommands add_word2vec_commands(CLI::App* parent);

}  // namespace tp::frontend

// `tpc word2vec train | eval | compare | emit-program`: the word2vec application (apps/word2vec/, TP4 §9.3)
// on the command line. Data preparation (prepare-corpus, make-analogies) is in word2vec_data_command.h.
#pragma once

#include "frontend/subcommand.h"

namespace tp::frontend {

/// Adds the word2vec training / evaluation / comparison / emit-program subcommands to `parent` (the
/// `tpc word2vec` node). Each action returns 0, or 1 after printing "tpc: error: ..." for a user error.
Subcommands add_word2vec_commands(CLI::App* parent);

}  // namespace tp::frontend

#include "frontend/word2vec_data_command.h"

namespace tp::frontend {

Subcommands add_word2vec_data_commands(CLI::App* parent) { return {}; }

}  // namespace tp::frontend

#include "frontend/word2vec_command.h"

namespace tp::frontend {

Subcommands add_word2vec_commands(CLI::App* parent) { return {}; }

}  // namespace tp::frontend

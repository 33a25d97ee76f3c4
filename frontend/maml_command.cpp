#include "frontend/maml_command.h"

namespace tp::frontend {

Subcommands add_maml_commands(CLI::App* parent) { return {}; }

}  // namespace tp::frontend

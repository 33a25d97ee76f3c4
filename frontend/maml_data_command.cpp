#include "frontend/maml_data_command.h"

namespace tp::frontend {

Subcommands add_maml_data_commands(CLI::App* parent) { return {}; }

}  // namespace tp::frontend

// Reading .tp files into memory for the front end.
#pragma once

#include <optional>
#include <string>

#include "frontend/diagnostics.h"

namespace tp::frontend {

/// Reads a file; on failure returns nullopt and sets error to a sentence naming the file and the cause.
std::optional<SourceFile> load_source(const std::string& path, std::string& error);


}  // namespace tp::frontend

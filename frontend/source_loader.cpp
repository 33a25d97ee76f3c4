// See source_loader.h.
#include "frontend/source_loader.h"

#include <utility>

#include "tp/text_file.h"

namespace tp::frontend {

namespace {
constexpr std::size_t kMaxSourceBytes = 64u << 20;
}

std::optional<SourceFile> load_source(const std::string& path, std::string& error) {
  TextFile file = read_text_file(path, kMaxSourceBytes);
  switch (file.problem) {
    case TextFile::Problem::none: return SourceFile{path, std::move(file.text)};
    case TextFile::Problem::unreadable: error = "cannot read '" + path + "': " + file.cause; break;
    case TextFile::Problem::directory: error = "cannot read '" + path + "': it is a directory; give a .tp file"; break;
    case TextFile::Problem::too_large:
      error = "'" + path + "' is larger than 64 MiB (or does not end); a Tensor Program script should be far smaller";
      break;
  }
  return std::nullopt;
}

}  // namespace tp::frontend

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

const SourceFile& demo_source() {
  static const SourceFile demo{"<demo>", R"(# tpc demo: the NNGP kernel of a one-hidden-layer tanh network on two inputs.
# Inputs with correlation 0.6 enter through W (entries N(0, 1/n)); k is the kernel entry
# E[tanh(Z^g1) tanh(Z^g2)] in the limit, with (g1, g2) jointly Gaussian.
input x1, x2 ~ N(0, [[1, 0.6], [0.6, 1]])
matrix W ~ N(0, 1/n)
g1 = W tanh(x1)
g2 = W tanh(x2)
k = avg(tanh(g1) * tanh(g2))
q = avg(tanh(g1)^2)
output k, q
)"};
  return demo;
}

}  // namespace tp::frontend

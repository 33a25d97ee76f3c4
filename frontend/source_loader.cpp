// See source_loader.h.
#include "frontend/source_loader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace tp::frontend {

namespace {
constexpr std::size_t kMaxSourceBytes = 64u << 20;
}

std::optional<SourceFile> load_source(const std::string& path, std::string& error) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    error = "cannot read '" + path + "': it is a directory; give a .tp file";
    return std::nullopt;
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxSourceBytes) {
    error = "'" + path + "' is larger than 64 MiB; a Tensor Program script should be far smaller";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read '" + path + "': " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return SourceFile{path, ss.str()};
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

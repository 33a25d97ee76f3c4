// See npy_file.h.
#include "limits/npy_file.h"

#include <bit>
#include <cstdint>
#include <fstream>
#include <stdexcept>

namespace tp::limits {

void write_npy(const std::string& path, const Eigen::MatrixXd& m) {
  static_assert(std::endian::native == std::endian::little, "write_npy writes '<f8' data as stored");
  std::string header = "{'descr': '<f8', 'fortran_order': True, 'shape': (" + std::to_string(m.rows()) + ", " +
                       std::to_string(m.cols()) + "), }";
  const std::size_t preamble = 10;  // magic (6) + version (2) + header length (2)
  header += std::string((64 - (preamble + header.size() + 1) % 64) % 64, ' ') + "\n";
  std::ofstream f(path, std::ios::binary);
  const auto len = static_cast<std::uint16_t>(header.size());
  const char head[10] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(head, sizeof head);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(reinterpret_cast<const char*>(m.data()), static_cast<std::streamsize>(m.size() * sizeof(double)));
  f.close();
  if (!f) throw std::runtime_error("cannot write " + path + " (does the directory exist and is it writable?)");
}

}  // namespace tp::limits

#include "apps/maml/dataset_digest.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "apps/maml/data_error.h"

namespace tp::maml {

DatasetDigest digest_dataset(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  std::vector<std::string> files;
  for (const char* split : {"images_background", "images_evaluation"}) {
    if (!fs::is_directory(root / split)) continue;
    for (const auto& e : fs::recursive_directory_iterator(root / split))
      if (e.is_regular_file()) files.push_back(fs::relative(e.path(), root).generic_string());
  }
  std::sort(files.begin(), files.end());
  DatasetDigest d;
  uLong crc = crc32(0L, Z_NULL, 0);
  std::vector<char> bytes;
  for (const auto& name : files) {
    std::ifstream in(root / name, std::ios::binary);
    if (!in) throw DataError((root / name).string() + ": cannot open the file; check its permissions");
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    crc = crc32(crc, reinterpret_cast<const Bytef*>(name.c_str()), static_cast<uInt>(name.size() + 1));
    if (!bytes.empty())  // crc32(crc, Z_NULL, 0) would return the initial value, not crc
      crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
    ++d.files;
    d.bytes += bytes.size();
  }
  d.crc32 = static_cast<std::uint32_t>(crc);
  return d;
}

std::string format_crc32(std::uint32_t crc) { return fmt::format("{:#010x}", crc); }

}  // namespace tp::maml

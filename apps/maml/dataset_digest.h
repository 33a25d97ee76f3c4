// A fingerprint of a dataset in the Omniglot layout (Lake et al. 2015): file count, bytes and a zlib crc32
// over every file below DIR/images_background and DIR/images_evaluation, so a generated dataset can be
// checked against its MANIFEST.txt and two generations compared.
#pragma once

#include <cstdint>
#include <string>

namespace tp::maml {

struct DatasetDigest {
  std::size_t files = 0;    ///< regular files below the two split directories
  std::uintmax_t bytes = 0; ///< their total size
  std::uint32_t crc32 = 0;  ///< crc32 of (relative path, '\0', contents) for each file, in sorted path order
};

/// The digest of DIR (missing split directories contribute nothing).
DatasetDigest digest_dataset(const std::string& dir);

/// "0x" followed by 8 lower-case hex digits.
std::string format_crc32(std::uint32_t crc);

}  // namespace tp::maml

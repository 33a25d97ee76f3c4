// Reading a whole text file the user named (a script, a CSV of data) with the checks every such path needs:
// it exists, it is not a directory, and it ends within a size cap (so /dev/zero or an endless pipe is
// refused after max_bytes instead of being read forever; pipes and other special files are otherwise fine).
#pragma once

#include <cstddef>
#include <string>

namespace tp {

/// What read_text_file found.
struct TextFile {
  enum class Problem { none, unreadable, directory, too_large } problem = Problem::none;
  std::string text;   ///< the contents when problem == none
  std::string cause;  ///< otherwise: "No such file or directory", "it is a directory", "it is larger than 64 MiB"
};

/// Reads path whole, refusing directories and anything longer than max_bytes (checked while reading).
TextFile read_text_file(const std::string& path, std::size_t max_bytes);

}  // namespace tp

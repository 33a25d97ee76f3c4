// Source positions shared by the frontend (diagnostics) and the IR (every value remembers where it came from).
#pragma once

#include <cstdint>

namespace tp {

/// A 1-based line and column in a source file. line == 0 means "no location" (built programmatically).
struct SourceLoc {
  std::uint32_t line = 0;
  std::uint32_t col = 0;
  std::uint32_t offset = 0;  ///< byte offset into the file
};

/// A half-open byte range [begin, end) with the line/column of its start and end.
struct SourceRange {
  SourceLoc begin;
  SourceLoc end;
  bool valid() const { return begin.line != 0; }
};

/// Line 1, column 1: where a whole-file problem (an empty file, a missing block) is reported.
inline SourceRange start_of_file() { return {{1, 1, 0}, {1, 1, 0}}; }

}  // namespace tp

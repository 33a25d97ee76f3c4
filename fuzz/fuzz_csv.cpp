// libFuzzer target for CSV data (issue 12 item 11): limits::parse_csv_matrix in both row modes (files and
// inline --x text), the reader behind `tpc kernel --inputs`, `data "file.csv"` in network scripts and the
// applications' data. Properties checked on every input:
//   1. parsing either returns a matrix or throws CsvError (never another exception, never a crash);
//   2. a returned matrix has at least one row and one column, only finite values, and header names (when
//      present) as many as its columns.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "limits/csv_matrix.h"
#include "tp/leak_suppressions.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& text, const std::string& detail) {
  std::fprintf(stderr, "fuzz_csv: %s\n--- input ---\n%s\n--- detail ---\n%s\n", what, text.c_str(), detail.c_str());
  std::abort();
}

void check(const std::string& text, tp::limits::CsvRows rows) {
  tp::limits::CsvMatrix m;
  try {
    m = tp::limits::parse_csv_matrix(text, "fuzz.csv", rows);
  } catch (const tp::limits::CsvError&) {
    return;
  } catch (const std::exception& e) {
    fail("parse_csv_matrix threw something other than CsvError", text, e.what());
  }
  if (m.values.rows() < 1 || m.values.cols() < 1) fail("an empty matrix", text, "");
  if (!m.values.allFinite()) fail("a non-finite value", text, "");
  if (!m.column_names.empty() && static_cast<Eigen::Index>(m.column_names.size()) != m.values.cols())
    fail("header and rows disagree", text, std::to_string(m.column_names.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check(text, tp::limits::CsvRows::lines);
  check(text, tp::limits::CsvRows::lines_or_semicolons);
  return 0;
}

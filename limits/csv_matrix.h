// Numeric matrices from CSV text: the inputs x_1..x_N of a kernel computation, one input per row.
//
// Format (decided here; RFC 4180 without quoting, since every cell is a number):
//   file    = { line } ;  lines end in "\n" or "\r\n" (inline text may also separate rows with ";")
//   line    = blank | comment | row ;
//   comment = "#" ... ;                    (* first non-blank character '#'; ignored *)
//   row     = cell { "," cell } ;          (* spaces and tabs around cells are ignored *)
//   cell    = a decimal floating-point number as std::from_chars reads it, optionally preceded by "+".
// The first non-blank, non-comment line may be a header: it is one if none of its cells is a number, and
// its cells are returned as column names. Every row must have as many cells as the first one; values must
// be finite (nan, inf and numbers overflowing double are refused).
// Errors throw CsvError with the message "<file>:<line>: <what>" (inline text: "<name>: row <r>: <what>"),
// or "<file>: <what>" for problems of the whole file (cannot be read, no data rows).
#pragma once

#include <Eigen/Core>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tp::limits {

/// A CSV problem; what() is the full message, line is 1-based (0 for whole-file problems).
struct CsvError : std::runtime_error {
  std::string file;
  int line = 0;
  CsvError(const std::string& message, std::string file_name, int line_number);
};

/// The rows of a CSV file as a matrix (rows × columns ≥ 1 × 1), with the header's names if it had one.
struct CsvMatrix {
  Eigen::MatrixXd values;
  std::vector<std::string> column_names;  ///< empty without a header
};

/// How rows are separated in the text.
enum class CsvRows {
  lines,                   ///< a file: rows are lines, messages say "<file>:<line>:"
  lines_or_semicolons,     ///< inline text such as "1,0;0.5,0.5": messages say "<name>: row <r>:"
};

/// Parses CSV text; name appears in messages. Throws CsvError.
CsvMatrix parse_csv_matrix(std::string_view text, const std::string& name, CsvRows rows = CsvRows::lines);

/// Reads and parses a CSV file. Throws CsvError (also when the file cannot be read).
CsvMatrix read_csv_matrix(const std::string& path);

}  // namespace tp::limits

// CSV input matrices (limits/csv_matrix.h): the accepted format and one test per error message.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "limits/csv_matrix.h"

namespace {

using tp::limits::CsvError;
using tp::limits::CsvRows;
using tp::limits::parse_csv_matrix;

/// The message of the CsvError that parsing text throws ("" if it does not throw).
std::string error_of(const std::string& text, CsvRows rows = CsvRows::lines) {
  try {
    parse_csv_matrix(text, "x.csv", rows);
  } catch (const CsvError& e) {
    return e.what();
  }
  return "";
}

std::filesystem::path temp_file(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() / ("tpc_test_csv_" + name);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

}  // namespace

TEST_CASE("rows, optional header, comments, blank lines, spaces and CRLF are read") {
  const auto m = parse_csv_matrix("# inputs\n a , b \r\n\n1, 2.5\r\n  -3e-1,+4\n# end\n", "x.csv");
  REQUIRE(m.values.rows() == 2);
  REQUIRE(m.values.cols() == 2);
  CHECK(m.values(0, 1) == 2.5);
  CHECK(m.values(1, 0) == -0.3);
  CHECK(m.values(1, 1) == 4.0);
  CHECK(m.column_names == std::vector<std::string>{"a", "b"});
  const auto no_header = parse_csv_matrix("1\n2\n3", "x.csv");
  CHECK(no_header.values.rows() == 3);
  CHECK(no_header.values.cols() == 1);
  CHECK(no_header.column_names.empty());
}

TEST_CASE("inline rows may be separated by ';' and errors then name the row") {
  const auto m = parse_csv_matrix("1,0; 0.5,0.5", "--x", CsvRows::lines_or_semicolons);
  REQUIRE(m.values.rows() == 2);
  CHECK(m.values(1, 0) == 0.5);
  try {
    parse_csv_matrix("1,0;0.5", "--x", CsvRows::lines_or_semicolons);
    FAIL("no error");
  } catch (const CsvError& e) {
    CHECK(std::string(e.what()) == "--x: row 2: expected 2 columns (as in row 1) but found 1");
    CHECK(e.line == 2);
  }
}

TEST_CASE("errors name the file and line: columns, non-numeric cells, empty cells, non-finite values") {
  CHECK(error_of("1,2,3\n4,5\n") == "x.csv:2: expected 3 columns (as in line 1) but found 2");
  CHECK(error_of("a,b\n1,2\n3\n") == "x.csv:3: expected 2 columns (as in the header) but found 1");
  CHECK(error_of("1,2\n3,abc\n") == "x.csv:2: non-numeric cell 'abc' in column 2");
  CHECK(error_of("# c\nx,2\n") ==
        "x.csv:2: non-numeric cell 'x' in column 1 (a header line is allowed only if none of its cells is a number)");
  CHECK(error_of("1,,3\n") == "x.csv:1: empty cell in column 2; every cell must be a number");
  CHECK(error_of("1,2\n1,2,\n") == "x.csv:2: expected 2 columns (as in line 1) but found 3");
  CHECK(error_of("1,nan\n") == "x.csv:1: non-finite value 'nan' in column 2; inputs must be finite numbers");
  CHECK(error_of("1\ninf\n") ==
        "x.csv:2: non-finite value 'inf' in column 1 (infinite or beyond the range of double); inputs must be finite "
        "numbers");
  CHECK(error_of("1e999\n").find("x.csv:1: non-finite value '1e999'") == 0);
  CHECK(error_of("1,2\n1 2,3\n") == "x.csv:2: non-numeric cell '1 2' in column 1");
  CHECK(error_of("1\n0x10\n") == "x.csv:2: non-numeric cell '0x10' in column 1");
  // a lone line without numbers is a header, and the message says so
  CHECK(error_of("1 2\n") ==
        "x.csv: no data rows: line 1 ('1 2') was read as a header because none of its cells is a number");
}

TEST_CASE("an empty input, or one with only a header, is an error of the whole file") {
  CHECK(error_of("") == "x.csv: no data: the input is empty (or only blank and comment lines)");
  CHECK(error_of("\n  \n# only a comment\n") == "x.csv: no data: the input is empty (or only blank and comment lines)");
  CHECK(error_of("# c\na,b\n") ==
        "x.csv: no data rows: line 2 ('a,b') was read as a header because none of its cells is a number");
}

TEST_CASE("files: read, missing and empty") {
  const auto good = temp_file("good.csv", "x,y\n1,2\n3,4\n");
  const auto m = tp::limits::read_csv_matrix(good.string());
  CHECK(m.values.rows() == 2);
  CHECK(m.values(1, 1) == 4.0);
  try {
    tp::limits::read_csv_matrix("/nonexistent/dir/inputs.csv");
    FAIL("no error");
  } catch (const CsvError& e) {
    CHECK(std::string(e.what()) == "/nonexistent/dir/inputs.csv: cannot read the file (No such file or directory)");
    CHECK(e.line == 0);
  }
  const auto empty = temp_file("empty.csv", "");
  CHECK_THROWS_WITH_AS(tp::limits::read_csv_matrix(empty.string()),
                       doctest::Contains("tpc_test_csv_empty.csv: no data: the input is empty"), CsvError);
  const auto bad = temp_file("bad.csv", "1,2\n3,4\n5,six\n");
  CHECK_THROWS_WITH_AS(tp::limits::read_csv_matrix(bad.string()),
                       doctest::Contains("tpc_test_csv_bad.csv:3: non-numeric cell 'six' in column 2"), CsvError);
  std::filesystem::remove(good);
  std::filesystem::remove(empty);
  std::filesystem::remove(bad);
}

TEST_CASE("a text over 1 MiB is parsed in pieces on the worker threads: same values, the first error by line") {
  // 60,000 rows (about 1.4 MB): the parser cuts it at line ends; every piece must give the rows in order
  std::string text = "# comment\na,b\n";
  const int rows = 60000;
  for (int r = 0; r < rows; ++r) text += std::to_string(r) + ".25, " + std::to_string(-r) + "\r\n" + (r % 1000 == 7 ? "\n# x\n" : "");
  REQUIRE(text.size() > (std::size_t{1} << 20));
  const auto m = parse_csv_matrix(text, "x.csv");
  REQUIRE(m.values.rows() == rows);
  REQUIRE(m.values.cols() == 2);
  CHECK(m.column_names == std::vector<std::string>{"a", "b"});
  bool in_order = true;
  for (int r = 0; r < rows; ++r) in_order = in_order && m.values(r, 0) == r + 0.25 && m.values(r, 1) == -r;
  CHECK(in_order);
  // errors near the end and near the start: the message numbers the line, and the earlier one wins
  const auto line_of = [&](int row) {  // the text line of data row `row` (0-based)
    return 2 + row + 1 + 2 * ((row + 1000 - 8) / 1000);
  };
  std::string late = text;
  late.replace(late.find("\n59990.25") + 1, 8, "59990.2x");
  CHECK(error_of(late) == "x.csv:" + std::to_string(line_of(59990)) + ": non-numeric cell '59990.2x' in column 1");
  std::string both = late;
  both.replace(both.find("\n100.25, -100") + 1, 12, "100.25, -100, 3");
  CHECK(error_of(both) == "x.csv:" + std::to_string(line_of(100)) + ": expected 2 columns (as in the header) but found 3");
}

// CSV → matrix; the format and the messages are in csv_matrix.h.
#include "limits/csv_matrix.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <sstream>

#include "tp/text_file.h"

namespace tp::limits {

CsvError::CsvError(const std::string& message, std::string file_name, int line_number)
    : std::runtime_error(message), file(std::move(file_name)), line(line_number) {}

namespace {

constexpr std::size_t kMaxCsvBytes = std::size_t{1} << 30;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view line, char sep) {
  std::vector<std::string_view> cells;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = line.find(sep, start);
    cells.push_back(trim(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start)));
    if (at == std::string_view::npos) return cells;
    start = at + 1;
  }
}

/// A cell read as a number: nullopt if it is not one (whole cell, optional leading '+'). Values out of the
/// range of double come back as ±inf or a denormal/0 (as strtod rounds them).
std::optional<double> to_number(std::string_view cell) {
  std::string_view s = cell;
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty() || s.front() == '+') return std::nullopt;
  double v = 0.0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (end != s.data() + s.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) return std::strtod(std::string(s).c_str(), nullptr);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

}  // namespace

// file = { line } ; line = blank | comment | row ; row = cell { "," cell }   (details in csv_matrix.h)
CsvMatrix parse_csv_matrix(std::string_view text, const std::string& name, CsvRows rows) {
  auto where = [&](int line) {
    return rows == CsvRows::lines ? name + ":" + std::to_string(line) + ": "
                                  : name + ": row " + std::to_string(line) + ": ";
  };
  auto fail = [&](int line, const std::string& what) -> CsvError { return CsvError(where(line) + what, name, line); };
  CsvMatrix out;
  std::vector<double> data;
  std::size_t columns = 0;
  int first_row_line = 0;
  int first_content_line = 0;
  int line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = start;
    while (end < text.size() && text[end] != '\n' && !(rows == CsvRows::lines_or_semicolons && text[end] == ';')) ++end;
    const std::string_view line = trim(text.substr(start, end - start));
    ++line_number;
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    const std::vector<std::string_view> cells = split(line, ',');
    std::vector<std::optional<double>> values;
    values.reserve(cells.size());
    for (auto c : cells) values.push_back(to_number(c));
    if (first_content_line == 0) {
      first_content_line = line_number;
      bool any_number = false;
      for (const auto& v : values) any_number = any_number || v.has_value();
      bool all_named = true;
      for (auto c : cells) all_named = all_named && !c.empty();
      if (!any_number && all_named) {  // a header
        for (auto c : cells) out.column_names.emplace_back(c);
        columns = cells.size();
        continue;
      }
    }
    if (columns == 0) {
      columns = cells.size();
      first_row_line = line_number;
    } else if (cells.size() != columns) {
      const std::string origin = first_row_line ? (rows == CsvRows::lines ? "line " : "row ") +
                                                      std::to_string(first_row_line)
                                                : std::string("the header");
      throw fail(line_number, "expected " + std::to_string(columns) + " columns (as in " + origin + ") but found " +
                                  std::to_string(cells.size()));
    }
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::string column = "column " + std::to_string(c + 1);
      if (cells[c].empty()) throw fail(line_number, "empty cell in " + column + "; every cell must be a number");
      if (!values[c]) {
        throw fail(line_number, "non-numeric cell '" + std::string(cells[c]) + "' in " + column +
                                    (line_number == first_content_line
                                         ? " (a header line is allowed only if none of its cells is a number)"
                                         : ""));
      }
      if (!std::isfinite(*values[c])) {
        throw fail(line_number, "non-finite value '" + std::string(cells[c]) + "' in " + column +
                                    (std::isnan(*values[c]) ? "" : " (infinite or beyond the range of double)") +
                                    "; inputs must be finite numbers");
      }
      data.push_back(*values[c]);
    }
  }
  if (data.empty()) {
    std::string what = "no data: the input is empty (or only blank and comment lines)";
    if (first_content_line != 0) {
      std::string header;
      for (std::size_t c = 0; c < out.column_names.size(); ++c) header += (c ? "," : "") + out.column_names[c];
      what = "no data rows: " + std::string(rows == CsvRows::lines ? "line " : "row ") +
             std::to_string(first_content_line) + " ('" + header +
             "') was read as a header because none of its cells is a number";
    }
    throw CsvError(name + ": " + what, name, 0);
  }
  const auto r = static_cast<Eigen::Index>(data.size() / columns);
  out.values = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      data.data(), r, static_cast<Eigen::Index>(columns));
  return out;
}

CsvMatrix read_csv_matrix(const std::string& path) {
  TextFile file = read_text_file(path, kMaxCsvBytes);
  if (file.problem == TextFile::Problem::too_large)
    throw CsvError(path + ": the file is larger than 1 GiB (or does not end); pass fewer points", path, 0);
  if (file.problem != TextFile::Problem::none)
    throw CsvError(path + ": cannot read the file (" + file.cause + ")", path, 0);
  return parse_csv_matrix(file.text, path, CsvRows::lines);
}

}  // namespace tp::limits

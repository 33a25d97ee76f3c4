// CSV → matrix; the format and the messages are in csv_matrix.h.
#include "limits/csv_matrix.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <sstream>

#include "limits/parallel.h"
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

namespace {

/// The rows of the text line by line (grammar above), into data (row-major). The first content lines decide the
/// header and the column count; after that, line() only reads the parser's state, so ranges of later lines can be
/// parsed concurrently.
class LineParser {
 public:
  LineParser(const std::string& name, CsvRows rows) : name_(name), rows_(rows) {}

  bool has_columns() const { return columns_ != 0; }
  int first_content_line() const { return first_content_line_; }
  std::vector<std::string>& column_names() { return column_names_; }
  bool splits_at(char c) const { return c == '\n' || (rows_ == CsvRows::lines_or_semicolons && c == ';'); }

  CsvError fail(int line, const std::string& what) const {
    return CsvError((rows_ == CsvRows::lines ? name_ + ":" + std::to_string(line) + ": " : name_ + ": row " + std::to_string(line) + ": ") + what,
                    name_, line);
  }

  /// The lines of text from `start` (each ended by a separator or by `end`), the first numbered `number`, up to
  /// `end` — or, when until_columns, up to and including the first content row (the serial start). Advances start
  /// and number past the lines read.
  void lines(std::string_view text, std::size_t& start, std::size_t end, int& number, std::vector<double>& data,
             bool until_columns = false) {
    while (start < end && !(until_columns && columns_ != 0)) {
      std::size_t stop = start;
      while (stop < end && !splits_at(text[stop])) ++stop;
      line(trim(text.substr(start, stop - start)), number++, data);
      start = stop + 1;
    }
  }

  std::size_t columns() const { return columns_; }

 private:
  void line(std::string_view line, int line_number, std::vector<double>& data) {
    if (line.empty() || line.front() == '#') return;
    cells_.clear();
    std::size_t start = 0;
    for (;;) {
      const std::size_t at = line.find(',', start);
      cells_.push_back(trim(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start)));
      if (at == std::string_view::npos) break;
      start = at + 1;
    }
    values_.clear();
    for (auto c : cells_) values_.push_back(to_number(c));
    if (first_content_line_ == 0) {
      first_content_line_ = line_number;
      bool any_number = false;
      for (const auto& v : values_) any_number = any_number || v.has_value();
      bool all_named = true;
      for (auto c : cells_) all_named = all_named && !c.empty();
      if (!any_number && all_named) {  // a header
        for (auto c : cells_) column_names_.emplace_back(c);
        columns_ = cells_.size();
        return;
      }
    }
    if (columns_ == 0) {
      columns_ = cells_.size();
      first_row_line_ = line_number;
    } else if (cells_.size() != columns_) {
      const std::string origin = first_row_line_ ? (rows_ == CsvRows::lines ? "line " : "row ") + std::to_string(first_row_line_)
                                                 : std::string("the header");
      throw fail(line_number, "expected " + std::to_string(columns_) + " columns (as in " + origin + ") but found " +
                                  std::to_string(cells_.size()));
    }
    for (std::size_t c = 0; c < cells_.size(); ++c) {
      if (values_[c] && std::isfinite(*values_[c])) {
        data.push_back(*values_[c]);
        continue;
      }
      const std::string column = "column " + std::to_string(c + 1);
      if (cells_[c].empty()) throw fail(line_number, "empty cell in " + column + "; every cell must be a number");
      if (!values_[c]) {
        throw fail(line_number, "non-numeric cell '" + std::string(cells_[c]) + "' in " + column +
                                    (line_number == first_content_line_
                                         ? " (a header line is allowed only if none of its cells is a number)"
                                         : ""));
      }
      throw fail(line_number, "non-finite value '" + std::string(cells_[c]) + "' in " + column +
                                  (std::isnan(*values_[c]) ? "" : " (infinite or beyond the range of double)") +
                                  "; inputs must be finite numbers");
    }
  }

  const std::string& name_;
  CsvRows rows_;
  std::size_t columns_ = 0;
  int first_row_line_ = 0, first_content_line_ = 0;
  std::vector<std::string> column_names_;
  std::vector<std::string_view> cells_;  // reused from line to line
  std::vector<std::optional<double>> values_;
};

/// Texts from this size on are parsed in pieces on the worker threads.
constexpr std::size_t parallel_bytes = std::size_t{1} << 20;

}  // namespace

// file = { line } ; line = blank | comment | row ; row = cell { "," cell }   (details in csv_matrix.h)
// The first content row is read first; a large remainder is cut at line ends into one piece per worker thread,
// each parsed into its own values; the first piece (in text order) with an error reports it, which is the first
// error of the text, as when read line by line.
CsvMatrix parse_csv_matrix(std::string_view text, const std::string& name, CsvRows rows) {
  LineParser parser(name, rows);
  CsvMatrix out;
  std::vector<double> data;
  std::size_t start = 0;
  int line_number = 1;
  parser.lines(text, start, text.size(), line_number, data, true);  // up to and including the first content row
  if (start < text.size()) {
    const std::size_t rest = text.size() - start;
    const std::size_t pieces = rest >= parallel_bytes ? default_threads() : 1;
    std::vector<std::size_t> cut{start};  // piece p is text[cut[p], cut[p + 1])
    for (std::size_t p = 1; p < pieces; ++p) {
      std::size_t at = std::max(cut.back(), start + rest * p / pieces);
      while (at < text.size() && !parser.splits_at(text[at])) ++at;
      cut.push_back(std::min(at + 1, text.size()));
    }
    cut.push_back(text.size());
    std::vector<int> first_line(pieces, line_number);
    for (std::size_t p = 1; p < pieces; ++p)
      first_line[p] = first_line[p - 1] + static_cast<int>(std::count_if(text.begin() + static_cast<std::ptrdiff_t>(cut[p - 1]),
                                                                         text.begin() + static_cast<std::ptrdiff_t>(cut[p]),
                                                                         [&](char c) { return parser.splits_at(c); }));
    std::vector<std::vector<double>> values(pieces);
    std::vector<std::exception_ptr> errors(pieces);
    parallel_for(pieces, 0, [&](std::size_t p) {
      LineParser own = parser;  // the decided header and column count; its own scratch space
      try {
        std::size_t from = cut[p];
        int number = first_line[p];
        own.lines(text, from, cut[p + 1], number, p == 0 ? data : values[p]);
      } catch (const CsvError&) {
        errors[p] = std::current_exception();
      }
    });
    for (std::size_t p = 0; p < pieces; ++p) {
      if (errors[p]) std::rethrow_exception(errors[p]);
      data.insert(data.end(), values[p].begin(), values[p].end());
    }
  }
  out.column_names = std::move(parser.column_names());
  if (data.empty()) {
    std::string what = "no data: the input is empty (or only blank and comment lines)";
    if (parser.first_content_line() != 0) {
      std::string header;
      for (std::size_t c = 0; c < out.column_names.size(); ++c) header += (c ? "," : "") + out.column_names[c];
      what = "no data rows: " + std::string(rows == CsvRows::lines ? "line " : "row ") +
             std::to_string(parser.first_content_line()) + " ('" + header +
             "') was read as a header because none of its cells is a number";
    }
    throw CsvError(name + ": " + what, name, 0);
  }
  const std::size_t columns = parser.columns();
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

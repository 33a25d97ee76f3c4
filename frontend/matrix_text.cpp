// See matrix_text.h.
#include "frontend/matrix_text.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace tp::frontend {

void append_json_matrix(std::string& out, const Eigen::MatrixXd& m, int indent) {
  const std::string row_indent(static_cast<std::size_t>(indent) + 2, ' ');
  char buf[32];
  out.reserve(out.size() + static_cast<std::size_t>(m.size()) * 20 + static_cast<std::size_t>(m.rows()) * (row_indent.size() + 4));
  out += '[';
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    out += i ? ",\n" : "\n";
    out += row_indent;
    out += '[';
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      if (j) out += ',';
      const auto r = std::to_chars(buf, buf + sizeof buf, m(i, j));
      out.append(buf, r.ptr);
    }
    out += ']';
  }
  out += '\n';
  out.append(static_cast<std::size_t>(indent), ' ');
  out += ']';
}

void append_text_matrix(std::string& out, const Eigen::MatrixXd& m, int places, bool scientific) {
  // pass 1: format every cell into one buffer (offsets per cell), measuring the widest
  std::string cells;
  cells.reserve(static_cast<std::size_t>(m.size()) * 16);
  std::vector<std::size_t> end(static_cast<std::size_t>(m.size()));
  std::size_t width = 0, prev = 0;
  char buf[64];
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      const auto r = scientific ? std::to_chars(buf, buf + sizeof buf, m(i, j), std::chars_format::scientific, 9)
                                : std::to_chars(buf, buf + sizeof buf, m(i, j), std::chars_format::fixed, places);
      cells.append(buf, r.ptr);
      end[static_cast<std::size_t>(i * m.cols() + j)] = cells.size();
      width = std::max(width, cells.size() - prev);
      prev = cells.size();
    }
  const std::size_t label_width = std::to_string(m.rows()).size() + 1;
  out.reserve(out.size() + static_cast<std::size_t>(m.rows() + 1) * (label_width + static_cast<std::size_t>(m.cols()) * (width + 2) + 1));
  auto pad = [&](std::size_t len) { out.append(width > len ? width - len : 0, ' '); };
  out.append(label_width, ' ');
  for (Eigen::Index j = 0; j < m.cols(); ++j) {
    std::string name = "x";  // (not "x" + to_string: a GCC 12 -Wrestrict false positive)
    name += std::to_string(j + 1);
    out += "  ";
    pad(name.size());
    out += name;
  }
  out += '\n';
  std::size_t start = 0;
  for (Eigen::Index i = 0; i < m.rows(); ++i) {
    std::string label = "x";
    label += std::to_string(i + 1);
    out += label;
    out.append(label_width - label.size(), ' ');
    for (Eigen::Index j = 0; j < m.cols(); ++j) {
      const std::size_t stop = end[static_cast<std::size_t>(i * m.cols() + j)];
      out += "  ";
      pad(stop - start);
      out.append(cells, start, stop - start);
      start = stop;
    }
    out += '\n';
  }
}

}  // namespace tp::frontend

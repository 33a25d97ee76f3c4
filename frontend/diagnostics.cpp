// See diagnostics.h.
#include "frontend/diagnostics.h"

#include <algorithm>

namespace tp::frontend {

std::string_view SourceFile::line(std::uint32_t line_no) const {
  if (line_no == 0) return {};
  std::size_t start = 0;
  for (std::uint32_t l = 1; l < line_no; ++l) {
    start = text.find('\n', start);
    if (start == std::string::npos) return {};
    ++start;
  }
  std::size_t end = text.find('\n', start);
  if (end == std::string::npos) end = text.size();
  std::string_view sv(text.data() + start, end - start);
  if (!sv.empty() && sv.back() == '\r') sv.remove_suffix(1);
  return sv;
}

Diagnostic& DiagnosticEngine::error(SourceRange r, std::string message) {
  if (errors_ >= limit_) {
    ++errors_;
    sink_ = Diagnostic{};
    return sink_;
  }
  ++errors_;
  diags_.push_back(Diagnostic{Severity::Error, r, std::move(message), {}, {}});
  return diags_.back();
}

Diagnostic& DiagnosticEngine::warning(SourceRange r, std::string message) {
  diags_.push_back(Diagnostic{Severity::Warning, r, std::move(message), {}, {}});
  return diags_.back();
}

std::string render(const std::vector<Diagnostic>& diags, const SourceFile& file) {
  // Source order: the lexer, parser and sema each report in order, but one after the other. Diagnostics
  // without a location (whole-file warnings) come last.
  std::vector<const Diagnostic*> sorted;
  for (const Diagnostic& d : diags) sorted.push_back(&d);
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic* a, const Diagnostic* b) {
    if (a->range.valid() != b->range.valid()) return a->range.valid();
    return a->range.begin.offset < b->range.begin.offset;
  });
  std::string out;
  for (const Diagnostic* dp : sorted) {
    const Diagnostic& d = *dp;
    const char* sev = d.severity == Severity::Error ? "error" : d.severity == Severity::Warning ? "warning" : "note";
    out += file.name;
    if (d.range.valid()) {
      out += ':';
      out += std::to_string(d.range.begin.line);
      out += ':';
      out += std::to_string(d.range.begin.col);
    }
    out += std::string(": ") + sev + ": " + d.message + "\n";
    if (d.range.valid()) {
      std::string_view src = file.line(d.range.begin.line);
      std::string shown;
      for (char c : src) shown += c == '\t' ? ' ' : c;  // keep the caret aligned
      out += "  " + shown + "\n  ";
      const std::size_t col = d.range.begin.col ? d.range.begin.col - 1 : 0;
      std::size_t width = 1;
      if (d.range.end.line == d.range.begin.line && d.range.end.col > d.range.begin.col)
        width = d.range.end.col - d.range.begin.col;
      width = std::min(width, shown.size() > col ? shown.size() - col : std::size_t{1});
      out += std::string(std::min(col, shown.size()), ' ') + "^" + std::string(width > 1 ? width - 1 : 0, '~') + "\n";
      if (!d.fixit.empty()) out += "  " + std::string(std::min(col, shown.size()), ' ') + d.fixit + "\n";
    }
    for (const auto& n : d.notes) out += file.name + ": note: " + n + "\n";
  }
  return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of adjacent characters
// each cost 1, so the common typo 'tahn' for 'tanh' is one edit away.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev2(b.size() + 1), prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string closest_match(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(name, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  const std::size_t allowed = std::max<std::size_t>(1, name.size() / 3);
  return best_d <= allowed && best_d > 0 ? best : std::string{};
}

nlohmann::json diagnostics_json(const std::vector<Diagnostic>& diags, const SourceFile& file) {
  using nlohmann::json;
  json arr = json::array();
  for (const auto& d : diags) {
    json j{{"file", file.name},
           {"severity", d.severity == Severity::Error ? "error" : d.severity == Severity::Warning ? "warning" : "note"},
           {"message", d.message},
           {"notes", d.notes}};
    if (d.range.valid()) {
      j["line"] = d.range.begin.line;
      j["column"] = d.range.begin.col;
    }
    if (!d.fixit.empty()) j["fixit"] = d.fixit;
    arr.push_back(j);
  }
  return arr;
}

}  // namespace tp::frontend

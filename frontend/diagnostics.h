// User-input diagnostics (STYLE.md "Errors", channel 1): collected, not thrown, so one run reports every
// error in a file. Rendered as `file:line:col: error: message`, the source line, a caret under the
// range, then `note:` lines and an optional fix-it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tp/source_range.h"

namespace tp::frontend {

enum class Severity { Error, Warning, Note };

struct Diagnostic {
  Severity severity = Severity::Error;
  SourceRange range;
  std::string message;
  std::vector<std::string> notes;
  std::string fixit;  ///< suggested replacement text for the range, if any
};

/// A source file held in memory with its name, for rendering line excerpts.
struct SourceFile {
  std::string name;
  std::string text;
  /// The text of the 1-based line (without its newline); empty if out of range.
  std::string_view line(std::uint32_t line) const;
};

class DiagnosticEngine {
 public:
  Diagnostic& error(SourceRange r, std::string message);
  Diagnostic& warning(SourceRange r, std::string message);
  bool has_errors() const { return errors_ > 0; }
  std::size_t error_count() const { return errors_; }
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }
  /// Stops recording after this many errors (a flood of errors helps nobody); default 50.
  void set_error_limit(std::size_t limit) { limit_ = limit; }
  bool at_limit() const { return errors_ >= limit_; }

 private:
  std::vector<Diagnostic> diags_;
  std::size_t errors_ = 0;
  std::size_t limit_ = 50;
  Diagnostic sink_;
};

/// Renders every diagnostic in the compiler style (see file header).
std::string render(const std::vector<Diagnostic>& diags, const SourceFile& file);

/// The diagnostics as a JSON array of {file, severity, message, notes, line, column, fixit} (for --format json).
nlohmann::json diagnostics_json(const std::vector<Diagnostic>& diags, const SourceFile& file);

/// Edit distance used to suggest the closest defined name.
std::size_t edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to name if it is close enough to be a plausible typo, else "".
std::string closest_match(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace tp::frontend

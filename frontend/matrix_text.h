// Large matrices as text, fast: every number formatted with std::to_chars into one buffer that is written
// at once (no per-number stream writes). JSON numbers are the shortest text that reads back to the same
// double (std::to_chars without a precision: round-trip exact); the text table rounds to fixed places.
#pragma once

#include <Eigen/Core>

#include <string>

namespace tp::frontend {

/// Appends m as a JSON array of rows, one row per line, rows indented by `indent` + 2 spaces, e.g.
/// "[\n    [1,0.5],\n    [0.5,1]\n  ]" for indent 2; numbers in shortest round-trip form. m must be finite.
void append_json_matrix(std::string& out, const Eigen::MatrixXd& m, int indent);

/// Appends the text table of `tpc kernel`: a header row "x1 x2 ..." and one labelled row per input, every cell
/// right-aligned to the widest; cells "%.*f" with `places` decimals, or "%.9e" when `scientific`.
void append_text_matrix(std::string& out, const Eigen::MatrixXd& m, int places, bool scientific);

}  // namespace tp::frontend

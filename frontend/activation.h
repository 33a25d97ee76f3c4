// Activation functions given on the command line: a catalogue name ("tanh") or an expression in x
// ("x^3 - tanh(x)"), compiled by the .tp front end so flags and scripts share one grammar.
#pragma once

#include <string>

#include "tp/expr.h"

namespace tp::frontend {

/// φ as an expression in argument 0; on failure returns nullptr and sets error to a message naming the
/// problem (e.g. "unknown function 'tanhh'; did you mean 'tanh'?").
ExprPtr parse_activation(const std::string& text, std::string& error);

}  // namespace tp::frontend

// Semantic analysis: lowers the AST to a tp::Program, checking names and kinds (vector, matrix, scalar).
//
// Lowering rules (TP4 Def. 7.1): an arithmetic/function expression over vectors and scalars becomes one
// Nonlin (or ScalarExpr when it has no vector); avg(e) becomes a Moment over e's operands; juxtaposition
// `W e` becomes a MatMul after e is materialised as a vector; `W' e` is the transposed MatMul. Every
// error is reported with its source range, and analysis continues so all errors of a file are reported.
#pragma once

#include <optional>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "tp/ir.h"

namespace tp::frontend {

/// Lowers a parsed file. Returns nullopt iff errors were reported.
std::optional<Program> analyze(const Ast& ast, DiagnosticEngine& diags);

/// lex + parse + analyze: the whole front end for one file's text.
std::optional<Program> compile_source(const std::string& text, DiagnosticEngine& diags);

}  // namespace tp::frontend

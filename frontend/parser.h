// The .tp parser: recursive descent with statement-level error recovery (every syntax error in a file is
// reported in one run). Grammar (also in README.md):
//
//   program   = { [ statement ] ( NEWLINE | ";" ) } EOF ;
//   statement = "input" IDENT { "," IDENT } "~" expr       (* expr must be N(mean, covariance) *)
//             | "matrix" IDENT { "," IDENT } "~" expr      (* N(0, sigma2/n) *)
//             | "output" item { "," item }
//             | IDENT "=" expr ;
//   item      = [ ( IDENT | STRING ) "=" ] expr ;
//   expr      = term { ( "+" | "-" ) term } ;
//   term      = unary { ( "*" | "/" ) unary } ;
//   unary     = ( "-" | "+" ) unary | apply ;
//   apply     = power [ apply ] ;              (* juxtaposition W x: MatMul, right-associative *)
//   power     = postfix [ "^" unary ] ;        (* right-associative *)
//   postfix   = primary [ "'" ] ;              (* transpose *)
//   primary   = NUMBER | IDENT [ "(" [ expr { "," expr } ] ")" ] | "(" expr ")" | "[" [ expr { "," expr } ] "]" ;
#pragma once

#include <string>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"

namespace tp::frontend {

/// Parses a whole file. A statement with a syntax error is reported; if it was an assignment or a
/// declaration it is returned as an Assign with a null value (so sema marks its names as already in error
/// instead of reporting "undefined name" at every later use); the other statements are returned as parsed.
Ast parse(const std::string& text, DiagnosticEngine& diags);

/// Maximum nesting depth of expressions; deeper input is an error, not a stack overflow.
inline constexpr int kMaxNesting = 200;

}  // namespace tp::frontend

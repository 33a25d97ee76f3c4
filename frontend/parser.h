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
//
// Level 2 (network scripts, lowered by network_script.h): every block has one shape, and the parser knows
// no keyword meanings, only which words start a block (for recovery from a missing '}'):
//
//   script    = { [ block ] ( NEWLINE | ";" ) } EOF ;
//   block     = IDENT { word } [ "{" { [ item ] ( NEWLINE | ";" ) } "}" ] ;
//   item      = IDENT "=" ( STRING | expr ) | IDENT { word } [ body ] ;
//   body      = "{" { [ item ] ( NEWLINE | ";" ) } "}" ;          (* nested: `repeat L { ... }` *)
//   word      = IDENT | [ "-" ] NUMBER | STRING | "(" expr ")" ;
#pragma once

#include <string>
#include <vector>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"

namespace tp::frontend {

/// Parses a whole file; a level-2 text (is_network_text) is one error at its first block keyword. A statement with a syntax error is reported; if it was an assignment or a
/// declaration it is returned as an Assign with a null value (so sema marks its names as already in error
/// instead of reporting "undefined name" at every later use); the other statements are returned as parsed.
Ast parse(const std::string& text, DiagnosticEngine& diags);

/// Parses a level-2 file. Level-1 statements in it ('input x ~ ...', 'name = ...') are reported as errors
/// and dropped; a block with a syntax error is reported and dropped (an item with one: only the item).
NetworkAst parse_network(const std::string& text, DiagnosticEngine& diags);

/// The words that start a level-2 block: network, parametrization, optimizer, loss, data, train.
const std::vector<std::string>& network_block_keywords();

/// True if text is a level-2 script: a line starts with a block keyword that is not followed by '=' (so a
/// level-1 assignment 'loss = avg(x * x)' stays level 1). Does not report anything.
bool is_network_text(const std::string& text);

/// Maximum nesting depth of expressions; deeper input is an error, not a stack overflow.
inline constexpr int kMaxNesting = 200;

}  // namespace tp::frontend

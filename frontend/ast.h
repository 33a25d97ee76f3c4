// The .tp abstract syntax tree. Every node carries its source range. Produced by parser.h; a level-1 Ast is
// consumed by sema.h, which lowers it to a tp::Program, a level-2 NetworkAst by network_script.h, which
// lowers it to a tp::NetworkSpec.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tp/source_range.h"

namespace tp::frontend {

struct AstExpr;
using AstExprPtr = std::unique_ptr<AstExpr>;

enum class AstExprKind {
  Number,     ///< number
  Name,       ///< text
  Neg,        ///< -args[0]
  Binary,     ///< args[0] op args[1], op in + - * / ^
  Call,       ///< text(args...)
  Apply,      ///< args[0] args[1]: juxtaposition, a MatMul when args[0] is a matrix
  Transpose,  ///< args[0]'
  List,       ///< [args...]
};

struct AstExpr {
  AstExprKind kind;
  SourceRange range;
  double number = 0;
  std::string text;  ///< Name, Call: the identifier
  char op = 0;       ///< Binary
  SourceRange name_range;  ///< Call: the callee's range
  std::vector<AstExprPtr> args;
};

enum class StmtKind { Input, Matrix, Assign, Output };

struct OutputItem {
  std::string label;        ///< explicit label, or empty
  SourceRange label_range;
  AstExprPtr expr;
  std::string source_text;  ///< the expression as written (default label)
};

struct Stmt {
  StmtKind kind;
  SourceRange range;
  std::vector<std::string> names;         ///< Input, Matrix: declared names; Assign: the target
  std::vector<SourceRange> name_ranges;
  AstExprPtr distribution;                ///< Input, Matrix: N(mean, variance)
  AstExprPtr value;                       ///< Assign (null: a statement dropped after a syntax error)
  std::vector<OutputItem> outputs;        ///< Output
};

struct Ast {
  std::vector<Stmt> statements;
};

// ---- Level 2 (network scripts): every block has the same shape, `keyword word* [ "{" item* "}" ]`, and
// the parser knows no keyword; network_script.cpp gives the words and items their meaning.

/// A word after a keyword: a name, a number (a leading '-' is folded in), a string, or "(" expr ")".
struct AstWord {
  enum Kind { Name, Number, String, Paren } kind = Name;
  std::string text;   ///< Name: the identifier; Number: the spelling ("-1e-3"); String: the decoded text;
                      ///< Paren: the expression's source text without the parentheses
  double number = 0;  ///< Number
  AstExprPtr expr;    ///< Paren
  SourceRange range;
};

/// An item of a block body: `name = value` (a setting) or `name word*` (a phrase, e.g. a layer).
struct AstItem {
  std::string name;
  SourceRange name_range, range;
  bool is_setting = false;
  AstExprPtr value;                 ///< setting whose value is an expression
  std::optional<AstWord> string_value;  ///< setting whose value is a string (`file = "d.csv"`)
  std::vector<AstWord> words;       ///< phrase
  bool broken = false;              ///< dropped after a reported syntax error (only name is set)
  bool has_body = false;            ///< a phrase followed by a nested body, `repeat 2 { ... }`
  SourceRange body_range;           ///< from '{' to '}'
  std::vector<AstItem> items;       ///< the nested body's items
};

struct AstBlock {
  std::string keyword;
  SourceRange keyword_range, range;
  std::vector<AstWord> words;
  bool has_body = false;
  SourceRange body_range;  ///< from '{' to '}'
  std::vector<AstItem> items;
  bool broken = false;  ///< dropped after a reported syntax error (only keyword and keyword_range are set)
};

/// A level-2 file: its blocks in source order (level-1 statements in it are reported and dropped).
struct NetworkAst {
  std::vector<AstBlock> blocks;
};

}  // namespace tp::frontend

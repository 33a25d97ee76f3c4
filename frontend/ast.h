// The .tp abstract syntax tree. Every node carries its source range. Produced by parser.h, consumed by
// sema.h, which lowers it to a tp::Program.
#pragma once

#include <memory>
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

}  // namespace tp::frontend

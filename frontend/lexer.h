// The .tp lexer. Newlines end statements except inside (), [] where they are whitespace; '#' starts a
// comment to the end of the line; ';' is an explicit statement separator. '{' and '}' delimit the bodies of
// level-2 blocks (network scripts); newlines inside them stay tokens (they separate the body's items).
#pragma once

#include <string>
#include <vector>

#include "frontend/diagnostics.h"

namespace tp::frontend {

enum class TokenKind {
  Ident, Number, String, Newline, End,
  Equal, Tilde, LParen, RParen, LBracket, RBracket, Comma, Plus, Minus, Star, Slash, Caret, Quote, Semicolon,
  LBrace, RBrace,  ///< level-2 blocks only (network scripts)
};

/// Human name of a token kind for "expected X, found Y" messages.
const char* token_kind_name(TokenKind k);

struct Token {
  TokenKind kind = TokenKind::End;
  std::string text;    ///< identifier name, number spelling, or decoded string
  double number = 0;   ///< Number only
  SourceRange range;
};

/// Splits text into tokens, reporting bad characters and unterminated strings to diags (and skipping them).
std::vector<Token> lex(const std::string& text, DiagnosticEngine& diags);

}  // namespace tp::frontend

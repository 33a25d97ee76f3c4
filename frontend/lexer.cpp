// See lexer.h.
#include "frontend/lexer.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <string_view>

namespace tp::frontend {

const char* token_kind_name(TokenKind k) {
  switch (k) {
    case TokenKind::Ident: return "a name";
    case TokenKind::Number: return "a number";
    case TokenKind::String: return "a string";
    case TokenKind::Newline: return "end of line";
    case TokenKind::End: return "end of file";
    case TokenKind::Equal: return "'='";
    case TokenKind::Tilde: return "'~'";
    case TokenKind::LParen: return "'('";
    case TokenKind::RParen: return "')'";
    case TokenKind::LBracket: return "'['";
    case TokenKind::RBracket: return "']'";
    case TokenKind::Comma: return "','";
    case TokenKind::Plus: return "'+'";
    case TokenKind::Minus: return "'-'";
    case TokenKind::Star: return "'*'";
    case TokenKind::Slash: return "'/'";
    case TokenKind::Caret: return "'^'";
    case TokenKind::Quote: return "''' (transpose)";
    case TokenKind::Semicolon: return "';'";
    case TokenKind::LBrace: return "'{'";
    case TokenKind::RBrace: return "'}'";
  }
  return "?";
}

namespace {

class Lexer {
 public:
  Lexer(const std::string& text, DiagnosticEngine& diags) : s_(text), diags_(diags) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    int depth = 0;
    while (true) {
      skip_space_and_comments(depth);
      SourceLoc start = loc();
      if (i_ >= s_.size()) {
        out.push_back(Token{TokenKind::End, "", 0, {start, start}});
        return out;
      }
      const char c = s_[i_];
      Token t;
      if (c == '\n') {
        advance();
        t.kind = TokenKind::Newline;
        depth = 0;  // a newline inside brackets is only a token when a statement follows (an unclosed bracket)
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '_')) advance();
        t.kind = TokenKind::Ident;
        t.text = s_.substr(start.offset, i_ - start.offset);
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && i_ + 1 < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_ + 1])))) {
        lex_number(t, start);
      } else if (c == '"') {
        lex_string(t, start);
      } else {
        advance();
        switch (c) {
          case '=': t.kind = TokenKind::Equal; break;
          case '~': t.kind = TokenKind::Tilde; break;
          case '(': t.kind = TokenKind::LParen; ++depth; break;
          case ')': t.kind = TokenKind::RParen; depth = depth > 0 ? depth - 1 : 0; break;
          case '[': t.kind = TokenKind::LBracket; ++depth; break;
          case ']': t.kind = TokenKind::RBracket; depth = depth > 0 ? depth - 1 : 0; break;
          case ',': t.kind = TokenKind::Comma; break;
          case '+': t.kind = TokenKind::Plus; break;
          case '-': t.kind = TokenKind::Minus; break;
          case '*': t.kind = TokenKind::Star; break;
          case '/': t.kind = TokenKind::Slash; break;
          case '^': t.kind = TokenKind::Caret; break;
          case '\'': t.kind = TokenKind::Quote; break;
          case ';': t.kind = TokenKind::Semicolon; break;
          case '{': t.kind = TokenKind::LBrace; depth = 0; break;
          case '}': t.kind = TokenKind::RBrace; depth = 0; break;
          default: {
            std::string shown = std::isprint(static_cast<unsigned char>(c)) ? std::string(1, c)
                                                                              : "\\x" + hex(static_cast<unsigned char>(c));
            diags_.error({start, loc()}, "unexpected character '" + shown + "'");
            continue;
          }
        }
      }
      t.range = {start, loc()};
      if (t.kind == TokenKind::Newline) t.range.end = t.range.begin;
      out.push_back(std::move(t));
    }
  }

 private:
  static std::string hex(unsigned v) {
    const char* d = "0123456789abcdef";
    return {d[v >> 4], d[v & 15]};
  }
  SourceLoc loc() const { return SourceLoc{line_, col_, static_cast<std::uint32_t>(i_)}; }
  void advance() {
    if (s_[i_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++i_;
  }
  void skip_space_and_comments(int depth) {
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || (c == '\n' && depth > 0 && !statement_follows(i_ + 1))) {
        advance();
      } else if (c == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') advance();
      } else {
        break;
      }
    }
  }
  // True if the text from j starts (after blank and comment lines) like a statement: 'input', 'matrix' or
  // 'output' followed by a name or string, or a name followed by '='. Neither can continue an expression,
  // so a newline before it inside brackets means a bracket was left open: the newline then ends the
  // statement, and the parser reports the missing closer on its line instead of swallowing the file.
  // Every newline of a blank run asks about the same text, so the answer is cached for the span scanned.
  bool statement_follows(std::size_t j) {
    if (j >= follows_from_ && j <= follows_to_) return follows_;
    auto is_space = [&](std::size_t k) { return s_[k] == ' ' || s_[k] == '\t' || s_[k] == '\r'; };
    follows_from_ = j;
    while (j < s_.size()) {
      if (is_space(j) || s_[j] == '\n') {
        ++j;
      } else if (s_[j] == '#') {
        while (j < s_.size() && s_[j] != '\n') ++j;
      } else {
        break;
      }
    }
    follows_to_ = j;
    follows_ = starts_statement(j);
    return follows_;
  }
  bool starts_statement(std::size_t j) const {
    auto is_space = [&](std::size_t k) { return s_[k] == ' ' || s_[k] == '\t' || s_[k] == '\r'; };
    const std::size_t word = j;
    if (j >= s_.size() || !(std::isalpha(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) return false;
    while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) ++j;
    const std::string_view w(s_.data() + word, j - word);
    while (j < s_.size() && is_space(j)) ++j;
    if (j >= s_.size()) return false;
    if (w == "input" || w == "matrix" || w == "output")
      return std::isalpha(static_cast<unsigned char>(s_[j])) || s_[j] == '_' || s_[j] == '"';
    return s_[j] == '=';
  }
  void lex_number(Token& t, SourceLoc start) {
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) advance();
    if (i_ < s_.size() && s_[i_] == '.') {
      advance();
      while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) advance();
    }
    if (i_ < s_.size() && (s_[i_] == 'e' || s_[i_] == 'E')) {
      std::size_t j = i_ + 1;
      if (j < s_.size() && (s_[j] == '+' || s_[j] == '-')) ++j;
      if (j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]))) {
        while (i_ < j) advance();
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) advance();
      }
    }
    t.kind = TokenKind::Number;
    t.text = s_.substr(start.offset, i_ - start.offset);
    auto [p, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
    if (ec == std::errc::result_out_of_range || !std::isfinite(t.number)) {
      // from_chars reports underflow as out of range too; only overflow is an error.
      const bool underflow = t.text.find_first_of("eE") != std::string::npos &&
                             t.text.find("e-") != std::string::npos;
      if (underflow) {
        t.number = 0.0;
      } else {
        diags_.error({start, loc()}, "number '" + t.text + "' is too large for a double");
        t.number = 0.0;
      }
    } else if (ec != std::errc() || p != t.text.data() + t.text.size()) {
      diags_.error({start, loc()}, "malformed number '" + t.text + "'");
      t.number = 0.0;
    }
  }
  void lex_string(Token& t, SourceLoc start) {
    advance();  // opening quote
    t.kind = TokenKind::String;
    while (i_ < s_.size() && s_[i_] != '"' && s_[i_] != '\n') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size() && (s_[i_ + 1] == '"' || s_[i_ + 1] == '\\')) advance();
      t.text += s_[i_];
      advance();
    }
    if (i_ < s_.size() && s_[i_] == '"') {
      advance();
    } else {
      diags_.error({start, loc()}, "unterminated string").notes.push_back("close it with '\"' on the same line");
    }
  }

  const std::string& s_;
  DiagnosticEngine& diags_;
  std::size_t i_ = 0;
  std::uint32_t line_ = 1, col_ = 1;
  std::size_t follows_from_ = 1, follows_to_ = 0;  // the span statement_follows last scanned (empty at first)
  bool follows_ = false;
};

}  // namespace

std::vector<Token> lex(const std::string& text, DiagnosticEngine& diags) { return Lexer(text, diags).run(); }

}  // namespace tp::frontend

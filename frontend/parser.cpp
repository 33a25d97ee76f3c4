// See parser.h for the grammar; each parse function carries its rule.
#include "frontend/parser.h"

#include "frontend/lexer.h"

namespace tp::frontend {

namespace {

struct ParseAbort {};  // unwinds to the statement loop, which skips to the next line

class Parser {
 public:
  Parser(const std::string& text, DiagnosticEngine& diags) : text_(text), diags_(diags) {
    toks_ = lex(text, diags);
  }

  // program = { [ statement ] ( NEWLINE | ";" ) } EOF ;
  Ast run() {
    Ast ast;
    while (!at(TokenKind::End)) {
      if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
        ++pos_;
        continue;
      }
      if (diags_.at_limit()) break;
      try {
        Stmt s = statement();
        if (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::End))
          fail_expected("end of statement");
        ast.statements.push_back(std::move(s));
      } catch (const ParseAbort&) {
        while (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::End)) ++pos_;
      }
    }
    return ast;
  }

 private:
  const Token& cur() const { return toks_[pos_]; }
  const Token& peek(std::size_t k = 1) const { return toks_[std::min(pos_ + k, toks_.size() - 1)]; }
  bool at(TokenKind k) const { return cur().kind == k; }
  bool at_keyword(const char* kw) const { return at(TokenKind::Ident) && cur().text == kw; }
  Token take() { return toks_[pos_ < toks_.size() - 1 ? pos_++ : pos_]; }

  [[noreturn]] void fail_expected(const std::string& what) {
    const Token& t = cur();
    std::string found = token_kind_name(t.kind);
    if (t.kind == TokenKind::Ident || t.kind == TokenKind::Number) found += " '" + t.text + "'";
    diags_.error(t.range, "expected " + what + ", found " + found);
    throw ParseAbort{};
  }
  Token expect(TokenKind k, const std::string& what) {
    if (!at(k)) fail_expected(what);
    return take();
  }

  static SourceRange join(SourceRange a, SourceRange b) { return {a.begin, b.end}; }

  // statement = "input" names "~" expr | "matrix" names "~" expr | "output" item {"," item} | IDENT "=" expr ;
  Stmt statement() {
    Stmt s;
    const Token first = cur();
    if ((at_keyword("input") || at_keyword("matrix")) && peek().kind == TokenKind::Ident) {
      s.kind = at_keyword("input") ? StmtKind::Input : StmtKind::Matrix;
      take();
      do {
        Token name = expect(TokenKind::Ident, "a name to declare");
        s.names.push_back(name.text);
        s.name_ranges.push_back(name.range);
      } while (at(TokenKind::Comma) && (take(), true));
      if (!at(TokenKind::Tilde)) {
        diags_.error(cur().range, std::string("expected '~' and a distribution after the declared ") +
                                      (s.kind == StmtKind::Input ? "inputs" : "matrix"))
            .notes.push_back(s.kind == StmtKind::Input ? "write e.g. 'input x ~ N(0, 1)'"
                                                       : "write e.g. 'matrix W ~ N(0, 1/n)'");
        throw ParseAbort{};
      }
      take();
      s.distribution = expr(0);
    } else if (at_keyword("output")) {
      s.kind = StmtKind::Output;
      take();
      do {
        OutputItem item;
        if ((at(TokenKind::Ident) || at(TokenKind::String)) && peek().kind == TokenKind::Equal) {
          Token label = take();
          item.label = label.text;
          item.label_range = label.range;
          take();
        } else if (at(TokenKind::String)) {
          diags_.error(cur().range, "a string label must be followed by '=' and an expression")
              .notes.push_back("write e.g. output \"kernel\" = k");
          throw ParseAbort{};
        }
        item.expr = expr(0);
        item.source_text = text_.substr(item.expr->range.begin.offset,
                                        item.expr->range.end.offset - item.expr->range.begin.offset);
        s.outputs.push_back(std::move(item));
      } while (at(TokenKind::Comma) && (take(), true));
    } else if (at(TokenKind::Ident) && peek().kind == TokenKind::Equal) {
      s.kind = StmtKind::Assign;
      Token name = take();
      s.names.push_back(name.text);
      s.name_ranges.push_back(name.range);
      take();
      s.value = expr(0);
    } else if (at(TokenKind::Ident) && peek().kind != TokenKind::Equal &&
               (cur().text == "inputs" || cur().text == "matrices" || cur().text == "outputs")) {
      diags_.error(cur().range, "unknown statement '" + cur().text + "'").fixit =
          cur().text.substr(0, cur().text.size() - (cur().text == "matrices" ? 3 : 1)) +
          (cur().text == "matrices" ? "x" : "");
      throw ParseAbort{};
    } else {
      if (at(TokenKind::Ident))
        diags_.error(cur().range, "expected a statement, found '" + cur().text + "'")
            .notes.push_back("a statement is 'input ...', 'matrix ...', 'output ...' or 'name = expression'");
      else
        fail_expected("a statement ('input', 'matrix', 'output' or 'name = expression')");
      throw ParseAbort{};
    }
    s.range = join(first.range, toks_[pos_ > 0 ? pos_ - 1 : 0].range);
    return s;
  }

  AstExprPtr node(AstExprKind k, SourceRange r) {
    auto e = std::make_unique<AstExpr>();
    e->kind = k;
    e->range = r;
    return e;
  }

  void enter(int depth) {
    if (depth > kMaxNesting) {
      diags_.error(cur().range, "expression nested more than " + std::to_string(kMaxNesting) + " levels deep");
      throw ParseAbort{};
    }
  }

  // expr = term { ( "+" | "-" ) term } ;
  AstExprPtr expr(int depth) {
    enter(depth);
    auto lhs = term(depth + 1);
    while (at(TokenKind::Plus) || at(TokenKind::Minus)) {
      const char op = take().kind == TokenKind::Plus ? '+' : '-';
      auto rhs = term(depth + 1);
      auto e = node(AstExprKind::Binary, join(lhs->range, rhs->range));
      e->op = op;
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      lhs = std::move(e);
    }
    return lhs;
  }

  // term = unary { ( "*" | "/" ) unary } ;
  AstExprPtr term(int depth) {
    enter(depth);
    auto lhs = unary(depth + 1);
    while (at(TokenKind::Star) || at(TokenKind::Slash)) {
      const char op = take().kind == TokenKind::Star ? '*' : '/';
      auto rhs = unary(depth + 1);
      auto e = node(AstExprKind::Binary, join(lhs->range, rhs->range));
      e->op = op;
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      lhs = std::move(e);
    }
    return lhs;
  }

  // unary = ( "-" | "+" ) unary | apply ;
  AstExprPtr unary(int depth) {
    enter(depth);
    if (at(TokenKind::Minus) || at(TokenKind::Plus)) {
      const Token op = take();
      auto arg = unary(depth + 1);
      if (op.kind == TokenKind::Plus) return arg;
      auto e = node(AstExprKind::Neg, join(op.range, arg->range));
      e->args.push_back(std::move(arg));
      return e;
    }
    return apply(depth + 1);
  }

  bool starts_primary() const {
    return at(TokenKind::Ident) || at(TokenKind::Number) || at(TokenKind::LParen) || at(TokenKind::LBracket);
  }

  // apply = power [ apply ] ;
  AstExprPtr apply(int depth) {
    enter(depth);
    auto lhs = power(depth + 1);
    if (!starts_primary()) return lhs;
    auto rhs = apply(depth + 1);
    auto e = node(AstExprKind::Apply, join(lhs->range, rhs->range));
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return e;
  }

  // power = postfix [ "^" unary ] ;
  AstExprPtr power(int depth) {
    enter(depth);
    auto base = postfix(depth + 1);
    if (!at(TokenKind::Caret)) return base;
    take();
    auto exponent = unary(depth + 1);
    auto e = node(AstExprKind::Binary, join(base->range, exponent->range));
    e->op = '^';
    e->args.push_back(std::move(base));
    e->args.push_back(std::move(exponent));
    return e;
  }

  // postfix = primary [ "'" ] ;
  AstExprPtr postfix(int depth) {
    auto e = primary(depth + 1);
    if (at(TokenKind::Quote)) {
      const Token q = take();
      auto t = node(AstExprKind::Transpose, join(e->range, q.range));
      t->args.push_back(std::move(e));
      return t;
    }
    return e;
  }

  // primary = NUMBER | IDENT [ "(" [ expr { "," expr } ] ")" ] | "(" expr ")" | "[" [ expr { "," expr } ] "]" ;
  AstExprPtr primary(int depth) {
    enter(depth);
    if (at(TokenKind::Number)) {
      const Token t = take();
      auto e = node(AstExprKind::Number, t.range);
      e->number = t.number;
      e->text = t.text;
      return e;
    }
    if (at(TokenKind::Ident)) {
      const Token t = take();
      if (!at(TokenKind::LParen)) {
        auto e = node(AstExprKind::Name, t.range);
        e->text = t.text;
        return e;
      }
      take();
      auto e = node(AstExprKind::Call, t.range);
      e->text = t.text;
      e->name_range = t.range;
      if (!at(TokenKind::RParen)) {
        do e->args.push_back(expr(depth + 1));
        while (at(TokenKind::Comma) && (take(), true));
      }
      const Token close = expect(TokenKind::RParen, "')' to close the call of '" + t.text + "'");
      e->range = join(t.range, close.range);
      return e;
    }
    if (at(TokenKind::LParen)) {
      const Token open = take();
      auto inner = expr(depth + 1);
      const Token close = expect(TokenKind::RParen, "')'");
      inner->range = join(open.range, close.range);
      return inner;
    }
    if (at(TokenKind::LBracket)) {
      const Token open = take();
      auto e = node(AstExprKind::List, open.range);
      if (!at(TokenKind::RBracket)) {
        do e->args.push_back(expr(depth + 1));
        while (at(TokenKind::Comma) && (take(), true));
      }
      const Token close = expect(TokenKind::RBracket, "']' to close the list");
      e->range = join(open.range, close.range);
      return e;
    }
    fail_expected("an expression");
  }

  const std::string& text_;
  DiagnosticEngine& diags_;
  std::vector<Token> toks_;
  std::size_t pos_ = 0;
};

}  // namespace

Ast parse(const std::string& text, DiagnosticEngine& diags) { return Parser(text, diags).run(); }

}  // namespace tp::frontend

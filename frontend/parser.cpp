// See parser.h for the grammar; each parse function carries its rule.
#include "frontend/parser.h"

#include <algorithm>
#include <optional>
#include <unordered_map>

#include "frontend/lexer.h"

namespace tp::frontend {

namespace {

struct ParseAbort {};  // unwinds to the statement loop, which skips to the next line

// Maximum height of an expression tree. Nesting is bounded by kMaxNesting, but a chain such as
// x + x + ... + x is a left-deep tree as tall as it is long, and lowering, printing and destroying
// expressions recurse on their height; this bound keeps that recursion far from the stack limit.
constexpr int kMaxHeight = 256;  // 1000 overflowed the 8 MiB stack in the ASan build (big frames)

// The range of the first block keyword that starts a line and is not followed by '=' (see is_network_text).
std::optional<SourceRange> first_block_keyword(const std::string& text) {
  DiagnosticEngine quiet;
  const std::vector<Token> toks = lex(text, quiet);
  const auto& k = network_block_keywords();
  for (std::size_t i = 0; i + 1 < toks.size(); ++i) {
    const bool starts = i == 0 || toks[i - 1].kind == TokenKind::Newline || toks[i - 1].kind == TokenKind::Semicolon;
    if (starts && toks[i].kind == TokenKind::Ident && toks[i + 1].kind != TokenKind::Equal &&
        std::find(k.begin(), k.end(), toks[i].text) != k.end())
      return toks[i].range;
  }
  return std::nullopt;
}

class Parser {
 public:
  Parser(const std::string& text, DiagnosticEngine& diags) : text_(text), diags_(diags) {
    const std::size_t before = diags.diagnostics().size();
    toks_ = lex(text, diags);
    for (std::size_t i = before; i < diags.diagnostics().size(); ++i)
      if (diags.diagnostics()[i].severity == Severity::Error)
        lex_errors_.push_back(diags.diagnostics()[i].range.begin.offset);
  }

  // program = { [ statement ] ( NEWLINE | ";" ) } EOF ;
  //
  // Recovery: a statement with a syntax error, or on which the lexer reported an error (a bad character,
  // an unterminated string, a number out of range), is dropped up to the next NEWLINE or ";". So that its
  // mistake is reported once, not again at every use of the names it would define, a dropped statement
  // that defines names is kept as an Assign without a value, which sema reads as "names in error".
  Ast run() {
    Ast ast;
    while (!at(TokenKind::End)) {
      if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
        ++pos_;
        continue;
      }
      if (diags_.at_limit()) break;
      height_.clear();
      const std::size_t first = pos_;
      if (has_lex_error(first)) {
        skip_statement();
        drop(ast, first);
        continue;
      }
      try {
        Stmt s = statement();
        if (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::End))
          fail_expected("end of statement");
        ast.statements.push_back(std::move(s));
      } catch (const ParseAbort&) {
        skip_statement();
        drop(ast, first);
      }
    }
    return ast;
  }

  // script = { [ block ] ( NEWLINE | ";" ) } EOF ;
  //
  // Recovery as in run(): a block with a syntax error is dropped up to the end of its statement; inside a
  // body, an item with one is dropped up to its ';', newline or '}'.
  NetworkAst run_network() {
    NetworkAst ast;
    while (!at(TokenKind::End)) {
      if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
        ++pos_;
        continue;
      }
      if (diags_.at_limit()) break;
      height_.clear();
      const std::size_t first = pos_;
      const bool level1 = level1_statement_here();
      try {
        if (has_lex_error(first)) throw ParseAbort{};
        if (level1) {
          report_level1_statement();
          throw ParseAbort{};
        }
        AstBlock b = block();
        if (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::End))
          fail_expected("end of the '" + b.keyword + "' block");
        ast.blocks.push_back(std::move(b));
      } catch (const ParseAbort&) {
        skip_block();
        // Keep a trace of a dropped block so that it is not also reported as missing.
        if (!level1 && toks_[first].kind == TokenKind::Ident) {
          AstBlock b;
          b.keyword = toks_[first].text;
          b.keyword_range = b.range = toks_[first].range;
          b.broken = true;
          ast.blocks.push_back(std::move(b));
        }
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

  void skip_statement() {
    while (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::End)) ++pos_;
  }

  // True if the lexer reported an error between the end of the previous statement and the end of the one
  // that starts at token first.
  bool has_lex_error(std::size_t first) const {
    const std::uint32_t from = first > 0 ? toks_[first - 1].range.end.offset : 0;
    std::size_t last = first;
    while (toks_[last].kind != TokenKind::Newline && toks_[last].kind != TokenKind::Semicolon &&
           toks_[last].kind != TokenKind::End)
      ++last;
    const std::uint32_t to = toks_[last].range.begin.offset;
    for (std::uint32_t off : lex_errors_)
      if (off >= from && off <= to) return true;
    return false;
  }

  // Records the names the dropped statement starting at token first would have defined: the declared
  // names of 'input'/'matrix', an output's identifier label, or an assignment's target.
  void drop(Ast& ast, std::size_t first) {
    Stmt s;
    s.kind = StmtKind::Assign;
    auto tok = [&](std::size_t k) -> const Token& { return toks_[std::min(k, toks_.size() - 1)]; };
    const Token& t0 = tok(first);
    if (t0.kind != TokenKind::Ident) return;
    const bool keyword = t0.text == "input" || t0.text == "matrix" || t0.text == "output";
    if (keyword && t0.text != "output" && tok(first + 1).kind == TokenKind::Ident) {
      for (std::size_t k = first + 1; tok(k).kind == TokenKind::Ident; k += 2) {
        s.names.push_back(tok(k).text);
        s.name_ranges.push_back(tok(k).range);
        if (tok(k + 1).kind != TokenKind::Comma) break;
      }
    } else if (t0.text == "output" && tok(first + 1).kind == TokenKind::Ident &&
               tok(first + 2).kind == TokenKind::Equal) {
      s.names.push_back(tok(first + 1).text);
      s.name_ranges.push_back(tok(first + 1).range);
    } else if (tok(first + 1).kind == TokenKind::Equal && !(keyword && t0.text == "output")) {
      s.names.push_back(t0.text);
      s.name_ranges.push_back(t0.range);
    }
    if (s.names.empty()) return;
    s.range = join(t0.range, tok(pos_ > first ? pos_ - 1 : first).range);
    ast.statements.push_back(std::move(s));
  }

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

  // ---- level 2 ----

  static bool is_block_keyword(const std::string& w) {
    const auto& k = network_block_keywords();
    return std::find(k.begin(), k.end(), w) != k.end();
  }

  // A level-1 statement: 'input'/'matrix'/'output' followed by a name or string, or 'name = ...'.
  bool level1_statement_here() const {
    if (!at(TokenKind::Ident)) return false;
    if (peek().kind == TokenKind::Equal) return true;
    const bool decl = cur().text == "input" || cur().text == "matrix" || cur().text == "output";
    return decl && (peek().kind == TokenKind::Ident || peek().kind == TokenKind::String);
  }

  void report_level1_statement() {
    Diagnostic& d = diags_.error(cur().range, "a network script cannot contain level-1 statements ('" + cur().text +
                                                  (peek().kind == TokenKind::Equal ? " = ...'" : " ...'") + ")");
    d.notes.push_back("a file with a 'network' block (or another level-2 block) is a level-2 script; keep level-1 "
                      "programs ('input', 'matrix', 'name = expr', 'output') in a separate file");
    if (cur().text == "input")
      d.notes.push_back("the input dimension of a network is set inside its block: 'network mlp { input 2; ... }'");
  }

  // Skips the rest of a dropped block, including a body that is still open.
  void skip_block() {
    int braces = 0;
    while (!at(TokenKind::End)) {
      if (at(TokenKind::LBrace)) ++braces;
      if (at(TokenKind::RBrace) && braces > 0) --braces;
      if (braces == 0 && (at(TokenKind::Newline) || at(TokenKind::Semicolon))) return;
      ++pos_;
    }
  }

  // block = IDENT { word } [ "{" { [ item ] ( NEWLINE | ";" ) } "}" ] ;
  AstBlock block() {
    AstBlock b;
    if (!at(TokenKind::Ident)) fail_expected("a block ('network', 'parametrization', 'optimizer', 'loss', 'data' or 'train')");
    const Token kw = take();
    b.keyword = kw.text;
    b.keyword_range = kw.range;
    while (starts_word()) b.words.push_back(word());
    b.range = join(kw.range, toks_[pos_ - 1].range);
    if (!at(TokenKind::LBrace)) return b;
    const Token open = take();
    b.has_body = true;
    while (true) {
      if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
        ++pos_;
        continue;
      }
      if (at(TokenKind::RBrace)) break;
      // A missing '}': the file ends, or a line starts with a block keyword (no item is named like one).
      const bool new_line = toks_[pos_ - 1].kind == TokenKind::Newline;
      if (at(TokenKind::End) || (new_line && at(TokenKind::Ident) && is_block_keyword(cur().text) &&
                                 peek().kind != TokenKind::Equal)) {
        diags_.error(open.range, "missing '}' to close the body of the '" + b.keyword + "' block")
            .notes.push_back(at(TokenKind::End) ? "the file ends before the block is closed"
                                                : "the block is still open when '" + cur().text + "' starts at line " +
                                                      std::to_string(cur().range.begin.line));
        b.body_range = join(open.range, toks_[pos_ - 1].range);
        b.range = join(kw.range, toks_[pos_ - 1].range);
        pos_ = pos_ - 1;  // leave the newline (or End) to end the statement
        if (!at(TokenKind::Newline)) ++pos_;
        return b;
      }
      height_.clear();
      const std::size_t first = pos_;
      try {
        if (has_lex_error(first)) throw ParseAbort{};
        AstItem it = item();
        if (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::RBrace))
          fail_expected("';', a new line or '}' after '" + it.name + "'");
        b.items.push_back(std::move(it));
      } catch (const ParseAbort&) {
        skip_item();
        if (toks_[first].kind == TokenKind::Ident) {  // a trace, so the item is not also reported as missing
          AstItem it;
          it.name = toks_[first].text;
          it.name_range = it.range = toks_[first].range;
          it.broken = true;
          b.items.push_back(std::move(it));
        }
      }
    }
    const Token close = take();
    b.body_range = join(open.range, close.range);
    b.range = join(kw.range, close.range);
    return b;
  }

  void skip_item() {
    while (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::RBrace) && !at(TokenKind::End)) ++pos_;
  }

  // item = IDENT "=" ( STRING | expr ) | IDENT { word } ;
  AstItem item() {
    AstItem it;
    const Token name = expect(TokenKind::Ident, "a setting ('name = value') or a layer (e.g. 'dense n tanh')");
    it.name = name.text;
    it.name_range = name.range;
    if (at(TokenKind::Equal)) {
      take();
      it.is_setting = true;
      if (at(TokenKind::String)) {
        it.string_value = word();
        it.range = join(name.range, it.string_value->range);
      } else {
        it.value = expr(0);
        it.range = join(name.range, it.value->range);
      }
      return it;
    }
    while (starts_word()) it.words.push_back(word());
    it.range = join(name.range, toks_[pos_ - 1].range);
    if (at(TokenKind::LBrace)) nested_body(it);
    return it;
  }

  // body = "{" { [ item ] ( NEWLINE | ";" ) } "}" ; an item with a syntax error is reported and kept as a
  // broken trace; a missing '}' aborts the enclosing item.
  void nested_body(AstItem& it) {
    if (++depth_ > 16) {
      diags_.error(cur().range, "bodies nested more than 16 deep");
      throw ParseAbort{};
    }
    const Token open = take();
    it.has_body = true;
    while (true) {
      if (at(TokenKind::Newline) || at(TokenKind::Semicolon)) {
        ++pos_;
        continue;
      }
      if (at(TokenKind::RBrace)) break;
      if (at(TokenKind::End)) {
        diags_.error(open.range, "missing '}' to close the body of '" + it.name + "'")
            .notes.push_back("the file ends before the body is closed");
        --depth_;
        throw ParseAbort{};
      }
      const std::size_t first = pos_;
      try {
        if (has_lex_error(first)) throw ParseAbort{};
        AstItem sub = item();
        if (!at(TokenKind::Newline) && !at(TokenKind::Semicolon) && !at(TokenKind::RBrace))
          fail_expected("';', a new line or '}' after '" + sub.name + "'");
        it.items.push_back(std::move(sub));
      } catch (const ParseAbort&) {
        skip_item();
        if (at(TokenKind::End)) {
          --depth_;
          throw;
        }
        if (toks_[first].kind == TokenKind::Ident) {
          AstItem trace;
          trace.name = toks_[first].text;
          trace.name_range = trace.range = toks_[first].range;
          trace.broken = true;
          it.items.push_back(std::move(trace));
        }
      }
    }
    const Token close = take();
    --depth_;
    it.body_range = join(open.range, close.range);
    it.range = join(it.range, close.range);
  }

  bool starts_word() const {
    return at(TokenKind::Ident) || at(TokenKind::Number) || at(TokenKind::String) || at(TokenKind::LParen) ||
           (at(TokenKind::Minus) && peek().kind == TokenKind::Number);
  }

  // word = IDENT | [ "-" ] NUMBER | STRING | "(" expr ")" ;
  AstWord word() {
    AstWord w;
    if (at(TokenKind::LParen)) {
      const Token open = take();
      w.kind = AstWord::Paren;
      w.expr = expr(1);
      w.text = text_.substr(w.expr->range.begin.offset, w.expr->range.end.offset - w.expr->range.begin.offset);
      const Token close = expect(TokenKind::RParen, "')'");
      w.range = join(open.range, close.range);
      return w;
    }
    const Token first = take();
    w.range = first.range;
    w.text = first.text;
    if (first.kind == TokenKind::Minus) {
      const Token num = take();
      w.kind = AstWord::Number;
      w.number = -num.number;
      w.text = "-" + num.text;
      w.range = join(first.range, num.range);
    } else if (first.kind == TokenKind::Number) {
      w.kind = AstWord::Number;
      w.number = first.number;
    } else {
      w.kind = first.kind == TokenKind::String ? AstWord::String : AstWord::Name;
    }
    return w;
  }

  AstExprPtr node(AstExprKind k, SourceRange r) {
    auto e = std::make_unique<AstExpr>();
    e->kind = k;
    e->range = r;
    return e;
  }

  // Records the height of e once its arguments are attached; a tree taller than kMaxHeight is an error
  // reported at `at` (the operator that makes it too tall). Leaves (height 1) are not recorded; no node is
  // freed while a statement is parsed, so an address in the table is never a stale one.
  AstExprPtr seal(AstExprPtr e, SourceRange at) {
    int h = 0;
    for (const auto& a : e->args) {
      const auto it = height_.find(a.get());
      h = std::max(h, it == height_.end() ? 1 : it->second);
    }
    height_[e.get()] = h + 1;
    if (h + 1 > kMaxHeight) {
      diags_.error(at, "expression has more than " + std::to_string(kMaxHeight) + " operations in a chain")
          .notes.push_back("split it into several assignments, e.g. 's1 = a + b' then 's2 = s1 + c'");
      throw ParseAbort{};
    }
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
    auto lhs = term(depth);
    while (at(TokenKind::Plus) || at(TokenKind::Minus)) {
      const Token op = take();
      auto rhs = term(depth);
      auto e = node(AstExprKind::Binary, join(lhs->range, rhs->range));
      e->op = op.kind == TokenKind::Plus ? '+' : '-';
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      lhs = seal(std::move(e), op.range);
    }
    return lhs;
  }

  // term = unary { ( "*" | "/" ) unary } ;
  AstExprPtr term(int depth) {
    auto lhs = unary(depth);
    while (at(TokenKind::Star) || at(TokenKind::Slash)) {
      const Token op = take();
      auto rhs = unary(depth);
      auto e = node(AstExprKind::Binary, join(lhs->range, rhs->range));
      e->op = op.kind == TokenKind::Star ? '*' : '/';
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      lhs = seal(std::move(e), op.range);
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
      return seal(std::move(e), op.range);
    }
    return apply(depth);
  }

  bool starts_primary() const {
    return at(TokenKind::Ident) || at(TokenKind::Number) || at(TokenKind::LParen) || at(TokenKind::LBracket);
  }

  // apply = power [ apply ] ;
  AstExprPtr apply(int depth) {
    enter(depth);
    auto lhs = power(depth);
    if (!starts_primary()) return lhs;
    auto rhs = apply(depth + 1);
    auto e = node(AstExprKind::Apply, join(lhs->range, rhs->range));
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    const SourceRange r = e->range;
    return seal(std::move(e), r);
  }

  // power = postfix [ "^" unary ] ;
  AstExprPtr power(int depth) {
    auto base = postfix(depth);
    if (!at(TokenKind::Caret)) return base;
    const Token caret = take();
    auto exponent = unary(depth + 1);
    auto e = node(AstExprKind::Binary, join(base->range, exponent->range));
    e->op = '^';
    e->args.push_back(std::move(base));
    e->args.push_back(std::move(exponent));
    return seal(std::move(e), caret.range);
  }

  // postfix = primary [ "'" ] ;
  AstExprPtr postfix(int depth) {
    auto e = primary(depth);
    if (at(TokenKind::Quote)) {
      const Token q = take();
      auto t = node(AstExprKind::Transpose, join(e->range, q.range));
      t->args.push_back(std::move(e));
      return seal(std::move(t), q.range);
    }
    return e;
  }

  // primary = NUMBER | IDENT [ "(" [ expr { "," expr } ] ")" ] | "(" expr ")" | "[" [ expr { "," expr } ] "]" ;
  AstExprPtr primary(int depth) {
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
      return seal(std::move(e), t.range);
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
      return seal(std::move(e), open.range);
    }
    fail_expected("an expression");
  }

  const std::string& text_;
  DiagnosticEngine& diags_;
  std::vector<Token> toks_;
  std::vector<std::uint32_t> lex_errors_;  ///< offsets of the errors the lexer reported
  std::unordered_map<const AstExpr*, int> height_;  ///< tree height of the inner nodes of the current statement
  std::size_t pos_ = 0;
  int depth_ = 0;  ///< nesting of item bodies (repeat { ... })
};

}  // namespace

Ast parse(const std::string& text, DiagnosticEngine& diags) {
  // A level-2 script read as a program would give an error per line; one error that says what it is helps.
  if (const auto at = first_block_keyword(text)) {
    diags.error(*at, "this is a network script (level 2), but a Tensor Program (level 1) is needed here")
        .notes.push_back("'tpc check' compiles network scripts; a program is made of 'input', 'matrix', "
                         "'name = expr' and 'output' statements");
    return {};
  }
  return Parser(text, diags).run();
}

NetworkAst parse_network(const std::string& text, DiagnosticEngine& diags) { return Parser(text, diags).run_network(); }

const std::vector<std::string>& network_block_keywords() {
  static const std::vector<std::string> k{"network", "parametrization", "optimizer", "loss", "data", "train"};
  return k;
}

bool is_network_text(const std::string& text) { return first_block_keyword(text).has_value(); }

}  // namespace tp::frontend

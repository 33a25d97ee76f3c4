// Lowering of a graph network's two blocks, `network graph { ... }` and its `parametrization`, to a
// tp::GraphSpec (the grammar is in network_script.h and README "Network scripts"). Used by
// network_script.cpp, which lowers the other blocks (optimizer, loss, data, train) as for an MLP.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frontend/ast.h"
#include "frontend/diagnostics.h"
#include "tp/graph.h"

namespace tp::frontend {

/// An exact rational exponent written in a script: a NUMBER read exactly (0.25 = 1/4), or + - * / of such;
/// nullopt for anything else (a name, a call, a division by 0).
std::optional<Rational> rational_of(const AstExpr& e);

/// The helpers of network_script.cpp's lowering that read words (each reports its own errors).
struct WordReaders {
  std::function<std::optional<long long>(const AstWord&, const std::string&)> integer;
  std::function<std::optional<double>(const AstWord&, const std::string&)> number;
  std::function<ExprPtr(const AstWord&)> activation;
};

class GraphLowering {
 public:
  GraphLowering(DiagnosticEngine& diags, WordReaders read) : diags_(diags), read_(std::move(read)) {}

  /// `network graph { layer* }`: nodes and parameters (with placeholder scalings), d, d_o, S, L. Returns
  /// false after reporting errors.
  bool network(const AstBlock& b);
  /// `parametrization <preset> [form F] [decay R] [{ overrides }]` for the optimizer o: every parameter's
  /// TensorScaling. Call after network() succeeded. Returns false after reporting errors.
  bool parametrization(const AstBlock& b, Optimizer o);

  GraphSpec& spec() { return spec_; }

 private:
  struct Scope {
    std::map<std::string, int> names;  // name → node (the latest binding)
    std::string prefix;                 // "block2." inside the second repetition
  };
  void items(const std::vector<AstItem>& body, bool in_repeat);
  void layer(const AstItem& it);
  int lookup(const AstWord& w);
  std::string unique_node_name(const std::string& base);
  int add_node(GraphNode v, const AstItem& it);
  int add_param(const std::string& node, const std::string& suffix, TensorKind k, const AstItem& it);
  std::optional<Rational> exponent(const AstWord& w, const std::string& what);
  bool apply_overrides(const AstItem& it, std::vector<int>& targets, std::vector<bool>& wd_given);

  DiagnosticEngine& diags_;
  WordReaders read_;
  GraphSpec spec_;
  std::vector<Scope> scopes_;
  std::map<std::string, SourceRange> later_names_;  // every `as NAME` in the file (for "defined later")
  int current_ = -1;                                // the node the next layer reads by default
  int repeats_ = 0;
  int embedding_param_ = -1;
  bool seen_input_ = false, seen_readout_ = false;
  std::vector<int> zero_query_;         // query tensors of attentions marked zero_query
  std::vector<int> given_;              // per parameter: bits 1, 2, 4 = a, b, c given (for abc)
  void apply_tie();
  std::pair<int, int> tie_{-1, -1};     // (readout weight, embedding weight) when 'tied'
};

}  // namespace tp::frontend

// See network_script.h. The lowering:
//   1. parse (parser.h, parse_network): blocks of the shape `keyword word* [ { item* } ]`;
//   2. sort blocks by keyword: unknown keywords and duplicates are errors, missing required blocks too;
//   3. lower each block on its own (network first: the depth and the dimensions are needed later);
//   4. cross-check what depends on two blocks (exponent counts vs depth, data shapes vs dimensions,
//      batch size vs number of points), each check only when both blocks were lowered without error;
//   5. tp::network_problem on the finished spec, reported at the block its message is about.
#include "frontend/network_script.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "frontend/activation.h"
#include "frontend/graph_lowering.h"
#include "tp/network_graph.h"
#include "frontend/parser.h"
#include "limits/csv_matrix.h"

namespace tp::frontend {

namespace {

const std::vector<std::string> kPresets{"sp", "ntp", "ntk", "mfp", "mup", "abc"};
const std::vector<std::string> kLayers{"input", "dense", "readout"};

std::string count_of(std::size_t k, const std::string& noun) {
  return std::to_string(k) + " " + noun + (k == 1 ? "" : "s");
}

class Lowering {
 public:
  /// graph: read `network graph { ... }` (compile_graph_network); else an MLP (compile_network).
  Lowering(const std::string& base_dir, DiagnosticEngine& diags, bool graph = false)
      : base_dir_(base_dir), diags_(diags), graph_mode_(graph) {
    if (graph)
      graph_.emplace(diags, WordReaders{[this](const AstWord& w, const std::string& what) { return integer(w, what); },
                                        [this](const AstWord& w, const std::string& what) { return number(w, what); },
                                        [this](const AstWord& w) { return activation(w); }});
  }
  /// The graph of a graph script, valid after run() returned a value in graph mode.
  GraphSpec& graph_spec() { return graph_->spec(); }

  std::optional<NetworkScript> run(const NetworkAst& ast) {
    collect(ast);
    if (const AstBlock* b = block("network")) network(*b);
    if (const AstBlock* b = block("parametrization")) parametrization(*b);
    if (const AstBlock* b = block("optimizer")) optimizer(*b);
    if (const AstBlock* b = block("loss")) loss(*b);
    if (const AstBlock* b = block("data")) data(*b);
    if (const AstBlock* b = block("train")) train(*b);
    cross_checks();
    if (diags_.has_errors()) return std::nullopt;
    if (graph_mode_) return finish_graph() ? std::optional<NetworkScript>(std::move(out_)) : std::nullopt;
    const std::string problem = network_problem(out_.spec);
    if (!problem.empty()) {
      diags_.error(range_for(problem), problem);
      return std::nullopt;
    }
    return std::move(out_);
  }

 private:
  NetworkSpec& spec() { return out_.spec; }
  const AstBlock* block(const std::string& k) const {
    const auto it = blocks_.find(k);
    return it == blocks_.end() || it->second->broken ? nullptr : it->second;
  }

  // ---- step 2: blocks by keyword ----
  void collect(const NetworkAst& ast) {
    const auto& keywords = network_block_keywords();
    std::vector<std::string> misspelt;
    for (const AstBlock& b : ast.blocks) {
      if (std::find(keywords.begin(), keywords.end(), b.keyword) == keywords.end()) {
        if (b.broken) continue;
        Diagnostic& d = diags_.error(b.keyword_range, "unknown block '" + b.keyword + "'");
        suggest(d, b.keyword, keywords);
        if (!d.fixit.empty()) misspelt.push_back(d.fixit);  // not also reported as missing
        d.notes.push_back("a network script has the blocks network, parametrization, optimizer, loss, data, train");
        continue;
      }
      if (const auto it = blocks_.find(b.keyword); it != blocks_.end()) {
        diags_.error(b.keyword_range, "duplicate '" + b.keyword + "' block")
            .notes.push_back("the first '" + b.keyword + "' block is at line " +
                             std::to_string(it->second->keyword_range.begin.line) + "; a script has one of each");
        continue;
      }
      blocks_[b.keyword] = &b;
    }
    if (ast.blocks.empty() && !diags_.has_errors()) {
      diags_.error(start_of_file(), "the script has no blocks: it is empty or holds only comments")
          .notes.push_back("a network script has the blocks network, parametrization, optimizer, data (and loss, "
                           "train), e.g. 'network mlp { input 2; dense n tanh; readout 1 }'");
      return;
    }
    const SourceRange where = ast.blocks.empty() ? start_of_file() : ast.blocks.front().keyword_range;
    const std::map<std::string, std::string> required{
        {"network", "network mlp { input 2; dense n tanh; readout 1 }"},
        {"parametrization", "parametrization mup"},
        {"optimizer", "optimizer sgd lr 0.5"},
        {"data", "data { x = [[1, 0], [0, 1]]; y = [1, -1] }"}};
    for (const std::string& k : keywords)
      if (required.count(k) && !blocks_.count(k) && std::find(misspelt.begin(), misspelt.end(), k) == misspelt.end())
        diags_.error(where, "the script has no '" + k + "' block, which is required")
            .notes.push_back("add one, e.g. '" + required.at(k) + "'");
  }

  static void suggest(Diagnostic& d, const std::string& name, const std::vector<std::string>& candidates) {
    const std::string best = closest_match(name, candidates);
    if (best.empty()) return;
    d.notes.push_back("did you mean '" + best + "'?");
    d.fixit = best;
  }

  // ---- values ----

  // A number: a NUMBER, or + - * / of numbers (so 1/3 and -0.5 work). Reports and returns nullopt otherwise.
  std::optional<double> number(const AstExpr& e, const std::string& what) {
    auto v = eval(e);
    if (!v) {
      diags_.error(e.range, what + " must be a number");
      return std::nullopt;
    }
    if (!std::isfinite(*v)) {
      diags_.error(e.range, what + " is not a finite number").notes.push_back("data and options must be finite");
      return std::nullopt;
    }
    return v;
  }
  static std::optional<double> eval(const AstExpr& e) {
    switch (e.kind) {
      case AstExprKind::Number: return e.number;
      case AstExprKind::Neg: {
        auto v = eval(*e.args[0]);
        return v ? std::optional<double>(-*v) : std::nullopt;
      }
      case AstExprKind::Binary: {
        auto l = eval(*e.args[0]), r = eval(*e.args[1]);
        if (!l || !r) return std::nullopt;
        switch (e.op) {
          case '+': return *l + *r;
          case '-': return *l - *r;
          case '*': return *l * *r;
          case '/': return *l / *r;
          default: return std::nullopt;
        }
      }
      default: return std::nullopt;
    }
  }
  std::optional<double> number(const AstWord& w, const std::string& what) {
    if (w.kind == AstWord::Number) {
      if (std::isfinite(w.number)) return w.number;
      diags_.error(w.range, what + " is not a finite number");
      return std::nullopt;
    }
    if (w.kind == AstWord::Paren) return number(*w.expr, what);
    diags_.error(w.range, what + " must be a number, found '" + w.text + "'");
    return std::nullopt;
  }
  std::optional<long long> integer(const AstWord& w, const std::string& what) {
    auto v = number(w, what);
    if (!v) return std::nullopt;
    if (*v != std::floor(*v) || std::abs(*v) > 1e9) {
      diags_.error(w.range, what + " must be a whole number, found " + w.text);
      return std::nullopt;
    }
    return static_cast<long long>(*v);
  }

  // A list of numbers is a column (one number per point); a list of lists is one row per point.
  std::optional<Eigen::MatrixXd> matrix(const AstExpr& e, const std::string& what) {
    if (e.kind != AstExprKind::List) {
      diags_.error(e.range, what + " must be a list, e.g. [[1, 0], [0, 1]] (one row per point)");
      return std::nullopt;
    }
    if (e.args.empty()) {
      diags_.error(e.range, what + " is empty; give at least one point");
      return std::nullopt;
    }
    const bool nested = e.args[0]->kind == AstExprKind::List;
    const std::size_t cols = nested ? e.args[0]->args.size() : 1;
    Eigen::MatrixXd m(static_cast<Eigen::Index>(e.args.size()), static_cast<Eigen::Index>(cols));
    bool ok = true;
    for (std::size_t i = 0; i < e.args.size(); ++i) {
      const AstExpr& row = *e.args[i];
      if ((row.kind == AstExprKind::List) != nested) {
        diags_.error(row.range, what + ": row " + std::to_string(i + 1) +
                                    (nested ? " is a number but row 1 is a list" : " is a list but row 1 is a number"))
            .notes.push_back("write every row as a list, e.g. [[1, 0], [0.5, 0.5]]");
        ok = false;
        continue;
      }
      if (!nested) {
        auto v = number(row, what + " entry");
        if (v) m(static_cast<Eigen::Index>(i), 0) = *v;
        ok = ok && v;
        continue;
      }
      if (row.args.size() != cols) {
        diags_.error(row.range, what + ": row " + std::to_string(i + 1) + " has " + count_of(row.args.size(), "number") +
                                    " but row 1 has " + std::to_string(cols));
        ok = false;
        continue;
      }
      for (std::size_t j = 0; j < cols; ++j) {
        auto v = number(*row.args[j], what + " entry");
        if (v) m(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) = *v;
        ok = ok && v;
      }
    }
    if (!ok) return std::nullopt;
    if (cols == 0) {
      diags_.error(e.range, what + " has empty rows");
      return std::nullopt;
    }
    return m;
  }

  // An exact rational exponent: a NUMBER read exactly (0.25 = 1/4), or + - * / of such; or a free symbol.
  static std::optional<Rational> rational(const AstExpr& e) { return rational_of(e); }
  // Reads one exponent into out; a name is a free symbol. Returns false after reporting.
  bool exponent(const AstExpr& e, char which, int layer, Rational& out) {
    if (e.kind == AstExprKind::Name && e.text != "n") {
      out = 0;
      out_.free.push_back({e.text, which, layer, e.range});
      return true;
    }
    auto v = rational(e);
    if (!v) {
      diags_.error(e.range, std::string("exponent ") + which + (layer ? "_" + std::to_string(layer) : "") +
                                " is not an exact rational")
          .notes.push_back("write an integer, a fraction or a decimal such as -1/2, 1, 0.25 (or a name to leave it free)");
      return false;
    }
    out = *v;
    return true;
  }

  // `key value` pairs in words[first..]; reports unknown keys (with a suggestion), repeats and missing values.
  std::map<std::string, const AstWord*> options(const std::vector<AstWord>& words, std::size_t first,
                                                const std::vector<std::string>& keys, const std::string& block) {
    std::map<std::string, const AstWord*> found;
    for (std::size_t i = first; i < words.size(); i += 2) {
      const AstWord& k = words[i];
      if (k.kind != AstWord::Name || std::find(keys.begin(), keys.end(), k.text) == keys.end()) {
        std::string list;
        for (const auto& key : keys) list += (list.empty() ? "" : ", ") + key;
        Diagnostic& d = diags_.error(k.range, "unknown " + block + " option '" + k.text + "'");
        if (k.kind == AstWord::Name) suggest(d, k.text, keys);
        d.notes.push_back("the options are " + list + ", each followed by its value");
        ok_[block] = false;
        continue;
      }
      if (i + 1 >= words.size()) {
        diags_.error(k.range, "'" + k.text + "' needs a value, e.g. '" + k.text + " " +
                                  (k.text == "batch" ? "full" : k.text == "lr" ? "0.5" : "1") + "'");
        ok_[block] = false;
        break;
      }
      if (found.count(k.text)) {
        diags_.error(k.range, "'" + k.text + "' is given twice");
        ok_[block] = false;
        continue;
      }
      found[k.text] = &words[i + 1];
    }
    return found;
  }

  // ---- step 3: the blocks ----

  // network mlp [bias] { input d; dense n φ; ...; readout d_o }
  void network(const AstBlock& b) {
    ok_["network"] = false;
    spec().source.network = b.range;
    const std::size_t errors = diags_.error_count();
    if (b.words.empty() || b.words[0].kind != AstWord::Name) {
      diags_.error(b.words.empty() ? b.keyword_range : b.words[0].range,
                   "expected the architecture after 'network', e.g. 'network mlp { ... }'");
      return;
    }
    if (b.words[0].text == "graph" && graph_mode_) {
      ok_["network"] = graph_->network(b);
      spec().input_dim = graph_->spec().input_dim;
      spec().output_dim = graph_->spec().output_dim;
      return;
    }
    if (b.words[0].text != "mlp") {
      diags_.error(b.words[0].range, "unknown architecture '" + b.words[0].text + "'")
          .notes.push_back("the architectures are 'mlp' (a multilayer perceptron) and 'graph' (named layers: "
                           "embedding, dense, layernorm, attention, add, readout, repeat)");
    }
    for (std::size_t i = 1; i < b.words.size(); ++i) {
      if (b.words[i].kind == AstWord::Name && b.words[i].text == "bias" && !spec().biases) {
        spec().biases = true;
        continue;
      }
      diags_.error(b.words[i].range, "unexpected '" + b.words[i].text + "' after 'network mlp'")
          .notes.push_back("the only option is 'bias' (biases in every layer): 'network mlp bias { ... }'");
    }
    if (!b.has_body) {
      diags_.error(b.range, "the network needs its layers in braces")
          .notes.push_back("write e.g. 'network mlp { input 2; dense n tanh; dense n tanh; readout 1 }'");
      return;
    }
    int inputs = 0, readouts = 0, dense = 0;
    bool broken = false;
    const AstItem* first_dense = nullptr;
    for (std::size_t i = 0; i < b.items.size(); ++i) {
      const AstItem& it = b.items[i];
      if (it.broken) {  // reported by the parser; count it so it is not also reported missing
        ++(it.name == "input" ? inputs : it.name == "readout" ? readouts : dense);
        broken = true;
        continue;
      }
      if (it.has_body) {
        diags_.error(it.body_range, "'" + it.name + "' takes no body in braces")
            .notes.push_back("'repeat L { ... }' belongs to graph networks: 'network graph { ... }'");
        continue;
      }
      if (it.is_setting || std::find(kLayers.begin(), kLayers.end(), it.name) == kLayers.end()) {
        Diagnostic& d = diags_.error(it.name_range, "unknown layer '" + it.name + "'");
        suggest(d, it.name, kLayers);
        d.notes.push_back("a network is 'input d', then hidden layers 'dense n <activation>', then 'readout d_o'");
        continue;
      }
      if (it.name == "input" || it.name == "readout") {
        const bool in = it.name == "input";
        const int seen = in ? inputs++ : readouts++;
        if (seen > 0) {
          diags_.error(it.name_range, "a network has one '" + it.name + "' layer");
          continue;
        }
        const bool misplaced = in ? (i != 0) : (i + 1 != b.items.size());
        if (misplaced)
          diags_.error(it.name_range, std::string("the '") + it.name + "' layer must come " + (in ? "first" : "last"));
        if (it.words.size() != 1) {
          diags_.error(it.range, "'" + it.name + "' takes one number, the " +
                                     (in ? "input dimension d, e.g. 'input 2'" : "output dimension d_o, e.g. 'readout 1'"));
          continue;
        }
        auto v = integer(it.words[0], in ? "the input dimension" : "the output dimension");
        if (!v) continue;
        if (*v < 1) {
          diags_.error(it.words[0].range, std::string(in ? "the input dimension" : "the output dimension") +
                                              " must be at least 1");
          continue;
        }
        (in ? spec().input_dim : spec().output_dim) = static_cast<int>(*v);
        continue;
      }
      ++dense;  // dense n φ
      if (it.words.empty() || it.words[0].kind != AstWord::Name || it.words[0].text != "n") {
        diags_.error(it.words.empty() ? it.range : it.words[0].range,
                     "a hidden layer has width 'n': write 'dense n <activation>'")
            .notes.push_back("the width n is the variable of the theory; commands choose its finite values");
        continue;
      }
      if (it.words.size() < 2) {
        diags_.error(it.range, "the hidden layer needs an activation, e.g. 'dense n tanh' or 'dense n (x * tanh(x))'");
        continue;
      }
      for (std::size_t w = 2; w < it.words.size(); ++w) {
        Diagnostic& d = diags_.error(it.words[w].range, "unexpected '" + it.words[w].text + "' after the activation");
        if (it.words[w].text == "bias")
          d.notes.push_back("biases are set for the whole network: 'network mlp bias { ... }'");
        else
          d.notes.push_back("an activation that is an expression goes in parentheses: 'dense n (x * tanh(x))'");
      }
      if (it.words.size() > 2) continue;
      const AstWord& act = it.words[1];
      ExprPtr phi = activation(act);
      if (!phi) continue;
      if (first_dense) {
        if (act.text != first_dense->words[1].text)
          diags_.error(act.range, "every hidden layer must have the same activation; the first has '" +
                                      first_dense->words[1].text + "'")
              .notes.push_back("the first hidden layer is at line " + std::to_string(first_dense->range.begin.line));
        continue;
      }
      first_dense = &it;
      spec().activation = phi;
      spec().activation_text = act.kind == AstWord::Paren ? act.text : act.text == "linear" || act.text == "identity" ? "x" : act.text;
    }
    if (inputs == 0) diags_.error(b.body_range, "the network has no 'input d' layer (first, e.g. 'input 2')");
    if (readouts == 0) diags_.error(b.body_range, "the network has no 'readout d_o' layer (last, e.g. 'readout 1')");
    if (dense == 0)
      diags_.error(b.body_range, "the network has no hidden layer; add at least one 'dense n <activation>'");
    spec().depth = dense;
    ok_["network"] = !broken && diags_.error_count() == errors;
  }

  // φ from a word: a catalogue name, x / linear / identity, or "(" expression in x ")". nullptr after reporting.
  ExprPtr activation(const AstWord& w) {
    std::string text = w.text, error;
    if (w.kind == AstWord::Name) {
      if (text == "linear" || text == "identity") text = "x";
      Function f;
      if (text != "x" && !function_from_spelling(text, f)) {
        std::vector<std::string> names{"x", "linear", "identity"};
        for (Function g : all_functions()) names.push_back(function_spelling(g));
        Diagnostic& d = diags_.error(w.range, "unknown activation '" + w.text + "'");
        suggest(d, w.text, names);
        d.notes.push_back("an activation is a function name (tanh, relu, erf, gelu, ...), 'x' (linear) or an "
                          "expression in x in parentheses, e.g. (x * tanh(x))");
        return nullptr;
      }
    } else if (w.kind != AstWord::Paren) {
      diags_.error(w.range, "expected an activation, found '" + w.text + "'")
          .notes.push_back("write a function name such as tanh, or an expression in x in parentheses");
      return nullptr;
    }
    if (text == "x") return argument(0);  // a lone argument is no Nonlin for parse_activation; build it here
    ExprPtr phi = parse_activation(text, error);
    if (!phi) diags_.error(w.range, "bad activation: " + error);
    return phi;
  }

  // parametrization sp | ntp | ntk | mfp | mup | abc { a = [..]; b = [..]; c = r | [..] }
  void parametrization(const AstBlock& b) {
    spec().source.parametrization = b.range;
    if (graph_mode_) {  // lowered in cross_checks, once the optimizer is known (the presets depend on it)
      graph_param_ = &b;
      ok_["parametrization"] = true;
      return;
    }
    if (b.words.size() != 1 || b.words[0].kind != AstWord::Name) {
      diags_.error(b.words.empty() ? b.keyword_range : b.words[b.words.size() > 1 ? 1 : 0].range,
                   b.words.empty() ? "expected a parametrization after 'parametrization'"
                                   : "'parametrization' takes one name")
          .notes.push_back("write one of sp, ntp (or ntk), mfp, mup, or abc { a = [...]; b = [...]; c = 0 }");
      return;
    }
    const AstWord& name = b.words[0];
    if (std::find(kPresets.begin(), kPresets.end(), name.text) == kPresets.end()) {
      Diagnostic& d = diags_.error(name.range, "unknown parametrization '" + name.text + "'");
      suggest(d, name.text, kPresets);
      d.notes.push_back("the presets are sp, ntp (also 'ntk'), mfp, mup; or abc { a = [...]; b = [...]; c = 0 }");
      return;
    }
    if (name.text != "abc") {
      if (b.has_body) {
        diags_.error(b.body_range, "the preset '" + name.text + "' takes no exponents in braces")
            .notes.push_back("for your own exponents write 'parametrization abc { a = [...]; b = [...]; c = 0 }'");
        return;
      }
      preset_ = name.text == "ntk" ? "ntp" : name.text;
      preset_range_ = name.range;
      ok_["parametrization"] = true;
      return;
    }
    if (!b.has_body) {
      diags_.error(name.range, "'abc' needs its exponents in braces")
          .notes.push_back("write e.g. 'abc { a = [-1/2, 0, 1/2]; b = [1/2, 1/2, 1/2]; c = 0 }'");
      return;
    }
    const std::size_t errors = diags_.error_count();
    bool broken = false;
    for (const AstItem& it : b.items) {
      if (it.broken) {
        broken = true;
        if (it.name == "a" || it.name == "b" || it.name == "c") abc_items_[it.name[0]] = &it;
        continue;
      }
      if (!it.is_setting || !(it.name == "a" || it.name == "b" || it.name == "c") || !it.value) {
        Diagnostic& d = diags_.error(it.name_range, "unknown abc entry '" + it.name + "'");
        if (!(it.name == "a" || it.name == "b" || it.name == "c")) suggest(d, it.name, {"a", "b", "c"});
        d.notes.push_back("write 'a = [...]', 'b = [...]' (L+1 exponents each) and 'c = r' (or c = [...] per layer)");
        continue;
      }
      const char k = it.name[0];
      if (abc_items_.count(k)) {
        diags_.error(it.name_range, "'" + it.name + "' is given twice");
        continue;
      }
      abc_items_[k] = &it;
      if (k != 'c' && it.value->kind != AstExprKind::List) {
        diags_.error(it.value->range, "'" + it.name + "' must be a list of exponents, one per layer, e.g. [-1/2, 0, 1/2]");
        continue;
      }
      std::vector<Rational>& dst = k == 'a' ? spec().abc.a : k == 'b' ? spec().abc.b : spec().abc.c_l;
      if (it.value->kind != AstExprKind::List) {
        exponent(*it.value, 'c', 0, spec().abc.c);
        continue;
      }
      if (it.value->args.empty()) {
        diags_.error(it.value->range, "'" + it.name + "' is an empty list; it needs one exponent per layer");
        continue;
      }
      dst.resize(it.value->args.size());
      for (std::size_t i = 0; i < dst.size(); ++i) exponent(*it.value->args[i], k, static_cast<int>(i) + 1, dst[i]);
    }
    for (const char k : {'a', 'b', 'c'})
      if (!abc_items_.count(k))
        diags_.error(name.range, std::string("'abc' is missing '") + k + " = ...'")
            .notes.push_back(k == 'c' ? "c is the learning-rate exponent (η n^-c): 'c = 0', or one per layer 'c = [0, 1, 0]'"
                                      : std::string("write '") + k + " = [...]' with L+1 exponents (hidden layers and readout)");
    ok_["parametrization"] = !broken && diags_.error_count() == errors;
  }

  // optimizer sgd | adam | signsgd  lr η [weight_decay λ] [beta1 β1] [beta2 β2] [eps ε]
  void optimizer(const AstBlock& b) {
    spec().source.optimizer = b.range;
    const std::size_t errors = diags_.error_count();
    const std::vector<std::string> names{"sgd", "adam", "signsgd"};
    if (b.words.empty() || b.words[0].kind != AstWord::Name ||
        std::find(names.begin(), names.end(), b.words[0].text) == names.end()) {
      Diagnostic& d = diags_.error(b.words.empty() ? b.keyword_range : b.words[0].range,
                                   b.words.empty() ? "expected an optimizer after 'optimizer'"
                                                   : "unknown optimizer '" + b.words[0].text + "'");
      if (!b.words.empty()) suggest(d, b.words[0].text, names);
      d.notes.push_back("the optimizers are sgd, adam, signsgd, e.g. 'optimizer sgd lr 0.5'");
      return;
    }
    if (b.has_body) diags_.error(b.body_range, "'optimizer' takes its options on the line, e.g. 'optimizer adam lr 0.01'");
    const std::string& o = b.words[0].text;
    spec().abc.optimizer = o == "sgd" ? Optimizer::sgd : o == "adam" ? Optimizer::adam : Optimizer::signsgd;
    ok_["optimizer"] = true;
    const auto opts = options(b.words, 1, {"lr", "weight_decay", "beta1", "beta2", "eps"}, "optimizer");
    if (!opts.count("lr") && ok_["optimizer"])
      diags_.error(b.words[0].range, "the optimizer needs a learning rate").fixit = o + " lr 0.5";
    for (const auto& [key, w] : opts) {
      const bool adam_only = key == "beta1" || key == "beta2" || key == "eps";
      if (adam_only && o != "adam") {
        diags_.error(words_key(b, key), "'" + key + "' is an Adam option, but the optimizer is " + o);
        continue;
      }
      auto v = number(*w, "'" + key + "'");
      if (!v) continue;
      if (key == "lr") {
        if (*v <= 0) diags_.error(w->range, "the learning rate must be positive, found " + w->text);
        spec().lr = *v;
      } else if (key == "weight_decay") {
        if (*v < 0) diags_.error(w->range, "the weight decay must be >= 0, found " + w->text);
        spec().weight_decay = *v;
      } else if (key == "eps") {
        if (*v <= 0) diags_.error(w->range, "eps must be positive, found " + w->text);
        spec().adam_eps = *v;
      } else {
        if (*v < 0 || *v >= 1) diags_.error(w->range, "'" + key + "' must be in [0, 1), found " + w->text);
        (key == "beta1" ? spec().adam_beta1 : spec().adam_beta2) = *v;
      }
    }
    ok_["optimizer"] = diags_.error_count() == errors;
  }
  static SourceRange words_key(const AstBlock& b, const std::string& key) {
    for (const AstWord& w : b.words)
      if (w.kind == AstWord::Name && w.text == key) return w.range;
    return b.range;
  }

  // loss mse | cross_entropy
  void loss(const AstBlock& b) {
    spec().source.loss = b.range;
    const std::vector<std::string> names{"mse", "cross_entropy"};
    if (b.words.size() != 1 || b.words[0].kind != AstWord::Name ||
        std::find(names.begin(), names.end(), b.words[0].text) == names.end() || b.has_body) {
      Diagnostic& d = diags_.error(b.words.empty() ? b.keyword_range : b.words[0].range,
                                   b.words.empty() ? "expected a loss after 'loss'"
                                   : b.words.size() == 1 && !b.has_body ? "unknown loss '" + b.words[0].text + "'"
                                                                         : "'loss' takes one name");
      if (b.words.size() == 1) suggest(d, b.words[0].text, names);
      d.notes.push_back("the losses are mse (1/2 |f - y|^2) and cross_entropy (softmax)");
      return;
    }
    spec().loss = b.words[0].text == "mse" ? LossKind::mse : LossKind::cross_entropy;
  }

  // data { x = [[..]]; y = [..]; eval = [[..]] } | data "f.csv" [ { eval = [[..]] } ] | data { file = "f.csv"; ... }
  void data(const AstBlock& b) {
    spec().source.data = b.range;
    const std::size_t errors = diags_.error_count();
    const AstWord* file = nullptr;
    for (const AstWord& w : b.words) {
      if (w.kind == AstWord::String && !file) {
        file = &w;
        continue;
      }
      diags_.error(w.range, "unexpected '" + w.text + "' after 'data'")
          .notes.push_back("write 'data \"file.csv\"' or 'data { x = [[...]]; y = [...] }'");
    }
    if (!file && !b.has_body) {
      diags_.error(b.keyword_range, "'data' needs a CSV file or the points in braces")
          .notes.push_back("write 'data \"file.csv\"' or 'data { x = [[1, 0], [0, 1]]; y = [1, -1] }'");
      return;
    }
    bool broken = false;
    std::map<std::string, const AstItem*> items;
    const std::vector<std::string> keys{"x", "y", "eval", "file"};
    for (const AstItem& it : b.items) {
      if (it.broken) {
        broken = true;
        continue;
      }
      if (!it.is_setting || std::find(keys.begin(), keys.end(), it.name) == keys.end()) {
        Diagnostic& d = diags_.error(it.name_range, "unknown data entry '" + it.name + "'");
        suggest(d, it.name, keys);
        d.notes.push_back("the entries are x = [[...]], y = [...], eval = [[...]] and file = \"...\"");
        continue;
      }
      if (items.count(it.name)) {
        diags_.error(it.name_range, "'" + it.name + "' is given twice");
        continue;
      }
      items[it.name] = &it;
    }
    if (items.count("file")) {
      const AstItem& it = *items.at("file");
      if (!it.string_value) diags_.error(it.range, "'file' must be a string, e.g. file = \"train.csv\"");
      else if (file) diags_.error(it.name_range, "the data file is given twice");
      else file = &*it.string_value;
    }
    if (file && (items.count("x") || items.count("y")))
      diags_.error(items.count("x") ? items.at("x")->name_range : items.at("y")->name_range,
                   "give the training points either in a file or as x and y, not both");
    auto read = [&](const char* key, const char* what, Eigen::MatrixXd& dst) {
      if (!items.count(key)) return;
      const AstItem& it = *items.at(key);
      if (!it.value) {
        diags_.error(it.range, std::string("'") + key + "' must be a list of numbers");
        return;
      }
      if (auto m = matrix(*it.value, what)) dst = *m;
    };
    if (file) {
      csv(*file);
    } else {
      for (const char* k : {"x", "y"})
        if (!items.count(k) && !broken)
          diags_.error(b.keyword_range, std::string("the data has no '") + k + " = [...]'")
              .notes.push_back(k[0] == 'x' ? "x holds the training inputs, one row per point: x = [[1, 0], [0.5, 0.5]]"
                                           : "y holds the targets, one per point: y = [1, -1] (or rows when d_o > 1)");
      read("x", "x", spec().train_x);
      read("y", "y", spec().train_y);
    }
    read("eval", "eval", spec().eval_x);
    x_item_ = items.count("x") ? items.at("x") : nullptr;
    y_item_ = items.count("y") ? items.at("y") : nullptr;
    eval_item_ = items.count("eval") ? items.at("eval") : nullptr;
    ok_["data"] = !broken && diags_.error_count() == errors;
  }

  // The training points from a CSV file: the last d_o columns are targets, the others inputs.
  void csv(const AstWord& file) {
    namespace fs = std::filesystem;
    fs::path path(file.text);
    if (path.is_relative() && !base_dir_.empty()) path = fs::path(base_dir_) / path;
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      diags_.error(file.range, "cannot read the data file '" + file.text + "'")
          .notes.push_back("tried '" + fs::absolute(path, ec).string() + "'" +
                           (fs::path(file.text).is_relative() ? " (relative paths start at the script's directory)" : ""));
      return;
    }
    if (graph_mode_ && graph_->spec().positions > 1) {
      diags_.error(file.range, "a CSV data file holds one point per row, but the network reads " +
                                   std::to_string(graph_->spec().positions) + " positions per example")
          .notes.push_back("write the data in braces: 'data { x = [[...], ...]; y = [...] }' with S rows of x per example");
      return;
    }
    limits::CsvMatrix m;
    try {
      m = limits::read_csv_matrix(path.string());
    } catch (const limits::CsvError& e) {
      diags_.error(file.range, std::string("bad CSV data: ") + e.what());
      return;
    }
    if (!ok_["network"]) return;
    const auto need = static_cast<Eigen::Index>(spec().input_dim + spec().output_dim);
    if (m.values.cols() != need) {
      diags_.error(file.range, path.string() + " has " + count_of(static_cast<std::size_t>(m.values.cols()), "column") +
                                   " but the network needs " + std::to_string(need))
          .notes.push_back("the columns are the " + std::to_string(spec().input_dim) + " inputs, then the " +
                           std::to_string(spec().output_dim) + " targets (input " + std::to_string(spec().input_dim) +
                           ", readout " + std::to_string(spec().output_dim) + ")");
      return;
    }
    spec().train_x = m.values.leftCols(spec().input_dim);
    spec().train_y = m.values.rightCols(spec().output_dim);
  }

  // train [steps T] [batch full | sample | k]
  void train(const AstBlock& b) {
    spec().source.train = b.range;
    const std::size_t errors = diags_.error_count();
    ok_["train"] = true;
    if (b.has_body) diags_.error(b.body_range, "'train' takes its options on the line, e.g. 'train steps 3 batch full'");
    const auto opts = options(b.words, 0, {"steps", "batch"}, "train");
    if (opts.count("steps")) {
      const AstWord& w = *opts.at("steps");
      if (auto v = integer(w, "the number of steps")) {
        if (*v < 0) diags_.error(w.range, "the number of steps must be >= 0, found " + w.text);
        else spec().steps = static_cast<int>(*v);
      }
    }
    if (opts.count("batch")) {
      const AstWord& w = *opts.at("batch");
      batch_word_ = &w;
      if (w.kind == AstWord::Name && (w.text == "full" || w.text == "sample")) {
        spec().batch = w.text == "full" ? BatchMode::full : BatchMode::per_sample;
      } else if (w.kind == AstWord::Number || w.kind == AstWord::Paren) {
        if (auto v = integer(w, "the batch size")) {
          if (*v < 1) diags_.error(w.range, "the batch size must be at least 1, found " + w.text);
          spec().batch = BatchMode::minibatch;
          spec().batch_size = static_cast<int>(*v);
        }
      } else {
        Diagnostic& d = diags_.error(w.range, "unknown batch mode '" + w.text + "'");
        suggest(d, w.text, {"full", "sample"});
        d.notes.push_back("write 'batch full' (every point each step), 'batch sample' (one point per step, in "
                          "order) or 'batch k' (k points per step)");
      }
    }
    ok_["train"] = ok_["train"] && diags_.error_count() == errors;
  }

  // ---- step 4 ----
  void cross_checks() {
    const bool net = ok_["network"];
    const int L = spec().depth;
    const Eigen::Index S = graph_mode_ ? graph_->spec().positions : 1;  // rows of x per example
    if (graph_mode_ && net && graph_param_ && ok_["optimizer"])
      ok_["parametrization"] = graph_->parametrization(*graph_param_, spec().abc.optimizer);
    if (graph_mode_) {
      // the MLP's exponent lists do not apply
    } else if (net && ok_["parametrization"] && !preset_.empty()) {
      try {
        spec().abc = [&] {
          AbcParametrization p = preset(preset_, L);
          p.optimizer = spec().abc.optimizer;
          return p;
        }();
        spec().source.layer_exponents.assign(static_cast<std::size_t>(L) + 1, preset_range_);
      } catch (const std::invalid_argument& e) {
        diags_.error(preset_range_, e.what());
      }
    } else if (net && ok_["parametrization"]) {
      const std::size_t layers = static_cast<std::size_t>(L) + 1;
      bool counts = true;
      for (const char k : {'a', 'b', 'c'}) {
        const AstItem& it = *abc_items_.at(k);
        if (it.value->kind != AstExprKind::List || it.value->args.size() == layers) continue;
        counts = false;
        diags_.error(it.value->range, std::string("'") + k + "' has " + count_of(it.value->args.size(), "exponent") +
                                          " but a depth-" + std::to_string(L) + " network needs " +
                                          std::to_string(layers))
            .notes.push_back("one per layer: " + std::to_string(L) + " hidden layer" + (L == 1 ? "" : "s") +
                             " (the 'dense' lines) and the readout, " + k + "_1.." + k + "_" + std::to_string(layers));
      }
      if (counts) {
        spec().source.layer_exponents.clear();
        for (const auto& e : abc_items_.at('a')->value->args) spec().source.layer_exponents.push_back(e->range);
      }
    }
    if (net && ok_["data"]) {
      const int d = spec().input_dim, d_o = spec().output_dim;
      const auto& x = spec().train_x;
      const auto& y = spec().train_y;
      if (x_item_ && x.cols() != d)
        diags_.error(x_item_->value->range, "x has " + count_of(static_cast<std::size_t>(x.cols()), "column") +
                                                " but the network's input dimension is " + std::to_string(d))
            .notes.push_back("one row per training point with d = " + std::to_string(d) + " numbers ('input " +
                             std::to_string(d) + "' in the network block)" +
                             (x.cols() == 1 && d > 1 ? "; a point is a list, e.g. x = [[1, 0]]" : ""));
      const bool class_indices = spec().loss == LossKind::cross_entropy && y.cols() == 1 && d_o > 1;
      if (y_item_ && y.cols() != d_o && !class_indices)
        diags_.error(y_item_->value->range, "y has " + count_of(static_cast<std::size_t>(y.cols()), "column") +
                                                " but the network's output dimension is " + std::to_string(d_o))
            .notes.push_back("one target row per point with d_o = " + std::to_string(d_o) + " numbers ('readout " +
                             std::to_string(d_o) + "')");
      if (const Eigen::Index i = first_bad_class_index(spec()); i >= 0 && x.rows() == y.rows()) {
        const SourceRange where = [&] {
          if (!y_item_) return spec().source.data;  // from a CSV file: the data block
          const AstExpr& row = *y_item_->value->args[static_cast<std::size_t>(i)];
          return row.kind == AstExprKind::List && !row.args.empty() ? row.args[0]->range : row.range;
        }();
        diags_.error(where, class_index_problem(spec(), i))
            .notes.push_back("a class index is a whole number from 0 to d_o - 1 = " + std::to_string(d_o - 1) +
                             " ('readout " + std::to_string(d_o) + "'); or give one-hot rows of " +
                             std::to_string(d_o) + " numbers");
      }
      if (eval_item_ && spec().eval_x.cols() != d)
        diags_.error(eval_item_->value->range,
                     "eval has " + count_of(static_cast<std::size_t>(spec().eval_x.cols()), "column") +
                         " but the network's input dimension is " + std::to_string(d));
    }
    const bool shape_known = net || !graph_mode_;  // an MLP example is one row of x whatever the network says
    if (shape_known && ok_["data"] && x_item_ && spec().train_x.rows() % S != 0)
      diags_.error(x_item_->value->range, "x has " + count_of(static_cast<std::size_t>(spec().train_x.rows()), "row") +
                                              ", not a multiple of the " + std::to_string(S) + " positions per example")
          .notes.push_back("an example is S = " + std::to_string(S) + " consecutive rows of x ('positions " +
                           std::to_string(S) + "' in the input layer)");
    else if (shape_known && ok_["data"] && y_item_ && x_item_ && spec().train_y.rows() * S != spec().train_x.rows())
      diags_.error(y_item_->value->range, "y has " + count_of(static_cast<std::size_t>(spec().train_y.rows()), "row") +
                                              " but x has " + std::to_string(spec().train_x.rows() / S) +
                                              (S == 1 ? " (one target per training point)"
                                                      : " examples of " + std::to_string(S) + " positions (one target per example)"));
    if (ok_["data"] && ok_["train"] && batch_word_ && spec().batch == BatchMode::minibatch &&
        spec().batch_size > spec().train_x.rows() / S)
      diags_.error(batch_word_->range, "the batch size " + std::to_string(spec().batch_size) + " is larger than the " +
                                           count_of(static_cast<std::size_t>(spec().train_x.rows() / S), "training point"))
          .notes.push_back("use 'batch full' to train on every point at each step");
  }

  // Graph mode: the training and data into the GraphSpec, then graph_problem (reported at the network block).
  bool finish_graph() {
    GraphSpec& g = graph_->spec();
    const NetworkSpec& n = spec();
    copy_training(n, g);
    const std::string problem = graph_problem(g);
    if (problem.empty()) return true;
    const bool data = problem.find("data") != std::string::npos || problem.find("target") != std::string::npos ||
                      problem.find("inputs") != std::string::npos;
    const SourceRange r = data && n.source.data.valid() ? n.source.data : n.source.network;
    diags_.error(r, problem);
    return false;
  }

  // The block a network_problem message is about.
  SourceRange range_for(const std::string& problem) const {
    auto has = [&](const char* w) { return problem.find(w) != std::string::npos; };
    const NetworkSourceMap& s = out_.spec.source;
    SourceRange r = s.network;
    if (has("exponent") || has("parametrization")) r = s.parametrization;
    else if (has("learning rate") || has("weight decay")) r = s.optimizer;
    else if (has("minibatch") || has("steps")) r = s.train;
    else if (has("target") || has("training") || has("data") || has("evaluation")) r = s.data;
    return r.valid() ? r : s.network;
  }

  std::string base_dir_;
  DiagnosticEngine& diags_;
  bool graph_mode_ = false;
  std::optional<GraphLowering> graph_;
  const AstBlock* graph_param_ = nullptr;
  NetworkScript out_;
  std::map<std::string, const AstBlock*> blocks_;
  std::map<std::string, bool> ok_;
  std::string preset_;
  SourceRange preset_range_;
  std::map<char, const AstItem*> abc_items_;
  const AstItem *x_item_ = nullptr, *y_item_ = nullptr, *eval_item_ = nullptr;
  const AstWord* batch_word_ = nullptr;
};

// Free exponents (symbols) that the command cannot take, reported where the script writes them: every
// command but phase reads numbers only (the placeholder 0 would be used silently); phase takes one or two
// symbols, each at one place when there are two.
void check_free_symbols(const NetworkScript& script, FreeExponents policy, DiagnosticEngine& diags) {
  std::vector<const FreeSymbol*> first;  // the first place of each distinct symbol
  for (const FreeSymbol& f : script.free) {
    const bool seen = std::any_of(first.begin(), first.end(), [&](const FreeSymbol* g) { return g->symbol == f.symbol; });
    if (!seen) first.push_back(&f);
  }
  auto place = [](const FreeSymbol& f) { return std::string(1, f.exponent) + (f.layer == 0 ? "" : "_" + std::to_string(f.layer)); };
  if (policy == FreeExponents::refused) {
    for (const FreeSymbol* f : first)
      diags.error(f->range, "the exponent " + place(*f) + " is left free as the symbol '" + f->symbol +
                                "'; this command needs every exponent as a number")
          .notes.push_back("free exponents are for 'tpc phase', which maps the regimes over them; write an exact "
                           "rational here, e.g. 0 or 1/2");
    return;
  }
  if (first.size() > 2) {
    diags.error(first[2]->range, "a third free symbol '" + first[2]->symbol + "' (after '" + first[0]->symbol +
                                     "' and '" + first[1]->symbol + "'); tpc phase handles one or two free exponents")
        .notes.push_back("write the others as exact rationals");
    return;
  }
  if (first.size() == 2)
    for (const FreeSymbol& f : script.free)
      if (&f != first[0] && &f != first[1]) {
        diags.error(f.range, "the symbol '" + f.symbol + "' stands at a second place (" + place(f) +
                                 "); with two free symbols each must stand at one place only")
            .notes.push_back("tie exponents with one symbol only when it is the only free one");
        return;
      }
}

}  // namespace

bool is_network_script(const std::string& text) { return is_network_text(text); }

bool is_graph_network_script(const std::string& text) {
  if (!is_network_text(text)) return false;
  DiagnosticEngine quiet;
  const NetworkAst ast = parse_network(text, quiet);
  return std::any_of(ast.blocks.begin(), ast.blocks.end(), [](const AstBlock& b) {
    return b.keyword == "network" && !b.words.empty() && b.words[0].kind == AstWord::Name && b.words[0].text == "graph";
  });
}

std::optional<GraphScript> compile_graph_network(const std::string& text, const std::string& base_dir,
                                                 DiagnosticEngine& diags) {
  const NetworkAst ast = parse_network(text, diags);
  Lowering lowering(base_dir, diags, true);
  auto script = lowering.run(ast);
  if (!script || diags.has_errors()) return std::nullopt;
  return GraphScript{std::move(lowering.graph_spec())};
}

std::optional<NetworkScript> compile_network(const std::string& text, const std::string& base_dir,
                                             DiagnosticEngine& diags, FreeExponents free) {
  const NetworkAst ast = parse_network(text, diags);
  for (const AstBlock& b : ast.blocks)  // a graph network: one error, not one per block read as an MLP's
    if (b.keyword == "network" && !b.words.empty() && b.words[0].kind == AstWord::Name && b.words[0].text == "graph") {
      diags.error(b.words[0].range, "this command reads MLP scripts; a 'network graph' is read by 'tpc phase', "
                                    "'check', 'dump', 'run' and 'coordcheck'")
          .notes.push_back("run 'tpc phase <script>' for the phase per tensor of a graph network, 'tpc run' or 'tpc "
                           "coordcheck' to train it at finite widths; its infinite-width limit is not evaluated");
      return std::nullopt;
    }
  auto script = Lowering(base_dir, diags).run(ast);
  if (script) check_free_symbols(*script, free, diags);
  if (diags.has_errors()) return std::nullopt;
  return script;
}

}  // namespace tp::frontend

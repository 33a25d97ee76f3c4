// See graph_lowering.h. The network body is lowered item by item in source order: `current_` is the node
// the next layer reads (unless `from NAME`), `as NAME` binds a name to the node a layer produced (a later
// `as` rebinds it, so `add h as h` carries a residual stream through the repeated blocks), and `repeat L`
// lowers its body L times with node names prefixed "block<i>.".
#include "frontend/graph_lowering.h"

#include <algorithm>
#include <set>

namespace tp::frontend {

namespace {

const std::vector<std::string> kGraphLayers{"input",     "embedding", "dense",     "bias",    "activation", "layernorm",
                                            "rmsnorm",   "attention", "add",       "readout", "repeat"};
const std::vector<std::string> kKinds{"input_like", "hidden", "output_like", "vector_like", "scalar_like"};

std::string list_of(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

void collect_names(const std::vector<AstItem>& body, std::map<std::string, SourceRange>& out) {
  for (const AstItem& it : body) {
    for (std::size_t i = 0; i + 1 < it.words.size(); ++i)
      if (it.words[i].kind == AstWord::Name && it.words[i].text == "as" && it.words[i + 1].kind == AstWord::Name &&
          !out.count(it.words[i + 1].text))
        out[it.words[i + 1].text] = it.words[i + 1].range;
    collect_names(it.items, out);
  }
}

bool before(const SourceRange& a, const SourceRange& b) { return a.begin.offset < b.begin.offset; }

}  // namespace

std::optional<Rational> rational_of(const AstExpr& e) {
  switch (e.kind) {
    case AstExprKind::Number: return parse_rational(e.text);
    case AstExprKind::Neg: {
      auto v = rational_of(*e.args[0]);
      return v ? std::optional<Rational>(-*v) : std::nullopt;
    }
    case AstExprKind::Binary: {
      auto l = rational_of(*e.args[0]), r = rational_of(*e.args[1]);
      if (!l || !r) return std::nullopt;
      switch (e.op) {
        case '+': return *l + *r;
        case '-': return *l - *r;
        case '*': return *l * *r;
        case '/': return *r == 0 ? std::nullopt : std::optional<Rational>(*l / *r);
        default: return std::nullopt;
      }
    }
    default: return std::nullopt;
  }
}


std::optional<Rational> GraphLowering::exponent(const AstWord& w, const std::string& what) {
  std::optional<Rational> r;
  if (w.kind == AstWord::Number) r = parse_rational(w.text);
  else if (w.kind == AstWord::Paren && w.expr) r = rational_of(*w.expr);
  if (!r)
    diags_.error(w.range, what + " must be an exact rational, found '" + w.text + "'")
        .notes.push_back("write an integer, a decimal or a fraction in parentheses, e.g. 1, 0.5 or (1/2)");
  return r;
}

// network graph { item* }
bool GraphLowering::network(const AstBlock& b) {
  const std::size_t errors = diags_.error_count();
  for (std::size_t i = 1; i < b.words.size(); ++i)
    diags_.error(b.words[i].range, "unexpected '" + b.words[i].text + "' after 'network graph'")
        .notes.push_back("the layers go in braces: 'network graph { input 4; embedding n; ...; readout 1 }'");
  if (!b.has_body) {
    diags_.error(b.range, "the network needs its layers in braces")
        .notes.push_back("write e.g. 'network graph { input 4; embedding n; dense n tanh; readout 1 }'");
    return false;
  }
  collect_names(b.items, later_names_);
  scopes_.assign(1, Scope{});
  items(b.items, false);
  if (!seen_input_ && diags_.error_count() == errors)
    diags_.error(b.body_range, "the network has no 'input d' layer (first, e.g. 'input 4 positions 3')");
  if (!seen_readout_ && diags_.error_count() == errors)
    diags_.error(b.body_range, "the network has no readout; end it with 'readout d_o' (n -> the output dimension)");
  spec_.depth = std::max(1, repeats_);
  if (tie_.first >= 0) {
    spec_.tied.assign(spec_.params.size(), -1);
    spec_.tied[static_cast<std::size_t>(tie_.first)] = tie_.second;
  }
  spec_.source = b.range;
  return diags_.error_count() == errors;
}

void GraphLowering::items(const std::vector<AstItem>& body, bool in_repeat) {
  for (const AstItem& it : body) {
    if (it.broken) continue;  // reported by the parser
    if (seen_readout_) {
      diags_.error(it.name_range, "'" + it.name + "' comes after the readout, which must be the last layer");
      return;
    }
    if (it.name != "repeat") {
      layer(it);
      continue;
    }
    // repeat L { item* }
    if (in_repeat) {
      diags_.error(it.name_range, "a 'repeat' inside a 'repeat'; blocks are repeated once, at one level");
      continue;
    }
    if (repeats_ > 0) {
      diags_.error(it.name_range, "a second 'repeat'; a network has one repeated block (its count is the depth L)");
      continue;
    }
    if (it.words.size() != 1 || !it.has_body) {
      diags_.error(it.range, "write 'repeat L { ... }': the number of blocks, then the block's layers in braces");
      continue;
    }
    const auto L = read_.integer(it.words[0], "the number of repeated blocks");
    if (!L) continue;
    if (*L < 1 || *L > 1000) {
      diags_.error(it.words[0].range, "the number of repeated blocks must be between 1 and 1000");
      continue;
    }
    repeats_ = static_cast<int>(*L);
    std::map<std::string, SourceRange> inner;
    collect_names(it.items, inner);
    std::set<std::string> outer;
    for (const auto& [k, v] : scopes_.back().names) outer.insert(k);
    const std::size_t errors = diags_.error_count();
    for (int i = 1; i <= repeats_; ++i) {
      // Names first bound inside the body are unbound again at each repetition: a forward use is an error
      // (a cycle), not a read of the previous block.
      for (const auto& [k, v] : inner)
        if (!outer.count(k)) scopes_.back().names.erase(k);
      scopes_.back().prefix = "block" + std::to_string(i) + ".";
      items(it.items, true);
      if (diags_.error_count() != errors) break;  // report the body's errors once
    }
    scopes_.back().prefix.clear();
  }
}

std::string GraphLowering::unique_node_name(const std::string& base) {
  auto taken = [&](const std::string& n) {
    return std::any_of(spec_.nodes.begin(), spec_.nodes.end(), [&](const GraphNode& v) { return v.name == n; });
  };
  if (!taken(base)) return base;
  for (int k = 2;; ++k)
    if (!taken(base + "_" + std::to_string(k))) return base + "_" + std::to_string(k);
}

int GraphLowering::add_node(GraphNode v, const AstItem& it) {
  v.range = it.range;
  spec_.nodes.push_back(std::move(v));
  current_ = static_cast<int>(spec_.nodes.size()) - 1;
  return current_;
}

int GraphLowering::add_param(const std::string& node, const std::string& suffix, TensorKind k, const AstItem& it) {
  GraphParameter w;
  w.name = node + "." + suffix;
  w.kind = k;
  w.rows_width = k == TensorKind::input_like || k == TensorKind::hidden || k == TensorKind::vector_like;
  w.cols_width = k == TensorKind::hidden || k == TensorKind::output_like;
  w.rows = k == TensorKind::output_like || k == TensorKind::scalar_like ? spec_.output_dim : 0;
  w.cols = k == TensorKind::input_like ? spec_.input_dim : k == TensorKind::vector_like || k == TensorKind::scalar_like ? 1 : 0;
  w.range = it.range;
  spec_.params.push_back(std::move(w));
  return static_cast<int>(spec_.params.size()) - 1;
}

int GraphLowering::lookup(const AstWord& w) {
  if (w.kind != AstWord::Name) {
    diags_.error(w.range, "expected the name of an earlier layer, found '" + w.text + "'");
    return -1;
  }
  const auto& names = scopes_.back().names;
  if (const auto it = names.find(w.text); it != names.end()) return it->second;
  if (const auto it = later_names_.find(w.text); it != later_names_.end() && !before(it->second, w.range)) {
    diags_.error(w.range, "'" + w.text + "' is defined later (line " + std::to_string(it->second.begin.line) +
                              "); a layer can only read earlier layers")
        .notes.push_back("the graph must have no cycles: name the layer with 'as " + w.text + "' before this use");
    return -1;
  }
  std::vector<std::string> known;
  for (const auto& [k, v] : names) known.push_back(k);
  Diagnostic& d = diags_.error(w.range, "undefined layer name '" + w.text + "'");
  if (const std::string best = closest_match(w.text, known); !best.empty()) {
    d.notes.push_back("did you mean '" + best + "'?");
    d.fixit = best;
  }
  d.notes.push_back("name a layer with 'as NAME' at its end, e.g. 'embedding n as h', then read it with 'add h' or 'from h'");
  return -1;
}

// One layer; its grammar is in network_script.h.
void GraphLowering::layer(const AstItem& it) {
  const std::string& kind = it.name == "act" ? std::string("activation") : it.name;
  if (it.is_setting || std::find(kGraphLayers.begin(), kGraphLayers.end(), kind) == kGraphLayers.end()) {
    Diagnostic& d = diags_.error(it.name_range, "unknown layer '" + it.name + "'");
    if (const std::string best = closest_match(it.name, kGraphLayers); !best.empty()) {
      d.notes.push_back("did you mean '" + best + "'?");
      d.fixit = best;
    }
    d.notes.push_back("the layers are " + list_of(kGraphLayers));
    return;
  }
  if (it.has_body) {
    diags_.error(it.body_range, "'" + it.name + "' takes no body in braces (only 'repeat' does)");
    return;
  }
  if (kind == "input") {
    if (seen_input_ || !spec_.nodes.empty()) {
      diags_.error(it.name_range, seen_input_ ? "a network has one 'input' layer" : "the 'input' layer must come first");
      return;
    }
  } else if (!seen_input_) {
    diags_.error(it.name_range, "the network starts with 'input d' (the input dimension, e.g. 'input 4 positions 3')");
    seen_input_ = true;  // report once
    return;
  }
  // Leading positional words, then `key value` options and flags.
  std::size_t k = 0;
  std::vector<const AstWord*> lead;
  auto positional = [&](std::size_t count) {
    while (lead.size() < count && k < it.words.size()) lead.push_back(&it.words[k++]);
  };
  std::vector<std::string> keys{"as"}, flags;
  if (kind != "add" && kind != "input") keys.push_back("from");
  if (kind == "input") keys = {"positions"};
  else if (kind == "layernorm") flags = {"no_gain", "no_bias"}, keys.push_back("eps");
  else if (kind == "rmsnorm") flags = {"no_gain"}, keys.push_back("eps");
  else if (kind == "attention") flags = {"causal", "zero_query"}, keys.insert(keys.end(), {"heads", "head_dim", "logit"});
  else if (kind == "add") keys.insert(keys.end(), {"scale", "depth_exponent"});
  else if (kind == "readout") flags = {"bias", "tied"}, keys.push_back("pool");
  if (kind == "input" || kind == "readout" || kind == "embedding" || kind == "add" || kind == "activation") positional(1);
  if (kind == "dense") {
    positional(1);
    // an optional activation: a Paren word, or a name that is not an option
    if (k < it.words.size() && (it.words[k].kind == AstWord::Paren ||
                                (it.words[k].kind == AstWord::Name &&
                                 std::find(keys.begin(), keys.end(), it.words[k].text) == keys.end())))
      lead.push_back(&it.words[k++]);
  }
  std::map<std::string, const AstWord*> opt;
  std::set<std::string> flag;
  bool ok = true;
  for (; k < it.words.size(); ++k) {
    const AstWord& w = it.words[k];
    const bool is_key = w.kind == AstWord::Name && std::find(keys.begin(), keys.end(), w.text) != keys.end();
    const bool is_flag = w.kind == AstWord::Name && std::find(flags.begin(), flags.end(), w.text) != flags.end();
    if (is_flag) {
      flag.insert(w.text);
      continue;
    }
    if (!is_key) {
      std::vector<std::string> all = keys;
      all.insert(all.end(), flags.begin(), flags.end());
      Diagnostic& d = diags_.error(w.range, "unknown option '" + w.text + "' of '" + kind + "'");
      if (const std::string best = closest_match(w.text, all); !best.empty() && w.kind == AstWord::Name) {
        d.notes.push_back("did you mean '" + best + "'?");
        d.fixit = best;
      }
      d.notes.push_back("the options of '" + kind + "' are " + list_of(all) + " (keys take a value)");
      ok = false;
      continue;
    }
    if (k + 1 >= it.words.size()) {
      diags_.error(w.range, "'" + w.text + "' needs a value");
      ok = false;
      break;
    }
    if (opt.count(w.text)) {
      diags_.error(w.range, "'" + w.text + "' is given twice");
      ok = false;
    }
    opt[w.text] = &it.words[++k];
  }
  if (!ok) return;
  const std::size_t want = kind == "input" || kind == "readout" || kind == "embedding" || kind == "add" ||
                                   kind == "activation" || kind == "dense"
                               ? 1
                               : 0;
  if (lead.size() < want) {
    const std::map<std::string, std::string> example{
        {"input", "'input 4 positions 3'"}, {"readout", "'readout 1'"}, {"embedding", "'embedding n'"},
        {"add", "'add h' (h the residual stream, named with 'as h')"}, {"activation", "'activation tanh'"},
        {"dense", "'dense n tanh'"}};
    diags_.error(it.range, "'" + kind + "' is missing its argument; write e.g. " + example.at(kind));
    return;
  }
  auto width_n = [&](const AstWord& w, const std::string& what) {
    if (w.kind == AstWord::Name && w.text == "n") return true;
    diags_.error(w.range, what + " has width 'n', found '" + w.text + "'")
        .notes.push_back("the width n is the variable of the theory; commands choose its finite values");
    return false;
  };
  int input = current_;
  if (opt.count("from")) {
    input = lookup(*opt.at("from"));
    if (input < 0) return;
  }
  // No layer before it: the input line is missing, misspelt or wrong, which is reported once already (above, or
  // at the input line); later layers add no cascade (and must not read a node before the first).
  if (input < 0 && kind != "input") return;
  // Shapes: the input has the finite width d; an embedding maps it to width n, every other layer reads n.
  auto finite = [&](int node) { return node >= 0 && spec_.nodes[static_cast<std::size_t>(node)].op == GraphOp::input; };
  if (kind != "input" && kind != "add" && kind != "activation" && finite(input) != (kind == "embedding")) {
    diags_.error(it.name_range, kind == "embedding"
                                    ? "'embedding' maps the finite input to width n, but it reads '" +
                                          spec_.nodes[static_cast<std::size_t>(input)].name + "', which has width n"
                                    : "'" + kind + "' needs a width-n input, but it reads the input, which has the "
                                          "finite width d = " + std::to_string(spec_.input_dim))
        .notes.push_back(kind == "embedding" ? "use 'dense n' for a width-n to width-n layer"
                                             : "put 'embedding n' first: it maps the d inputs to width n");
    return;
  }
  const std::string base = scopes_.back().prefix + (opt.count("as") ? opt.at("as")->text : kind);
  if (opt.count("as") && opt.at("as")->kind != AstWord::Name) {
    diags_.error(opt.at("as")->range, "'as' takes a name, e.g. 'as h'");
    return;
  }
  GraphNode v;
  v.name = unique_node_name(base);
  v.inputs = {input};
  if (kind == "input") {
    const auto d = read_.integer(*lead[0], "the input dimension");
    if (!d) return;
    if (*d < 1) {
      diags_.error(lead[0]->range, "the input dimension must be at least 1");
      return;
    }
    spec_.input_dim = static_cast<int>(*d);
    if (opt.count("positions")) {
      const auto S = read_.integer(*opt.at("positions"), "the number of positions");
      if (!S) return;
      if (*S < 1 || *S > 4096) {
        diags_.error(opt.at("positions")->range, "the number of positions S must be between 1 and 4096");
        return;
      }
      spec_.positions = static_cast<int>(*S);
    }
    seen_input_ = true;
    v.name = "input";
    v.op = GraphOp::input;
    v.inputs.clear();
  } else if (kind == "embedding") {
    if (!width_n(*lead[0], "an embedding")) return;
    v.op = GraphOp::embedding;
    embedding_param_ = add_param(v.name, "W", TensorKind::input_like, it);
    v.params = {embedding_param_};
  } else if (kind == "dense") {
    if (!width_n(*lead[0], "a dense layer")) return;
    v.op = GraphOp::dense;
    v.params = {add_param(v.name, "W", TensorKind::hidden, it)};
    if (lead.size() == 2) {
      ExprPtr phi = read_.activation(*lead[1]);
      if (!phi) return;
      // the layer's name goes to the activation (its output); the dense node is "<name>.pre"
      const std::string named = v.name;
      v.name = named + ".pre";
      add_node(std::move(v), it);
      GraphNode a;
      a.name = named;
      a.op = GraphOp::activation;
      a.inputs = {current_};
      a.activation = phi;
      a.activation_text = lead[1]->text;
      v = std::move(a);
    }
  } else if (kind == "bias") {
    v.op = GraphOp::bias;
    v.params = {add_param(v.name, "b", TensorKind::vector_like, it)};
  } else if (kind == "activation") {
    v.op = GraphOp::activation;
    v.activation = read_.activation(*lead[0]);
    if (!v.activation) return;
    v.activation_text = lead[0]->text;
  } else if (kind == "layernorm" || kind == "rmsnorm") {
    v.op = kind == "layernorm" ? GraphOp::layernorm : GraphOp::rmsnorm;
    const int gain = flag.count("no_gain") ? -1 : add_param(v.name, "gain", TensorKind::vector_like, it);
    if (gain >= 0) spec_.params.back().init_value = 1;
    v.params = {gain};
    if (kind == "layernorm") v.params.push_back(flag.count("no_bias") ? -1 : add_param(v.name, "bias", TensorKind::vector_like, it));
    if (opt.count("eps")) {
      const auto e = read_.number(*opt.at("eps"), "eps");
      if (!e) return;
      if (*e < 0) {
        diags_.error(opt.at("eps")->range, "eps must be >= 0");
        return;
      }
      v.norm_eps = *e;
    }
  } else if (kind == "attention") {
    v.op = GraphOp::attention;
    if (opt.count("heads") == opt.count("head_dim")) {
      diags_.error(opt.count("heads") ? opt.at("head_dim")->range : it.name_range,
                   opt.count("heads") ? "give either 'heads' or 'head_dim', not both"
                                      : "attention with no heads: give 'heads H' (H heads of dimension n/H, growing "
                                        "with n) or 'head_dim k' (n/k heads of fixed dimension k)");
      return;
    }
    const bool by_heads = opt.count("heads") > 0;
    const AstWord& hw = *opt.at(by_heads ? "heads" : "head_dim");
    const auto h = read_.integer(hw, by_heads ? "the number of heads" : "the head dimension");
    if (!h) return;
    if (*h < 1 || *h > 1000000) {
      diags_.error(hw.range, by_heads ? "attention with no heads: the number of heads must be at least 1"
                                      : "the head dimension must be at least 1");
      return;
    }
    v.head_dim_width = by_heads;
    (by_heads ? v.heads : v.head_dim) = static_cast<int>(*h);
    if (opt.count("logit")) {
      const AstWord& lw = *opt.at("logit");
      std::string t = lw.text;
      t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
      if (lw.kind == AstWord::Paren && t == "1/d") v.logit_scale = LogitScale::inverse_d;
      else if (lw.kind == AstWord::Paren && t == "1/sqrt(d)") v.logit_scale = LogitScale::inverse_sqrt_d;
      else {
        diags_.error(lw.range, "unknown logit scale '" + lw.text + "'")
            .notes.push_back("write 'logit (1/d)' (µP, TP5 Def. 4.1) or 'logit (1/sqrt(d))' (the usual 1/√d_head)");
        return;
      }
    }
    v.causal = flag.count("causal") > 0;
    for (const char* s : {"q", "k", "v", "o"}) v.params.push_back(add_param(v.name, s, TensorKind::hidden, it));
    if (flag.count("zero_query")) zero_query_.push_back(v.params[0]);
  } else if (kind == "add") {
    const int stream = lookup(*lead[0]);
    if (stream < 0) return;
    if (finite(stream) != finite(current_)) {
      diags_.error(lead[0]->range, "'add' sums '" + lead[0]->text + "' and the current value, but one has the finite "
                                   "input width d and the other width n")
          .notes.push_back("both summands of a residual add have width n; add after the embedding");
      return;
    }
    v.op = GraphOp::add;
    v.inputs = {stream, current_};
    if (opt.count("scale")) {
      const auto s = read_.number(*opt.at("scale"), "the branch multiplier");
      if (!s) return;
      v.branch_scale = *s;
    }
    if (opt.count("depth_exponent")) {
      const auto e = exponent(*opt.at("depth_exponent"), "the depth exponent");
      if (!e) return;
      v.branch_exponent = *e;
    }
  } else if (kind == "readout") {
    const auto d = read_.integer(*lead[0], "the output dimension");
    if (!d) return;
    if (*d < 1) {
      diags_.error(lead[0]->range, "the output dimension must be at least 1");
      return;
    }
    spec_.output_dim = static_cast<int>(*d);
    v.op = GraphOp::readout;
    v.name = unique_node_name(scopes_.back().prefix + (opt.count("as") ? opt.at("as")->text : "readout"));
    v.params = {add_param(v.name, "W", TensorKind::output_like, it),
                flag.count("bias") ? add_param(v.name, "b", TensorKind::scalar_like, it) : -1};
    if (opt.count("pool")) {
      const AstWord& pw = *opt.at("pool");
      if (pw.kind == AstWord::Name && (pw.text == "last" || pw.text == "mean")) {
        v.pooling = pw.text == "last" ? Pooling::last : Pooling::mean;
      } else {
        diags_.error(pw.range, "unknown pooling '" + pw.text + "'").notes.push_back("write 'pool last' or 'pool mean'");
        return;
      }
    }
    if (flag.count("tied")) {
      if (embedding_param_ < 0) {
        diags_.error(it.name_range, "'tied' ties the readout to the embedding, but the network has no 'embedding'");
        return;
      }
      tie_ = {v.params[0], embedding_param_};
    }
    seen_readout_ = true;
  }
  const int id = add_node(std::move(v), it);
  if (opt.count("as")) scopes_.back().names[opt.at("as")->text] = id;
}

// Applies `key value` overrides (a, b, c, d, wd, std; flag zero_init) of one parametrization item to targets.
bool GraphLowering::apply_overrides(const AstItem& it, std::vector<int>& targets, std::vector<bool>& wd_given) {
  const std::vector<std::string> keys{"a", "b", "c", "d", "wd", "std"};
  std::size_t k = it.name == "tensor" ? 1 : 0;
  bool ok = true;
  for (; k < it.words.size(); ++k) {
    const AstWord& w = it.words[k];
    if (w.kind == AstWord::Name && w.text == "zero_init") {
      for (int p : targets) spec_.params[static_cast<std::size_t>(p)].scaling.zero_init = true;
      continue;
    }
    if (w.kind != AstWord::Name || std::find(keys.begin(), keys.end(), w.text) == keys.end()) {
      Diagnostic& d = diags_.error(w.range, "unknown exponent '" + w.text + "'");
      if (const std::string best = closest_match(w.text, keys); !best.empty()) {
        d.notes.push_back("did you mean '" + best + "'?");
        d.fixit = best;
      }
      d.notes.push_back("write a, b, c (W = n^-a w, w ~ N(0, n^-2b), lr η n^-c), d (Adam's ε n^-d), wd (λ n^-wd), "
                        "std (σ), each followed by its value, or the flag zero_init");
      ok = false;
      continue;
    }
    if (k + 1 >= it.words.size()) {
      diags_.error(w.range, "'" + w.text + "' needs a value");
      return false;
    }
    const AstWord& val = it.words[++k];
    if (w.text == "std") {
      const auto s = read_.number(val, "std");
      if (!s || *s < 0) {
        if (s) diags_.error(val.range, "std must be >= 0");
        ok = false;
        continue;
      }
      for (int p : targets) spec_.params[static_cast<std::size_t>(p)].scaling.init_std = *s;
      continue;
    }
    const auto r = exponent(val, "the exponent " + w.text);
    if (!r) {
      ok = false;
      continue;
    }
    for (int p : targets) {
      TensorScaling& s = spec_.params[static_cast<std::size_t>(p)].scaling;
      if (w.text == "a") s.a = *r, given_[static_cast<std::size_t>(p)] |= 1;
      if (w.text == "b") s.b = *r, given_[static_cast<std::size_t>(p)] |= 2;
      if (w.text == "c") s.c = *r, given_[static_cast<std::size_t>(p)] |= 4;
      if (w.text == "d") s.d = *r, s.eps_modelled = true;
      if (w.text == "wd") s.wd_exponent = *r, wd_given[static_cast<std::size_t>(p)] = true;
    }
  }
  return ok;
}

// parametrization sp | ntp | mup | abc [form table3|table8|table9] [decay independent|lr_invariant|fan2025]
//                 [{ (kind | tensor "name") (key value | zero_init)* ; ... }]
bool GraphLowering::parametrization(const AstBlock& b, Optimizer o) {
  const std::size_t errors = diags_.error_count();
  std::vector<std::string> names = graph_preset_names();
  names.push_back("abc");
  if (b.words.empty() || b.words[0].kind != AstWord::Name ||
      std::find(names.begin(), names.end(), b.words[0].text) == names.end()) {
    Diagnostic& d = diags_.error(b.words.empty() ? b.keyword_range : b.words[0].range,
                                 b.words.empty() ? "expected a parametrization after 'parametrization'"
                                                 : "unknown parametrization '" + b.words[0].text + "'");
    if (!b.words.empty())
      if (const std::string best = closest_match(b.words[0].text, names); !best.empty()) {
        d.notes.push_back("did you mean '" + best + "'?");
        d.fixit = best;
      }
    d.notes.push_back("a graph network takes sp, ntp, mup (each with 'form table3|table8|table9'), or abc { ... } "
                      "with the exponents of every tensor kind");
    return false;
  }
  const std::string preset = b.words[0].text;
  PresetForm form = PresetForm::table3;
  DecayRule rule = DecayRule::independent;
  for (std::size_t i = 1; i < b.words.size(); i += 2) {
    const AstWord& w = b.words[i];
    const bool key = w.kind == AstWord::Name && (w.text == "form" || w.text == "decay");
    if (!key || i + 1 >= b.words.size()) {
      diags_.error(w.range, key ? "'" + w.text + "' needs a value" : "unknown parametrization option '" + w.text + "'")
          .notes.push_back("the options are 'form table3|table8|table9' (TP5's equivalent forms) and 'decay "
                           "independent|lr_invariant|fan2025' (the width exponent of the weight decay)");
      return false;
    }
    const AstWord& v = b.words[i + 1];
    if (w.text == "form") {
      if (preset == "abc") {
        diags_.error(w.range, "'form' applies to the presets sp, ntp, mup; 'abc' gives its exponents directly");
        return false;
      }
      if (v.text == "table3") form = PresetForm::table3;
      else if (v.text == "table8") form = PresetForm::table8;
      else if (v.text == "table9") form = PresetForm::table9;
      else {
        diags_.error(v.range, "unknown form '" + v.text + "'")
            .notes.push_back("the forms are table3 (no multipliers), table8 (output multiplier 1/fan_in) and table9 "
                             "(TP4's abc: multipliers √fan_out, 1, 1/√fan_in)");
        return false;
      }
    } else {
      if (v.text == "independent") rule = DecayRule::independent;
      else if (v.text == "lr_invariant") rule = DecayRule::lr_invariant;
      else if (v.text == "fan2025") rule = DecayRule::fan2025;
      else {
        diags_.error(v.range, "unknown weight-decay rule '" + v.text + "'")
            .notes.push_back("the rules are independent (λ fixed), lr_invariant (η·λ width-invariant: TP5 App. B.3, "
                             "TP4b) and fan2025 (λ ∝ √n for hidden and output weights: Fan et al. 2025)");
        return false;
      }
    }
  }
  given_.assign(spec_.params.size(), 0);
  std::vector<bool> wd_given(spec_.params.size(), false);
  if (preset != "abc")
    for (std::size_t p = 0; p < spec_.params.size(); ++p) {
      spec_.params[p].scaling = tensor_preset(preset, form, o, spec_.params[p].kind);
      given_[p] = 7;
    }
  // µP as practised (PyTorch's LayerNorm, the `mup` package): norm gains start at exactly 1 and norm biases
  // at exactly 0, not 1 + N(0, 1) and N(0, 1) (TP5 Table 3's vector-like init read literally). A kind or
  // tensor entry with `std` below still adds noise.
  if (preset == "mup")
    for (const GraphNode& v : spec_.nodes)
      if (v.op == GraphOp::layernorm || v.op == GraphOp::rmsnorm)
        for (int p : v.params)
          if (p >= 0) spec_.params[static_cast<std::size_t>(p)].scaling.init_std = 0;
  for (const AstItem& it : b.items) {
    if (it.broken) continue;
    std::vector<int> targets;
    if (it.is_setting || (it.name != "tensor" && std::find(kKinds.begin(), kKinds.end(), it.name) == kKinds.end())) {
      Diagnostic& d = diags_.error(it.name_range, "unknown parametrization entry '" + it.name + "'");
      std::vector<std::string> all = kKinds;
      all.push_back("tensor");
      if (const std::string best = closest_match(it.name, all); !best.empty()) {
        d.notes.push_back("did you mean '" + best + "'?");
        d.fixit = best;
      }
      d.notes.push_back("an entry is a tensor kind (" + list_of(kKinds) + ") or 'tensor \"name\"', then exponents, "
                        "e.g. 'hidden a 0 b 0.5 c 1'");
      continue;
    }
    if (it.name == "tensor") {
      if (it.words.empty() || (it.words[0].kind != AstWord::String && it.words[0].kind != AstWord::Name)) {
        diags_.error(it.range, "'tensor' takes the tensor's name, e.g. 'tensor \"block1.attention.q\" zero_init'");
        continue;
      }
      const std::string& n = it.words[0].text;
      std::vector<std::string> all;
      for (std::size_t p = 0; p < spec_.params.size(); ++p) {
        const std::string& pn = spec_.params[p].name;
        all.push_back(pn);
        if (pn == n || (pn.size() > n.size() && pn.compare(pn.size() - n.size(), n.size(), n) == 0 &&
                        pn[pn.size() - n.size() - 1] == '.'))
          targets.push_back(static_cast<int>(p));
      }
      if (targets.empty()) {
        Diagnostic& d = diags_.error(it.words[0].range, "no tensor is named '" + n + "'");
        if (const std::string best = closest_match(n, all); !best.empty()) d.notes.push_back("did you mean '" + best + "'?");
        d.notes.push_back("the tensors are " + list_of(all) + " (a name also matches its ending, e.g. \"attention.q\")");
        continue;
      }
    } else {
      for (std::size_t p = 0; p < spec_.params.size(); ++p)
        if (tensor_kind_name(spec_.params[p].kind) == it.name) targets.push_back(static_cast<int>(p));
      if (targets.empty()) {
        diags_.error(it.name_range, "the network has no " + it.name + " tensor");
        continue;
      }
    }
    apply_overrides(it, targets, wd_given);
  }
  if (preset == "abc") {
    std::map<std::string, std::vector<std::string>> missing;
    for (std::size_t p = 0; p < spec_.params.size(); ++p)
      if (given_[p] != 7) missing[std::string(tensor_kind_name(spec_.params[p].kind))].push_back(spec_.params[p].name);
    for (const auto& [kind, ps] : missing)
      diags_.error(b.words[0].range, "'abc' does not give a, b and c of the " + kind + " tensors (" + list_of(ps) + ")")
          .notes.push_back("add e.g. '" + kind + " a 0 b 0.5 c 1' in the braces, or 'tensor \"" + ps[0] + "\" a 0 b 0.5 c 1'");
  }
  for (std::size_t p = 0; p < spec_.params.size(); ++p)
    if (!wd_given[p]) spec_.params[p].scaling.wd_exponent = decay_exponent(rule, spec_.params[p].kind, spec_.params[p].scaling);
  for (int p : zero_query_) spec_.params[static_cast<std::size_t>(p)].scaling.zero_init = true;
  apply_tie();
  return diags_.error_count() == errors;
}

// A tied readout has no values of its own: it applies n^{-a} w_embᵀ, so w's init, learning rate, ε and weight
// decay are the embedding's (TP5 Table 8 is the µP form in which they agree). Its own a stays; the other
// exponents are copied from the embedding, with a warning when the parametrization gave different ones.
void GraphLowering::apply_tie() {
  if (tie_.first < 0) return;
  GraphParameter& r = spec_.params[static_cast<std::size_t>(tie_.first)];
  const GraphParameter& e = spec_.params[static_cast<std::size_t>(tie_.second)];
  TensorScaling s = e.scaling;
  s.a = r.scaling.a;
  const TensorScaling& o = r.scaling;
  std::string differ;
  auto note = [&](bool same, const std::string& what) {
    if (!same) differ += (differ.empty() ? "" : ", ") + what;
  };
  note(o.b == s.b, "b = " + to_string(o.b) + " (the embedding's " + to_string(s.b) + ")");
  note(o.c == s.c, "c = " + to_string(o.c) + " (" + to_string(s.c) + ")");
  note(o.wd_exponent == s.wd_exponent, "wd = " + to_string(o.wd_exponent) + " (" + to_string(s.wd_exponent) + ")");
  note(o.eps_modelled == s.eps_modelled && (!s.eps_modelled || o.d == s.d), "d");
  note(o.init_std == s.init_std, "std");
  note(o.zero_init == s.zero_init, o.zero_init ? "zero_init" : "a random init");
  if (!differ.empty()) {
    Diagnostic& d = diags_.warning(spec_.nodes.back().range,
                                   "the tied readout shares the embedding's w, so its " + differ +
                                       " do not apply; it uses the embedding's init and learning rate and only its "
                                       "multiplier n^-" + to_string(s.a) + " is its own");
    d.notes.push_back("TP5's Table 8 form ties in µP ('parametrization mup form table8': output multiplier "
                      "1/fan_in, input and output weights with the same init and learning rate); in Table 3's "
                      "form the tied readout has multiplier 1 and its output grows with n");
  }
  r.scaling = s;
}

}  // namespace tp::frontend

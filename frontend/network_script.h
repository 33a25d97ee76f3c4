// Level-2 scripts: a network, its parametrization and its training, lowered to a tp::NetworkSpec
// (DESIGN.md §3 "Language, level 2"; README "Network scripts" has the grammar and an example).
//
//   network mlp [bias] { input d; dense n φ; ...; dense n φ; readout d_o }     (L = number of dense layers)
//   parametrization sp | ntp | ntk | mfp | mup | abc { a = [..]; b = [..]; c = r | [..] }
//   optimizer sgd | adam | signsgd  lr η [weight_decay λ] [beta1 β1 beta2 β2 eps ε]   (betas, eps: adam)
//   loss mse | cross_entropy                                  (optional; default mse)
//   data { x = [[..], ..]; y = [..]; [eval = [[..], ..]] } | data "file.csv" | data { file = "f.csv"; eval = .. }
//   train [steps T] [batch full | sample | k]                 (optional; default steps 1 batch full)
//
// network, parametrization, optimizer and data are required. Exponents are exact rationals (TP4 §3: a_l,
// b_l, c); an exponent written as a name (`c = c`) is left free and recorded in NetworkScript::free.
//
// Graph networks (issue #14; lowered to a tp::GraphSpec by compile_graph_network, analysed by `tpc phase`):
//
//   network graph {
//     input d [positions S]                         the example: S positions (rows of x) of d numbers
//     embedding n [as NAME] [from NAME]            d → n, an input_like weight
//     dense n [φ] [as NAME] [from NAME]            n → n, a hidden weight; with φ also the activation
//     bias | activation φ                           a vector_like bias; a coordinatewise φ
//     layernorm [no_gain] [no_bias] [eps ε]         per position, gain and bias vector_like
//     rmsnorm [no_gain] [eps ε]
//     attention heads H | head_dim k  [logit (1/d) | (1/sqrt(d))] [causal] [zero_query]
//                                                   q, k, v, o hidden; H heads of n/H dimensions, or n/k
//                                                   heads of k; logits q·k/d_head (µP, default) or /√d_head
//     add NAME [scale s] [depth_exponent e]         NAME + s·L^{-e} · (the current value, the branch)
//     repeat L { layers }                           L blocks, node names prefixed block1., block2., …
//     readout d_o [pool last|mean] [bias] [tied]    n → d_o, output_like (tied: shares the embedding)
//   }
//   parametrization sp | ntp | mup | abc [form table3|table8|table9] [decay independent|lr_invariant|fan2025]
//                   [{ KIND (a r | b r | c r | d r | wd r | std σ | zero_init)* ; tensor "NAME" ... }]
//
// Each layer reads the previous one unless `from NAME`; `as NAME` names its output and may rebind a name
// (`add h as h` carries the residual stream h from block to block). A use before the name is bound is an
// error (the graph has no cycles). KIND is input_like, hidden, output_like, vector_like or scalar_like; a
// tensor "NAME" matches the tensor of that name or ending in ".NAME". The presets follow TP5 Table 3 for
// the optimizer of the script (SGD or Adam/SignSGD), in the chosen equivalent form (tp/graph.h); `abc`
// needs a, b, c of every kind the network has. `d r` models Adam's ε as ε n^{-r} (TP4b); `wd r` sets the
// weight decay λ n^{-r}. The data: x has S rows per example, y one row per example.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"
#include "tp/graph.h"
#include "tp/network.h"

namespace tp::frontend {

/// An exponent the script left as a symbol (e.g. `abc { a = [0, 1/2, s]; ...; c = c }`), for `--free`.
/// Its entry in spec.abc is 0, a placeholder.
struct FreeSymbol {
  std::string symbol;  ///< the name written, e.g. "c"; one symbol may stand at several places (tied)
  char exponent = 'c';  ///< 'a', 'b' or 'c'
  int layer = 0;       ///< 1..L+1 for an entry of a list; 0 for a scalar c (every layer's learning rate)
  SourceRange range;
};

/// The result of a level-2 script.
struct NetworkScript {
  NetworkSpec spec;                ///< complete and valid: tp::network_problem(spec) == ""
  std::vector<FreeSymbol> free;  ///< empty unless exponents were written as symbols
};

/// The result of a graph script.
struct GraphScript {
  GraphSpec spec;  ///< complete and valid: tp::graph_problem(spec) == ""
};

/// True if text is a level-2 script whose network block is `network graph`.
bool is_graph_network_script(const std::string& text);

/// Lexes, parses and lowers a level-2 script with a `network graph` block (grammar above). Returns nullopt
/// iff errors were reported, each at its word; lowering continues so all errors of a file are reported.
std::optional<GraphScript> compile_graph_network(const std::string& text, const std::string& base_dir,
                                                 DiagnosticEngine& diags);

/// True if text is a level-2 script: a line starts with a block keyword (network, parametrization,
/// optimizer, loss, data, train) not followed by '='. Such a file must not contain level-1 statements.
bool is_network_script(const std::string& text);

/// Which free exponents (symbols in place of numbers) a command takes.
enum class FreeExponents {
  refused,    ///< none: run, limit, compare, coordcheck need numbers (the placeholder 0 must not be used)
  up_to_two,  ///< tpc phase (and check): one symbol, at any number of places, or two, each at one place
};

/// Lexes, parses and lowers a level-2 script. Relative data file paths are resolved against base_dir (the
/// script's directory; "" = the current directory). Returns nullopt iff errors were reported; every
/// error is reported with its source range, and lowering continues so all errors of a file are reported.
/// Free symbols beyond what `free` allows are errors where they are written.
std::optional<NetworkScript> compile_network(const std::string& text, const std::string& base_dir,
                                             DiagnosticEngine& diags, FreeExponents free = FreeExponents::refused);

}  // namespace tp::frontend

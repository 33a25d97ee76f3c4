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
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"
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

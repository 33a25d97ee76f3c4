// `tpc kernel`: the NNGP and NTK kernels of an MLP on given inputs (limits/mlp_kernel.h), or the network as a
// Tensor Program (limits/mlp_program.h, --emit-program).
//
//   tpc kernel --act relu --depth 3 --sw2 2 --sb2 0.1 --inputs x.csv [--format json] [--all-layers] [--order K]
//   tpc kernel --act "x^3 - tanh(x)" --depth 2 --x "1,0;0.5,0.5"
//   tpc kernel --act relu --depth 10 --inputs x.csv --output K.npz      (np.load("K.npz")["ntk"])
//
// Steps: 1. the activation (frontend/activation.h: a catalogue name or an expression in x);
// 2. σ_w², σ_b² lists and the depth; 3. the inputs (CSV file or inline rows); 4. compute (or emit the
// program); 5. print text or JSON (frontend/matrix_text.h), or write the .npz (frontend/npz_writer.h) and print
// a summary. Every user error exits 1 with one message and no result (text: on
// stderr; JSON: {"ok": false, "error": ...} on stdout).
#pragma once

#include <CLI/CLI.hpp>
#include <ostream>
#include <string>

#include "limits/mlp_kernel.h"
#include "tp/expr.h"

namespace tp::frontend {

struct KernelArgs {
  std::string act;
  int depth = 1;
  std::string sw2 = "1";
  std::string sb2 = "0";
  std::string inputs;      ///< CSV file, one input per row
  std::string x;           ///< inline inputs, rows separated by ';'
  std::string format = "text";
  std::string output;      ///< --output FILE.npz: the matrices go to a NumPy archive, stdout gets a summary
  bool all_layers = false;
  int order = 0;  ///< quadrature route: 0 = trapezoidal rule to 1e-10, K = Gauss–Hermite order K
  bool emit_program = false;
  bool no_closed_forms = false;
  unsigned threads = 0;
  double budget_gib = 8.0;  ///< refuse input counts whose kernels would not fit
};

/// Adds the `kernel` subcommand with its options bound to args.
CLI::App* add_kernel_command(CLI::App& app, KernelArgs& args);

/// Runs it; returns the exit code (0 ok, 1 user error).
int run_kernel_command(const KernelArgs& args, std::ostream& out, std::ostream& err);

}  // namespace tp::frontend

// `tpc word2vec emit-program`: the first updates of a tiny word2vec run written as a level-1 NETSOR⊤
// program (TP4 §7 Def. 7.3; word2vec §9.3), so that tpc's Master-Theorem evaluator (limits/linear_limit.h,
// the exact linear route) can be checked against the word2vec limit engine on the same updates.
//
// In the program every embedding is a vector with Θ(1) coordinates: U_w = √n ũ_w ~ N(0, σ_u²) and
// V_w = √n ṽ_w ~ N(0, σ_v²) (absent while zero, σ_v = 0), so every stored dot product is an average,
// ⟨ũ, ṽ⟩ = avg(U * V), and cbow_step (cbow_step.h) is, per step k,
//   h_k = (Σ_{c∈J} U_c) / |J|,  f_k_j = avg(h_k * V_t),  g_k_j = η (label − sigmoid(f_k_j)),
//   V_t ← (1 − ηλ) V_t + g_k_j h_k,  e_k = Σ_j g_k_j V_t(before),  U_c ← (1 − ηλ) U_c + e_k / |J|.
// The windows and negatives are those the trainer drew (threads 1, fixed seed), recorded and printed in
// comments. Outputs: every logit f_k_j and the final inner products avg(U_a U_b), avg(U_a V_b),
// avg(V_a V_b). `tpc run` at width n computes them for a width-n model; `tpc limit` gives n → ∞.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "apps/word2vec/trainer.h"
#include "apps/word2vec/vocab.h"

namespace tp::word2vec {

struct EmitOptions {
  std::string text = "the cat sat on the mat and the dog sat on the log";  ///< the tiny corpus
  std::size_t steps = 3;
  int window = 2;
  int negatives = 2;
  double lr = 0.05;
  double weight_decay = 0.001;
  double sample = 0;  ///< subsampling off by default (a tiny corpus has no frequent words to speak of)
  double sigma_u = 1.0, sigma_v = 0.0;
  std::uint64_t seed = 1;
};

struct EmittedProgram {
  std::string program;                    ///< the level-1 tpc script
  std::vector<std::string> output_names;  ///< in program order
  std::vector<double> limit_values;       ///< the µP-limit engine's value of each output (double)
  std::vector<RecordedStep> steps;
  Vocab vocab;
};

/// Trains the µP limit (in double) on the tiny corpus for `steps` updates, recording them, and writes the
/// program and the engine's values. Throws CorpusError / OptionError for bad options.
EmittedProgram emit_program(const EmitOptions& options);

}  // namespace tp::word2vec

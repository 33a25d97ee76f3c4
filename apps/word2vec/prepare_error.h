// The error of word2vec data preparation (corpus building, analogy generation): a message that names the
// file and the fix. Thrown by corpus_prepare.h and analogy_builder.h, reported by `tpc word2vec` with exit 1.
#pragma once

#include <stdexcept>
#include <string>

namespace tp::word2vec {

struct PrepareError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace tp::word2vec

// Typed user errors of the word2vec application (TP4 §9.3): each names what is wrong and how to fix it.
// The `tpc word2vec` commands catch Word2VecError, print "tpc: error: <message>" and exit 1.
#pragma once

#include <stdexcept>
#include <string>

namespace tp::word2vec {

/// Base of every user error of the application (bad file, bad flag, over budget).
struct Word2VecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
/// The training text is missing, unreadable, empty or too small for the window.
struct CorpusError : Word2VecError {
  using Word2VecError::Word2VecError;
};
/// A questions-words file is missing or has malformed lines (the message names the line).
struct AnalogyFileError : Word2VecError {
  using Word2VecError::Word2VecError;
};
/// A vectors file is missing, truncated or has rows of the wrong dimension (the message names the line).
struct VectorsFileError : Word2VecError {
  using Word2VecError::Word2VecError;
};
/// The embeddings would not fit --memory-budget; the message gives the bytes and the flags that would fit.
struct MemoryBudgetError : Word2VecError {
  using Word2VecError::Word2VecError;
};
/// A flag is out of range (the message names the flag, the value and the accepted range).
struct OptionError : Word2VecError {
  using Word2VecError::Word2VecError;
};

}  // namespace tp::word2vec

// Word vectors in word2vec's file formats (TP4 §9.3 evaluates the input embeddings ũ_w): a header line
// "<words> <dimension>", then one row per word, "word v_1 ... v_d" (text) or "word " + d little-endian
// float32 + "\n" (binary, word2vec's -binary 1). Files are written to a temporary name and renamed, so
// an interrupted run leaves no half-written file.
#pragma once

#include <cstddef>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "apps/word2vec/embedding_model.h"
#include "apps/word2vec/vocab.h"

namespace tp::word2vec {

/// words.size() rows of dim floats: owned (`values`, stride dim), or a view of a float model's input rows
/// (`view`, stride = the padded row length) that must not outlive the model — the µP limit's |V|×|V|
/// embeddings are then written and evaluated without a second copy.
struct WordVectors {
  std::vector<std::string> words;
  std::size_t dim = 0;
  std::vector<float> values;  ///< owned rows, words.size() × dim (when view is null)
  const float* view = nullptr;
  std::size_t view_stride = 0;
  const float* row(std::size_t i) const { return view ? view + i * view_stride : values.data() + i * dim; }
  std::size_t stride() const { return view ? view_stride : dim; }
};

/// The input embeddings of a model (the vectors word2vec writes and evaluates): a view for float models,
/// a converted copy for double ones.
template <class Real>
WordVectors input_vectors(const EmbeddingModel<Real>& model, const Vocab& vocab);

/// Writes `v` to path (text, or binary); throws VectorsFileError if it cannot be written.
void write_vectors(const std::string& path, const WordVectors& v, bool binary);
/// Reads a text or binary vectors file (detected from the first row). Throws VectorsFileError for a
/// missing file, a bad header, a truncated file or a row of the wrong dimension (naming the line).
WordVectors read_vectors(const std::string& path);

/// Writes `content` via `write(std::ostream&)` to a temporary file next to path, then renames it to path.
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

}  // namespace tp::word2vec

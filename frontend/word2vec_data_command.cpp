#include "frontend/word2vec_data_command.h"

#include <memory>

#include <fmt/format.h>

#include "apps/word2vec/analogy_builder.h"
#include "apps/word2vec/corpus_prepare.h"
#include "apps/word2vec/prepare_error.h"

namespace tp::frontend {
namespace {

struct PrepareArgs {
  std::vector<std::string> text, json, brown;
  std::string out = TPC_DEFAULT_DATA_DIR "/word2vec/corpus.txt";
};

struct AnalogyArgs {
  word2vec::AnalogyInputs inputs{TPC_DEFAULT_DATA_DIR "/word2vec/corpus.txt", "/usr/share/wordnet",
                                 TPC_DEFAULT_DATA_DIR "/word2vec/us-states-names.txt",
                                 TPC_DEFAULT_DATA_DIR "/word2vec/us-states-capitals.txt"};
  word2vec::AnalogyBuildOptions options;
  std::string out = TPC_DEFAULT_DATA_DIR "/word2vec/questions-words.txt";
};

int run_prepare(const PrepareArgs& a, std::ostream& out, std::ostream& err) {
  std::vector<word2vec::CorpusSource> sources;
  for (const auto& p : a.text) sources.push_back({word2vec::SourceFormat::Text, p});
  for (const auto& p : a.json) sources.push_back({word2vec::SourceFormat::Json, p});
  for (const auto& p : a.brown) sources.push_back({word2vec::SourceFormat::Brown, p});
  try {
    const auto stats = word2vec::prepare_corpus(sources, a.out);
    out << fmt::format("tpc word2vec prepare-corpus: {} words ({} bytes) written to {}\n", stats.words, stats.bytes, a.out);
    for (const auto& s : stats.sources) out << fmt::format("  {:>9} words from {} file(s) in {}\n", s.words, s.files, s.path);
    return 0;
  } catch (const word2vec::PrepareError& e) {
    err << "tpc word2vec prepare-corpus: error: " << e.what() << "\n";
    return 1;
  }
}

int run_analogies(const AnalogyArgs& a, std::ostream& out, std::ostream& err) {
  try {
    const auto sections = word2vec::build_analogies(a.inputs, a.options);
    word2vec::write_analogies(sections, a.out);
    std::size_t total = 0;
    for (const auto& s : sections) total += s.questions();
    out << fmt::format("tpc word2vec make-analogies: {} questions in {} sections written to {} (words occurring >= {} times in {})\n",
                       total, sections.size(), a.out, a.options.min_count, a.inputs.corpus);
    for (const auto& s : sections)
      out << fmt::format("  {:<28} {:>3} pairs {:>5} questions  e.g. {} {}\n", s.name, s.pairs.size(), s.questions(),
                         s.pairs.front().first, s.pairs.front().second);
    return 0;
  } catch (const word2vec::PrepareError& e) {
    err << "tpc word2vec make-analogies: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

Subcommands add_word2vec_data_commands(CLI::App* parent) {
  Subcommands subs;
  auto prep = std::make_shared<PrepareArgs>();
  auto* p = parent->add_subcommand(
      "prepare-corpus",
      "build a text8-like training corpus (lowercase letters, single spaces, digits spelled out) from raw texts; "
      "scripts/data-word2vec.sh runs it on the registry corpora");
  p->add_option("--text", prep->text, "plain-text files or directories of *.txt");
  p->add_option("--json", prep->json, "JSON files or directories of *.json (a \"text\" member, else every string)");
  p->add_option("--brown", prep->brown, "Brown-corpus files or their directory (word/tag tokens; tags are dropped)");
  p->add_option("--out,-o", prep->out, "the corpus file to write (replaced atomically)")->capture_default_str();
  subs.push_back({p, [prep](std::ostream& o, std::ostream& e) { return run_prepare(*prep, o, e); }});

  auto an = std::make_shared<AnalogyArgs>();
  auto* m = parent->add_subcommand(
      "make-analogies",
      "generate analogy questions in word2vec's questions-words.txt format from WordNet (Debian wordnet-base) and "
      "the US states and capitals (npm), keeping words frequent in the corpus");
  m->add_option("--corpus", an->inputs.corpus, "the corpus whose word counts select the words")->capture_default_str();
  m->add_option("--wordnet", an->inputs.wordnet_dir, "WordNet dictionary directory (index.*, *.exc)")->capture_default_str();
  m->add_option("--states", an->inputs.states, "US state names, one per line, alphabetical")->capture_default_str();
  m->add_option("--capitals", an->inputs.capitals, "their capitals, one per line, same order")->capture_default_str();
  m->add_option("--min-count", an->options.min_count, "corpus occurrences every question word needs")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 40))
      ->capture_default_str();
  m->add_option("--max-pairs", an->options.max_pairs, "word pairs kept per section (questions = pairs·(pairs−1))")
      ->check(CLI::Range(std::size_t{2}, std::size_t{100000}))
      ->capture_default_str();
  m->add_option("--out,-o", an->out, "the questions file to write (replaced atomically)")->capture_default_str();
  subs.push_back({m, [an](std::ostream& o, std::ostream& e) { return run_analogies(*an, o, e); }});
  return subs;
}

}  // namespace tp::frontend

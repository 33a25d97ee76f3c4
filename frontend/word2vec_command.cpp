// See word2vec_command.h. Each subcommand: 1. check flags; 2. read the data; 3. run the application
// (apps/word2vec/); 4. print text or JSON. User errors are word2vec::Word2VecError (and PlotError),
// printed as "tpc: error: ..." with exit code 1; files are written only when complete.
#include "frontend/word2vec_command.h"

#include <unistd.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/word2vec/analogy.h"
#include "apps/word2vec/corpus.h"
#include "apps/word2vec/emit_program.h"
#include "apps/word2vec/errors.h"
#include "apps/word2vec/trainer.h"
#include "apps/word2vec/width_comparison.h"
#include "apps/word2vec/word_vectors.h"
#include "frontend/plot.h"
#include "limits/parallel.h"

#ifndef TPC_DEFAULT_DATA_DIR
#define TPC_DEFAULT_DATA_DIR "data"
#endif

namespace tp::frontend {

namespace {

namespace w2v = tp::word2vec;
using nlohmann::json;

const std::string kDefaultCorpus = std::string(TPC_DEFAULT_DATA_DIR) + "/word2vec/corpus.txt";
const std::string kDefaultAnalogies = std::string(TPC_DEFAULT_DATA_DIR) + "/word2vec/questions-words.txt";

/// Flags shared by train and compare: corpus, sampling, optimization, initialization.
struct TrainingFlags {
  std::string corpus = kDefaultCorpus;
  std::uint64_t min_count = 5;
  std::size_t vocab_max = 0;
  std::uint64_t max_words = 0;
  w2v::TrainOptions train;
  int threads = 0;
  double sigma_u = 1.0, sigma_v = 0.0;
  double memory_budget = 8.0;
  bool progress = false, quiet = false;
  std::string format = "text";
};

void add_training_flags(CLI::App* sub, TrainingFlags& f, bool per_run_threads) {
  sub->add_option("--corpus", f.corpus, "training text: words separated by spaces, newlines end sentences (text8 works)")
      ->default_str(kDefaultCorpus);
  sub->add_option("--min-count", f.min_count, "drop words occurring fewer times")->default_val(5);
  sub->add_option("--vocab-max", f.vocab_max, "keep only the most frequent words (0 = all)")->default_val(0);
  sub->add_option("--max-words", f.max_words, "read only the first words of the corpus (0 = all)")->default_val(0);
  sub->add_option("--window", f.train.window, "maximal context window; the effective window is drawn per word")->default_val(8);
  sub->add_option("--negatives", f.train.negatives, "negative samples per word, from the unigram^0.75 distribution")->default_val(25);
  sub->add_option("--sample", f.train.sample, "subsampling threshold of frequent words (0 = off)")->default_val(1e-4);
  sub->add_option("--lr", f.train.lr, "learning rate (the same at every width: muP)")->default_val(0.05);
  sub->add_option("--lr-floor", f.train.lr_floor, "the linear decay stops at this fraction of --lr")->default_val(1e-4);
  sub->add_option("--weight-decay", f.train.weight_decay, "w <- (1 - lr*wd) w on every row an update touches")->default_val(0.001);
  sub->add_option("--epochs", f.train.epochs, "passes over the corpus")->default_val(5);
  sub->add_option("--seed", f.train.seed, per_run_threads ? "first seed (seeds are seed..seed+S-1)" : "seed of the initialization and the sampling")
      ->default_val(1);
  sub->add_option("--threads", f.threads,
                  per_run_threads ? "runs in parallel, one thread each (0 = all cores)"
                                  : "training threads, lock-free (0 = all cores; 1 = deterministic)")
      ->default_val(0);
  sub->add_option("--sigma-u", f.sigma_u, "input embeddings: coordinates N(0, sigma_u^2/n)")->default_val(1.0);
  sub->add_option("--sigma-v", f.sigma_v, "output embeddings: coordinates N(0, sigma_v^2/n) (0: zero, as TP4)")->default_val(0.0);
  sub->add_option("--memory-budget", f.memory_budget, "GiB the embedding matrices may take (the limit needs 2|V|^2 floats)")->default_val(8.0);
  sub->add_flag("--progress", f.progress, "progress lines on stderr even when it is not a terminal");
  sub->add_flag("--quiet", f.quiet, "no progress lines");
  sub->add_option("--format", f.format, "output format: text or json")->check(CLI::IsMember({"text", "json"}))->default_val("text");
}

w2v::Corpus load_corpus(const TrainingFlags& f) {
  if (f.min_count < 1) throw w2v::OptionError("--min-count 0 is out of range; give 1 or more (TP4 uses 5)");
  w2v::validate(f.train);
  w2v::CorpusOptions co;
  co.min_count = f.min_count;
  co.vocab_max = f.vocab_max;
  co.max_words = f.max_words;
  co.window = f.train.window;
  return w2v::read_corpus(f.corpus, co);
}

void check_sigmas(const TrainingFlags& f) {
  if (!(f.sigma_u > 0 && f.sigma_u < 1e6)) throw w2v::OptionError(fmt::format("--sigma-u {} is out of range; give a value > 0", f.sigma_u));
  if (!(f.sigma_v >= 0 && f.sigma_v < 1e6)) throw w2v::OptionError(fmt::format("--sigma-v {} is out of range; give a value >= 0", f.sigma_v));
  if (!(f.memory_budget > 0)) throw w2v::OptionError(fmt::format("--memory-budget {} is out of range; give GiB > 0", f.memory_budget));
}

bool progress_on(const TrainingFlags& f) { return !f.quiet && (f.progress || (f.format == "text" && ::isatty(2))); }

/// Runs a subcommand body, mapping user errors to exit code 1.
int guarded(std::ostream& err, const std::function<int()>& body) {
  try {
    return body();
  } catch (const w2v::Word2VecError& e) {
    err << "tpc: error: " << e.what() << "\n";
  } catch (const PlotError& e) {
    err << "tpc: error: " << e.what() << "\n";
  }
  return 1;
}

std::string pct(double x) { return fmt::format("{:.2f}", 100.0 * x); }

std::string corpus_summary(const w2v::Corpus& c, const TrainingFlags& f) {
  return fmt::format("{}: {} words, {} distinct; |V| = {} with --min-count {}{} ({} words kept)", c.source, c.raw_words,
                     c.distinct_words, c.vocab.size(), f.min_count, f.vocab_max ? fmt::format(", --vocab-max {}", f.vocab_max) : "",
                     c.vocab.total());
}

json score_json(const w2v::AnalogyScore& s) {
  json sections = json::array();
  for (const auto& x : s.sections)
    sections.push_back({{"section", x.name}, {"questions", x.questions}, {"answered", x.answered}, {"correct", x.correct},
                        {"oov", x.oov}, {"accuracy", x.accuracy()}});
  return {{"sections", sections},
          {"total", {{"questions", s.total.questions}, {"answered", s.total.answered}, {"correct", s.total.correct},
                     {"oov", s.total.oov}, {"accuracy", s.total.accuracy()}}}};
}

void print_score(std::ostream& out, const w2v::AnalogyScore& s) {
  out << fmt::format("{:<32} {:>9} {:>9} {:>8} {:>10}\n", "section", "questions", "answered", "correct", "accuracy");
  for (const auto& x : s.sections)
    out << fmt::format("{:<32} {:>9} {:>9} {:>8} {:>9}%\n", x.name, x.questions, x.answered, x.correct, pct(x.accuracy()));
  out << fmt::format("{:<32} {:>9} {:>9} {:>8} {:>9}%\n", "total", s.total.questions, s.total.answered, s.total.correct,
                     pct(s.total.accuracy()));
  out << fmt::format("{} question{} not answered: a word outside the vocabulary (OOV)\n", s.total.oov, s.total.oov == 1 ? "" : "s");
}

w2v::AnalogySet load_questions(const std::string& path, bool strict, std::ostream& err) {
  auto set = w2v::read_analogies(path, strict ? w2v::MalformedLines::stop : w2v::MalformedLines::skip);
  for (std::size_t i = 0; i < set.skipped.size() && i < 10; ++i) err << "tpc: warning: skipped " << set.skipped[i] << "\n";
  if (set.skipped.size() > 10) err << "tpc: warning: ... and " << set.skipped.size() - 10 << " more malformed lines skipped\n";
  return set;
}

std::optional<std::size_t> parse_width(const std::string& text) {
  if (text == "inf" || text == "infinity" || text == "limit") return std::nullopt;
  std::size_t used = 0;
  long long n = -1;
  try {
    n = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || n < 1 || n > (1 << 20))
    throw w2v::OptionError("--width '" + text + "' is not a width; give a positive integer up to 1048576, or 'inf' for the muP limit");
  return static_cast<std::size_t>(n);
}

// ---- train ----

struct TrainArgs {
  TrainingFlags f;
  std::string width = "256";
  bool ntk = false, binary = false, strict = false;
  std::string output, analogies;
  std::size_t restrict_vocab = 0;
};

int run_train(const TrainArgs& a, std::ostream& out, std::ostream& err) {
  check_sigmas(a.f);
  w2v::ModelSpec spec;
  spec.width = parse_width(a.width);
  spec.parametrization = a.ntk ? w2v::Parametrization::ntk : w2v::Parametrization::mup;
  spec.sigma_u = a.f.sigma_u;
  spec.sigma_v = a.f.sigma_v;
  spec.seed = a.f.train.seed;
  if (a.ntk && !spec.width && spec.sigma_v != 0)
    throw w2v::OptionError("--ntk --width inf needs --sigma-v 0: with a random readout the NTK limit's logits have a Gaussian "
                           "part that is not an inner product of embeddings; use finite widths");
  w2v::TrainOptions t = a.f.train;
  t.threads = a.f.threads > 0 ? a.f.threads : static_cast<int>(limits::default_threads());
  std::optional<w2v::AnalogySet> questions;
  if (!a.analogies.empty()) questions = load_questions(a.analogies, a.strict, err);
  const w2v::Corpus corpus = load_corpus(a.f);
  spec.vocab = corpus.vocab.size();
  w2v::check_memory_budget(spec, a.f.memory_budget, corpus.vocab.counts.data());
  if (progress_on(a.f)) {
    t.progress = &err;
    t.progress_seconds = 2.0;
  }
  auto model = w2v::make_model<float>(spec);
  const w2v::TrainStats stats = w2v::train(model, corpus, t);
  const w2v::WordVectors vectors = w2v::input_vectors(model, corpus.vocab);
  if (!a.output.empty()) w2v::write_vectors(a.output, vectors, a.binary);
  std::optional<w2v::AnalogyScore> score;
  w2v::AnalogyOptions ao;
  ao.restrict_vocab = a.restrict_vocab;
  ao.threads = t.threads;
  if (questions) score = w2v::evaluate_analogies(vectors, *questions, ao);
  if (a.f.format == "json") {
    json j = {{"corpus", corpus.source}, {"words", corpus.raw_words}, {"vocab", corpus.vocab.size()},
              {"model", spec.describe()}, {"width", spec.width ? json(*spec.width) : json("inf")},
              {"parametrization", a.ntk ? "ntk" : "mup"}, {"row_length", spec.row_length()},
              {"epochs", t.epochs}, {"threads", t.threads}, {"seconds", stats.seconds},
              {"words_per_second", stats.words_per_second}, {"final_loss", stats.final_loss},
              {"output", a.output.empty() ? json(nullptr) : json(a.output)}};
    if (score) j["analogies"] = score_json(*score);
    out << j.dump(2) << "\n";
    return 0;
  }
  out << "tpc word2vec train: " << corpus_summary(corpus, a.f) << "\n";
  out << fmt::format("model: {}, CBOW, window {}, {} negatives, sample {}, lr {} -> {}, weight decay {}\n", spec.describe(),
                     t.window, t.negatives, t.sample, t.lr, t.lr * t.lr_floor, t.weight_decay);
  out << fmt::format("trained {} epochs on {} thread{} in {:.1f} s: {:.0f} words/s, final loss {:.4f} (mean -log sigmoid(±f) per sample, last epoch)\n", t.epochs,
                     t.threads, t.threads == 1 ? "" : "s", stats.seconds, stats.words_per_second, stats.final_loss);
  if (!a.output.empty()) out << fmt::format("vectors: {} ({} words x {}, {})\n", a.output, vectors.words.size(), vectors.dim, a.binary ? "binary" : "text");
  if (score) {
    out << "analogies: " << a.analogies << "\n";
    print_score(out, *score);
  }
  return 0;
}

// ---- eval ----

struct EvalArgs {
  std::string vectors, analogies = kDefaultAnalogies, format = "text";
  std::size_t restrict_vocab = 0;
  unsigned threads = 0;
  bool strict = false;
};

int run_eval(const EvalArgs& a, std::ostream& out, std::ostream& err) {
  const w2v::AnalogySet questions = load_questions(a.analogies, a.strict, err);
  const w2v::WordVectors vectors = w2v::read_vectors(a.vectors);
  w2v::AnalogyOptions ao;
  ao.restrict_vocab = a.restrict_vocab;
  ao.threads = static_cast<int>(a.threads ? a.threads : limits::default_threads());
  const auto score = w2v::evaluate_analogies(vectors, questions, ao);
  if (a.format == "json") {
    json j = score_json(score);
    j["vectors"] = a.vectors;
    j["analogies"] = a.analogies;
    j["skipped_lines"] = questions.skipped;
    out << j.dump(2) << "\n";
    return 0;
  }
  out << fmt::format("tpc word2vec eval: {} ({} words x {}), questions {}{}\n", a.vectors, vectors.words.size(), vectors.dim,
                     a.analogies, a.restrict_vocab ? fmt::format(", answers among the {} most frequent words", a.restrict_vocab) : "");
  print_score(out, score);
  return 0;
}

// ---- emit-program ----

struct EmitArgs {
  w2v::EmitOptions o;
  std::string output;
};

int run_emit(const EmitArgs& a, std::ostream& out, std::ostream& err) {
  const auto e = w2v::emit_program(a.o);
  if (a.output.empty()) {
    out << e.program;
  } else {
    w2v::write_file_atomically(a.output, [&](std::ostream& o) { o << e.program; });
    out << fmt::format("tpc word2vec emit-program: {} ({} updates, {} outputs); the limit engine's values:\n", a.output,
                       e.steps.size(), e.output_names.size());
    for (std::size_t i = 0; i < e.output_names.size(); ++i) out << fmt::format("{:<12} {:.17g}\n", e.output_names[i], e.limit_values[i]);
  }
  return 0;
}

// ---- compare ----

struct CompareArgs {
  TrainingFlags f;
  std::string widths = "64,256,1024", analogies = kDefaultAnalogies, plot;
  bool limit = false, ntk = false, strict = false;
  int seeds = 1;
  std::size_t top_k = 200, restrict_vocab = 0;
};

std::vector<std::size_t> parse_widths(const std::string& text) {
  std::vector<std::size_t> ws;
  std::stringstream in(text);
  for (std::string cell; std::getline(in, cell, ',');) {
    const auto w = parse_width(cell);
    if (!w) throw w2v::OptionError("--widths lists finite widths; the limit is added with --limit");
    ws.push_back(*w);
  }
  if (ws.empty()) throw w2v::OptionError("--widths is empty; give e.g. --widths 64,256,1024");
  return ws;
}

std::string width_label(const w2v::WidthRow& r) {
  if (!r.width) return "inf (muP limit)";
  return std::to_string(*r.width);
}

std::string mean_sd(double m, double sd, bool percent) {
  const double k = percent ? 100.0 : 1.0;
  if (!std::isfinite(m)) return "-";
  const int digits = percent ? 2 : 4;
  if (!std::isfinite(sd)) return fmt::format("{:.{}f}", k * m, digits);
  return fmt::format("{:.{}f} ± {:.{}f}", k * m, digits, k * sd, digits);
}

int run_compare(const CompareArgs& a, std::ostream& out, std::ostream& err) {
  check_sigmas(a.f);
  w2v::ComparisonOptions o;
  o.widths = parse_widths(a.widths);
  o.limit = a.limit;
  o.ntk = a.ntk;
  o.seeds = a.seeds;
  o.seed_base = a.f.train.seed;
  o.top_k = a.top_k;
  o.sigma_u = a.f.sigma_u;
  o.sigma_v = a.f.sigma_v;
  o.memory_budget_gib = a.f.memory_budget;
  o.jobs = static_cast<unsigned>(std::max(0, a.f.threads));
  o.train = a.f.train;
  o.analogy.restrict_vocab = a.restrict_vocab;
  if (a.top_k < 2) throw w2v::OptionError("--top-k must be at least 2");
  const w2v::AnalogySet questions = load_questions(a.analogies, a.strict, err);
  const w2v::Corpus corpus = load_corpus(a.f);
  const bool progress = progress_on(a.f);
  const auto c = w2v::compare_widths(corpus, questions, o, [&](const w2v::ComparisonRun& r, std::size_t done, std::size_t total) {
    if (progress)
      err << fmt::format("word2vec compare: {}/{} done: {}, seed {}: accuracy {}% in {:.1f} s ({:.0f} words/s)\n", done, total,
                         r.spec.describe(), r.seed, pct(r.final_score.accuracy()), r.seconds, r.words_per_second)
          << std::flush;
  });
  if (!a.plot.empty()) {
    PlotPanel acc{"analogy accuracy after each epoch", "epoch", "accuracy (%)", false, false, {}};
    PlotPanel dist{"cosine matrices: distance to the limit", "width n", "RMS distance (top " + std::to_string(c.top_k) + " words)",
                   true, true, {}};
    for (const auto& r : c.rows) {
      PlotSeries s{r.width ? (r.parametrization == w2v::Parametrization::ntk ? "NTK " : "muP ") + width_label(r) : "muP limit", {}, {},
                   r.parametrization == w2v::Parametrization::ntk};
      for (std::size_t e = 0; e < r.accuracy_by_epoch.size(); ++e) {
        s.x.push_back(static_cast<double>(e + 1));
        s.y.push_back(100.0 * r.accuracy_by_epoch[e]);
      }
      acc.series.push_back(std::move(s));
    }
    PlotSeries d{"muP width n", {}, {}, false};
    for (const auto& r : c.rows)
      if (r.width && r.parametrization == w2v::Parametrization::mup && std::isfinite(r.distance_mean)) {
        d.x.push_back(static_cast<double>(*r.width));
        d.y.push_back(r.distance_mean);
      }
    std::vector<PlotPanel> panels{acc};
    if (!d.x.empty()) {
      dist.series.push_back(d);
      if (std::isfinite(c.exponent)) {
        PlotSeries fit{fmt::format("fit n^({:.2f})", c.exponent), {}, {}, true};
        for (std::size_t i = 0; i < d.x.size(); ++i) {
          fit.x.push_back(d.x[i]);
          fit.y.push_back(d.y[0] * std::pow(d.x[i] / d.x[0], c.exponent));
        }
        dist.series.push_back(fit);
      }
      panels.push_back(dist);
    }
    write_png(a.plot, panels);
  }
  if (a.f.format == "json") {
    json rows = json::array();
    for (const auto& r : c.rows)
      rows.push_back({{"width", r.width ? json(*r.width) : json("inf")},
                      {"parametrization", r.parametrization == w2v::Parametrization::mup ? "mup" : "ntk"},
                      {"accuracy_mean", r.accuracy_mean}, {"accuracy_sd", std::isfinite(r.accuracy_sd) ? json(r.accuracy_sd) : json(nullptr)},
                      {"distance_mean", std::isfinite(r.distance_mean) ? json(r.distance_mean) : json(nullptr)},
                      {"distance_sd", std::isfinite(r.distance_sd) ? json(r.distance_sd) : json(nullptr)},
                      {"accuracy_by_epoch", r.accuracy_by_epoch}});
    json runs = json::array();
    for (const auto& r : c.runs)
      runs.push_back({{"model", r.spec.describe()}, {"seed", r.seed}, {"accuracy", r.final_score.accuracy()},
                      {"answered", r.final_score.answered}, {"oov", r.final_score.oov}, {"accuracy_by_epoch", r.accuracy_by_epoch},
                      {"distance_to_limit", std::isfinite(r.distance_to_limit) ? json(r.distance_to_limit) : json(nullptr)},
                      {"seconds", r.seconds}, {"words_per_second", r.words_per_second}});
    out << json{{"corpus", corpus.source}, {"words", corpus.raw_words}, {"vocab", corpus.vocab.size()},
                {"analogies", questions.source}, {"epochs", o.train.epochs}, {"seeds", o.seeds}, {"top_k", c.top_k},
                {"rows", rows}, {"runs", runs},
                {"exponent", std::isfinite(c.exponent) ? json(c.exponent) : json(nullptr)},
                {"exponent_se", std::isfinite(c.exponent_se) ? json(c.exponent_se) : json(nullptr)}}
               .dump(2)
        << "\n";
    return 0;
  }
  out << "tpc word2vec compare: " << corpus_summary(corpus, a.f) << "\n";
  out << fmt::format("analogies {}: {} questions; CBOW, window {}, {} negatives, sample {}, lr {}, weight decay {}, {} epoch{}, "
                     "seeds {}..{}, one thread per run\n",
                     questions.source, questions.questions.size(), o.train.window, o.train.negatives, o.train.sample, o.train.lr,
                     o.train.weight_decay, o.train.epochs, o.train.epochs == 1 ? "" : "s", o.seed_base,
                     o.seed_base + static_cast<std::uint64_t>(o.seeds) - 1);
  const std::size_t answered = c.runs.empty() ? 0 : c.runs.front().final_score.answered;
  out << fmt::format("accuracy = correct / answered ({} answered, {} with a word outside the vocabulary); mean ± s.d. over seeds\n\n",
                     answered, c.runs.empty() ? 0 : c.runs.front().final_score.oov);
  out << fmt::format("{:<16} {:>18} {:>18} {:>26}\n", "width", "muP accuracy (%)", o.ntk ? "NTK accuracy (%)" : "",
                     o.limit ? fmt::format("cos distance to limit") : "");
  for (const auto& r : c.rows) {
    if (r.parametrization == w2v::Parametrization::ntk) continue;
    std::string ntk;
    for (const auto& q : c.rows)
      if (q.parametrization == w2v::Parametrization::ntk && q.width == r.width) ntk = mean_sd(q.accuracy_mean, q.accuracy_sd, true);
    out << fmt::format("{:<16} {:>18} {:>18} {:>26}\n", width_label(r), mean_sd(r.accuracy_mean, r.accuracy_sd, true), ntk,
                       r.width ? mean_sd(r.distance_mean, r.distance_sd, false) : "");
  }
  if (std::isfinite(c.exponent))
    out << fmt::format("\ndistance to the limit ~ n^({:.3f}{}) (least squares in log-log over widths; {}; top {} words)\n", c.exponent,
                       std::isfinite(c.exponent_se) ? fmt::format(" ± {:.3f}", c.exponent_se) : "",
                       std::isfinite(c.exponent_se) ? "jackknife over seeds" : "one seed: no uncertainty, use --seeds 2 or more", c.top_k);
  if (!a.plot.empty()) out << "plot: " << a.plot << "\n";
  return 0;
}

}  // namespace

Subcommands add_word2vec_commands(CLI::App* parent) {
  Subcommands subs;
  {
    auto args = std::make_shared<TrainArgs>();
    auto* sub = parent->add_subcommand("train", "train CBOW word2vec (negative sampling) at a finite width or in the exact muP limit");
    add_training_flags(sub, args->f, false);
    sub->add_option("--width", args->width, "width n, or 'inf' for the muP limit (rows of length |V|, or 2|V| with --sigma-v > 0)")
        ->default_val("256");
    sub->add_flag("--ntk", args->ntk, "NTK parametrization (input rows learn at lr/n, readout starts at Theta(1/sqrt n))");
    sub->add_option("--output", args->output, "write the input embeddings here in word2vec's format (the limit has |V| numbers per word: prefer --binary)");
    sub->add_flag("--binary", args->binary, "write the binary format (word2vec -binary 1) instead of text");
    sub->add_option("--analogies", args->analogies, "evaluate on these analogy questions after training");
    sub->add_option("--restrict-vocab", args->restrict_vocab, "answers among the most frequent words only (0 = all)")->default_val(0);
    sub->add_flag("--strict", args->strict, "stop at a malformed analogy line instead of skipping it with a warning");
    subs.push_back({sub, [args](std::ostream& out, std::ostream& err) { return guarded(err, [&] { return run_train(*args, out, err); }); }});
  }
  {
    auto args = std::make_shared<EvalArgs>();
    auto* sub = parent->add_subcommand("eval", "analogy accuracy of word vectors (word2vec text or binary format), as compute-accuracy");
    sub->add_option("vectors", args->vectors, "vectors file")->required();
    sub->add_option("--analogies", args->analogies, "questions in word2vec's questions-words.txt format")->default_str(kDefaultAnalogies);
    sub->add_option("--restrict-vocab", args->restrict_vocab, "answers among the most frequent words only (0 = all)")->default_val(0);
    sub->add_option("--threads", args->threads, "threads (0 = all cores)")->default_val(0);
    sub->add_flag("--strict", args->strict, "stop at a malformed analogy line instead of skipping it with a warning");
    sub->add_option("--format", args->format, "output format: text or json")->check(CLI::IsMember({"text", "json"}))->default_val("text");
    subs.push_back({sub, [args](std::ostream& out, std::ostream& err) { return guarded(err, [&] { return run_eval(*args, out, err); }); }});
  }
  {
    auto args = std::make_shared<CompareArgs>();
    auto* sub = parent->add_subcommand("compare", "TP4 Table 3: accuracy at widths vs the muP limit and NTK, over seeds, with "
                                                  "the convergence of cosine similarities to the limit");
    add_training_flags(sub, args->f, true);
    sub->add_option("--widths", args->widths, "comma-separated finite widths")->default_val("64,256,1024");
    sub->add_flag("--limit", args->limit, "also train the exact muP limit (and measure each width's distance to it)");
    sub->add_flag("--ntk", args->ntk, "also train NTK parametrization at every width");
    sub->add_option("--seeds", args->seeds, "seeds per model")->default_val(1);
    sub->add_option("--top-k", args->top_k, "most frequent words in the cosine-similarity matrices")->default_val(200);
    sub->add_option("--analogies", args->analogies, "questions in word2vec's questions-words.txt format")->default_str(kDefaultAnalogies);
    sub->add_option("--restrict-vocab", args->restrict_vocab, "answers among the most frequent words only (0 = all)")->default_val(0);
    sub->add_flag("--strict", args->strict, "stop at a malformed analogy line instead of skipping it with a warning");
    sub->add_option("--plot", args->plot, "PNG: accuracy against epoch, and distance to the limit against width");
    subs.push_back({sub, [args](std::ostream& out, std::ostream& err) { return guarded(err, [&] { return run_compare(*args, out, err); }); }});
  }
  {
    auto args = std::make_shared<EmitArgs>();
    auto* sub = parent->add_subcommand("emit-program", "the first updates of a tiny muP word2vec run as a NETSOR-T program for "
                                                       "'tpc limit' / 'tpc run' (the link to the Master Theorem)");
    sub->add_option("--text", args->o.text, "the tiny corpus")->default_str(args->o.text);
    sub->add_option("--steps", args->o.steps, "CBOW updates to write")->default_val(3);
    sub->add_option("--window", args->o.window, "maximal window")->default_val(2);
    sub->add_option("--negatives", args->o.negatives, "negative samples per update")->default_val(2);
    sub->add_option("--lr", args->o.lr, "learning rate")->default_val(0.05);
    sub->add_option("--weight-decay", args->o.weight_decay, "weight decay")->default_val(0.001);
    sub->add_option("--sample", args->o.sample, "subsampling threshold (0 = off)")->default_val(0.0);
    sub->add_option("--sigma-u", args->o.sigma_u, "input embedding scale")->default_val(1.0);
    sub->add_option("--sigma-v", args->o.sigma_v, "output embedding scale (0: zero)")->default_val(0.0);
    sub->add_option("--seed", args->o.seed, "sampling seed")->default_val(1);
    sub->add_option("--output", args->output, "write the program here (and print the limit engine's values) instead of stdout");
    subs.push_back({sub, [args](std::ostream& out, std::ostream& err) { return guarded(err, [&] { return run_emit(*args, out, err); }); }});
  }
  return subs;
}

}  // namespace tp::frontend

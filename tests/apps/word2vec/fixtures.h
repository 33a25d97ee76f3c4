// Fixtures of the word2vec tests: a synthetic corpus with structure (a tiny grammar whose nouns come in
// singular/plural pairs and whose sentences pair subjects with fitting verbs), temporary files, and the
// tiny analogy file that goes with it.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tp::testing {

/// A deterministic text of about `words` words over ~40 distinct words, one sentence per line.
inline std::string synthetic_corpus(std::size_t words, std::uint64_t seed = 7) {
  const std::vector<std::string> nouns{"cat", "dog", "bird", "fish", "horse", "mouse"};
  const std::vector<std::string> plurals{"cats", "dogs", "birds", "fishes", "horses", "mice"};
  const std::vector<std::string> verbs{"runs", "sleeps", "eats", "sings", "swims", "jumps"};
  const std::vector<std::string> plural_verbs{"run", "sleep", "eat", "sing", "swim", "jump"};
  const std::vector<std::string> adjectives{"big", "small", "old", "young", "happy", "quiet"};
  const std::vector<std::string> places{"home", "garden", "river", "field", "house", "tree"};
  std::uint64_t s = seed;
  const auto next = [&s](std::size_t bound) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((s >> 33) % bound);
  };
  std::ostringstream out;
  std::size_t count = 0;
  while (count < words) {
    const std::size_t k = next(nouns.size());
    const bool plural = next(2) == 1;
    std::vector<std::string> sentence{"the", adjectives[next(adjectives.size())], plural ? plurals[k] : nouns[k],
                                      plural ? plural_verbs[k] : verbs[k], "near", "the", places[next(places.size())]};
    for (std::size_t i = 0; i < sentence.size(); ++i) out << (i ? " " : "") << sentence[i];
    out << "\n";
    count += sentence.size();
  }
  return out.str();
}

/// A fresh temporary directory, removed with its files when the object goes.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static int counter = 0;
    path = std::filesystem::temp_directory_path() /
           ("tpc_w2v_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name, const std::string& content) const {
    const auto p = path / name;
    std::ofstream(p) << content;
    return p.string();
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

/// Analogy questions over synthetic_corpus's words (singular : plural, noun : verb).
inline std::string synthetic_analogies() {
  return ": plural\ncat cats dog dogs\ndog dogs bird birds\nbird birds horse horses\nhorse horses cat cats\n"
         ": verb\ncat runs dog sleeps\ndog sleeps fish swims\nfish swims cat runs\nunicorn unicorns cat cats\n";
}

}  // namespace tp::testing

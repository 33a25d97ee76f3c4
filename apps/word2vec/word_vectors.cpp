// See word_vectors.h.
#include "apps/word2vec/word_vectors.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <unistd.h>

#include <fmt/format.h>

#include "apps/word2vec/errors.h"

namespace tp::word2vec {

template <class Real>
WordVectors input_vectors(const EmbeddingModel<Real>& model, const Vocab& vocab) {
  WordVectors v;
  v.words = vocab.words;
  v.dim = model.input.length();
  if constexpr (std::is_same_v<Real, float>) {
    v.view = model.input.row(0);
    v.view_stride = model.input.stride();
    return v;
  }
  v.values.resize(v.words.size() * v.dim);
  for (std::size_t w = 0; w < v.words.size(); ++w)
    for (std::size_t i = 0; i < v.dim; ++i) v.values[w * v.dim + i] = static_cast<float>(model.input.row(w)[i]);
  return v;
}

template WordVectors input_vectors<float>(const EmbeddingModel<float>&, const Vocab&);
template WordVectors input_vectors<double>(const EmbeddingModel<double>&, const Vocab&);

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw VectorsFileError(fmt::format("{}: cannot create the file ({}); check the directory exists and is writable", path, std::strerror(errno)));
    write(out);
    out.flush();
    if (!out) throw VectorsFileError(path + ": write error (disk full?); nothing was written");
    out.close();
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) throw VectorsFileError(fmt::format("{}: cannot rename the finished file into place ({})", path, ec.message()));
  } catch (...) {
    std::error_code ignore;
    std::filesystem::remove(tmp, ignore);
    throw;
  }
}

void write_vectors(const std::string& path, const WordVectors& v, bool binary) {
  write_file_atomically(path, [&](std::ostream& out) {
    out << v.words.size() << ' ' << v.dim << '\n';
    std::string line;
    for (std::size_t w = 0; w < v.words.size(); ++w) {
      line.clear();
      line += v.words[w];
      if (binary) {
        line += ' ';
        line.append(reinterpret_cast<const char*>(v.row(w)), v.dim * sizeof(float));
      } else {
        for (std::size_t i = 0; i < v.dim; ++i) fmt::format_to(std::back_inserter(line), " {:.9g}", v.row(w)[i]);
      }
      line += '\n';
      out.write(line.data(), static_cast<std::streamsize>(line.size()));
    }
  });
}

namespace {

[[noreturn]] void bad_file(const std::string& path, std::size_t line, const std::string& what) {
  throw VectorsFileError(fmt::format("{}:{}: {}", path, line, what));
}

}  // namespace

WordVectors read_vectors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw VectorsFileError(fmt::format("{}: cannot open the vectors file ({}); give the file written by 'tpc word2vec train --output'", path, std::strerror(errno)));
  std::string header;
  if (!std::getline(in, header)) bad_file(path, 1, "the file is empty; expected a header '<words> <dimension>'");
  std::istringstream hs(header);
  long long rows = -1, dim = -1;
  std::string extra;
  if (!(hs >> rows >> dim) || (hs >> extra) || rows < 1 || dim < 1)
    bad_file(path, 1, "expected a header '<words> <dimension>' (two positive integers), found '" + header + "'");
  WordVectors v;
  v.dim = static_cast<std::size_t>(dim);
  v.words.reserve(static_cast<std::size_t>(rows));
  v.values.resize(static_cast<std::size_t>(rows) * v.dim);
  // Binary rows are "word " + floats + "\n"; a text row is one line of dim numbers after the word.
  bool binary = false;
  {
    const auto mark = in.tellg();
    std::string first;
    std::getline(in, first);
    std::istringstream fs(first);
    std::string w, tok;
    fs >> w;
    std::size_t count = 0;
    bool numeric = true;
    while (fs >> tok) {
      char* end = nullptr;
      std::strtof(tok.c_str(), &end);
      if (*end != '\0') numeric = false;
      ++count;
    }
    bool control = false;
    for (unsigned char ch : first.substr(std::min(first.size(), first.find(' ') + 1))) control = control || (ch < 0x20 && ch != '\t' && ch != '\r') || ch >= 0x7f;
    binary = control || !numeric || count == 0;
    in.clear();
    in.seekg(mark);
  }
  for (long long r = 0; r < rows; ++r) {
    const std::size_t line = static_cast<std::size_t>(r) + 2;
    float* out = v.values.data() + static_cast<std::size_t>(r) * v.dim;
    std::string word;
    if (binary) {
      int c;
      while ((c = in.get()) != EOF && (c == '\n' || c == ' ')) {
      }
      if (c == EOF) bad_file(path, line, fmt::format("truncated: the header promises {} words, the file ends after {}", rows, r));
      word += static_cast<char>(c);
      while ((c = in.get()) != EOF && c != ' ') word += static_cast<char>(c);
      in.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(v.dim * sizeof(float)));
      if (c == EOF || in.gcount() != static_cast<std::streamsize>(v.dim * sizeof(float)))
        bad_file(path, line, fmt::format("truncated: the vector of '{}' has fewer than {} floats", word, v.dim));
    } else {
      std::string text;
      if (!std::getline(in, text))
        bad_file(path, line, fmt::format("truncated: the header promises {} words, the file ends after {}", rows, r));
      std::istringstream ls(text);
      ls >> word;
      std::size_t i = 0;
      std::string tok;
      while (ls >> tok) {
        char* end = nullptr;
        const float x = std::strtof(tok.c_str(), &end);
        if (*end != '\0') bad_file(path, line, fmt::format("'{}' is not a number (the vector of '{}')", tok, word));
        if (i < v.dim) out[i] = x;
        ++i;
      }
      if (i != v.dim)
        bad_file(path, line, fmt::format("the vector of '{}' has {} numbers, but the header says dimension {}{}", word, i, v.dim,
                                         i < v.dim ? " (truncated file?)" : ""));
    }
    if (word.empty()) bad_file(path, line, "a row without a word");
    v.words.push_back(std::move(word));
  }
  return v;
}

}  // namespace tp::word2vec

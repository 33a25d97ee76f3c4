#include "apps/word2vec/corpus_prepare.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apps/word2vec/prepare_error.h"

namespace tp::word2vec {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDigitNames[10] = {"zero", "one", "two",   "three", "four",
                                         "five", "six", "seven", "eight", "nine"};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw PrepareError(fmt::format("{}: cannot be read; check the path and its permissions", p.string()));
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) throw PrepareError(fmt::format("{}: read error", p.string()));
  return std::move(s).str();
}

bool is_brown_file(const std::string& name) {
  return name.size() == 4 && name[0] == 'c' && name[1] >= 'a' && name[1] <= 'r' && std::isdigit(static_cast<unsigned char>(name[2])) &&
         std::isdigit(static_cast<unsigned char>(name[3]));
}

bool wanted(SourceFormat f, const fs::path& p) {
  switch (f) {
    case SourceFormat::Text: return p.extension() == ".txt";
    case SourceFormat::Json: return p.extension() == ".json";
    case SourceFormat::Brown: return is_brown_file(p.filename().string());
  }
  return false;
}

/// The files of a source: the path itself, or the wanted files of a directory in sorted order.
std::vector<fs::path> source_files(const CorpusSource& s) {
  std::error_code ec;
  const fs::path root(s.path);
  if (!fs::exists(root, ec))
    throw PrepareError(fmt::format("{}: no such file or directory; run scripts/data-word2vec.sh or pass an existing path", s.path));
  if (!fs::is_directory(root, ec)) return {root};
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_regular_file() && wanted(s.format, e.path())) files.push_back(e.path());
  if (ec) throw PrepareError(fmt::format("{}: cannot list the directory: {}", s.path, ec.message()));
  std::sort(files.begin(), files.end());
  if (files.empty()) throw PrepareError(fmt::format("{}: the directory holds no files of the expected kind", s.path));
  return files;
}

void collect_strings(const nlohmann::json& j, std::string& out) {
  if (j.is_string()) {
    out += j.get_ref<const std::string&>();
    out += '\n';
  } else if (j.is_object() && j.contains("text") && j["text"].is_string()) {
    collect_strings(j["text"], out);
  } else if (j.is_structured()) {
    for (const auto& e : j) collect_strings(e, out);
  }
}

}  // namespace

std::uint64_t append_text8(std::string_view raw, std::string& out) {
  std::uint64_t words = 0;
  bool in_word = false;
  auto begin_word = [&] {
    if (!in_word) {
      if (!out.empty() && out.back() != ' ') out += ' ';
      in_word = true;
      ++words;
    }
  };
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 'a' && c <= 'z') {
      begin_word();
      out += static_cast<char>(c);
    } else if (c >= 'A' && c <= 'Z') {
      begin_word();
      out += static_cast<char>(c - 'A' + 'a');
    } else if (c >= '0' && c <= '9') {
      in_word = false;  // each digit is a word of its own, as in text8
      begin_word();
      out += kDigitNames[c - '0'];
      in_word = false;
    } else {
      in_word = false;
    }
  }
  return words;
}

std::string strip_brown_tags(std::string_view tagged) {
  std::string out;
  out.reserve(tagged.size());
  std::size_t i = 0;
  while (i < tagged.size()) {
    if (std::isspace(static_cast<unsigned char>(tagged[i]))) {
      out += tagged[i++];
      continue;
    }
    std::size_t j = i;
    while (j < tagged.size() && !std::isspace(static_cast<unsigned char>(tagged[j]))) ++j;
    const std::string_view token = tagged.substr(i, j - i);
    const std::size_t slash = token.rfind('/');
    out += slash == std::string_view::npos ? token : token.substr(0, slash);
    i = j;
  }
  return out;
}

std::string json_text(std::string_view json, const std::string& name) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json.begin(), json.end());
  } catch (const nlohmann::json::parse_error& e) {
    throw PrepareError(fmt::format("{}: not valid JSON ({}); pass it as --text if it is plain text", name, e.what()));
  }
  std::string out;
  collect_strings(j, out);
  return out;
}

CorpusStats prepare_corpus(const std::vector<CorpusSource>& sources, const std::string& out_path) {
  if (sources.empty()) throw PrepareError("no sources given; pass --text, --json or --brown paths");
  CorpusStats stats;
  std::string corpus;
  for (const auto& s : sources) {
    SourceStats ss{s.path, 0, 0};
    for (const auto& f : source_files(s)) {
      const std::string raw = read_file(f);
      std::string text;
      switch (s.format) {
        case SourceFormat::Text: text = raw; break;
        case SourceFormat::Json: text = json_text(raw, f.string()); break;
        case SourceFormat::Brown: text = strip_brown_tags(raw); break;
      }
      ss.words += append_text8(text, corpus);
      ++ss.files;
    }
    if (ss.words == 0) throw PrepareError(fmt::format("{}: contributes no words (no letters or digits)", s.path));
    stats.words += ss.words;
    stats.sources.push_back(ss);
  }
  corpus += '\n';
  const fs::path out(out_path);
  std::error_code ec;
  if (out.has_parent_path()) fs::create_directories(out.parent_path(), ec);
  const fs::path tmp = out.string() + ".partial";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) throw PrepareError(fmt::format("{}: cannot be written; check the directory exists and is writable", tmp.string()));
    o.write(corpus.data(), static_cast<std::streamsize>(corpus.size()));
    if (!o) {
      o.close();
      fs::remove(tmp, ec);
      throw PrepareError(fmt::format("{}: write failed (disk full?)", tmp.string()));
    }
  }
  fs::rename(tmp, out, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw PrepareError(fmt::format("{}: cannot be replaced: {}", out_path, ec.message()));
  }
  stats.bytes = corpus.size();
  return stats;
}

}  // namespace tp::word2vec

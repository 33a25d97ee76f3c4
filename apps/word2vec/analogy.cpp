// See analogy.h. Answers are computed in batches of questions with one matrix product each:
// scores = Q Mᵀ with M the unit-normalized vectors and Q the rows b − a + c.
#include "apps/word2vec/analogy.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "apps/word2vec/errors.h"

namespace tp::word2vec {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

}  // namespace

AnalogySet parse_analogies(std::string_view text, const std::string& source, MalformedLines policy) {
  AnalogySet set;
  set.source = source;
  std::size_t line_no = 0, start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string line(text.substr(start, end - start));
    start = end + 1;
    ++line_no;
    std::istringstream ls(line);
    std::vector<std::string> toks;
    for (std::string t; ls >> t;) toks.push_back(t);
    if (toks.empty()) {
      if (end == text.size()) break;
      continue;
    }
    if (toks[0] == ":" || toks[0][0] == ':') {
      std::string name = toks[0] == ":" ? (toks.size() > 1 ? toks[1] : "") : toks[0].substr(1);
      if (name.empty()) name = fmt::format("section-{}", set.sections.size() + 1);
      set.sections.push_back(name);
      continue;
    }
    if (toks.size() != 4) {
      const std::string why = fmt::format("{}:{}: expected a section line ': name' or a question of 4 words, found {} word{}: '{}'",
                                          source, line_no, toks.size(), toks.size() == 1 ? "" : "s", line);
      if (policy == MalformedLines::stop)
        throw AnalogyFileError(why + "; fix the line, or run without --strict to skip malformed lines with a warning");
      set.skipped.push_back(why);
      continue;
    }
    if (set.sections.empty()) set.sections.push_back("questions");
    AnalogyQuestion q;
    q.section = set.sections.size() - 1;
    q.line = line_no;
    for (int i = 0; i < 4; ++i) q.words[static_cast<std::size_t>(i)] = lower(toks[static_cast<std::size_t>(i)]);
    set.questions.push_back(std::move(q));
    if (end == text.size()) break;
  }
  if (set.questions.empty())
    throw AnalogyFileError(source + ": no analogy questions found; expected word2vec's questions-words.txt format "
                                    "(': section' lines, then lines 'a b c d'); run 'tpc word2vec make-analogies' or give --analogies FILE");
  return set;
}

AnalogySet read_analogies(const std::string& path, MalformedLines policy) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw AnalogyFileError(fmt::format("{}: cannot open the analogy questions ({}); run 'tpc word2vec make-analogies' "
                                       "(scripts/setup.sh does) or give --analogies FILE",
                                       path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_analogies(ss.str(), path, policy);
}

AnalogyScore evaluate_analogies(const WordVectors& vectors, const AnalogySet& set, const AnalogyOptions& options) {
  const std::size_t K = options.restrict_vocab > 0 ? std::min(options.restrict_vocab, vectors.words.size()) : vectors.words.size();
  const std::size_t d = vectors.dim;
  std::unordered_map<std::string, std::int32_t> index;
  for (std::size_t i = 0; i < K; ++i) index.emplace(lower(vectors.words[i]), static_cast<std::int32_t>(i));
  // The rows in place (no normalized copy: a limit model's rows are |V| long); 1/‖row‖ applied to scores.
  const Eigen::Map<const RowMatrix, 0, Eigen::OuterStride<>> M(vectors.row(0), static_cast<Eigen::Index>(K), static_cast<Eigen::Index>(d),
                                                              Eigen::OuterStride<>(static_cast<Eigen::Index>(vectors.stride())));
  Eigen::VectorXf inv_norm(static_cast<Eigen::Index>(K));
  for (Eigen::Index i = 0; i < static_cast<Eigen::Index>(K); ++i) {
    const float norm = M.row(i).norm();
    inv_norm[i] = norm > 0 ? 1.0f / norm : 1.0f;
  }
  AnalogyScore score;
  for (const auto& s : set.sections) score.sections.push_back(SectionScore{s});
  struct Answerable {
    std::size_t question;
    std::array<std::int32_t, 4> ids;
  };
  std::vector<Answerable> todo;
  for (std::size_t qi = 0; qi < set.questions.size(); ++qi) {
    const auto& q = set.questions[qi];
    auto& sec = score.sections[q.section];
    ++sec.questions;
    std::array<std::int32_t, 4> ids{};
    bool ok = true;
    for (int i = 0; i < 4; ++i) {
      const auto it = index.find(q.words[static_cast<std::size_t>(i)]);
      if (it == index.end()) ok = false;
      else ids[static_cast<std::size_t>(i)] = it->second;
    }
    if (!ok) {
      ++sec.oov;
      continue;
    }
    ++sec.answered;
    todo.push_back({qi, ids});
  }
  std::vector<char> correct(todo.size(), 0);
  constexpr std::size_t kBatch = 128;
  std::atomic<std::size_t> next{0};
  const auto worker = [&] {
    RowMatrix Q, S;
    for (;;) {
      const std::size_t b0 = next.fetch_add(kBatch);
      if (b0 >= todo.size()) return;
      const std::size_t nb = std::min(kBatch, todo.size() - b0);
      Q.resize(static_cast<Eigen::Index>(nb), static_cast<Eigen::Index>(d));
      for (std::size_t j = 0; j < nb; ++j) {
        const auto& ids = todo[b0 + j].ids;
        Q.row(static_cast<Eigen::Index>(j)) = M.row(ids[1]) * inv_norm[ids[1]] - M.row(ids[0]) * inv_norm[ids[0]] + M.row(ids[2]) * inv_norm[ids[2]];
      }
      S.noalias() = Q * M.transpose();
      S.array().rowwise() *= inv_norm.transpose().array();
      for (std::size_t j = 0; j < nb; ++j) {
        const auto& ids = todo[b0 + j].ids;
        std::int32_t best = -1;
        float best_score = -std::numeric_limits<float>::infinity();
        for (std::size_t x = 0; x < K; ++x) {
          const auto xi = static_cast<std::int32_t>(x);
          if (xi == ids[0] || xi == ids[1] || xi == ids[2]) continue;
          const float s = S(static_cast<Eigen::Index>(j), static_cast<Eigen::Index>(x));
          if (s > best_score) {
            best_score = s;
            best = xi;
          }
        }
        correct[b0 + j] = best == ids[3];
      }
    }
  };
  const int threads = std::max(1, std::min<int>(options.threads, static_cast<int>(todo.size() / kBatch) + 1));
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (std::size_t j = 0; j < todo.size(); ++j)
    if (correct[j]) ++score.sections[set.questions[todo[j].question].section].correct;
  for (const auto& s : score.sections) {
    score.total.questions += s.questions;
    score.total.answered += s.answered;
    score.total.correct += s.correct;
    score.total.oov += s.oov;
  }
  return score;
}

}  // namespace tp::word2vec

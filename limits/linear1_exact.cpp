// See linear1_exact.h.
#include "limits/linear1_exact.h"

#include <stdexcept>

namespace tp::limits {

std::vector<std::vector<Rational>> linear1_exact(const std::vector<std::vector<Rational>>& inputs,
                                                 const std::vector<Rational>& targets, const Rational& lr, int steps) {
  const std::size_t m = inputs.size();
  if (m == 0 || targets.size() != m) throw std::invalid_argument("linear1_exact: need as many targets as inputs (at least one)");
  const std::size_t d = inputs[0].size();
  for (const auto& x : inputs)
    if (x.size() != d) throw std::invalid_argument("linear1_exact: every input needs the same dimension");
  const std::size_t D = d + 1;
  using Mat = std::vector<std::vector<Rational>>;
  Mat S(D, std::vector<Rational>(D, Rational(0)));
  for (std::size_t k = 0; k < D; ++k) S[k][k] = 1;
  std::vector<std::vector<Rational>> f(steps + 1, std::vector<Rational>(m));
  for (int t = 0; t <= steps; ++t) {
    for (std::size_t i = 0; i < m; ++i) {
      Rational s = 0;
      for (std::size_t k = 0; k < d; ++k) s += S[k][d] * inputs[i][k];
      f[t][i] = s;
    }
    if (t == steps) break;
    std::vector<Rational> g(d, Rational(0));
    for (std::size_t i = 0; i < m; ++i) {
      const Rational chi = (f[t][i] - targets[i]) / Rational(static_cast<long long>(m));
      for (std::size_t k = 0; k < d; ++k) g[k] += chi * inputs[i][k];
    }
    Mat M(D, std::vector<Rational>(D, Rational(0)));
    for (std::size_t k = 0; k < D; ++k) M[k][k] = 1;
    for (std::size_t k = 0; k < d; ++k) {
      M[k][d] = -lr * g[k];
      M[d][k] = -lr * g[k];
    }
    Mat MS(D, std::vector<Rational>(D, Rational(0))), next(D, std::vector<Rational>(D, Rational(0)));
    for (std::size_t a = 0; a < D; ++a)
      for (std::size_t b = 0; b < D; ++b)
        for (std::size_t c = 0; c < D; ++c) MS[a][b] += M[a][c] * S[c][b];
    for (std::size_t a = 0; a < D; ++a)
      for (std::size_t b = 0; b < D; ++b)
        for (std::size_t c = 0; c < D; ++c) next[a][b] += MS[a][c] * M[b][c];
    S = std::move(next);
  }
  return f;
}

}  // namespace tp::limits

// See graph_parity.h.
#include "tp/graph_parity.h"

#include <algorithm>
#include <numeric>

namespace tp {

namespace {
// n/d normalized, in 64-bit parts when it fits, else as a Rational.
PartSize reduced(__int128 n, __int128 d) {
  if (d < 0) n = -n, d = -d;
  __int128 a = n < 0 ? -n : n, b = d;
  while (b != 0) {
    const __int128 r = a % b;
    a = b, b = r;
  }
  if (a > 1) n /= a, d /= a;
  constexpr __int128 lo = INT64_MIN, hi = INT64_MAX;
  if (n > lo && n <= hi && d <= hi) return {static_cast<std::int64_t>(n), static_cast<std::int64_t>(d), nullptr};
  PartSize out;
  // |n|, d < 2^127: exact through two 64-bit halves
  auto wide = [](__int128 v) {
    const bool neg = v < 0;
    const unsigned __int128 u = neg ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
    Rational r = Rational(static_cast<std::uint64_t>(u >> 64)) * Rational(boost::multiprecision::cpp_int(1) << 64) +
                 Rational(static_cast<std::uint64_t>(u));
    return neg ? Rational(-r) : r;
  };
  out.big = std::make_shared<const Rational>(wide(n) / wide(d));
  return out;
}
}  // namespace

PartSize PartSize::of(const Rational& r) {
  const auto n = boost::multiprecision::numerator(r), d = boost::multiprecision::denominator(r);
  constexpr std::int64_t hi = INT64_MAX;
  PartSize out;
  if (abs(n) < hi && d <= hi) {
    out.num = n.convert_to<std::int64_t>();
    out.den = d.convert_to<std::int64_t>();
  } else {
    out.big = std::make_shared<const Rational>(r);
  }
  return out;
}
Rational PartSize::rational() const { return big ? *big : Rational(num, den); }
PartSize operator+(const PartSize& a, const PartSize& b) {
  if (a.big || b.big) return PartSize::of(a.rational() + b.rational());
  if (a.den == b.den) return reduced(static_cast<__int128>(a.num) + b.num, a.den);
  return reduced(static_cast<__int128>(a.num) * b.den + static_cast<__int128>(b.num) * a.den,
                 static_cast<__int128>(a.den) * b.den);
}

namespace {

// Sorted by mask, one part per mask (the larger size), capped at kMaxParts (then one wild part).
ParityParts normalized(std::vector<ParityPart> ps) {
  std::sort(ps.begin(), ps.end(), [](const ParityPart& x, const ParityPart& y) { return x.mask < y.mask; });
  ParityParts out;
  for (const auto& p : ps) {
    if (!out.parts.empty() && out.parts.back().mask == p.mask) out.parts.back().size = std::max(out.parts.back().size, p.size);
    else out.parts.push_back(p);
  }
  const bool any = std::any_of(out.parts.begin(), out.parts.end(), [](const ParityPart& p) { return p.mask == ParityParts::kAny; });
  if (out.parts.size() > ParityParts::kMaxParts || (any && out.parts.size() > 1)) return ParityParts::wild(out.size());
  return out;
}

}  // namespace

ParityParts ParityParts::wild(const SizeExp& size) {
  ParityParts p;
  if (size) p.parts.push_back({kAny, PartSize::of(*size)});
  return p;
}
ParityParts ParityParts::even(const SizeExp& size) {
  ParityParts p;
  if (size) p.parts.push_back({0, PartSize::of(*size)});
  return p;
}
ParityParts ParityParts::odd(int tensor, const SizeExp& size) {
  if (tensor < 0 || tensor >= 63) return wild(size);
  ParityParts p;
  if (size) p.parts.push_back({std::uint64_t{1} << tensor, PartSize::of(*size)});
  return p;
}
SizeExp ParityParts::size() const {
  if (parts.empty()) return std::nullopt;
  PartSize s = parts[0].size;
  for (const auto& p : parts) s = std::max(s, p.size);
  return s.rational();
}

ParityParts parity_shift(const ParityParts& a, const SizeExp& by) {
  if (!by) return {};
  if (*by == 0) return a;
  const PartSize b = PartSize::of(*by);
  ParityParts out = a;
  for (auto& p : out.parts) p.size = p.size + b;
  return out;
}
ParityParts parity_join(const ParityParts& a, const ParityParts& b) {
  std::vector<ParityPart> ps = a.parts;
  ps.insert(ps.end(), b.parts.begin(), b.parts.end());
  return normalized(std::move(ps));
}
ParityParts parity_flip(const ParityParts& a, int tensor) {
  if (tensor < 0 || tensor >= 63) return ParityParts::wild(a.size());
  std::vector<ParityPart> ps = a.parts;
  for (auto& p : ps)
    if (p.mask != ParityParts::kAny) p.mask ^= std::uint64_t{1} << tensor;
  return normalized(std::move(ps));
}
ParityParts parity_product(const ParityParts& a, const ParityParts& b) {
  if (a.parts.empty() || b.parts.empty()) return {};
  // Parts grouped by size, so each pair of sizes is added once (exact rational sums are the cost here); the size
  // pairs are visited largest sum first, so the first time a mask appears it has its largest size.
  auto groups = [](const ParityParts& x) {
    std::vector<std::pair<PartSize, std::vector<std::uint64_t>>> g;
    for (const auto& p : x.parts) {
      auto it = std::find_if(g.begin(), g.end(), [&](const auto& e) { return e.first == p.size; });
      if (it == g.end()) g.push_back({p.size, {p.mask}});
      else it->second.push_back(p.mask);
    }
    return g;
  };
  const auto ga = groups(a), gb = groups(b);
  std::vector<std::pair<PartSize, std::pair<std::size_t, std::size_t>>> sums;
  for (std::size_t i = 0; i < ga.size(); ++i)
    for (std::size_t j = 0; j < gb.size(); ++j) sums.push_back({ga[i].first + gb[j].first, {i, j}});
  std::stable_sort(sums.begin(), sums.end(), [](const auto& x, const auto& y) { return x.first > y.first; });
  std::vector<ParityPart> ps;
  std::vector<std::uint64_t> seen;  // sorted masks already taken
  for (const auto& [size, ij] : sums) {
    for (const std::uint64_t x : ga[ij.first].second)
      for (const std::uint64_t y : gb[ij.second].second) {
        const std::uint64_t m = x == ParityParts::kAny || y == ParityParts::kAny ? ParityParts::kAny : x ^ y;
        if (m == ParityParts::kAny) return ParityParts::wild(sums.front().first.rational());
        const auto at = std::lower_bound(seen.begin(), seen.end(), m);
        if (at != seen.end() && *at == m) continue;
        if (seen.size() == ParityParts::kMaxParts) return ParityParts::wild(sums.front().first.rational());
        seen.insert(at, m);
        ps.push_back({m, size});
      }
  }
  return normalized(std::move(ps));
}
ParityParts parity_closure(const ParityParts& a, const SizeExp& size) {
  if (!size) return {};
  std::vector<std::uint64_t> group{0};
  for (const auto& p : a.parts) {
    if (p.mask == ParityParts::kAny) return ParityParts::wild(size);
    if (std::find(group.begin(), group.end(), p.mask) != group.end()) continue;
    if (2 * group.size() > ParityParts::kMaxParts) return ParityParts::wild(size);
    const std::size_t k = group.size();
    for (std::size_t i = 0; i < k; ++i) group.push_back(group[i] ^ p.mask);
  }
  std::vector<ParityPart> ps;
  const PartSize at = PartSize::of(*size);
  for (auto m : group) ps.push_back({m, at});
  return normalized(std::move(ps));
}
ParityParts parity_cap(const ParityParts& a, const SizeExp& size) {
  if (!size) return {};
  const PartSize cap = PartSize::of(*size);
  ParityParts out = a;
  for (auto& p : out.parts) p.size = std::min(p.size, cap);
  return out;
}
SizeExp parity_inner(const ParityParts& a, const ParityParts& b, const Rational& f) {
  // max over pairs of (x + y + f) when matched, (x + y + f − 1/2) otherwise = the larger of the best matched pair
  // + f and the best pair of all + f − 1/2 (a matched pair's CLT value is below its LLN value). Linear: both sorted.
  if (a.parts.empty() || b.parts.empty()) return std::nullopt;
  auto largest = [](const ParityParts& x) {
    PartSize s = x.parts[0].size;
    for (const auto& p : x.parts) s = std::max(s, p.size);
    return s;
  };
  const PartSize all = largest(a) + largest(b), F = PartSize::of(f);
  auto wild = [](const ParityParts& x) { return x.parts.size() == 1 && x.parts[0].mask == ParityParts::kAny; };
  if (wild(a) || wild(b)) return (all + F).rational();
  PartSize out = all + PartSize{-1, 2};
  std::size_t i = 0, j = 0;
  while (i < a.parts.size() && j < b.parts.size()) {
    if (a.parts[i].mask < b.parts[j].mask) ++i;
    else if (b.parts[j].mask < a.parts[i].mask) ++j;
    else {
      out = std::max(out, a.parts[i].size + b.parts[j].size);
      ++i, ++j;
    }
  }
  return (out + F).rational();
}

}  // namespace tp

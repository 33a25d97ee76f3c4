// See graph_parity.h.
#include "tp/graph_parity.h"

#include <algorithm>

namespace tp {
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
  if (size) p.parts.push_back({kAny, *size});
  return p;
}
ParityParts ParityParts::even(const SizeExp& size) {
  ParityParts p;
  if (size) p.parts.push_back({0, *size});
  return p;
}
ParityParts ParityParts::odd(int tensor, const SizeExp& size) {
  if (tensor < 0 || tensor >= 63) return wild(size);
  ParityParts p;
  if (size) p.parts.push_back({std::uint64_t{1} << tensor, *size});
  return p;
}
SizeExp ParityParts::size() const {
  SizeExp s;
  for (const auto& p : parts) s = size_max(s, p.size);
  return s;
}

ParityParts parity_shift(const ParityParts& a, const SizeExp& by) {
  if (!by) return {};
  ParityParts out = a;
  for (auto& p : out.parts) p.size += *by;
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
  std::vector<ParityPart> ps;
  for (const auto& x : a.parts)
    for (const auto& y : b.parts)
      ps.push_back({x.mask == ParityParts::kAny || y.mask == ParityParts::kAny ? ParityParts::kAny : x.mask ^ y.mask, x.size + y.size});
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
  for (auto m : group) ps.push_back({m, *size});
  return normalized(std::move(ps));
}
ParityParts parity_cap(const ParityParts& a, const SizeExp& size) {
  if (!size) return {};
  ParityParts out = a;
  for (auto& p : out.parts) p.size = std::min(p.size, *size);
  return out;
}
SizeExp parity_inner(const ParityParts& a, const ParityParts& b, const Rational& f) {
  // max over pairs of (x + y + f) when matched, (x + y + f − 1/2) otherwise = the larger of the best matched pair
  // + f and the best pair of all + f − 1/2 (a matched pair's CLT value is below its LLN value). Linear: both sorted.
  const SizeExp ma = a.size(), mb = b.size();
  if (!ma || !mb) return std::nullopt;
  SizeExp out = *ma + *mb + f - Rational(1, 2);
  auto wild = [](const ParityParts& x) { return x.parts.size() == 1 && x.parts[0].mask == ParityParts::kAny; };
  if (wild(a) || wild(b)) return *ma + *mb + f;
  std::size_t i = 0, j = 0;
  while (i < a.parts.size() && j < b.parts.size()) {
    if (a.parts[i].mask < b.parts[j].mask) ++i;
    else if (b.parts[j].mask < a.parts[i].mask) ++j;
    else {
      out = size_max(out, SizeExp(a.parts[i].size + b.parts[j].size + f));
      ++i, ++j;
    }
  }
  return out;
}

}  // namespace tp

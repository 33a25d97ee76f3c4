// See rational.h.
#include "tp/rational.h"

#include <cctype>

namespace tp {

namespace {

std::optional<boost::multiprecision::cpp_int> parse_integer(std::string_view s) {
  if (s.empty() || s.size() > 200) return std::nullopt;
  std::size_t i = 0;
  bool negative = false;
  if (s[0] == '+' || s[0] == '-') {
    negative = s[0] == '-';
    i = 1;
  }
  if (i == s.size()) return std::nullopt;
  boost::multiprecision::cpp_int v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return negative ? -v : v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<Rational> parse_rational(std::string_view text) {
  text = trim(text);
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto p = parse_integer(trim(text.substr(0, slash)));
    auto q = parse_integer(trim(text.substr(slash + 1)));
    if (!p || !q || *q == 0) return std::nullopt;
    if (*q < 0) {  // Boost's rational adaptor wants a positive denominator
      *p = -*p;
      *q = -*q;
    }
    return Rational(*p, *q);
  }
  if (auto dot = text.find('.'); dot != std::string_view::npos) {
    std::string digits(text.substr(0, dot));
    std::string frac(text.substr(dot + 1));
    if (frac.empty() || frac.size() > 100) return std::nullopt;
    for (char ch : frac)
      if (!std::isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    if (digits.empty() || digits == "-" || digits == "+") digits += "0";
    auto whole = parse_integer(digits + frac);
    if (!whole) return std::nullopt;
    boost::multiprecision::cpp_int den = 1;
    for (std::size_t k = 0; k < frac.size(); ++k) den *= 10;
    return Rational(*whole, den);
  }
  auto v = parse_integer(text);
  if (!v) return std::nullopt;
  return Rational(*v);
}

std::string to_string(const Rational& r) {
  const auto num = boost::multiprecision::numerator(r);
  const auto den = boost::multiprecision::denominator(r);
  if (den == 1) return num.str();
  return num.str() + "/" + den.str();
}

}  // namespace tp

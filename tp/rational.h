// Exact rationals for width exponents (Boost.Multiprecision cpp_rational): parsing "-1/2", "0.25", "3".
#pragma once

#include <boost/multiprecision/cpp_int.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace tp {

// Expression templates off: plain values work with std::min/max and braced initialisers.
using Rational = boost::multiprecision::number<boost::multiprecision::cpp_rational_backend, boost::multiprecision::et_off>;

/// Parses an integer, a fraction p/q or a finite decimal (converted exactly: 0.25 -> 1/4). nullopt if malformed.
std::optional<Rational> parse_rational(std::string_view text);
/// "1/2", "-3", "0".
std::string to_string(const Rational& r);

}  // namespace tp

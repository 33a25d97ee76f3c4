// The error of the maml application's data layer: a missing or malformed dataset (Omniglot layout, Lake et al.
// 2015) or a font directory the generator cannot use. The message names the offending file or directory and
// says how to fix it; the command line prints it and exits 1.
#pragma once

#include <stdexcept>
#include <string>

namespace tp::maml {

/// A user-facing data problem: message = "<file or dir>: <what is wrong>; <the fix>".
class DataError : public std::runtime_error {
 public:
  explicit DataError(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tp::maml

// Errors of the MAML application (TP4 §9.2, App. D.1) that are the user's to fix: a task specification
// the data cannot satisfy (fewer classes than ways, fewer drawers than shots + queries), hyperparameters
// out of range, a model file that is not one. The message names the culprit and the valid range.
#pragma once

#include <stdexcept>

namespace tp::maml {

/// A user error in a MAML configuration, data set or model file; what() names the offending item.
struct MamlError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

}  // namespace tp::maml

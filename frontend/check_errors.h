// The failures a finite-width check reports to the user instead of crashing: a run that diverges
// (NumericalError, naming node/step/width/seed), work over the memory budget (BudgetError) and an argument
// the check refuses (std::invalid_argument). Shared by `tpc coordcheck` on MLPs and on graph networks.
#pragma once

#include <stdexcept>
#include <string>

#include "tp/errors.h"

namespace tp::frontend {

/// Runs `work`; returns "" if it finished, else the message of the user-facing failure it threw.
template <class Work>
std::string check_failure(Work&& work) {
  try {
    work();
  } catch (const NumericalError& e) {
    return e.what();
  } catch (const BudgetError& e) {
    return e.what();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace tp::frontend

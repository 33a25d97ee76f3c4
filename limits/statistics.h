// Sample statistics shared by every evaluator: mean and standard error of the mean.
#pragma once

#include <span>

#include "limits/estimate.h"

namespace tp::limits {

/// Mean of xs with its standard error s/sqrt(k) (s the sample standard deviation). With fewer than two
/// samples the error is unknown and returned as NaN; printers show it as "n/a".
Estimate mean_with_error(std::span<const double> xs, Route route);

}  // namespace tp::limits

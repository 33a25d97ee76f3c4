// The memory this process holds now (its resident set), for budget checks that must count what is already
// allocated (an unrolled program and an engine's plan) beside the arrays an engine is about to allocate.
#pragma once

namespace tp::limits {

/// Resident set size of this process in bytes (Linux /proc/self/statm); 0 where it cannot be read.
double resident_bytes();

}  // namespace tp::limits

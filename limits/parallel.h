// Embarrassingly parallel loops over independent jobs (seeds, kernel entries, particles) on all cores.
#pragma once

#include <cstddef>
#include <functional>

namespace tp::limits {

/// Number of worker threads to use by default: std::thread::hardware_concurrency(), at least 1.
unsigned default_threads();

/// Calls job(i) for i in [0, count) on up to `threads` threads (0 = default_threads()). Jobs are taken
/// in order from a shared counter; the first exception thrown by a job is rethrown after all workers stop.
void parallel_for(std::size_t count, unsigned threads, const std::function<void(std::size_t)>& job);

}  // namespace tp::limits

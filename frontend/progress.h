// Progress on stderr for long runs (seeds of `run` and `compare`; Monte Carlo replicas, quadrature particle steps
// and kernel-GD runs of `limit`): one line
// rewritten in place, "tpc: <what> 3/8, 12 s so far, about 20 s left (4 s each)", with the estimate and the
// rate from the pace so far.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstddef>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

namespace tp::frontend {

/// A callback for FiniteOptions::progress, ZDotOptions::progress and NetworkLimitOptions::progress (and its
/// quadrature_progress and kernel_progress; the quadrature's total is a forecast, so its time left may change).
inline std::function<void(std::size_t, std::size_t)> progress_reporter(std::ostream& err, std::string what) {
  const auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [&err, what = std::move(what), start](std::size_t done, std::size_t total) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    err << "\rtpc: " << what << " " << done << "/" << total << ", " << std::lround(elapsed) << " s so far";
    if (done > 0 && done < total)
      err << ", about " << std::lround(elapsed / static_cast<double>(done) * static_cast<double>(total - done)) << " s left";
    if (done > 0) {  // the rate: seconds per item, or items per second when they are fast
      const double each = elapsed / static_cast<double>(done);
      char rate[48];
      if (each >= 1.0 || each <= 0.0) std::snprintf(rate, sizeof rate, " (%.3g s each)", each);
      else std::snprintf(rate, sizeof rate, 1.0 / each < 100 ? " (%.3g per s)" : " (%.0f per s)", 1.0 / each);
      err << rate;
    }
    err << (done == total ? "\n" : "   ") << std::flush;
  };
}

}  // namespace tp::frontend

// See memory_budget.h.
#include "limits/memory_budget.h"

#include <cmath>

#include "limits/resident_memory.h"
#include "tp/errors.h"
#include "tp/expr.h"

namespace tp::limits {

std::string memory_text(double bytes) {
  const double mib = 1024.0 * 1024.0, gib = 1024.0 * mib;
  if (bytes >= gib) return format_number(std::round(bytes / gib * 10) / 10) + " GiB";
  return format_number(std::max(1.0, std::round(bytes / mib))) + " MiB";
}

void check_memory_budget(const MemoryRequest& r, double budget_bytes, double held) {
  if (held < 0) held = resident_bytes();
  const double total = held + r.new_bytes;
  if (total <= budget_bytes) return;
  const std::string fix = held > budget_bytes
                              ? "this process alone already holds more than the budget (the program and data it loaded): raise " +
                                    r.flag
                              : r.fix;
  throw BudgetError(r.work + " needs about " + memory_text(total) + " (" + memory_text(held) +
                    " held already by this process, " + memory_text(r.new_bytes) + " for " + r.arrays +
                    "), over the memory budget of " + memory_text(budget_bytes) + "; " + fix);
}

}  // namespace tp::limits

// One budget check for every engine: the bytes a piece of work is about to allocate, plus what this process
// already holds (limits/resident_memory.h: the parsed program, an unrolled program, data sets, an engine's plan),
// against the user's --memory-budget. Before, each engine compared only its own arrays with the budget, so a
// run could pass the check and still exceed the budget by what was already resident (DESIGN.md "Memory").
#pragma once

#include <string>

namespace tp::limits {

/// What a budget check is about, for its message.
struct MemoryRequest {
  std::string work;       ///< the work, e.g. "width n = 4096"
  double new_bytes = 0;   ///< bytes the work will allocate
  std::string arrays;     ///< what those bytes are, e.g. "2 seeds at once, n×n matrices of doubles"
  std::string fix;        ///< how to fit, e.g. "use a smaller width, --threads 1, or raise --memory-budget"
  std::string flag = "--memory-budget";  ///< the flag that sets the budget
};

/// "1.5 GiB" at or above 1 GiB, "85 MiB" below it.
std::string memory_text(double bytes);

/// Throws tp::BudgetError when held + r.new_bytes > budget_bytes, where held = resident_bytes() unless given
/// (tests pass it). The message names the total, both parts and the budget; when the held part alone exceeds the
/// budget it says so and asks for a larger budget instead of r.fix.
void check_memory_budget(const MemoryRequest& r, double budget_bytes, double held = -1);

}  // namespace tp::limits

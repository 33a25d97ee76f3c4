// See resident_memory.h.
#include "limits/resident_memory.h"

#include <unistd.h>

#include <fstream>

namespace tp::limits {

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  double total_pages = 0, resident_pages = 0;
  if (!(statm >> total_pages >> resident_pages)) return 0;
  const long page = sysconf(_SC_PAGESIZE);
  return resident_pages * static_cast<double>(page > 0 ? page : 4096);
}

}  // namespace tp::limits

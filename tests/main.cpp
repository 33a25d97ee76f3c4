#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

// libcln (under GiNaC) allocates a small table at static initialisation and keeps it until exit;
// LeakSanitizer would report it in the sanitizer build of every test binary. Only that library is ignored.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcln.so\n"; }

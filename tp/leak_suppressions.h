// LeakSanitizer suppressions for every program built with TPC_SANITIZE (tpc, the test binaries, the fuzz
// targets): include this header in exactly one translation unit per executable, the one with main (or
// LLVMFuzzerTestOneInput). libcln (CLN, under GiNaC) allocates a small table at static initialisation and
// keeps it until exit; LeakSanitizer would report it and make a successful run exit 1. Only that library
// is ignored. Without a sanitizer the function is never called.
#pragma once

extern "C" const char* __lsan_default_suppressions() { return "leak:libcln.so\n"; }
// ... and without the "Suppressions used" table LeakSanitizer would print at the end of every run.
extern "C" const char* __lsan_default_options() { return "print_suppressions=0"; }

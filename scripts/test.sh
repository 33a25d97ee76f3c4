#!/usr/bin/env bash
# The whole test suite: Release build + tests, then a Debug build with AddressSanitizer and
# UndefinedBehaviorSanitizer + the same tests. Installs dependencies first if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
jobs="$(nproc)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")
# Debug build (assertions; -g1: line tables and function names, enough for symbolized sanitizer stack
# traces, and a third less compile time than -g) at -O1 so the statistical tests stay fast under the sanitizers.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1 -O1" -DTPC_SANITIZE=ON -DTPC_BENCH=OFF
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs")

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
# Debug build (assertions, debug info) at -O1 so the statistical tests stay fast under the sanitizers.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DTPC_SANITIZE=ON -DTPC_BENCH=OFF
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j"$jobs")

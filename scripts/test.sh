#!/usr/bin/env bash
# The whole test suite: install what is missing, build, run every test, then
# build again with AddressSanitizer and UndefinedBehaviorSanitizer and run
# every test again. Exits non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== build (RelWithDebInfo) =="
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== tests =="
(cd build && ctest --output-on-failure -j "$(nproc)")

echo "== build (ASan + UBSan) =="
bash scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DMMSIM_SANITIZE=ON -DMMSIM_BUILD_BENCH=OFF
echo "== tests under sanitizers =="
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j "$(nproc)")

#!/usr/bin/env bash
# The main job: install what is missing, build, and run the tour of the
# example scenarios (every file in examples/ and examples/seeds/, in order).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh build -DCMAKE_BUILD_TYPE=Release -DMMSIM_BUILD_TESTS=OFF -DMMSIM_BUILD_BENCH=OFF
status=0
for f in examples/*.mms examples/seeds/*.mms; do
  [ -e "$f" ] || continue
  printf '\n===== %s =====\n' "$f"
  ./build/mmsim run "$f" || status=1
done
exit $status

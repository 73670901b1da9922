#!/bin/sh
# The scale benchmark in one command (docs/PERFORMANCE.md):
#   sh tests/bench/run.sh [bench.py options, e.g. --sizes 100,1000 --reps 1]
# Installs what it needs (Debian packages), builds the plugin if needed
# (RelWithDebInfo in build/, or DCB_BUILD_DIR), then runs bench.py, which
# prints the table and writes every figure to $build/bench-results.json.
# Everything listens on 127.0.0.1. Takes about 10 minutes on 2 cores.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build="${DCB_BUILD_DIR:-$top/build}"
sh "$top/contrib/install-deps.sh"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi
cmake --build "$build" -j"$(nproc)" --target digicert_billing
export DCB_BUILD_DIR="$build"
exec python3 "$top/tests/bench/bench.py" --build "$build" \
  --json "${DCB_BENCH_JSON:-$build/bench-results.json}" "$@"

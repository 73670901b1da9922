#!/bin/sh
# Run every test: install dependencies, build with warnings as errors, run
# ctest; then the same suite again on an ASan+UBSan build.
# Usage: sh tests/run.sh   (as root or with sudo available)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="${DCB_BUILD_DIR:-$top/build}"
sh "$top/contrib/install-deps.sh"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -E"
jobs=$(nproc)

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCB_WERROR=ON
cmake --build "$build" -j"$jobs"
cmake -S "$top" -B "$build-asan" -DCMAKE_BUILD_TYPE=Debug -DDCB_WERROR=ON \
  -DDCB_SANITIZE=ON
cmake --build "$build-asan" -j"$jobs"

# collectd's NotificationExec and key-file checks need root, like the daemon.
echo "== ASan + UBSan build"
(cd "$build-asan" && $SUDO ctest --output-on-failure -E 'clang_format|simulator_selftest')
echo "== Release build (with valgrind memcheck)"
cd "$build" && $SUDO ctest --output-on-failure "$@"

#!/bin/sh
# Run every test: install dependencies, build with warnings as errors, ctest.
# Usage: tests/run.sh   (as root or with sudo available)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="${DCB_BUILD_DIR:-$top/build}"
sh "$top/contrib/install-deps.sh"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -E"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDCB_WERROR=ON
cmake --build "$build" -j"$(nproc)"
# collectd's NotificationExec and key-file checks need root, like the daemon.
cd "$build" && $SUDO ctest --output-on-failure -j1 "$@"

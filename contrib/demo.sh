#!/bin/sh
# Quick start 1: build the plugin and run it in collectd against the simulator.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build="${DCB_BUILD_DIR:-$top/build}"
sh "$top/contrib/install-deps.sh"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -E"
DCB_BUILD_DIR="$build" exec $SUDO python3 "$top/contrib/demo.py"

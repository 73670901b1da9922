#!/bin/sh
# Install what building and testing need on Debian 12 (as root or via sudo).
# Skips apt entirely when everything is already there.
set -eu
PKGS="build-essential cmake pkg-config collectd-core collectd-dev prometheus
libcurl4-openssl-dev libjson-c-dev libcmocka-dev python3 openssl curl
clang-format clang-tidy cppcheck valgrind libmicrohttpd12 libprotobuf-c1 procps
util-linux"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing

#!/bin/sh
# Tools the packaging tests need on Debian 12, on top of contrib/install-deps.sh
# (which provides the compiler, CMake, collectd-core/-dev and the libraries).
# Installs only what is missing, with --no-install-recommends; run as root.
set -eu
PKGS="debhelper dpkg-dev lintian rpm rpmlint cpio file groff man-db
python3 openssl collectd-core collectd-dev cmake pkgconf
libcurl4-openssl-dev libjson-c-dev libcmocka-dev"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "packaging test tools: all present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
  --no-install-recommends $missing

#!/bin/sh
# Build the Debian package collectd-digicert-billing from this checkout.
#
#   sh packaging/build-deb.sh [--with-source] [--out DIR] [dpkg-buildpackage args...]
#
# Copies the source tree (without .git and build directories) to a temporary
# directory, puts packaging/debian there as debian/ and runs
# "dpkg-buildpackage -us -uc -b" plus any extra arguments (for example
# -Pnocheck). --with-source also builds the native source package (.dsc)
# first. The results land in DIR (default: build-packages/deb).
# Build dependencies: sudo apt-get build-dep ./packaging
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build-packages/deb"
with_source=0
while [ $# -gt 0 ]; do
  case "$1" in
    --with-source) with_source=1; shift ;;
    --out) out=$2; shift 2 ;;
    *) break ;;
  esac
done

name=collectd-digicert-billing
version=$(sed -n 's/^project([^)]*VERSION \([0-9][0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
changelog_version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
if [ -z "$version" ] || [ "$version" != "$changelog_version" ]; then
  echo "build-deb: CMakeLists.txt project(VERSION) is '$version' but" \
       "packaging/debian/changelog has '$changelog_version'" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/$name-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
src="$work/$name-$version"
mkdir "$src"
tar -C "$top" --anchored --exclude=./.git --exclude='./build*' \
    --exclude='./obj-*' --exclude=./debian --exclude='__pycache__' -cf - . |
  tar -C "$src" -xf -
cp -R "$top/packaging/debian" "$src/debian"

cd "$src"
if [ "$with_source" = 1 ]; then
  dpkg-source -b .
fi
dpkg-buildpackage -us -uc -b "$@"

mkdir -p "$out"
for f in "$out"/*.deb "$out"/*.changes "$out"/*.buildinfo "$out"/*.dsc \
         "$out"/*.tar.*; do
  if [ -e "$f" ]; then rm -f "$f"; fi
done
for f in "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$work"/*.dsc \
         "$work"/*.tar.*; do
  if [ -e "$f" ]; then mv "$f" "$out"/; fi
done
echo "build-deb: packages in $out:"
ls -1 "$out"

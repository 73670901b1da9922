#!/bin/sh
# Build the RPM and source RPM of collectd-digicert-billing from this checkout.
#
#   sh packaging/build-rpm.sh [--out DIR] [rpmbuild args...]
#
# Makes Source0 (collectd-digicert-billing-VERSION.tar.gz) from the tree
# without .git and build directories, then runs "rpmbuild -ba" on
# packaging/rpm/collectd-digicert-billing.spec in a temporary _topdir. The
# packages land in DIR (default: build-packages/rpm).
#
# On Fedora/RHEL: dnf builddep packaging/rpm/collectd-digicert-billing.spec
# first. On hosts whose RPM database does not hold the build dependencies
# (Debian/Ubuntu with the "rpm" package) the script adds --nodeps: the
# dependencies are then Debian packages, see docs/packaging.md. Where the
# CMake RPM macros are missing it loads packaging/rpm/macros.cmake-fallback.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/build-packages/rpm"
if [ "${1:-}" = "--out" ]; then
  out=$2
  shift 2
fi

name=collectd-digicert-billing
spec="$top/packaging/rpm/$name.spec"
version=$(sed -n 's/^project([^)]*VERSION \([0-9][0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
spec_version=$(sed -n 's/^Version:[[:space:]]*//p' "$spec")
if [ -z "$version" ] || [ "$version" != "$spec_version" ]; then
  echo "build-rpm: CMakeLists.txt project(VERSION) is '$version' but the" \
       "spec's Version is '$spec_version'" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/$name-rpm.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/SOURCES" "$work/SPECS" "$work/BUILD" "$work/RPMS" "$work/SRPMS"
mkdir "$work/src"
tar -C "$top" --anchored --exclude=./.git --exclude='./build*' \
    --exclude='./obj-*' --exclude=./debian --exclude='__pycache__' -cf - . |
  tar -C "$work/src" -xf -
mv "$work/src" "$work/$name-$version"
tar -C "$work" --owner=0 --group=0 -czf "$work/SOURCES/$name-$version.tar.gz" \
    "$name-$version"
rm -rf "${work:?}/$name-$version"
cp "$spec" "$work/SPECS/"

set -- --define "_topdir $work" "$@"
if [ "$(rpm --eval '%{?cmake:yes}')" != "yes" ]; then
  set -- --load "$top/packaging/rpm/macros.cmake-fallback" "$@"
fi
if [ "${DCB_RPM_NODEPS:-auto}" = 1 ] ||
   { [ "${DCB_RPM_NODEPS:-auto}" = auto ] && ! rpm -q rpm >/dev/null 2>&1; }; then
  set -- --nodeps "$@"
fi
rpmbuild -ba "$@" "$work/SPECS/$name.spec"

mkdir -p "$out"
rm -f "$out"/*.rpm
find "$work/RPMS" "$work/SRPMS" -name '*.rpm' -exec mv {} "$out"/ \;
echo "build-rpm: packages in $out:"
ls -1 "$out"

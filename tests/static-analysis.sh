#!/bin/sh
# Static analysis of plugin/: gcc -fanalyzer, cppcheck and clang-tidy, each
# with no findings allowed. Suppressions are inline (NOLINT, with a reason)
# or in .clang-tidy (with a reason). Usage: static-analysis.sh <build-dir>
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$1
inc="-I$top/include -I$build/generated -I/usr/include/collectd -DHAVE_CONFIG_H"
fail=0

echo "== gcc -fanalyzer"
for f in "$top"/plugin/*.c; do
  gcc -std=gnu11 -fanalyzer -Werror -Wall -Wextra $inc \
    $(pkg-config --cflags libcurl json-c) -c "$f" -o /dev/null || fail=1
done

echo "== cppcheck"
cppcheck --enable=warning,style,performance,portability --inline-suppr \
  --error-exitcode=1 -q --std=c11 $inc --suppress=missingIncludeSystem \
  "$top/plugin" || fail=1

echo "== clang-tidy"
clang-tidy --quiet -p "$build" "$top"/plugin/*.c >"$build/clang-tidy.log" 2>&1 ||
  { cat "$build/clang-tidy.log"; fail=1; }

[ $fail -eq 0 ] && echo "static analysis: no findings"
exit $fail

#!/usr/bin/env python3
"""One version source: CMake's project(VERSION) must be the version of the
Debian changelog, of the RPM spec (Version and the newest %changelog entry)
and of the plugin's User-Agent in the generated dcb_version.h.

usage: check_versions.py SOURCE_DIR GENERATED_DCB_VERSION_H CMAKE_PROJECT_NAME CMAKE_PROJECT_VERSION
"""
import os
import re
import sys


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def main():
    src, version_h, cmake_name, cmake_version = sys.argv[1:5]
    failures = []

    def expect(what, got, want):
        status = "ok  " if got == want else "FAIL"
        print("%s %-40s %r (want %r)" % (status, what, got, want))
        if got != want:
            failures.append(what)

    # The literal in CMakeLists.txt is what every other file must follow.
    m = re.search(r"^project\(\s*(\S+)\s+VERSION\s+([0-9][0-9.]*)",
                  read(os.path.join(src, "CMakeLists.txt")), re.M)
    if not m:
        print("FAIL no project(NAME VERSION x.y.z) in CMakeLists.txt")
        return 1
    expect("CMakeLists.txt project() name", m.group(1), cmake_name)
    expect("CMakeLists.txt project(VERSION)", m.group(2), cmake_version)

    # Debian: native package, so the version has no Debian revision.
    changelog = read(os.path.join(src, "packaging", "debian", "changelog"))
    m = re.match(r"(\S+) \(([^)]+)\) \S+; urgency=\S+\n", changelog)
    if not m:
        print("FAIL cannot parse the first line of debian/changelog")
        return 1
    expect("debian/changelog source name", m.group(1), cmake_name)
    expect("debian/changelog version", m.group(2), cmake_version)
    control = read(os.path.join(src, "packaging", "debian", "control"))
    expect("debian/control Source",
           re.search(r"^Source: (\S+)", control, re.M).group(1), cmake_name)
    expect("debian/control Package",
           re.search(r"^Package: (\S+)", control, re.M).group(1), cmake_name)

    spec = read(os.path.join(src, "packaging", "rpm", cmake_name + ".spec"))
    field = lambda name: re.search(r"^%s:\s*(\S+)" % name, spec, re.M).group(1)
    expect("spec Name", field("Name"), cmake_name)
    expect("spec Version", field("Version"), cmake_version)
    m = re.search(r"^%changelog\n\*[^\n]* - (\S+)-\d+\n", spec, re.M)
    expect("spec newest %changelog version", m.group(1) if m else None,
           cmake_version)

    # The plugin's User-Agent is generated from the same project(VERSION).
    text = read(version_h)
    m = re.search(r'#define DCB_USER_AGENT "([^"]*)"', text)
    expect("dcb_version.h DCB_USER_AGENT", m.group(1) if m else None,
           "collectd-digicert-billing/" + cmake_version)

    if failures:
        print("%d mismatch(es): %s" % (len(failures), ", ".join(failures)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

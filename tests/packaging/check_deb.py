#!/usr/bin/env python3
"""Checks on the built Debian packages (packaging_deb_* tests).

usage:
  check_deb.py lintian  DEB_DIR OVERRIDES_DIR
  check_deb.py contents DEB_DIR EXPECTED_LIST VERSION
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

PKG = "collectd-digicert-billing"
SO = "usr/lib/collectd/digicert_billing.so"
CONFFILE = "/etc/collectd/collectd.conf.d/digicert_billing.conf"

failures = []


def report(ok, what):
    print("%s %s" % ("ok  " if ok else "FAIL", what))
    if not ok:
        failures.append(what)
    return ok


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, **kw)
    return p.returncode, p.stdout, p.stderr


def one(pattern):
    found = glob.glob(pattern)
    if len(found) != 1:
        raise SystemExit("FAIL expected exactly one %s, found %s" % (pattern, found))
    return found[0]


def check_overrides_have_reasons(directory):
    """Every override line must follow a comment that explains it."""
    for path in sorted(glob.glob(os.path.join(directory, "*lintian-overrides"))):
        lines = open(path, encoding="utf-8").read().splitlines()
        for i, line in enumerate(lines):
            if line.strip() and not line.startswith("#"):
                report(i > 0 and lines[i - 1].startswith("#"),
                       "%s: override %r has a comment above it"
                       % (os.path.basename(path), line))


def lintian(deb_dir, overrides_dir):
    changes = one(os.path.join(deb_dir, "*_*.changes"))
    dsc = one(os.path.join(deb_dir, "*.dsc"))
    cmd = ["lintian", "--pedantic", "--display-info", "--display-experimental",
           "--show-overrides", "--tag-display-limit", "0", changes, dsc]
    print("$ " + " ".join(cmd))
    # lintian leaves mldbm-elf-* scratch files in $TMPDIR: give it its own.
    with tempfile.TemporaryDirectory(prefix="lintian-") as tmp:
        rc, out, err = run(cmd, env=dict(os.environ, TMPDIR=tmp))
    print(out + err)
    tags = [l for l in (out + err).splitlines() if re.match(r"^[A-Z]: ", l)]
    bad = [l for l in tags if l[0] in "EW"]
    report(not bad, "lintian: no errors and no warnings (%d other tags, %d "
           "overridden)" % (len([t for t in tags if t[0] in "IPX"]),
                            len([t for t in tags if t[0] == "O"])))
    report(rc == 0, "lintian exit status %d" % rc)
    check_overrides_have_reasons(overrides_dir)


def listing(deb):
    """[(mode, owner, path)] from dpkg-deb -c."""
    rc, out, err = run(["dpkg-deb", "-c", deb])
    if rc != 0:
        raise SystemExit("FAIL dpkg-deb -c %s: %s" % (deb, err))
    rows = []
    for line in out.splitlines():
        f = line.split(None, 5)
        rows.append((f[0], f[1], f[5].split(" -> ")[0]))
    return rows


def contents(deb_dir, expected_path, version):
    deb = one(os.path.join(deb_dir, "%s_*.deb" % PKG))
    print("package: " + deb)
    got = ["%s %s %s" % row for row in listing(deb)]
    want = [l for l in open(expected_path, encoding="utf-8").read().splitlines()
            if l and not l.startswith("#")]
    if not report(got == want, "dpkg -c: exactly the expected files, modes "
                  "and owners"):
        print("  missing or different: %s" % sorted(set(want) - set(got)))
        print("  unexpected:           %s" % sorted(set(got) - set(want)))

    field = lambda name: run(["dpkg-deb", "-f", deb, name])[1].strip()
    report(field("Version") == version, "Version %s is the CMake project "
           "version %s" % (field("Version"), version))
    depends = [d.strip() for d in field("Depends").split(",")]
    print("  Depends: " + ", ".join(depends))
    for needed in ("collectd-core (>= 5.12)", "collectd-core (<< 6~)"):
        report(needed in depends, "Depends has %s" % needed)
    for lib in ("libc6", "libcurl4", "libjson-c5"):
        report(any(d.startswith(lib + " ") for d in depends),
               "Depends has %s from shlibs" % lib)

    with tempfile.TemporaryDirectory() as tmp:
        run(["dpkg-deb", "-R", deb, tmp])
        conffiles = open(os.path.join(tmp, "DEBIAN", "conffiles")).read().split()
        report(conffiles == [CONFFILE], "conffiles are %s" % conffiles)
        snippet = open(os.path.join(tmp, CONFFILE.lstrip("/"))).read()
        active = [l for l in snippet.splitlines() if l.strip() and not l.startswith("#")]
        report(not active, "the snippet ships fully commented out")
        report("LoadPlugin digicert_billing" in snippet and "<Plugin digicert_billing>"
               in snippet, "the snippet holds a LoadPlugin and a <Plugin> block to enable")

        so = os.path.join(tmp, SO)
        _, dyn, _ = run(["readelf", "-dW", so])
        _, seg, _ = run(["readelf", "-lW", so])
        _, dsyms, _ = run(["nm", "-D", so])
        report("BIND_NOW" in dyn or re.search(r"FLAGS_1.*NOW", dyn),
               "hardening: bindnow")
        report("GNU_RELRO" in seg, "hardening: relro")
        stack = [l for l in seg.splitlines() if "GNU_STACK" in l]
        report(stack and "RWE" not in stack[0], "hardening: non-executable stack")
        report(re.search(r" U __\w+_chk@", dsyms) is not None,
               "hardening: fortified libc functions are used")
        report("__stack_chk_fail" in dsyms, "hardening: stack protector")
        defined = [l.split()[-1] for l in dsyms.splitlines()
                   if re.match(r"^[0-9a-f]+ [A-TV-Z] ", l)]
        report(defined == ["module_register"], "the .so exports only "
               "module_register (%s)" % defined)
        with open(so, "rb") as f:
            blob = f.read()
        ua = ("collectd-digicert-billing/%s" % version).encode()
        report(ua in blob, "User-Agent %s is compiled in" % ua.decode())


def main():
    mode = sys.argv[1]
    if mode == "lintian":
        lintian(*sys.argv[2:4])
    elif mode == "contents":
        contents(*sys.argv[2:5])
    else:
        raise SystemExit("unknown mode " + mode)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

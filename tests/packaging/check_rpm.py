#!/usr/bin/env python3
"""Checks on the built RPMs (packaging_rpm_* tests).

usage:
  check_rpm.py lint     RPM_DIR SPEC RPMLINTRC
  check_rpm.py contents RPM_DIR EXPECTED_LIST VERSION
  check_rpm.py load     RPM_DIR
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

PKG = "collectd-digicert-billing"
SNIPPET = "/etc/collectd.d/digicert_billing.conf"
SO = "/usr/lib64/collectd/digicert_billing.so"
failures = []


def report(ok, what):
    print("%s %s" % ("ok  " if ok else "FAIL", what), flush=True)
    if not ok:
        failures.append(what)
    return ok


def run(cmd, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, **kw)
    return p.returncode, p.stdout, p.stderr


def binary_rpm(rpm_dir):
    found = [f for f in glob.glob(os.path.join(rpm_dir, PKG + "-*.rpm"))
             if not f.endswith(".src.rpm")]
    if len(found) != 1:
        raise SystemExit("FAIL expected one binary %s RPM in %s, found %s"
                         % (PKG, rpm_dir, found))
    return found[0]


def lint(rpm_dir, spec, rpmlintrc):
    rpms = sorted(glob.glob(os.path.join(rpm_dir, "*.rpm")))
    report(any(r.endswith(".src.rpm") for r in rpms) and len(rpms) >= 2,
           "a source and a binary RPM were built: %s" % [os.path.basename(r) for r in rpms])
    cmd = ["rpmlint", "-r", rpmlintrc] + rpms + [spec]
    print("$ " + " ".join(cmd))
    rc, out, err = run(cmd)
    print(out + err)
    errors = [l for l in out.splitlines() if re.search(r": E: ", l)]
    m = re.search(r"(\d+) errors?, (\d+) warnings?", out)
    report(m is not None and m.group(1) == "0" and not errors,
           "rpmlint: no errors (%s)" % (m.group(0) if m else "no summary"))
    report(rc == 0, "rpmlint exit status %d" % rc)
    # Every filter is explained by a comment right above it (or above the
    # group of filters it belongs to).
    lines = open(rpmlintrc).read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("addFilter"):
            j = i - 1
            while j >= 0 and lines[j].startswith("addFilter"):
                j -= 1
            report(j >= 0 and lines[j].startswith("#"),
                   "rpmlintrc: %s has a reason above it" % line)


def contents(rpm_dir, expected_path, version):
    rpm = binary_rpm(rpm_dir)
    print("package: " + rpm)
    rc, out, err = run(["rpm", "-qlpv", rpm])
    got = []
    for line in out.splitlines():
        f = line.split()
        got.append((f[0], f[2], f[3], f[-1]))
    want = [l.split() for l in open(expected_path).read().splitlines()
            if l.strip() and not l.startswith("#")]
    ok = len(got) == len(want) and all(
        all(re.fullmatch(w, g) for w, g in zip(pattern, row))
        for pattern, row in zip(want, got))
    if not report(ok, "rpm -qlp: exactly the expected paths, modes and owners"):
        print("  got:\n    " + "\n    ".join(" ".join(r) for r in got))

    qf = lambda fmt: run(["rpm", "-qp", "--qf", fmt, rpm])[1]
    report(qf("%{VERSION}") == version, "Version %s is the CMake project version %s"
           % (qf("%{VERSION}"), version))
    requires = run(["rpm", "-qp", "--requires", rpm])[1].splitlines()
    for needed in (r"collectd(\(x86-64\))? >= 5\.12", r"collectd(\(x86-64\))? < 6~?"):
        report(any(re.fullmatch(needed, r) for r in requires),
               "Requires matches %s" % needed)
    provides = run(["rpm", "-qp", "--provides", rpm])[1].splitlines()
    print("  Provides: " + ", ".join(provides))
    report(not any(".so" in p for p in provides), "the plugin .so is not in Provides")
    flags = dict(l.rsplit(" ", 1) for l in
                 qf("[%{FILENAMES} %{FILEFLAGS:fflags}\\n]").splitlines() if " " in l)
    report(set(flags.get(SNIPPET, "")) >= {"c", "n"},
           "%s is %%config(noreplace) (flags %r)" % (SNIPPET, flags.get(SNIPPET)))
    configs = run(["rpm", "-qpc", rpm])[1].split()
    report(configs == [SNIPPET], "config files: %s" % configs)

    with tempfile.TemporaryDirectory() as tmp:
        root = extract(rpm, tmp)
        snippet = open(root + SNIPPET).read()
        active = [l for l in snippet.splitlines() if l.strip() and not l.startswith("#")]
        report(not active, "the snippet ships fully commented out")
        report("-C /etc/collectd.conf" in snippet, "the snippet names RHEL's "
               "/etc/collectd.conf in its instructions")
        _, syms, _ = run(["nm", "-D", "--defined-only", root + SO])
        defined = [l.split()[-1] for l in syms.splitlines()]
        report(defined == ["module_register"], "the .so exports only module_register")
        with open(root + SO, "rb") as f:
            ua = ("collectd-digicert-billing/%s" % version).encode()
            report(ua in f.read(), "User-Agent %s is compiled in" % ua.decode())


def extract(rpm, into):
    rpm2cpio = subprocess.Popen(["rpm2cpio", rpm], stdout=subprocess.PIPE)
    cpio = subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
                          stdin=rpm2cpio.stdout, cwd=into)
    rpm2cpio.stdout.close()
    if rpm2cpio.wait() != 0 or cpio.returncode != 0:
        raise SystemExit("FAIL cannot extract " + rpm)
    return into


def load(rpm_dir):
    """The RPM's .so, extracted, in Debian's collectd -T against the simulator."""
    rpm = binary_rpm(rpm_dir)
    tmp = tempfile.mkdtemp(prefix="dcb-rpm-")
    os.chmod(tmp, 0o755)
    try:
        extract(rpm, tmp)
        plugindir = os.path.join(tmp, "usr", "lib64", "collectd")
        os.environ["DCB_BUILD_DIR"] = plugindir
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path.insert(0, os.path.join(here, "..", "integration"))
        import harness
        report(harness.BUILD == plugindir, "collectd loads plugins from %s" % plugindir)
        pk, ck = harness.new_key("PK"), harness.new_key("CC")
        sim = harness.Sim({"partner_keys": {pk: {"label": "good", "account_id": 1}},
                           "certcentral_keys": {ck: {"label": "billing", "account_id": 7}}})
        kdir = harness.make_tmpdir("keys-")
        try:
            harness.write_key(kdir + "/p.key", pk)
            harness.write_key(kdir + "/c.key", ck)
            block = ('URL "%s%s"\nCertCentralURL "%s%s"\nCACert "%s"\nTimeout 5000\n'
                     '<Account "rpm">\n  PartnerAPIKeyFile "%s/p.key"\n'
                     '  CertCentralAPIKeyFile "%s/c.key"\n  ExpectedBillingAccountID 7\n'
                     '</Account>\n' % (sim.base, harness.PLUGIN_PATH, sim.base,
                                       harness.CC_PATH, sim.ca, kdir, kdir))
            d = harness.Daemon(block)
            rc, out = d.run_T()
            print(out)
            report(rc == 0, "collectd -T with the RPM's plugin exits 0")
            rows = [harness.read_text(os.path.join(r, f)) for r, _, fs in os.walk(d.csv_dir)
                    for f in fs if f.startswith("bool-linked")]
            report(any(",1.000000" in r for r in rows), "the account is linked (bool-linked 1)")
            report(any(r.get("method") == "PUT" and r.get("partner") == "good"
                       for r in sim.requests()), "the simulator saw the link request")
            d.cleanup()
        finally:
            sim.stop()
            sim.cleanup()
            shutil.rmtree(kdir, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    {"lint": lint, "contents": contents, "load": load}[mode](*args)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

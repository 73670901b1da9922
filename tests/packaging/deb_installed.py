#!/usr/bin/env python3
"""The .deb installed with apt next to Debian's collectd, run as the service
would run it, and purged again (packaging_deb_install/_service_run/
_autopkgtest/_purge). Needs root; changes the system and puts it back.

usage: deb_installed.py install     DEB_DIR STATE_DIR
       deb_installed.py service     STATE_DIR
       deb_installed.py autopkgtest STATE_DIR [TEST...]
       deb_installed.py purge       STATE_DIR

install     apt-get install --no-install-recommends collectd ./the.deb;
            records which packages were new, so purge can remove exactly
            those, and keeps services from being started meanwhile (a
            temporary policy-rc.d when the system has none).
service     enables the shipped snippet (uncommented, pointed at the API
            simulator on 127.0.0.1 with its CA), keys in /etc/collectd/digicert,
            then runs ExecStartPre and ExecStart of Debian's collectd.service
            as root with a NOTIFY_SOCKET, like systemd (Type=notify). Expects
            bool-linked 1 for a good account and a FAILURE notification for
            one whose Partner key the API rejects. Then puts the snippet back
            and removes what the run created (keys, rrd files).
autopkgtest runs packaging/debian/tests (all, or the TESTs named) the way
            autopkgtest does: from the top of the source tree, against the
            installed package, honouring Depends and Restrictions.
purge       apt-get purge of the package (and of the packages install added),
            then checks that no file of the package is left.
"""
import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402  (Sim, wait_for, keys, notification parsing)

PKG = "collectd-digicert-billing"
SO = "/usr/lib/collectd/digicert_billing.so"
KEYDIR = "/etc/collectd/digicert"
CONFD = "/etc/collectd/collectd.conf.d"
SNIPPET = CONFD + "/digicert_billing.conf"
OBSERVER = CONFD + "/zz-dcb-pkgtest.conf"  # test-only outputs
KEY_PREFIX = "pkgtest-"
POLICY_RC = "/usr/sbin/policy-rc.d"
POLICY_MARK = "# written by collectd-digicert-billing tests/packaging"
SERVICE_FILES = ("/lib/systemd/system/collectd.service",
                 "/usr/lib/systemd/system/collectd.service")
VARLIB = "/var/lib/collectd"
APT_ENV = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

failures = []


def report(ok, what):
    print("%s %s" % ("ok  " if ok else "FAIL", what), flush=True)
    if not ok:
        failures.append(what)
    return ok


def sh(cmd, check=True, **kw):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, **kw)
    if p.stdout.strip():
        print(p.stdout.rstrip())
    if check and p.returncode != 0:
        raise SystemExit("FAIL %s exited %d" % (cmd[0], p.returncode))
    return p


def installed_packages():
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\n"],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    return sorted(l.split()[0] for l in out.splitlines()
                  if len(l.split()) > 1 and l.split()[1].startswith("i"))


def pkg_state(name):
    p = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", name],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       universal_newlines=True)
    return p.stdout.strip() if p.returncode == 0 else ""


def state_path(state_dir):
    return os.path.join(state_dir, "deb-installed.json")


def load_state(state_dir):
    try:
        with open(state_path(state_dir)) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_state(state_dir, state):
    os.makedirs(state_dir, exist_ok=True)
    with open(state_path(state_dir), "w") as f:
        json.dump(state, f, indent=1)


def running_collectd_service():
    """PID of a collectd started from the default configuration, if any."""
    for pidfile in ("/run/collectd.pid", "/var/run/collectd.pid"):
        try:
            pid = int(open(pidfile).read().strip())
            comm = open("/proc/%d/comm" % pid).read().strip()
        except (OSError, ValueError):
            continue
        if comm.startswith("collectd"):
            return pid
    return None


def remove_test_leftovers(why="leftover"):
    """The service run's keys and output snippet (also after an interrupted
    run)."""
    for path in [OBSERVER] + [os.path.join(KEYDIR, n) for n in
                              (os.listdir(KEYDIR) if os.path.isdir(KEYDIR) else [])
                              if n.startswith(KEY_PREFIX)]:
        if os.path.lexists(path):
            print("removing %s %s" % (why, path))
            os.remove(path)


# ---------------------------------------------------------------- install
def install(deb_dir, state_dir):
    debs = [f for f in os.listdir(deb_dir)
            if re.match(r"%s_[^_]+_[a-z0-9]+\.deb$" % PKG, f)]
    if len(debs) != 1:
        raise SystemExit("FAIL expected one %s_*.deb in %s, found %s" % (PKG, deb_dir, debs))
    deb = os.path.join(os.path.abspath(deb_dir), debs[0])
    pid = running_collectd_service()
    if pid:
        raise SystemExit("FAIL a collectd service is running (pid %d); stop it "
                         "first, this test runs its own" % pid)
    old = load_state(state_dir)
    if pkg_state(PKG):
        print("note: %s is present (%s), purging it first" % (PKG, pkg_state(PKG)))
        remove_test_leftovers()
        sh(["apt-get", "purge", "-y", "-q", "-o", "Dpkg::Use-Pty=0", PKG], env=APT_ENV)

    state = {"deb": deb, "packages_before": old.get("packages_before") or installed_packages(),
             "policy_rc_created": old.get("policy_rc_created", False)}
    if not os.path.exists(POLICY_RC):
        # Installing "collectd" would otherwise start the system's daemon.
        with open(POLICY_RC, "w") as f:
            f.write("#!/bin/sh\n%s: start no services while testing\nexit 101\n"
                    % POLICY_MARK)
        os.chmod(POLICY_RC, 0o755)
        state["policy_rc_created"] = True
    save_state(state_dir, state)

    if "Candidate: (none)" in sh(["apt-cache", "policy", "collectd"]).stdout:
        sh(["apt-get", "update", "-q"])
    sh(["apt-get", "install", "-y", "-q", "-o", "Dpkg::Use-Pty=0", "--no-install-recommends", "collectd", deb],
       env=APT_ENV)
    state["added_packages"] = sorted(set(installed_packages()) - set(state["packages_before"]))
    state["files"] = subprocess.run(["dpkg", "-L", PKG], stdout=subprocess.PIPE,
                                    universal_newlines=True).stdout.split("\n")
    state["files"] = [f for f in state["files"] if f and f != "/."]
    save_state(state_dir, state)
    print("packages added: " + " ".join(state["added_packages"]))

    report(pkg_state(PKG) == "ii", "%s is installed (%s)" % (PKG, pkg_state(PKG)))
    report(pkg_state("collectd") == "ii", "Debian's collectd is installed")
    st = os.stat(SO)
    report(stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o644,
           "%s is a regular file, mode 0644" % SO)
    st = os.stat(KEYDIR)
    report(stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
           and st.st_uid == 0, "%s is a root-owned directory, mode 0700" % KEYDIR)
    conffiles = subprocess.run(["dpkg-query", "-W", "-f", "${Conffiles}", PKG],
                               stdout=subprocess.PIPE, universal_newlines=True).stdout
    report(SNIPPET in conffiles, "%s is a registered conffile" % SNIPPET)
    # With the snippet still disabled the stock configuration is valid.
    p = sh(["/usr/sbin/collectd", "-t"], check=False)
    report(p.returncode == 0, "collectd -t accepts the stock configuration "
           "with the package installed")


# ---------------------------------------------------------------- service
def enable_snippet(original, sim, accounts):
    """What an operator does: uncomment the block, then point it at the API
    (here the simulator) and list the real accounts."""
    lines = original.splitlines()
    start = lines.index("#LoadPlugin digicert_billing")
    end = lines.index("#</Plugin>")
    for i in range(start, end + 1):
        lines[i] = lines[i][1:]
    text = "\n".join(lines) + "\n"
    text = re.sub(r"\n  <Account .*?</Account>\n", "\n" + accounts, text, flags=re.S)
    text = text.replace("<Plugin digicert_billing>\n",
                        '<Plugin digicert_billing>\n  URL "%s%s"\n  CertCentralURL "%s%s"\n'
                        '  CACert "%s"\n' % (sim.base, harness.PLUGIN_PATH, sim.base,
                                             harness.CC_PATH, sim.ca), 1)
    return text


class Observer:
    """unixsock and NotificationExec outputs of the service's collectd,
    read with the integration harness' helpers."""
    text = staticmethod(harness.read_text)
    command = harness.Daemon.command
    listval = harness.Daemon.listval
    notifications = harness.Daemon.notifications
    notifications_for = harness.Daemon.notifications_for
    wait_notification = harness.Daemon.wait_notification

    def __init__(self, directory):
        self.dir = directory
        self.sock = os.path.join(directory, "sock")
        self.log_path = os.path.join(directory, "collectd.log")
        self.notif_dir = os.path.join(directory, "notifications")
        os.mkdir(self.notif_dir)
        os.chmod(self.notif_dir, 0o1777)
        self.script = os.path.join(directory, "notify.sh")
        with open(self.script, "w") as f:
            f.write(harness.NOTIFY_SCRIPT % {"dir": self.notif_dir})
        os.chmod(self.script, 0o755)

    def config(self):
        return """# collectd-digicert-billing tests/packaging: outputs to observe the run.
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File "%s"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "%s"
  DeleteSocket true
</Plugin>
LoadPlugin exec
<Plugin exec>
  NotificationExec "nobody" "%s"
</Plugin>
""" % (self.log_path, self.sock, self.script)

    def value(self, account, tti):
        for ident in self.listval():
            if ident.endswith("/digicert_billing-%s/%s" % (account, tti)):
                n, _, lines = self.command('GETVAL "%s"' % ident)
                if n >= 1:
                    return float(lines[0].split("=", 1)[1])
        return None


def service_command():
    """ExecStartPre/ExecStart and EnvironmentFile of Debian's unit."""
    for path in SERVICE_FILES:
        if os.path.exists(path):
            unit = open(path).read()
            break
    else:
        raise SystemExit("FAIL no collectd.service in " + " or ".join(SERVICE_FILES))
    get = lambda key: re.search(r"^%s=(.*)$" % key, unit, re.M).group(1).split()
    env_file = get("EnvironmentFile")[0].lstrip("-")
    env = {}
    if os.path.exists(env_file):
        for line in open(env_file):
            m = re.match(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
            if m:
                env[m.group(1)] = m.group(2).strip().strip('"')
    print("unit %s: ExecStartPre=%s ExecStart=%s" % (path, " ".join(get("ExecStartPre")),
                                                      " ".join(get("ExecStart"))))
    return get("ExecStartPre"), get("ExecStart"), env


def snapshot(top):
    paths = set()
    for root, dirs, files in os.walk(top):
        for n in dirs + files:
            paths.add(os.path.join(root, n))
    return paths


def service(state_dir):
    if pkg_state(PKG) != "ii":
        raise SystemExit("FAIL %s is not installed (run packaging_deb_install)" % PKG)
    remove_test_leftovers()
    original = open(SNIPPET).read()
    varlib_before = snapshot(VARLIB)
    pre, start, unit_env = service_command()

    good_p, good_c, bad_p = (harness.new_key("PK"), harness.new_key("CC"),
                             harness.new_key("PKBAD"))
    sim = harness.Sim({"partner_keys": {good_p: {"label": "good", "account_id": 11}},
                       "certcentral_keys": {good_c: {"label": "billing", "account_id": 4242}}})
    obs = Observer(harness.make_tmpdir("dcb-pkgtest-"))
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify_path = os.path.join(obs.dir, "notify")
    notify.bind(notify_path)
    proc = None
    keys = {}
    try:
        for name, key in (("good-partner", good_p), ("billing", good_c),
                          ("bad-partner", bad_p)):
            keys[name] = os.path.join(KEYDIR, KEY_PREFIX + name + ".key")
            harness.write_key(keys[name], key)
        accounts = "".join(
            '  <Account "%s">\n    PartnerAPIKeyFile "%s"\n    CertCentralAPIKeyFile "%s"\n'
            '%s  </Account>\n' % (name, keys[p], keys["billing"], extra)
            for name, p, extra in (("pkgtest-good", "good-partner",
                                    "    ExpectedBillingAccountID 4242\n"),
                                   ("pkgtest-bad", "bad-partner", "")))
        enabled = enable_snippet(original, sim, accounts)
        print("--- enabled %s\n%s---" % (SNIPPET, enabled))
        with open(SNIPPET, "w") as f:
            f.write(enabled)
        with open(OBSERVER, "w") as f:
            f.write(obs.config())

        env = dict(os.environ, **unit_env)
        p = sh(pre, check=False, env=env, timeout=120)
        report(p.returncode == 0, "ExecStartPre %s exits 0" % " ".join(pre))

        # systemd's Type=notify: collectd stays in the foreground and says
        # READY=1 on NOTIFY_SOCKET.
        env["NOTIFY_SOCKET"] = notify_path
        out = open(os.path.join(obs.dir, "stdout"), "wb")
        print("$ NOTIFY_SOCKET=%s %s" % (notify_path, " ".join(start)), flush=True)
        proc = subprocess.Popen(start, env=env, stdout=out, stderr=subprocess.STDOUT)
        notify.settimeout(60)
        try:
            msg = notify.recv(4096).decode(errors="replace")
        except socket.timeout:
            msg = ""
        report("READY=1" in msg, "collectd notified READY=1 (%r)" % msg.strip())
        report(proc.poll() is None, "collectd keeps running in the foreground")
        harness.wait_for(lambda: os.path.exists(obs.sock) or proc.poll() is not None,
                         30, what="unixsock")

        try:
            harness.wait_for(lambda: obs.value("pkgtest-good", "bool-linked") == 1.0,
                             60, what="pkgtest-good bool-linked 1")
            report(True, "good account: bool-linked 1")
        except AssertionError as e:
            report(False, "good account: bool-linked 1 (%s)" % e)
        try:
            n = obs.wait_notification("pkgtest-bad", "FAILURE", timeout=60)[0]
            report(n["meta"].get("error_class") == "auth" and n.get("Plugin") ==
                   "digicert_billing", "bad account: FAILURE notification, "
                   "error_class auth: %s" % n["message"])
        except AssertionError as e:
            report(False, "bad account: FAILURE notification (%s)" % e)
        report(obs.value("pkgtest-bad", "bool-linked") == 0.0, "bad account: bool-linked 0")
        report(not obs.notifications_for("pkgtest-good"),
               "no notification for the good account")
        links = [r for r in sim.requests() if r.get("method") == "PUT"]
        report(any(r.get("partner") == "good" for r in links),
               "the simulator received the good account's link request")
        version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", PKG],
                                 stdout=subprocess.PIPE, universal_newlines=True).stdout
        agents = sorted(set(r.get("user_agent") for r in sim.requests()))
        report(agents == ["collectd-digicert-billing/" + version],
               "User-Agent is the package version: %s" % agents)
        outputs = {"collectd.log": obs.text(obs.log_path),
                   "stdout": obs.text(os.path.join(obs.dir, "stdout"))}
        for name in os.listdir(obs.notif_dir):
            outputs["notification " + name] = obs.text(os.path.join(obs.notif_dir, name))
        leaked = [w for w, t in outputs.items() for k in (good_p, good_c, bad_p) if k in t]
        report(not leaked, "no key in the log or notifications %s" % leaked)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # what "systemctl stop" sends
            try:
                rc = proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            report(rc == 0, "collectd stops on SIGTERM with status 0 (%s)" % rc)
        if failures:
            print("--- collectd log\n" + harness.read_text(obs.log_path))
            print("--- collectd stdout\n" + harness.read_text(os.path.join(obs.dir, "stdout")))
        notify.close()
        sim.stop()
        sim.cleanup()
        with open(SNIPPET, "w") as f:
            f.write(original)
        remove_test_leftovers("test file")
        for path in sorted(snapshot(VARLIB) - varlib_before, reverse=True):
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.remove(path)
        shutil.rmtree(obs.dir, ignore_errors=True)
    report(open(SNIPPET).read() == original, "the snippet is back to its shipped content")


# ------------------------------------------------------------ autopkgtest
def autopkgtest(state_dir, *only):
    if pkg_state(PKG) != "ii":
        raise SystemExit("FAIL %s is not installed (run packaging_deb_install)" % PKG)
    tests_dir = os.path.join(ROOT, "packaging", "debian", "tests")
    stanzas = [s for s in re.split(r"\n\s*\n", re.sub(r"(?m)^#.*\n", "",
                                                    open(os.path.join(tests_dir, "control")).read()))
               if s.strip()]
    for stanza in stanzas:
        fields = {}
        for m in re.finditer(r"^([A-Za-z-]+):\s*(.*(?:\n[ \t].*)*)", stanza, re.M):
            fields[m.group(1).lower()] = " ".join(m.group(2).split())
        restrictions = fields.get("restrictions", "").replace(",", " ").split()
        for dep in [d.strip() for d in fields.get("depends", "").split(",") if d.strip()]:
            name = PKG if dep == "@" else dep.split()[0]
            report(pkg_state(name) == "ii", "test dependency %s is installed" % dep)
        for test in fields.get("tests", "").split():
            if only and test not in only:
                print("skipped autopkgtest %s (not in %s)" % (test, " ".join(only)))
                continue
            if "needs-root" in restrictions:
                report(os.geteuid() == 0, "%s: needs-root, running as root" % test)
            with tempfile.TemporaryDirectory(prefix="autopkgtest-") as tmp:
                env = dict(os.environ, AUTOPKGTEST_TMP=tmp)
                env.pop("DCB_BUILD_DIR", None)
                t0 = time.monotonic()
                p = subprocess.run([os.path.join(tests_dir, test)], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True, timeout=900)
                print(p.stdout + p.stderr)
                ok = p.returncode == 0 and ("allow-stderr" in restrictions or not p.stderr)
                report(ok, "autopkgtest %s: exit %d after %.0fs" %
                       (test, p.returncode, time.monotonic() - t0))


# ------------------------------------------------------------------ purge
def purge(state_dir):
    state = load_state(state_dir)
    files = state.get("files") or []
    if not files and pkg_state(PKG):
        files = [f for f in subprocess.run(["dpkg", "-L", PKG], stdout=subprocess.PIPE,
                                           universal_newlines=True).stdout.split("\n")
                 if f and f != "/."]
    remove_test_leftovers()
    if pkg_state(PKG):
        sh(["apt-get", "purge", "-y", "-q", "-o", "Dpkg::Use-Pty=0", PKG], env=APT_ENV)
    added = [p for p in state.get("added_packages", []) if p != PKG and pkg_state(p)]
    if added:
        print("removing what the install step added: " + " ".join(added))
        sh(["apt-get", "purge", "-y", "-q", "-o", "Dpkg::Use-Pty=0"] + added, env=APT_ENV)
    if state.get("policy_rc_created") and os.path.exists(POLICY_RC) and \
            POLICY_MARK in open(POLICY_RC).read():
        os.remove(POLICY_RC)

    report(pkg_state(PKG) == "", "%s is purged (dpkg knows nothing of it)" % PKG)
    report(bool(files), "the package's file list was recorded (%d paths)" % len(files))
    left = []
    for path in files:
        if not os.path.lexists(path):
            continue
        owners = subprocess.run(["dpkg-query", "-S", path], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, universal_newlines=True).stdout
        if os.path.isdir(path) and owners.strip():
            continue  # a shared directory, still used by another package
        left.append(path)
    report(not left, "no file of the package is left behind %s" % left)
    for path in (SO, SNIPPET, KEYDIR, "/usr/share/doc/" + PKG):
        report(not os.path.lexists(path), "%s is gone" % path)
    if not failures and os.path.exists(state_path(state_dir)):
        os.remove(state_path(state_dir))


def main():
    if os.geteuid() != 0:
        raise SystemExit("FAIL must run as root (apt-get, collectd as a service)")
    mode, args = sys.argv[1], sys.argv[2:]
    {"install": install, "service": service, "autopkgtest": autopkgtest,
     "purge": purge}[mode](*args)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

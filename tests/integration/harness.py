"""Run the built plugin inside Debian's real collectd against dcsim.

Everything listens on 127.0.0.1. Each Daemon/Sim owns a temp directory;
stop() cleans up processes. Outputs are collected so tests can assert on
them and grep them for keys.
"""
import json
import os
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DCSIM = os.path.join(ROOT, "contrib", "simulator", "dcsim.py")
BUILD = os.environ.get("DCB_BUILD_DIR", os.path.join(ROOT, "build"))
COLLECTD = os.environ.get("COLLECTD_BIN", "/usr/sbin/collectd")
PYTHON = os.environ.get("PYTHON", "python3")
PLUGIN_PATH = "/partner-subscription/api/v1"
CC_PATH = "/services/v2"


def new_key(prefix):
    """A fresh random key, so a grep for it can only match a real leak."""
    return "%s-%s" % (prefix, secrets.token_hex(12))


def daemon_env():
    """collectd's environment: with DCB_PRELOAD (sanitizer builds) the
    sanitizer runtime is preloaded, since collectd itself is not built
    with it."""
    env = dict(os.environ)
    preload = os.environ.get("DCB_PRELOAD")
    if preload:
        env["LD_PRELOAD"] = preload
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def wait_for(pred, timeout, step=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(step)


def read_text(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def make_tmpdir(prefix):
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)  # NotificationExec runs as nobody
    return d


def write_key(path, key, mode=0o600):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    os.chmod(path + ".tmp", mode)
    os.replace(path + ".tmp", path)


class Sim:
    """One dcsim process. accounts: dict in dcsim's accounts-file format."""

    def __init__(self, accounts=None, certdir=None, record_raw=False, extra=()):
        self.dir = make_tmpdir("dcsim-")
        self.certdir = certdir or os.path.join(self.dir, "certs")
        self.accounts_path = os.path.join(self.dir, "accounts.json")
        self.log_path = os.path.join(self.dir, "requests.jsonl")
        self.out_path = os.path.join(self.dir, "stdout")
        port_file = os.path.join(self.dir, "port")
        args = [PYTHON, DCSIM, "--certdir", self.certdir, "--port", "0",
                "--port-file", port_file, "--log", self.log_path]
        if record_raw:
            args.append("--record-raw")
        else:
            self.set_accounts(accounts or {})
            args += ["--accounts", self.accounts_path]
        args += list(extra)
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.out, stderr=subprocess.STDOUT)
        wait_for(lambda: os.path.exists(port_file) or self.proc.poll() is not None,
                 30, what="dcsim to listen")
        if self.proc.poll() is not None:
            raise RuntimeError("dcsim exited: " + read_text(self.out_path))
        self.port = int(read_text(port_file))
        self.ca = os.path.join(self.certdir, "ca.pem")
        self.base = "https://127.0.0.1:%d" % self.port

    def set_accounts(self, accounts):
        tmp = self.accounts_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(accounts, f)
        os.replace(tmp, self.accounts_path)

    def requests(self):
        if not os.path.exists(self.log_path):
            return []
        out = []
        with open(self.log_path) as f:
            for line in f:
                if line.strip():
                    out.append(json.loads(line))
        return out

    def outputs(self):
        return {"dcsim output": read_text(self.out_path),
                "dcsim log": read_text(self.log_path)}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


NOTIFY_SCRIPT = """#!/bin/sh
# One file per notification; written as a temp file then renamed.
f="%(dir)s/n.$$.$(date +%%s%%N)"
cat > "$f.tmp" && mv "$f.tmp" "$f"
"""


class Daemon:
    """collectd -f with logfile, unixsock, csv, NotificationExec and the plugin.

    plugin_block: text inside <Plugin digicert_billing>. extra: more global
    config (other plugins) placed before the plugin is loaded."""

    def __init__(self, plugin_block, interval=1, extra="", load_plugin=True,
                 read_threads=2, no_dns=False, wrapper=(), notify_exec=True):
        self.no_dns = no_dns
        self.wrapper = list(wrapper)  # e.g. valgrind and its options
        self.dir = make_tmpdir("collectd-")
        self.notif_dir = os.path.join(self.dir, "notifications")
        os.mkdir(self.notif_dir)
        os.chmod(self.notif_dir, 0o1777)
        self.script = os.path.join(self.dir, "notify.sh")
        with open(self.script, "w") as f:
            f.write(NOTIFY_SCRIPT % {"dir": self.notif_dir})
        os.chmod(self.script, 0o755)
        self.sock = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "collectd.log")
        self.csv_dir = os.path.join(self.dir, "csv")
        self.conf_path = os.path.join(self.dir, "collectd.conf")
        self.out_path = os.path.join(self.dir, "stdout")
        conf = """
Hostname "testhost"
FQDNLookup false
BaseDir "%(dir)s"
PIDFile "%(dir)s/collectd.pid"
Interval %(interval)s
ReadThreads %(threads)d
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File "%(log)s"
  Timestamp true
  PrintSeverity true
</Plugin>
LoadPlugin unixsock
<Plugin unixsock>
  SocketFile "%(sock)s"
  SocketGroup "root"
  DeleteSocket true
</Plugin>
LoadPlugin csv
<Plugin csv>
  DataDir "%(csv)s"
</Plugin>
%(exec)s
%(extra)s
""" % {"dir": self.dir, "interval": interval, "threads": read_threads,
       "log": self.log_path, "sock": self.sock, "csv": self.csv_dir,
       "extra": extra,
       "exec": ('LoadPlugin exec\n<Plugin exec>\n  NotificationExec "nobody" "%s"\n'
                '</Plugin>' % self.script) if notify_exec else ""}
        if load_plugin:
            conf += """
PluginDir "%(build)s"
LoadPlugin digicert_billing
<Plugin digicert_billing>
%(block)s
</Plugin>
""" % {"build": BUILD, "block": plugin_block}
        with open(self.conf_path, "w") as f:
            f.write(conf)
        self.proc = None

    def run_T(self, timeout=120):
        """collectd -T: one read, then exit. Returns (exit code, output)."""
        with open(self.out_path, "wb") as out:
            rc = subprocess.call([COLLECTD, "-T", "-C", self.conf_path],
                                 stdout=out, stderr=subprocess.STDOUT, timeout=timeout,
                                 env=daemon_env())
        self.check_sanitizers()
        return rc, self.text(self.out_path) + self.text(self.log_path)

    def check_sanitizers(self):
        """Under DCB_PRELOAD (ASan/UBSan builds) any report fails the test."""
        out = self.text(self.out_path)
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if marker in out:
                raise AssertionError("sanitizer report from collectd:\n" + out[-4000:])

    def start(self):
        self.out = open(self.out_path, "wb")
        self.started = time.monotonic()
        cmd = self.wrapper + [COLLECTD, "-f", "-C", self.conf_path]
        if self.no_dns:
            # A private mount namespace whose resolv.conf points at a closed
            # loopback port: every DNS lookup fails at once, nothing leaves
            # the machine.
            resolv = os.path.join(self.dir, "resolv.conf")
            with open(resolv, "w") as f:
                f.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
            cmd = ["unshare", "--mount", "sh", "-c",
                   'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv] + cmd
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT,
                                     env=daemon_env())
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None,
                 30, what="collectd's unix socket")
        if self.proc.poll() is not None:
            raise RuntimeError("collectd exited %s: %s" % (self.proc.returncode,
                                                           self.text(self.out_path) + self.text(self.log_path)))
        return self

    def stop(self, timeout=30):
        """SIGTERM; returns (exit code, seconds it took)."""
        if self.proc is None:
            return None, 0.0
        if self.proc.poll() is not None:
            self.out.close()
            self.check_sanitizers()
            return self.proc.returncode, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.out.close()
        took = time.monotonic() - t0
        self.check_sanitizers()
        return rc, took

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # --- unixsock
    def command(self, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sock)
        f = s.makefile("rw")
        f.write(line + "\n")
        f.flush()
        first = f.readline().strip()
        n = int(first.split(" ", 1)[0])
        lines = [f.readline().rstrip("\n") for _ in range(max(n, 0))]
        s.close()
        return n, first, lines

    def getval(self, account, type_and_instance):
        ident = "testhost/digicert_billing-%s/%s" % (account, type_and_instance)
        n, _, lines = self.command('GETVAL "%s"' % ident)
        if n < 1:
            return None
        return float(lines[0].split("=", 1)[1])

    def csv_last(self, account, type_and_instance):
        """Latest raw value from the csv plugin (counters are not rates here)."""
        d = os.path.join(self.csv_dir, "testhost", "digicert_billing-" + account)
        if not os.path.isdir(d):
            return None
        files = sorted(f for f in os.listdir(d) if f.startswith(type_and_instance + "-"))
        if not files:
            return None
        lines = [l for l in read_text(os.path.join(d, files[-1])).splitlines()
                 if l and l[0].isdigit()]
        return float(lines[-1].split(",")[1]) if lines else None

    def listval(self):
        n, _, lines = self.command("LISTVAL")
        return [l.split(" ", 1)[1] for l in lines]

    def wait_value(self, account, tti, expected, timeout=30):
        return wait_for(lambda: self.getval(account, tti) == expected, timeout,
                        what="%s %s == %s" % (account, tti, expected))

    # --- notifications
    def notifications(self):
        out = []
        for name in sorted(os.listdir(self.notif_dir)):
            if name.endswith(".tmp"):
                continue
            text = self.text(os.path.join(self.notif_dir, name))
            head, _, message = text.partition("\n\n")
            n = {"message": message.strip(), "meta": {},
                 "file": int(name.rsplit(".", 1)[-1])}
            for line in head.splitlines():
                k, _, v = line.partition(": ")
                if k in ("Severity", "Time", "Host", "Plugin", "PluginInstance",
                         "Type", "TypeInstance"):
                    n[k] = v
                else:
                    n["meta"][k] = v
            out.append(n)
        # Time has millisecond resolution; the file name's nanoseconds
        # (when the script ran) break ties.
        return sorted(out, key=lambda n: (float(n.get("Time", 0)), n["file"]))

    def notifications_for(self, account):
        return [n for n in self.notifications() if n.get("PluginInstance") == account]

    def wait_notification(self, account, severity, count=1, timeout=30):
        def got():
            ns = [n for n in self.notifications_for(account)
                  if n.get("Severity") == severity]
            return ns if len(ns) >= count else None
        return wait_for(got, timeout, what="%d %s notification(s) for %s"
                        % (count, severity, account))

    text = staticmethod(read_text)

    def log(self):
        return self.text(self.log_path)

    def outputs(self):
        """Every output the daemon produced, by name, for secret greps."""
        out = {"collectd.log": self.log(), "collectd stdout": self.text(self.out_path)}
        for root, _, files in os.walk(self.notif_dir):
            for name in files:
                out["notification " + name] = self.text(os.path.join(root, name))
        for root, _, files in os.walk(self.csv_dir):
            for name in files:
                out["csv " + name] = name + self.text(os.path.join(root, name))
        return out

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def assert_no_keys(testcase, keys, *output_maps):
    """Fail if any key (or a long fragment of one) shows up anywhere."""
    for outputs in output_maps:
        for where, text in outputs.items():
            for key in keys:
                for frag in (key, key[-16:]):
                    # assertTrue, not assertNotIn: a failure must not print the key.
                    testcase.assertTrue(frag not in text,
                                        "a key leaked into %s (offset %d)"
                                        % (where, text.find(frag)))

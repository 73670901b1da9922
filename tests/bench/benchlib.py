"""Building blocks of the scale benchmark (bench.py) and its small
regression test (test_bench_small.py).

* Nginx: Debian's nginx on 127.0.0.1 standing in for the DigiCert API. It
  answers PUT .../finance/account-link with 204 once both key headers are
  present, on an HTTP/2 listener and an HTTP/1.1-only listener, plus three
  variants under path prefixes: /slow (204 after 50 ms, echo module),
  /storm (429 + Retry-After: 1 while a flag file exists) and /any (any
  method, for h2load, which cannot send PUT). Its access log records, per
  request, the time, the connection serial number and the account index, so
  rounds, connections and rates are counted from the server's side.
* Fleet: N accounts (one key file each, one shared CertCentral key) and the
  <Plugin> block for them.
* Collectd: Debian's collectd with a minimal configuration (logfile and the
  plugin, plus whatever a scenario adds) and a sampler of its CPU (per
  thread, from schedstat), RSS and descriptors.

Everything listens on 127.0.0.1; every wait is bounded.
"""
import bisect
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import daemon_env, read_text, wait_for, write_key  # noqa: E402

BUILD = os.environ.get("DCB_BUILD_DIR", os.path.join(ROOT, "build"))
COLLECTD = os.environ.get("COLLECTD_BIN", "/usr/sbin/collectd")
NGINX = os.environ.get("NGINX_BIN", "/usr/sbin/nginx")
ECHO_MODULE = "/usr/lib/nginx/modules/ngx_http_echo_module.so"
API_PATH = "/partner-subscription/api/v1"
LINK_PATH = API_PATH + "/finance/account-link"


def have_deb(pkg):
    p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return b"ok installed" in p.stdout


def ensure_packages(pkgs):
    """apt-get install what is missing (Debian's archive only)."""
    missing = [p for p in pkgs if not have_deb(p)]
    if not missing:
        return
    if os.geteuid() != 0:
        raise RuntimeError("missing packages %s (run as root to install them)" % missing)
    print("installing: " + " ".join(missing), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    # nginx's postinst tries to start a service; without an init system it
    # fails harmlessly, and we never use that instance.
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing,
                   check=True, env=env, stdout=subprocess.DEVNULL)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_ca_and_cert(d):
    """A throw-away CA and a server certificate for 127.0.0.1 (P-256)."""
    ca_key, ca, key, csr, crt = (os.path.join(d, n) for n in
                                 ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    ext = os.path.join(d, "ext.cnf")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
            "-subj", "/CN=collectd-digicert-billing bench CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-days", "2",
            "-set_serial", "0x" + secrets.token_hex(8), "-extfile", ext, "-out", crt)
    return ca, crt, key


# One access-log line per request; the account index comes from the key
# (keys are "PK-<index>-<random>"), the key itself is never logged.
LOG_FORMAT = ("$msec $request_time $connection $connection_requests $server_port "
              "$server_protocol $request_method $status $dcb_acct $uri")

NGINX_CONF = """
daemon off;
master_process on;
worker_processes %(workers)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
%(load_echo)s
events { worker_connections 16384; }
http {
  access_log off;
  server_tokens off;
  client_body_temp_path %(dir)s/tmp/body;
  proxy_temp_path %(dir)s/tmp/proxy;
  fastcgi_temp_path %(dir)s/tmp/fastcgi;
  uwsgi_temp_path %(dir)s/tmp/uwsgi;
  scgi_temp_path %(dir)s/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  ssl_certificate %(cert)s;
  ssl_certificate_key %(key)s;
  ssl_protocols TLSv1.2 TLSv1.3;
  map $http_x_partner_apikey $dcb_acct {
    "~^PK-(?<n>[0-9]+)-" $n;
    default "-";
  }
  log_format bench '%(fmt)s';
  server {
    listen 127.0.0.1:%(h2)d ssl http2;
    listen 127.0.0.1:%(h1)d ssl;
    access_log %(dir)s/access.log bench buffer=256k flush=100ms;
    location = %(link)s {
      if ($request_method != PUT) { return 405; }
      if ($http_x_partner_apikey = "") { return 401; }
      if ($http_x_dc_devkey = "") { return 403; }
      return 204;
    }
    location = /any%(link)s {
      if ($http_x_partner_apikey = "") { return 401; }
      if ($http_x_dc_devkey = "") { return 403; }
      return 204;
    }
    location = /storm%(link)s {
      if ($request_method != PUT) { return 405; }
      if ($http_x_partner_apikey = "") { return 401; }
      if ($http_x_dc_devkey = "") { return 403; }
      if (-f %(dir)s/storm) {
        add_header Retry-After 1 always;
        return 429;
      }
      return 204;
    }
%(slow)s
    location / { return 404; }
  }
}
"""

SLOW_LOCATION = """
    location = /slow%(link)s {
      if ($request_method != PUT) { return 405; }
      if ($http_x_partner_apikey = "") { return 401; }
      if ($http_x_dc_devkey = "") { return 403; }
      echo_status 204;
      echo_sleep %(latency).3f;
    }
"""


class Rec:
    """One access-log line."""
    __slots__ = ("t", "start", "conn", "conn_req", "port", "proto", "method", "status",
                 "acct", "uri")

    def __init__(self, line):
        f = line.split()
        self.t = float(f[0])
        self.start = self.t - float(f[1])
        self.conn, self.conn_req, self.port = int(f[2]), int(f[3]), int(f[4])
        self.proto, self.method, self.status = f[5], f[6], int(f[7])
        self.acct = None if f[8] == "-" else int(f[8])
        self.uri = f[9] if len(f) > 9 else ""


class Nginx:
    def __init__(self, workers=1, latency=0.05):
        self.dir = tempfile.mkdtemp(prefix="dcb-bench-nginx-")
        # nginx's workers run as "nobody" and must see the storm flag file.
        os.chmod(self.dir, 0o755)
        for sub in ("tmp", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.ca, cert, key = make_ca_and_cert(self.dir)
        self.h2, self.h1 = free_port(), free_port()
        self.latency = latency
        echo = os.path.exists(ECHO_MODULE)
        self.log_path = os.path.join(self.dir, "access.log")
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF % {
                "workers": workers, "dir": self.dir, "cert": cert, "key": key,
                "h2": self.h2, "h1": self.h1, "link": LINK_PATH, "fmt": LOG_FORMAT,
                "load_echo": "load_module %s;" % ECHO_MODULE if echo else "",
                "slow": SLOW_LOCATION % {"link": LINK_PATH, "latency": latency} if echo else ""})
        self.has_slow = echo
        self.out = open(os.path.join(self.dir, "stdout"), "wb")
        self.proc = subprocess.Popen([NGINX, "-c", self.conf, "-p", self.dir],
                                     stdout=self.out, stderr=subprocess.STDOUT)
        self.master_pid = self.proc.pid

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited: " + read_text(os.path.join(self.dir, "stdout"))
                                   + read_text(os.path.join(self.dir, "error.log")))
            for port in (self.h2, self.h1):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                except OSError:
                    return False
            return True
        wait_for(up, 20, step=0.05, what="nginx to listen")
        self._off = 0

    def worker_pids(self):
        out = subprocess.run(["pgrep", "-P", str(self.master_pid)], stdout=subprocess.PIPE,
                             text=True).stdout
        return [int(x) for x in out.split()]

    def base(self, proto="h2", variant=""):
        """The plugin's URL option for this listener and path variant."""
        port = self.h2 if proto == "h2" else self.h1
        return "https://127.0.0.1:%d%s%s" % (port, variant, API_PATH)

    def link_url(self, proto="h2", variant=""):
        return self.base(proto, variant) + "/finance/account-link"

    def storm(self, on):
        flag = os.path.join(self.dir, "storm")
        if on:
            open(flag, "w").close()
        elif os.path.exists(flag):
            os.unlink(flag)

    def settle(self):
        """Wait until what was logged so far is flushed (flush=100ms)."""
        time.sleep(0.35)

    def mark(self):
        """Log offset after everything logged so far (waits for the flush)."""
        self.settle()
        return os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0

    def records(self, since=0):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            f.seek(since)
            data = f.read()
        lines = data.split("\n")
        lines.pop()  # "" after the last newline, or a line still being written
        return [Rec(line) for line in lines if line.strip()]

    def count_since(self, since, pred):
        return sum(1 for r in self.records(since) if pred(r))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: flushes the log
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Fleet:
    """N accounts: key files p<i> (PK-<i>-random) and a shared CertCentral key."""

    def __init__(self, n, kdir=None):
        self.n = n
        self.dir = kdir or tempfile.mkdtemp(prefix="dcb-bench-keys-")
        self.cc_key = "CC-" + secrets.token_hex(16)
        self.cc_path = os.path.join(self.dir, "cc")
        write_key(self.cc_path, self.cc_key)
        self.keys = []
        for i in range(n):
            k = "PK-%06d-%s" % (i, secrets.token_hex(12))
            self.keys.append(k)
            path = os.path.join(self.dir, "p%d" % i)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(k + "\n")

    def accounts_text(self, n=None):
        n = self.n if n is None else n
        return "\n".join('  <Account "a%d">\n    PartnerAPIKeyFile "%s/p%d"\n'
                         '    CertCentralAPIKeyFile "%s"\n  </Account>'
                         % (i, self.dir, i, self.cc_path) for i in range(n))

    def block(self, url, ca, options, n=None):
        return ('  URL "%s"\n  CACert "%s"\n%s\n%s\n'
                % (url, ca, "\n".join("  " + o for o in options.strip().splitlines()),
                   self.accounts_text(n)))

    def header_files(self, n):
        """One curl header file per account (what a cron job would use)."""
        d = os.path.join(self.dir, "curl")
        os.makedirs(d, mode=0o700, exist_ok=True)
        paths = []
        for i in range(n):
            p = os.path.join(d, "h%d" % i)
            if not os.path.exists(p):
                fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write("X-PARTNER-APIKEY: %s\nX-DC-DEVKEY: %s\n" % (self.keys[i], self.cc_key))
            paths.append(p)
        return paths

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


COLLECTD_CONF = """
Hostname "benchhost"
FQDNLookup false
BaseDir "%(dir)s"
PIDFile "%(dir)s/collectd.pid"
Interval %(interval)s
ReadThreads %(threads)d
WriteThreads 2
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  LogLevel "info"
  File "%(dir)s/collectd.log"
  Timestamp true
  PrintSeverity true
</Plugin>
%(extra)s
# Values are cached (as always) but written nowhere unless a scenario's chain
# says so: without this, collectd logs two lines per value when no write
# plugin is loaded, which would dwarf what is being measured.
PostCacheChain "BenchPost"
<Chain "BenchPost">
%(post_rules)s
  Target "stop"
</Chain>
PluginDir "%(build)s"
LoadPlugin digicert_billing
<Plugin digicert_billing>
%(block)s
</Plugin>
"""


def task_schedstat(pid, tid):
    """(ns on a CPU, ns runnable but waiting for a CPU) of one thread, from
    schedstat: exact, not tick-based."""
    try:
        with open("/proc/%d/task/%d/schedstat" % (pid, tid)) as f:
            f = f.read().split()
            return int(f[0]), int(f[1])
    except (OSError, ValueError, IndexError):
        return 0, 0


def task_cpu_ns(pid, tid):
    return task_schedstat(pid, tid)[0]


def proc_sample(pid):
    """(cpu ns over all threads, rss KiB, open fds, {thread name: cpu ns},
    worker's run-queue wait ns)."""
    threads = {}
    total = wait = 0
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return None
    for tid in tids:
        ns, w = task_schedstat(pid, int(tid))
        total += ns
        name = read_text("/proc/%d/task/%s/comm" % (pid, tid)).strip()
        if int(tid) == pid:
            name = "main"
        threads[name] = threads.get(name, 0) + ns
        if name == "dcb_worker":
            wait += w
    rss = 0
    for line in read_text("/proc/%d/status" % pid).splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    try:
        fds = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        fds = 0
    return total, rss, fds, threads, wait


class Sampler(threading.Thread):
    """Samples a process every `every` seconds until stopped."""

    def __init__(self, pid, every=0.02):
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        # (wall time, cpu ns, rss KiB, fds, worker cpu ns, main thread cpu ns,
        #  worker run-queue wait ns)
        self.samples = []
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            s = proc_sample(self.pid)
            if s is None:
                break
            self.samples.append((time.time(), s[0], s[1], s[2], s[3].get("dcb_worker", 0),
                                 s[3].get("main", 0), s[4]))
            self._halt.wait(self.every)

    def stop(self):
        self._halt.set()
        self.join(5)

    def at(self, t, field):
        """Value of a field (1 cpu, 2 rss, 3 fds, 4 worker cpu, 5 main thread
        cpu, 6 worker run-queue wait), linearly interpolated at wall time t."""
        ts = [s[0] for s in self.samples]
        i = bisect.bisect_left(ts, t)
        if i <= 0:
            return self.samples[0][field]
        if i >= len(ts):
            return self.samples[-1][field]
        (t0, v0), (t1, v1) = (ts[i - 1], self.samples[i - 1][field]), (ts[i], self.samples[i][field])
        return v0 + (v1 - v0) * (t - t0) / (t1 - t0) if t1 > t0 else v1

    def peak(self, field, t0=None, t1=None):
        vals = [s[field] for s in self.samples
                if (t0 is None or s[0] >= t0) and (t1 is None or s[0] <= t1)]
        return max(vals) if vals else 0


class Collectd:
    def __init__(self, block, interval=10, extra="", read_threads=5, post_rules="",
                 build=None, wrapper=()):
        self.wrapper = list(wrapper)  # e.g. valgrind --tool=callgrind ...
        self.dir = tempfile.mkdtemp(prefix="dcb-bench-collectd-")
        os.chmod(self.dir, 0o755)
        self.conf = os.path.join(self.dir, "collectd.conf")
        self.log_path = os.path.join(self.dir, "collectd.log")
        with open(self.conf, "w") as f:
            f.write(COLLECTD_CONF % {"dir": self.dir, "interval": interval,
                                     "threads": read_threads, "extra": extra,
                                     "build": build or BUILD, "block": block,
                                     "post_rules": post_rules})
        self.proc = None
        self.sampler = None

    def start(self, sample_every=0.02):
        self.out = open(os.path.join(self.dir, "stdout"), "wb")
        self.t_start = time.time()
        self.proc = subprocess.Popen(self.wrapper + [COLLECTD, "-f", "-C", self.conf],
                                     stdout=self.out,
                                     stderr=subprocess.STDOUT, env=daemon_env())
        self.pid = self.proc.pid
        if sample_every:
            self.sampler = Sampler(self.pid, sample_every)
            self.sampler.start()
        return self

    def worker_started(self):
        s = proc_sample(self.pid)
        return s is not None and "dcb_worker" in s[3]

    def log(self):
        return read_text(self.log_path) + read_text(os.path.join(self.dir, "stdout"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def daemon_pid(self):
        """collectd's own pid: under strace or perf it is the wrapper's child
        (valgrind runs it in the wrapper's own process)."""
        if not self.wrapper:
            return self.proc.pid
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid), "-x", "collectd"],
                             stdout=subprocess.PIPE, text=True).stdout.split()
        return int(out[0]) if out else self.proc.pid

    def stop(self, timeout=30):
        if self.sampler:
            self.sampler.stop()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            # Signal collectd itself: SIGTERM to strace would only detach it.
            os.kill(self.daemon_pid(), signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pid = self.daemon_pid()
                if pid != self.proc.pid:
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        return self.proc.returncode

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_round(ngx, since, n, port, timeout, alive=lambda: True, pred=None):
    """Wait until the server has logged n link requests from distinct accounts
    on `port` after log offset `since`; returns their records."""
    deadline = time.monotonic() + timeout
    while True:
        recs = [r for r in ngx.records(since) if r.port == port and r.acct is not None
                and (pred is None or pred(r))]
        if len({r.acct for r in recs}) >= n:
            return recs
        if time.monotonic() > deadline:
            raise AssertionError("round incomplete after %.0f s: %d of %d accounts seen"
                                 % (timeout, len({r.acct for r in recs}), n))
        if not alive():
            raise AssertionError("collectd died during the round")
        time.sleep(0.1)


def max_in_window(times, width=1.0):
    """Most events in any half-open window [t, t+width) (sliding)."""
    times = sorted(times)
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] >= width:
            j += 1
        best = max(best, i - j + 1)
    return best


def max_in_closed_window(times, width=1.0):
    """Most events in any closed window [t, t+width]."""
    times = sorted(times)
    best, j = 0, 0
    for i in range(len(times)):
        while times[i] - times[j] > width:
            j += 1
        best = max(best, i - j + 1)
    return best

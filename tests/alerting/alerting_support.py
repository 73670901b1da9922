"""Helpers for the alerting tests: shipped files, a real Prometheus, loopback
receivers for webhook/Graphite/InfluxDB output, and a small PromQL name
extractor. Builds on tests/integration/harness.py (Sim, Daemon)."""
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import (CC_PATH, PLUGIN_PATH, Daemon, Sim, assert_no_keys,  # noqa: E402,F401
                     make_tmpdir, new_key, read_text, wait_for, write_key)

RULES = os.path.join(ROOT, "contrib", "prometheus", "digicert_billing.rules.yml")
PROM_EXAMPLE = os.path.join(ROOT, "contrib", "prometheus", "prometheus.yml.example")
RULES_TEST = os.path.join(HERE, "digicert_billing.rules.test.yml")
DASHBOARD = os.path.join(ROOT, "contrib", "grafana", "digicert_billing.json")
COLLECTD_DIR = os.path.join(ROOT, "contrib", "collectd")
DOCS = os.path.join(ROOT, "docs", "alerting.md")
README = os.path.join(ROOT, "README.md")
ALERTS = ("DigiCertBillingLinkBroken", "DigiCertBillingCheckStale",
          "DigiCertBillingFlapping", "DigiCertBillingAPITrouble")


def keep_tmp():
    return bool(os.environ.get("DCB_KEEP_TMP"))


def read(path):
    with open(path) as f:
        return f.read()


def alerting_docs():
    """The "Alerting" text: README.md's section once merged, else docs/alerting.md."""
    readme = read_text(README)
    m = re.search(r"^## Alerting\s*$(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if m:
        return m.group(0)
    return read(DOCS)


def github_anchors(markdown):
    """The anchors GitHub gives the headings of a Markdown text."""
    out = set()
    in_code = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        m = None if in_code else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            title = re.sub(r"[`*_]", lambda c: "_" if c.group(0) == "_" else "", m.group(1))
            slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
            out.add(slug)
    return out


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Loopback only: never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url, timeout=10):
    with _OPENER.open(url, timeout=timeout) as r:
        return r.read().decode()


# ---------------------------------------------------------------- Prometheus
def find_prometheus():
    """(prometheus, promtool) paths; installs Debian's package when missing."""
    prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if prom and tool:
        return prom, tool
    if os.geteuid() == 0 and shutil.which("apt-get") and not os.environ.get("DCB_NO_APT"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.call(["apt-get", "update", "-qq"], env=env)
        subprocess.call(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                         "prometheus"], env=env)
        prom, tool = shutil.which("prometheus"), shutil.which("promtool")
    if not (prom and tool):
        raise RuntimeError("prometheus/promtool not found: install Debian's "
                           "'prometheus' package (contrib/install-deps.sh)")
    return prom, tool


def rules_for_test(text, for_value="2s"):
    """The shipped rules with every `for:` shortened; nothing else changes."""
    out, n = re.subn(r"(?m)^(\s+for:\s*)\S+\s*$", r"\g<1>" + for_value, text)
    assert n >= 3, "expected the rules to have for: clauses, found %d" % n
    return out


def prometheus_config(rules_path, target, interval="1s"):
    """prometheus.yml.example made to scrape `target` and load `rules_path`."""
    text = read(PROM_EXAMPLE)
    subs = [(r"(?m)^(\s+scrape_interval:\s*)\S+", r"\g<1>" + interval),
            (r"(?m)^(\s+evaluation_interval:\s*)\S+", r"\g<1>" + interval),
            (r"(?m)^(\s+- )/etc/prometheus/digicert_billing\.rules\.yml", r"\g<1>" + rules_path),
            (r"(?m)^(\s+- )collectd-host\.example\.com:9103", r"\g<1>" + target)]
    for pattern, repl in subs:
        text, n = re.subn(pattern, repl, text)
        assert n == 1, "prometheus.yml.example: %s matched %d times" % (pattern, n)
    return text


class Prometheus:
    """A real Prometheus server on 127.0.0.1 with its own temp directory."""

    def __init__(self, rules_text, target):
        self.binary, _ = find_prometheus()
        self.dir = make_tmpdir("prometheus-")
        self.rules_path = os.path.join(self.dir, "digicert_billing.rules.yml")
        with open(self.rules_path, "w") as f:
            f.write(rules_text)
        self.conf_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.conf_path, "w") as f:
            f.write(prometheus_config(self.rules_path, target))
        self.out_path = os.path.join(self.dir, "prometheus.log")
        self.proc = None
        for _ in range(3):  # a freshly found free port can be taken meanwhile
            self.port = free_port()
            self.base = "http://127.0.0.1:%d" % self.port
            self.out = open(self.out_path, "ab")
            self.proc = subprocess.Popen(
                [self.binary, "--config.file=" + self.conf_path,
                 "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                 "--web.listen-address=127.0.0.1:%d" % self.port,
                 "--storage.tsdb.retention.time=1d", "--log.level=info"],
                stdout=self.out, stderr=subprocess.STDOUT)
            try:
                wait_for(lambda: self.proc.poll() is not None or self.ready(), 60,
                         step=0.25, what="prometheus to be ready")
            except AssertionError:
                self.stop()
                raise
            if self.proc.poll() is None:
                return
            self.out.close()
        raise RuntimeError("prometheus did not start: " + self.log()[-3000:])

    def ready(self):
        try:
            http_get(self.base + "/-/ready", timeout=2)
            return True
        except (urllib.error.URLError, OSError):
            return False

    def api(self, path, **params):
        url = self.base + "/api/v1/" + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            body = http_get(url, timeout=20)
        except urllib.error.HTTPError as e:
            body = e.read().decode()
        data = json.loads(body)
        if data.get("status") != "success":
            raise AssertionError("Prometheus %s: %s" % (path, body[:2000]))
        return data["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def alerts(self, name=None, state=None):
        out = []
        for a in self.api("alerts")["alerts"]:
            if name and a["labels"].get("alertname") != name:
                continue
            if state and a["state"] != state:
                continue
            out.append(a)
        return out

    def log(self):
        return read_text(self.out_path)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.out.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- scrape + PromQL names
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+\S+')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_scrape(text):
    """Prometheus text format -> list of (metric name, {label: value})."""
    series = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if m:
            series.append((m.group(1), dict(LABEL_RE.findall(m.group(2) or ""))))
    return series


METRIC_PREFIX = "collectd_digicert_billing"
SELECTOR_RE = re.compile(r"\b(%s[a-zA-Z0-9_:]*)\s*(\{[^{}]*\})?" % METRIC_PREFIX)
MATCHER_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING_RE = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
TEMPLATE_LABEL_RE = re.compile(r"\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)|\.Labels\.([a-zA-Z_][a-zA-Z0-9_]*)"
                               r"|sortByLabel\s+\"([a-zA-Z_][a-zA-Z0-9_]*)\"")


def promql_names(text):
    """Metric selectors and label names a PromQL/template text uses.

    Returns (selectors, labels): selectors = [(metric, [(label, op, value)])],
    labels = set of label names from matchers, groupings and templates."""
    text = text.replace('\\"', '"')
    selectors, labels = [], set()
    for m in SELECTOR_RE.finditer(text):
        matchers = MATCHER_RE.findall(m.group(2) or "")
        selectors.append((m.group(1), matchers))
        labels.update(name for name, _, _ in matchers)
    for m in GROUPING_RE.finditer(text):
        labels.update(x.strip() for x in m.group(1).split(",") if x.strip())
    for m in TEMPLATE_LABEL_RE.finditer(text):
        labels.update(x for x in m.groups() if x)
    return selectors, labels


def literal(value):
    """False for values that are placeholders (Grafana variables, printf verbs)."""
    return "$" not in value and "%" not in value


def check_names_against_scrape(where, text, scrape, full_match=True):
    """Problems (strings) for names in `text` that the scrape does not have."""
    problems = []
    all_labels = set(k for _, ls in scrape for k in ls)
    selectors, labels = promql_names(text)
    for metric, matchers in selectors:
        rows = [ls for name, ls in scrape if name == metric]
        if not rows:
            problems.append("%s: metric %s is not in the scrape" % (where, metric))
            continue
        for label, _, _ in matchers:
            if not any(label in ls for ls in rows):
                problems.append("%s: %s has no label %s in the scrape" % (where, metric, label))
        checkable = [(l, op, v) for l, op, v in matchers
                     if literal(v) and (full_match or l == "type")]

        def matches(ls):
            for label, op, value in checkable:
                have = ls.get(label, "")
                ok = {"=": have == value, "!=": have != value,
                      "=~": re.fullmatch(value, have) is not None,
                      "!~": re.fullmatch(value, have) is None}[op]
                if not ok:
                    return False
            return True
        if not any(matches(ls) for ls in rows):
            problems.append("%s: no scraped series matches %s{%s}" % (
                where, metric, ",".join('%s%s"%s"' % x for x in checkable)))
    for label in labels:
        if label not in all_labels:
            problems.append("%s: label %s is not in the scrape" % (where, label))
    return problems


# ---------------------------------------------------------------- Grafana dashboard
def dashboard_panels(dash):
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []):
            yield q


def dashboard_texts(dash):
    """(where, PromQL or template text) for every query the dashboard makes."""
    out = []
    for p in dashboard_panels(dash):
        for t in p.get("targets", []):
            out.append(("panel %r %s" % (p.get("title"), t.get("refId")), t.get("expr", "")))
            if t.get("legendFormat"):
                legend = re.sub(r"\{\{\s*([a-zA-Z_]\w*)\s*\}\}", r"$labels.\1", t["legendFormat"])
                out.append(("panel %r legend" % p.get("title"), legend))
    for v in dash.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query", "") if isinstance(q, dict) else q
            m = re.match(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*$", q or "")
            if m:
                out.append(("variable %s" % v["name"],
                            "count by (%s) (%s)" % (m.group(2), m.group(1))))
            else:
                out.append(("variable %s" % v["name"], q or ""))
    return out


def grafana_to_promql(expr):
    """Replace Grafana's variables so Prometheus can run a dashboard query."""
    for var, value in (("$__rate_interval", "1m"), ("$__interval", "15s"),
                       ("$__range", "1h"), ("${instance}", ".*"), ("$instance", ".*"),
                       ("${account}", ".*"), ("$account", ".*")):
        expr = expr.replace(var, value)
    return expr


# ---------------------------------------------------------------- loopback receivers
class Webhook:
    """HTTP server on 127.0.0.1 recording every POST (path, headers, body)."""

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    outer.posts.append({"path": self.path, "headers": dict(self.headers),
                                        "body": body.decode(errors="replace")})
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/hooks/collectd" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json_posts(self):
        with self.lock:
            posts = list(self.posts)
        out = []
        for p in posts:
            try:
                out.append(json.loads(p["body"]))
            except ValueError:
                out.append({"_unparsable": p["body"]})
        return out

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class LineReceiver:
    """TCP (Graphite plaintext) or UDP (InfluxDB line protocol) sink on 127.0.0.1."""

    def __init__(self, udp=False):
        kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.data = []
        self.lock = threading.Lock()
        self.stopping = False
        if not udp:
            self.sock.listen(4)
        self.thread = threading.Thread(target=self.run_udp if udp else self.run_tcp, daemon=True)
        self.thread.start()

    def add(self, chunk):
        with self.lock:
            self.data.append(chunk.decode(errors="replace"))

    def run_udp(self):
        while not self.stopping:
            try:
                self.add(self.sock.recv(65536))
            except socket.timeout:
                continue
            except OSError:
                return

    def run_tcp(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self.read_conn, args=(conn,), daemon=True).start()

    def read_conn(self, conn):
        conn.settimeout(0.5)
        with conn:
            while not self.stopping:
                try:
                    chunk = conn.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                self.add(chunk)

    def lines(self):
        with self.lock:
            return "".join(self.data).splitlines()

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(5)


# ---------------------------------------------------------------- accounts
def account_block(name, pfile, cfile, extra=""):
    return '<Account "%s">\n  PartnerAPIKeyFile "%s"\n  CertCentralAPIKeyFile "%s"\n%s</Account>\n' % (
        name, pfile, cfile, extra)


class Accounts:
    """A simulator and key files for a few named accounts.

    spec: {account: "good" | "bad" | {"faults": [...]}}; "bad" accounts use a
    Partner key the simulator does not know (auth failure) until fix()."""

    def __init__(self, spec):
        self.spec = spec
        self.kdir = make_tmpdir("keys-")
        self.keys = {"cc": new_key("CC")}
        self.files = {}
        self.partner = {}
        for i, (name, kind) in enumerate(sorted(spec.items())):
            key = new_key("PK")
            self.keys[name] = key
            if kind != "bad":
                self.partner[key] = self.partner_entry(name, i, kind)
        for name, key in self.keys.items():
            path = os.path.join(self.kdir, name + ".key")
            write_key(path, key)
            self.files[name] = path
        self.sim = Sim(self.accounts())

    @staticmethod
    def partner_entry(name, i, kind):
        ent = {"label": name, "account_id": 1000 + i}
        if isinstance(kind, dict):
            ent.update(kind)
        return ent

    def accounts(self):
        return {"partner_keys": self.partner,
                "certcentral_keys": {self.keys["cc"]: {"label": "billing", "account_id": 123456}}}

    def fix(self, name):
        i = sorted(self.spec).index(name)
        self.partner[self.keys[name]] = self.partner_entry(name, i, "good")
        self.sim.set_accounts(self.accounts())

    def plugin_block(self, check_interval=2, extra=""):
        block = ('URL "%s%s"\nCertCentralURL "%s%s"\nCACert "%s"\nTimeout 3000\nMaxRetries 0\n'
                 'CheckInterval %d\nMaxRequestsPerSecond 0\n%s\n') % (
            self.sim.base, PLUGIN_PATH, self.sim.base, CC_PATH, self.sim.ca,
            check_interval, extra)
        for name in sorted(self.spec):
            block += account_block(name, self.files[name], self.files["cc"])
        return block

    def stop(self):
        self.sim.stop()

    def cleanup(self):
        self.sim.cleanup()
        shutil.rmtree(self.kdir, ignore_errors=True)

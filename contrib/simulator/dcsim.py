#!/usr/bin/env python3
"""dcsim - local HTTPS simulator of three DigiCert API endpoints (tests/demo).

Serves account-link (PUT), api-key (GET), user/me (GET) and /_sim/links on
127.0.0.1 only, with scriptable faults from a hot-reloaded accounts file.
Never logs or prints raw key values (except "headers" in --record-raw mode).
See example-accounts.json and selftest.sh.
"""
import argparse
import base64
import fcntl
import http.server
import json
import os
import secrets
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time

LINK = "/partner-subscription/api/v1/finance/account-link"
APIKEY = "/partner-subscription/api/v1/api-key"
USERME = "/services/v2/user/me"
ROUTES = {("PUT", LINK): "link", ("GET", APIKEY): "api-key", ("GET", USERME): "user-me"}


def err(code, message):
    return {"errors": [{"code": code, "message": message}]}


ERR_PARTNER = err("invalid_api_key", "The Partner API key is invalid.")
ERR_DEVKEY_LINK = err("access_denied|invalid_devkey",
                      "The CertCentral API key cannot be resolved to a valid account.")
ERR_DEVKEY = err("invalid_api_key", "The API key is invalid.")
ERR_BODY = err("bad_request_format", "This endpoint takes no body.")
ERR_ROUTE = err("not_found|route", "Route not found.")


def warn(msg):
    print("dcsim: " + msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- certificates
OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = dcsim
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[srv_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = {san}
"""


def openssl(*args):
    """Run the openssl CLI quietly; raise with its stderr on failure."""
    p = subprocess.run(["openssl", *args], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], p.stderr.decode(errors="replace").strip()))


def ensure_certs(certdir, cert_host=None):
    """Make DIR/ca.pem (+ca.key) and a server cert/key if missing; return (cert, key)."""
    os.makedirs(certdir, exist_ok=True)
    if cert_host:
        safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in cert_host)
        srv_pem, srv_key = "server-%s.pem" % safe, "server-%s.key" % safe
        san, cn = "DNS:" + cert_host, cert_host
    else:
        srv_pem, srv_key = "server.pem", "server.key"
        san, cn = "IP:127.0.0.1,DNS:localhost", "localhost"
    path = lambda name: os.path.join(certdir, name)
    # An flock serialises simulators sharing a certdir; files appear atomically.
    with open(path(".dcsim.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        need_ca = not (os.path.exists(path("ca.pem")) and os.path.exists(path("ca.key")))
        need_srv = need_ca or not (os.path.exists(path(srv_pem)) and os.path.exists(path(srv_key)))
        if need_srv:
            with tempfile.TemporaryDirectory(dir=certdir, prefix=".gen-") as tmp:
                t = lambda name: os.path.join(tmp, name)
                with open(t("cnf"), "w") as f:
                    f.write(OPENSSL_CNF.format(san=san))
                ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]
                if need_ca:
                    openssl("genpkey", *ec, "-out", t("ca.key"))
                    openssl("req", "-new", "-x509", "-config", t("cnf"), "-extensions", "ca_ext",
                            "-key", t("ca.key"), "-subj", "/CN=dcsim test CA", "-days", "30",
                            "-out", t("ca.pem"))
                ca_pem = t("ca.pem") if need_ca else path("ca.pem")
                ca_key = t("ca.key") if need_ca else path("ca.key")
                openssl("genpkey", *ec, "-out", t("srv.key"))
                openssl("req", "-new", "-config", t("cnf"), "-key", t("srv.key"),
                        "-subj", "/CN=" + cn, "-out", t("srv.csr"))
                openssl("x509", "-req", "-in", t("srv.csr"), "-CA", ca_pem, "-CAkey", ca_key,
                        "-set_serial", "0x" + secrets.token_hex(8), "-days", "30",
                        "-extfile", t("cnf"), "-extensions", "srv_ext", "-out", t("srv.pem"))
                moves = [("ca.key", "ca.key"), ("ca.pem", "ca.pem")] if need_ca else []
                for src, dst in moves + [("srv.key", srv_key), ("srv.pem", srv_pem)]:
                    os.chmod(t(src), 0o600 if src.endswith(".key") else 0o644)
                    os.replace(t(src), path(dst))
    return path(srv_pem), path(srv_key)


# ---------------------------------------------------------------- accounts + faults
class Cursor:
    """Position in one key's fault list."""

    def __init__(self, faults, cycle):
        self.faults, self.cycle = faults, cycle
        self.sig = json.dumps([faults, cycle], sort_keys=True)
        self.idx = self.used = 0
        self.done = False

    def take(self, endpoint):
        """Return the fault dict to apply to this request, or None (normal)."""
        if not self.faults or self.done:
            return None
        entry = self.faults[self.idx]
        times = 1
        if isinstance(entry, dict):
            if entry.get("endpoint", "any") not in ("any", endpoint):
                return None  # not for this endpoint: do not consume
            times = max(1, int(entry.get("times", 1)))
        self.used += 1
        if self.used >= times:
            self.used = 0
            self.idx += 1
            if self.idx >= len(self.faults):
                self.idx = 0
                self.done = not self.cycle
        return entry if isinstance(entry, dict) else None


class Accounts:
    """The accounts file, reloaded when its inode/mtime/size changes."""
    KINDS = ("partner_keys", "certcentral_keys")

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.stamp = None
        self.keys = {k: {} for k in self.KINDS}     # kind -> key -> entry
        self.cursors = {}                           # (kind, key) -> Cursor
        self.links = {}                             # partner label -> account_id
        self.maybe_reload(strict=True)

    def maybe_reload(self, strict=False):
        try:
            st = os.stat(self.path)
        except OSError as e:
            if strict:
                raise SystemExit("dcsim: cannot read accounts file: %s" % e.strerror)
            return
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self.lock:
            if stamp == self.stamp:
                return
            self.stamp = stamp
            try:
                with open(self.path) as f:
                    data = json.load(f)
                keys = {}
                for kind in self.KINDS:
                    section = data.get(kind) or {}
                    keys[kind] = {}
                    for i, (key, ent) in enumerate(section.items()):
                        ent = dict(ent)
                        ent.setdefault("label", "%s-%d" % (kind.split("_")[0], i + 1))
                        ent.setdefault("account_id", 0)
                        ent["_id"] = i + 1
                        keys[kind][key] = ent
            except (OSError, ValueError, TypeError, AttributeError) as e:
                if strict:
                    raise SystemExit("dcsim: bad accounts file: %s" % e)
                warn("accounts file not reloaded (%s); keeping previous" % type(e).__name__)
                return
            # Keep fault cursors whose list is unchanged; reset the others.
            cursors = {}
            for kind, section in keys.items():
                for key, ent in section.items():
                    cur = Cursor(list(ent.get("faults") or []), ent.get("cycle", True) is not False)
                    old = self.cursors.get((kind, key))
                    cursors[(kind, key)] = old if old and old.sig == cur.sig else cur
            self.keys, self.cursors = keys, cursors

    def take_fault(self, kind, key, endpoint):
        with self.lock:
            cur = self.cursors.get((kind, key))
            return cur.take(endpoint) if cur else None


class JsonLog:
    """Thread-safe JSON Lines writer (no-op without a file)."""

    def __init__(self, path):
        self.lock = threading.Lock()
        self.f = open(path, "a", encoding="utf-8") if path else None

    def write(self, rec):
        if self.f:
            with self.lock:
                self.f.write(json.dumps(rec) + "\n")
                self.f.flush()


def describe(f):
    """Short fault description for the log, e.g. "delay=1,status=503"."""
    parts = ["delay=%s" % f["delay"]] if f.get("delay") else []
    if f.get("hang"):
        parts.append("hang")
    elif f.get("redirect"):
        parts.append("redirect=%s" % f.get("redirect_status", 302))
    elif f.get("drip"):
        parts.append("drip")
    elif f.get("reset"):
        parts.append("reset")
    elif "status" in f:
        parts.append("status=%s" % f["status"])
    return ",".join(parts) or "none"


# ---------------------------------------------------------------- HTTP
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "dcsim/1.0"

    def version_string(self):
        return self.server_version
    timeout = 120  # idle keep-alive connections are closed after this

    def setup(self):
        super().setup()
        self.conn_id = self.server.next_conn_id()

    def do_GET(self):
        self.handle_any()
    do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

    # -- logging: one-line summaries, never headers
    def log_request(self, code="-", size="-"):
        pass  # replies are summarised in reply()

    def log_error(self, fmt, *args):
        if fmt.startswith("Request timed out"):
            return  # idle keep-alive connection closed: not worth a line
        code = args[0] if args and isinstance(args[0], int) else "-"
        warn("conn %s: protocol error %s" % (getattr(self, "conn_id", "-"), code))

    def read_body(self):
        """Read and return the request body (Content-Length or chunked)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = bytearray()
            while True:
                size = int(self.rfile.readline(65537).split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        n = int(cl)
        if n < 0:
            raise ValueError("negative length")
        return self.rfile.read(n)

    def reply(self, status, body=None, headers=None, content_type="application/json"):
        """Log the request (before answering, so tests see it) and send the response."""
        self.rec["status"] = status
        self.server.log.write(self.rec)
        if self.server.verbose:
            warn("conn %d %s %s -> %d" % (self.conn_id, self.command, self.rec["path"], status))
        no_body = status in (204, 304) or status < 200
        if body is None or no_body:
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
        try:
            self.send_response(status)
            if data:
                self.send_header("Content-Type", content_type)
            if not no_body:
                self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, str(v))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def handle_any(self):
        hdr = self.headers
        cl = hdr.get("Content-Length")
        try:
            cl = int(cl) if cl is not None else None
        except ValueError:
            pass
        self.rec = {"t": time.time(), "method": self.command, "path": self.path, "status": None,
                    "partner": None, "devkey": None, "content_length": cl, "body_len": 0,
                    "user_agent": hdr.get("User-Agent"), "conn": self.conn_id, "fault": None}
        try:
            body = self.read_body()
        except ValueError:
            self.close_connection = True
            return self.reply(400, err("bad_request_format", "Malformed request body framing."))
        self.rec["body_len"] = len(body)
        pkey, dkey = hdr.get("X-PARTNER-APIKEY"), hdr.get("X-DC-DEVKEY")
        srv = self.server

        if srv.record_raw:  # redirect target: record everything, answer 200
            self.rec["partner"] = None if pkey is None else "unknown"
            self.rec["devkey"] = None if dkey is None else "unknown"
            self.rec["headers"] = [[k, v] for k, v in hdr.items()]
            return self.reply(200, {"recorded": True})

        acc = srv.accounts
        acc.maybe_reload()
        keys = acc.keys  # swapped atomically on reload
        pent, dent = keys["partner_keys"].get(pkey), keys["certcentral_keys"].get(dkey)
        label = lambda key, ent: None if key is None else (ent["label"] if ent else "unknown")
        self.rec["partner"], self.rec["devkey"] = label(pkey, pent), label(dkey, dent)
        path = self.path.split("?", 1)[0]
        endpoint = ROUTES.get((self.command, path))

        # Faults come first: api-key uses the partner key's list, user-me the
        # devkey's, link the partner key's then (if none applies) the devkey's.
        fault = None
        if endpoint in ("link", "api-key") and pent:
            fault = acc.take_fault("partner_keys", pkey, endpoint)
        if fault is None and endpoint in ("link", "user-me") and dent:
            fault = acc.take_fault("certcentral_keys", dkey, endpoint)
        if fault is not None and self.apply_fault(fault):
            return

        if endpoint == "link":
            if not pent:
                return self.reply(401, ERR_PARTNER)
            if not dent:
                return self.reply(403, ERR_DEVKEY_LINK)
            if body or (isinstance(cl, int) and cl > 0):
                return self.reply(400, ERR_BODY)
            acc.links[pent["label"]] = dent["account_id"]
            return self.reply(204)
        if endpoint == "api-key":
            if not pent:
                return self.reply(401, ERR_PARTNER)
            return self.reply(200, {"api_keys": [{
                "id": pent["_id"], "name": pent["label"], "account_id": pent["account_id"],
                "status": "active", "created_at": "2026-01-01T00:00:00Z",
                "last_used_date": None, "api_key_last4": pkey[-4:]}]})
        if endpoint == "user-me":
            if not dent:
                return self.reply(401, ERR_DEVKEY)
            return self.reply(200, {"id": dent["_id"], "username": dent["label"],
                                    "account_id": dent["account_id"], "status": "active",
                                    "access_roles": [{"id": 1, "name": "Administrator"}]})
        if (self.command, path) == ("GET", "/_sim/links"):
            return self.reply(200, dict(acc.links))
        return self.reply(404, ERR_ROUTE)

    def apply_fault(self, f):
        """Apply a fault; return True if it produced the response (or a hang)."""
        self.rec["fault"] = describe(f)
        if f.get("delay"):
            time.sleep(float(f["delay"]))
        extra = dict(f.get("headers") or {})
        ctype = f.get("content_type", "application/json")
        if f.get("hang"):
            self.rec["status"] = None
            self.server.log.write(self.rec)
            self.hang()
            return True
        if f.get("redirect"):
            extra["Location"] = f["redirect"]
            self.reply(int(f.get("redirect_status", 302)), None, extra)
            return True
        if f.get("drip"):
            self.drip(int(f.get("status", 200)), f["drip"])
            return True
        if f.get("reset"):
            self.reset(int(f.get("status", 200)))
            return True
        if "status" in f:
            status = int(f["status"])
            body = f.get("body")
            if f.get("body_size"):  # a large body, e.g. to test the plugin's cap
                body = "x" * int(f["body_size"])
            elif f.get("body_b64"):  # raw bytes, e.g. invalid UTF-8
                body = base64.b64decode(f["body_b64"])
            if body is None and status >= 400:
                body = err("simulated_fault", "Simulated HTTP %d." % status)
            self.reply(status, body, extra, ctype)
            return True
        return False  # delay only: continue normally

    def drip(self, status, spec):
        """Send headers at once, then the body one byte every `interval` s."""
        size, every = int(spec.get("bytes", 1000)), float(spec.get("interval", 1.0))
        self.rec["status"] = status
        self.server.log.write(self.rec)
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.flush()
            for _ in range(size):
                if self.server.stopping.wait(every):
                    break
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass

    def reset(self, status):
        """Start a response, then abort the connection with a TCP reset."""
        self.rec["status"] = status
        self.server.log.write(self.rec)
        self.close_connection = True
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b'{"partial": ')
            self.wfile.flush()
            time.sleep(0.3)  # let the client read the start first
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            # Close the raw descriptor: no TLS close_notify, just RST.
            os.close(self.connection.detach())
        except OSError:
            pass

    def hang(self):
        """Never answer; wait until the client closes or the server stops."""
        self.close_connection = True
        sock = self.connection
        sock.settimeout(0.5)
        while not self.server.stopping.is_set():
            try:
                if not sock.recv(4096):
                    break
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            except OSError:
                break


class SimServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, port, ssl_ctx, accounts, log, record_raw, verbose):
        self.ssl_ctx, self.accounts, self.log = ssl_ctx, accounts, log
        self.record_raw, self.verbose = record_raw, verbose
        self.stopping = threading.Event()
        self._conn_lock, self._conn_n = threading.Lock(), 0
        super().__init__(("127.0.0.1", port), Handler)

    def server_bind(self):
        # Skip HTTPServer's getfqdn() (reverse DNS can be slow).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]

    def next_conn_id(self):
        with self._conn_lock:
            self._conn_n += 1
            return self._conn_n

    def finish_request(self, request, client_address):
        # Runs in the per-connection thread, so a slow/absent TLS handshake
        # only ever blocks this connection.
        if self.ssl_ctx is None:
            return self.RequestHandlerClass(request, client_address, self)
        request.settimeout(10)
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (OSError, ValueError):
            return
        try:
            tls.settimeout(None)
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        warn("connection error: %s" % sys.exc_info()[0].__name__)


def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".dcsim-port-")
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local DigiCert API simulator (127.0.0.1 only).")
    ap.add_argument("--accounts", help="accounts JSON file (not needed with --record-raw)")
    ap.add_argument("--certdir", help="holds ca.pem, server.pem, server.key (made if missing)")
    ap.add_argument("--port", type=int, default=0, help="0 (default) = ephemeral")
    ap.add_argument("--port-file", help="write the bound port here (atomically)")
    ap.add_argument("--log", help="JSON Lines request log")
    ap.add_argument("--plain", action="store_true", help="plain HTTP instead of TLS")
    ap.add_argument("--record-raw", action="store_true", help="answer 200, log raw headers")
    ap.add_argument("--cert-host", help="serve a cert with SAN DNS:NAME only")
    ap.add_argument("--verbose", action="store_true", help="one stderr line per request")
    args = ap.parse_args(argv)
    if not args.record_raw and not args.accounts:
        ap.error("--accounts is required (unless --record-raw)")
    if not args.plain and not args.certdir:
        ap.error("--certdir is required (unless --plain)")

    ctx = None
    if not args.plain:
        cert, key = ensure_certs(args.certdir, args.cert_host)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        ctx.set_alpn_protocols(["http/1.1"])
    accounts = None if args.record_raw else Accounts(args.accounts)
    server = SimServer(args.port, ctx, accounts, JsonLog(args.log), args.record_raw, args.verbose)
    port = server.server_address[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print("dcsim listening on 127.0.0.1:%d" % port, flush=True)

    signal.signal(signal.SIGTERM, lambda *_: server.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: server.stopping.set())
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    while not server.stopping.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

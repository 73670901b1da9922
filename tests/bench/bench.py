#!/usr/bin/env python3
"""Scale benchmark of the digicert_billing plugin (docs/PERFORMANCE.md).

Runs everything against one nginx on 127.0.0.1 (see benchlib.py):

  round     the plugin's first round of N accounts inside real collectd
            (HTTP/2 and HTTP/1.1 listeners), timed from the server's log
  ceiling   wrk (HTTP/1.1) and h2load (HTTP/2) at the same concurrency
  floor     a minimal libcurl multi program (curl_floor.c), same concurrency
  cron      a serial `curl` loop and `xargs -P C curl` over the same accounts
  memory    RSS with N accounts, with an empty account list, and with
            collectd's value cache bypassed (to attribute the difference)
  latency   a round against a location that answers after 50 ms
  delay     the `load` plugin's schedule during the largest round
  ratelimit MaxRequestsPerSecond seen from the server, any 1-second window
  storm     request rate before and during a 429 + Retry-After: 1 storm

Throughput figures are medians over --reps repetitions, with the plugin's
rounds and the ceiling runs interleaved so that they share the machine's
conditions; targets are ratios within this one run.

Usage: sh tests/bench/run.sh [options]   (or python3 tests/bench/bench.py)
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402

PACKAGES = ["nginx", "libnginx-mod-http-echo", "wrk", "nghttp2-client", "curl",
            "collectd-core", "gcc", "libcurl4-openssl-dev", "procps", "findutils"]


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def opts(*lines):
    return "\n".join(lines)


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def settle(d, t_min, quiet=0.5, limit=12.0):
    """Wait until collectd's CPU has not moved for `quiet` s (the first read
    has dispatched), starting no earlier than t_min; bounded by `limit`."""
    deadline = time.time() + limit
    while time.time() < t_min:
        time.sleep(0.05)
    last, since = None, time.time()
    while time.time() < deadline:
        s = bl.proc_sample(d.pid)
        if s is None:
            return
        if last is None or s[0] - last > 2e6:  # > 2 ms of CPU: still busy
            last, since = s[0], time.time()
        elif time.time() - since >= quiet:
            return
        time.sleep(0.1)


# ----------------------------------------------------------------- scenarios
def plugin_round(ngx, fleet, n, proto, conc, args, variant="", extra_opts="",
                 interval=10, collectd_extra="", post_rules="", dispatch=True,
                 timeout=600):
    """One collectd, one first round of n accounts; figures from the server
    log and from /proc."""
    port = ngx.h2 if proto == "h2" else ngx.h1
    since = ngx.mark()
    block = fleet.block(ngx.base(proto, variant), ngx.ca,
                        opts("CheckInterval 86400", "MaxConcurrency %d" % conc,
                             "MaxRetries 0", "Timeout 60000",
                             extra_opts or "MaxRequestsPerSecond 0"), n=n)
    d = bl.Collectd(block, interval=interval, extra=collectd_extra, post_rules=post_rules,
                    build=args.build)
    out = {"n": n, "proto": proto, "concurrency": conc}
    try:
        d.start()
        recs = bl.wait_round(ngx, since, n, port, timeout, d.alive)
        t_seen = time.time()
        s0 = min(r.start for r in recs)
        s1 = max(r.t for r in recs)
        sm = d.sampler
        # Let the sampler pass the end of the round before reading it.
        while sm.samples and sm.samples[-1][0] < s1 + 0.05 and time.time() < t_seen + 2:
            time.sleep(0.02)
        out.update({
            "requests": len(recs),
            "accounts": len({r.acct for r in recs}),
            "statuses": sorted({r.status for r in recs}),
            "protocols": sorted({r.proto for r in recs}),
            "round_s": s1 - s0,
            "start_to_done_s": s1 - d.t_start,
            "rps": n / (s1 - s0) if s1 > s0 else float("nan"),
            "connections": len({r.conn for r in recs}),
            "worker_cpu_s": sm.at(s1, 4) / 1e9,
            "worker_wait_s": sm.at(s1, 6) / 1e9,
            "main_cpu_s": sm.at(s1, 5) / 1e9,
            "process_cpu_round_s": (sm.at(s1, 1) - sm.at(s0, 1)) / 1e9,
            "rss_before_round_kib": sm.at(s0, 2),
            "rss_after_round_kib": sm.at(s1, 2),
            "fds_peak": sm.peak(3),
            "fds_after_round": sm.at(s1 + 0.05, 3),
        })
        if dispatch:
            settle(d, s1 + 1.0)
            s = bl.proc_sample(d.pid)
            out["rss_after_dispatch_kib"] = s[1]
            out["fds_after_dispatch"] = s[2]
        out["log_errors"] = [l for l in d.log().splitlines()
                             if "[error]" in l and "digicert" in l][:5]
        return out
    finally:
        d.stop()
        d.cleanup()


def rss_idle(ngx, fleet, n, args, precache_stop=False):
    """RSS once the round and the first dispatch are over (n = 0: the plugin
    with an empty account list)."""
    extra = ('PreCacheChain "BenchPre"\n<Chain "BenchPre">\n  Target "stop"\n</Chain>\n'
             if precache_stop else "")
    if n == 0:
        block = fleet.block(ngx.base("h2"), ngx.ca, "CheckInterval 86400", n=0)
        d = bl.Collectd(block, interval=10, extra=extra, build=args.build)
        try:
            d.start(sample_every=0)
            bl.wait_for(d.worker_started, 30, what="the worker thread")
            settle(d, time.time() + 1.0)
            return bl.proc_sample(d.pid)[1]
        finally:
            d.stop()
            d.cleanup()
    r = plugin_round(ngx, fleet, n, "h2", args.concurrency, args, collectd_extra=extra)
    return r["rss_after_dispatch_kib"]


def ceiling(ngx, proto, conc, secs):
    """wrk (HTTP/1.1) or h2load (HTTP/2): PUT with both headers, one thread,
    `conc` connections with one request in flight each."""
    key = "PK-999998-ceiling"
    since = ngx.mark()
    c0, t0 = children_cpu(), time.time()
    if proto == "h1":
        lua = os.path.join(ngx.dir, "put.lua")
        with open(lua, "w") as f:
            f.write('wrk.method = "PUT"\nwrk.headers["X-PARTNER-APIKEY"] = "%s"\n'
                    'wrk.headers["X-DC-DEVKEY"] = "CC-ceiling"\n' % key)
        cmd = ["wrk", "-t1", "-c%d" % conc, "-d%ds" % secs, "-s", lua, ngx.link_url("h1")]
    else:
        cmd = ["h2load", "-t1", "-c%d" % conc, "-m1", "-D%d" % secs, "-H", ":method: PUT",
               "-H", "X-PARTNER-APIKEY: " + key, "-H", "X-DC-DEVKEY: CC-ceiling",
               ngx.link_url("h2")]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=secs + 60)
    wall, cpu = time.time() - t0, children_cpu() - c0
    ngx.settle()
    recs = [r for r in ngx.records(since) if r.acct == 999998]
    ok = [r for r in recs if r.status == 204]
    if not recs or len(ok) < 0.99 * len(recs):
        raise RuntimeError("%s failed:\n%s" % (cmd[0], p.stdout[-2000:]))
    # Throughput from the server's log, between the first and the last answer.
    span = max(r.t for r in recs) - min(r.start for r in recs)
    return {"tool": cmd[0], "proto": proto, "requests": len(recs), "rps": len(recs) / span,
            "client_cpu_us_per_req": cpu / len(recs) * 1e6, "wall_s": wall,
            "connections": len({r.conn for r in recs}),
            "protocols": sorted({r.proto for r in recs})}


def build_floor(workdir):
    exe = os.path.join(workdir, "curl_floor")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(bl.HERE, "curl_floor.c"), "-lcurl"],
                   check=True)
    return exe


def floor(ngx, exe, proto, conc, requests):
    since = ngx.mark()
    c0 = children_cpu()
    p = subprocess.run([exe, ngx.link_url(proto), ngx.ca, str(conc), str(requests),
                        "2" if proto == "h2" else "1"],
                       stdout=subprocess.PIPE, text=True, timeout=600, check=True)
    cpu = children_cpu() - c0
    ngx.settle()
    done, secs, bad = p.stdout.split()
    recs = [r for r in ngx.records(since) if r.acct == 999999]
    return {"proto": proto, "requests": int(done), "rps": int(done) / float(secs),
            "client_cpu_us_per_req": cpu / int(done) * 1e6, "failed": int(bad),
            "connections": len({r.conn for r in recs})}


def cron(ngx, fleet, n, mode, conc):
    """What an operator would script instead: one curl process per account."""
    files = fleet.header_files(n)
    lst = os.path.join(fleet.dir, "curl", "list-%d" % n)
    with open(lst, "w") as f:
        f.write("\n".join(files) + "\n")
    curl = ["curl", "-sS", "-o", "/dev/null", "--cacert", ngx.ca, "-X", "PUT"]
    url = ngx.link_url("h2")
    if mode == "serial":
        cmd = ["sh", "-c", 'while read -r h; do %s -H "@$h" "%s"; done < "%s"'
               % (" ".join(curl), url, lst)]
    else:
        cmd = ["sh", "-c", 'xargs -P %d -I{} %s -H "@{}" "%s" < "%s"'
               % (conc, " ".join(curl), url, lst)]
    since = ngx.mark()
    c0, t0 = children_cpu(), time.time()
    subprocess.run(cmd, check=True, timeout=3600)
    wall, cpu = time.time() - t0, children_cpu() - c0
    ngx.settle()
    recs = [r for r in ngx.records(since) if r.acct is not None]
    return {"mode": mode, "n": n, "wall_s": wall, "cpu_s": cpu,
            "ok": sum(1 for r in recs if r.status == 204),
            "connections": len({r.conn for r in recs}),
            "protocols": sorted({r.proto for r in recs})}


LOAD_CHAIN = """
  <Rule "load_to_csv">
    <Match "regex">
      Plugin "^load$"
    </Match>
    <Target "write">
      Plugin "csv"
    </Target>
  </Rule>"""


def other_plugin_delay(ngx, fleet, n, args, interval=1.0, watch=10.0):
    """collectd with the `load` plugin at the same Interval; its values go to
    csv (the plugin's are cached but not written). The gaps between load's
    timestamps during and after the round show any delay."""
    csv_dir = tempfile.mkdtemp(prefix="dcb-bench-csv-")
    extra = ('LoadPlugin load\nLoadPlugin csv\n<Plugin csv>\n  DataDir "%s"\n</Plugin>\n'
             'LoadPlugin match_regex\n' % csv_dir)
    port = ngx.h2
    since = ngx.mark()
    block = fleet.block(ngx.base("h2"), ngx.ca,
                        opts("CheckInterval 86400", "MaxConcurrency %d" % args.concurrency,
                             "MaxRetries 0", "MaxRequestsPerSecond 0"), n=n)
    d = bl.Collectd(block, interval=interval, extra=extra, post_rules=LOAD_CHAIN,
                    build=args.build)
    try:
        d.start(sample_every=0.1)
        recs = bl.wait_round(ngx, since, n, port, 600, d.alive)
        s0, s1 = min(r.start for r in recs), max(r.t for r in recs)
        time.sleep(max(0.0, s1 + watch - time.time()))
        stamps = []
        for root, _, names in os.walk(csv_dir):
            for name in names:
                if "load" in root:
                    for line in bl.read_text(os.path.join(root, name)).splitlines():
                        if line[:1].isdigit():
                            stamps.append(float(line.split(",")[0]))
        stamps = sorted(set(stamps))
        gaps = [b - a for a, b in zip(stamps, stamps[1:]) if b >= s0 - interval]
        log_text = d.log()
        return {"n": n, "interval_s": interval, "round_s": s1 - s0, "load_values": len(stamps),
                "max_gap_s": max(gaps) if gaps else float("nan"),
                "max_delay_s": (max(gaps) - interval) if gaps else float("nan"),
                "slow_read_warnings": sum(1 for l in log_text.splitlines()
                                          if "took" in l and "read" in l.lower())}
    finally:
        d.stop()
        d.cleanup()
        shutil.rmtree(csv_dir, ignore_errors=True)


def dispatch_cost(ngx, fleet, n, args, interval=2.0, intervals=5):
    """Steady state after the round: what collectd spends per Interval on the
    plugin's values (7 per account), by thread."""
    since = ngx.mark()
    block = fleet.block(ngx.base("h2"), ngx.ca,
                        opts("CheckInterval 86400", "MaxConcurrency %d" % args.concurrency,
                             "MaxRetries 0", "MaxRequestsPerSecond 0"), n=n)
    d = bl.Collectd(block, interval=interval, build=args.build)
    try:
        d.start(sample_every=0)
        bl.wait_round(ngx, since, n, ngx.h2, 600, d.alive)
        time.sleep(interval * 1.5)
        a, t0 = bl.proc_sample(d.pid), time.time()
        time.sleep(interval * intervals)
        b, t1 = bl.proc_sample(d.pid), time.time()
        k = (t1 - t0) / interval
        threads = {}
        for name, ns in b[3].items():
            group = name.rstrip("#0123456789")
            threads[group] = threads.get(group, 0) + (ns - a[3].get(name, 0)) / 1e9 / k
        return {"n": n, "interval_s": interval, "cpu_s_per_interval": (b[0] - a[0]) / 1e9 / k,
                "by_thread": threads}
    finally:
        d.stop()
        d.cleanup()


def rate_limit(ngx, fleet, n, rps, args):
    r = plugin_round(ngx, fleet, n, "h2", args.concurrency, args,
                     extra_opts="MaxRequestsPerSecond %d" % rps, dispatch=False,
                     timeout=n / rps * 3 + 60)
    return r


def rate_windows(ngx, since, port):
    starts = [x.start for x in ngx.records(since) if x.port == port and x.acct is not None]
    return bl.max_in_window(starts), bl.max_in_closed_window(starts)


def storm(ngx, fleet, n, rps, args, pre=3.0, dur=4.0):
    """A round at `rps`; after `pre` s the server answers 429 with
    Retry-After: 1 for `dur` s. Requests per second before, during, after."""
    port = ngx.h2
    since = ngx.mark()
    block = fleet.block(ngx.base("h2", "/storm"), ngx.ca,
                        opts("CheckInterval 86400", "MaxConcurrency %d" % args.concurrency,
                             "MaxRetries 10", "MaxRequestsPerSecond %d" % rps), n=n)
    d = bl.Collectd(block, interval=10, build=args.build)
    ngx.storm(False)
    try:
        d.start(sample_every=0)
        first = bl.wait_for(lambda: [r for r in ngx.records(since) if r.port == port
                                     and r.acct is not None], 60, step=0.05,
                            what="the first request")
        t_first = min(r.start for r in first)
        time.sleep(max(0.0, t_first + pre - time.time()))
        t_on = time.time()
        ngx.storm(True)
        time.sleep(dur)
        t_off = time.time()
        ngx.storm(False)
        ok = bl.wait_round(ngx, since, n, port, n / rps * 4 + 120, d.alive,
                           pred=lambda r: r.status == 204)
        recs = [r for r in ngx.records(since) if r.port == port and r.acct is not None]
        before = [r for r in recs if t_on - pre <= r.start < t_on]
        during = [r for r in recs if t_on <= r.start < t_off]
        after = [r for r in recs if t_off <= r.start < t_off + pre]
        return {"n": n, "max_rps": rps, "storm_s": dur,
                "rps_before": len(before) / pre, "rps_during": len(during) / dur,
                "rps_after": len(after) / pre,
                "answered_429": sum(1 for r in recs if r.status == 429),
                "all_linked_after": len({r.acct for r in ok}) == n,
                "round_s": max(r.t for r in recs) - t_first}
    finally:
        ngx.storm(False)
        d.stop()
        d.cleanup()


# ----------------------------------------------------------------- report
def med(xs):
    xs = [x for x in xs if x == x]
    return statistics.median(xs) if xs else float("nan")


def fmt(x, digits=2):
    if x is None:
        return "—"
    if isinstance(x, str):
        return x
    if x != x:
        return "n/a"
    if abs(x) >= 100:
        return "{:,.0f}".format(x)
    return ("%%.%df" % digits) % x


def report(res, args):
    sizes = res["sizes"]
    L = []
    col = lambda: "| " + " | ".join(["N = {:,}".format(n) for n in sizes]) + " |"
    L.append("| Figure " + col())
    L.append("|---" * (len(sizes) + 1) + "|")

    def row(label, fn, digits=2):
        vals = []
        for n in sizes:
            try:
                vals.append(fmt(fn(n), digits))
            except (KeyError, TypeError, ValueError, ZeroDivisionError):
                vals.append("—")
        L.append("| %s | %s |" % (label, " | ".join(vals)))

    R, C = res["rounds"], res["ceiling"]
    for proto, name in (("h2", "HTTP/2"), ("h1", "HTTP/1.1")):
        tool = "h2load" if proto == "h2" else "wrk"
        row("%s: first round, server log (s)" % name,
            lambda n: med(x["round_s"] for x in R[str(n)][proto]), 3)
        row("%s: collectd start → last check (s)" % name,
            lambda n: med(x["start_to_done_s"] for x in R[str(n)][proto]), 3)
        row("%s: checks per second" % name,
            lambda n: med(x["rps"] for x in R[str(n)][proto]))
        row("%s: ratio to %s ceiling (%s req/s)" % (name, tool, fmt(C[proto]["rps"])),
            lambda n: med(x["rps"] for x in R[str(n)][proto]) / C[proto]["rps"])
        row("%s: ratio to libcurl floor (%s req/s)" % (name, fmt(res["floor"][proto]["rps"])),
            lambda n: med(x["rps"] for x in R[str(n)][proto]) / res["floor"][proto]["rps"])
        row("%s: worker CPU per check ÷ %s CPU per request" % (name, tool),
            lambda n: med(x["worker_cpu_s"] for x in R[str(n)][proto]) / n * 1e6
            / C[proto]["client_cpu_us_per_req"], 1)
        row("%s: connections opened in the round" % name,
            lambda n: max(x["connections"] for x in R[str(n)][proto]), 0)
        row("%s: worker CPU per 1,000 checks (s)" % name,
            lambda n: med(x["worker_cpu_s"] for x in R[str(n)][proto]) / n * 1000, 3)
    row("collectd start-up CPU, config parse (s)",
        lambda n: med(x["main_cpu_s"] for x in R[str(n)]["h2"]), 3)
    row("fds in use: peak during round / after",
        lambda n: "%d / %d" % (max(x["fds_peak"] for x in R[str(n)]["h2"]),
                               med(x["fds_after_round"] for x in R[str(n)]["h2"])))
    M = res["memory"]
    row("RSS beyond an empty account list, KiB per account",
        lambda n: (M[str(n)]["rss_kib"] - M["0"]) / n)
    def slope(n):
        i = sizes.index(n)
        if i == 0:
            return None
        a, b = sizes[i - 1], n
        return (M[str(b)]["rss_kib"] - M[str(a)]["rss_kib"]) / (b - a)
    row("… marginal, from the previous N (KiB per account)", slope)
    row("… of which collectd's value cache (KiB per account)",
        lambda n: (M[str(n)]["rss_kib"] - M[str(n)]["rss_nocache_kib"]) / n)
    row("… the rest: plugin, config, connections (KiB per account)",
        lambda n: (M[str(n)]["rss_nocache_kib"] - M["0"]) / n)
    Cr = res["cron"]
    for mode, name in (("serial", "serial curl loop"),
                       ("xargs", "xargs -P %d curl" % args.concurrency)):
        row("%s: wall time (s)" % name, lambda n: Cr[str(n)][mode]["wall_s"], 2)
        row("%s: wall time ÷ plugin round (HTTP/2)" % name,
            lambda n: Cr[str(n)][mode]["wall_s"] / med(x["round_s"] for x in R[str(n)]["h2"]), 1)
        row("%s: CPU (s)" % name, lambda n: Cr[str(n)][mode]["cpu_s"], 2)
        row("%s: CPU ÷ plugin worker CPU" % name,
            lambda n: Cr[str(n)][mode]["cpu_s"] / med(x["worker_cpu_s"] for x in R[str(n)]["h2"]), 0)
        row("%s: connections" % name, lambda n: Cr[str(n)][mode]["connections"], 0)
    La = res["latency"]
    row("50 ms latency, MaxConcurrency %d: round (s)" % args.latency_concurrency,
        lambda n: La[str(n)]["round_s"], 2)
    row("… ideal N × 50 ms ÷ %d (s)" % args.latency_concurrency,
        lambda n: La[str(n)]["ideal_s"], 2)
    row("… round ÷ ideal", lambda n: La[str(n)]["round_s"] / La[str(n)]["ideal_s"], 3)
    row("… connections", lambda n: La[str(n)]["connections"], 0)
    return "\n".join(L)


def report_other(res):
    L = []
    D = res.get("delay")
    if D:
        L.append("* Another plugin (`load`, Interval %g s) during a %s-account round "
                 "(%.2f s) and the dispatches after it: %d values, largest gap %.2f s, "
                 "i.e. a delay of %.2f s; slow-read warnings: %d."
                 % (D["interval_s"], "{:,}".format(D["n"]), D["round_s"], D["load_values"],
                    D["max_gap_s"], D["max_delay_s"], D["slow_read_warnings"]))
    for r in res.get("ratelimit", []):
        L.append("* MaxRequestsPerSecond %d, %s accounts: busiest 1-second window at the "
                 "server %d requests (half-open [t, t+1)), %d (closed [t, t+1]); round %.1f s "
                 "(ideal %.1f s)." % (r["max_rps"], "{:,}".format(r["n"]), r["max_window"],
                                      r["max_window_closed"], r["round_s"], r["n"] / r["max_rps"]))
    S = res.get("storm")
    if S:
        L.append("* 429 storm (Retry-After: 1, %g s) at MaxRequestsPerSecond %d, %s accounts: "
                 "%.1f requests/s before, %.1f during, %.1f after; %d answers were 429; every "
                 "account linked in the end: %s." % (S["storm_s"], S["max_rps"],
                                                     "{:,}".format(S["n"]), S["rps_before"],
                                                     S["rps_during"], S["rps_after"],
                                                     S["answered_429"], S["all_linked_after"]))
    P = res.get("dispatch")
    if P:
        L.append("* Steady state, %s accounts: collectd spends %.3f s of CPU per Interval on the "
                 "plugin's values (%.1f µs per account; %s), whatever CheckInterval is."
                 % ("{:,}".format(P["n"]), P["cpu_s_per_interval"],
                    P["cpu_s_per_interval"] / P["n"] * 1e6,
                    ", ".join("%s %.3f s" % kv for kv in sorted(P["by_thread"].items())
                              if kv[1] >= 0.001)))
    return "\n".join(L)


def machine():
    cpu = ""
    for line in bl.read_text("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = ""
    for line in bl.read_text("/proc/meminfo").splitlines():
        if line.startswith("MemTotal"):
            mem = "%.0f GiB" % (int(line.split()[1]) / 1024 / 1024)
    def ver(cmd):
        try:
            return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True).stdout.splitlines()[0].strip()
        except (OSError, IndexError):
            return "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem,
            "kernel": platform.release(),
            "debian": bl.read_text("/etc/debian_version").strip(),
            "collectd": subprocess.run(["dpkg-query", "-W", "-f=${Version}", "collectd-core"],
                                       stdout=subprocess.PIPE, text=True).stdout,
            "nginx": ver(["nginx", "-v"]), "curl": ver(["curl", "-V"]),
            "wrk": ver(["wrk", "-v"]), "h2load": ver(["h2load", "--version"]),
            "load_average_at_start": bl.read_text("/proc/loadavg").split()[:3]}


# ----------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--concurrency", type=int, default=8, help="MaxConcurrency (default 8)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of rounds and ceilings")
    ap.add_argument("--ceiling-seconds", type=int, default=5)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--latency-concurrency", type=int, default=50)
    ap.add_argument("--cron-max", type=int, default=0,
                    help="run the cron alternatives on at most this many accounts and "
                         "scale linearly (0: all)")
    ap.add_argument("--skip", default="", help="comma list of scenarios to skip: "
                    "cron,latency,delay,ratelimit,storm,memory,dispatch")
    ap.add_argument("--build", default=bl.BUILD, help="directory with digicert_billing.so")
    ap.add_argument("--json", help="write all figures here")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    bl.ensure_packages(PACKAGES)
    so = os.path.join(args.build, "digicert_billing.so")
    if not os.path.exists(so):
        raise SystemExit("no %s: build first (cmake --build build)" % so)

    res = {"started": datetime.datetime.now().isoformat(timespec="seconds"),
           "machine": machine(), "sizes": sizes, "plugin": so,
           "args": vars(args), "rounds": {}, "ceiling": {}, "floor": {}, "cron": {},
           "memory": {}, "latency": {}}
    log("machine: %s" % json.dumps(res["machine"]))
    ngx = bl.Nginx(latency=args.latency)
    fleet = bl.Fleet(max(sizes + [2000]))  # the storm scenario uses 2,000
    work = tempfile.mkdtemp(prefix="dcb-bench-")
    t_begin = time.time()
    try:
        exe = build_floor(work)
        ceil_runs = {"h1": [], "h2": []}
        for n in sizes:
            res["rounds"][str(n)] = {"h1": [], "h2": []}
        # Interleave: each repetition runs every size on both protocols and
        # both ceiling tools, so slow patches of a shared machine hit all.
        for rep in range(args.reps):
            for proto in ("h2", "h1"):
                c = ceiling(ngx, proto, args.concurrency, args.ceiling_seconds)
                ceil_runs[proto].append(c)
                log("rep %d ceiling %s (%s): %.0f req/s, %.1f us CPU/req, %d connections"
                    % (rep + 1, proto, c["tool"], c["rps"], c["client_cpu_us_per_req"],
                       c["connections"]))
                for n in sizes:
                    r = plugin_round(ngx, fleet, n, proto, args.concurrency, args,
                                     dispatch=False)
                    res["rounds"][str(n)][proto].append(r)
                    log("rep %d plugin %s N=%d: round %.3f s, %.0f checks/s, %d conns, "
                        "worker %.1f us CPU/check (%.3f s waiting for a CPU), statuses %s %s"
                        % (rep + 1, proto, n, r["round_s"], r["rps"], r["connections"],
                           r["worker_cpu_s"] / n * 1e6, r["worker_wait_s"], r["statuses"],
                           r["protocols"]))
        for proto in ("h2", "h1"):
            runs = ceil_runs[proto]
            res["ceiling"][proto] = {"rps": med(c["rps"] for c in runs),
                                     "client_cpu_us_per_req":
                                         med(c["client_cpu_us_per_req"] for c in runs),
                                     "connections": max(c["connections"] for c in runs),
                                     "runs": runs}
            f = floor(ngx, exe, proto, args.concurrency, 100000)
            res["floor"][proto] = f
            log("libcurl floor %s: %.0f req/s, %.1f us CPU/req, %d connections"
                % (proto, f["rps"], f["client_cpu_us_per_req"], f["connections"]))

        if "memory" not in skip:
            res["memory"]["0"] = rss_idle(ngx, fleet, 0, args)
            log("RSS, empty account list: %d KiB" % res["memory"]["0"])
            for n in sizes:
                full = rss_idle(ngx, fleet, n, args)
                nocache = rss_idle(ngx, fleet, n, args, precache_stop=True)
                res["memory"][str(n)] = {"rss_kib": full, "rss_nocache_kib": nocache}
                log("RSS N=%d: %d KiB (%d KiB with collectd's cache bypassed)"
                    % (n, full, nocache))

        if "cron" not in skip:
            for n in sizes:
                res["cron"][str(n)] = {}
                m = min(n, args.cron_max) if args.cron_max else n
                for mode in ("serial", "xargs"):
                    c = cron(ngx, fleet, m, mode, args.concurrency)
                    if m < n:  # scaled: one process per account, linear
                        c.update({"measured_n": m, "wall_s": c["wall_s"] * n / m,
                                  "cpu_s": c["cpu_s"] * n / m,
                                  "connections": c["connections"] * n // m})
                    res["cron"][str(n)][mode] = c
                    log("cron %s N=%d: %.2f s wall, %.2f s CPU, %d connections%s"
                        % (mode, n, c["wall_s"], c["cpu_s"], c["connections"],
                           " (scaled from %d)" % m if m < n else ""))

        if "latency" not in skip and ngx.has_slow:
            for n in sizes:
                r = plugin_round(ngx, fleet, n, "h2", args.latency_concurrency, args,
                                 variant="/slow", dispatch=False)
                r["ideal_s"] = n * args.latency / args.latency_concurrency
                res["latency"][str(n)] = r
                log("latency N=%d: round %.2f s, ideal %.2f s, ratio %.3f, %d conns"
                    % (n, r["round_s"], r["ideal_s"], r["round_s"] / r["ideal_s"],
                       r["connections"]))

        big = max(sizes)
        if "dispatch" not in skip:
            res["dispatch"] = dispatch_cost(ngx, fleet, big, args)
            log("dispatch: %s" % json.dumps(res["dispatch"]))

        if "delay" not in skip:
            res["delay"] = other_plugin_delay(ngx, fleet, big, args)
            log("other plugin: %s" % json.dumps(res["delay"]))

        if "ratelimit" not in skip:
            res["ratelimit"] = []
            for n, rps in ((big, max(10, big // 10)), (min(big, 200), 20)):
                since = ngx.mark()
                r = rate_limit(ngx, fleet, n, rps, args)
                hw, cw = rate_windows(ngx, since, ngx.h2)
                r.update({"max_rps": rps, "max_window": hw, "max_window_closed": cw})
                res["ratelimit"].append(r)
                log("rate limit %d/s N=%d: busiest window %d (closed %d), round %.2f s"
                    % (rps, n, hw, cw, r["round_s"]))

        if "storm" not in skip:
            res["storm"] = storm(ngx, fleet, 2000, 200, args)
            log("storm: %s" % json.dumps(res["storm"]))
    finally:
        ngx.stop()
        ngx.cleanup()
        fleet.cleanup()
        shutil.rmtree(work, ignore_errors=True)

    res["duration_s"] = time.time() - t_begin
    res["table"] = report(res, args)  # rows of skipped scenarios show "—"
    res["other"] = report_other(res)
    print()
    print(res["table"])
    print()
    print(res["other"])
    print("\n(benchmark took %.0f s)" % res["duration_s"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
    main()

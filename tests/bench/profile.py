#!/usr/bin/env python3
"""Instruction counts of the plugin's worker per check, under callgrind.

Time on a shared 2-core machine is noisy; instructions are not. This runs
one first round of N accounts inside collectd under
`valgrind --tool=callgrind --separate-threads=yes`, keeps the worker
thread's profile, and prints instructions per check and the functions that
cost the most (inclusive), for one or more plugin builds:

  python3 tests/bench/profile.py --n 2000 --proto h2 build [other-build ...]

With --syscalls it runs collectd under `strace -f` instead and prints the
worker's system calls per check (callgrind does not see the kernel). With
--floor it also profiles curl_floor.c (the least libcurl work per request)
the same way, as the reference the plugin is compared with.

Each build is a directory holding digicert_billing.so. libcurl's internal
functions have no symbols without Debian's debug packages; they are summed
under libcurl's exported entry points (curl_multi_perform and so on).
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as bl  # noqa: E402


def profile(ngx, fleet, n, proto, build, outdir, conc=8):
    port = ngx.h2 if proto == "h2" else ngx.h1
    prefix = os.path.join(outdir, "cg")
    since = ngx.mark()
    block = fleet.block(ngx.base(proto), ngx.ca,
                        "CheckInterval 86400\nMaxConcurrency %d\nMaxRetries 0\n"
                        "MaxRequestsPerSecond 0\nTimeout 120000" % conc, n=n)
    d = bl.Collectd(block, interval=3600, build=build,
                    wrapper=["valgrind", "--tool=callgrind", "--separate-threads=yes",
                             "--callgrind-out-file=%s.%%p" % prefix])
    try:
        d.start(sample_every=0)
        recs = bl.wait_round(ngx, since, n, port, 900, d.alive)
    finally:
        d.stop(timeout=120)
        d.cleanup()
    worker = None
    for f in glob.glob(prefix + ".*"):
        with open(f, errors="replace") as fh:
            text = fh.read()
        if "dcb_engine_run" in text:
            worker = f
    if worker is None:
        raise RuntimeError("no callgrind profile of the worker thread")
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99.5", worker],
                         stdout=subprocess.PIPE, text=True).stdout
    total = None
    m = re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", ann)
    if m:
        total = int(m.group(1).replace(",", ""))
    conns = len({r.conn for r in recs})
    return total, ann, conns


def syscalls(ngx, fleet, n, proto, build, outdir, conc=8):
    port = ngx.h2 if proto == "h2" else ngx.h1
    out = os.path.join(outdir, "strace")
    since = ngx.mark()
    block = fleet.block(ngx.base(proto), ngx.ca,
                        "CheckInterval 86400\nMaxConcurrency %d\nMaxRetries 0\n"
                        "MaxRequestsPerSecond 0\nTimeout 120000" % conc, n=n)
    d = bl.Collectd(block, interval=3600, build=build,
                    wrapper=["strace", "-f", "-qq", "-o", out])
    try:
        d.start(sample_every=0)
        bl.wait_round(ngx, since, n, port, 900, d.alive)
        time.sleep(0.5)
    finally:
        d.stop(timeout=60)
        d.cleanup()
    per_tid = {}
    with open(out, errors="replace") as f:
        for line in f:
            m = re.match(r"(\d+)\s+(\w+)\(", line)
            if m:
                c = per_tid.setdefault(m.group(1), {})
                c[m.group(2)] = c.get(m.group(2), 0) + 1
    busiest = max(per_tid.values(), key=lambda c: sum(c.values()))  # the worker
    return busiest


def floor_profile(ngx, n, proto, outdir, conc=8):
    exe = os.path.join(outdir, "curl_floor")
    subprocess.run(["cc", "-O2", "-o", exe, os.path.join(bl.HERE, "curl_floor.c"), "-lcurl"],
                   check=True)
    out = os.path.join(outdir, "cg.floor")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, exe,
                    ngx.link_url(proto), ngx.ca, str(conc), str(n),
                    "2" if proto == "h2" else "1"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=99.5", out],
                         stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", ann)
    return int(m.group(1).replace(",", "")) if m else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("builds", nargs="+")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--proto", default="h2", choices=("h1", "h2"))
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--syscalls", action="store_true", help="count system calls (strace)")
    ap.add_argument("--floor", action="store_true", help="also profile curl_floor.c")
    args = ap.parse_args()
    bl.ensure_packages(["nginx", "valgrind", "strace"])
    ngx = bl.Nginx()
    fleet = bl.Fleet(args.n)
    try:
        if args.floor:
            out = tempfile.mkdtemp(prefix="dcb-callgrind-")
            total = floor_profile(ngx, args.n, args.proto, out)
            print("== libcurl floor (curl_floor.c, %s, %d requests): %s instructions per request "
                  "(whole program)" % (args.proto, args.n,
                                       "{:,.0f}".format(total / args.n) if total else "?"),
                  flush=True)
        for b in args.builds:
            out = tempfile.mkdtemp(prefix="dcb-callgrind-")
            if args.syscalls:
                c = syscalls(ngx, fleet, args.n, args.proto, b, out)
                print("== %s (%s, N=%d): %.2f system calls per check: %s"
                      % (b, args.proto, args.n, sum(c.values()) / args.n,
                         " ".join("%s %.2f" % (k, v / args.n) for k, v in
                                  sorted(c.items(), key=lambda kv: -kv[1])[:10])), flush=True)
                continue
            total, ann, conns = profile(ngx, fleet, args.n, args.proto, b, out)
            print("== %s (%s, N=%d, %d connections): %s instructions per check"
                  % (b, args.proto, args.n, conns,
                     "{:,.0f}".format(total / args.n) if total else "?"))
            lines = [l for l in ann.splitlines() if re.match(r"\s*[\d,]+ \(", l)]
            for l in lines[:args.top]:
                print("   " + l.strip()[:150])
            print("   (profile kept in %s)" % out, flush=True)
    finally:
        ngx.stop()
        ngx.cleanup()
        fleet.cleanup()


if __name__ == "__main__":
    main()

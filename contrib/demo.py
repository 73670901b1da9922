#!/usr/bin/env python3
"""Quick-start demo: the built plugin inside real collectd against dcsim.

Four accounts on a loopback simulator: one linked, one whose Partner key the
API does not know yet (FAILURE, then fixed mid-demo: OKAY), one whose first
link attempt gets a 503 (retried, then linked), one in verify mode. Prints
the live values and every notification. Keys are random and never printed.
"""
import os
import shutil
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import (CC_PATH, PLUGIN_PATH, Daemon, Sim, make_tmpdir,  # noqa: E402
                     new_key, write_key)

SECONDS = int(os.environ.get("DEMO_SECONDS", "30"))
ACCOUNTS = ("acme-eu", "acme-us", "acme-apac", "acme-audit")


def main():
    keys = {a: new_key("PK") for a in ACCOUNTS}
    cc = new_key("CC")
    partner = {
        keys["acme-eu"]: {"label": "acme-eu", "account_id": 1001},
        keys["acme-apac"]: {"label": "acme-apac", "account_id": 1003, "cycle": False,
                            "faults": [{"endpoint": "link", "status": 503,
                                        "headers": {"Retry-After": "1"}}]},
        keys["acme-audit"]: {"label": "acme-audit", "account_id": 1004},
    }
    accounts = {"partner_keys": partner,
                "certcentral_keys": {cc: {"label": "billing", "account_id": 123456}}}
    sim = Sim(accounts)
    kdir = make_tmpdir("demo-keys-")
    blocks = []
    write_key(os.path.join(kdir, "billing.key"), cc)
    for a in ACCOUNTS:
        write_key(os.path.join(kdir, a + ".key"), keys[a])
        extra = 'Mode "verify"' if a == "acme-audit" else ""
        blocks.append('<Account "%s">\n  PartnerAPIKeyFile "%s/%s.key"\n'
                      '  CertCentralAPIKeyFile "%s/billing.key"\n'
                      '  ExpectedBillingAccountID 123456\n  %s\n</Account>'
                      % (a, kdir, a, kdir, extra))
    block = ('URL "%s%s"\nCertCentralURL "%s%s"\nCACert "%s"\nCheckInterval 5\n'
             'Timeout 5000\n%s' % (sim.base, PLUGIN_PATH, sim.base, CC_PATH, sim.ca,
                                   "\n".join(blocks)))
    daemon = Daemon(block, interval=2).start()
    print("collectd %s is running the plugin against the simulator at %s"
          % ("5.12", sim.base))
    print("config: %s\n" % daemon.conf_path)
    seen = 0
    fixed = False
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < SECONDS:
            time.sleep(2)
            elapsed = time.monotonic() - t0
            if not fixed and elapsed > SECONDS / 3:
                print(">>> the partner registers acme-us's key with the API\n")
                partner[keys["acme-us"]] = {"label": "acme-us", "account_id": 1002}
                sim.set_accounts(accounts)
                fixed = True
            print("t=%3ds  %-11s %-7s %-9s %-9s %-8s %s" % (
                elapsed, "account", "linked", "checks_ok", "failed", "streak", "api secs"))
            for a in ACCOUNTS:
                def v(tti):
                    x = daemon.csv_last(a, tti)
                    return "-" if x is None else "%g" % x
                print("        %-11s %-7s %-9s %-9s %-8s %s" % (
                    a, v("bool-linked"), v("derive-checks_succeeded"),
                    v("derive-checks_failed"), v("count-consecutive_failures"),
                    v("response_time-api")))
            notes = daemon.notifications()
            for n in notes[seen:]:
                print("  NOTIFICATION %-7s %s" % (n["Severity"], n["message"]))
                for k, val in sorted(n["meta"].items()):
                    print("      %s: %s" % (k, val))
            seen = len(notes)
            print()
    finally:
        daemon.stop()
        sim.stop()
        sim.cleanup()
        shutil.rmtree(kdir, ignore_errors=True)  # keep only collectd's log
    sev = [n["Severity"] for n in daemon.notifications()]
    print("notifications: %d FAILURE, %d OKAY; collectd log: %s"
          % (sev.count("FAILURE"), sev.count("OKAY"), daemon.log_path))
    return 0 if "FAILURE" in sev and "OKAY" in sev else 1


if __name__ == "__main__":
    sys.exit(main())

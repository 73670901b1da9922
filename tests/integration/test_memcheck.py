"""collectd with the plugin under valgrind memcheck: a mixed run of good and
failing checks, key rotation and shutdown; no memory error and nothing
definitely lost in a stack that goes through the plugin."""
import os
import re
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CC_PATH, PLUGIN_PATH, Daemon, Sim, assert_no_keys,  # noqa: E402
                     make_tmpdir, new_key, read_text, wait_for, write_key)

OURS = re.compile(r"digicert_billing\.so|\bdcb_|/plugin/[a-z]+\.c")


def records(log):
    """Split a valgrind log into its records (blank '==pid==' lines part them)."""
    out, cur = [], []
    for line in log.splitlines():
        body = re.sub(r"^==\d+== ?", "", line)
        if body.strip():
            cur.append(body)
        elif cur:
            out.append("\n".join(cur))
            cur = []
    if cur:
        out.append("\n".join(cur))
    return out


class Memcheck(unittest.TestCase):
    def test_daemon_under_memcheck(self):
        keys = {n: new_key("PK") for n in ("good", "e503", "redirect", "rotated")}
        ck, bad = new_key("CC"), new_key("CC")
        partner = {
            keys["good"]: {"label": "good", "account_id": 1},
            keys["e503"]: {"label": "e503", "account_id": 2,
                           "faults": [{"endpoint": "link", "status": 503, "body": '{"errors":[]}'}]},
            keys["redirect"]: {"label": "redirect", "account_id": 3,
                               "faults": [{"endpoint": "link", "redirect": "https://127.0.0.1:1/"}]},
            keys["rotated"]: {"label": "rotated", "account_id": 4},
        }
        sim = Sim({"partner_keys": partner,
                   "certcentral_keys": {ck: {"label": "billing", "account_id": 7}}})
        kdir = make_tmpdir("keys-")
        blocks = []
        for name in ("good", "e503", "redirect", "auth", "rotate"):
            pkey = keys.get(name, new_key("PK"))
            write_key(os.path.join(kdir, name), pkey)
            cc_file = os.path.join(kdir, "cc")
            blocks.append('<Account "%s">\n PartnerAPIKeyFile "%s/%s"\n'
                          ' CertCentralAPIKeyFile "%s"\n ExpectedBillingAccountID 7\n'
                          ' CheckInterval 2\n</Account>' % (name, kdir, name, cc_file))
        write_key(os.path.join(kdir, "cc"), ck)
        vlog = os.path.join(kdir, "valgrind.log")
        block = ('URL "%s%s"\nCertCentralURL "%s%s"\nCACert "%s"\nTimeout 10000\n'
                 'MaxRetries 1\n%s' % (sim.base, PLUGIN_PATH, sim.base, CC_PATH, sim.ca,
                                       "\n".join(blocks)))
        d = Daemon(block, interval=2, wrapper=[
            "valgrind", "--log-file=" + vlog, "--leak-check=full",
            "--show-leak-kinds=definite", "--num-callers=40", "--child-silent-after-fork=yes"])
        try:
            d.start()
            d.wait_value("good", "bool-linked", 1.0, timeout=120)
            d.wait_notification("e503", "FAILURE", timeout=120)
            d.wait_notification("auth", "FAILURE", timeout=120)
            write_key(os.path.join(kdir, "rotate"), keys["rotated"])  # rotation path
            wait_for(lambda: [r for r in sim.requests() if r["partner"] == "rotated"],
                     120, what="rotated key in use")
            time.sleep(4)
            rc, took = d.stop(timeout=120)
            self.assertEqual(rc, 0)
            log = read_text(vlog)
            self.assertIn("ERROR SUMMARY", log)
            ours = [r for r in records(log) if OURS.search(r)]
            errors = [r for r in ours if not r.startswith(("HEAP SUMMARY", "LEAK SUMMARY"))]
            lost = [r for r in ours if "definitely lost" in r]
            summary = re.findall(r"(definitely lost: .*|ERROR SUMMARY: .*)", log)
            print("valgrind: %s; records through the plugin: %d"
                  % ("; ".join(summary), len(errors)))
            self.assertEqual(lost, [], "\n\n".join(lost))
            self.assertEqual(errors, [], "\n\n".join(errors[:5]))
            assert_no_keys(self, list(keys.values()) + [ck, bad], d.outputs(),
                           {"valgrind log": log})
        finally:
            if d.alive():
                d.stop(timeout=60)
            d.cleanup()
            sim.stop()
            sim.cleanup()
            shutil.rmtree(kdir, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)

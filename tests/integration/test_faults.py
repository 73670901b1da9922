"""Fault matrix: one account per fault, all in one real collectd daemon.

Every case asserts the error class in the notification meta, bool-linked 0,
the number of HTTP attempts (retries), that the daemon is still running,
and, at the end, that no key appears in any output.
"""
import base64
import email.utils
import os
import shutil
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CC_PATH, PLUGIN_PATH, Daemon, Sim, assert_no_keys,  # noqa: E402
                     make_tmpdir, new_key, wait_for, write_key)

LINK = PLUGIN_PATH + "/finance/account-link"
RETRIES = 2
TIMEOUT_MS = 1500
CAP = 4  # MaxRetryAfter


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there afterwards: connection refused
    return port


def can_isolate_dns():
    return shutil.which("unshare") is not None and os.geteuid() == 0


class FaultMatrix(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = []
        cls.certdir = make_tmpdir("certs-")
        cls.kdir = make_tmpdir("keys-")
        cls.recorder = Sim(record_raw=True, certdir=cls.certdir)
        partner, cc = {}, {}
        blocks = []
        cls.labels = {}

        def key(prefix):
            k = new_key(prefix)
            cls.keys.append(k)
            return k

        def account(name, faults=None, cc_faults=None, extra="", cycle=True):
            pk, ck = key("PK"), key("CC")
            partner[pk] = {"label": name, "account_id": len(partner) + 1,
                           "faults": faults or [], "cycle": cycle}
            cc[ck] = {"label": "cc-" + name, "account_id": 123456,
                      "faults": cc_faults or []}
            pf, cf = os.path.join(cls.kdir, name + ".p"), os.path.join(cls.kdir, name + ".c")
            write_key(pf, pk)
            write_key(cf, ck)
            blocks.append('<Account "%s">\n PartnerAPIKeyFile "%s"\n CertCentralAPIKeyFile "%s"\n %s\n</Account>'
                          % (name, pf, cf, extra))

        def link(**f):
            return [dict(endpoint="link", **f)]

        def me(**f):
            return [dict(endpoint="user-me", **f)]

        expect_id = "ExpectedBillingAccountID 123456"
        # Transport faults (their URL is set per account below).
        cls.other_ca = Sim({}, certdir=make_tmpdir("other-ca-"))
        cls.wrong_host = Sim({}, certdir=cls.certdir, extra=["--cert-host", "other.example"])
        refused = "https://127.0.0.1:%d%s" % (free_port(), PLUGIN_PATH)
        account("refused", extra='URL "%s"' % refused)
        if can_isolate_dns():
            account("dns", extra='URL "https://no-such-host.invalid%s"' % PLUGIN_PATH)
        account("unknown_ca", extra='URL "%s%s"' % (cls.other_ca.base, PLUGIN_PATH))
        account("wrong_host", extra='URL "%s%s"' % (cls.wrong_host.base, PLUGIN_PATH))
        # Server behaviour.
        account("hang", link(hang=True))
        account("drip", link(status=200, drip={"bytes": 100, "interval": 1}))
        account("reset", link(status=200, reset=True))
        for st in (500, 502, 503):
            account("s%d" % st, link(status=st))
        account("ra_seconds", link(status=429, headers={"Retry-After": "1"}))
        when = email.utils.formatdate(time.time() + 30, usegmt=True)
        account("ra_date", link(status=429, headers={"Retry-After": when}))
        account("ra_huge", link(status=429, headers={"Retry-After": "999999"}))
        for st in (301, 302, 307):
            account("redirect%d" % st, link(redirect=cls.recorder.base + "/stolen",
                                              redirect_status=st))
        account("big_error", link(status=503, body_size=2 * 1024 * 1024))
        account("big_me", cc_faults=me(status=200, body_size=2 * 1024 * 1024), extra=expect_id)
        account("bad_json", cc_faults=me(status=200, body="{not json"), extra=expect_id)
        deep = "[" * 10000 + "]" * 10000
        account("deep_json", cc_faults=me(status=200, body=deep), extra=expect_id)
        account("deep_error", link(status=400, body='{"errors":' + deep + "}"))
        evil = (b'{"errors":[{"code":"bad\\u001b[31m","message":"\\u001b[2J'
                b'wiped\\r\\nFAKE LOG LINE \xff\xfe end"}]}')
        account("injection", link(status=401, body_b64=base64.b64encode(evil).decode()))
        account("ok200", link(status=200, body="{}"))
        # Flaps every check: a rejected request (not retried, so one failed
        # check), then a success; checks are CheckInterval (1 s) apart.
        account("flap", [{"endpoint": "link", "status": 400}, None],
                extra="CheckInterval 1")

        cls.accounts = {"partner_keys": partner, "certcentral_keys": cc}
        cls.sim = Sim(cls.accounts, certdir=cls.certdir)
        block = """
URL "%(base)s%(pp)s"
CertCentralURL "%(base)s%(cp)s"
CACert "%(ca)s"
Timeout %(to)d
MaxRetries %(retries)d
MaxRetryAfter %(cap)d
CheckInterval 600
MaxConcurrency 8
MaxRequestsPerSecond 0
%(blocks)s
""" % {"base": cls.sim.base, "pp": PLUGIN_PATH, "cp": CC_PATH, "ca": cls.sim.ca,
       "to": TIMEOUT_MS, "retries": RETRIES, "cap": CAP, "blocks": "\n".join(blocks)}
        cls.daemon = Daemon(block, no_dns=can_isolate_dns()).start()

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        for s in (cls.sim, cls.recorder, cls.other_ca, cls.wrong_host):
            s.stop()
        if not os.environ.get("DCB_KEEP_TMP"):
            for x in (cls.daemon, cls.sim, cls.recorder, cls.other_ca, cls.wrong_host):
                x.cleanup()
            shutil.rmtree(cls.kdir, ignore_errors=True)
            shutil.rmtree(cls.certdir, ignore_errors=True)

    def failed(self, account, cls_name, attempts, status=None, timeout=90):
        n = self.daemon.wait_notification(account, "FAILURE", timeout=timeout)[0]
        self.assertEqual(n["meta"]["error_class"], cls_name, n)
        self.assertEqual(n["meta"]["attempts"], str(attempts), n)
        if status is None:
            self.assertNotIn("http_status", n["meta"], n)
        else:
            self.assertEqual(n["meta"].get("http_status"), str(status), n)
        self.daemon.wait_value(account, "bool-linked", 0.0)
        self.assertTrue(self.daemon.alive())
        return n

    def put_times(self, label):
        return [r["t"] for r in self.sim.requests()
                if r["partner"] == label and r["path"] == LINK]

    # --- transport
    def test_connection_refused(self):
        n = self.failed("refused", "network", RETRIES + 1)
        self.assertIn("connect", n["meta"]["detail"].lower())

    @unittest.skipUnless(can_isolate_dns(), "needs root and unshare(1)")
    def test_dns_name_does_not_resolve(self):
        n = self.failed("dns", "network", RETRIES + 1)
        self.assertIn("resolve", n["meta"]["detail"].lower())

    def test_tls_unknown_ca(self):
        n = self.failed("unknown_ca", "tls", 1)
        self.assertIn("certificate", n["meta"]["detail"].lower())
        self.assertEqual(self.other_ca.requests(), [])  # no request got through

    def test_tls_wrong_host_name(self):
        self.failed("wrong_host", "tls", 1)
        self.assertEqual(self.wrong_host.requests(), [])

    def test_never_answers(self):
        n = self.failed("hang", "network", RETRIES + 1)
        self.assertIn("timed out", n["meta"]["detail"].lower())

    def test_body_dripped_slower_than_timeout(self):
        n = self.failed("drip", "network", RETRIES + 1)
        self.assertIn("timed out", n["meta"]["detail"].lower())

    def test_reset_mid_response(self):
        self.failed("reset", "network", RETRIES + 1)

    # --- HTTP status
    def test_5xx_retried_then_server(self):
        for st in (500, 502, 503):
            self.failed("s%d" % st, "server", RETRIES + 1, st)
            self.assertEqual(len(self.put_times("s%d" % st)), RETRIES + 1)

    def assert_gaps(self, label, low, high):
        times = wait_for(lambda: (lambda t: t if len(t) >= RETRIES + 1 else None)(
            self.put_times(label)), 90, what="%s retries" % label)
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(low <= g <= high for g in gaps), (label, gaps))

    def test_429_retry_after_seconds(self):
        self.failed("ra_seconds", "rate_limited", RETRIES + 1, 429)
        self.assert_gaps("ra_seconds", 0.9, 60)

    def test_429_retry_after_http_date_is_capped(self):
        self.failed("ra_date", "rate_limited", RETRIES + 1, 429)
        # The date is 30 s ahead: the wait is MaxRetryAfter, not backoff (<= 2 s).
        self.assert_gaps("ra_date", CAP - 0.5, 60)

    def test_429_huge_retry_after_is_capped(self):
        self.failed("ra_huge", "rate_limited", RETRIES + 1, 429)
        self.assert_gaps("ra_huge", CAP - 0.5, 60)

    def test_redirects_are_not_followed(self):
        for st in (301, 302, 307):
            self.failed("redirect%d" % st, "unexpected_response", 1, st)
        time.sleep(0.5)
        self.assertEqual(self.recorder.requests(), [])

    def test_2mb_bodies_are_cut(self):
        self.failed("big_error", "server", RETRIES + 1, 503)
        n = self.failed("big_me", "unexpected_response", 1, 200)
        self.assertIn("account_id", n["meta"]["detail"])

    def test_invalid_and_deep_json(self):
        self.failed("bad_json", "unexpected_response", 1, 200)
        self.failed("deep_json", "unexpected_response", 1, 200)
        n = self.failed("deep_error", "rejected", 1, 400)
        self.assertNotIn("api_error_code", n["meta"])

    def test_log_injection_is_neutralised(self):
        n = self.failed("injection", "auth", 1, 401)
        text = n["meta"]["api_error_message"] + n["meta"]["api_error_code"] + n["message"]
        for bad in ("\x1b", "\r", "\xff", "\ufffd"):
            self.assertNotIn(bad, text)
        self.assertIn("wiped FAKE LOG LINE ?? end", n["meta"]["api_error_message"])
        log = self.daemon.log()
        self.assertNotIn("\x1b", log)
        for line in log.splitlines():
            self.assertTrue(line.startswith("["), "a log line was forged: %r" % line[:60])

    def test_200_instead_of_204(self):
        self.failed("ok200", "unexpected_response", 1, 200)

    def test_flapping_gives_one_notification_per_flip(self):
        self.daemon.wait_notification("flap", "OKAY", count=3, timeout=90)
        # Stop the flapping; the account must settle on OKAY and stay quiet.
        accounts = dict(self.accounts)
        accounts["partner_keys"] = {k: (dict(v, faults=[]) if v["label"] == "flap" else v)
                                    for k, v in self.accounts["partner_keys"].items()}
        self.sim.set_accounts(accounts)

        def settled():
            seq = [n["Severity"] for n in self.daemon.notifications_for("flap")]
            return seq if seq and seq[-1] == "OKAY" and \
                self.daemon.getval("flap", "count-consecutive_failures") == 0.0 else None
        wait_for(settled, 60, what="flap settled on OKAY")
        before = settled()
        time.sleep(3)  # more good checks: the state holds, nothing is sent
        seq = [n["Severity"] for n in self.daemon.notifications_for("flap")]
        self.assertEqual(seq, before)
        # One notification per flip, never more, never fewer: the state
        # alternates, so the notifications must too, starting with FAILURE.
        # (Two alike in a row would be a repeat, or a flip left unreported.)
        self.assertGreaterEqual(len(seq), 6)
        self.assertEqual(seq, ["FAILURE", "OKAY"] * (len(seq) // 2), seq)
        # And never more than the checks that could have caused them.
        failed = self.daemon.csv_last("flap", "derive-checks_failed")
        ok = self.daemon.csv_last("flap", "derive-checks_succeeded")
        self.assertLessEqual(seq.count("FAILURE"), failed)
        self.assertLessEqual(seq.count("OKAY"), ok)

    def test_zz_no_key_anywhere_and_daemon_alive(self):
        wait_for(lambda: len({n.get("PluginInstance") for n in self.daemon.notifications()})
                 >= 20, 120, what="failures from every faulty account")
        self.assertTrue(self.daemon.alive())
        outputs = self.daemon.outputs()
        assert_no_keys(self, self.keys, outputs, self.sim.outputs(), self.recorder.outputs(),
                       self.other_ca.outputs(), self.wrong_host.outputs())


if __name__ == "__main__":
    unittest.main(verbosity=2)

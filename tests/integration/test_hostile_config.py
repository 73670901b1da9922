"""Hostile configuration against the real daemon: every bad input gets a
clear error naming the option or account, never a crash, never a key."""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CC_PATH, PLUGIN_PATH, Daemon, Sim, assert_no_keys,  # noqa: E402
                     make_tmpdir, new_key, write_key)

BIG = "x" * (100 * 1024)

# (option, bad value as config text, text the error must contain)
PLUGIN_CASES = [
    ("URL", "42", '"URL" needs exactly one string'),
    ("URL", '""', 'option "URL" must be 1 to'),
    ("URL", '"%s"' % BIG, 'option "URL" must be 1 to'),
    ("CertCentralURL", "true", '"CertCentralURL" needs exactly one string'),
    ("CheckInterval", '"hourly"', '"CheckInterval" needs exactly one number'),
    ("CheckInterval", "-5", '"CheckInterval" must be'),
    ("CheckInterval", "1000000000000", '"CheckInterval" must be'),
    ("Timeout", "0", '"Timeout" must be'),
    ("Timeout", "1500000000", '"Timeout" must be'),
    ("Timeout", "1e9", '"Timeout" needs exactly one number'),
    ("Timeout", "2500.5", '"Timeout" must be a whole number'),
    ("MaxConcurrency", "-1", '"MaxConcurrency" must be'),
    ("MaxConcurrency", "100000", '"MaxConcurrency" must be'),
    ("MaxRequestsPerSecond", "-0.5", '"MaxRequestsPerSecond" must be'),
    ("MaxRetries", "99", '"MaxRetries" must be'),
    ("MaxRetryAfter", "86400", '"MaxRetryAfter" must be'),
    ("CACert", "1 2", '"CACert" needs exactly one string'),
    ("Proxy", '""', 'option "Proxy" must be 1 to'),
    ("VerifyPeer", '"maybe"', '"VerifyPeer" needs exactly one boolean'),
    ("AllowPlainHTTP", "1", '"AllowPlainHTTP" needs exactly one boolean'),
    ("Bogus", "1", 'unknown option "Bogus"'),
]
ACCOUNT_CASES = [
    ("Mode", '"destroy"', 'Account "a": option "Mode" must be "enforce" or "verify"'),
    ("ExpectedBillingAccountID", "-3", 'Account "a": option "ExpectedBillingAccountID" must be'),
    ("ExpectedBillingAccountID", '"abc"', 'Account "a": option "ExpectedBillingAccountID" needs'),
    ("CheckInterval", "0", 'Account "a": option "CheckInterval" must be'),
    ("PartnerAPIKeyFile", '""', 'Account "a": option "PartnerAPIKeyFile" must be 1 to'),
    ("PartnerAPIKey", '"has space"', 'Account "a": option "PartnerAPIKey": the key contains'),
    ("Nonsense", "1", 'Account "a": unknown option "Nonsense"'),
]


def account(name, pf, cf, extra=""):
    return '<Account "%s">\n PartnerAPIKeyFile "%s"\n CertCentralAPIKeyFile "%s"\n%s\n</Account>\n' % (
        name, pf, cf, extra)


class HostileConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.kdir = make_tmpdir("keys-")
        cls.pk, cls.ck = new_key("PK"), new_key("CC")
        cls.pf, cls.cf = os.path.join(cls.kdir, "p"), os.path.join(cls.kdir, "c")
        write_key(cls.pf, cls.pk)
        write_key(cls.cf, cls.ck)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.kdir, ignore_errors=True)

    def run_T(self, block, notify_exec=True):
        d = Daemon(block, notify_exec=notify_exec)
        try:
            rc, out = d.run_T()
            outputs = d.outputs()
        finally:
            d.cleanup()
        # A clean exit code, never a signal (a crash shows as negative).
        self.assertGreaterEqual(rc, 0, out[-2000:])
        assert_no_keys(self, [self.pk, self.ck], outputs)
        return rc, out

    def test_every_bad_plugin_option_is_named(self):
        good = account("a", self.pf, self.cf)
        for opt, value, expect in PLUGIN_CASES:
            with self.subTest(option=opt, value=value[:20]):
                rc, out = self.run_T("%s %s\n%s" % (opt, value, good))
                self.assertEqual(rc, 1, out[-1500:])
                self.assertIn(expect, out)
                self.assertNotIn(BIG[:1000], out)  # a 100 KiB value is not echoed

    def test_every_bad_account_option_is_named(self):
        for opt, value, expect in ACCOUNT_CASES:
            with self.subTest(option=opt, value=value):
                rc, out = self.run_T(account("a", self.pf, self.cf, "%s %s" % (opt, value)))
                self.assertEqual(rc, 1, out[-1500:])
                self.assertIn(expect, out)

    def test_bad_inline_key_is_not_echoed(self):
        rc, out = self.run_T('<Account "a">\n PartnerAPIKey "%s x"\n'
                             ' CertCentralAPIKeyFile "%s"\n</Account>' % (self.pk, self.cf))
        self.assertEqual(rc, 1)
        self.assertIn('option "PartnerAPIKey": the key contains', out)

    def test_duplicate_account_name(self):
        rc, out = self.run_T(account("a", self.pf, self.cf) + account("a", self.pf, self.cf))
        self.assertEqual(rc, 1)
        self.assertIn('<Account "a"> is defined twice', out)

    def test_hostile_key_files_fail_their_account_only(self):
        kd = self.kdir
        os.mkdir(os.path.join(kd, "dir"))
        os.mkfifo(os.path.join(kd, "fifo"), 0o600)
        write_key(os.path.join(kd, "open"), self.pk, 0o644)
        os.symlink(os.path.join(kd, "open"), os.path.join(kd, "link"))
        with open(os.path.join(kd, "nul"), "wb") as f:
            f.write(self.pk[:8].encode() + b"\0" + self.pk[8:].encode())
        os.chmod(os.path.join(kd, "nul"), 0o600)
        cases = {"dir": "is not a regular file", "fifo": "is not a regular file",
                 "link": "is accessible by others", "nul": "contains a NUL byte",
                 "missing": "cannot be opened"}
        sim = Sim({"partner_keys": {self.pk: {"label": "good", "account_id": 1}},
                   "certcentral_keys": {self.ck: {"label": "billing", "account_id": 2}}})
        try:
            block = 'URL "%s%s"\nCertCentralURL "%s%s"\nCACert "%s"\nTimeout 5000\n' % (
                sim.base, PLUGIN_PATH, sim.base, CC_PATH, sim.ca)
            block += account("good", self.pf, self.cf)
            for name in cases:
                block += account(name, os.path.join(kd, name), self.cf)
            d = Daemon(block, interval=2).start()
            try:
                d.wait_value("good", "bool-linked", 1.0)
                for name, why in cases.items():
                    n = d.wait_notification(name, "FAILURE")[0]
                    self.assertEqual(n["meta"]["error_class"], "config")
                    self.assertIn(why, n["meta"]["detail"])
                    self.assertIn(os.path.join(kd, name), n["meta"]["detail"])
                self.assertTrue(d.alive())
            finally:
                d.stop()
                assert_no_keys(self, [self.pk, self.ck], d.outputs(), sim.outputs())
                d.cleanup()
            # Only the good account's key ever reached the API.
            self.assertEqual({r["partner"] for r in sim.requests()}, {"good"})
        finally:
            sim.stop()
            sim.cleanup()

    def test_ten_thousand_accounts_load(self):
        n = 10000
        block = "CheckInterval 3600\nMaxRequestsPerSecond 0\n" + "".join(
            account("acct%05d" % i, os.path.join(self.kdir, "absent%d" % i), self.cf)
            for i in range(n))
        # No NotificationExec here: 10,000 FAILUREs would fork 10,000 shells.
        rc, out = self.run_T(block, notify_exec=False)
        self.assertEqual(rc, 0, out[-1500:])
        self.assertIn("checking %d account(s)" % n, out)
        self.assertIn('account "acct09999" failed: config', out)


if __name__ == "__main__":
    unittest.main(verbosity=2)

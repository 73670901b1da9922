"""The plugin inside the real collectd daemon against the dcsim simulator."""
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CC_PATH, PLUGIN_PATH, Daemon, Sim, assert_no_keys,  # noqa: E402
                     make_tmpdir, new_key, read_text, wait_for, write_key)

LINK = PLUGIN_PATH + "/finance/account-link"
APIKEY = PLUGIN_PATH + "/api-key"
USERME = CC_PATH + "/user/me"


def account_block(name, pfile, cfile, extra=""):
    return """<Account "%s">
  PartnerAPIKeyFile "%s"
  CertCentralAPIKeyFile "%s"
  %s
</Account>
""" % (name, pfile, cfile, extra)


class Scenarios(unittest.TestCase):
    """One daemon, one account per behaviour; each test checks one account."""

    @classmethod
    def setUpClass(cls):
        cls.keys = {}
        k = cls.keys
        for name in ("good", "badpartner", "server", "ratelimit", "hang",
                     "redirect", "mismatch", "verify", "badperm", "fixme",
                     "rotate", "rotate2"):
            k["p_" + name] = new_key("PK")
        k["cc"] = new_key("CC")
        k["cc_bad"] = new_key("CCBAD")  # unknown to the API
        k["p_badcc"] = new_key("PK")

        # Same CA as the API: following the redirect would succeed and leak.
        cls.certdir = make_tmpdir("certs-")
        cls.recorder = Sim(record_raw=True, certdir=cls.certdir)
        cls.redirect_target = cls.recorder.base + "/stolen"
        partner = {}

        def p(name, account_id, **extra):
            partner[k["p_" + name]] = dict(label=name, account_id=account_id, **extra)

        p("good", 1)
        p("badcc", 2)
        p("server", 3, faults=[{"endpoint": "link", "status": 503,
                                "body": '{"errors":[{"code":"maintenance","message":"down"}]}'}])
        p("ratelimit", 4, faults=[{"endpoint": "link", "status": 429,
                                   "headers": {"Retry-After": "2"},
                                   "body": '{"errors":[{"code":"request_limit_exceeded","message":"Service unavailable, please limit request volume"}]}'}])
        p("hang", 5, faults=[{"endpoint": "link", "hang": True}])
        p("redirect", 6, faults=[{"endpoint": "link", "redirect": cls.redirect_target}])
        p("mismatch", 7)
        p("verify", 8)
        p("badperm", 9)
        p("rotate", 10)
        p("rotate2", 11)
        # "badpartner" and "fixme" are unknown to the API at first.
        cls.partner = partner
        cls.accounts = {"partner_keys": partner,
                        "certcentral_keys": {k["cc"]: {"label": "billing", "account_id": 123456}}}
        cls.sim = Sim(cls.accounts, certdir=cls.certdir)

        cls.kdir = make_tmpdir("keys-")
        files = {}
        for name, key in k.items():
            path = os.path.join(cls.kdir, name + ".key")
            write_key(path, key, 0o644 if name == "p_badperm" else 0o600)
            files[name] = path
        cls.files = files
        f = files
        accounts = "".join([
            account_block("good", f["p_good"], f["cc"], "ExpectedBillingAccountID 123456"),
            account_block("badcc", f["p_badcc"], f["cc_bad"]),
            account_block("badpartner", f["p_badpartner"], f["cc"]),
            account_block("server", f["p_server"], f["cc"]),
            account_block("ratelimit", f["p_ratelimit"], f["cc"]),
            account_block("hang", f["p_hang"], f["cc"]),
            account_block("redirect", f["p_redirect"], f["cc"]),
            account_block("mismatch", f["p_mismatch"], f["cc"], "ExpectedBillingAccountID 999"),
            account_block("verify", f["p_verify"], f["cc"], 'Mode "verify"\n  ExpectedBillingAccountID 123456'),
            account_block("badperm", f["p_badperm"], f["cc"]),
            account_block("fixme", f["p_fixme"], f["cc"], "CheckInterval 2"),
            account_block("rotate", f["p_rotate"], f["cc"], "CheckInterval 2"),
        ])
        block = """
URL "%(base)s%(pp)s"
CertCentralURL "%(base)s%(cp)s"
CACert "%(ca)s"
Timeout 1500
MaxRetries 2
CheckInterval 600
MaxConcurrency 4
MaxRequestsPerSecond 50
%(accounts)s
""" % {"base": cls.sim.base, "pp": PLUGIN_PATH, "cp": CC_PATH, "ca": cls.sim.ca,
       "accounts": accounts}
        cls.daemon = Daemon(block).start()
        # Every account but the slow ones has finished its first check when
        # its bool-linked value exists.
        wait_for(lambda: all(cls.daemon.getval(a, "bool-linked") is not None
                             for a in ("good", "badcc", "server", "mismatch", "verify",
                                       "badperm", "redirect")),
                 60, what="first round")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.sim.stop()
        cls.recorder.stop()
        keep = os.environ.get("DCB_KEEP_TMP")
        if not keep:
            for x in (cls.daemon, cls.sim, cls.recorder):
                x.cleanup()
            shutil.rmtree(cls.kdir, ignore_errors=True)
            shutil.rmtree(cls.certdir, ignore_errors=True)

    # --- helpers
    def reqs(self, label, path=None, method=None):
        return [r for r in self.sim.requests()
                if (r["partner"] == label or (label is None))
                and (path is None or r["path"] == path)
                and (method is None or r["method"] == method)]

    def failure(self, account):
        ns = self.daemon.wait_notification(account, "FAILURE")
        return ns[0]

    def assert_failed(self, account, cls_name, status=None):
        self.daemon.wait_value(account, "bool-linked", 0.0)
        n = self.failure(account)
        self.assertEqual(n["meta"]["error_class"], cls_name, n)
        self.assertEqual(n["meta"]["account"], account)
        self.assertEqual(n["Plugin"], "digicert_billing")
        self.assertEqual(n["Type"], "bool")
        self.assertEqual(n["TypeInstance"], "linked")
        self.assertLessEqual(len(n["message"].encode()), 255)
        self.assertIn('account "%s" failed: %s' % (account, cls_name), n["message"])
        if status is not None:
            self.assertEqual(n["meta"].get("http_status"), str(status), n)
        return n

    # --- the good path
    def test_good_account_is_linked_with_one_correct_put(self):
        self.daemon.wait_value("good", "bool-linked", 1.0)
        puts = self.reqs("good", LINK, "PUT")
        self.assertEqual(len(puts), 1, puts)
        put = puts[0]
        self.assertEqual(put["devkey"], "billing")  # both headers, right keys
        self.assertEqual(put["content_length"], 0)
        self.assertEqual(put["body_len"], 0)
        self.assertRegex(put["user_agent"], r"^collectd-digicert-billing/\d+\.\d+\.\d+$")
        # ExpectedBillingAccountID: the devkey was checked first.
        me = [r for r in self.sim.requests() if r["path"] == USERME and r["t"] <= put["t"]]
        self.assertTrue(me)
        self.assertEqual(self.daemon.getval("good", "count-consecutive_failures"), 0.0)
        self.assertIsNotNone(self.daemon.getval("good", "timestamp-last_success"))
        self.assertGreater(self.daemon.getval("good", "response_time-api"), 0.0)
        self.assertEqual(self.daemon.notifications_for("good"), [])  # no OKAY at start

    def test_values_cover_every_documented_metric(self):
        self.daemon.wait_value("good", "bool-linked", 1.0)
        names = set(v.split("/", 1)[1] for v in self.daemon.listval())
        for tti in ("bool-linked", "bool-transient_failure", "response_time-api", "derive-checks_succeeded",
                    "derive-checks_failed", "count-consecutive_failures",
                    "timestamp-last_success"):
            self.assertIn("digicert_billing-good/" + tti, names)
        # A failing account has no last_success until it succeeds.
        self.assertNotIn("digicert_billing-badcc/timestamp-last_success", names)

    # --- failures, one class each
    def test_rejected_certcentral_key(self):
        n = self.assert_failed("badcc", "auth", 403)
        self.assertEqual(n["meta"]["api_error_code"], "access_denied|invalid_devkey")
        self.assertIn("cannot be resolved", n["meta"]["api_error_message"])
        self.assertEqual(n["meta"]["attempts"], "1")  # auth is not retried

    def test_rejected_partner_key(self):
        n = self.assert_failed("badpartner", "auth", 401)
        self.assertEqual(n["meta"]["api_error_code"], "invalid_api_key")

    def test_server_error_is_retried_then_reported(self):
        n = self.assert_failed("server", "server", 503)
        self.assertEqual(n["meta"]["attempts"], "3")  # MaxRetries 2
        self.assertEqual(len(self.reqs("server", LINK)), 3)
        self.assertEqual(n["meta"]["api_error_code"], "maintenance")

    def test_rate_limit_honours_retry_after(self):
        n = self.assert_failed("ratelimit", "rate_limited", 429)
        self.assertEqual(n["meta"]["attempts"], "3")
        times = [r["t"] for r in self.reqs("ratelimit", LINK)]
        self.assertEqual(len(times), 3)
        gaps = [b - a for a, b in zip(times, times[1:])]
        # Retry-After: 2 must be waited out, even though backoff alone is shorter.
        self.assertTrue(all(g >= 1.9 for g in gaps), gaps)

    def test_transient_failure_flag_tells_api_trouble_from_account_trouble(self):
        self.assert_failed("server", "server")
        self.assert_failed("badcc", "auth")
        self.assertEqual(self.daemon.getval("server", "bool-transient_failure"), 1.0)
        self.assertEqual(self.daemon.getval("badcc", "bool-transient_failure"), 0.0)
        self.daemon.wait_value("good", "bool-linked", 1.0)
        self.assertEqual(self.daemon.getval("good", "bool-transient_failure"), 0.0)

    def test_hang_past_timeout(self):
        n = self.assert_failed("hang", "network")
        self.assertEqual(n["meta"]["attempts"], "3")
        self.assertIn("timed out", n["meta"]["detail"].lower())
        self.assertTrue(self.daemon.alive())

    def test_redirect_is_not_followed(self):
        n = self.assert_failed("redirect", "unexpected_response", 302)
        self.assertEqual(n["meta"]["attempts"], "1")
        time.sleep(0.5)
        self.assertEqual(self.recorder.requests(), [])  # it received nothing

    def test_billing_account_mismatch_does_not_link(self):
        n = self.assert_failed("mismatch", "billing_account_mismatch")
        self.assertEqual(n["meta"]["billing_account_id"], "123456")
        self.assertEqual(self.reqs("mismatch", LINK), [])  # never linked
        self.assertIn("expected 999", n["meta"]["detail"])

    def test_world_readable_key_file_fails_only_that_account(self):
        n = self.assert_failed("badperm", "config")
        self.assertIn("accessible by others", n["message"] + n["meta"].get("detail", ""))
        self.assertEqual(self.reqs("badperm"), [])  # the key was never sent
        self.daemon.wait_value("good", "bool-linked", 1.0)

    # --- verify mode
    def test_verify_changes_nothing(self):
        self.daemon.wait_value("verify", "bool-linked", 1.0)
        mine = self.reqs("verify")
        self.assertEqual([(r["method"], r["path"]) for r in mine], [("GET", APIKEY)])
        self.assertFalse([r for r in self.sim.requests()
                          if r["method"] == "PUT" and r["partner"] == "verify"])

    # --- recovery and rotation
    def test_fixed_fault_gives_one_okay(self):
        self.assert_failed("fixme", "auth", 401)
        accounts = dict(self.accounts)
        accounts["partner_keys"] = dict(self.partner)
        accounts["partner_keys"][self.keys["p_fixme"]] = {"label": "fixme", "account_id": 12}
        self.sim.set_accounts(accounts)
        okay = self.daemon.wait_notification("fixme", "OKAY", timeout=30)
        self.assertEqual(len(okay), 1)
        self.assertIn('account "fixme" is OK again', okay[0]["message"])
        self.daemon.wait_value("fixme", "bool-linked", 1.0)
        # Exactly one FAILURE before the OKAY, however many checks failed.
        self.assertEqual(len([n for n in self.daemon.notifications_for("fixme")
                              if n["Severity"] == "FAILURE"]), 1)
        self.assertGreaterEqual(self.daemon.getval("fixme", "derive-checks_failed") or 0, 0)

    def test_key_file_rotation_without_restart(self):
        wait_for(lambda: self.reqs("rotate", LINK), 30, what="first rotate PUT")
        write_key(self.files["p_rotate"], self.keys["p_rotate2"])
        wait_for(lambda: self.reqs("rotate2", LINK), 30, what="PUT with the rotated key")
        self.daemon.wait_value("rotate", "bool-linked", 1.0)

    # --- secrets, last (unittest sorts names; zz runs after the others)
    def test_zz_no_key_in_any_output(self):
        self.daemon.wait_notification("hang", "FAILURE", timeout=60)
        outputs = self.daemon.outputs()
        outputs["listval"] = "\n".join(self.daemon.listval())
        assert_no_keys(self, self.keys.values(), outputs, self.sim.outputs(),
                       self.recorder.outputs())
        self.assertTrue(self.daemon.alive())


class Smoke(unittest.TestCase):
    def setUp(self):
        self.pk, self.ck = new_key("PK"), new_key("CC")
        self.sim = Sim({"partner_keys": {self.pk: {"label": "good", "account_id": 1}},
                        "certcentral_keys": {self.ck: {"label": "billing", "account_id": 5}}})
        self.kdir = make_tmpdir("keys-")
        self.pf, self.cf = self.kdir + "/p.key", self.kdir + "/c.key"
        write_key(self.pf, self.pk)
        write_key(self.cf, self.ck)

    def tearDown(self):
        self.sim.stop()
        self.sim.cleanup()
        shutil.rmtree(self.kdir, ignore_errors=True)

    def block(self, extra=""):
        return 'URL "%s%s"\nCertCentralURL "%s%s"\nCACert "%s"\nTimeout 5000\n%s\n%s' % (
            self.sim.base, PLUGIN_PATH, self.sim.base, CC_PATH, self.sim.ca, extra,
            account_block("good", self.pf, self.cf))

    def test_collectd_T_exits_0_with_real_results(self):
        d = Daemon(self.block())
        rc, out = d.run_T()
        self.assertEqual(rc, 0, out)
        # The first read waited for the first round: a real value was written.
        wait_for(lambda: any(f.startswith("bool-linked") for _, _, fs in
                             os.walk(d.csv_dir) for f in fs), 5, what="csv bool-linked")
        rows = [Daemon.text(os.path.join(r, f)) for r, _, fs in os.walk(d.csv_dir)
                for f in fs if f.startswith("bool-linked")]
        self.assertIn(",1.000000", rows[0])
        assert_no_keys(self, [self.pk, self.ck], d.outputs())
        d.cleanup()

    def test_unknown_option_fails_config_and_names_it(self):
        d = Daemon(self.block("Bogus 1"))
        rc, out = d.run_T()
        self.assertNotEqual(rc, 0)
        self.assertIn('unknown option "Bogus"', out)
        d.cleanup()

    def test_plain_http_refused_by_default(self):
        block = self.block().replace("https://", "http://")
        d = Daemon(block)
        rc, out = d.run_T()
        self.assertNotEqual(rc, 0)
        self.assertIn('option "URL" uses plain http://', out)
        self.assertEqual(self.sim.requests(), [])
        d.cleanup()

    def test_inline_key_warns_and_is_not_logged(self):
        block = self.block().replace('PartnerAPIKeyFile "%s"' % self.pf,
                                     'PartnerAPIKey "%s"' % self.pk)
        d = Daemon(block)
        rc, out = d.run_T()
        self.assertEqual(rc, 0, out)
        self.assertIn("API key given inline", out)
        assert_no_keys(self, [self.pk, self.ck], d.outputs())
        d.cleanup()

    def test_shipped_example_config_parses(self):
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                               "contrib", "digicert_billing.conf.example")
        text = read_text(example).replace("LoadPlugin digicert_billing", "")
        d = Daemon(text.split("<Plugin digicert_billing>", 1)[1].rsplit("</Plugin>", 1)[0])
        rc, out = d.run_T()
        self.assertEqual(rc, 0, out)
        # Its key files do not exist here: each account fails alone, by name.
        self.assertIn('key file "/etc/collectd/digicert/acme-eu.key" cannot be opened', out)
        self.assertIn('account "acme-us" failed: config', out)
        d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)

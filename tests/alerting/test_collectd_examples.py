"""The collectd-side alerting examples in contrib/collectd/, inside the real
collectd with the built plugin against the simulator:

* threshold.conf: collectd's threshold plugin turns bool-linked 0 into a
  FAILURE and back to OKAY, and bool-transient_failure 1 into a WARNING;
* notify_webhook.conf + notify_webhook.py: every notification is POSTed as
  JSON to a (loopback) webhook, with account, severity and error class;
* the Graphite and InfluxDB names the README's example queries use are the
  ones write_graphite and write_influxdb_udp really send.
"""
import json
import os
import re
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alerting_support import (COLLECTD_DIR, Accounts, Daemon, LineReceiver, Webhook,  # noqa: E402
                              alerting_docs, assert_no_keys, keep_tmp, make_tmpdir, read,
                              wait_for)

SERVER_FAULT = {"faults": [{"endpoint": "link", "status": 503}]}


def threshold_notifications(daemon, account, severity=None, type_instance="linked"):
    """Notifications that come from the threshold plugin (its meta data)."""
    return [n for n in daemon.notifications_for(account)
            if "FailureMin" in n["meta"] and n.get("TypeInstance") == type_instance
            and (severity is None or n.get("Severity") == severity)]


def plugin_notifications(daemon, account, severity):
    return [n for n in daemon.notifications_for(account)
            if "error_class" in n["meta"] and n.get("Severity") == severity]


class CollectdExamples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.acc = Accounts({"acme-good": "good", "acme-bad": "bad", "acme-flaky": SERVER_FAULT})
        cls.webhook = Webhook()
        cls.graphite = LineReceiver()
        cls.influx = LineReceiver(udp=True)
        cls.tmp = make_tmpdir("notify-")
        # The script and URL file where NotificationExec's user ("nobody") can
        # read them, as an operator would install them.
        cls.script = os.path.join(cls.tmp, "notify_webhook.py")
        shutil.copyfile(os.path.join(COLLECTD_DIR, "notify_webhook.py"), cls.script)
        os.chmod(cls.script, 0o755)
        cls.url_file = os.path.join(cls.tmp, "webhook.url")
        with open(cls.url_file, "w") as f:
            f.write(cls.webhook.url + "\n")
        os.chmod(cls.url_file, 0o644)

        hook = read(os.path.join(COLLECTD_DIR, "notify_webhook.conf"))
        for old, new in (('"collectd-notify"', '"nobody"'),
                         ('"/usr/local/lib/collectd/notify_webhook.py"', '"%s"' % cls.script),
                         ('"@/etc/collectd/webhook.url"', '"@%s"' % cls.url_file)):
            assert hook.count(old) == 1, old
            hook = hook.replace(old, new)
        # The harness already loads exec for its own NotificationExec.
        hook = hook.replace("LoadPlugin exec\n", "")
        extra = read(os.path.join(COLLECTD_DIR, "threshold.conf")) + hook + """
LoadPlugin write_graphite
<Plugin write_graphite>
  <Node "test">
    Host "127.0.0.1"
    Port "%d"
  </Node>
</Plugin>
LoadPlugin write_influxdb_udp
<Plugin write_influxdb_udp>
  Server "127.0.0.1" "%d"
</Plugin>
""" % (cls.graphite.port, cls.influx.port)
        cls.daemon = Daemon(cls.acc.plugin_block(), extra=extra).start()
        wait_for(lambda: all(cls.daemon.getval(a, "bool-linked") is not None
                             for a in ("acme-good", "acme-bad", "acme-flaky")),
                 60, what="first checks of all accounts")

    @classmethod
    def tearDownClass(cls):
        cls.daemon.stop()
        cls.acc.stop()
        for r in (cls.webhook, cls.graphite, cls.influx):
            r.stop()
        if not keep_tmp():
            cls.daemon.cleanup()
            cls.acc.cleanup()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def posts_for(self, account, severity=None, pred=None):
        return [p for p in self.webhook.json_posts()
                if p.get("plugin_instance") == account
                and (severity is None or p.get("severity") == severity)
                and (pred is None or pred(p))]

    # --- threshold plugin
    def test_threshold_failure_when_not_linked(self):
        ns = wait_for(lambda: threshold_notifications(self.daemon, "acme-bad", "FAILURE"), 30,
                      what="threshold FAILURE for acme-bad")
        n = ns[0]
        self.assertEqual(n["Plugin"], "digicert_billing")
        self.assertEqual(n["Type"], "bool")
        self.assertIn("below the failure threshold of 0.5", n["message"])
        self.assertEqual(float(n["meta"]["CurrentValue"]), 0.0)
        # Not repeated while the state holds (Persist false).
        wait_for(lambda: (self.daemon.getval("acme-bad", "count-consecutive_failures") or 0) >= 3,
                 30, what="three failed checks of acme-bad")
        self.assertEqual(len(threshold_notifications(self.daemon, "acme-bad", "FAILURE")), 1)

    def test_threshold_quiet_for_linked_account(self):
        self.daemon.wait_value("acme-good", "bool-linked", 1.0)
        bad = [n for n in self.daemon.notifications_for("acme-good")
               if n.get("Severity") in ("FAILURE", "WARNING")]
        self.assertEqual(bad, [])

    def test_threshold_warning_for_api_side_failure(self):
        ns = wait_for(lambda: threshold_notifications(self.daemon, "acme-flaky", "WARNING",
                                                      "transient_failure"),
                      30, what="threshold WARNING for acme-flaky")
        self.assertIn("above the warning threshold", ns[0]["message"])
        # ... and the link itself is a FAILURE, from both the plugin and threshold.
        wait_for(lambda: threshold_notifications(self.daemon, "acme-flaky", "FAILURE"), 30,
                 what="threshold FAILURE for acme-flaky")
        n = plugin_notifications(self.daemon, "acme-flaky", "FAILURE")[0]
        self.assertEqual(n["meta"]["error_class"], "server")
        # The other accounts' transient_failure stays in range.
        for account in ("acme-good", "acme-bad"):
            self.assertEqual(threshold_notifications(self.daemon, account, "WARNING",
                                                     "transient_failure"), [])

    # --- webhook route
    def test_webhook_gets_plugin_failure_as_json(self):
        posts = wait_for(lambda: self.posts_for("acme-bad", "FAILURE",
                                                lambda p: "error_class" in p), 30,
                         what="webhook POST of acme-bad's FAILURE")
        p = posts[0]
        self.assertEqual(p["account"], "acme-bad")
        self.assertEqual(p["error_class"], "auth")
        self.assertEqual(p["plugin"], "digicert_billing")
        self.assertEqual(p["type_instance"], "linked")
        self.assertEqual(p["host"], "testhost")
        self.assertEqual(p["meta"]["http_status"], "401")
        self.assertIsInstance(p["time"], float)
        self.assertTrue(p["text"].startswith("FAILURE testhost digicert_billing/acme-bad: "), p)
        self.assertIn('account "acme-bad" failed: auth', p["message"])
        raw = [x for x in self.webhook.posts if '"acme-bad"' in x["body"]][0]
        self.assertEqual(raw["path"], "/hooks/collectd")
        self.assertEqual(raw["headers"].get("Content-Type"), "application/json")

    def test_webhook_gets_threshold_notifications_too(self):
        posts = wait_for(lambda: self.posts_for("acme-flaky", "WARNING"), 30,
                         what="webhook POST of the threshold WARNING")
        self.assertEqual(posts[0]["account"], "acme-flaky")
        self.assertEqual(posts[0]["type_instance"], "transient_failure")
        self.assertIn("FailureMin", posts[0]["meta"])

    def test_webhook_filters_other_plugins(self):
        wait_for(lambda: self.posts_for("acme-bad", "FAILURE"), 30, what="some POSTs")
        self.assertEqual({p.get("plugin") for p in self.webhook.json_posts()},
                         {"digicert_billing"})

    # --- recovery (changes acme-bad: runs after the tests above)
    def test_x_recovery_gives_okay_on_both_routes(self):
        wait_for(lambda: threshold_notifications(self.daemon, "acme-bad", "FAILURE"), 30,
                 what="threshold FAILURE for acme-bad")
        self.acc.fix("acme-bad")
        self.daemon.wait_value("acme-bad", "bool-linked", 1.0, timeout=30)
        okay = wait_for(lambda: [n for n in threshold_notifications(self.daemon, "acme-bad", "OKAY")
                                 if "within range again" in n["message"]], 30,
                        what="threshold OKAY for acme-bad")
        self.assertEqual(float(okay[-1]["meta"]["CurrentValue"]), 1.0)
        posts = wait_for(lambda: self.posts_for("acme-bad", "OKAY",
                                                lambda p: p.get("error_class") == "none"),
                         30, what="webhook POST of acme-bad's OKAY")
        self.assertIn('account "acme-bad" is OK again', posts[0]["message"])

    # --- Graphite / InfluxDB names used by the README's example queries
    def test_y_graphite_paths_match_the_docs(self):
        def paths():
            return set(l.split(" ", 1)[0] for l in self.graphite.lines())
        for tti in ("bool-linked", "bool-transient_failure", "count-consecutive_failures",
                    "timestamp-last_success", "response_time-api", "derive-checks_failed",
                    "derive-checks_succeeded"):
            path = "testhost.digicert_billing-acme-good." + tti
            wait_for(lambda: path in paths(), 30, what="graphite path " + path)
        docs = alerting_docs()
        globs = set(re.findall(r"\*\.digicert_billing-\*\.[a-z_]+-[a-z_]+", docs))
        self.assertTrue(globs, "no Graphite example in the docs")
        got = paths()
        for g in globs:
            rx = re.compile("^" + re.escape(g).replace(r"\*", "[^.]+") + "$")
            self.assertTrue(any(rx.match(p) for p in got), "docs use %s, not sent" % g)

    def test_y_influxdb_lines_match_the_docs(self):
        want = ("digicert_billing,host=testhost,instance=acme-good,type=bool,"
                "type_instance=linked value=1")
        wait_for(lambda: any(l.startswith(want) for l in self.influx.lines()), 30,
                 what="InfluxDB line for acme-good linked")
        docs = alerting_docs()
        self.assertIn('FROM "digicert_billing"', docs)
        for tag in ("host", "instance", "type", "type_instance"):
            self.assertIn('"%s"' % tag, docs)
        self.assertTrue(any("type_instance=checks_failed value=" in l and re.search(r"value=\d+i ", l)
                            for l in self.influx.lines()), "derive sent as integer counter")

    # --- last
    def test_zz_no_key_anywhere(self):
        wait_for(lambda: self.posts_for("acme-bad", "FAILURE"), 30, what="some POSTs")
        outputs = self.daemon.outputs()
        outputs["webhook"] = json.dumps(self.webhook.posts)
        outputs["graphite"] = "\n".join(self.graphite.lines())
        outputs["influxdb"] = "\n".join(self.influx.lines())
        assert_no_keys(self, list(self.acc.keys.values()), outputs, self.acc.sim.outputs())
        self.assertTrue(self.daemon.alive())
        self.assertNotIn("notify_webhook: ", self.daemon.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""End to end: the real collectd with the built plugin and write_prometheus
(contrib/collectd/write_prometheus.conf) against the simulator, scraped by a
real Prometheus (contrib/prometheus/prometheus.yml.example) that loads the
shipped rules with every `for:` shortened to 2 s.

* every metric, label and `type` the rules, their unit tests and the Grafana
  dashboard use exists in the actual write_prometheus scrape;
* Prometheus loads all four alerts and every dashboard query returns data;
* DigiCertBillingLinkBroken (and the "never succeeded" side of
  DigiCertBillingCheckStale) fire for the bad account and not for the good
  one, then resolve once the simulator accepts the bad account's key.
"""
import json
import os
import re
import sys
import unittest
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alerting_support import (ALERTS, COLLECTD_DIR, DASHBOARD, RULES, RULES_TEST,  # noqa: E402
                              Accounts, Daemon, Prometheus, assert_no_keys,
                              check_names_against_scrape, dashboard_texts, free_port,
                              grafana_to_promql, http_get, keep_tmp, parse_scrape, read,
                              rules_for_test, wait_for)

GOOD, BAD = "acme-good", "acme-bad"


def write_prometheus_conf(port):
    text = read(os.path.join(COLLECTD_DIR, "write_prometheus.conf"))
    assert text.count('Port "9103"') == 1
    return text.replace('Port "9103"', 'Port "%d"\n  Host "127.0.0.1"' % port)


class PrometheusEndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.acc = Accounts({GOOD: "good", BAD: "bad"})
        cls.daemon = None
        for _ in range(3):  # the free port may be taken before collectd binds it
            cls.wp_port = free_port()
            cls.metrics_url = "http://127.0.0.1:%d/metrics" % cls.wp_port
            d = Daemon(cls.acc.plugin_block(), extra=write_prometheus_conf(cls.wp_port)).start()
            try:
                wait_for(lambda: cls.scrape_has(GOOD, "last_success", "timestamp")
                         and cls.scrape_has(BAD, "linked", "bool"), 60,
                         step=0.25, what="write_prometheus to show both accounts")
                cls.daemon = d
                break
            except AssertionError:
                d.stop()
                if not keep_tmp():
                    d.cleanup()
        if cls.daemon is None:
            cls.acc.stop()
            raise RuntimeError("write_prometheus never served the plugin's values")
        cls.prom = Prometheus(rules_for_test(read(RULES)), "127.0.0.1:%d" % cls.wp_port)
        # A few scrapes, so that range functions (increase, changes) have data.
        wait_for(lambda: [r for r in cls.prom.query(
            'count_over_time(collectd_digicert_billing_bool{type="linked"}[1m]) >= 3')]
            and len(cls.prom.query('collectd_digicert_billing_bool{type="linked"}')) == 2,
            60, step=0.5, what="Prometheus to scrape both accounts a few times")

    @classmethod
    def tearDownClass(cls):
        cls.prom.stop()
        cls.daemon.stop()
        cls.acc.stop()
        if not keep_tmp():
            cls.prom.cleanup()
            cls.daemon.cleanup()
            cls.acc.cleanup()

    @classmethod
    def scrape(cls):
        try:
            return http_get(cls.metrics_url, timeout=5)
        except (urllib.error.URLError, OSError):
            return ""

    @classmethod
    def scrape_has(cls, account, type_instance, ctype):
        want = 'collectd_digicert_billing_%s{digicert_billing="%s",type="%s"' % (
            ctype, account, type_instance)
        return want in cls.scrape()

    def firing(self, alert, account):
        return [a for a in self.prom.alerts(alert, "firing")
                if a["labels"].get("digicert_billing") == account]

    def any_state(self, alert, account):
        return [a for a in self.prom.alerts(alert)
                if a["labels"].get("digicert_billing") == account]

    # --- names
    def test_a_scrape_has_every_name_rules_tests_and_dashboard_use(self):
        text = self.scrape()
        scrape = parse_scrape(text)
        # The shape documented in the README and assumed everywhere.
        self.assertIn('collectd_digicert_billing_bool{digicert_billing="acme-good",'
                      'type="linked",instance="testhost"} 1', text)
        self.assertIn("# TYPE collectd_digicert_billing_derive_total counter", text)
        problems = []
        problems += check_names_against_scrape("rules", read(RULES), scrape)
        # Unit-test inputs use made-up accounts and hosts: names and types only.
        problems += check_names_against_scrape("promtool tests", read(RULES_TEST), scrape,
                                               full_match=False)
        dash = json.loads(read(DASHBOARD))
        for where, expr in dashboard_texts(dash):
            problems += check_names_against_scrape("dashboard " + where, expr, scrape)
        self.assertEqual(problems, [])
        # The checker is not vacuous: all five metric families are used.
        used = set(re.findall(r"collectd_digicert_billing_[a-z_]+",
                              read(RULES) + read(DASHBOARD)))
        self.assertEqual(used, set(name for name, _ in scrape
                                   if name.startswith("collectd_digicert_billing_")))

    def test_a_name_checker_rejects_typos(self):
        scrape = parse_scrape(self.scrape())
        for bad in ('collectd_digicert_billing_bool{type="link"}',
                    'collectd_digicert_billing_derive{type="checks_failed"}',
                    'sum by (account) (collectd_digicert_billing_bool{type="linked"})',
                    'collectd_digicert_billing_bool{digicert_billing="nobody",type="linked"}'):
            self.assertTrue(check_names_against_scrape("typo", bad, scrape), bad)

    # --- Prometheus loads the rules
    def test_b_all_alerts_loaded_with_annotations(self):
        def rules():
            groups = self.prom.api("rules")["groups"]
            out = {r["name"]: r for g in groups for r in g["rules"] if r["type"] == "alerting"}
            return out if all(r["health"] == "ok" for r in out.values()) else None
        rules = wait_for(rules, 30, step=0.5, what="every rule evaluated without error")
        self.assertEqual(set(rules), set(ALERTS))
        for name, r in rules.items():
            self.assertEqual(r.get("lastError", ""), "", name)
            for key in ("summary", "description", "runbook_url"):
                self.assertTrue(r["annotations"].get(key), (name, key))
            self.assertIn(r["labels"]["severity"], ("critical", "warning"))

    def test_c_every_dashboard_query_returns_data(self):
        dash = json.loads(read(DASHBOARD))
        for where, expr in dashboard_texts(dash):
            if "legend" in where:
                continue
            q = grafana_to_promql(expr)
            wait_for(lambda: self.prom.query(q), 30, step=0.5,
                     what="data from %s: %s" % (where, expr))
        # The counts are right: one linked, one not.
        counts = {}
        for p in dash["panels"]:
            if p["type"] == "stat" and p["title"] in ("Linked accounts", "Not linked"):
                r = self.prom.query(grafana_to_promql(p["targets"][0]["expr"]))
                counts[p["title"]] = float(r[0]["value"][1])
        self.assertEqual(counts, {"Linked accounts": 1.0, "Not linked": 1.0})
        # The table: state per account, and -1 ("never") for the bad account's
        # time since last success.
        table = [p for p in dash["panels"] if p["type"] == "table"][0]
        by_ref = {}
        for t in table["targets"]:
            r = self.prom.query(grafana_to_promql(t["expr"]))
            by_ref[t["refId"]] = {x["metric"]["digicert_billing"]: float(x["value"][1]) for x in r}
            self.assertTrue(all(set(x["metric"]) == {"instance", "digicert_billing"} for x in r), r)
        self.assertEqual(by_ref["A"], {GOOD: 1.0, BAD: 0.0})
        self.assertEqual(by_ref["D"][BAD], -1.0)
        self.assertTrue(0 <= by_ref["D"][GOOD] < 120, by_ref["D"])
        self.assertGreaterEqual(by_ref["C"][BAD], 1.0)

    # --- the alert fires, then resolves
    def test_d_broken_link_fires_for_bad_account_then_resolves(self):
        alerts = wait_for(lambda: self.firing("DigiCertBillingLinkBroken", BAD), 60,
                          step=0.5, what="DigiCertBillingLinkBroken firing for acme-bad")
        a = alerts[0]
        self.assertEqual(a["labels"]["instance"], "testhost")  # honor_labels kept it
        self.assertEqual(a["labels"]["severity"], "critical")
        self.assertIn('"acme-bad"', a["annotations"]["description"])
        self.assertIn("acme-bad", a["annotations"]["summary"])
        self.assertTrue(a["annotations"]["runbook_url"].endswith("#digicertbillinglinkbroken"))
        # Never succeeded after three checks: the stale alert's "never" side.
        stale = wait_for(lambda: self.firing("DigiCertBillingCheckStale", BAD), 60, step=0.5,
                         what="DigiCertBillingCheckStale firing for acme-bad")
        self.assertEqual(float(stale[0]["value"]), -1.0)
        self.assertIn("not been confirmed once", stale[0]["annotations"]["description"])
        # Nothing at all for the good account; no API trouble, no flapping.
        for alert in ALERTS:
            self.assertEqual(self.any_state(alert, GOOD), [], alert)
        self.assertEqual(self.prom.alerts("DigiCertBillingAPITrouble"), [])
        self.assertEqual(self.prom.alerts("DigiCertBillingFlapping"), [])

        self.acc.fix(BAD)
        wait_for(lambda: not self.any_state("DigiCertBillingLinkBroken", BAD)
                 and not self.any_state("DigiCertBillingCheckStale", BAD), 60, step=0.5,
                 what="the alerts for acme-bad to resolve")
        self.assertEqual(self.prom.query('ALERTS{alertstate="firing"}'), [])
        self.assertEqual(self.daemon.getval(BAD, "bool-linked"), 1.0)
        self.assertEqual(self.prom.alerts(), [])

    def test_z_no_key_in_any_output(self):
        outputs = self.daemon.outputs()
        outputs["scrape"] = self.scrape()
        outputs["prometheus log"] = self.prom.log()
        outputs["alerts"] = json.dumps(self.prom.api("alerts"))
        assert_no_keys(self, list(self.acc.keys.values()), outputs, self.acc.sim.outputs())


if __name__ == "__main__":
    unittest.main(verbosity=2)

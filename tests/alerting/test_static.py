"""Structure of the shipped alerting files, without a daemon: the Grafana
dashboard, the rules' annotations and runbook links, and the README text."""
import json
import os
import re
import sys
import unittest
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alerting_support import (ALERTS, COLLECTD_DIR, DASHBOARD, README, RULES,  # noqa: E402
                              alerting_docs, dashboard_panels, github_anchors, read, read_text)

DS_UID = "${datasource}"


def rule_blocks(text):
    """{alert name: its YAML text} (the rules file has one group)."""
    parts = re.split(r"(?m)^\s*- alert:\s*", text)[1:]
    return {p.split("\n", 1)[0].strip(): p for p in parts}


def annotation(block, key):
    m = re.search(r"(?ms)^\s+%s:\s*(>-\s*\n(.*?)(?=^\s+\w+:|\Z)|(.*?)$)" % key, block)
    if not m:
        return ""
    return " ".join((m.group(2) or m.group(3) or "").split())


class Dashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dash = json.loads(read(DASHBOARD))
        cls.panels = list(dashboard_panels(cls.dash))
        cls.targets = [(p, t) for p in cls.panels for t in p.get("targets", [])]

    def test_prometheus_datasource_variable(self):
        variables = {v["name"]: v for v in self.dash["templating"]["list"]}
        ds = variables["datasource"]
        self.assertEqual(ds["type"], "datasource")
        self.assertEqual(ds["query"], "prometheus")
        for name in ("instance", "account"):
            v = variables[name]
            self.assertEqual(v["type"], "query")
            self.assertEqual(v["datasource"]["uid"], DS_UID)
            self.assertTrue(v["includeAll"] and v["multi"])
            self.assertEqual(v["allValue"], ".*")
        self.assertIn('instance=~"$instance"', variables["account"]["definition"])

    def test_every_panel_and_query_uses_the_variable(self):
        self.assertTrue(self.targets)
        for p in self.panels:
            self.assertEqual(p["datasource"], {"type": "prometheus", "uid": DS_UID}, p["title"])
        for p, t in self.targets:
            self.assertEqual(t["datasource"]["uid"], DS_UID, p["title"])
            self.assertIn('instance=~"$instance"', t["expr"], p["title"])
            self.assertIn('digicert_billing=~"$account"', t["expr"], p["title"])

    def test_ids_unique_and_layout_without_overlap(self):
        ids = [p["id"] for p in self.panels]
        self.assertEqual(len(ids), len(set(ids)))
        cells = set()
        for p in self.panels:
            g = p["gridPos"]
            self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    self.assertNotIn((x, y), cells, "%s overlaps another panel" % p["title"])
                    cells.add((x, y))

    def exprs(self, ptype):
        return [t["expr"] for p, t in self.targets if p["type"] == ptype]

    def test_the_panels_the_issue_asks_for(self):
        stats = " ".join(self.exprs("stat"))
        self.assertRegex(stats, r'count\(collectd_digicert_billing_bool\{type="linked"[^}]*\} == 1\)')
        self.assertRegex(stats, r'count\(collectd_digicert_billing_bool\{type="linked"[^}]*\} == 0\)')
        table = " ".join(self.exprs("table"))
        for needle in ('type="linked"', 'type="consecutive_failures"',
                       'time() - collectd_digicert_billing_timestamp{type="last_success"'):
            self.assertIn(needle, table)
        graphs = " ".join(self.exprs("timeseries"))
        self.assertIn('collectd_digicert_billing_response_time{type="api"', graphs)
        self.assertRegex(graphs, r'increase\(collectd_digicert_billing_derive_total\{type="checks_succeeded"')
        self.assertRegex(graphs, r'increase\(collectd_digicert_billing_derive_total\{type="checks_failed"')

    def test_table_columns_join_on_account_and_host(self):
        table = [p for p in self.panels if p["type"] == "table"][0]
        for t in table["targets"]:
            self.assertTrue(t["expr"].startswith("max by (instance, digicert_billing) ("), t["expr"])
            self.assertEqual(t["format"], "table")
            self.assertTrue(t["instant"])
        self.assertEqual(table["transformations"][0]["id"], "merge")
        names = [o["properties"][0]["value"] for o in table["fieldConfig"]["overrides"]]
        self.assertEqual(names, ["State", "API-side failure", "Consecutive failures",
                                 "Since last success", "Response time"])

    def test_docs_describe_every_panel(self):
        docs = alerting_docs()
        for p in self.panels:
            self.assertIn("**%s**" % p["title"], docs)
        table = [p for p in self.panels if p["type"] == "table"][0]
        for o in table["fieldConfig"]["overrides"]:
            self.assertIn("`%s`" % o["properties"][0]["value"], docs)


class Rules(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.blocks = rule_blocks(read(RULES))

    def test_the_four_alerts(self):
        self.assertEqual(sorted(self.blocks), sorted(ALERTS))

    def test_annotations_name_the_account(self):
        for name, block in self.blocks.items():
            summary, desc = annotation(block, "summary"), annotation(block, "description")
            self.assertTrue(summary and desc, name)
            who = "$labels.instance" if name == "DigiCertBillingAPITrouble" else "$labels.digicert_billing"
            self.assertIn(who, summary, name)
            self.assertIn(who, desc, name)
            self.assertIn("$labels.instance", desc, name)
        # API trouble lists failing accounts by name.
        self.assertIn(".Labels.digicert_billing", annotation(self.blocks["DigiCertBillingAPITrouble"],
                                                             "description"))

    def test_runbook_links_lead_to_readme_headings(self):
        anchors = github_anchors(read_text(README) + "\n" + alerting_docs())
        bases = set()
        for name, block in self.blocks.items():
            url = annotation(block, "runbook_url")
            parts = urlsplit(url)
            self.assertEqual(parts.scheme, "https", name)
            self.assertTrue(parts.path.endswith("/README.md"), url)
            self.assertEqual(parts.fragment, name.lower())
            self.assertIn(parts.fragment, anchors, "no README heading for " + url)
            bases.add(url.split("#")[0])
        self.assertEqual(len(bases), 1, bases)

    def test_docs_links_resolve(self):
        docs = alerting_docs()
        anchors = github_anchors(read_text(README) + "\n" + docs)
        for target in re.findall(r"\]\(#([^)]+)\)", docs):
            self.assertIn(target, anchors)

    def test_severity_labels(self):
        for name, block in self.blocks.items():
            self.assertRegex(block, r"severity: (critical|warning)\n", name)


class Docs(unittest.TestCase):
    def test_three_routes_and_other_backends(self):
        docs = alerting_docs()
        self.assertTrue(docs.startswith("## Alerting"))
        for needle in ("### Prometheus", "### Grafana dashboard", "### collectd threshold plugin",
                       "### Notifications", "### Graphite and InfluxDB", "### Runbooks",
                       "honor_labels: true", "NotificationExec"):
            self.assertIn(needle, docs)
        for alert in ALERTS:
            self.assertIn("#### " + alert, docs)

    def test_docs_snippets_match_the_shipped_files(self):
        docs = alerting_docs()
        hook = read(os.path.join(COLLECTD_DIR, "notify_webhook.conf"))
        line = [l for l in hook.splitlines() if l.strip().startswith("NotificationExec")][0]
        self.assertIn(line.strip(), docs)
        thr = read(os.path.join(COLLECTD_DIR, "threshold.conf"))
        for l in ('Instance "linked"', "FailureMin 0.5", 'Instance "transient_failure"',
                  "WarningMax 0.5"):
            self.assertIn(l, thr)
            self.assertIn(l, docs)

    def test_webhook_script_is_executable_python(self):
        path = os.path.join(COLLECTD_DIR, "notify_webhook.py")
        self.assertTrue(read(path).startswith("#!/usr/bin/python3\n"))
        self.assertTrue(os.access(path, os.X_OK))
        compile(read(path), path, "exec")


if __name__ == "__main__":
    unittest.main(verbosity=2)

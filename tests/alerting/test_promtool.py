"""promtool on the shipped alerting rules: syntax, and the unit tests in
digicert_billing.rules.test.yml (every alert firing and not firing)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from alerting_support import ALERTS, RULES, RULES_TEST, find_prometheus, read, rules_for_test  # noqa: E402


def promtool(*args, cwd=None):
    _, tool = find_prometheus()
    p = subprocess.run([tool, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       cwd=cwd, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace")


class Promtool(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="promtool-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_check_rules(self):
        rc, out = promtool("check", "rules", RULES)
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS: %d rules found" % len(ALERTS), out)

    def test_unit_tests_pass(self):
        rc, out = promtool("test", "rules", RULES_TEST)
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)

    def test_unit_tests_cover_every_alert_firing_and_not_firing(self):
        text = read(RULES_TEST)
        for alert in ALERTS:
            quiet = re.findall(r"alertname: %s\s*\n\s*exp_alerts: \[\]" % alert, text)
            firing = re.findall(r"alertname: %s\s*\n\s*exp_alerts:\s*\n\s*- exp_labels:" % alert, text)
            self.assertTrue(quiet, "no promtool case where %s stays quiet" % alert)
            self.assertTrue(firing, "no promtool case where %s fires" % alert)

    def test_unit_tests_catch_a_broken_rule(self):
        # The unit tests must fail when an expression changes meaning.
        text = read(RULES)
        for old, new in (('collectd_digicert_billing_bool{type="linked"} == 0',
                          'collectd_digicert_billing_bool{type="linked"} == 1'),
                         ("> 2 * 3600", "> 3 * 3600"),
                         ("[6h]) >= 4", "[6h]) >= 5"),
                         (") > 0.5", ") > 0.8")):
            self.assertIn(old, text)
            mutated = os.path.join(self.tmp, "rules.yml")
            with open(mutated, "w") as f:
                f.write(text.replace(old, new))
            tests = os.path.join(self.tmp, "tests.yml")
            with open(tests, "w") as f:
                f.write(read(RULES_TEST).replace("../../contrib/prometheus/digicert_billing.rules.yml",
                                                 mutated))
            rc, out = promtool("test", "rules", tests)
            self.assertNotEqual(rc, 0, "unit tests still pass with %r -> %r" % (old, new))

    def test_shortened_copy_used_by_the_e2e_test_is_valid(self):
        path = os.path.join(self.tmp, "short.rules.yml")
        short = rules_for_test(read(RULES))
        with open(path, "w") as f:
            f.write(short)
        rc, out = promtool("check", "rules", path)
        self.assertEqual(rc, 0, out)
        # Only the for: lines differ.
        a, b = read(RULES).splitlines(), short.splitlines()
        self.assertEqual(len(a), len(b))
        diff = [(x, y) for x, y in zip(a, b) if x != y]
        self.assertTrue(diff)
        self.assertTrue(all(x.strip().startswith("for:") for x, _ in diff), diff)


if __name__ == "__main__":
    unittest.main(verbosity=2)

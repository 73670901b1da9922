#!/usr/bin/env python3
"""The manual page renders without warnings and documents everything.

usage: check_manpage.py MANPAGE DOC_FACTS_EXE DISPATCH_C
  render    groff -man -ww and "man --warnings -l" (as lintian runs it)
            must print nothing on stderr;
  options   the .TP entries of PLUGIN OPTIONS and ACCOUNT OPTIONS must be
            exactly the option table dcb_config_option_names[];
  classes   every error class name must have its own .TP entry;
  metrics   every type-type_instance and notification meta key that
            plugin/dispatch.c dispatches must have a .TP entry.
"""
import os
import re
import subprocess
import sys


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, universal_newlines=True)
    return p.returncode, p.stdout, p.stderr


def sections(roff):
    """{section title: [lines]} of the roff source."""
    out, current = {}, None
    for line in roff.splitlines():
        m = re.match(r'\.S[HS]\s+"?([^"]*)"?\s*$', line)
        if m:
            current = m.group(1).strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return out


def tp_terms(lines):
    """The words that start each .TP tag line, without font and roff escapes,
    split at ", " so that ".BR account \", \" mode" gives both."""
    terms = []
    for i, line in enumerate(lines[:-1]):
        if line.strip() != ".TP":
            continue
        tag = lines[i + 1]
        tag = re.sub(r"^\.(B|I|BI|BR|IR|RB)\s+", "", tag)
        tag = re.sub(r"\\f[BIRP]", "", tag).replace('\\-', '-')
        tag = tag.replace("\\(dq", '"').replace('"', " ")
        for part in re.split(r"\s*,\s*|\s+", tag.strip()):
            part = part.lstrip("<")
            if part:
                terms.append(part)
    return terms


def main():
    manpage, facts_exe, dispatch_c = sys.argv[1:4]
    failures = []

    def report(ok, what):
        print("%s %s" % ("ok  " if ok else "FAIL", what))
        if not ok:
            failures.append(what)

    # --- rendering
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80",
               MANPAGER="cat", PAGER="cat")
    rc, _, err = run(["groff", "-man", "-ww", "-z", "-Tutf8", manpage], env)
    report(rc == 0 and err == "", "groff -man -ww -z: rc=%d %s" % (rc, err.strip()))
    rc, _, err = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z",
                      manpage], env)
    report(rc == 0 and err == "", "man --warnings -l -Tutf8 -Z: rc=%d %s"
           % (rc, err.strip()))
    rc, text, err = run(["man", "-l", manpage], env)
    report(rc == 0 and "digicert_billing" in text and err == "",
           "man -l renders text: rc=%d %s" % (rc, err.strip()))

    # --- completeness
    with open(manpage, encoding="utf-8") as f:
        secs = sections(f.read())
    for needed in ("NAME", "SYNOPSIS", "DESCRIPTION", "PLUGIN OPTIONS",
                   "ACCOUNT OPTIONS", "METRICS", "NOTIFICATIONS",
                   "Error classes", "FILES", "SEE ALSO"):
        report(needed in secs, "section %s present" % needed)
    if failures:
        return 1

    rc, out, err = run([facts_exe])
    if rc != 0:
        print("FAIL %s: %s" % (facts_exe, err))
        return 1
    options = [l.split(" ", 1)[1] for l in out.splitlines() if l.startswith("option ")]
    classes = [l.split(" ", 1)[1] for l in out.splitlines() if l.startswith("class ")]
    report(len(options) > 10, "option table has %d entries" % len(options))

    documented = tp_terms(secs["PLUGIN OPTIONS"]) + tp_terms(secs["ACCOUNT OPTIONS"])
    # Option words only: the tag's first word, the rest are argument names.
    documented = set(t for t in documented if t in options or t[0].isupper())
    missing = sorted(set(options) - documented)
    extra = sorted(documented - set(options))
    report(not missing, "every option in dcb_config_option_names[] is documented"
           + (": missing %s" % missing if missing else ""))
    report(not extra, "no documented option is unknown to the code"
           + (": %s" % extra if extra else ""))

    class_terms = set(tp_terms(secs["Error classes"]))
    missing = sorted(set(c for c in classes if c != "none") - class_terms)
    report(not missing, "every error class has an entry"
           + (": missing %s" % missing if missing else ""))
    notif_text = "\n".join(secs["NOTIFICATIONS"])
    report("none" in notif_text, 'error_class "none" (OKAY) is mentioned')

    with open(dispatch_c, encoding="utf-8") as f:
        dispatch = f.read()
    metrics = ["%s-%s" % m for m in
               re.findall(r'put\(name,\s*"([a-z_]+)",\s*"([a-z_]+)"', dispatch)]
    report(len(metrics) >= 5, "found %d metrics in dispatch.c" % len(metrics))
    metric_terms = set(tp_terms(secs["METRICS"]))
    missing = sorted(set(metrics) - metric_terms)
    report(not missing, "every metric has an entry"
           + (": missing %s" % missing if missing else ""))

    meta = re.findall(r'plugin_notification_meta_add_\w+\(\s*&n,\s*"([a-z_]+)"',
                      dispatch)
    report(len(meta) >= 5, "found %d notification meta keys in dispatch.c" % len(meta))
    meta_terms = set(tp_terms(secs["NOTIFICATIONS"]))
    missing = sorted(set(meta) - meta_terms)
    report(not missing, "every notification meta key has an entry"
           + (": missing %s" % missing if missing else ""))
    for sev in ("FAILURE", "OKAY"):
        report(sev in meta_terms, "severity %s has an entry" % sev)

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

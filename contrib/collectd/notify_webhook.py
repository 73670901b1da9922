#!/usr/bin/python3
"""Post one collectd notification to a webhook as JSON (for NotificationExec).

collectd's exec plugin starts this program once per notification and writes
the notification to its standard input: "Key: value" header lines
(Severity, Time, Host, Plugin, PluginInstance, Type, TypeInstance, then the
notification's meta data, e.g. account, error_class, http_status), an empty
line, and the message. This program sends it as one JSON object:

  {"text": "FAILURE testhost digicert_billing/acme-eu: billing link ...",
   "severity": "FAILURE", "time": 1700000000.123, "host": "testhost",
   "plugin": "digicert_billing", "plugin_instance": "acme-eu",
   "type": "bool", "type_instance": "linked", "message": "...",
   "account": "acme-eu", "error_class": "auth", "meta": {...}}

"text" makes it readable as is by Slack-, Mattermost- or Rocket.Chat-style
incoming webhooks; other receivers use the structured fields.

Usage (arguments after the program in the NotificationExec line):

  notify_webhook.py [--plugin NAME]... [--timeout SECONDS] [--proxy URL] URL
  notify_webhook.py ... @FILE        (read the URL from FILE's first line)

--plugin forwards only notifications of those plugins (repeatable; default:
all). Give a URL that holds a secret token as @FILE, readable only by the
user NotificationExec runs as: arguments are visible in the process list.
Environment proxies are ignored unless --proxy is given; redirects are not
followed. Only the Python 3 standard library is used. The notification is
all this program ever sees: it reads no other files and no keys.
"""
import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

MAX_INPUT = 64 * 1024
HEADER_FIELDS = {"Severity": "severity", "Time": "time", "Host": "host",
                 "Plugin": "plugin", "PluginInstance": "plugin_instance",
                 "Type": "type", "TypeInstance": "type_instance"}


def parse_notification(text):
    """Split collectd's notification text into fields, meta data and message."""
    head, _, message = text.partition("\n\n")
    fields, meta = {}, {}
    for line in head.splitlines():
        key, sep, value = line.partition(": ")
        if not sep:
            continue
        if key in HEADER_FIELDS:
            fields[HEADER_FIELDS[key]] = value
        else:
            meta[key] = value
    fields["message"] = message.strip()
    try:
        fields["time"] = float(fields["time"])
    except (KeyError, ValueError):
        pass
    return fields, meta


def build_payload(fields, meta):
    payload = dict(fields)
    payload["meta"] = meta
    # The plugin's own notifications carry the account and error class; other
    # plugins' notifications (collectd's threshold plugin, for instance) name
    # the account only through the plugin instance.
    if fields.get("plugin") == "digicert_billing":
        payload["account"] = meta.get("account") or fields.get("plugin_instance", "")
        if "error_class" in meta:
            payload["error_class"] = meta["error_class"]
    source = fields.get("plugin", "")
    if fields.get("plugin_instance"):
        source += "/" + fields["plugin_instance"]
    payload["text"] = "%s %s %s: %s" % (fields.get("severity", "?"), fields.get("host", "?"),
                                       source, fields.get("message", ""))
    return payload


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise urllib.error.HTTPError(req.full_url, code,
                                     "redirect refused (not followed)", headers, fp)


def read_url(arg):
    if arg.startswith("@"):
        with open(arg[1:]) as f:
            arg = f.readline().strip()
    if urllib.parse.urlsplit(arg).scheme not in ("http", "https"):
        raise ValueError("the webhook URL must start with http:// or https://")
    return arg


def main(argv):
    ap = argparse.ArgumentParser(description="POST a collectd notification as JSON.")
    ap.add_argument("--plugin", action="append", default=[],
                    help="forward only notifications of this plugin (repeatable)")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--proxy", help="HTTP(S) proxy for the webhook")
    ap.add_argument("url", help="webhook URL, or @FILE holding it")
    args = ap.parse_args(argv)

    text = sys.stdin.buffer.read(MAX_INPUT).decode("utf-8", errors="replace")
    fields, meta = parse_notification(text)
    if args.plugin and fields.get("plugin") not in args.plugin:
        return 0
    try:
        url = read_url(args.url)
    except (OSError, ValueError) as e:
        print("notify_webhook: bad webhook URL: %s" % e, file=sys.stderr)
        return 2
    body = json.dumps(build_payload(fields, meta)).encode()
    proxies = {"http": args.proxy, "https": args.proxy} if args.proxy else {}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies), NoRedirect())
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "collectd-notify-webhook/1"})
    try:
        with opener.open(req, timeout=args.timeout) as resp:
            resp.read(4096)
    except (urllib.error.URLError, OSError) as e:
        # Never print the URL: it may hold the webhook's token.
        print("notify_webhook: POST failed: %s" % getattr(e, "reason", e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

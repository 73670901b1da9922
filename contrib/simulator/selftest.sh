#!/bin/sh
# Self-test for dcsim.py: starts simulators on ephemeral ports in a temp dir,
# exercises endpoints and faults with curl, prints "N passed, M failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SIM="$HERE/dcsim.py"
T=$(mktemp -d "${TMPDIR:-/tmp}/dcsim-selftest.XXXXXX")
PASS=0 FAIL=0 PIDS=""

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok()   { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad()  { FAIL=$((FAIL + 1)); echo "FAIL - $1"; }
check() { # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (expected '$2', got '$3')"; fi
}
contains() { # contains NAME FILE STRING
    if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1 (no '$3' in $2)"; fi
}

# start_sim NAME ARGS... : starts a simulator, waits for NAME.port
start_sim() {
    name=$1; shift
    python3 "$SIM" --port 0 --port-file "$T/$name.port" "$@" >"$T/$name.out" 2>"$T/$name.err" &
    PIDS="$PIDS $!"
    eval "PID_$name=$!"
    i=0
    while [ ! -s "$T/$name.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    [ -s "$T/$name.port" ] || { echo "simulator $name did not start"; cat "$T/$name.err"; exit 1; }
}

PK_GOOD=PK-GOOD-5f1c0a9e7b3d4c21
PK_FLAKY=PK-FLAKY-8e2b6d4f1a9c3e57
PK_MULTI=PK-MULTI-77aa11bb22cc33dd
DK_GOOD=CC-DEVKEY-GOOD-0001-a7c3e9f1
DK_HANG=CC-DEVKEY-HANG-0004-9f9f9f9f
DK_NEW=CC-DEVKEY-NEW-0005-12345678

write_accounts() { # $1 = extra certcentral entry (may be empty)
    cat >"$T/accounts.json.tmp" <<EOF
{
  "partner_keys": {
    "$PK_GOOD": {"label": "acme-eu", "account_id": 1001},
    "$PK_FLAKY": {"label": "flaky", "account_id": 1003, "cycle": false,
      "faults": [{"endpoint": "link", "status": 503, "headers": {"Retry-After": "2"}}]},
    "$PK_MULTI": {"label": "multi", "account_id": 1004,
      "faults": [{"endpoint": "api-key", "status": 500, "times": 2}, null,
                 {"endpoint": "api-key", "redirect": "http://127.0.0.1:$RAWPORT/elsewhere"},
                 {"endpoint": "api-key", "delay": 1}]}
  },
  "certcentral_keys": {
    "$DK_GOOD": {"label": "billing", "account_id": 123456},
    "$DK_HANG": {"label": "hanger", "account_id": 4, "faults": [{"endpoint": "user-me", "hang": true}]}
    $1
  }
}
EOF
    mv "$T/accounts.json.tmp" "$T/accounts.json"
}

# Redirect target (plain HTTP, records raw headers).
start_sim raw --record-raw --plain --log "$T/raw.log"
RAWPORT=$(cat "$T/raw.port")
write_accounts ""
start_sim main --accounts "$T/accounts.json" --certdir "$T/certs" --log "$T/main.log"
PORT=$(cat "$T/main.port")
B="https://127.0.0.1:$PORT"
C="curl -s --cacert $T/certs/ca.pem -o $T/body -w %{http_code}"

contains "stdout announces port" "$T/main.out" "dcsim listening on 127.0.0.1:$PORT"
check "server.key mode 0600" 600 "$(stat -c %a "$T/certs/server.key")"
check "ca.key mode 0600" 600 "$(stat -c %a "$T/certs/ca.key")"

# --- normal endpoints
check "api-key good" 200 "$($C -H "X-PARTNER-APIKEY: $PK_GOOD" "$B/partner-subscription/api/v1/api-key")"
contains "api-key body" "$T/body" '"name": "acme-eu"'
contains "api-key last4" "$T/body" '"api_key_last4": "4c21"'
check "api-key unknown" 401 "$($C -H "X-PARTNER-APIKEY: nope" "$B/partner-subscription/api/v1/api-key")"
contains "api-key 401 body" "$T/body" "invalid_api_key"
check "user-me good" 200 "$($C -H "X-DC-DEVKEY: $DK_GOOD" "$B/services/v2/user/me")"
contains "user-me body" "$T/body" '"account_id": 123456'
check "user-me missing" 401 "$($C "$B/services/v2/user/me")"
L="$B/partner-subscription/api/v1/finance/account-link"
check "link good" 204 "$($C -X PUT -H "X-PARTNER-APIKEY: $PK_GOOD" -H "X-DC-DEVKEY: $DK_GOOD" "$L")"
check "link bad partner" 401 "$($C -X PUT -H "X-PARTNER-APIKEY: x" -H "X-DC-DEVKEY: $DK_GOOD" "$L")"
check "link bad devkey" 403 "$($C -X PUT -H "X-PARTNER-APIKEY: $PK_GOOD" -H "X-DC-DEVKEY: x" "$L")"
check "link with body" 400 "$($C -X PUT -d 'x=1' -H "X-PARTNER-APIKEY: $PK_GOOD" -H "X-DC-DEVKEY: $DK_GOOD" "$L")"
check "sim links" 200 "$($C "$B/_sim/links")"
contains "link recorded" "$T/body" '"acme-eu": 123456'
check "unknown route" 404 "$($C "$B/nope")"
check "wrong method" 404 "$($C -X POST "$B/services/v2/user/me")"

# --- keep-alive: two requests in one curl share a connection id
curl -s --cacert "$T/certs/ca.pem" -o /dev/null -o /dev/null "$B/ka1" "$B/ka2"
n=$(grep -E '"path": "/ka[12]"' "$T/main.log" | sed 's/.*"conn": \([0-9]*\).*/\1/' | sort -u | wc -l)
check "keep-alive reuses connection" 1 "$n"

# --- faults
check "flaky link 503" 503 "$($C -D "$T/hdr" -X PUT -H "X-PARTNER-APIKEY: $PK_FLAKY" -H "X-DC-DEVKEY: $DK_GOOD" "$L")"
contains "flaky Retry-After" "$T/hdr" "Retry-After: 2"
check "flaky api-key unaffected" 200 "$($C -H "X-PARTNER-APIKEY: $PK_FLAKY" "$B/partner-subscription/api/v1/api-key")"
check "flaky link then 204" 204 "$($C -X PUT -H "X-PARTNER-APIKEY: $PK_FLAKY" -H "X-DC-DEVKEY: $DK_GOOD" "$L")"
check "flaky stays fixed (cycle false)" 204 "$($C -X PUT -H "X-PARTNER-APIKEY: $PK_FLAKY" -H "X-DC-DEVKEY: $DK_GOOD" "$L")"

M="-H X-PARTNER-APIKEY:$PK_MULTI $B/partner-subscription/api/v1/api-key"
check "times=2 first" 500 "$($C $M)"
check "times=2 second" 500 "$($C $M)"
check "null entry normal" 200 "$($C $M)"
check "redirect" 302 "$($C -D "$T/hdr" $M)"
contains "redirect Location" "$T/hdr" "Location: http://127.0.0.1:$RAWPORT/elsewhere"
s=$(date +%s.%N); code=$($C $M); e=$(date +%s.%N)
check "delay then normal" 200 "$code"
check "delay took >= 1s" 1 "$(python3 -c "print(int($e - $s >= 1))")"
check "list cycles" 500 "$($C $M)"

# --- reload keeps cursor of unchanged list (multi is mid-'times'), adds new key
sleep 0.05
write_accounts ", \"$DK_NEW\": {\"label\": \"newbie\", \"account_id\": 55}"
check "reload adds key" 200 "$($C -H "X-DC-DEVKEY: $DK_NEW" "$B/services/v2/user/me")"
check "cursor survives reload" 500 "$($C $M)"
check "cursor continues" 200 "$($C $M)"

# --- hang: curl times out, other requests are still served meanwhile
curl -s --cacert "$T/certs/ca.pem" --max-time 2 -o /dev/null -H "X-DC-DEVKEY: $DK_HANG" \
    "$B/services/v2/user/me" >/dev/null 2>&1 &
HANGPID=$!
sleep 0.5
check "served during hang" 200 "$($C -H "X-DC-DEVKEY: $DK_GOOD" "$B/services/v2/user/me")"
wait $HANGPID
check "hang -> curl timeout (28)" 28 "$?"
contains "hang logged" "$T/main.log" '"fault": "hang"'

# --- a client that never handshakes must not block the server
python3 -c "import socket,time; s=socket.create_connection(('127.0.0.1',$PORT)); time.sleep(3)" &
IDLE=$!
sleep 0.3
check "served with idle TCP client" 200 "$($C -H "X-DC-DEVKEY: $DK_GOOD" "$B/services/v2/user/me")"
kill $IDLE 2>/dev/null; wait $IDLE 2>/dev/null

# --- record-raw target
check "record-raw 200" 200 "$(curl -s -o "$T/body" -w '%{http_code}' -H 'X-Test: 1' "http://127.0.0.1:$RAWPORT/x")"
contains "record-raw body" "$T/body" '"recorded": true'
contains "record-raw headers" "$T/raw.log" '["X-Test", "1"]'

# --- wrong-hostname certificate (same CA)
start_sim wrong --accounts "$T/accounts.json" --certdir "$T/certs" --cert-host wrong.example
WP=$(cat "$T/wrong.port")
curl -s --cacert "$T/certs/ca.pem" -o /dev/null "https://127.0.0.1:$WP/x"
check "wrong host rejected (60)" 60 "$?"
check "wrong host via its name" 404 "$(curl -s --cacert "$T/certs/ca.pem" -o /dev/null -w '%{http_code}' \
    --resolve "wrong.example:$WP:127.0.0.1" "https://wrong.example:$WP/x")"

# --- no raw key in log or output
leak=0
for k in $PK_GOOD $PK_FLAKY $PK_MULTI $DK_GOOD $DK_HANG $DK_NEW; do
    grep -qF "$k" "$T/main.log" "$T/main.out" "$T/main.err" "$T/wrong.err" && leak=1
done
check "no raw keys in log/stdout/stderr" 0 "$leak"
check "log lines are JSON" 0 "$(python3 -c "
import json,sys
for l in open('$T/main.log'): json.loads(l)
" >/dev/null 2>&1; echo $?)"

# --- clean exit on SIGTERM
kill -TERM "$PID_main"
wait "$PID_main"
check "SIGTERM exit status" 0 "$?"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]

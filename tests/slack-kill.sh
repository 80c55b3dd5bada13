#!/bin/sh
# slack-kill.sh - kill -9 of vigil while it sends to Slack, then restart: every
# pending message is delivered, and none that the server confirmed with "ok"
# before the kill is sent again.  The server (tests/slack-server.py) answers
# slowly so that kills land while requests are in flight: the first kill is
# timed to hit one (it waits until a request has arrived and is being held),
# the next ones at random moments.  The timed kill does not depend on timing:
# the server holds requests (--hold) until the kill has happened.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=error
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
S="$TMP/state"
LOG="$TMP/slack.log"
ARR="$TMP/arrivals"
KILLS="$TMP/kills"
: > "$KILLS"
T0=1795212000

SRV_PID=
VPID=
stop_all() {
	[ -n "$VPID" ] && kill -9 "$VPID" 2>/dev/null && wait "$VPID" 2>/dev/null
	VPID=
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}
trap 'stop_all; rm -rf "$TMP"' EXIT
HOLD="$TMP/hold"
python3 "$top_srcdir/tests/slack-server.py" --port-file "$TMP/port" --log "$LOG" --arrivals "$ARR" \
	--hold "$HOLD" 2>"$TMP/server.err" &
SRV_PID=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -s "$TMP/port" ]; then
	not_ok "cannot start the loopback Slack server (python3 tests/slack-server.py): $(cat "$TMP/server.err")"
	finish
fi
BASE="http://127.0.0.1:$(cat "$TMP/port")"
ok "loopback Slack server at $BASE"

# Four webhooks: the first holds each request 1.5 s, the others 0.2 s.
export HOOK_1="$BASE/services/T7/B1/slow-1500/SECRETK1"
export HOOK_2="$BASE/services/T7/B2/slow-200/SECRETK2"
export HOOK_3="$BASE/services/T7/B3/slow-200/SECRETK3"
export HOOK_4="$BASE/services/T7/B4/slow-200/SECRETK4"
python3 - "$TMP/data.csv" "$T0" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("host,ts,value\n")
    for m in range(61):
        f.write("web-1,%d,%d\n" % (int(sys.argv[2]) + 60 * m, 100 if m == 58 else 10))
EOF
specs=
for j in 1 2 3 4 5 6 7 8 9 10 11 12 13; do
	cat > "$TMP/k$j.json" <<JSON
{"name": "k$j", "source": {"type": "csv", "path": "data.csv", "series_column": "host", "time_column": "ts"},
 "detectors": [{"detector": "threshold", "params": {"upper": 50}}],
 "notify": [{"type": "slack", "webhook_url": "\${env:HOOK_$(( (j - 1) % 4 + 1 ))}"}]}
JSON
	[ $j -le 12 ] && specs="$specs $TMP/k$j.json"
done

now() { python3 -c 'import time; print("%.6f" % time.time())'; }
arrivals() { [ -f "$ARR" ] && grep -c "$1" "$ARR" || echo 0; }
pending() { $VIGIL outbox --json --state "$S" 2>/dev/null | python3 -c 'import json,sys; c=json.load(sys.stdin)["counts"]; print(c["pending"] + c["sending"])'; }

# Twelve runs, their messages only queued.
expect_exit 0 "twelve jobs alert; their messages are queued" -- $VIGIL run --state "$S" --send-wait 0 --at $((T0 + 3600)) $specs
expect_eq "$(pending)" 12 "twelve messages pending"

# kill -9 of `vigil run` while it sends: the server holds the requests it gets; wait until one to
# the slow webhook has arrived, kill, then let the server answer again.
before=$(arrivals /services/T7/B1/)
: > "$HOLD"
$VIGIL run --state "$S" --send-wait 60s --at $((T0 + 3600)) "$TMP/k13.json" >/dev/null 2>&1 &
VPID=$!
i=0
while [ "$(arrivals /services/T7/B1/)" -le "$before" ] && [ $i -lt 1200 ]; do
	sleep 0.05
	i=$((i + 1))
done
now >> "$KILLS"
kill -9 $VPID 2>/dev/null
wait $VPID 2>/dev/null
VPID=
rm -f "$HOLD"
expect_eq "$(arrivals /services/T7/B1/)" $((before + 1)) "vigil was killed with a request to Slack in flight"

# Restart the sender, kill it again at random moments, four times.
for round in 1 2 3 4; do
	$VIGIL outbox send --state "$S" --wait 60s >/dev/null 2>&1 &
	VPID=$!
	sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 1.5), 2))')"
	now >> "$KILLS"
	kill -9 $VPID 2>/dev/null
	wait $VPID 2>/dev/null
	VPID=
done
expect_exit 0 "a last restart delivers the rest" -- $VIGIL outbox send --state "$S" --wait 60s
expect_grep "$TMP/out" "still queued" "outbox send reports"
expect_eq "$(pending)" 0 "nothing is left pending"
expect_exit 0 "outbox --json" -- $VIGIL outbox --json --all --state "$S"
expect_eq "$(python3 -c "import json; d=json.load(open('$TMP/out')); print(sorted(set(m['state'] for m in d['messages'])), len(d['messages']))")" \
	"['sent'] 13" "all thirteen messages are recorded as sent"
expect_exit 0 "runs" -- $VIGIL runs --json --state "$S" --limit 100
expect_eq "$(grep -c '"state": "succeeded"' "$TMP/out")" 13 "every run is recorded whole"

python3 - "$LOG" "$KILLS" > "$TMP/verdict" <<'EOF'
import json, re, sys
R = [json.loads(l) for l in open(sys.argv[1])]
kills = [float(l) for l in open(sys.argv[2]) if l.strip()]
by_job = {}
for r in sorted(R, key=lambda r: r["t_recv"]):
    m = re.search(r"\] (k\d+):", (r["payload"] or {}).get("text", ""))
    by_job.setdefault(m.group(1) if m else "?", []).append(r)
lost = [j for j in ["k%d" % i for i in range(1, 14)] if not any(r["status"] == 200 for r in by_job.get(j, []))]
# A copy sent again is justified only if vigil cannot have recorded the previous answer: it was
# killed after that request arrived and before (or within 0.25 s after) its answer was written.
unjustified = []
for j, recs in by_job.items():
    for prev, cur in zip(recs, recs[1:]):
        if prev["status"] == 200 and prev.get("t_done") and not any(
                prev["t_recv"] <= k <= prev["t_done"] + 0.25 for k in kills):
            unjustified.append((j, prev["n"], cur["n"]))
dups = sum(len(v) - 1 for v in by_job.values())
in_flight = sum(any(r["t_recv"] <= k < (r.get("t_done") or 1e18) for r in R) for k in kills)
print("lost", lost)
print("unjustified", unjustified)
print("duplicates<=kills", dups <= len(kills), dups)
print("kills in flight", in_flight >= 1)
print("violations", sum(len(r["violations"]) for r in R), "rate_limited", sum(r["rate_limited"] for r in R))
EOF
sed 's/^/# /' "$TMP/verdict"
expect_grep "$TMP/verdict" "lost []" "no message is lost"
expect_grep "$TMP/verdict" "unjustified []" "no message confirmed with ok before a kill is sent again"
expect_grep "$TMP/verdict" "duplicates<=kills True" "at most one resend per kill (the request in flight)"
expect_grep "$TMP/verdict" "kills in flight True" "kills hit requests in flight"
expect_grep "$TMP/verdict" "violations 0 rate_limited 0" "every payload valid, the throttle held across restarts"

stop_all
finish

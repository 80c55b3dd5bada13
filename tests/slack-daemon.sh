#!/bin/sh
# slack-daemon.sh - `vigil serve` with a Slack target: its workers write the
# message to the outbox with the run, its sender thread delivers it to the
# loopback Slack (tests/slack-server.py), later runs of the same ongoing
# anomaly send nothing more, /metrics counts it, and `vigil replay` prints the
# same decisions from history.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=info
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
command -v curl >/dev/null 2>&1 || { not_ok "curl is required (scripts/setup.sh --test installs it)"; finish; }
D=$TMP/specs S=$TMP/state LOG=$TMP/slack.log
mkdir -p "$D" "$S"

SRV_PID= DPID=
stop_all() {
	[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	DPID=
	[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null && wait "$SRV_PID" 2>/dev/null
	SRV_PID=
}
trap 'stop_all; rm -rf "$TMP"' EXIT
python3 "$top_srcdir/tests/slack-server.py" --port-file "$TMP/port" --log "$LOG" 2>"$TMP/server.err" &
SRV_PID=$!
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -s "$TMP/port" ]; then
	not_ok "cannot start the loopback Slack server (python3 tests/slack-server.py): $(cat "$TMP/server.err")"
	finish
fi
export SLACK_DAEMON_HOOK="http://127.0.0.1:$(cat "$TMP/port")/services/T9/B9/ok/SECRETDAEMON"
requests() { [ -f "$LOG" ] && grep -c '"/services/T9/B9/' "$LOG" || echo 0; }
wait_for() {
	wf_left=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		wf_left=$((wf_left - 1))
		[ $wf_left -gt 0 ] || return 1
		sleep 0.1
	done
}
runs() { sqlite3 -cmd ".timeout 5000" "$S/vigil.db" "SELECT count(*) FROM runs WHERE state = 'succeeded'"; }
more_runs() { [ "$(runs)" -ge "$1" ]; }
got_request() { [ "$(requests)" -ge 1 ]; }

# a point every 10 s from an hour ago to an hour ahead; web-1 is at 100 for ten minutes around now
now=$(date +%s)
awk -v t0=$((now - 3600)) -v now="$now" 'BEGIN { print "timestamp,web-1"; for (i = 0; i < 720; i++) {
	t = t0 + 10 * i; printf "%d,%d\n", t, (t > now - 300 && t < now + 300) ? 100 : 10 } }' > "$TMP/data.csv"
# the data lies outside the specs' directory: a source root (docs/spec.md)
export VIGIL_SOURCE_ROOTS="$TMP"
cat > "$D/hot.json" <<JSON
{"name": "hot", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "30m", "alert": {"recent": "10m"},
 "detectors": [{"detector": "threshold", "params": {"upper": 50}}],
 "notify": [{"type": "slack", "webhook_url": "\${env:SLACK_DAEMON_HOOK}"}], "schedule": "@every 1s"}
JSON

$VIGIL serve --specs "$D" --state "$S" --listen 127.0.0.1:0 --grace 2s >"$TMP/daemon.out" 2>"$TMP/daemon.err" &
DPID=$!
if ! wait_for 60 test -s "$S/serve.json"; then
	not_ok "the daemon did not start"
	sed 's/^/#   /' "$TMP/daemon.err" | tail -20
	finish
fi
URL=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$S/serve.json")
if wait_for 30 got_request; then ok "the daemon delivered the job's Slack message"; else
	not_ok "no message reached the loopback Slack"; tail -20 "$TMP/daemon.err" | sed 's/^/#   /'; fi
if wait_for 30 more_runs 4; then ok "the job kept running every second"; else not_ok "fewer than 4 runs"; fi
sleep 1.5
expect_eq "$(requests)" 1 "one message for the ongoing anomaly, not one per run"
expect_eq "$(python3 -c "import json; r=[json.loads(l) for l in open('$LOG')]; print(r[0]['status'], r[0]['violations'], r[0]['payload']['text'])")" \
	"200 [] [FIRING:1] hot: web-1" "the message is valid and says what fires"
curl -s --max-time 5 "$URL/metrics" > "$TMP/metrics"
expect_grep "$TMP/metrics" "vigil_notifications_sent_total 1" "/metrics counts the delivered message"
expect_grep "$TMP/metrics" "vigil_notifications_pending 0" "and nothing pending"
kill -TERM "$DPID"
wait "$DPID"
expect_eq $? 0 "the daemon stops cleanly (its sender thread too)"
DPID=
expect_eq "$(grep -c SECRETDAEMON "$TMP/daemon.err" "$TMP/daemon.out" "$S"/vigil.db* | awk -F: '{s += $2} END {print s}')" 0 \
	"the webhook URL is in no log and not in the store"

# replay prints what the history would have sent: one message, then nothing while the anomaly goes on
expect_exit 0 "replay over the last minutes" -- $VIGIL replay "$D/hot.json" --from $((now - 120)) --to $((now + 60)) --step 30s
expect_eq "$(grep -c '\[dry run: slack target ${env:SLACK_DAEMON_HOOK}: would send\]' "$TMP/out")" 1 \
	"replay: one Slack message over seven runs"
expect_grep "$TMP/err" "replay 'hot': 7 runs, 1 notification," "replay counts it"
expect_eq "$(requests)" 1 "replay sends nothing"

stop_all
finish

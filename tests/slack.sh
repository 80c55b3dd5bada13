#!/bin/sh
# slack.sh - vigil's Slack and webhook targets against tests/slack-server.py, a
# loopback server that behaves like Slack (validates payloads and limits,
# answers ok / error strings / 429 / 500 / resets, records what it got):
# message content and escaping, 500 anomalous series, one message per run,
# repeat suppression and resolved messages, throttling, Retry-After, retries,
# permanent errors and broken destinations, `vigil outbox`, mutes and quiet
# hours, --no-store, the generic webhook, and the webhook URL never leaking.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=warning
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
S="$TMP/state"
LOG="$TMP/slack.log"
ALL="$TMP/all-output"   # every line vigil printed, to look for secrets
: > "$ALL"
T0=1795212000           # 2026-11-20T22:00:00Z: minute 0 of the data

# --- the loopback Slack -------------------------------------------------------
SRV_PID=
stop_server() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
		SRV_PID=
	fi
}
trap 'stop_server; [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
python3 "$top_srcdir/tests/slack-server.py" --port-file "$TMP/port" --log "$LOG" 2>"$TMP/server.err" &
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
PORT=$(cat "$TMP/port")
BASE="http://127.0.0.1:$PORT"
ok "loopback Slack server on 127.0.0.1:$PORT"

# q EXPR: evaluate a Python expression over the server's records R; K(prefix) filters by path.
q() {
	python3 -c "
import json, os, re
R = [json.loads(l) for l in open('$LOG')] if os.path.exists('$LOG') else []
def K(k): return [r for r in R if r['path'].startswith(k)]
def T(k): return [r['payload']['text'] for r in K(k) if r['payload']]
print($1)"
}

# run ARGS...: vigil, output kept in $TMP/out and $TMP/err and appended to $ALL
run() {
	"$@" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	cat "$TMP/out" "$TMP/err" >> "$ALL"
	return $rc
}
expect_rc() {
	want=$1 desc=$2
	shift 2
	run "$@"
	got=$?
	if [ "$got" -eq "$want" ]; then ok "$desc (exit $got)"; else
		not_ok "$desc: exit $got, expected $want"; sed 's/^/#   /' "$TMP/out" "$TMP/err" | head -20; fi
}

# gen NAME SERIES SPIKES [MINUTES]: data-NAME.csv, one point a minute for MINUTES (600) minutes from T0;
# SERIES separated by '|'; the series spike to 100 at the minutes in SPIKES (comma-separated), but
# for those whose name starts with "calm".
gen() {
	python3 - "$TMP/data-$1.csv" "$2" "$3" "$T0" "${4:-600}" <<'EOF'
import csv, sys
path, names, spikes, t0 = sys.argv[1], sys.argv[2].split("|"), sys.argv[3], int(sys.argv[4])
minutes = int(sys.argv[5])
spikes = {int(x) for x in spikes.split(",") if x}
with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["host", "ts", "value"])
    for m in range(minutes):
        for n in names:
            w.writerow([n, t0 + 60 * m, 100 if m in spikes and not n.startswith("calm") else 10])
EOF
}

# spec NAME NOTIFY-JSON: a job over data-NAME.csv (window 1h, alerts in the last 30 minutes).
spec() {
	cat > "$TMP/$1.json" <<JSON
{"name": "$1", "source": {"type": "csv", "path": "data-$1.csv", "series_column": "host", "time_column": "ts"},
 "window": "1h", "alert": {"recent": "30m"},
 "detectors": [{"detector": "threshold", "params": {"upper": 50}}], "notify": [$2]}
JSON
}
at() { echo $((T0 + 60 * $1)); }
slack() { echo "{\"type\": \"slack\", \"webhook_url\": \"\${env:$1}\"${2:+, $2}}"; }

for verb in outbox mute; do
	expect_rc 0 "$verb --help" $VIGIL $verb --help
	expect_grep "$TMP/out" "usage: vigil $verb" "$verb --help shows usage"
done
expect_rc 2 "outbox with an unknown subcommand" $VIGIL outbox frob --state "$S"
expect_rc 2 "run --send-wait takes a duration" $VIGIL run --send-wait soon "$top_srcdir/specs/examples/cpu-slack.json"

# --- content, escaping, one message per run ------------------------------------
export HOOK_GRP="$BASE/services/T1/B1/ok/SECRETGRP1"
gen grp '<!channel> & co|web-1|db<2>|calm' 55,56,57
spec grp "$(slack HOOK_GRP '"mentions": ["<!here>"]')"
expect_rc 0 "a run with three anomalous series" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/grp.json"
expect_eq "$(q 'len(K("/services/T1/B1/"))')" 1 "one message for the run, not one per anomaly"
expect_eq "$(q 'K("/services/T1/B1/")[0]["status"]')" 200 "Slack answered ok"
expect_eq "$(q 'K("/services/T1/B1/")[0]["violations"]')" "[]" "the payload breaks no rule of Slack's"
expect_eq "$(q 'T("/services/T1/B1/")[0]')" "<!here> [FIRING:3] grp: &lt;!channel&gt; &amp; co, db&lt;2&gt;, web-1" \
	"the notification text: mention, counts, escaped series names"
expect_eq "$(q 'sum(b["type"] == "section" for b in K("/services/T1/B1/")[0]["payload"]["attachments"][0]["blocks"])')" 3 \
	"one section per anomalous series"
expect_eq "$(q '"peak *100*" in json.dumps(R[0]["payload"]) and "3 points" in json.dumps(R[0]["payload"])')" True \
	"sections show the peak value and the points"
expect_eq "$(q 'R[0]["payload"]["attachments"][0]["color"]')" danger "a red bar while firing"
expect_rc 0 "outbox --all" $VIGIL outbox --all --state "$S"
expect_grep "$TMP/out" "sent     slack job 'grp' run 1" "the message is listed as sent"
expect_grep "$TMP/out" "to $BASE/services/T…/B…/****" "with the webhook URL redacted"

# --- 500 anomalous series ---------------------------------------------------
export HOOK_BIG="$BASE/services/T1/B2/ok/SECRETBIG2"
names=$(python3 -c "print('|'.join('host-%03d-%s' % (i, '&<>' * 40) for i in range(500)))")
gen big "$names" 58 61
spec big "$(slack HOOK_BIG '"max_series": 40')"
expect_rc 0 "a run with 500 anomalous series" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/big.json"
expect_eq "$(q 'len(K("/services/T1/B2/"))')" 1 "still one message"
expect_eq "$(q 'K("/services/T1/B2/")[0]["status"], K("/services/T1/B2/")[0]["violations"]')" "200 []" \
	"within every Slack limit (blocks, section and header length, total text)"
big_listed='sum(b["type"] == "section" for b in K("/services/T1/B2/")[0]["payload"]["attachments"][0]["blocks"]) - 1'
big_more='int(re.search("_and ([0-9]+) more firing incidents_", json.dumps(K("/services/T1/B2/")[0]["payload"])).group(1))'
expect_eq "$(q "$big_listed + $big_more, 1 <= $big_listed <= 40")" "500 True" \
	"the most severe series are listed, the rest summarised (\"and K more\")"

# --- repeat suppression and resolved ------------------------------------------
export HOOK_RR="$BASE/services/T1/B3/ok/SECRETRR3"
gen rr 'web-1|web-2' 55
spec rr "$(slack HOOK_RR '"repeat_interval": "1h"')"
expect_rc 0 "run at minute 60" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/rr.json"
expect_rc 0 "run at minute 70: the same anomaly goes on" $VIGIL run --state "$S" --at "$(at 70)" "$TMP/rr.json"
expect_eq "$(q 'len(K("/services/T1/B3/"))')" 1 "no repeat within repeat_interval"
expect_rc 0 "run at minute 200: back to normal" $VIGIL run --state "$S" --at "$(at 200)" "$TMP/rr.json"
expect_eq "$(q 'len(K("/services/T1/B3/"))')" 2 "a resolved message"
expect_eq "$(q 'T("/services/T1/B3/")[1]')" "[RESOLVED:2] rr: web-1, web-2 resolved" "it names the series"
expect_eq "$(q 'K("/services/T1/B3/")[1]["payload"]["attachments"][0]["color"]')" good "with a green bar"
expect_rc 0 "run at minute 300: still normal" $VIGIL run --state "$S" --at "$(at 300)" "$TMP/rr.json"
expect_eq "$(q 'len(K("/services/T1/B3/"))')" 2 "resolved once"

export HOOK_REP="$BASE/services/T1/B4/ok/SECRETREP4"
gen rep 'web-1' "$(python3 -c "print(','.join(str(m) for m in range(0, 600, 3)))")"
spec rep "$(slack HOOK_REP '"repeat_interval": "1m", "resolved": false')"
for m in 60 61 62; do
	expect_rc 0 "an anomaly that goes on, run at minute $m" $VIGIL run --state "$S" --at "$(at $m)" "$TMP/rep.json"
done
expect_eq "$(q 'len(K("/services/T1/B4/"))')" 3 "reminded after repeat_interval (1m)"
expect_eq "$(q '"(reminder)" in json.dumps(K("/services/T1/B4/")[2]["payload"])')" True "marked as a reminder"

# --- throttling: 1 message/s per webhook, bursts of 3 ---------------------------
export HOOK_TH="$BASE/services/T2/B1/ok/SECRETTH1"
specs=
for j in 1 2 3 4 5 6 7 8; do
	gen "th$j" 'web-1' 58
	spec "th$j" "$(slack HOOK_TH)"
	specs="$specs $TMP/th$j.json"
done
expect_rc 0 "eight jobs alerting at once to one webhook" $VIGIL run --state "$S" --at "$(at 60)" --send-wait 30s $specs
expect_eq "$(q 'len(K("/services/T2/B1/"))')" 8 "every message delivered"
expect_eq "$(q 'sum(r["rate_limited"] for r in K("/services/T2/B1/"))')" 0 "Slack never had to rate-limit vigil"
# in any stretch of time, at most 3 + 1/s messages, with slack for the way from vigil's claim to the server
# (100 ms; under valgrind that way varies by hundreds of ms)
tol=0.1
[ -n "${VALGRIND:-}" ] && tol=0.7
expect_eq "$(q "max(j - i + 1 - 3 - (K('/services/T2/B1/')[j]['t_recv'] - K('/services/T2/B1/')[i]['t_recv']) for i in range(8) for j in range(i, 8)) <= $tol")" \
	True "no more than 1 message/s after a burst of 3"

# --- 429 with Retry-After, 500 with backoff, connection resets ------------------
export HOOK_429="$BASE/services/T3/B1/429-2-1/SECRET429"
gen r429 'web-1' 58
spec r429 "$(slack HOOK_429)"
expect_rc 0 "a webhook that answers 429 twice" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/r429.json"
expect_eq "$(q '[r["status"] for r in K("/services/T3/B1/")]')" "[429, 429, 200]" "retried until ok"
expect_eq "$(q 'all(b["t_recv"] - a["t_done"] >= 0.99 for a, b in zip(K("/services/T3/B1/"), K("/services/T3/B1/")[1:]))')" \
	True "Retry-After (1 s) is honoured"
export HOOK_429D="$BASE/services/T3/B2/429-1-date/SECRET429D"
gen r429d 'web-1' 58
spec r429d "$(slack HOOK_429D)"
expect_rc 0 "Retry-After as an HTTP date" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/r429d.json"
expect_eq "$(q '[r["status"] for r in K("/services/T3/B2/")]')" "[429, 200]" "retried after the date"
expect_eq "$(q 'K("/services/T3/B2/")[1]["t_recv"] - K("/services/T3/B2/")[0]["t_done"] >= 0.95')" True \
	"not before the date"

export HOOK_500="$BASE/services/T3/B3/500-2/SECRET500"
gen r500 'web-1' 58
spec r500 "$(slack HOOK_500)"
expect_rc 0 "a webhook that fails twice with 500" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/r500.json"
expect_eq "$(q '[r["status"] for r in K("/services/T3/B3/")]')" "[500, 500, 200]" "retried until ok"
expect_eq "$(q '[round(b["t_recv"] - a["t_done"], 1) >= w for (a, b), w in zip(zip(K("/services/T3/B3/"), K("/services/T3/B3/")[1:]), (0.5, 1.0))]')" \
	"[True, True]" "with exponential backoff (>= 0.5 s, then >= 1 s)"
expect_grep "$TMP/err" "HTTP 500 rollup_error: a failure on Slack's side; attempt 1, retrying" "retries are logged"

export HOOK_RST="$BASE/services/T3/B4/reset-1/SECRETRST"
gen rst 'web-1' 58
spec rst "$(slack HOOK_RST)"
expect_rc 0 "a connection reset" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/rst.json"
expect_eq "$(q '[r["status"] for r in K("/services/T3/B4/")]')" "[0, 200]" "retried after the reset"

# --- permanent errors: the destination is broken, nothing is retried -------------
for code in no_service channel_not_found channel_is_archived invalid_token action_prohibited; do
	export HOOK_ERR="$BASE/services/T4/B$code/err-$code/SECRETERR"
	gen "e$code" 'web-1' 58
	spec "e$code" "$(slack HOOK_ERR)"
	gen "f$code" 'web-1' 58
	spec "f$code" "$(slack HOOK_ERR)"
	expect_rc 0 "Slack answers $code" $VIGIL run --state "$S/$code" --at "$(at 60)" "$TMP/e$code.json"
	expect_grep "$TMP/err" "$code" "the error string is reported"
	expect_grep "$TMP/err" "the destination is marked broken" "the destination is marked broken"
	expect_rc 0 "another job to the same webhook" $VIGIL run --state "$S/$code" --at "$(at 60)" "$TMP/f$code.json"
	expect_grep "$TMP/err" "1 message still queued" "its message is held"
	expect_eq "$(q "len(K('/services/T4/B$code/'))")" 1 "$code: no retry, and nothing more is sent there"
	expect_rc 0 "outbox after $code" $VIGIL outbox --state "$S/$code"
	expect_grep "$TMP/out" "BROKEN slack $BASE/services/T…/B…/**** since" "outbox shows the broken destination"
	expect_grep "$TMP/out" "1 message held" "and the held message"
	expect_grep "$TMP/out" "failed   slack job 'e$code' run 1" "and the failed one"
done
# someone fixes the webhook (a new URL in the same variable), then retries the failed message
export HOOK_ERR="$BASE/services/T4/Bfixed/ok/SECRETFIXED"
expect_rc 0 "outbox retry" $VIGIL outbox retry 1 --state "$S/action_prohibited"
expect_grep "$TMP/out" "message 1 queued again" "retry queues the message again"
expect_rc 0 "outbox send" $VIGIL outbox send --wait 10s --state "$S/action_prohibited"
expect_eq "$(q 'len(K("/services/T4/Bfixed/"))')" 2 "the failed and the held message are delivered, in order"
expect_eq "$(q '[p["payload"]["attachments"][0]["blocks"][-1]["elements"][0]["text"].split(" \u00b7 ")[2] for p in K("/services/T4/Bfixed/")]')" \
	"['run 1', 'run 2']" "oldest first"
expect_rc 2 "a delivered message is not sent twice" $VIGIL outbox retry 1 --state "$S/action_prohibited"
expect_grep "$TMP/err" "already delivered" "retry says why"
expect_rc 2 "retry of an unknown message" $VIGIL outbox retry 99 --state "$S/action_prohibited"

export HOOK_BAD="$BASE/services/T4/B9/err-invalid_blocks/SECRETBAD"
gen bad 'web-1' 58
spec bad "$(slack HOOK_BAD)"
gen bad2 'web-1' 58
spec bad2 "$(slack HOOK_BAD)"
expect_rc 0 "Slack refuses the payload" $VIGIL run --state "$S/bad" --at "$(at 60)" "$TMP/bad.json"
expect_rc 0 "another job to the same webhook" $VIGIL run --state "$S/bad" --at "$(at 60)" "$TMP/bad2.json"
expect_rc 0 "outbox send" $VIGIL outbox send --wait 3s --state "$S/bad"
expect_eq "$(q 'len(K("/services/T4/B9/"))')" 2 "each message tried once: a refused message is not retried"
expect_rc 0 "outbox --json" $VIGIL outbox --json --state "$S/bad"
expect_eq "$(python3 -c "import json,sys; d=json.load(open('$TMP/out')); print([m['state'] for m in d['messages']], [x['broken'] for x in d['destinations']])")" \
	"['failed', 'failed'] [False]" "an invalid payload fails the message, not the destination"
expect_grep "$TMP/out" '"reference": "${env:HOOK_BAD}"' "--json shows the reference"

# --- mutes and quiet hours ------------------------------------------------------
export HOOK_MUTE="$BASE/services/T5/B1/ok/SECRETMUTE"
gen mutejob 'web-1|web-2' 58
spec mutejob "$(slack HOOK_MUTE)"
expect_rc 0 "mute add" $VIGIL mute add 'mute*' 'web-*' --for 1h --reason "planned maintenance" --state "$S/m"
expect_grep "$TMP/out" "mute 1: job 'mute*', series 'web-*', until" "the mute is confirmed"
expect_rc 0 "mute list" $VIGIL mute --state "$S/m"
expect_grep "$TMP/out" "planned maintenance" "mutes are listed"
expect_rc 0 "a muted run" $VIGIL run --state "$S/m" --at "$(at 60)" "$TMP/mutejob.json"
expect_eq "$(q 'len(K("/services/T5/B1/"))')" 0 "nothing is sent while muted"
expect_rc 0 "outbox --all" $VIGIL outbox --all --state "$S/m"
expect_grep "$TMP/out" "muted: mute 1" "the muted message is kept"
expect_rc 0 "runs --anomalies" $VIGIL runs --anomalies --state "$S/m"
expect_eq "$(grep -c ALERT "$TMP/out")" 2 "muted alerts are still stored"
expect_rc 0 "mute remove" $VIGIL mute remove 1 --state "$S/m"
expect_rc 2 "mute remove of an unknown mute" $VIGIL mute remove 1 --state "$S/m"
expect_rc 2 "mute add needs a time" $VIGIL mute add 'x' --state "$S/m"
expect_rc 0 "send a muted message anyway" $VIGIL outbox retry 1 --state "$S/m"
expect_rc 0 "outbox send" $VIGIL outbox send --wait 5s --state "$S/m"
expect_eq "$(q 'len(K("/services/T5/B1/"))')" 1 "retry sends a muted message"

if [ "$(date -u +%H%M)" != 2359 ]; then
	export HOOK_QUIET="$BASE/services/T5/B2/ok/SECRETQUIET"
	gen quiet 'web-1' 58
	spec quiet "$(slack HOOK_QUIET '"quiet_hours": {"from": "00:00", "to": "23:59", "timezone": "UTC"}')"
	expect_rc 0 "a run in quiet hours" $VIGIL run --state "$S/q" --at "$(at 60)" "$TMP/quiet.json"
	expect_eq "$(q 'len(K("/services/T5/B2/"))')" 0 "quiet hours: nothing is sent"
	expect_rc 0 "outbox --all" $VIGIL outbox --all --state "$S/q"
	expect_grep "$TMP/out" "muted: quiet hours (00:00-23:59 UTC)" "the message is kept as muted"
fi

# --- --no-store, the generic webhook, dry runs ---------------------------------------
export HOOK_NS="$BASE/services/T6/B1/ok/SECRETNS"
gen nostore 'web-1' 58
spec nostore "$(slack HOOK_NS)"
expect_rc 0 "run --no-store" $VIGIL run --no-store --at "$(at 60)" "$TMP/nostore.json"
expect_eq "$(q 'len(K("/services/T6/B1/"))')" 1 "delivered without a store"

export HOOK_TOKEN=SECRETBEARER HOOK_URL="$BASE/hook/ok/SECRETHOOKPATH"
gen hook 'web-1|web-2' 58
spec hook '{"type": "webhook", "url": "${env:HOOK_URL}", "headers": {"X-Token": "Bearer ${env:HOOK_TOKEN}"}}' 
expect_rc 0 "the generic webhook" $VIGIL run --state "$S" --at "$(at 60)" "$TMP/hook.json"
expect_eq "$(q 'K("/hook/ok")[0]["payload"]["status"], K("/hook/ok")[0]["payload"]["job"], [f["series"] for f in K("/hook/ok")[0]["payload"]["firing"]]')" \
	"firing hook ['web-1', 'web-2']" "posts the anomaly payload as JSON"
expect_eq "$(q 'K("/hook/ok")[0]["content_type"], K("/hook/ok")[0]["headers"].get("X-Token")')" \
	"application/json Bearer SECRETBEARER" "as application/json, with the configured headers resolved"

export HOOK_DRY="$BASE/services/T6/B2/ok/SECRETDRY"
gen dry 'web-1' 58
spec dry "$(slack HOOK_DRY)"
expect_rc 0 "run --dry-run" $VIGIL run --dry-run --state "$S" --at "$(at 60)" "$TMP/dry.json"
expect_grep "$TMP/out" '[dry run: slack target ${env:HOOK_DRY}: would send]' "dry runs print the Slack payload"
expect_eq "$(q 'len(K("/services/T6/B2/"))')" 0 "and send nothing"

# --- the webhook URL never leaks --------------------------------------------------
expect_rc 0 "validate" $VIGIL validate "$TMP/grp.json"
VIGIL_LOG_LEVEL=debug run $VIGIL outbox send --state "$S" --wait 1s
expect_eq "$(grep -c 'SECRET' "$ALL")" 0 "no webhook secret in any output, log or error of vigil"
expect_eq "$(cat "$S"/vigil.db* "$S"/*/vigil.db* 2>/dev/null | grep -ac SECRET)" 0 "nor in the store"
expect_eq "$(q 'sum(len(r["violations"]) for r in R if r["path"].startswith("/services/"))')" 0 \
	"no message broke a rule of Slack's"

stop_server
finish

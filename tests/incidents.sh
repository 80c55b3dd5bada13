#!/bin/sh
# incidents.sh - the incident life-cycle end to end, replay-based and
# deterministic (docs/notify.md#incidents): a spike; a level shift that
# persists (fires once, stays open while the detector goes quiet, accepted as
# the new normal in words, or resolved when it is over); a flapping series;
# two incidents days apart; a failing source and a silent one; quiet hours,
# mutes and reminders; a restart in the middle of an incident; `vigil
# incidents`; replay and backfill agreeing; bad alert keys.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=error
export SLACK_URL="http://127.0.0.1:9/never-contacted"
T0=1795212000           # 2026-11-20T22:00:00Z: minute 0 of the data
at() { echo $((T0 + 60 * $1)); }

# gen NAME SHAPE MINUTES: data-NAME.csv, series "web-1", one point a minute; SHAPE is a Python expression
# of m (the minute) giving the value; a small deterministic wobble is added.
gen() {
	python3 - "$TMP/data-$1.csv" "$2" "$T0" "$3" <<'EOF'
import sys
path, shape, t0, minutes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with open(path, "w") as f:
    f.write("host,ts,value\n")
    for m in range(minutes):
        v = eval(shape, {"m": m}) + ((m * 7) % 5 - 2) * 0.5
        f.write("web-1,%d,%g\n" % (t0 + 60 * m, v))
EOF
}

# spec NAME DETECTOR-JSON ALERT-JSON [NOTIFY-EXTRA]: a job over data-NAME.csv with a Slack target.
spec() {
	cat > "$TMP/$1.json" <<JSON
{"name": "$1", "source": {"type": "csv", "path": "data-$1.csv", "series_column": "host", "time_column": "ts"},
 "window": "2h", "alert": $3, "detectors": [$2],
 "notify": [{"type": "stdout"}, {"type": "slack", "webhook_url": "\${env:SLACK_URL}"${4:+, $4}}]}
JSON
}

# replay NAME FROM-MIN TO-MIN STEP: replay --json; runs in $TMP/NAME.runs.json, messages in $TMP/NAME.msgs
replay() {
	$VIGIL replay "$TMP/$1.json" --from "$(at "$2")" --to "$(at "$3")" --step "$4" --json \
		>"$TMP/$1.runs.json" 2>"$TMP/$1.msgs"
}

# q NAME EXPR: a Python expression over the replayed runs (RUNS) and every incident event (EV).
q() {
	python3 -c "
import json
RUNS = json.load(open('$TMP/$1.runs.json'))
EV = [i for r in RUNS for i in r['incidents']]
print($2)"
}
# slack_texts NAME: the notification text of every Slack message the replay would have sent
slack_texts() { grep '^  "text": ' "$TMP/$1.msgs" | sed 's/^  "text": "//; s/",$//'; }

THR='{"detector": "threshold", "params": {"upper": 60}}'
MAD='{"detector": "mad", "params": {"window": 30, "threshold": 6}}'

# --- a spike ----------------------------------------------------------------------------------
gen spike '100 if m == 130 else 40' 400
spec spike "$THR" '{}'
expect_exit 0 "replay a spike" -- replay spike 120 240 5m
expect_eq "$(q spike 'sum(e["event"] == "opened" for e in EV)')" 1 "the spike opens one incident"
expect_eq "$(q spike '[(e["state"], e["start"], e["end"], e["peak"]["value"]) for e in EV if e["event"] == "closed"]')" \
	"[('resolved', '2026-11-21T00:10:00Z', '2026-11-21T00:11:00Z', 99.0)]" \
	"it resolves, ending when the series came back (it had to stay back for 15 min and 5 points)"
expect_eq "$(slack_texts spike | tr '\n' '|')" "[FIRING:1] spike: web-1|[RESOLVED:1] spike: web-1 resolved|" \
	"Slack: one firing, one resolved message"
expect_grep "$TMP/spike.msgs" "FIRING   web-1  2026-11-21T00:10:00Z to ongoing  peak 99 at 2026-11-21T00:10:00Z" \
	"stdout: one line with start, end or ongoing, peak"
expect_grep "$TMP/spike.msgs" "back inside the expected band since" "the resolved message says it is over"
expect_grep "$TMP/spike.msgs" "replay 'spike': 25 runs, 27 notifications, 0 failed runs, 1 incident" "the replay summary counts incidents"

# --- a level that shifts and stays: fires once, reminders, accepted in words ------------------
gen level '97 if m >= 150 else 40' 600
spec level "$MAD" '{"accept_after": "3h", "recent": "30m"}' '"repeat_interval": "1h"'
expect_exit 0 "replay a persisting level shift" -- replay level 120 480 10m
expect_eq "$(q level '[(e["event"], e["state"], e["start"], e["end"]) for e in EV if e["event"] != "ongoing"]')" \
	"[('opened', 'open', '2026-11-21T00:30:00Z', None), ('closed', 'accepted', '2026-11-21T00:30:00Z', '2026-11-21T03:30:00Z')]" \
	"one incident, open while the level stays (the detector went quiet long before), accepted after accept_after"
expect_eq "$(q level 'RUNS[10]["alerts"], RUNS[10]["incidents"][0]["state"]')" "[] open" \
	"an hour in, mad no longer flags the new level, yet the incident is still open"
expect_eq "$(q level 'EV[0]["onset_band"]["expected"], EV[-1]["onset_band"]["expected"], EV[0]["rarity"] > 6')" \
	"40.0 40.0 True" "the band stays the one of the onset; rarity is a number in JSON"
expect_eq "$(slack_texts level | tr '\n' '|')" \
	"[FIRING:1] level: web-1|[FIRING:1] level: web-1|[FIRING:1] level: web-1|[RESOLVED:1] level: web-1 accepted as the normal level|" \
	"Slack: fired once, two hourly reminders, then accepted"
expect_grep "$TMP/level.msgs" "still firing since <!date^1795221000^{date_short_pretty} {time}|2026-11-21T00:30:00Z>" \
	"reminders say since when"
expect_grep "$TMP/level.msgs" "stays at 96: now the normal level (open for 3h since" "acceptance is said in words"
expect_no_grep "$TMP/level.msgs" "back to normal" "never 'back to normal'"
expect_no_grep "$TMP/level.msgs" "back inside" "nor 'back inside' for an accepted level"
expect_no_grep "$TMP/level.runs.json" "0000000" "shortest round-trip numbers in JSON"
spec level "$MAD" '{"accept_after": "never", "recent": "30m"}'
expect_exit 0 "replay with accept_after never" -- replay level 120 600 20m
expect_eq "$(q level 'sorted({(e["state"], e["end"]) for e in EV})')" "[('open', None)]" "never accepted: still open"
gen level '97 if 150 <= m < 300 else 40' 600
expect_exit 0 "replay a level shift that ends" -- replay level 120 480 10m
expect_eq "$(q level '[(e["state"], e["end"]) for e in EV if e["event"] == "closed"]')" \
	"[('resolved', '2026-11-21T03:15:00Z')]" \
	"resolved when the level is back inside the onset band (from 03:00; mad flags the drop itself until 03:15)"

# --- a flapping series: one incident, no flood ------------------------------------------------
gen flap '100 if m >= 130 and m % 20 == 10 else 40' 600
spec flap "$THR" '{}'
expect_exit 0 "replay a flapping series" -- replay flap 120 480 5m
expect_eq "$(q flap 'len({e["start"] for e in EV}), max(e["flaps"] for e in EV) >= 10')" "1 True" \
	"one incident that keeps coming back (flaps counted)"
expect_eq "$(slack_texts flap | wc -l | tr -d ' ')" 2 "two messages in 6 hours (it fired, a reminder after 4h), not one per flap"
expect_eq "$(q flap 'sorted({e["event"] for e in EV})')" "['ongoing', 'opened', 'reopened']" "it reopens, never shown closed"

# --- two incidents days apart -------------------------------------------------------------------
gen apart '100 if m in (130, 4450) else 40' 4600
spec apart "$THR" '{}'
expect_exit 0 "replay four days" -- replay apart 120 4560 1h
expect_eq "$(q apart 'sorted({(e["start"], e["peak"]["value"]) for e in EV})')" \
	"[('2026-11-21T00:10:00Z', 99.0), ('2026-11-24T00:10:00Z', 99.0)]" "two incidents, each with its own peak"

# --- quiet hours ---------------------------------------------------------------------------------
spec spike "$THR" '{}' '"quiet_hours": {"from": "00:00", "to": "23:59"}'
expect_exit 0 "replay in quiet hours" -- replay spike 120 240 5m
expect_grep "$TMP/spike.msgs" "would keep muted: quiet hours (00:00-23:59 UTC)" "messages are kept muted, not sent"
expect_eq "$(q spike 'sum(e["event"] == "opened" for e in EV)')" 1 "the incident itself is the same"

# --- stored runs: restart in the middle of an incident, mutes, `vigil incidents` ----------------
S="$TMP/state"
spec spike "$THR" '{}'
for m in 135 140; do
	expect_exit 0 "run at minute $m" -- $VIGIL run --state "$S" --at "$(at $m)" "$TMP/spike.json"
done
expect_grep "$TMP/out" "ONGOING  web-1  2026-11-21T00:10:00Z to ongoing" "a new process goes on with the open incident"
expect_exit 0 "incidents" -- $VIGIL incidents --state "$S"
expect_grep "$TMP/out" "open      spike                web-1" "vigil incidents lists it open"
expect_grep "$TMP/out" "ongoing" "with no end"
expect_exit 0 "run at minute 160, after it is over" -- $VIGIL run --state "$S" --at "$(at 160)" "$TMP/spike.json"
expect_exit 1 "the same scheduled time again" -- $VIGIL run --state "$S" --at "$(at 160)" "$TMP/spike.json"
expect_exit 0 "run at minute 170" -- $VIGIL run --state "$S" --at "$(at 170)" "$TMP/spike.json"
expect_eq "$(sqlite3 "$S/vigil.db" "SELECT count(*), min(state), min(end_ts) FROM incidents")" "1|resolved|$(( (T0 + 131 * 60) * 1000 ))" \
	"one incident, resolved once, never duplicated"
expect_eq "$(sqlite3 "$S/vigil.db" "SELECT group_concat(summary, '|') FROM (SELECT summary FROM outbox ORDER BY id)")" \
	"[FIRING:1] spike: web-1|[RESOLVED:1] spike: web-1" "one firing and one resolved message across the processes"
expect_exit 0 "incidents --json --all" -- $VIGIL incidents --state "$S" --json --all --job spike
expect_eq "$(python3 -c "import json,sys; d=json.load(open('$TMP/out')); print(len(d), d[0]['state'], d[0]['peak']['value'], d[0]['unusual'])")" \
	"1 resolved 99.0 1 in 10^16" "--json has the incident with its peak and rarity"
gen spike '100 if m in (130, 200) else 40' 400
expect_exit 0 "mute the job" -- $VIGIL mute add spike --for 1d --state "$S"
expect_exit 0 "run at minute 205, muted" -- $VIGIL run --state "$S" --at "$(at 205)" "$TMP/spike.json"
expect_eq "$(sqlite3 "$S/vigil.db" "SELECT state FROM outbox ORDER BY id DESC LIMIT 1")" "muted" "the new incident's message is kept muted"
expect_eq "$(sqlite3 "$S/vigil.db" "SELECT count(*) FROM incidents")" 2 "and the incident is recorded"

# --- failing source and no data -----------------------------------------------------------------
S2="$TMP/state2"
cat > "$TMP/broken.json" <<JSON
{"name": "broken", "source": {"type": "csv", "path": "missing.csv", "series_column": "host", "time_column": "ts"},
 "window": "2h", "detectors": [$THR], "alert": {"on_no_data": "alert"},
 "notify": [{"type": "slack", "webhook_url": "\${env:SLACK_URL}"}]}
JSON
expect_exit 1 "a failing run" -- $VIGIL run --state "$S2" --at "$(at 125)" "$TMP/broken.json"
expect_eq "$(sqlite3 "$S2/vigil.db" "SELECT count(*) FROM outbox")" 0 "one failed run alerts nobody yet (error_after 2)"
expect_exit 1 "a second failing run" -- $VIGIL run --state "$S2" --at "$(at 130)" "$TMP/broken.json"
expect_eq "$(sqlite3 "$S2/vigil.db" "SELECT summary FROM outbox")" "[FIRING:1] broken: runs failing" "the second one does"
sqlite3 "$S2/vigil.db" "SELECT payload FROM outbox" > "$TMP/payload"
expect_grep "$TMP/payload" "*Runs failing* since" "the message says runs are failing"
expect_grep "$TMP/payload" "missing.csv" "and names the reason"
expect_exit 0 "runs fail, the metric" -- $VIGIL incidents --state "$S2" --json
expect_eq "$(python3 -c "import json; d=json.load(open('$TMP/out')); print(d[0]['kind'], d[0]['state'])")" "error open" \
	"an open error incident"
echo "host,ts,value" > "$TMP/missing.csv"
expect_exit 0 "the source answers, with no data" -- $VIGIL run --state "$S2" --at "$(at 135)" "$TMP/broken.json"
expect_exit 0 "no data again" -- $VIGIL run --state "$S2" --at "$(at 140)" "$TMP/broken.json"
expect_eq "$(sqlite3 "$S2/vigil.db" "SELECT summary FROM outbox ORDER BY id DESC LIMIT 1")" "[FIRING:1] broken: no data" \
	"two silent runs: a no-data alert (on_no_data: alert)"
cp "$TMP/data-spike.csv" "$TMP/missing.csv"
expect_exit 0 "data again" -- $VIGIL run --state "$S2" --at "$(at 145)" "$TMP/broken.json"
sqlite3 "$S2/vigil.db" "SELECT payload FROM outbox ORDER BY id DESC LIMIT 1" > "$TMP/payload"
expect_grep "$TMP/payload" "Runs succeed again" "the error is resolved"
expect_grep "$TMP/payload" "Data arrives again" "and so is the silence"
expect_eq "$(sqlite3 "$S2/vigil.db" "SELECT failed_runs, empty_runs, last_success FROM job_health")" "0|0|$(( $(at 145) * 1000 ))" \
	"job health: nothing failing, last success recorded"

# --- backfill makes the incidents replay shows --------------------------------------------------
gen spike '100 if m in (130, 200) else 40' 400
spec spike "$THR" '{}'
expect_exit 0 "replay" -- replay spike 120 300 5m
expect_exit 0 "backfill the same range" -- $VIGIL backfill "$TMP/spike.json" --from "$(at 120)" --to "$(at 300)" --step 5m \
	--state "$TMP/state3" --quiet
expect_eq "$(sqlite3 "$TMP/state3/vigil.db" "SELECT group_concat(start_ts || '-' || end_ts || '-' || state, ' ') FROM incidents")" \
	"$(q spike '" ".join("%d-%d-%s" % (e["start_ms"], e["end_ms"], e["state"]) for e in EV if e["event"] == "closed")')" \
	"backfill stores the incidents replay shows"

# --- bad alert keys -------------------------------------------------------------------------------
spec bad "$THR" '{"on_error": "sometimes", "resolve_after": "-5m", "on_no_data": 3, "accept_after": "soon"}'
expect_exit 2 "validate bad alert keys" -- $VIGIL validate "$TMP/bad.json"
expect_grep "$TMP/err" "\$.alert.on_error: unknown value 'sometimes': must be \"alert\", \"ok\" or \"keep_last\"" "unknown on_error"
expect_grep "$TMP/err" "\$.alert.resolve_after: must not be negative (got \"-5m\")" "negative resolve_after"
expect_grep "$TMP/err" "\$.alert.on_no_data: must be \"alert\", \"ok\" or \"keep_last\"" "on_no_data not a string"
expect_grep "$TMP/err" "\$.alert.accept_after: must be a duration like" "accept_after not a duration"
cat > "$TMP/bounds.json" <<JSON
{"name": "b", "source": {"type": "csv", "path": "x.csv"}, "bounds": [100, 0], "detectors": [$THR]}
JSON
expect_exit 2 "validate bad bounds" -- $VIGIL validate "$TMP/bounds.json"
expect_grep "$TMP/err" "\$.bounds: the lowest value must be below the highest" "bounds in order"
finish

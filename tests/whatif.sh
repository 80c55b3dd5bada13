#!/bin/sh
# whatif.sh - `vigil replay --score-feedback` and `vigil backfill --score-feedback` (docs/daemon.md, "What if"):
# a job's history is backfilled, people give feedback on its incidents with `vigil feedback`,
# then a more and a less sensitive config are scored against that feedback. Every number
# below is worked out by hand from the fixture.
#
# The fixture: series web-1 at 10, one point a minute, with six events of three points each
# (minutes M, M+1, M+2):
#   A  100-102  value 100   feedback: real
#   B  200-202  value 70    feedback: false
#   C  300-302  value 70    feedback: real
#   D  400-402  value 70    feedback: expected
#   E  500-502  value 70    no feedback (unlabelled)
#   G  600-602  value 55    below the job's threshold: no stored incident
# The job (threshold 60) raises A to E. Replayed from minute 60 to 720 every 30 minutes (23
# runs, 660 minutes = 0.458333 days):
#   threshold 50 (more sensitive): incidents A B C D E G; real alerted A C (2 of 2), not real
#     alerted B D (2 of 2): precision 2/4 = 0.5, recall 2/2 = 1; unlabelled alerts E, G = 2
#   threshold 80 (less sensitive): incident A; real alerted 1 of 2 (C missed), not real 0 of 2:
#     precision 1/1 = 1, recall 1/2 = 0.5; unlabelled 0
#   per detector, points: 80 flags 3 (A); a shadow at 50 flags 18, 6 of them (E, G) unlabelled.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=error
S="$TMP/state"
T0=1795212000           # 2026-11-20T22:00:00Z: minute 0 of the data
at() { echo $((T0 + 60 * $1)); }

python3 - "$TMP/data.csv" "$T0" <<'EOF'
import sys
path, t0 = sys.argv[1], int(sys.argv[2])
events = {100: 100, 200: 70, 300: 70, 400: 70, 500: 70, 600: 55}
with open(path, "w") as f:
    f.write("host,ts,value\n")
    for m in range(760):
        v = next((x for s, x in events.items() if s <= m < s + 3), 10)
        f.write("web-1,%d,%d\n" % (t0 + 60 * m, v))
EOF
# spec FILE NAME DETECTORS-JSON
spec() {
	cat > "$TMP/$1.json" <<JSON
{"name": "$2", "source": {"type": "csv", "path": "data.csv", "series_column": "host", "time_column": "ts"},
 "window": "1h", "alert": {"recent": "30m"}, "detectors": [$3], "notify": [{"type": "stdout"}]}
JSON
}
thr() { echo "{\"id\": \"$1\", \"detector\": \"threshold\", \"params\": {\"upper\": $2}${3:+, \"mode\": \"$3\"}}"; }
spec job wf "$(thr t60 60)"
spec sensitive wf-try "$(thr t50 50)"
spec strict wf-try "$(thr t80 80)"
spec both wf-try "$(thr t80 80), $(thr low 50 shadow)"
RANGE="--from $(at 60) --to $(at 720) --step 30m"

# sc NAME EXPR: a Python expression over the score in $TMP/NAME.json (S: the score; C: the config's
# line; D(id): a detector's)
sc() {
	python3 -c "
import json
S = json.load(open('$TMP/$1.json'))
C = [x for x in S['scores'] if x['kind'] == 'config'][0]
def D(i): return [x for x in S['scores'] if x['kind'] == 'detector' and x['name'] == i][0]
def T(x): return (x['alerts'], x['real_alerted'], x['real_missed'], x['not_real_alerted'], x['not_real_quiet'], x['precision'], x['recall'], x['unlabelled_alerts'])
print($2)"
}

# --- the job's history, and feedback on its incidents --------------------------------------
expect_exit 0 "backfill the job" -- $VIGIL backfill "$TMP/job.json" --state "$S" $RANGE --quiet
$VIGIL incidents --job wf --all --json --state "$S" > "$TMP/inc.json"
id() { python3 -c "
import json
print([i['id'] for i in json.load(open('$TMP/inc.json')) if i['start'] == '$1'][0])"; }
expect_eq "$(python3 -c "import json; print([s[11:16] for s in sorted(i['start'] for i in json.load(open('$TMP/inc.json')))])")" \
	"['23:40', '01:20', '03:00', '04:40', '06:20']" "five incidents: A to E (G stays under the job's threshold)"

expect_exit 0 "replay before any feedback" -- $VIGIL replay "$TMP/sensitive.json" --job wf --score-feedback --json --state "$S" $RANGE
cp "$TMP/out" "$TMP/none.json"
expect_eq "$(sc none 'S["labelled"], S["unlabelled_incidents"], C["precision"], C["recall"], C["alerts"]')" \
	"{'real': 0, 'false': 0, 'expected': 0} 5 None None 6" \
	"without feedback nothing is scored: five unlabelled incidents, no precision or recall"

A=$(id 2026-11-20T23:40:00Z) B=$(id 2026-11-21T01:20:00Z) C=$(id 2026-11-21T03:00:00Z) D=$(id 2026-11-21T04:40:00Z)
expect_exit 0 "A is real" -- $VIGIL feedback "$A" real --state "$S"
expect_exit 0 "B is a false alarm" -- $VIGIL feedback "$B" real --note "first thought" --state "$S"
expect_exit 0 "B: changed mind, the newest verdict counts" -- $VIGIL feedback "$B" false --state "$S"
expect_exit 0 "C is real" -- $VIGIL feedback "$C" real --state "$S"
expect_exit 0 "D was expected (a deploy)" -- $VIGIL feedback "$D" expected --note deploy --state "$S"

# --- a more sensitive config ----------------------------------------------------------------
expect_exit 0 "replay a more sensitive config" -- $VIGIL replay "$TMP/sensitive.json" --job wf --score-feedback --json --state "$S" $RANGE
cp "$TMP/out" "$TMP/sens.json"
expect_eq "$(sc sens 'S["job"], S["spec"], S["runs"], round(S["days"], 6), S["labelled"], S["unlabelled_incidents"]')" \
	"wf wf-try 23 0.458333 {'real': 2, 'false': 1, 'expected': 1} 1" \
	"23 runs over 0.458333 days; 2 real, 1 false, 1 expected, 1 incident without feedback"
expect_eq "$(sc sens 'T(C)')" "(6, 2, 0, 2, 0, 0.5, 1.0, 2)" \
	"threshold 50: 6 incidents, both real ones and both others: precision 0.5, recall 1, 2 unlabelled (E, G)"
expect_eq "$(sc sens 'round(C["alerts_per_day"], 4)')" "13.0909" "6 incidents in 0.458333 days: 13.09 a day"
expect_eq "$(sc sens 'sorted((i["verdict"], i["alerted"], i["flagged_by"]) for i in S["incidents"])')" \
	"[('expected', True, ['t50']), ('false', True, ['t50']), ('real', True, ['t50']), ('real', True, ['t50'])]" \
	"each labelled incident, its verdict, whether the config alerted and which detectors flagged it"

# --- a less sensitive config ----------------------------------------------------------------
expect_exit 0 "replay a less sensitive config" -- $VIGIL replay "$TMP/strict.json" --job wf --score-feedback --json --state "$S" $RANGE
cp "$TMP/out" "$TMP/str.json"
expect_eq "$(sc str 'T(C)')" "(1, 1, 1, 0, 2, 1.0, 0.5, 0)" \
	"threshold 80: 1 incident, 1 of 2 real (C missed), none of the others: precision 1, recall 0.5"
expect_eq "$(sc str 'round(C["alerts_per_day"], 4)')" "2.1818" "1 incident in 0.458333 days"

# --- per detector: an alerting one and a shadow one ------------------------------------------
expect_exit 0 "replay a config with a shadow detector" -- $VIGIL replay "$TMP/both.json" --job wf --score-feedback --json --state "$S" $RANGE
cp "$TMP/out" "$TMP/both.out.json"
expect_eq "$(sc both.out 'T(C), T(D("t80")), D("t80")["mode"]')" \
	"(1, 1, 1, 0, 2, 1.0, 0.5, 0) (3, 1, 1, 0, 2, 1.0, 0.5, 0) alert" \
	"the config alerts as t80 does; t80 flagged A's 3 points (each seen by two runs, counted once)"
expect_eq "$(sc both.out 'T(D("low")), D("low")["mode"]')" "(18, 2, 0, 2, 0, 0.5, 1.0, 6) shadow" \
	"the shadow detector would have flagged 18 points: precision 0.5, recall 1, 6 points (E, G) unlabelled"

# --- text, the job's own spec, backfill ------------------------------------------------------
expect_exit 0 "the text report" -- $VIGIL replay "$TMP/both.json" --job wf --score-feedback --state "$S" $RANGE
expect_grep "$TMP/out" "labelled incidents: 2 real, 2 false or expected; 1 without feedback (not scored)" "says what it scores"
expect_grep "$TMP/out" "low (shadow)" "names each detector and its mode"
expect_eq "$(grep -c '^the config (incidents) *1 *2.18 *1 of 2 *0 of 2 *1.00 *0.50 *0$' "$TMP/out")" 1 \
	"the config's line: alerts, per day, real and false caught, precision, recall, unlabelled"
expect_no_grep "$TMP/out" "FIRING" "no messages are printed"
expect_exit 0 "the job's own spec (no --job)" -- $VIGIL replay "$TMP/job.json" --score-feedback --json --state "$S" $RANGE
cp "$TMP/out" "$TMP/own.json"
expect_eq "$(sc own 'T(C)')" "(5, 2, 0, 2, 0, 0.5, 1.0, 1)" "the job's own threshold 60: its 5 incidents, E unlabelled"
spec strict2 wf-strict "$(thr t80 80)"
expect_exit 0 "backfill a less sensitive copy and score it" -- \
	$VIGIL backfill "$TMP/strict2.json" --job wf --score-feedback --json --quiet --state "$S" $RANGE
cp "$TMP/out" "$TMP/bf.json"
expect_eq "$(sc bf 'T(C), S["runs"]')" "(1, 1, 1, 0, 2, 1.0, 0.5, 0) 23" "backfill scores the same as replay"
expect_exit 0 "the second backfill of the range" -- \
	$VIGIL backfill "$TMP/strict2.json" --job wf --score-feedback --state "$S" $RANGE
expect_grep "$TMP/out" "(23 runs already in the store were not run again and are not scored)" \
	"runs already done are said not to be scored"

# --- usage -----------------------------------------------------------------------------------
expect_exit 2 "--job without --score-feedback" -- $VIGIL replay "$TMP/job.json" --job wf $RANGE
expect_exit 2 "--store without --score-feedback" -- $VIGIL replay "$TMP/job.json" --store "$S/vigil.db" $RANGE
expect_grep "$TMP/err" "go with --score-feedback" "says why"
finish

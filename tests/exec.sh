#!/bin/sh
# exec.sh - external detectors through the CLI: discovery by `vigil
# detectors`, params checked by `vigil validate` from the executable's
# describe, jobs run with the shipped Python (plain and numpy) and shell
# examples, and nothing left running afterwards.
. "$top_srcdir/tests/lib.sh"
[ "$(id -u)" = 0 ] && export VIGIL_EXEC_ALLOW_ROOT=1
DETS="$TMP/detectors"
mkdir -p "$DETS"
cp "$top_srcdir/plugins/python/vigil_detector.py" "$top_srcdir/plugins/python/examples/spikes.py" \
	"$top_srcdir/plugins/python/examples/seasonal_numpy.py" "$DETS/"
cp "$top_srcdir/plugins/shell/above.sh" "$top_srcdir/plugins/shell/above.awk" "$DETS/"
chmod -x "$DETS/vigil_detector.py" "$DETS/above.awk"

expect_exit 0 "vigil detectors describes the executables of a detector dir" -- $VIGIL detectors -P "$DETS"
expect_grep "$TMP/out" "spike 1.0.0 - flags points far from the rolling mean" "spike is listed"
expect_grep "$TMP/out" "exec: $DETS/spikes.py (min history 2)" "with its executable"
expect_grep "$TMP/out" "flatline 1.0.0" "one executable offers two algorithms"
expect_grep "$TMP/out" "seasonal-mad" "the numpy example is listed"
expect_grep "$TMP/out" "exec: $DETS/above.sh" "the shell example is listed"
expect_exit 0 "vigil detectors --json" -- $VIGIL detectors --json -P "$DETS"
expect_grep "$TMP/out" "\"exec\": \"$DETS/spikes.py\"" "--json has the executable"
expect_grep "$TMP/out" "\"min_history\": 2" "--json has the minimum history"

awk 'BEGIN { print "timestamp,web-1,web-2"; srand(7);
	for (i = 0; i < 300; i++) { a = 50 + (rand() - 0.5) * 4; b = 20 + 10 * sin(i * 6.2832 / 24) + (rand() - 0.5) * 2;
		if (i == 250) a = 95; if (i == 280) b = 80; printf "%d,%.2f,%.2f\n", 1700000000 + i * 300, a, b } }' > "$TMP/m.csv"
cat > "$TMP/job.json" <<JSON
{"name": "ext", "source": {"type": "csv", "path": "m.csv"},
 "detectors": [
  {"detector": "spike", "exec": {"path": "spikes.py"}, "params": {"window": 48, "threshold": 6}},
  {"detector": "seasonal-mad", "exec": {"path": "seasonal_numpy.py"}, "params": {"period": 24, "seasons": 4, "threshold": 8}, "mode": "shadow"},
  {"detector": "above", "id": "above-90", "exec": {"path": "above.sh", "lifecycle": "oneshot"}, "params": {"limit": 90}}
 ]}
JSON
expect_exit 0 "a job of external detectors validates" -- $VIGIL validate -P "$DETS" "$TMP/job.json"
expect_exit 0 "and runs" -- $VIGIL run --no-store --json -P "$DETS" "$TMP/job.json"
expect_grep "$TMP/out" '"failed_series": []' "no series failed"
expect_grep "$TMP/out" '"detectors": "spike,above-90"' "the Python detector agrees"
expect_grep "$TMP/out" 'standard deviations from the mean' "with the Python detector's reason"
expect_no_grep "$TMP/err" "stderr:" "nothing on the detectors' stderr"

cat > "$TMP/bad.json" <<JSON
{"name": "ext", "source": {"type": "csv", "path": "m.csv"},
 "detectors": [
  {"detector": "spike", "exec": {"path": "spikes.py", "lifecycle": "sometimes"}, "params": {"window": 1}},
  {"detector": "spikes", "exec": {"path": "spikes.py"}, "params": {"window": 1}},
  {"detector": "spike", "id": "s2", "exec": {"path": "spikes.py"}, "params": {"window": 1, "treshold": 2}}
 ]}
JSON
expect_exit 2 "validate checks exec objects and params against describe" -- $VIGIL validate -P "$DETS" "$TMP/bad.json"
expect_grep "$TMP/err" '$.detectors[0].exec.lifecycle: must be "persistent" (default) or "oneshot"' "bad lifecycle"
expect_grep "$TMP/err" "\$.detectors[1].detector: '$DETS/spikes.py' does not offer detector 'spikes' (did you mean 'spike'?)" "unknown algorithm"
expect_grep "$TMP/err" '$.detectors[2].params.window: must be >= 2' "param bound from the describe schema"
expect_grep "$TMP/err" "\$.detectors[2].params.treshold: unknown param (did you mean 'threshold'?)" "unknown param"

left=$(ps -eo stat=,args= | grep -F "$TMP" | grep -v grep || true)
expect_eq "$left" "" "no detector process is left running"
finish

#!/bin/sh
# history.sh - `vigil replay` and `vigil backfill` over the example data:
# the runs the schedule would have made, determinism, resuming, errors.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=warning
CSV="$top_srcdir/specs/examples/data/cpu.csv"
SPEC=$TMP/hist.json
cat > "$SPEC" <<JSON
{"name": "hist", "source": {"type": "csv", "path": "$CSV", "time_column": "timestamp"}, "window": "12h",
 "detectors": [{"detector": "mad", "params": {"window": 48, "threshold": 5}}],
 "alert": {"recent": "1h"}, "schedule": {"cron": "0 * * * *", "timezone": "Europe/Paris"}}
JSON
FROM=2026-11-20T18:00:00Z TO=2026-11-21T00:00:00Z

for verb in serve backfill replay status; do
	expect_exit 0 "$verb --help" -- $VIGIL $verb --help
	expect_grep "$TMP/out" "usage: vigil $verb" "$verb --help shows its usage"
done
expect_exit 2 "serve without --specs" -- $VIGIL serve
expect_grep "$TMP/err" "--specs DIR is required" "serve asks for --specs"

# --- replay -----------------------------------------------------------------
expect_exit 0 "replay" -- $VIGIL replay "$SPEC" --from $FROM --to $TO
cp "$TMP/out" "$TMP/replay1"
expect_eq "$(grep -c "^== vigil: job 'hist' at " "$TMP/replay1")" 7 "one notification per hourly run, both ends included"
expect_grep "$TMP/replay1" "== vigil: job 'hist' at 2026-11-20T18:00:00Z ==" "runs are dated by their scheduled time"
expect_grep "$TMP/replay1" "== vigil: job 'hist' at 2026-11-21T00:00:00Z ==" "up to --to"
expect_eq "$(grep -c '^\[dry run: stdout target\]' "$TMP/replay1")" 7 "each marked as not sent"
expect_grep "$TMP/replay1" "FIRING   web-1  2026-11-20T22:00:00Z to ongoing" "the incident opens in the run of 22:00"
expect_no_grep "$TMP/replay1" "web-1  2026-11-20T21:" "nothing before it"
expect_eq "$(grep -c "FIRING   web-1" "$TMP/replay1")" 1 "it fires once"
expect_grep "$TMP/err" "replay 'hist': 7 runs, 7 notifications, 0 failed runs" "a summary on stderr"
expect_exit 0 "replay again" -- $VIGIL replay "$SPEC" --from $FROM --to $TO
cmp -s "$TMP/out" "$TMP/replay1" && ok "replay is deterministic" || not_ok "two replays differ"
expect_exit 0 "replay --step 30m" -- $VIGIL replay "$SPEC" --from $FROM --to $TO --step 30m
expect_eq "$(grep -c "^== vigil: job 'hist' at " "$TMP/out")" 13 "--step replaces the schedule"
expect_exit 0 "replay with unix seconds" -- $VIGIL replay "$SPEC" --from 1795197600 --to 1795219200
cmp -s "$TMP/out" "$TMP/replay1" && ok "the same runs" || not_ok "unix-seconds range differs"
incidents=$(grep -c "FIRING " "$TMP/replay1")

# --- backfill -----------------------------------------------------------------
S=$TMP/state
expect_exit 0 "backfill" -- $VIGIL backfill "$SPEC" --from $FROM --to $TO --state "$S"
expect_grep "$TMP/out" "backfill 'hist': 7 runs (7 succeeded, 0 failed, 0 already done)" "every run done"
expect_grep "$TMP/out" ", $incidents incident" "as many incidents as replay printed"
expect_no_grep "$TMP/out" "== vigil" "no notification by default"
expect_eq "$(sqlite3 "$S/vigil.db" "SELECT count(*) FROM runs WHERE job = 'hist' AND trigger_kind = 'backfill'
             AND state = 'succeeded'")" 7 "stored as backfill runs"
expect_eq "$(sqlite3 "$S/vigil.db" "SELECT count(*) FROM incidents WHERE job = 'hist'")" "$incidents" "stored as incidents"
expect_exit 0 "backfill again" -- $VIGIL backfill "$SPEC" --from $FROM --to $TO --state "$S"
expect_grep "$TMP/out" "7 runs (0 succeeded, 0 failed, 7 already done)" "resuming skips what is done"
expect_exit 0 "backfill --json" -- $VIGIL backfill --json "$SPEC" --from $FROM --to $TO --state "$TMP/s1"
grep -v '"run_id"' "$TMP/out" > "$TMP/json1"
expect_exit 0 "backfill --json into another store" -- $VIGIL backfill --json "$SPEC" --from $FROM --to $TO --state "$TMP/s2"
grep -v '"run_id"' "$TMP/out" > "$TMP/json2"
cmp -s "$TMP/json1" "$TMP/json2" && ok "backfill is deterministic" || not_ok "two backfills differ"
expect_grep "$TMP/json1" '"started": "2026-11-20T22:00:00Z"' "runs report their scheduled time"
expect_exit 0 "backfill --notify" -- $VIGIL backfill --notify "$SPEC" --from $FROM --to $TO --state "$TMP/s3"
expect_eq "$(grep -c "^== vigil: job 'hist' run " "$TMP/out")" 7 "--notify sends them"

# a terminal gets a progress bar (script(1), from bsdutils, gives the command a pty)
script -qec "$VIGIL backfill '$SPEC' --from $FROM --to $TO --state '$TMP/s4'" /dev/null > "$TMP/tty" 2>&1
expect_grep "$TMP/tty" "backfill 'hist' [########################################] 7/7 runs, 0 failed" \
	"a progress bar on a terminal"
expect_no_grep "$TMP/err" "[###" "and none when stderr is not a terminal"

# --- errors ---------------------------------------------------------------------
expect_exit 2 "backfill without --to" -- $VIGIL backfill "$SPEC" --from $FROM --state "$S"
expect_exit 2 "from after to" -- $VIGIL replay "$SPEC" --from $TO --to $FROM
expect_grep "$TMP/err" "--from is after --to" "says so"
expect_exit 2 "a bad time" -- $VIGIL replay "$SPEC" --from yesterday --to $TO
expect_exit 2 "too many runs" -- $VIGIL replay "$SPEC" --from 2020-01-01 --to 2026-01-01 --step 1s
expect_grep "$TMP/err" "more than 100000 runs" "is refused"
sed 's/, "schedule": {[^}]*}//' "$SPEC" > "$TMP/nosched.json"
expect_exit 2 "no schedule, no --step" -- $VIGIL replay "$TMP/nosched.json" --from $FROM --to $TO
expect_grep "$TMP/err" "job 'hist' has no schedule: give --step" "asks for --step"
expect_exit 0 "no schedule with --step" -- $VIGIL replay "$TMP/nosched.json" --from $FROM --to $TO --step 1h
expect_exit 2 "an invalid spec" -- $VIGIL backfill "$TMP/missing.json" --from $FROM --to $TO
finish

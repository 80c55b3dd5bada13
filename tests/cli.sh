#!/bin/sh
# cli.sh - the vigil program end to end: verbs, exit codes, --json, the
# store, secrets, bad input.
. "$top_srcdir/tests/lib.sh"
EX="$top_srcdir/specs/examples/cpu-incident.json"
export VIGIL_LOG_LEVEL=warning

# --- basics ---------------------------------------------------------------
expect_exit 0 "--version" -- $VIGIL --version
expect_grep "$TMP/out" "vigil 0.1.0 (detector ABI 1.2)" "--version prints version and ABI"
expect_exit 2 "no arguments is a usage error" -- $VIGIL
expect_exit 2 "unknown verb" -- $VIGIL frobnicate
expect_grep "$TMP/err" "'frobnicate' is not a vigil command" "unknown verb is named"
expect_exit 2 "misspelt verb" -- $VIGIL valdate x.json
expect_grep "$TMP/err" "(did you mean 'validate'?)" "a misspelt verb gets a suggestion"
for verb in validate run export-scores detectors runs; do
	expect_exit 0 "$verb --help" -- $VIGIL $verb --help
	expect_grep "$TMP/out" "usage: vigil $verb" "$verb --help shows usage"
done
expect_exit 2 "run without a spec" -- $VIGIL run
expect_exit 2 "unknown option" -- $VIGIL run --bogus "$EX"

# --- validate -------------------------------------------------------------
expect_exit 0 "validate the example" -- $VIGIL validate "$EX"
expect_grep "$TMP/out" "ok (job 'cpu-incident', 2 detectors)" "validate reports ok"
bad1="$top_srcdir/tests/data/spec/params/spec.json"
bad2="$top_srcdir/tests/data/spec/unknown-keys/spec.json"
expect_exit 2 "validate invalid specs" -- $VIGIL validate "$EX" "$bad1" "$bad2"
expect_eq "$(grep -c "^$bad1: " "$TMP/err")" 8 "every error of the first file is reported"
expect_eq "$(grep -c "^$bad2: " "$TMP/err")" 3 "and every error of the second"
expect_grep "$TMP/out" "cpu-incident" "the valid file is still reported ok"

# --- run ------------------------------------------------------------------
S="$TMP/state"
expect_exit 0 "run the example job" -- $VIGIL run --state "$S" "$EX"
expect_grep "$TMP/out" "1 series, 864 points, 7 anomalies to alert on, 1 incident" "the incident is found"
expect_grep "$TMP/out" "OVER     web-1  2026-11-20T22:00:00Z to 2026-11-20T22:35:00Z  peak 94.53 at 2026-11-20T22:05:00Z" \
	"one line for the incident: start, end, peak"
expect_grep "$TMP/out" "expected 40.9 (band 14.4 to 67.4)  1 in 10^16  7 points by mad" "expected band, how unusual, points"
expect_eq "$(grep -c '^  [A-Z]' "$TMP/out")" 1 "one line, not one per point"
[ -f "$S/vigil.db" ] && ok "store created in the state dir" || not_ok "no $S/vigil.db"

expect_exit 0 "run --json" -- $VIGIL run --json --state "$S" "$EX"
expect_grep "$TMP/out" '"status": "succeeded"' "--json has the status"
expect_grep "$TMP/out" '"outcome": "anomalies"' "--json has the outcome"
expect_grep "$TMP/out" '"time": "2026-11-20T22:00:00Z"' "--json lists the alerts"
expect_grep "$TMP/err" "7 anomalies to alert on, 0 incidents" "with --json the summary goes to stderr (the incident was told already)"
expect_no_grep "$TMP/out" "== vigil" "stdout is pure JSON"

expect_exit 0 "run --dry-run" -- $VIGIL run --dry-run --state "$S" "$EX"
expect_grep "$TMP/out" "7 anomalies to alert on" "dry run prints the notification"

expect_exit 0 "runs lists history" -- $VIGIL runs --state "$S"
expect_eq "$(grep -c ' cpu-incident ' "$TMP/out")" 3 "three runs recorded"
expect_exit 0 "runs --anomalies --json" -- $VIGIL runs --anomalies --json --limit 100 --state "$S"
expect_eq "$(grep -c '"alerted": 1' "$TMP/out")" 21 "7 alerted points in each of 3 runs"
expect_grep "$TMP/out" '"detector": "zscore"' "shadow detector findings are stored"

# default state dir: $XDG_STATE_HOME/vigil, else ~/.local/state/vigil
expect_exit 0 "XDG_STATE_HOME is honoured" -- env -u VIGIL_STATE_DIR XDG_STATE_HOME="$TMP/xdg" $VIGIL run "$EX"
[ -f "$TMP/xdg/vigil/vigil.db" ] && ok "store under XDG_STATE_HOME" || not_ok "no store under XDG_STATE_HOME"
expect_exit 0 "HOME fallback" -- env -u VIGIL_STATE_DIR -u XDG_STATE_HOME HOME="$TMP/home" $VIGIL run "$EX"
[ -f "$TMP/home/.local/state/vigil/vigil.db" ] && ok "store under ~/.local/state" || not_ok "no store under HOME"
expect_exit 3 "unusable state dir" -- $VIGIL run --state /proc/vigil-cannot-be-here "$EX"

# --- failures -------------------------------------------------------------
cat > "$TMP/missing.json" <<JSON
{"name": "missing-data", "source": {"type": "csv", "path": "no/such.csv"}, "detectors": [{"detector": "mad"}]}
JSON
expect_exit 1 "a job whose source fails" -- $VIGIL run --state "$S" "$TMP/missing.json"
expect_grep "$TMP/err" "job 'missing-data' failed: source: no/such.csv: cannot open: No such file or directory" \
	"the failure reason is printed"
expect_exit 0 "runs --job" -- $VIGIL runs --json --job missing-data --state "$S"
expect_grep "$TMP/out" '"state": "failed"' "the failed run is recorded"
expect_grep "$TMP/out" 'cannot open' "with its reason"

printf 'timestamp,v\n1,1\n2,2\n3,oops\n' > "$TMP/garbage.csv"
cat > "$TMP/garbage.json" <<JSON
{"name": "garbage", "source": {"type": "csv", "path": "garbage.csv"}, "detectors": [{"detector": "mad"}]}
JSON
expect_exit 1 "a CSV with a garbage row" -- $VIGIL run --state "$S" "$TMP/garbage.json"
expect_grep "$TMP/err" "garbage.csv:4: column 'v': 'oops' is not a number" "the row is named by file:line"

expect_exit 2 "run refuses invalid specs" -- $VIGIL run --state "$TMP/s2" "$EX" "$bad1"
expect_grep "$TMP/err" "1 invalid spec; nothing was run" "nothing runs"
[ ! -f "$TMP/s2/vigil.db" ] && ok "no store written" || not_ok "a store was written for an invalid run"

printf '{"name": "x",\n  "source": {"type": "csv"\n' > "$TMP/truncated.json"
expect_exit 2 "truncated JSON" -- $VIGIL validate "$TMP/truncated.json"
expect_grep "$TMP/err" "truncated.json: line 3, column 0: malformed JSON" "line and column are given"

# --- secrets --------------------------------------------------------------
cp "$top_srcdir/specs/examples/data/cpu.csv" "$TMP/cpu.csv"
cat > "$TMP/secret.json" <<JSON
{"name": "secret-path", "source": {"type": "csv", "path": "\${env:VIGIL_TEST_DATA}"},
 "detectors": [{"detector": "mad", "params": {"window": 48, "threshold": 5}}], "alert": {"recent": "6h"}}
JSON
expect_exit 0 "a secret reference resolves at run time" -- env VIGIL_TEST_DATA="$TMP/cpu.csv" $VIGIL run --state "$S" "$TMP/secret.json"
expect_grep "$TMP/out" "7 anomalies" "the referenced file was read"
expect_exit 1 "an unset secret fails the run" -- env -u VIGIL_TEST_DATA $VIGIL run --state "$S" "$TMP/secret.json"
expect_grep "$TMP/err" "environment variable 'VIGIL_TEST_DATA' is not set" "the missing variable is named"
expect_exit 1 "a secret never appears in errors" -- env VIGIL_TEST_DATA="/nonexistent/sekrit-token-XYZ" $VIGIL run --json --state "$S" "$TMP/secret.json"
expect_no_grep "$TMP/err" "sekrit-token-XYZ" "not in stderr"
expect_no_grep "$TMP/out" "sekrit-token-XYZ" "not in --json output"
expect_exit 0 "runs --json after a secret failure" -- $VIGIL runs --json --state "$S"
expect_no_grep "$TMP/out" "sekrit-token-XYZ" "not in the store"

# a ${file:} reference in the CSV path is relative to the spec's directory
echo "cpu.csv" > "$TMP/data-path.txt"
sed 's/\${env:VIGIL_TEST_DATA}/${file:data-path.txt}/' "$TMP/secret.json" > "$TMP/secret-file.json"
expect_exit 0 "a \${file:} reference relative to the spec" -- $VIGIL run --no-store "$TMP/secret-file.json"
expect_grep "$TMP/out" "7 anomalies" "the file named in the secret file was read"

# --- export-scores --------------------------------------------------------
expect_exit 0 "export-scores" -- $VIGIL export-scores --out "$TMP/scores.csv" "$EX"
expect_eq "$(head -1 "$TMP/scores.csv")" "series,timestamp,value,score,is_anomaly,expected,lower,upper" "export header"
expect_eq "$(($(wc -l < "$TMP/scores.csv") - 1))" 864 "one row per point"
expect_eq "$(awk -F, '$5 == 1' "$TMP/scores.csv" | wc -l)" 7 "flagged rows"
expect_grep "$TMP/scores.csv" "web-1,2026-11-20T22:00:00Z,94.5,1,1,40.90000" "score, flag and band of the first incident point"
expect_grep "$TMP/scores.csv" "web-1,2026-11-18T08:20:00Z,,0,0," "a missing value exports empty"
expect_exit 0 "export-scores --detector" -- $VIGIL export-scores --detector zscore --out - "$EX"
expect_eq "$(($(wc -l < "$TMP/out") - 1))" 864 "one detector's view to stdout"
expect_exit 2 "export-scores --detector unknown" -- $VIGIL export-scores --detector nope --out - "$EX"

# --- detectors ------------------------------------------------------------
expect_exit 0 "detectors" -- $VIGIL detectors
expect_grep "$TMP/out" "mad 1.0.0" "mad listed"
expect_grep "$TMP/out" "threshold 1.0.0" "threshold listed"
expect_exit 0 "detectors --json" -- $VIGIL detectors --json
expect_grep "$TMP/out" '"name": "zscore"' "zscore in JSON"
expect_grep "$TMP/out" '"window": {' "params are listed"

# --- a large input is capped with a clear message -------------------------
awk 'BEGIN { print "timestamp,v"; for (i = 0; i < 200000; i++) printf "%d,%d\n", i, i % 7 }' > "$TMP/big.csv"
cat > "$TMP/big.json" <<JSON
{"name": "big", "source": {"type": "csv", "path": "big.csv", "max_points": 100000}, "detectors": [{"detector": "mad"}]}
JSON
expect_exit 1 "more points than max_points" -- $VIGIL run --no-store "$TMP/big.json"
expect_grep "$TMP/err" "series 'v' has more than 100000 points (raise source.max_points" "the limit is explained"
sed -i 's/"max_points": 100000/"max_points": 1000000/' "$TMP/big.json"
expect_exit 0 "200 000 points within the limit" -- $VIGIL run --no-store "$TMP/big.json"
expect_grep "$TMP/out" "1 series, 200000 points" "all points read"

finish

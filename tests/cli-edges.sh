#!/bin/sh
# cli-edges.sh - sharp edges of the command line (issue 14): non-regular
# files, directories given to validate, validate --json, options before and
# after subcommands, relative --plugin-dir, many detectors, many series.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=warning
[ "$(id -u)" = 0 ] && export VIGIL_EXEC_ALLOW_ROOT=1
S="$TMP/state"

# --- non-regular files are refused, never waited on ------------------------
mkfifo "$TMP/fifo.csv" "$TMP/fifo.json"
cat >"$TMP/fifo-source.json" <<'J'
{"version": 1, "name": "fifo", "source": {"type": "csv", "path": "fifo.csv", "time_column": "t"},
 "detectors": [{"detector": "mad"}]}
J
expect_exit 1 "run with a FIFO as CSV path fails the job" -- timeout 60 $VIGIL run --state "$S" "$TMP/fifo-source.json"
expect_grep "$TMP/err" "source: fifo.csv: is a FIFO, not a regular file" "the FIFO is named and refused"
expect_exit 0 "the failed run is recorded" -- $VIGIL runs --json --state "$S"
expect_grep "$TMP/out" "is a FIFO, not a regular file" "with its reason"
expect_exit 2 "validate a FIFO spec" -- timeout 60 $VIGIL validate "$TMP/fifo.json"
expect_grep "$TMP/err" "$TMP/fifo.json: is a FIFO, not a regular file" "a FIFO spec is refused"
expect_exit 2 "run a FIFO spec" -- timeout 60 $VIGIL run --state "$S" "$TMP/fifo.json"
expect_grep "$TMP/err" "is a FIFO, not a regular file" "run refuses it too"
expect_exit 2 "validate /dev/null" -- timeout 60 $VIGIL validate /dev/null
expect_grep "$TMP/err" "/dev/null: is a device, not a regular file" "a device is refused"
expect_exit 2 "run a directory" -- $VIGIL run --state "$S" "$TMP"
expect_grep "$TMP/err" "$TMP: is a directory" "run names a directory as one"

# --- validate DIR: every *.json in it -------------------------------------
mkdir "$TMP/specs" "$TMP/nojson"
cp "$top_srcdir/specs/examples/cpu-incident.json" "$TMP/specs/a.json"
cp -r "$top_srcdir/specs/examples/data" "$TMP/specs/"
echo '{"version": 1, "name": "b b"}' >"$TMP/specs/b.json"
echo 'not a spec' >"$TMP/specs/README"
expect_exit 2 "validate a directory with a bad spec" -- $VIGIL validate "$TMP/specs"
expect_grep "$TMP/out" "$TMP/specs/a.json: ok (job 'cpu-incident', 2 detectors)" "the good file is validated"
expect_grep "$TMP/err" "$TMP/specs/b.json: \$.name: must be 1-128 letters" "the bad file is reported"
expect_no_grep "$TMP/err" "README" "other files are ignored"
expect_no_grep "$TMP/err" "malformed JSON" "a directory is not malformed JSON"
rm "$TMP/specs/b.json"
expect_exit 0 "validate a directory of good specs" -- $VIGIL validate "$TMP/specs"
expect_exit 2 "validate a directory without specs" -- $VIGIL validate "$TMP/nojson"
expect_grep "$TMP/err" "$TMP/nojson: a directory without *.json files" "an empty directory is an error"

# --- validate --json ------------------------------------------------------
bad="$top_srcdir/tests/data/spec/unknown-keys/spec.json"
expect_exit 2 "validate --json with errors" -- $VIGIL validate --json "$TMP/specs/a.json" "$bad"
python3 - "$TMP/out" "$bad" "$TMP/specs/a.json" >"$TMP/py" 2>&1 <<'P' && ok "validate --json: files and errors" || { not_ok "validate --json"; sed 's/^/#   /' "$TMP/py"; }
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["ok"] is False, doc
files = {f["file"]: f for f in doc["files"]}
assert files[sys.argv[3]] == {"file": sys.argv[3], "ok": True, "job": "cpu-incident", "detectors": 2}, files
assert files[sys.argv[2]]["ok"] is False
errs = [e for e in doc["errors"] if e["file"] == sys.argv[2]]
assert len(errs) == 3, errs
assert all(e["path"].startswith("$") and e["message"] for e in errs), errs
assert not any(e["message"].startswith(sys.argv[2]) for e in errs), "message repeats the file"
P
[ ! -s "$TMP/err" ] && ok "validate --json prints nothing to stderr" || not_ok "stderr: $(cat "$TMP/err")"
expect_exit 0 "validate --json, all good" -- $VIGIL validate --json "$TMP/specs"
expect_grep "$TMP/out" '"ok": true' "ok is true"

# --- options before and after a subcommand --------------------------------
expect_exit 0 "outbox --state DIR send" -- $VIGIL outbox --state "$S" send --wait 0
expect_grep "$TMP/out" "0 sent, 0 failed" "outbox send ran with the option before it"
expect_exit 0 "outbox send --state DIR" -- $VIGIL outbox send --state "$S" --wait 0
expect_exit 0 "outbox --json --state DIR list" -- $VIGIL outbox --json --state "$S" list
expect_exit 2 "outbox --state DIR frob" -- $VIGIL outbox --state "$S" frob
expect_grep "$TMP/err" "unknown subcommand 'frob' (list, retry, send)" "an unknown subcommand is named"
expect_exit 0 "mute --state DIR add JOB --for 1h" -- $VIGIL mute --state "$S" add 'cpu-*' --for 1h
expect_grep "$TMP/out" "job 'cpu-*', series '*'" "mute add with options around it"
expect_exit 0 "mute --json --state DIR list" -- $VIGIL mute --json --state "$S" list
expect_grep "$TMP/out" '"job_pattern": "cpu-*"' "the mute is listed"
expect_exit 0 "mute --state DIR remove 1" -- $VIGIL mute --state "$S" remove 1

# --- a relative --plugin-dir means the same to every verb -----------------
mkdir -p "$TMP/pl/plugins"
cp "$top_srcdir/tests/exec/good.sh" "$TMP/pl/plugins/magic-det"
chmod 755 "$TMP/pl/plugins/magic-det"
(cd "$TMP/pl" && $VIGIL detectors --json --plugin-dir plugins) >"$TMP/out" 2>"$TMP/err"
expect_grep "$TMP/out" "\"name\": \"magic\"" "detectors --plugin-dir plugins finds the exec detector"
expect_no_grep "$TMP/err" "plugins/plugins" "and does not look in plugins/plugins"

# --- many detectors validate in linear time; many series are capped --------
python3 - "$TMP" <<'P'
import json, sys
d = sys.argv[1]
spec = {"version": 1, "name": "big", "source": {"type": "csv", "path": "many.csv", "time_column": "t",
        "series_column": "name"}, "detectors": [{"detector": "mad", "id": "d%d" % i} for i in range(20000)]}
spec["detectors"].append({"detector": "mad", "id": "d7"})
json.dump(spec, open(d + "/big.json", "w"))
with open(d + "/many.csv", "w") as f:
    f.write("t,name,value\n")
    for i in range(20000):
        f.write("2026-01-01T00:00:00Z,s%d,%d\n" % (i, i % 7))
spec = {"version": 1, "name": "many", "source": {"type": "csv", "path": "many.csv", "time_column": "t",
        "series_column": "name"}, "detectors": [{"detector": "mad"}]}
json.dump(spec, open(d + "/many.json", "w"))
spec["max_series"] = 20000
spec["name"] = "many-ok"
json.dump(spec, open(d + "/many-ok.json", "w"))
spec["max_series"] = 0
json.dump(spec, open(d + "/many-bad.json", "w"))
P
expect_exit 2 "20 001 detectors, one id twice" -- timeout 120 $VIGIL validate "$TMP/big.json"
expect_grep "$TMP/err" "big.json: \$.detectors[20000].id: duplicate id 'd7'" "the duplicate id is found"
expect_eq "$(wc -l <"$TMP/err")" 1 "and only it"
expect_exit 1 "20 000 series, more than max_series" -- $VIGIL run --state "$S" "$TMP/many.json"
expect_grep "$TMP/err" "source: many.csv:10002: more than 10000 series (the job's \"max_series\")" \
	"the cap names the file, the line and the key"
expect_exit 0 "the failed run is recorded" -- $VIGIL runs --json --job many --state "$S"
expect_grep "$TMP/out" "more than 10000 series" "with its reason"
expect_exit 0 "max_series raised" -- $VIGIL run --state "$S" "$TMP/many-ok.json"
expect_grep "$TMP/out" "20000 series, 20000 points" "every series is scored"
expect_exit 2 "max_series 0" -- $VIGIL validate "$TMP/many-bad.json"
expect_grep "$TMP/err" "\$.max_series: must be an integer in [1, 10000000]" "a bad max_series is refused"
finish

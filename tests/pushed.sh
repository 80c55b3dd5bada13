#!/bin/sh
# pushed.sh - `vigil detectors push` on one node with the SQLite store
# (docs/exec-protocol.md#pushed-detectors): a directory bundle pushed, the
# same content again is no new version, a change is; a job using it
# materialises it (hash and modes checked) and alerts a loopback Slack; a
# tampered copy is materialised again; `push --test` compares a new version
# with the current one and posts nothing, stores nothing; `vigil detectors`
# shows the version this node runs; bad input gets clear errors, exit 2.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
[ "$(id -u)" = 0 ] && export VIGIL_EXEC_ALLOW_ROOT=1
export VIGIL_LOG_LEVEL=warning
S=$TMP/state
export VIGIL_STATE_DIR="$S"   # validate resolves pushed names in this store too
mkdir -p "$S"
chmod 700 "$S"
cd "$TMP" || exit 1

start_slack
export HOOK="http://127.0.0.1:$SLACK_PORT/services/T1/B1/ok/SECRETPUSH"
slack_count() { if [ -f "$TMP/slack.log" ]; then wc -l <"$TMP/slack.log" | tr -d ' '; else echo 0; fi; }

# the bundle: the shell example (an entry point and its awk program)
mkdir above
cp "$top_srcdir/plugins/shell/above.sh" "$top_srcdir/plugins/shell/above.awk" above/
chmod 755 above/above.sh
chmod 644 above/above.awk

expect_exit 0 "a directory is pushed" -- $VIGIL detectors push --state "$S" above
expect_grep "$TMP/out" "pushed 'above' version 1" "as version 1"
expect_grep "$TMP/out" "entry point 'above.sh', 2 files" "its entry point is its one executable"
expect_exit 0 "the same content again" -- $VIGIL detectors push --state "$S" above
expect_grep "$TMP/out" "'above' is unchanged: version 1" "is no new version"
cp -r above above-v2
echo "# version 2" >>above-v2/above.awk
expect_exit 0 "a changed file" -- $VIGIL detectors push --state "$S" --name above --by alice --json above-v2
expect_grep "$TMP/out" '"version": 2' "is version 2"
expect_grep "$TMP/out" '"created": true' "a new version was stored"
SHA2=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["sha256"])' "$TMP/out")

expect_exit 0 "vigil detectors lists pushed detectors" -- $VIGIL detectors --state "$S"
expect_grep "$TMP/out" "above version 2 (pushed)" "with their latest version"
expect_grep "$TMP/out" "pushed by alice" "who pushed it"
expect_grep "$TMP/out" "no node has materialised it yet" "and that no node runs it yet"

# a job using it
awk 'BEGIN { print "timestamp,web-1,web-2"; for (i = 0; i < 100; i++) { a = 50; b = 20;
	if (i == 50) a = 95; if (i == 80) b = 93; if (i > 90) b = 70; printf "%d,%d,%d\n", 1700000000 + i * 300, a, b } }' >m.csv
cat >job.json <<'JSON'
{"name": "pushedjob", "source": {"type": "csv", "path": "m.csv"},
 "detectors": [{"detector": "above", "exec": {"pushed": "above"}, "params": {"limit": 90}}],
 "notify": [{"type": "slack", "webhook_url": "${env:HOOK}"}]}
JSON
expect_exit 0 "a job with a pushed detector validates" -- $VIGIL validate job.json
expect_exit 0 "and runs" -- $VIGIL run --state "$S" --json job.json
expect_grep "$TMP/out" '"flagged_points": 2' "the pushed detector flagged the two spikes"
expect_eq "$(slack_count)" 1 "Slack got the run's message"
COPY=$S/pushed/$SHA2
expect_eq "$(stat -c %a "$S/pushed") $(stat -c %a "$COPY") $(stat -c %a "$COPY/above.sh") $(stat -c %a "$COPY/above.awk")" \
	"700 700 700 600" "materialised privately: directories and the entry point 0700, data 0600"
expect_eq "$(sha256sum <"$COPY/above.awk")" "$(sha256sum <above-v2/above.awk)" "the copy has version 2's bytes"
expect_eq "$(ls -A "$S/pushed" | wc -l)" 1 "one version materialised, no temporary directory left"
expect_exit 0 "vigil detectors" -- $VIGIL detectors --state "$S" --json
NODE=$(hostname)
expect_eq "$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))["pushed"][0]; n = d["nodes"][0]
print(d["name"], d["version"], d["versions"], n["node"], n["version"])' "$TMP/out")" "above 2 2 $NODE 2" \
	"--json: the detector, its versions and the version this node materialised"

# a copy changed on disk is not run: it is materialised again
echo 'BEGIN { system("touch '"$TMP"'/pwned") }' >>"$COPY/above.awk"
expect_exit 0 "a tampered copy" -- $VIGIL run --state "$S" --send-wait 0 job.json
expect_grep "$TMP/err" "was changed on disk" "is noticed"
expect_eq "$(sha256sum <"$COPY/above.awk")" "$(sha256sum <above-v2/above.awk)" "and written again from the store"
expect_eq "$(test -e "$TMP/pwned" && echo ran || echo no)" no "the tampered program never ran"
chmod 666 "$COPY/above.awk"
expect_exit 0 "a copy whose mode was changed" -- $VIGIL run --state "$S" --send-wait 0 job.json
expect_eq "$(stat -c %a "$COPY/above.awk")" 600 "gets its private mode back"

# --test: the candidate flags more; nothing is stored or sent
RUNS_BEFORE=$($VIGIL runs --state "$S" --json | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')
SLACK_BEFORE=$(slack_count)
cp -r above above-v3
sed -i 's/v\[i\] + 0 > limit$/v[i] + 0 > limit - 25/' above-v3/above.awk
grep -q 'limit - 25' above-v3/above.awk || not_ok "the test could not make version 3"
expect_exit 0 "push --test runs the job with the new version" -- \
	$VIGIL detectors push --state "$S" --name above --test job.json above-v3
expect_grep "$TMP/out" "current version 2" "beside the current version"
expect_grep "$TMP/out" "only by the new version: 9" "and says what only the new one flags (web-2's last 9 points)"
expect_grep "$TMP/out" "flagged by both: 2" "and what both flag"
expect_grep "$TMP/out" "nothing was stored or sent" "and that it deployed nothing"
expect_eq "$(slack_count)" "$SLACK_BEFORE" "push --test posted nothing to Slack"
expect_eq "$($VIGIL runs --state "$S" --json | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)))')" \
	"$RUNS_BEFORE" "and recorded no run"
expect_exit 0 "--test --json" -- $VIGIL detectors push --state "$S" --name above --test job.json --json above-v3
expect_eq "$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(d["current"]["version"], len(d["current"]["flagged"]), len(d["new"]["flagged"]), d["both"], len(d["only_new"]), len(d["only_current"]))' "$TMP/out")" \
	"2 2 11 2 9 0" "--json has both sides and the difference"
expect_exit 0 "the latest version" -- $VIGIL detectors --state "$S" --json
expect_grep "$TMP/out" '"version": 2,' "is still version 2 after --test"
expect_eq "$(ls -A "$S/pushed" | wc -l)" 1 "--test leaves no copy behind"

# bad input
expect_exit 2 "a missing file" -- $VIGIL detectors push --state "$S" nothere
expect_grep "$TMP/err" "'nothere': No such file or directory" "is named"
expect_exit 2 "a file without an execute bit" -- $VIGIL detectors push --state "$S" above/above.awk
expect_grep "$TMP/err" "is not executable" "is refused"
printf '#!/bin/sh\n' >big
truncate -s 65M big
chmod +x big
expect_exit 2 "a file over 64 MiB" -- $VIGIL detectors push --state "$S" big
expect_grep "$TMP/err" "'big' is too big: a pushed detector may have at most 64 MiB" "is refused with the cap"
rm -f big
mkdir two
cp above/above.sh two/a.sh
cp above/above.sh two/b.sh
expect_exit 2 "a directory with two executables" -- $VIGIL detectors push --state "$S" two
expect_grep "$TMP/err" "name the entry point with --entry" "asks for --entry"
expect_exit 0 "and is pushed with --entry" -- $VIGIL detectors push --state "$S" --entry b.sh two
expect_exit 2 "a bad name" -- $VIGIL detectors push --state "$S" --name '../x' above
sed 's/"pushed": "above"/"pushed": "abve"/' job.json >unknown.json
expect_exit 2 "a spec naming an unknown pushed detector" -- $VIGIL validate unknown.json
expect_grep "$TMP/err" "unknown.json: \$.detectors[0].exec.pushed: no detector 'abve' was pushed to the store" \
	"is invalid, with the JSON path"
sed 's/"pushed": "above"/"pushed": "above", "path": "x.sh"/' job.json >both.json
expect_exit 2 "a spec with both path and pushed" -- $VIGIL validate both.json
expect_grep "$TMP/err" '$.detectors[0].exec.path: give either "path"' "is invalid"
expect_exit 2 "--test with a spec that does not use it" -- $VIGIL detectors push --state "$S" --name other --test job.json above
expect_grep "$TMP/err" "no detector of the job uses the pushed detector 'other'" "is refused"
finish

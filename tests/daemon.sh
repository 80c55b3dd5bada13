#!/bin/sh
# daemon.sh - `vigil serve` end to end in a temp dir: jobs run on schedule,
# specs edited live (valid and invalid), added and deleted, SIGHUP, a
# timeout, SIGTERM during a run, a restart that re-runs the interrupted run
# and catches up missed fire times, the state-dir lock, `vigil status`.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=info
command -v curl >/dev/null 2>&1 || { not_ok "curl is required (scripts/setup.sh --test installs it)"; finish; }
command -v sqlite3 >/dev/null 2>&1 || { not_ok "sqlite3 is required (scripts/setup.sh --test installs it)"; finish; }

D=$TMP/specs S=$TMP/state P=$TMP/plugins
# the data lies outside the specs' directory: a source root (docs/spec.md)
export VIGIL_SOURCE_ROOTS="$TMP"
mkdir -p "$D" "$S" "$P"
ln -s "$VIGIL_TEST_PLUGINS/test-slow.so" "$P/test-slow.so"
DB=$S/vigil.db
# one point a second, from two hours ago to an hour ahead: every window has data
now=$(date +%s)
awk -v t0=$((now - 7200)) 'BEGIN { print "timestamp,v"; for (i = 0; i < 10800; i++) printf "%d,%d\n", t0 + i, 10 + i % 7 }' \
	> "$TMP/data.csv"

q() { sqlite3 -cmd ".timeout 5000" "$DB" "$1" 2>>"$TMP/sqlite.err"; }
api() { curl -s --max-time 5 "$URL$1"; }
# wait_for SECONDS CMD...: retry CMD every 0.1s until it succeeds
wait_for() {
	wf_left=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		wf_left=$((wf_left - 1))
		[ $wf_left -gt 0 ] || return 1
		sleep 0.1
	done
}
check() { if "$@"; then ok "$desc"; else not_ok "$desc"; tail -5 "$TMP/daemon.err" | sed "s/^/#   /"; sed "s/^/#   sqlite: /" "$TMP/sqlite.err" 2>/dev/null | tail -3; fi; }
gt() { [ "$(q "$1")" -gt "$2" ] 2>/dev/null; }
eq() { [ "$(q "$1")" = "$2" ]; }
api_has() { api "$1" | grep -qF -- "$2"; }
api_lacks() { ! api "$1" | grep -qF -- "$2"; }

start_daemon() { serve_start "$VIGIL" --grace 1s --lease 3s "$@"; }
stop_daemon() { serve_stop; }

every1() {
	cat > "$D/every1.json" <<JSON
{"name": "every1", "description": "$1", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "10m",
 "detectors": [{"detector": "mad"}], "notify": [{"type": "stdout"}], "schedule": "@every 1s"}
JSON
}
slow() {   # slow NAME MS TIMEOUT: a job that sleeps, run only when triggered (yearly schedule)
	cat > "$D/$1.json" <<JSON
{"name": "$1", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "1m",
 "detectors": [{"detector": "test-slow", "params": {"ms": $2}}],
 "schedule": {"cron": "0 0 1 1 *", "timeout": "$3"}}
JSON
}

# --- phase 1: inotify -------------------------------------------------------
every1 "first"
slow slowto 10000 1s
slow slow 3000 1h
start_daemon --rescan 1h
expect_grep "$S/serve.json" '"listen": "127.0.0.1:' "serve.json records the address"
desc="a job runs on its schedule (@every 1s)"
check wait_for 15 gt "SELECT count(*) FROM runs WHERE job = 'every1' AND state = 'succeeded'" 2
# (a run that takes longer than the period, as on a loaded machine or under ASan, merges the next fire
# time into a catch-up run: those are allowed, and cover more than one window)
desc="one run per fire time, on whole seconds, triggered by the schedule"
check eq "SELECT count(DISTINCT scheduled_for) = count(*) AND sum(scheduled_for % 1000) = 0 AND
          sum(trigger_kind NOT IN ('schedule', 'catchup')) = 0 AND
          (SELECT trigger_kind FROM runs WHERE job = 'every1' ORDER BY id LIMIT 1) = 'schedule'
          FROM runs WHERE job = 'every1'" 1
desc="the run covered the window ending at its scheduled time"
check eq "SELECT min(n_points) > 500 AND max(n_points) <= 601 FROM runs WHERE job = 'every1' AND state = 'succeeded'
          AND trigger_kind = 'schedule'" 1
expect_grep "$TMP/daemon.out" "== vigil: job 'every1'" "workers notify (stdout target, dry run)"

every1 "edited"
desc="an edited spec is picked up without restart"
check wait_for 10 api_has /api/jobs/every1 '"description":"edited"'
expect_grep "$TMP/daemon.err" "job 'every1' reloaded from" "the reload is logged"

n=$(q "SELECT count(*) FROM runs WHERE job = 'every1'")
printf '{ "name": "every1", broken' > "$D/every1.json"
desc="an invalid edit is reported in the API"
check wait_for 10 api_has /api/jobs/every1 '"error":"'
expect_grep "$TMP/daemon.err" "keeps running the previous valid version" "and in the log"
expect_grep "$TMP/daemon.err" "every1.json: line 1, column" "with the JSON error"
desc="the previous valid version keeps running"
check wait_for 10 gt "SELECT count(*) FROM runs WHERE job = 'every1' AND state = 'succeeded'" $((n + 1))
every1 "restored"
desc="a fixed spec clears the error"
check wait_for 10 api_has /api/jobs/every1 '"error":null'

cat > "$D/added.json" <<JSON
{"name": "added", "source": {"type": "csv", "path": "$TMP/data.csv"}, "detectors": [{"detector": "mad"}]}
JSON
desc="a new spec file adds a job"
check wait_for 10 api_has /api/jobs '"name":"added"'
sed 's/"mad"/"zscore"/' "$D/added.json" > "$D/added2.json"
desc="a second file with the same job name is refused"
check wait_for 10 grep -q "job name 'added' is already used by" "$TMP/daemon.err"
rm "$D/added.json"
desc="when the first goes, the second file defines the job"
check wait_for 10 api_has /api/jobs/added '"detector":"zscore"'
rm "$D/added2.json"
desc="a deleted spec file removes it"
check wait_for 10 api_lacks /api/jobs '"name":"added"'

curl -s -o /dev/null -X POST "$URL/api/jobs/slowto/run"
desc="a run past its timeout is stopped and recorded as failed"
check wait_for 20 eq "SELECT count(*) FROM runs WHERE job = 'slowto' AND state = 'failed' AND error = 'timed out after 1s'" 1
desc="and counted as a timeout in /metrics"
check wait_for 5 api_has /metrics 'vigil_runs_total{job="slowto",status="timeout"} 1'

curl -s -o /dev/null -X POST "$URL/api/jobs/slow/run"
desc="a triggered slow run is running"
check wait_for 10 eq "SELECT count(*) FROM runs WHERE job = 'slow' AND state = 'running'" 1
slow_id=$(q "SELECT id FROM runs WHERE job = 'slow'")
t0=$(date +%s)
stop_daemon
t1=$(date +%s)
expect_eq "$DRC" 0 "SIGTERM: the daemon exits with status 0"
[ $((t1 - t0)) -le 9 ] && ok "after the grace period, not after the run ($((t1 - t0))s)" ||
	not_ok "SIGTERM took $((t1 - t0))s"
expect_grep "$TMP/daemon.err" "still going after the grace period; interrupting it" "the run is interrupted"
expect_eq "$(q "SELECT state FROM runs WHERE id = $slow_id")" interrupted "the interrupted run is marked"
[ ! -e "$S/serve.json" ] && ok "serve.json is removed at exit" || not_ok "serve.json left behind"

# --- phase 2: no inotify; restart after missing fire times -------------------
sleep 2.5
start_daemon --no-watch --rescan 1h
expect_grep "$TMP/daemon.err" "job 'slow': re-running the interrupted run" "restart: the interrupted run is re-run"
desc="the same run (same id) completes on its second attempt"
check wait_for 20 eq "SELECT state || ' ' || attempts || ' ' || trigger_kind FROM runs WHERE id = $slow_id" "succeeded 2 manual"
desc="missed fire times become one catch-up run covering them (misfire run_once)"
check wait_for 10 eq "SELECT count(*) > 0 FROM runs WHERE job = 'every1' AND trigger_kind = 'catchup'
                      AND window_from < scheduled_for - 600000" 1
expect_grep "$TMP/daemon.err" "one run now covers them (misfire: run_once)" "the misfire is logged"

cat > "$D/hup.json" <<JSON
{"name": "hup", "source": {"type": "csv", "path": "$TMP/data.csv"}, "detectors": [{"detector": "mad"}]}
JSON
sleep 1.5
desc="with --no-watch a new file waits for a rescan"
check api_lacks /api/jobs '"name":"hup"'
kill -HUP "$DPID"
desc="SIGHUP forces the rescan"
check wait_for 10 api_has /api/jobs '"name":"hup"'

expect_exit 3 "a second daemon on the same state dir is refused" -- \
	$VIGIL serve --specs "$D" --state "$S" --listen 127.0.0.1:0
expect_grep "$TMP/err" "another 'vigil serve' uses the state directory" "with the reason"

expect_exit 0 "vigil status" -- $VIGIL status --state "$S"
expect_grep "$TMP/out" "vigil serve at $URL (pid $DPID): 4 jobs" "status names the daemon"
expect_grep "$TMP/out" "every1" "status lists the jobs"
expect_grep "$TMP/out" "@every 1s" "with their schedule"
expect_exit 0 "vigil status --json" -- $VIGIL status --json --url "$URL"
expect_grep "$TMP/out" '"name": "hup"' "status --json is the API's answer"

stop_daemon
expect_eq "$DRC" 0 "the second daemon stops cleanly"
expect_exit 3 "status without a daemon" -- $VIGIL status --state "$S"
expect_grep "$TMP/err" "no daemon is running" "says so"
expect_no_grep "$TMP/daemon.err" "error: job" "no job failed"
# under --sanitizers the daemon and its workers report here
expect_no_grep "$TMP/daemon.err" "Sanitizer" "no sanitizer report from the daemon or its workers"
expect_no_grep "$TMP/daemon.err" "runtime error" "no UBSan report"
finish

#!/bin/sh
# api.sh - the HTTP API of `vigil serve` with curl: status codes, JSON
# errors, auth (bearer token, loopback without one), paging, bad input,
# size caps, secrets never shown, /api/series, /metrics, /healthz, /readyz.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null 2>&1 || { not_ok "curl is required (scripts/setup.sh --test installs it)"; finish; }

D=$TMP/specs S=$TMP/state
# the data lies outside the specs' directory: a source root (docs/spec.md)
export VIGIL_SOURCE_ROOTS="$TMP"
mkdir -p "$D" "$S"
now=$(date +%s)
# a steady series with a spike 30 s ago, so runs find an anomaly
awk -v t0=$((now - 3600)) 'BEGIN { print "timestamp,cpu"
	for (i = 0; i < 3700; i++) printf "%d,%s\n", t0 + i, (i == 3570 ? "500" : 10 + i % 5) }' > "$TMP/data.csv"
export DATA_DIR="$TMP" SECRET_VALUE="s3cr3t-never-shown"
cat > "$D/api-job.json" <<'JSON'
{"name": "api-job", "source": {"type": "csv", "path": "${env:DATA_DIR}/data.csv"}, "window": "1h",
 "detectors": [{"detector": "mad", "params": {"window": 60}}, {"detector": "zscore", "mode": "shadow"}],
 "schedule": "@every 1s"}
JSON
cat > "$D/manual.json" <<JSON
{"name": "manual", "source": {"type": "csv", "path": "$TMP/data.csv"}, "detectors": [{"detector": "mad"}]}
JSON
printf 'tok-%s\n' "$now" > "$TMP/token"
chmod 600 "$TMP/token"
TOKEN="tok-$now"

# start STATE_DIR ARGS...: serve_start (lib.sh) on STATE_DIR instead of $S, logging at info
start() {
	api_s=$S
	S=$1
	shift
	serve_start "env VIGIL_LOG_LEVEL=info $VIGIL" "$@"
	S=$api_s
}
# http METHOD PATH [curl args]: body in $TMP/body, status in $code
http() {
	m=$1 p=$2
	shift 2
	code=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 -X "$m" "$@" "$URL$p")
}
# expect_http CODE DESC METHOD PATH [curl args]
expect_http() {
	want=$1 desc=$2
	shift 2
	http "$@"
	if [ "$code" = "$want" ]; then ok "$desc ($code)"; else not_ok "$desc: HTTP $code, expected $want"; sed 's/^/#   /' "$TMP/body" | head -5; fi
}
runs_of() { curl -s "$URL/api/runs?job=$1&limit=1000" | grep -o '"state":"succeeded"' | wc -l; }
enough_runs() { [ "$(runs_of api-job)" -ge 5 ]; }

start "$S" --token-file "$TMP/token"
expect_http 200 "GET /healthz" GET /healthz
expect_grep "$TMP/body" "ok" "healthz says ok"
expect_http 200 "GET /readyz" GET /readyz
wait_for 20 enough_runs && ok "api-job ran five times" || not_ok "api-job did not run"

# --- jobs ---------------------------------------------------------------------
expect_http 200 "GET /api/jobs" GET /api/jobs
expect_grep "$TMP/body" '"name":"api-job"' "lists api-job"
expect_grep "$TMP/body" '"name":"manual"' "and manual"
expect_grep "$TMP/body" '"schedule":"@every 1s"' "with the schedule"
expect_grep "$TMP/body" '"last_run":{' "and the last run"
expect_grep "$TMP/body" '"muted":false,"muted_until":null' "and whether a mute silences the job"
expect_http 200 "GET /api/jobs/api-job" GET /api/jobs/api-job
expect_grep "$TMP/body" '"path":"${env:DATA_DIR}/data.csv"' "the spec shows the reference"
expect_no_grep "$TMP/body" "$TMP/data.csv" "never its resolved value"
expect_grep "$TMP/body" '"next_run":1' "the next run, in ms like every time of the API"
expect_grep "$TMP/body" '"misfire":"run_once"' "the misfire policy"
expect_grep "$TMP/body" '"series":[{"series":"cpu"' "and the stored series"
expect_http 404 "unknown job" GET /api/jobs/nope
expect_grep "$TMP/body" '{"error":"no job named '"'"'nope'"'"'"}' "a JSON error"
expect_http 404 "unknown endpoint" GET /api/nothing
expect_grep "$TMP/body" '"error":"no such endpoint"' "JSON error for unknown endpoints"
expect_http 405 "POST /api/jobs" POST /api/jobs -H "Authorization: Bearer $TOKEN"
expect_http 405 "GET on a mutating endpoint" GET /api/jobs/manual/run

# --- auth ---------------------------------------------------------------------
expect_http 401 "trigger without a token" POST /api/jobs/manual/run
expect_grep "$TMP/body" "a valid bearer token is required" "says why"
expect_http 401 "trigger with a wrong token" POST /api/jobs/manual/run -H "Authorization: Bearer tok-wrong"
expect_http 401 "trigger with a token prefix" POST /api/jobs/manual/run -H "Authorization: Bearer tok-"
expect_http 401 "trigger with another scheme" POST /api/jobs/manual/run -H "Authorization: Basic $TOKEN"
expect_http 404 "trigger an unknown job" POST /api/jobs/nope/run -H "Authorization: Bearer $TOKEN"
expect_http 202 "trigger with the token" POST /api/jobs/manual/run -H "Authorization: Bearer $TOKEN"
expect_grep "$TMP/body" '"job":"manual","scheduled_for":1' "the answer has the run's time (ms)"
manual_done() { [ "$(runs_of manual)" -ge 1 ]; }
wait_for 10 manual_done && ok "the triggered run ran" || not_ok "the triggered run did not run"
expect_http 200 "its run" GET "/api/runs?job=manual"
expect_grep "$TMP/body" '"trigger":"manual"' "recorded as manual"
expect_http 413 "a large body is refused" POST /api/jobs/manual/run -H "Authorization: Bearer $TOKEN" \
	--data-binary "@$TMP/data.csv"
expect_no_grep "$TMP/daemon.err" "$TOKEN" "the token is never logged"

# --- runs and paging ------------------------------------------------------------
expect_http 200 "GET /api/runs?limit=2" GET "/api/runs?job=api-job&limit=2"
expect_eq "$(grep -o '"id":' "$TMP/body" | wc -l)" 2 "two runs"
id1=$(grep -o '"id":[0-9]*' "$TMP/body" | head -1 | cut -d: -f2)
id2=$(grep -o '"id":[0-9]*' "$TMP/body" | sed -n 2p | cut -d: -f2)
[ "$id1" -gt "$id2" ] && ok "newest first" || not_ok "order: $id1 then $id2"
next=$(sed -n 's/.*"next":"\([^"]*\)".*/\1/p' "$TMP/body")
expect_eq "$next" "/api/runs?job=api-job&limit=2&before=$id2" "a link to the next page"
expect_http 200 "the next page" GET "$next"
id3=$(grep -o '"id":[0-9]*' "$TMP/body" | head -1 | cut -d: -f2)
[ "$id3" -lt "$id2" ] && ok "continues below the previous page" || not_ok "page 2 starts at $id3"
expect_http 200 "the last page" GET "/api/runs?job=api-job&limit=1000"
expect_grep "$TMP/body" '"next":null' "has no next link"
expect_http 200 "one run" GET "/api/runs/$id1"
expect_grep "$TMP/body" "\"id\":$id1," "by id"
expect_http 404 "an unknown run" GET /api/runs/999999
for bad in "limit=0" "limit=1001" "limit=abc" "limit=" "before=-1" "before=1x" "job=a/b" "jobs=x"; do
	expect_http 400 "bad parameter $bad" GET "/api/runs?$bad"
done
expect_grep "$TMP/body" "unknown parameter 'jobs'" "unknown parameters are named"
expect_http 400 "a bad run id" GET /api/runs/abc

# --- anomalies and series --------------------------------------------------------
expect_http 200 "GET /api/anomalies" GET "/api/anomalies?job=api-job&since=$((now - 120))"
expect_grep "$TMP/body" '"series":"cpu"' "the spike is an anomaly"
expect_grep "$TMP/body" '"value":500' "with its value"
expect_grep "$TMP/body" '"labels":{},' "labels are a JSON object, not a string"
expect_grep "$TMP/body" '"shadow":false,"alerted":true}' "flags are booleans"
expect_http 200 "anomalies since the future" GET "/api/anomalies?job=api-job&since=$((now + 86400))"
expect_eq "$(cat "$TMP/body")" '{"anomalies":[]}' "are none"
expect_http 400 "a bad since" GET "/api/anomalies?since=yesterday"
expect_http 200 "GET /api/series/api-job" GET /api/series/api-job
expect_grep "$TMP/body" '"n_points":' "lists the stored series"
expect_grep "$TMP/body" '{"series":"cpu","labels":{},' "with labels as an object"
expect_http 200 "GET a series" GET "/api/series/api-job/cpu?from=$((now - 60))&to=$((now - 20))"
expect_grep "$TMP/body" '"detectors":[{"id":"mad","shadow":false,"score":[' "scores by detector"
expect_grep "$TMP/body" '{"id":"zscore","shadow":true,"score":[' "a shadow detector says so"
expect_grep "$TMP/body" '"detector":"mad","alerted":true,"shadow":false,"reason":"robust z-score' \
	"flagged points carry the detector's reason"
expect_grep "$TMP/body" '"lower":[' "bands"
expect_grep "$TMP/body" '"anomalies":[{"ts":' "anomalies"
expect_grep "$TMP/body" '"value":500,' "the spike is in the range"
expect_grep "$TMP/body" '"n":41,' "the range is inclusive (41 points)"
expect_http 400 "from after to" GET "/api/series/api-job/cpu?from=$now&to=$((now - 60))"
expect_http 400 "a bad from" GET "/api/series/api-job/cpu?from=x"
expect_http 404 "an unknown series" GET /api/series/api-job/mem
expect_http 404 "an unknown job's series" GET /api/series/nope/cpu

# --- metrics --------------------------------------------------------------------
expect_http 200 "GET /metrics" GET /metrics
for m in '# TYPE vigil_runs_total counter' 'vigil_runs_total{job="api-job",status="succeeded"}' \
	'vigil_runs_total{job="manual",status="succeeded"} 1' '# TYPE vigil_run_duration_seconds histogram' \
	'vigil_run_duration_seconds_bucket{le="+Inf"}' 'vigil_series_processed_total' 'vigil_points_processed_total' \
	'vigil_detector_seconds_total{detector="mad"}' 'vigil_detector_seconds_total{detector="zscore"}' \
	'vigil_notifications_sent_total' 'vigil_notifications_failed_total 0' 'vigil_notifications_pending 0' \
	'vigil_scheduler_lag_seconds_bucket{le="0.1"}' 'vigil_jobs 2' 'vigil_specs_invalid 0'; do
	expect_grep "$TMP/body" "$m" "metrics: $m"
done
lag_ok=$(awk '/^vigil_scheduler_lag_seconds_bucket\{le="5"\}/ { b = $2 } /^vigil_scheduler_lag_seconds_count/ { c = $2 }
	END { print (c > 0 && b == c) ? "yes" : "no" }' "$TMP/body")
expect_eq "$lag_ok" yes "every scheduled run started within 5 s of its time"

kill -TERM "$DPID"
wait "$DPID"
expect_eq "$?" 0 "the daemon stops"

# --- no token: loopback may mutate -----------------------------------------------
start "$TMP/state2"
expect_http 202 "without a configured token, loopback may trigger" POST /api/jobs/manual/run
kill -TERM "$DPID"
wait "$DPID"
expect_eq "$?" 0 "and stops"
expect_exit 2 "a bad --listen" -- $VIGIL serve --specs "$D" --state "$TMP/state3" --listen 127.0.0.1:99999
expect_grep "$TMP/err" "bad port" "is explained"
expect_exit 2 "an empty token file" -- sh -c ": > '$TMP/empty'; $VIGIL serve --specs '$D' --state '$TMP/state3' --token-file '$TMP/empty'"
# under --sanitizers the daemon and its workers report here
expect_no_grep "$TMP/daemon.err" "Sanitizer" "no sanitizer report from the daemon or its workers"
expect_no_grep "$TMP/daemon.err" "runtime error" "no UBSan report"
finish

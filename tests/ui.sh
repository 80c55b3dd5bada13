#!/bin/sh
# ui.sh - the web UI in a real browser: Debian's chromium driven by
# playwright-core (tests/ui-browser.mjs) against a `vigil serve` on
# 127.0.0.1 with seeded jobs (firing, ok, failing, muted, without data).
# Needs node, playwright-core (npm ci, scripts/setup.sh) and chromium
# (scripts/setup.sh --test): when one is missing the test FAILS, it never
# skips.  VIGIL_UI_SHOTS=DIR also saves screenshots of the pages there
# (docs/ui/ is made so).
. "$top_srcdir/tests/lib.sh"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
command -v curl >/dev/null 2>&1 || { not_ok "curl is required (scripts/setup.sh --test installs it)"; finish; }
command -v node >/dev/null 2>&1 || { not_ok "node is required (scripts/setup.sh installs it)"; finish; }
[ -x "$CHROMIUM" ] || { not_ok "$CHROMIUM is missing (scripts/setup.sh --test installs Debian's chromium)"; finish; }
[ -f "$top_srcdir/node_modules/playwright-core/package.json" ] ||
	{ not_ok "playwright-core is missing from node_modules (scripts/setup.sh --test runs npm ci)"; finish; }
export no_proxy="127.0.0.1,localhost" NO_PROXY="127.0.0.1,localhost"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

D=$TMP/specs S=$TMP/state
mkdir -p "$D" "$S"
# the data files sit beside the specs directory, not in it (docs/spec.md: source roots)
export VIGIL_SOURCE_ROOTS="$TMP"
now=$(date +%s)
# Six hours of minutes ending now, per host; web-1 spikes 30 min ago, web-2 two minutes later.  One
# host's name is markup: the UI must show it as text.
awk -v t0=$((now - 6 * 3600)) 'BEGIN { print "ts,host,value"
	for (i = 0; i <= 360; i++) {
		t = t0 + i * 60
		printf "%d,web-1,%s\n", t, (i == 330 ? "480" : 40 + (i * 7) % 9)
		printf "%d,web-2,%s\n", t, (i == 332 ? "300" : 60 + (i * 5) % 7)
		printf "%d,<img src=x onerror=alert(1)>,%s\n", t, 20 + i % 3
	} }' > "$TMP/hosts.csv"
awk -v t0=$((now - 6 * 3600)) 'BEGIN { print "ts,queue"
	for (i = 0; i <= 360; i++) printf "%d,%d\n", t0 + i * 60, 100 + i % 4 }' > "$TMP/quiet.csv"
awk 'BEGIN { print "ts,old"; for (i = 0; i < 50; i++) printf "%d,%d\n", 1000000000 + i * 60, i }' > "$TMP/old.csv"
cat > "$D/checkout.json" <<JSON
{"name": "checkout", "source": {"type": "csv", "path": "$TMP/hosts.csv", "series_column": "host", "time_column": "ts"},
 "window": "7h", "detectors": [{"detector": "mad", "params": {"window": 30}},
 {"detector": "zscore", "params": {"window": 60, "threshold": 3}, "mode": "shadow"}],
 "notify": [{"type": "slack", "webhook_url": "\${env:UI_SLACK_URL}", "chart_base_url": "http://vigil.example"}]}
JSON
cat > "$D/queue.json" <<JSON
{"name": "queue", "source": {"type": "csv", "path": "$TMP/quiet.csv", "time_column": "ts"}, "window": "7h",
 "detectors": [{"detector": "threshold", "params": {"upper": 1000}}]}
JSON
cat > "$D/nightly.json" <<JSON
{"name": "nightly", "source": {"type": "csv", "path": "$TMP/missing.csv"}, "schedule": "0 3 * * *",
 "detectors": [{"detector": "mad"}]}
JSON
cat > "$D/billing.json" <<JSON
{"name": "billing", "source": {"type": "csv", "path": "$TMP/quiet.csv", "time_column": "ts"}, "window": "7h",
 "detectors": [{"detector": "threshold", "params": {"upper": 1000}}]}
JSON
cat > "$D/legacy.json" <<JSON
{"name": "legacy", "source": {"type": "csv", "path": "$TMP/old.csv", "time_column": "ts"}, "window": "1h",
 "detectors": [{"detector": "mad"}]}
JSON
# not --dry-run (a dry run opens no incident): the webhook is a closed port on loopback
export UI_SLACK_URL="http://127.0.0.1:9/services/T000/B000/never-shown"
printf 'ui-tok-%s\n' "$now" > "$TMP/token"
chmod 600 "$TMP/token"
TOKEN="ui-tok-$now"

expect_re() {
	if grep -q -- "$2" "$1"; then ok "$3"; else not_ok "$3: /$2/ not in $1"; sed 's/^/#   /' "$1" | head -20; fi
}

wait_for() {
	wf_left=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		wf_left=$((wf_left - 1))
		[ $wf_left -gt 0 ] || return 1
		sleep 0.1
	done
}
$VIGIL mute add billing --for 1d --reason "migration" --state "$S" >/dev/null 2>"$TMP/mute.err" ||
	{ not_ok "vigil mute failed"; sed 's/^/#   /' "$TMP/mute.err"; finish; }
VIGIL_LOG_LEVEL=info $VIGIL serve --specs "$D" --state "$S" --listen 127.0.0.1:0 \
	--token-file "$TMP/token" >"$TMP/daemon.out" 2>"$TMP/daemon.err" &
DPID=$!
stop_daemon() { kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
trap 'stop_daemon; rm -rf "$TMP"' EXIT
if ! wait_for 60 test -s "$S/serve.json"; then
	not_ok "the daemon did not start"
	sed 's/^/#   /' "$TMP/daemon.err" | tail -20
	finish
fi
URL=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$S/serve.json")
for j in checkout queue nightly billing legacy; do
	curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/api/jobs/$j/run"
done
finished() { [ "$(curl -s "$URL/api/runs?limit=100" | grep -o '"finished_at":[0-9]' | wc -l)" -ge 5 ]; }
wait_for 60 finished && ok "the seeded jobs ran" || not_ok "the seeded jobs did not all finish"

# --- what the server says, before the browser --------------------------------
hdr() { curl -s -D - -o "$TMP/body" "$URL$1" | tr -d '\r' > "$TMP/headers"; }
hdr /
expect_grep "$TMP/headers" "HTTP/1.1 200" "/ answers 200"
expect_grep "$TMP/headers" "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'" \
	"a strict Content-Security-Policy"
expect_grep "$TMP/headers" "X-Content-Type-Options: nosniff" "nosniff"
expect_grep "$TMP/body" '<script type="module" src="/ui/app.js">' "the page loads the UI's module"
if grep -qE '<script>|<script [^>]*>[^<]' "$TMP/body" || grep -qiE ' on[a-z]+=|style=' "$TMP/body"; then
	not_ok "the HTML shell has an inline script, handler or style"
else
	ok "no inline script, handler or style in the HTML"
fi
hdr /jobs/checkout/series/web-1
expect_grep "$TMP/headers" "HTTP/1.1 200" "the chart link of a Slack message no longer 404s"
hdr /ui/uPlot.iife.min.js
expect_grep "$TMP/body" "uPlot" "uPlot is served from the binary"
etag=$(sed -n 's/^ETag: //p' "$TMP/headers")
code=$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$URL/ui/uPlot.iife.min.js")
expect_eq "$code" 304 "assets are revalidated by ETag"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/ui/nothing.js")
expect_eq "$code" 404 "an unknown asset is a 404"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/jobs/checkout")
expect_eq "$code" 405 "pages are GET only"
curl -s "$URL/api/jobs" > "$TMP/jobs.json"
expect_grep "$TMP/jobs.json" '"name":"billing"' "billing is listed"
expect_grep "$TMP/jobs.json" '"muted":true' "a muted job says so"

# --- feedback on an incident (API and CLI) -----------------------------------------------
inc=$(sqlite3 "$S/vigil.db" "SELECT id FROM incidents WHERE job = 'checkout' AND series = 'web-1' LIMIT 1")
curl -s "$URL/api/incidents/$inc" > "$TMP/inc.json"
expect_grep "$TMP/inc.json" '"first_moved":[{"series":"web-1","onset":' "the incident's hints: web-1 moved first"
expect_grep "$TMP/inc.json" '{"series":"web-2","onset":' "then web-2, firing with it"
# API v1: every time of an incident has its integer-milliseconds twin, equal to the ISO text
python3 - "$TMP/inc.json" <<'PY' && ok "incident times: each ISO field has an equal _ms twin" || not_ok "incident times lack or disagree with their _ms twins"
import json, sys, datetime
i = json.load(open(sys.argv[1]))
def ms(t): return int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000)
pairs = [(i["start"], i["start_ms"]), (i["peak"]["time"], i["peak"]["time_ms"]), (i["last_alert"], i["last_alert_ms"])]
assert all(isinstance(m, int) and ms(t) == m for t, m in pairs), pairs
assert (i["last_notified"] is None) == (i["last_notified_ms"] is None)
PY
[ -n "$inc" ] && ok "the spike opened incident $inc" ||
	{ not_ok "no incident for the spike"; sqlite3 "$S/vigil.db" "SELECT id, job, series, kind FROM incidents" 2>&1 | sed 's/^/#   /'; }
fb() { code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST "$@"); }
fb -d '{"verdict": "real"}' "$URL/api/incidents/$inc/feedback"
expect_eq "$code" 401 "feedback without the token is refused"
fb -H "Authorization: Bearer $TOKEN" -d '{"verdict": "maybe"}' "$URL/api/incidents/$inc/feedback"
expect_eq "$code" 400 "a bad verdict is refused"
expect_grep "$TMP/body" 'verdict: must be' "and named"
fb -H "Authorization: Bearer $TOKEN" -d '{"verdict": "real", "color": 1}' "$URL/api/incidents/$inc/feedback"
expect_eq "$code" 400 "an unknown key is refused"
fb -H "Authorization: Bearer $TOKEN" -d '{"verdict": "real"}' "$URL/api/incidents/999999/feedback"
expect_eq "$code" 404 "feedback on an unknown incident is a 404"
fb -H "Authorization: Bearer $TOKEN" -d '{"verdict": "false", "note": "load test", "who": "ana"}' \
	"$URL/api/incidents/$inc/feedback"
expect_eq "$code" 201 "feedback with the token is stored"
expect_exit 0 "vigil feedback INCIDENT real --note" -- $VIGIL feedback "$inc" real --note "it was the <db>" --who bob \
	--state "$S"
expect_grep "$TMP/out" "incident $inc: real" "says what it stored"
expect_exit 2 "vigil feedback with a bad verdict" -- $VIGIL feedback "$inc" wrong --state "$S"
expect_exit 2 "vigil feedback on an unknown incident" -- $VIGIL feedback 999999 real --state "$S"
expect_grep "$TMP/err" "no incident 999999" "says so"
curl -s "$URL/api/incidents/$inc/feedback" > "$TMP/fb.json"
expect_grep "$TMP/fb.json" '"verdict":"false","note":"load test","who":"ana","at":1' "the API shows the verdict, note, who and when"
expect_grep "$TMP/fb.json" '"verdict":"real","note":"it was the <db>","who":"bob"' "and the CLI's, in order"
expect_exit 0 "vigil feedback INCIDENT lists" -- $VIGIL feedback "$inc" --state "$S"
expect_grep "$TMP/out" "false    by ana: load test" "the listing"

# --- a link weeks later: the window around the alert is kept -----------------------
# "older" alerts once, then its data moves on (the spike is no longer in its runs' window)
awk -v t0=$((now - 6 * 3600)) 'BEGIN { print "ts,old"
	for (i = 0; i <= 360; i++) printf "%d,%s\n", t0 + i * 60, (i == 60 ? "900" : 50 + i % 4) }' > "$TMP/older.csv"
cat > "$D/older.json" <<JSON
{"name": "older", "source": {"type": "csv", "path": "$TMP/older.csv", "time_column": "ts"}, "window": "7h",
 "detectors": [{"detector": "mad", "params": {"window": 30}}]}
JSON
older_loaded() { curl -s "$URL/api/jobs" | grep -q '"name":"older"'; }
wait_for 20 older_loaded || not_ok "the older job was not loaded"
older_runs() { [ "$(curl -s "$URL/api/runs?job=older" | grep -o '"finished_at":[0-9]' | wc -l)" -ge "$1" ]; }
curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/api/jobs/older/run"
wait_for 30 older_runs 1 || not_ok "older did not run"
spike_ts=$(( (now - 6 * 3600 + 60 * 60) * 1000 ))
awk -v t0=$((now - 600)) 'BEGIN { print "ts,old"; for (i = 0; i <= 10; i++) printf "%d,%d\n", t0 + i * 60, 50 + i % 4 }' \
	> "$TMP/older.csv"
sleep 1   # a run scheduled in a later millisecond
curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/api/jobs/older/run"
wait_for 30 older_runs 2 || not_ok "older did not run again"
curl -s "$URL/api/series/older/old" > "$TMP/latest.json"
expect_grep "$TMP/latest.json" '"n":11,' "the latest run's series no longer has the spike"
curl -s "$URL/api/series/older/old?from=$((spike_ts - 6 * 3600000))&to=$((spike_ts + 3600000))" > "$TMP/kept.json"
expect_grep "$TMP/kept.json" '"kept":true' "the chart link's range finds the window kept around the alert"
expect_grep "$TMP/kept.json" '"value":900,' "with the spike"
echo "$spike_ts" > "$TMP/spike_ts"
export VIGIL_OLDER_SPIKE=$spike_ts

older_inc=$(sqlite3 "$S/vigil.db" "SELECT id FROM incidents WHERE job = 'older' LIMIT 1")
[ -n "$older_inc" ] && ok "the older spike opened incident $older_inc" || not_ok "no incident for the older spike"
# an incident of a year ago: its series window is long purged
year_ago=$(( (now - 365 * 86400) * 1000 ))
purged_inc=$(sqlite3 "$S/vigil.db" "INSERT INTO incidents (job, series, kind, labels, state, start_ts, end_ts,
	last_seen, last_alert_ts, n_alerts, peak_ts, peak_value, detectors, evidence) VALUES ('older', 'old', 'anomaly',
	'{}', 'resolved', $year_ago, $((year_ago + 600000)), $((year_ago + 600000)), $year_ago, 1, $year_ago, 700, 'mad',
	'a spike a year ago'); SELECT last_insert_rowid();")

# --- detectors: stats and promote (API, CLI) ---------------------------------------
curl -s "$URL/api/detectors/stats?job=checkout" > "$TMP/stats.json"
expect_grep "$TMP/stats.json" '"id":"mad","detector":"mad","mode":"alert"' "the stats list the alerting detector"
expect_grep "$TMP/stats.json" '"id":"zscore","detector":"zscore","mode":"shadow"' "and the shadow one"
expect_grep "$TMP/stats.json" '"feedback":{"real":1,"false":0,"expected":0,"none":1,"precision":1' \
	"precision counts the newest verdict of web-1's incident (real), web-2's has none"
expect_re "$TMP/stats.json" '"would_have_alerted":[1-9]' "the shadow detector would have alerted"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$URL/api/detectors/stats?days=0")
expect_eq "$code" 400 "days out of range is refused"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$URL/api/detectors/stats?job=nope")
expect_eq "$code" 404 "stats of an unknown job: 404"
curl -s "$URL/api/jobs/checkout/promote?detector=zscore" > "$TMP/preview.json"
expect_grep "$TMP/preview.json" '"writable":true' "the spec directory is writable"
expect_re "$TMP/preview.json" '\\n-.*\\"threshold\\": 3}, \\"mode\\": \\"shadow\\"}' "the preview diff removes the shadow mode"
expect_re "$TMP/preview.json" '\\n+.*\\"threshold\\": 3}}]' "and keeps the detector"
expect_no_grep "$TMP/preview.json" "never-shown" "and shows no secret"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' "$URL/api/jobs/checkout/promote?detector=mad")
expect_eq "$code" 400 "promoting an alerting detector is refused"
expect_grep "$TMP/body" "is not a shadow detector" "and says why"
code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST -d '{"detector": "zscore"}' "$URL/api/jobs/checkout/promote")
expect_eq "$code" 401 "promote without the token: 401"
# the CLI: prints the diff, applies only with --apply
cp "$D/checkout.json" "$TMP/cli.json"
expect_exit 0 "vigil promote SPEC DETECTOR" -- $VIGIL promote "$TMP/cli.json" zscore --replace mad
expect_re "$TMP/out" '^--- a/cli.json$' "prints a unified diff"
expect_re "$TMP/out" '^-.*"detector": "mad"' "removing the replaced detector"
cmp -s "$D/checkout.json" "$TMP/cli.json" && ok "and writes nothing" || not_ok "the spec changed without --apply"
expect_exit 2 "vigil promote of an alerting detector" -- $VIGIL promote "$TMP/cli.json" mad
expect_exit 0 "vigil promote --apply" -- $VIGIL promote --apply "$TMP/cli.json" zscore --replace mad
expect_no_grep "$TMP/cli.json" '"mad"' "the applied spec has no mad"
expect_no_grep "$TMP/cli.json" '"shadow"' "and zscore alerting"
expect_exit 0 "the applied spec validates" -- $VIGIL validate "$TMP/cli.json"
# a daemon that may not write its specs: promote shows the diff and refuses to apply
mkdir -p "$TMP/ro-specs" "$TMP/ro-state"
cp "$D/checkout.json" "$TMP/ro-specs/"
$VIGIL serve --specs "$TMP/ro-specs" --state "$TMP/ro-state" --listen 127.0.0.1:0 --specs-read-only \
	--token-file "$TMP/token" >"$TMP/ro.out" 2>"$TMP/ro.err" &
RPID=$!
if wait_for 60 test -s "$TMP/ro-state/serve.json"; then
	RURL=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$TMP/ro-state/serve.json")
	ro_loaded() { curl -s "$RURL/api/jobs" | grep -q '"name":"checkout"'; }
	wait_for 20 ro_loaded || not_ok "the read-only daemon did not load checkout"
	curl -s "$RURL/api/jobs/checkout/promote?detector=zscore" > "$TMP/ro.json"
	expect_grep "$TMP/ro.json" '"writable":false' "with --specs-read-only the spec is not writable"
	code=$(curl -s -o "$TMP/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" \
		-d '{"detector": "zscore"}' "$RURL/api/jobs/checkout/promote")
	expect_eq "$code" 409 "applying is refused (409)"
	expect_grep "$TMP/body" 'specs-read-only: apply the diff by hand' "and says why"
	expect_grep "$TMP/body" '"diff":"--- a/checkout.json' "with the diff to apply"
	cmp -s "$D/checkout.json" "$TMP/ro-specs/checkout.json" && ok "the read-only spec is unchanged" ||
		not_ok "the read-only spec changed"
else
	not_ok "the read-only daemon did not start"
fi
kill -TERM "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null

# --- the browser ------------------------------------------------------------------
VIGIL_URL=$URL VIGIL_TOKEN=$TOKEN VIGIL_OLDER_SPIKE=$spike_ts CHROMIUM=$CHROMIUM VIGIL_UI_SHOTS=${VIGIL_UI_SHOTS:-} \
	VIGIL_INCIDENT=$inc VIGIL_OLDER_INCIDENT=$older_inc VIGIL_PURGED_INCIDENT=$purged_inc \
	node "$top_srcdir/tests/ui-browser.mjs" > "$TMP/browser.out" 2>&1
rc=$?
cat "$TMP/browser.out"
n=$(grep -c '^ok ' "$TMP/browser.out")
bad=$(grep -c '^not ok ' "$TMP/browser.out")
tests=$((tests + n + bad))
failures=$((failures + bad))
[ "$rc" -eq 0 ] && [ "$n" -gt 20 ] && ok "the browser test ran to its end" ||
	not_ok "the browser test failed (exit $rc, $n checks passed)"
# the run-now click went through: a manual run of checkout beyond the seeding one
runs=$(curl -s "$URL/api/runs?job=checkout" | grep -o '"trigger":"manual"' | wc -l)
[ "$runs" -ge 2 ] && ok "run now from the page ran the job" || not_ok "run now from the page: $runs manual runs"
# promote from the page: the spec changed, validates, and the daemon runs zscore as an alerting detector
expect_no_grep "$D/checkout.json" '"shadow"' "the page's promote rewrote the spec"
expect_grep "$D/checkout.json" '"detector": "zscore"' "keeping the detector"
expect_exit 0 "the promoted spec validates" -- $VIGIL validate "$D/checkout.json"
promoted() { curl -s "$URL/api/jobs/checkout" | grep -q '"detector":"zscore","params":{"window":60,"threshold":3}}'; }
wait_for 30 promoted && ok "the daemon reloaded the promoted spec" || not_ok "the daemon did not reload the spec"
before=$(curl -s "$URL/api/runs?job=checkout" | grep -o '"finished_at":[0-9]' | wc -l)
curl -s -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" "$URL/api/jobs/checkout/run"
ran() { [ "$(curl -s "$URL/api/runs?job=checkout" | grep -o '"finished_at":[0-9]' | wc -l)" -gt "$before" ]; }
wait_for 60 ran || not_ok "checkout did not run after the promotion"
curl -s "$URL/api/series/checkout/web-1" > "$TMP/after.json"
expect_grep "$TMP/after.json" '"id":"zscore","shadow":false' "zscore now runs in production"
expect_no_grep "$TMP/daemon.err" "$TOKEN" "the token is never logged"
stop_daemon
expect_no_grep "$TMP/daemon.err" "Sanitizer" "no sanitizer report from the daemon"
finish

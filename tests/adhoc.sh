#!/bin/sh
# adhoc.sh - ad-hoc runs on one `vigil serve` with SQLite (docs/client.md):
# POST /api/runs with curl and with vigil_client.py, the long-poll of
# GET /api/runs/{id}?wait=, results for a CSV with a planted spike, and what
# is refused: no token (401), an invalid spec (400 naming the JSON path), an
# oversized body (413), a file outside VIGIL_SOURCE_ROOTS, secret references
# and executables.  An ad-hoc run notifies nobody and leaves the jobs'
# anomalies, incidents and series alone; a waiting request holds no thread.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
command -v curl >/dev/null 2>&1 || server_fail "curl is required (scripts/setup.sh --test installs it)"

D=$TMP/specs S=$TMP/state DATA=$TMP/data
mkdir -p "$D" "$S" "$DATA"
export VIGIL_SOURCE_ROOTS="$DATA"
# 500 points a minute apart, a spike at index 400
awk 'BEGIN { print "timestamp,cpu"; for (i = 0; i < 500; i++) printf "%d,%s\n", 1700000000 + 60 * i, (i == 400 ? "500" : 10 + i % 5) }' \
	>"$DATA/spike.csv"
echo "secret" >"$TMP/outside.csv"
# a production job of the same name: an ad-hoc run must not count as its run
cat >"$D/nb.json" <<JSON
{"name": "nb", "source": {"type": "csv", "path": "$DATA/spike.csv"}, "detectors": [{"detector": "mad"}]}
JSON
TOKEN="adhoc-token-$$"
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"

wait_for() {
	wf_left=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		wf_left=$((wf_left - 1))
		[ $wf_left -gt 0 ] || return 1
		sleep 0.1
	done
}
VIGIL_LOG_LEVEL=info $VIGIL serve --specs "$D" --state "$S" --listen 127.0.0.1:0 --token-file "$TMP/token" \
	>"$TMP/daemon.out" 2>"$TMP/daemon.err" &
DPID=$!
SERVER_PIDS="$SERVER_PIDS $DPID"
wait_for 60 test -s "$S/serve.json" || server_fail "the daemon did not start" "$TMP/daemon.err"
URL=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$S/serve.json")

# post BODY_FILE [curl args]: status in $code, answer in $TMP/body
post() {
	f=$1
	shift
	code=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 30 -X POST --data-binary "@$f" "$@" "$URL/api/runs")
}
auth="Authorization: Bearer $TOKEN"
spec() { printf '%s\n' "$1" >"$TMP/spec.json"; }
refused() {   # refused DESC CODE PATTERN: the spec in $TMP/spec.json gets CODE and an error matching PATTERN
	post "$TMP/spec.json" -H "$auth"
	if [ "$code" = "$2" ] && grep -q -- "$3" "$TMP/body"; then ok "$1 ($code)"; else
		not_ok "$1: HTTP $code, expected $2 with '$3'"; sed 's/^/#   /' "$TMP/body" | head -3; fi
}

GOOD='{"name": "nb", "source": {"type": "csv", "path": "spike.csv"}, "detectors": [{"detector": "mad", "params": {"window": 60}}],
 "notify": [{"type": "webhook", "url": "http://127.0.0.1:9/never"}]}'
spec "$GOOD"

# --- refusals ---------------------------------------------------------------------
post "$TMP/spec.json"
expect_eq "$code" 401 "POST /api/runs without the token is 401"
expect_grep "$TMP/body" '"error":"a valid bearer token is required"' "with a JSON error"
spec '{"name": "bad", "source": {"type": "csv", "path": "spike.csv"}, "detectors": [{"detector": "grubbs", "params": {"alpha": 0.9}}]}'
refused "an invalid spec is 400" 400 '"error":"spec: $.detectors\[0\].params.alpha: '
expect_grep "$TMP/body" '"path":"$.detectors[0].params.alpha"' "errors[] carry the JSON path, as vigil validate --json"
printf '{"name": ' >"$TMP/spec.json"
refused "a body that is not JSON is 400" 400 '"error":"spec: '
head -c 1048577 /dev/zero | tr '\0' ' ' >"$TMP/big.json"
post "$TMP/big.json" -H "$auth"
expect_eq "$code" 413 "a body over 1 MiB is 413"
expect_grep "$TMP/body" '"error":"request body larger than 1048576 bytes' "with a JSON error saying the cap"
spec "{\"name\": \"x\", \"source\": {\"type\": \"csv\", \"path\": \"$TMP/outside.csv\"}, \"detectors\": [{\"detector\": \"mad\"}]}"
refused "a file outside VIGIL_SOURCE_ROOTS is refused" 400 '$.source.path: .*outside.*VIGIL_SOURCE_ROOTS'
spec '{"name": "x", "source": {"type": "csv", "path": "../outside.csv"}, "detectors": [{"detector": "mad"}]}'
refused "so is a relative path climbing out of it" 400 '$.source.path: .*outside'
spec '{"name": "x", "source": {"type": "csv", "path": "${env:HOME}/x.csv"}, "detectors": [{"detector": "mad"}]}'
refused "a secret reference is refused" 400 '$.source.path: secret references'
spec '{"name": "x", "source": {"type": "csv", "path": "spike.csv"}, "detectors": [{"detector": "e", "exec": {"path": "/bin/sh"}}]}'
refused "an executable detector is refused" 400 '$.detectors\[0\].exec: executable detectors are not allowed'
expect_eq "$(curl -s "$URL/api/runs" | grep -c '"trigger":"adhoc"')" 0 "nothing refused was queued"

# --- a run with curl ----------------------------------------------------------------
spec "$GOOD"
post "$TMP/spec.json" -H "$auth"
expect_eq "$code" 202 "a valid spec is accepted (202)"
ID=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$TMP/body")
expect_grep "$TMP/body" '"job":"adhoc:nb"' "as job adhoc:nb"
curl -s --max-time 40 "$URL/api/runs/$ID?wait=30s" >"$TMP/run.json"
expect_grep "$TMP/run.json" '"state":"succeeded"' "?wait=30s answers once the run ended"
expect_grep "$TMP/run.json" '"adhoc":true' "marked ad-hoc"
"$PY" - "$TMP/run.json" >"$TMP/check.out" 2>&1 <<'PYEOF'
import json, sys
run = json.load(open(sys.argv[1]))
res = run["results"]
assert run["trigger"] == "adhoc" and run["n_points"] == 500, run
assert res["truncated"] is False and len(res["series"]) == 1, res.keys()
s = res["series"][0]
assert s["series"] == "cpu" and s["n"] == 500 and len(s["ts"]) == 500 and len(s["value"]) == 500
assert s["ts"][0] == 1700000000000 and s["value"][400] == 500
d = s["detectors"][0]
assert d["id"] == "mad" and d["shadow"] is False
for k in ("score", "expected", "lower", "upper", "anomaly", "alerted"):
    assert len(d[k]) == 500, k
assert [i for i, a in enumerate(d["anomaly"]) if a] == [400], d["anomaly"]
assert d["score"][400] > 0.9 and d["expected"][400] < 20
assert run["spec"]["name"] == "nb"
print("results ok")
PYEOF
expect_grep "$TMP/check.out" "results ok" "results: 500 points, one detector, the spike (and only it) flagged, columns aligned"
expect_eq "$(curl -s "$URL/api/anomalies" | tr -d '\n')" '{"anomalies":[]}' "the jobs' anomaly list is untouched"
expect_eq "$(curl -s "$URL/api/incidents" | tr -d '\n')" '{"incidents":[]}' "no incident opened"
curl -s "$URL/api/jobs/nb" >"$TMP/job.json"
expect_grep "$TMP/job.json" '"last_run":null' "the production job nb has still no run"
expect_grep "$TMP/job.json" '"series":[]' "nor stored series"
$VIGIL outbox list --all --json --state "$S" >"$TMP/outbox.json" 2>&1
expect_no_grep "$TMP/outbox.json" 'never' "nothing queued for the spec's webhook: ad-hoc runs notify nobody"
curl -s "$URL/api/runs?job=adhoc:nb" >"$TMP/list.json"
expect_grep "$TMP/list.json" "\"id\":$ID,\"job\":\"adhoc:nb\"" "GET /api/runs?job=adhoc:nb lists it"
$VIGIL runs --store "$S/vigil.db" >"$TMP/runs.txt" 2>&1
expect_grep "$TMP/runs.txt" "adhoc:nb" "vigil runs lists it"

# --- long-poll: a run that does not end holds no thread -------------------------------------
"$PY" -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16); print(s.getsockname()[1], flush=True)
conns = []
while True: conns.append(s.accept())' >"$TMP/hang.port" 2>/dev/null &
HANG=$!
SERVER_PIDS="$SERVER_PIDS $HANG"
wait_for 10 test -s "$TMP/hang.port"
spec "{\"name\": \"slow\", \"source\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:$(cat "$TMP/hang.port")/\", \"points\": \"/p\",
 \"time\": \"/0\", \"value\": \"/1\", \"timeout\": \"60s\"}, \"detectors\": [{\"detector\": \"mad\"}]}"
post "$TMP/spec.json" -H "$auth"
SLOW=$(sed -n 's/.*"id":\([0-9]*\).*/\1/p' "$TMP/body")
running() { curl -s "$URL/api/runs/$SLOW" | grep -q '"state":"running"'; }
wait_for 30 running && ok "the slow run is running" || not_ok "the slow run did not start"
WAITERS=""
for i in 1 2 3 4 5 6; do
	curl -s --max-time 30 "$URL/api/runs/$SLOW?wait=3s" >"$TMP/wait$i.json" &
	WAITERS="$WAITERS $!"
done
sleep 0.5
code=$(curl -s -o "$TMP/h.txt" -w '%{http_code}' --max-time 2 "$URL/healthz")
expect_eq "$code" 200 "/healthz answers while six requests wait on a run"
code=$(curl -s -o "$TMP/r.json" -w '%{http_code}' --max-time 2 "$URL/api/runs/$ID")
expect_eq "$code" 200 "and so does another run"
for p in $WAITERS; do wait "$p"; done
expect_eq "$(cat "$TMP"/wait?.json | grep -c '"state":"running"')" 6 "each wait ends with the run's current state when the wait is over"
http_code() { curl -s -o "$TMP/body" -w '%{http_code}' "$@"; }
expect_eq "$(http_code "$URL/api/runs/$SLOW?wait=2m")" 400 "a wait over 60s is 400"
expect_grep "$TMP/body" 'wait: must be a duration up to 60s' "saying the cap"
expect_eq "$(http_code "$URL/api/runs/$SLOW?wait=30")" 400 "a bare number is not a duration (400)"
expect_eq "$(http_code "$URL/api/runs/$SLOW?waits=1s")" 400 "an unknown parameter is 400"
kill "$HANG" 2>/dev/null
failed() { curl -s "$URL/api/runs/$SLOW" | grep -q '"state":"failed"'; }
wait_for 60 failed && ok "a run whose source fails ends failed, with its reason" || not_ok "the slow run did not fail"

# --- vigil_client.py ----------------------------------------------------------------------
cd "$TMP" || exit 1
VIGIL_URL="$URL" VIGIL_API_TOKEN="$TOKEN" PYTHONPATH="$top_srcdir/client" "$PY" - "$TMP/spike.json" >"$TMP/client.out" 2>&1 <<'PYEOF'
import json, sys
import vigil_client as vc

spec = {"name": "nb-client", "source": {"type": "csv", "path": "spike.csv"},
        "detectors": [{"detector": "mad", "params": {"window": 60}}, {"id": "z", "detector": "zscore", "mode": "shadow"}]}
client = vc.Client()
run = client.run(spec, timeout=120)
assert run["state"] == "succeeded" and run["job"] == "adhoc:nb-client", run["state"]
t = vc.table(run)
assert set(t) >= {"series", "ts", "value", "mad.score", "mad.anomaly", "z.score", "z.expected"}, sorted(t)
assert all(len(c) == 500 for c in t.values()), {k: len(c) for k, c in t.items()}
assert [i for i, a in enumerate(t["mad.anomaly"]) if a] == [400]
assert t["value"][400] == 500 and t["series"][0] == "cpu"
print("client run ok")

# a spec file by path, and waiting on a known id
json.dump(spec, open(sys.argv[1], "w"))
sub = client.submit(sys.argv[1])
assert client.wait(sub["id"], timeout=120)["state"] == "succeeded"
print("client file ok")

try:
    vc.Client(token="").submit(spec)
except vc.VigilError as e:
    assert e.status == 401 and "bearer token" in e.message, e
    print("client 401 ok")
bad = dict(spec, detectors=[{"detector": "grubbs", "params": {"alpha": 0.9}}])
try:
    client.submit(bad)
except vc.VigilError as e:
    assert e.status == 400 and e.errors[0]["path"] == "$.detectors[0].params.alpha", (e, e.errors)
    print("client 400 ok")
failing = dict(spec, source={"type": "csv", "path": "missing.csv"})
try:
    client.run(failing, timeout=120)
except vc.RunFailed as e:
    assert e.run["state"] == "failed" and "missing.csv" in e.run["error"], e.run
    print("client failed run ok")
PYEOF
for w in "client run ok" "client file ok" "client 401 ok" "client 400 ok" "client failed run ok"; do
	expect_grep "$TMP/client.out" "$w" "vigil_client.py: $w"
done
grep -q "client failed run ok" "$TMP/client.out" || sed 's/^/#   /' "$TMP/client.out" | tail -8
VIGIL_URL="$URL" VIGIL_API_TOKEN="$TOKEN" "$PY" "$top_srcdir/client/vigil_client.py" "$TMP/spike.json" >"$TMP/cli.json" 2>&1
expect_grep "$TMP/cli.json" '"state": "succeeded"' "python3 vigil_client.py SPEC runs it from the shell"

# --- the daemon stops cleanly -------------------------------------------------------------
kill -TERM "$DPID"
wait_for 30 sh -c "! kill -0 $DPID" && ok "SIGTERM stops the daemon" || not_ok "the daemon did not stop"
expect_no_grep "$TMP/daemon.err" "$TOKEN" "the token never appears in the log"
expect_no_grep "$TMP/daemon.err" "Sanitizer" "no sanitizer report from the daemon or its workers (build-asan)"
finish

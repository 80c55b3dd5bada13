#!/bin/sh
# cluster.sh - three `vigil serve` nodes on one throwaway PostgreSQL
# (docs/scale-out.md): every fire time of an @every job runs exactly once
# across the nodes; eight jobs alerting to one Slack webhook at the same
# instant stay within the webhook's rate for the cluster as a whole; a node
# killed with -9 in the middle of a run: the run is re-run once, by another
# node, and Slack gets one message; PostgreSQL stopped for 20 s and started
# again: the nodes log it, keep running and catch up by the misfire policy;
# a node running another version of a spec is reported by `vigil status
# --cluster`, `vigil status` and /metrics; ad-hoc runs posted to one node
# with vigil_client.py are each run once, by some node; the node running a
# slow ad-hoc run killed with -9: another node re-runs it after the lease.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=info
command -v curl >/dev/null 2>&1 || server_fail "curl is required (scripts/setup.sh --test installs it)"
start_postgres
PSQL="$PGBIN/psql -X -q -At -h 127.0.0.1 -p $PG_PORT -U postgres vigil"
$PGBIN/psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE vigil" postgres ||
	server_fail "cannot create the database"
export VIGIL_PG="postgresql://postgres@127.0.0.1:$PG_PORT/vigil"
q() { $PSQL -c "$1" 2>>"$TMP/psql.err"; }

# the loopback Slack
"$PY" "$top_srcdir/tests/slack-server.py" --port-file "$TMP/slack.port" --log "$TMP/slack.log" 2>"$TMP/slack.err" &
SERVER_PIDS="$SERVER_PIDS $!"
i=0
while [ ! -s "$TMP/slack.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$TMP/slack.port" ] || server_fail "the loopback Slack did not start" "$TMP/slack.err"
export HOOK="http://127.0.0.1:$(cat "$TMP/slack.port")/services/T1/B1/ok/SECRETCLUSTER"

wait_for() {
	wf_left=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		wf_left=$((wf_left - 1))
		[ $wf_left -gt 0 ] || return 1
		sleep 0.1
	done
}
eq() { [ "$(q "$1")" = "$2" ]; }
ge() { [ "$(q "$1")" -ge "$2" ] 2>/dev/null; }
check() { if "$@"; then ok "$desc"; else not_ok "$desc"; for n in 1 2 3; do tail -3 "$TMP/node$n.err" | sed "s/^/#   node$n: /"; done; fi; }

# data: a point every 10 s around now; "hot" series are at 100 for the last five minutes
now=$(date +%s)
awk -v t0=$((now - 3600)) -v now="$now" 'BEGIN { print "timestamp,v"; for (i = 0; i < 720; i++) {
	t = t0 + 10 * i; printf "%d,%d\n", t, (t > now - 300 && t < now + 300) ? 100 : 10 } }' >"$TMP/data.csv"
D=$TMP/specs P=$TMP/plugins
export VIGIL_SOURCE_ROOTS="$TMP"   # the data sits beside the specs directories
mkdir -p "$D" "$P"
ln -s "$VIGIL_TEST_PLUGINS/test-slow.so" "$P/test-slow.so"
cat >"$D/tick.json" <<JSON
{"name": "tick", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "30m", "schedule": "@every 2s",
 "detectors": [{"detector": "threshold", "params": {"upper": 1000}}]}
JSON
# a slow run that alerts: triggered once, on node 1, which is then killed
cat >"$D/slowhot.json" <<JSON
{"name": "slowhot", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "30m", "schedule": "@yearly",
 "alert": {"recent": "10m"},
 "detectors": [{"detector": "threshold", "params": {"upper": 50}}, {"detector": "test-slow", "params": {"ms": 5000}}],
 "notify": [{"type": "slack", "webhook_url": "\${env:HOOK}"}]}
JSON
# a job whose version differs on node 3
cat >"$D/drift.json" <<JSON
{"name": "drift", "source": {"type": "csv", "path": "$TMP/data.csv"}, "schedule": "@yearly",
 "detectors": [{"detector": "threshold", "params": {"upper": 1000}}]}
JSON
D3=$TMP/specs3
cp -r "$D" "$D3"
sed -i 's/"upper": 1000}}]}/"upper": 999}}]}/' "$D3/drift.json"

LEASE=2s
start_node() {   # start_node N SPECDIR
	mkdir -p "$TMP/state$1"
	rm -f "$TMP/state$1/serve.json"
	$VIGIL serve --specs "$2" --state "$TMP/state$1" --store '${env:VIGIL_PG}' --node "node$1" --listen 127.0.0.1:0 \
		--plugin-dir "$P" --lease $LEASE --grace 1s --concurrency 4 >>"$TMP/node$1.out" 2>>"$TMP/node$1.err" &
	eval "PID$1=\$!"
	SERVER_PIDS="$SERVER_PIDS $!"
}
url() { "$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$TMP/state$1/serve.json"; }
start_node 1 "$D"
start_node 2 "$D"
start_node 3 "$D3"
for n in 1 2 3; do
	wait_for 60 test -s "$TMP/state$n/serve.json" || server_fail "node $n did not start" "$TMP/node$n.err"
done
ok "three nodes started on one PostgreSQL"
expect_no_grep "$TMP/node1.err" "SECRETCLUSTER" "no node logs the webhook"

# --- every fire time once across the nodes ------------------------------------------
desc="tick runs on schedule on the cluster"
check wait_for 40 ge "SELECT count(*) FROM runs WHERE job = 'tick' AND state = 'succeeded'" 6
# the run rows of the steady state: consecutive fire times, each claimed once
T0=$(q "SELECT min(scheduled_for) FROM runs WHERE job = 'tick'")
T1=$(q "SELECT max(scheduled_for) FROM runs WHERE job = 'tick' AND state = 'succeeded'")
n=$(q "SELECT count(*) FROM runs WHERE job = 'tick' AND scheduled_for BETWEEN $T0 AND $T1")
expect_eq "$n" "$(( (T1 - T0) / 2000 + 1 ))" "every fire time from the first to the last has its run: no gap"
expect_eq "$(q "SELECT count(*) FROM runs WHERE job = 'tick' AND scheduled_for BETWEEN $T0 AND $T1 AND attempts <> 1")" 0 \
	"each fire time was claimed once"
# each run of those fire times was started by one node: one "started" line in all the logs together
first=$(date -u -d "@$((T0 / 1000))" +%Y-%m-%dT%H:%M:%SZ) last=$(date -u -d "@$((T1 / 1000))" +%Y-%m-%dT%H:%M:%SZ)
started=$(cat "$TMP"/node*.err | sed -n "s/.*job 'tick': run [0-9]* for \([^ ]*\) started.*/\1/p" |
	awk -v a="$first" -v b="$last" '$1 >= a && $1 <= b' | wc -l)
expect_eq "$started" "$n" "every run started on one node only"
dups=$(cat "$TMP"/node*.err | sed -n "s/.*job 'tick': run \([0-9]*\) for .* started.*/\1/p" | sort | uniq -d | wc -l)
expect_eq "$dups" 0 "no run id started twice"
echo "# tick runs per node: $(q "SELECT string_agg(locked_by || '=' || c, ' ') FROM (SELECT locked_by, count(*) c FROM runs WHERE job = 'tick' GROUP BY 1 ORDER BY 1) x")"

# --- the webhook's rate holds for the cluster ----------------------------------------
for k in 1 2 3 4 5 6 7 8; do
	cat >"$D/hot$k.json" <<JSON
{"name": "hot$k", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "30m", "schedule": "@every 5s",
 "alert": {"recent": "10m"}, "detectors": [{"detector": "threshold", "params": {"upper": 50}}],
 "notify": [{"type": "slack", "webhook_url": "\${env:HOOK}"}]}
JSON
	cp "$D/hot$k.json" "$D3/"
done
hot_sent() { [ "$("$PY" -c 'import json, sys; print(sum(1 for l in open(sys.argv[1]) if "hot" in json.loads(l).get("payload", {}).get("text", "") and json.loads(l)["status"] == 200))' "$TMP/slack.log" 2>/dev/null)" -ge 8 ]; }
desc="eight alerts from the cluster reach the webhook"
check wait_for 60 hot_sent
expect_eq "$(grep -c '"status": 429' "$TMP/slack.log")" 0 "no 429 from the webhook: 1/s, burst 3 held across the nodes"
burst=$("$PY" -c '
import json, sys
t = sorted(json.loads(l)["t_recv"] for l in open(sys.argv[1]))
print(max(sum(1 for u in t if v <= u < v + 1.0) for v in t))' "$TMP/slack.log")
if [ "$burst" -le 4 ]; then ok "at most 4 messages in any second ($burst)"; else not_ok "$burst messages in one second"; fi
expect_eq "$(q "SELECT count(*) FROM outbox WHERE job LIKE 'hot%' AND state = 'sent'")" 8 "one message per job: eight sent"
rm -f "$D"/hot*.json "$D3"/hot*.json

# --- ad-hoc runs: sent to one node with vigil_client.py, run once by some node -----------------
# the client posts six specs to node 2 and reads them back from node 3 (VIGIL_SOURCE_ROOTS: data.csv is in $TMP)
PYTHONPATH="$top_srcdir/client" "$PY" - "$(url 2)" "$(url 3)" >"$TMP/adhoc.out" 2>&1 <<'PYEOF'
import sys
import vigil_client as vc

post, read = vc.Client(sys.argv[1]), vc.Client(sys.argv[2])
spec = {"source": {"type": "csv", "path": "data.csv"}, "window": "30m",
        "detectors": [{"detector": "threshold", "params": {"upper": 50}}]}
ids = [post.submit(dict(spec, name=f"nb{k}"))["id"] for k in range(6)]
for i in ids:
    run = read.wait(i, timeout=120)
    t = vc.table(run)
    assert run["state"] == "succeeded" and run["trigger"] == "adhoc", run
    assert len(t["ts"]) == run["n_points"] > 0 and sum(t["threshold.anomaly"]) > 0, run["n_points"]
print("ids", " ".join(map(str, ids)))
PYEOF
IDS=$(sed -n 's/^ids //p' "$TMP/adhoc.out")
if [ -n "$IDS" ]; then ok "six ad-hoc runs posted to node 2 succeed, with results read from node 3"; else
	not_ok "ad-hoc runs through vigil_client.py"; sed 's/^/#   /' "$TMP/adhoc.out" | tail -5; fi
IDLIST=$(echo "$IDS" | tr ' ' ',')
expect_eq "$(q "SELECT count(*) FROM runs WHERE id IN ($IDLIST) AND trigger_kind = 'adhoc' AND attempts = 1 AND state = 'succeeded'")" 6 \
	"each claimed once (attempts 1)"
started=0
for i in $IDS; do started=$((started + $(cat "$TMP"/node*.err | grep -c "ad-hoc run $i started"))); done
expect_eq "$started" 6 "each started by one node only"
expect_eq "$(q "SELECT count(*) FROM adhoc_runs WHERE run_id IN ($IDLIST) AND results IS NOT NULL")" 6 "their results are in the store"
expect_eq "$(q "SELECT count(*) FROM outbox WHERE job LIKE 'adhoc:%'")" 0 "and nothing in the outbox: ad-hoc runs notify nobody"
echo "# ad-hoc runs per node: $(q "SELECT string_agg(locked_by || '=' || c, ' ') FROM (SELECT locked_by, count(*) c FROM runs WHERE id IN ($IDLIST) GROUP BY 1 ORDER BY 1) x")"

# --- kill -9 of a node in the middle of a run --------------------------------------------
curl -s -o /dev/null -X POST "$(url 1)/api/jobs/slowhot/run"
desc="node 1 runs the slow job"
check wait_for 20 eq "SELECT locked_by || ' ' || state FROM runs WHERE job = 'slowhot'" "node1 running"
sleep 1
kill -9 "$PID1"
killed_at=$(date +%s%3N)
desc="another node re-runs it after the lease"
check wait_for 30 eq "SELECT state FROM runs WHERE job = 'slowhot'" succeeded
expect_eq "$(q "SELECT attempts FROM runs WHERE job = 'slowhot'")" 2 "the run was run twice: once lost, once completed"
taker=$(q "SELECT locked_by FROM runs WHERE job = 'slowhot'")
case $taker in node2|node3) ok "it was completed by $taker, not by the dead node" ;; *) not_ok "completed by '$taker'" ;; esac
started=$(q "SELECT started_at FROM runs WHERE job = 'slowhot'")
echo "# taken over $((started - killed_at)) ms after kill -9 (lease $LEASE, rescue scan every lease/3)"
slow_msgs() { grep -c 'slowhot' "$TMP/slack.log"; }
has_slow_msg() { [ "$(slow_msgs)" -ge 1 ]; }
desc="its Slack message arrives"
check wait_for 20 has_slow_msg
sleep 2
expect_eq "$(slow_msgs)" 1 "exactly one Slack message for the run"
cat "$TMP/node2.err" "$TMP/node3.err" >"$TMP/both.err"
expect_grep "$TMP/both.err" "job 'slowhot': the run for" "the node taking over says why"

# node 1 comes back: it never finishes the run it lost
start_node 1 "$D"
wait_for 60 test -s "$TMP/state1/serve.json" || not_ok "node 1 did not restart"
ok "node 1 restarted"
expect_eq "$(q "SELECT attempts || ' ' || locked_by FROM runs WHERE job = 'slowhot'")" "2 $taker" "the restarted node leaves the finished run alone"

# --- kill -9 of the node running an ad-hoc run -----------------------------------------------
# a slow ad-hoc run is posted to node 1; whichever node claims it is killed mid-run: another node
# re-runs it after the lease, its results are stored once, and the killed node, back, leaves it alone
printf '%s\n' '{"name": "nbslow", "source": {"type": "csv", "path": "data.csv"}, "window": "30m",
 "detectors": [{"detector": "threshold", "params": {"upper": 50}}, {"detector": "test-slow", "params": {"ms": 4000}}]}' \
	>"$TMP/nbslow.json"
AID=$(curl -s -X POST --data-binary "@$TMP/nbslow.json" "$(url 1)/api/runs" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
[ -n "$AID" ] && ok "a slow ad-hoc run is queued (run $AID)" || not_ok "POST /api/runs of the slow ad-hoc run"
held() { q "SELECT locked_by FROM runs WHERE id = $AID AND state = 'running'" | grep -q node; }
desc="some node runs it"
check wait_for 30 held
victim=$(q "SELECT locked_by FROM runs WHERE id = $AID")
vn=${victim#node}
sleep 1
eval "kill -9 \$PID$vn"
killed_at=$(date +%s%3N)
desc="another node re-runs the ad-hoc run after the lease"
check wait_for 40 eq "SELECT state FROM runs WHERE id = $AID" succeeded
expect_eq "$(q "SELECT attempts FROM runs WHERE id = $AID")" 2 "claimed twice: once lost with $victim, once completed"
ataker=$(q "SELECT locked_by FROM runs WHERE id = $AID")
if [ -n "$ataker" ] && [ "$ataker" != "$victim" ]; then ok "completed by $ataker, not by the killed $victim"; else
	not_ok "completed by '$ataker' (killed: $victim)"; fi
echo "# ad-hoc run taken over $(($(q "SELECT started_at FROM runs WHERE id = $AID") - killed_at)) ms after kill -9 (lease $LEASE)"
curl -s "$(url 2)/api/runs/$AID" 2>/dev/null >"$TMP/aid.json" || true
[ -s "$TMP/aid.json" ] || curl -s "$(url 3)/api/runs/$AID" >"$TMP/aid.json"
"$PY" - "$TMP/aid.json" >"$TMP/aid.out" 2>&1 <<'PYEOF'
import json, sys
run = json.load(open(sys.argv[1]))
s = run["results"]["series"]
assert run["state"] == "succeeded" and run["attempts"] == 2 and len(s) == 1, run
ids = [d["id"] for d in s[0]["detectors"]]
assert ids == ["threshold", "test-slow"], ids
assert sum(s[0]["detectors"][0]["anomaly"]) > 0
print("results ok")
PYEOF
expect_grep "$TMP/aid.out" "results ok" "its results (both detectors, the hot points flagged) are read back through the API"
expect_eq "$(q "SELECT count(*) FROM adhoc_runs WHERE run_id = $AID AND results IS NOT NULL")" 1 "stored once"
start_node "$vn" "$( [ "$vn" = 3 ] && echo "$D3" || echo "$D")"
wait_for 60 test -s "$TMP/state$vn/serve.json" || not_ok "$victim did not restart"
sleep 2
expect_eq "$(q "SELECT attempts || ' ' || locked_by || ' ' || state FROM runs WHERE id = $AID")" "2 $ataker succeeded" \
	"the restarted $victim leaves the finished ad-hoc run alone"

# --- spec versions ----------------------------------------------------------------------
desc="status --cluster lists the three nodes alive"
alive3() { [ "$($VIGIL status --cluster --store '${env:VIGIL_PG}' --alive 10s | grep -c '^node[123] *yes')" = 3 ]; }
check wait_for 20 alive3
$VIGIL status --cluster --store '${env:VIGIL_PG}' --alive 10s >"$TMP/cluster.txt" 2>&1
expect_grep "$TMP/cluster.txt" "warning: job 'drift' runs in different spec versions" "status --cluster reports the drifted spec"
expect_grep "$TMP/cluster.txt" '["node3"]' "... and which node runs the other version"
expect_no_grep "$TMP/cluster.txt" "job 'tick' runs in different" "identical specs are not reported"
expect_grep "$TMP/cluster.txt" "tick" "status --cluster shows which node ran what"
expect_no_grep "$TMP/cluster.txt" "$PG_PORT/vigil" "status --cluster never prints the connection string"
desc="/metrics counts the conflict"
metric() { curl -s "$(url 2)/metrics" | grep -q '^vigil_cluster_spec_conflicts 1'; }
check wait_for 20 metric
$VIGIL status --state "$TMP/state2" >"$TMP/status.txt" 2>&1
expect_grep "$TMP/status.txt" "other nodes run another version of this spec" "vigil status flags the job"
expect_grep "$TMP/node2.err" "job 'drift' runs in different spec versions" "the node logs it"

# --- PostgreSQL away for 20 s ------------------------------------------------------------
before=$(q "SELECT max(scheduled_for) FROM runs WHERE job = 'tick'")
stop_postgres
sleep 20
for n in 1 2 3; do
	eval "pid=\$PID$n"
	if kill -0 "$pid" 2>/dev/null; then ok "node $n is still running with PostgreSQL down"; else not_ok "node $n died"; fi
done
$AS "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$TMP/pg/postgres.log" -w -t 30 \
	-o "-k '' -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off" start >"$TMP/pg/pg_ctl2.log" 2>&1 ||
	server_fail "PostgreSQL did not start again" "$TMP/pg/postgres.log"
resumed=$(date +%s%3N)
desc="the schedule catches up with one run for the missed fire times (misfire: run_once)"
check wait_for 40 ge "SELECT count(*) FROM runs WHERE job = 'tick' AND trigger_kind = 'catchup' AND scheduled_for > $before" 1
sleep 3
expect_eq "$(q "SELECT count(*) FROM runs WHERE job = 'tick' AND trigger_kind = 'catchup' AND scheduled_for > $before")" 1 \
	"one catch-up run, not one per node"
expect_eq "$(q "SELECT count(*) FROM runs WHERE job = 'tick' AND trigger_kind = 'catchup' AND scheduled_for > $before AND window_from BETWEEN $before - 1800000 AND $before + 6000 - 1800000")" 1 \
	"its window reaches back over the outage"
desc="then runs on schedule again"
check wait_for 30 ge "SELECT count(*) FROM runs WHERE job = 'tick' AND state = 'succeeded' AND scheduled_for > $resumed" 2
cat "$TMP"/node*.err >"$TMP/all.err"
expect_grep "$TMP/all.err" "the store is unavailable: no runs start until it answers again" "the nodes log the outage"
expect_grep "$TMP/all.err" "the store answers again" "... and the recovery"
expect_no_grep "$TMP/all.err" "SECRETCLUSTER" "no node ever logs the webhook"
for n in 1 2 3; do
	eval "pid=\$PID$n"
	kill -TERM "$pid"
done
for n in 1 2 3; do
	eval "pid=\$PID$n"
	wait "$pid"
	expect_eq "$?" 0 "node $n stops cleanly"
done
finish

#!/bin/sh
# cluster-push.sh - a detector pushed once reaches three `vigil serve` nodes
# on one throwaway PostgreSQL (docs/scale-out.md#deploying-detectors): each
# node materialises it (the same bytes), runs a job with it, and reports
# the version it runs; a new version pushed while they run is materialised
# by every node without a restart, the next runs use it, and `vigil
# detectors` shows the version per node.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
[ "$(id -u)" = 0 ] && export VIGIL_EXEC_ALLOW_ROOT=1
export VIGIL_LOG_LEVEL=info
start_postgres
PSQL="$PGBIN/psql -X -q -At -h 127.0.0.1 -p $PG_PORT -U postgres vigil"
$PGBIN/psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE vigil" postgres ||
	server_fail "cannot create the database"
export VIGIL_PG="postgresql://postgres@127.0.0.1:$PG_PORT/vigil"
STORE='${env:VIGIL_PG}'
q() { $PSQL -c "$1" 2>>"$TMP/psql.err"; }
eq() { [ "$(q "$1")" = "$2" ]; }
ge() { [ "$(q "$1")" -ge "$2" ] 2>/dev/null; }
check() { if "$@"; then ok "$desc"; else not_ok "$desc"; for n in 1 2 3; do tail -3 "$TMP/node$n.err" | sed "s/^/#   node$n: /"; done; fi; }

# version 1 flags values above the limit; version 2 only values above limit + 10
mkdir -p "$TMP/above"
cp "$top_srcdir/plugins/shell/above.sh" "$top_srcdir/plugins/shell/above.awk" "$TMP/above/"
chmod 755 "$TMP/above/above.sh"
chmod 644 "$TMP/above/above.awk"
cp -r "$TMP/above" "$TMP/above-v2"
sed -i 's/v\[i\] + 0 > limit$/v[i] + 0 > limit + 10/' "$TMP/above-v2/above.awk"
grep -q 'limit + 10' "$TMP/above-v2/above.awk" || server_fail "cannot make version 2 of the detector"
expect_exit 0 "a detector is pushed to the cluster's store" -- $VIGIL detectors push --store "$STORE" --json "$TMP/above"
SHA1=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))[0]["sha256"])' "$TMP/out")

# a job using it on every node: "hot" points are at 100 for the last five minutes
now=$(date +%s)
awk -v t0=$((now - 3600)) -v now="$now" 'BEGIN { print "timestamp,v"; for (i = 0; i < 720; i++) {
	t = t0 + 10 * i; printf "%d,%d\n", t, (t > now - 300 && t < now + 300) ? 100 : 10 } }' >"$TMP/data.csv"
D=$TMP/specs
export VIGIL_SOURCE_ROOTS="$TMP"
mkdir -p "$D"
cat >"$D/pushjob.json" <<JSON
{"name": "pushjob", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "30m", "schedule": "@every 2s",
 "detectors": [{"detector": "above", "exec": {"pushed": "above", "lifecycle": "oneshot"}, "params": {"limit": 95}}]}
JSON
start_node() {
	mkdir -p "$TMP/state$1"
	chmod 700 "$TMP/state$1"
	$VIGIL serve --specs "$D" --state "$TMP/state$1" --store "$STORE" --node "node$1" --listen 127.0.0.1:0 \
		--lease 2s --grace 1s --concurrency 2 >>"$TMP/node$1.out" 2>>"$TMP/node$1.err" &
	eval "PID$1=\$!"
	SERVER_PIDS="$SERVER_PIDS $!"
}
for n in 1 2 3; do start_node $n; done
for n in 1 2 3; do
	wait_for 60 test -s "$TMP/state$n/serve.json" || server_fail "node $n did not start" "$TMP/node$n.err"
done
ok "three nodes started on one PostgreSQL"

desc="every node materialised version 1 and reports it"
check wait_for 60 eq "SELECT count(*) FROM detector_nodes WHERE name = 'above' AND version = 1" 3
same=0
for n in 1 2 3; do
	cmp -s "$TMP/state$n/pushed/$SHA1/above.awk" "$TMP/above/above.awk" &&
		[ "$(stat -c %a "$TMP/state$n/pushed/$SHA1/above.sh")" = 700 ] && same=$((same + 1))
done
expect_eq "$same" 3 "each node's copy has the pushed bytes, private"
desc="the job runs with it on the cluster and flags the hot points"
check wait_for 60 ge "SELECT count(*) FROM runs WHERE job = 'pushjob' AND state = 'succeeded' AND n_anomalies > 0" 3
expect_eq "$(q "SELECT count(*) FROM runs WHERE job = 'pushjob' AND state = 'failed'")" 0 "no run failed"

# a new version, while the nodes run
expect_exit 0 "version 2 is pushed" -- $VIGIL detectors push --store "$STORE" --name above "$TMP/above-v2"
expect_grep "$TMP/out" "pushed 'above' version 2" "as version 2"
pushed_at=$(q "SELECT pushed_at FROM detector_versions WHERE name = 'above' AND version = 2")
desc="every node materialises version 2 without a restart, and reports it"
check wait_for 60 eq "SELECT count(*) FROM detector_nodes WHERE name = 'above' AND version = 2" 3
desc="runs started after it use version 2 (which flags nothing here)"
check wait_for 60 ge "SELECT count(*) FROM runs WHERE job = 'pushjob' AND state = 'succeeded' AND n_anomalies = 0 AND started_at > $pushed_at" 2
expect_eq "$(q "SELECT count(*) FROM runs WHERE job = 'pushjob' AND state = 'failed'")" 0 "no run failed across the change"

expect_exit 0 "vigil detectors shows the version per node" -- $VIGIL detectors --store "$STORE"
expect_grep "$TMP/out" "above version 2 (pushed)" "the latest version"
for n in 1 2 3; do
	if grep -Eq "node node$n +version 2, seen" "$TMP/out"; then ok "node$n runs version 2"; else not_ok "node$n runs version 2"; sed 's/^/#   /' "$TMP/out"; fi
done
expect_exit 0 "--json" -- $VIGIL detectors --store "$STORE" --json
expect_eq "$("$PY" -c 'import json, sys; d = json.load(open(sys.argv[1]))["pushed"][0]
print(d["version"], d["versions"], " ".join("%s=%d" % (n["node"], n["version"]) for n in d["nodes"]))' "$TMP/out")" \
	"2 2 node1=2 node2=2 node3=2" "--json: versions and each node's"
cat "$TMP"/node*.err >"$TMP/all.err"
expect_no_grep "$TMP/all.err" "postgres@" "no node logs the connection string"
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

#!/bin/sh
# pg.sh - the PostgreSQL store's figures (docs/benchmarks.md, docs/scale-out.md):
# claims + fenced completions per second with 1 and 3 nodes racing for the
# same runs (SQLite beside them for comparison), and the failover time after
# kill -9 of a `vigil serve` node holding a run, over FAILOVERS kills.
# A throwaway PostgreSQL on 127.0.0.1 (tests/servers.sh), stopped on exit.
# Usage: bench/pg.sh [BUILD_DIR]   Environment: CLAIM_RUNS, REPS, LEASE, FAILOVERS.
set -eu
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "${1:-$top_srcdir/build-release}" && pwd)
export top_srcdir top_builddir
[ -d "$top_builddir" ] || "$top_srcdir/scripts/build.sh" "$top_builddir"
make -s -C "$top_builddir" bench/bench-claims vigil
set +e
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
start_postgres
PSQL="$PGBIN/psql -X -q -At -h 127.0.0.1 -p $PG_PORT -U postgres"
RUNS=${CLAIM_RUNS:-2000} REPS=${REPS:-3}
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, PostgreSQL $($PSQL -c 'SHOW server_version' postgres) (fsync off), $("$top_builddir/vigil" --version)"
for n in 1 3; do
	$PSQL -c "CREATE DATABASE b$n" postgres
	"$top_builddir/bench/bench-claims" "postgresql://postgres@127.0.0.1:$PG_PORT/b$n" "$n" "$RUNS" "$REPS" |
		sed 's/^/postgresql: /'
	"$top_builddir/bench/bench-claims" "$TMP/sqlite$n.db" "$n" "$RUNS" "$REPS" | sed 's/^/sqlite: /'
done

# failover: three nodes, a slow job triggered on node 1, kill -9 of node 1 once it runs
LEASE=${LEASE:-4s} FAILOVERS=${FAILOVERS:-5}
$PSQL -c "CREATE DATABASE fo" postgres
D=$TMP/specs P=$TMP/plugins
export VIGIL_SOURCE_ROOTS="$TMP"   # the data sits beside the specs directory
mkdir -p "$D" "$P"
make -s -C "$top_builddir" tests/plugins/test-slow.la >/dev/null 2>&1
ln -s "$top_builddir/tests/plugins/.libs/test-slow.so" "$P/test-slow.so"
echo "timestamp,v" >"$TMP/data.csv"
now=$(date +%s)
for i in $(seq 0 59); do echo "$((now - 60 * i)),1" >>"$TMP/data.csv"; done
export VIGIL_PLUGIN_PATH="$top_builddir/detectors/.libs" VIGIL_PLUGIN_HOST="$top_builddir/vigil-plugin-host"
export FO="postgresql://postgres@127.0.0.1:$PG_PORT/fo"
start() {
	mkdir -p "$TMP/s$1"
	rm -f "$TMP/s$1/serve.json"
	"$top_builddir/vigil" serve --specs "$D" --state "$TMP/s$1" --store '${env:FO}' --node "n$1" --listen 127.0.0.1:0 \
		--plugin-dir "$P" --lease "$LEASE" --grace 1s 2>>"$TMP/n$1.err" &
	eval "PID$1=\$!"
	SERVER_PIDS="$SERVER_PIDS $!"
	while [ ! -s "$TMP/s$1/serve.json" ]; do sleep 0.1; done
}
q() { $PSQL -c "$1" fo; }
for k in $(seq 1 "$FAILOVERS"); do
	cat >"$D/slow$k.json" <<JSON
{"name": "slow$k", "source": {"type": "csv", "path": "$TMP/data.csv"}, "schedule": "@yearly",
 "detectors": [{"detector": "test-slow", "params": {"ms": 20000}}]}
JSON
done
start 1; start 2; start 3
for k in $(seq 1 "$FAILOVERS"); do
	url=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$TMP/s1/serve.json")
	curl -s -o /dev/null -X POST "$url/api/jobs/slow$k/run"
	while [ "$(q "SELECT count(*) FROM runs WHERE job = 'slow$k' AND state = 'running'")" != 1 ]; do sleep 0.05; done
	sleep 1
	kill -9 "$PID1"
	t0=$(date +%s%3N)
	last=$(q "SELECT lease_until - $(echo "$LEASE" | sed 's/s$//')000 FROM runs WHERE job = 'slow$k'")
	while [ "$(q "SELECT count(*) FROM runs WHERE job = 'slow$k' AND attempts = 2")" != 1 ]; do sleep 0.02; done
	t1=$(date +%s%3N)
	echo "failover $k: re-claimed $((t1 - t0)) ms after kill -9 ($(( t1 - last )) ms after the last heartbeat; lease $LEASE)"
	start 1
done
for n in 1 2 3; do eval "kill -TERM \$PID$n"; done
wait 2>/dev/null

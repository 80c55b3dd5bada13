#!/bin/sh
# dispatch-lag.sh - dispatch lag of a large job set on a cluster (docs/benchmarks.md):
# JOBS jobs (default 10 000), each on "* * * * *" (one run a minute), over three
# `vigil serve` nodes sharing a throwaway PostgreSQL on 127.0.0.1.  After the
# nodes are up it lets MINUTES whole minutes (default 3) fire, then reports the
# lag of each run (its claim time minus its scheduled time, both the store's
# clock) as p50 / p90 / p99 / max, how many of the JOBS x MINUTES fire times got
# a run, and which node took them.  A benchmark, not a test: it prints figures.
# It also prints the CPU time per run of the three nodes with their workers and
# of PostgreSQL (all its processes), over the whole bench.
# Usage: bench/dispatch-lag.sh [BUILD_DIR]   Environment: JOBS, MINUTES, CONCURRENCY (per node),
# WORKER_RUNS (--worker-runs of the nodes; unset: vigil's default).
set -eu
top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
top_builddir=$(cd "${1:-$top_srcdir/build-release}" && pwd)
export top_srcdir top_builddir
[ -d "$top_builddir" ] || "$top_srcdir/scripts/build.sh" "$top_builddir"
make -s -C "$top_builddir" vigil
set +e
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
JOBS=${JOBS:-10000} MINUTES=${MINUTES:-3} CONC=${CONCURRENCY:-32}
start_postgres
PSQL="$PGBIN/psql -X -q -At -h 127.0.0.1 -p $PG_PORT -U postgres"
# a worker process per run, each with its own connection: room for 3 x CONCURRENCY of them
$PSQL -c "ALTER SYSTEM SET max_connections = $((3 * CONC + 60))" postgres
$AS "$PGBIN/pg_ctl" -D "$PG_DATA" -w -t 30 restart >>"$TMP/pg/pg_ctl.log" 2>&1 || server_fail "PostgreSQL did not restart" "$TMP/pg/pg_ctl.log"
$PSQL -c "CREATE DATABASE lag" postgres
q() { $PSQL -c "$1" lag; }
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL" \
	"$($PSQL -c 'SHOW server_version' postgres) (fsync off), $("$top_builddir/vigil" --version), $top_builddir"

D=$TMP/specs
mkdir -p "$D"
export VIGIL_SOURCE_ROOTS="$TMP" VIGIL_PLUGIN_PATH="$top_builddir/detectors/.libs"
now=$(date +%s)
awk -v t0=$((now - 3600)) 'BEGIN { print "timestamp,v"; for (i = 0; i < 60; i++) printf "%d,%d\n", t0 + 60 * i, i % 7 }' \
	>"$TMP/data.csv"
awk -v n="$JOBS" -v d="$D" -v data="$TMP/data.csv" 'BEGIN { for (i = 0; i < n; i++) {
	f = sprintf("%s/j%05d.json", d, i)
	printf "{\"name\": \"j%05d\", \"source\": {\"type\": \"csv\", \"path\": \"%s\"}, \"window\": \"2h\",\n" \
		" \"schedule\": {\"cron\": \"* * * * *\", \"misfire\": \"run_once\"},\n" \
		" \"detectors\": [{\"detector\": \"threshold\", \"params\": {\"upper\": 100}}]}\n", i, data > f
	close(f) } }'
export LAG="postgresql://postgres@127.0.0.1:$PG_PORT/lag"
# CPU seconds of PostgreSQL: the postmaster and its exited backends (utime stime cutime cstime)
pg_cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$(head -1 "$PG_DATA/postmaster.pid")/stat"; }
# CPU seconds of this shell's children that exited (the nodes, their workers, psql): `times` must run in
# this shell, not in a $(...) subshell
children_cpu() { times >"$TMP/times"; awk 'NR == 2 { gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4 }' "$TMP/times"; }
pg0=$(pg_cpu)
children_cpu >"$TMP/cpu0"
WR=""
[ -z "${WORKER_RUNS:-}" ] || WR="--worker-runs $WORKER_RUNS"
PIDS=""
for n in 1 2 3; do
	mkdir -p "$TMP/s$n"
	VIGIL_LOG_LEVEL=warn "$top_builddir/vigil" serve --specs "$D" --state "$TMP/s$n" --store '${env:LAG}' --node "n$n" \
		--listen 127.0.0.1:0 --concurrency "$CONC" --grace 1s --no-watch --rescan 1h $WR >/dev/null 2>>"$TMP/n$n.err" &
	PIDS="$PIDS $!"
	SERVER_PIDS="$SERVER_PIDS $!"
done
t0=$(date +%s)
for n in 1 2 3; do
	while [ ! -s "$TMP/s$n/serve.json" ]; do
		sleep 0.5
		[ $(($(date +%s) - t0)) -lt 600 ] || { echo "node $n did not start"; tail -5 "$TMP/n$n.err"; exit 1; }
	done
done
echo "three nodes up with $JOBS jobs in $(($(date +%s) - t0)) s; concurrency $CONC per node${WR:+, $WR}"
# the first whole minute that starts at least 5 s from now, by the store's clock
m0=$(q "SELECT ((floor(extract(epoch FROM now())) + 5) / 60 + 1)::bigint * 60000")
m1=$((m0 + MINUTES * 60000))
while [ "$(q "SELECT (extract(epoch FROM now()) * 1000)::bigint >= $m1 + 60000")" != t ]; do sleep 5; done
for p in $PIDS; do kill -TERM "$p"; done
for p in $PIDS; do wait "$p" 2>/dev/null; done
pg1=$(pg_cpu)
children_cpu >"$TMP/cpu1"
ch0=$(cat "$TMP/cpu0") ch1=$(cat "$TMP/cpu1")
W="trigger_kind = 'schedule' AND scheduled_for >= $m0 AND scheduled_for < $m1"
echo "fire times $MINUTES min x $JOBS jobs = $((MINUTES * JOBS)); runs claimed: $(q "SELECT count(*) FROM runs WHERE $W AND started_at IS NOT NULL")," \
	"of which succeeded: $(q "SELECT count(*) FROM runs WHERE $W AND state = 'succeeded'")," \
	"catch-up runs after the window: $(q "SELECT count(*) FROM runs WHERE trigger_kind = 'catchup' AND scheduled_for >= $m0")"
echo "dispatch lag (claim - scheduled time, ms): $(q "SELECT 'p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)) ||
	'  p90 ' || round(percentile_cont(0.9) WITHIN GROUP (ORDER BY l)) || '  p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)) ||
	'  max ' || max(l) FROM (SELECT started_at - scheduled_for AS l FROM runs WHERE $W AND started_at IS NOT NULL) x")"
echo "per minute (p50 / p99 ms): $(q "SELECT string_agg(m || ': ' || p50 || ' / ' || p99, '  ' ORDER BY m) FROM (SELECT (scheduled_for - $m0) / 60000 AS m,
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY started_at - scheduled_for)) p50,
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY started_at - scheduled_for)) p99 FROM runs WHERE $W AND started_at IS NOT NULL GROUP BY 1) x")"
echo "run duration (finished - claim, ms): $(q "SELECT 'p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY d)) ||
	'  p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY d)) FROM (SELECT finished_at - started_at AS d FROM runs
	WHERE $W AND finished_at IS NOT NULL) x"); claimed per second: $(q "SELECT round(count(*) / greatest(1, (max(started_at) - min(started_at)) / 1000.0), 1)
	FROM runs WHERE $W AND started_at IS NOT NULL")"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg); CPU per run over the bench ($(q "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL") runs):" \
	"$(q "SELECT round(1000 * ($ch1 - $ch0) / greatest(1, count(*))) FROM runs WHERE finished_at IS NOT NULL") ms in vigil (nodes + workers)," \
	"$(q "SELECT round(1000 * ($pg1 - $pg0) / greatest(1, count(*))) FROM runs WHERE finished_at IS NOT NULL") ms in PostgreSQL"
echo "runs per node: $(q "SELECT string_agg(locked_by || '=' || c, ' ' ORDER BY locked_by) FROM (SELECT locked_by, count(*) c FROM runs WHERE $W GROUP BY 1) x")"
grep -h -m3 -i "error" "$TMP"/n*.err | sed 's/^/# /'
exit 0

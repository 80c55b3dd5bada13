#!/bin/sh
# run-pool.sh - `vigil serve` reuses its run workers (docs/daemon.md): with
# --worker-runs 3 one worker process runs three runs, then a new one takes
# over; nothing of a run leaks into the next one in the same worker (its
# exec detectors' environment and ${file:} secrets are its own, read anew);
# a plugin replaced on disk is used by the next run of a reused worker; a
# worker killed by a crashing plugin takes down only its run and the next
# run gets a new worker; and a worker whose exec fails (the binary deleted)
# fails its run with that reason while the daemon goes on.
. "$top_srcdir/tests/lib.sh"
export VIGIL_LOG_LEVEL=info
# plugins run inside the run worker: a replaced file and a crash reach it directly
export VIGIL_ISOLATION=in-process
[ "$(id -u)" = 0 ] && export VIGIL_EXEC_ALLOW_ROOT=1
command -v curl >/dev/null 2>&1 || { not_ok "curl is required (scripts/setup.sh --test installs it)"; finish; }
command -v sqlite3 >/dev/null 2>&1 || { not_ok "sqlite3 is required (scripts/setup.sh --test installs it)"; finish; }
CC=${CC:-cc}

D=$TMP/specs S=$TMP/state P=$TMP/plugins X=$TMP/det
export VIGIL_SOURCE_ROOTS="$TMP"
mkdir -p "$D" "$S" "$P" "$X"
chmod 755 "$P" "$X"
now=$(date +%s)
awk -v t0=$((now - 3600)) 'BEGIN { print "timestamp,b"; for (i = 0; i < 60; i++) printf "%d,%d\n", t0 + 60 * i, 10 + i % 7 }' \
	> "$TMP/data.csv"

# an external detector that records, when its worker starts, the job and the secret it was given
cp "$top_srcdir/tests/exec/good.sh" "$X/good.sh"
cat > "$X/tagger.sh" <<'SH'
#!/bin/sh
printf '%s %s\n' "$VIGIL_JOB" "$TAG" >> "$SEEN"
exec "$(dirname "$0")/good.sh"
SH
chmod 755 "$X/good.sh" "$X/tagger.sh"
printf 'alpha-1\n' > "$TMP/alpha.secret"
printf 'beta-1\n' > "$TMP/beta.secret"
chmod 600 "$TMP/alpha.secret" "$TMP/beta.secret"
tagged() {   # tagged NAME: a job run on demand whose exec detector gets ${file:NAME.secret}
	cat > "$D/$1.json" <<JSON
{"name": "$1", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "2h",
 "detectors": [{"detector": "magic", "exec": {"path": "$X/tagger.sh",
                "env": {"TAG": "\${file:$TMP/$1.secret}", "SEEN": "$TMP/seen"}}}],
 "schedule": {"cron": "0 0 1 1 *"}}
JSON
}
tagged alpha
tagged beta

# a plugin built here in two versions: "hot" flags values above LEVEL, baked in
cat > "$TMP/hot.c" <<'C'
#include <vigil/detector.h>
static const struct vigil_host *host;
static void *mk(const struct vigil_params *p, struct vigil_diag *d) { static const int x; (void)p; (void)d; return (void *)&x; }
static int detect(const void *st, const struct vigil_series *s, struct vigil_result *r, struct vigil_diag *d)
{
	(void)st; (void)d;
	for (size_t i = 0; i < s->n; i++)
		if (s->values[i] > LEVEL) {
			r->anomaly[i] = 1;
			r->score[i] = 1;
			host->set_reason(r, i, "above %d", LEVEL);
		}
	return 0;
}
static const struct vigil_detector hot = { VIGIL_DETECTOR_HEADER, .name = "hot", .version = "1",
	.summary = "flags values above a constant", .params_schema = "{}", .create = mk, .detect = detect };
static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx) { host = h; return h->register_detector(ctx, &hot); }
VIGIL_PLUGIN_DEFINE("hot", "1", init, NULL);
C
build_hot() {   # build_hot LEVEL OUT
	$CC -shared -fPIC -O1 -I"$top_srcdir/include" -DLEVEL="$1" -o "$2" "$TMP/hot.c" 2>>"$TMP/cc.err"
}
if ! build_hot 1000 "$TMP/hot-quiet.so" || ! build_hot 0 "$TMP/hot-loud.so"; then
	not_ok "cannot build the test plugin with $CC"; sed 's/^/#   /' "$TMP/cc.err"; finish
fi
chmod 755 "$TMP/hot-quiet.so" "$TMP/hot-loud.so"
cp "$TMP/hot-quiet.so" "$P/hot.so"
cat > "$D/hot.json" <<JSON
{"name": "hot", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "2h",
 "detectors": [{"detector": "hot"}], "schedule": {"cron": "0 0 1 1 *"}}
JSON
ln -s "$VIGIL_TEST_PLUGINS/crash.so" "$P/crash.so"
cat > "$D/crash.json" <<JSON
{"name": "crash", "source": {"type": "csv", "path": "$TMP/data.csv"}, "window": "2h",
 "detectors": [{"detector": "crash-abort"}], "schedule": {"cron": "0 0 1 1 *"}}
JSON

DB=$S/vigil.db
q() { sqlite3 -cmd ".timeout 5000" "$DB" "$1" 2>>"$TMP/sqlite.err"; }
ended() { [ "$(q "SELECT count(*) FROM runs WHERE job = '$1' AND state IN ('succeeded', 'failed')")" -ge "$2" ]; }
# start_daemon VIGIL_BINARY OPTIONS...: one worker at a time, so consecutive runs share it
start_daemon() {
	sd_bin=$1
	shift
	serve_start "$sd_bin" --grace 1s --concurrency 1 "$@"
}
stop_daemon() { serve_stop; }
# run JOB: trigger a run and wait until it ended; prints "PID K", the worker and which of its runs it was
run() {
	before=$(q "SELECT count(*) FROM runs WHERE job = '$1' AND state IN ('succeeded', 'failed')")
	curl -s -o /dev/null -X POST "$URL/api/jobs/$1/run"
	if ! wait_for 60 ended "$1" $((before + 1)); then
		echo "timeout"
		return
	fi
	id=$(q "SELECT max(id) FROM runs WHERE job = '$1'")
	sed -n "s/.*job '$1': run $id for .* started (.*, worker \([0-9]*\), its run \([0-9]*\)).*/\1 \2/p" \
		"$TMP/daemon.err" | tail -1
}
state() { q "SELECT state || ' ' || n_anomalies FROM runs WHERE job = '$1' ORDER BY id DESC LIMIT 1"; }

# --- reuse, and nothing leaks between the runs of one worker -------------------
start_daemon "$VIGIL" --worker-runs 3
r1=$(run alpha) r2=$(run beta)
printf 'alpha-2\n' > "$TMP/alpha.secret"
r3=$(run alpha) r4=$(run beta)
p1=${r1% *}
expect_eq "$r1" "$p1 1" "the first run starts a worker"
expect_eq "$r2" "$p1 2" "the next run, of another job, goes to the same worker"
expect_eq "$r3" "$p1 3" "and the third"
p4=${r4% *}
[ -n "$p4" ] && [ "$p4" != "$p1" ] && expect_eq "$r4" "$p4 1" "after --worker-runs 3 runs a new worker takes over" ||
	not_ok "after 3 runs a new worker takes over (got '$r4' after '$r3')"
expect_eq "$(q "SELECT group_concat(state, ' ') FROM (SELECT state FROM runs ORDER BY id)")" \
	"succeeded succeeded succeeded succeeded" "all four runs succeeded"
# (lines with no job are the describe calls of validation)
expect_eq "$(grep -v '^ ' "$TMP/seen" | tr '\n' ' ')" "alpha alpha-1 beta beta-1 alpha alpha-2 beta beta-1 " \
	"each run's detector got its own job's environment and secret, read anew for each run"
expect_no_grep "$TMP/daemon.err" "alpha-1\|alpha-2\|beta-1" "the secrets are not logged"

# --- a plugin replaced on disk: the next run of the reused worker uses it ------------------
h1=$(run hot)
expect_eq "$(state hot)" "succeeded 0" "the plugin's first version flags nothing"
cp "$TMP/hot-loud.so" "$P/.hot.so.tmp"
mv -f "$P/.hot.so.tmp" "$P/hot.so"
h2=$(run hot)
expect_eq "$h2" "${h1% *} $((${h1#* } + 1))" "the next run goes to the same worker (pid, its next run)"
expect_eq "$(state hot)" "succeeded 60" "and uses the replaced plugin: it flags every point"
expect_grep "$TMP/daemon.err" "a plugin file changed since this worker loaded its plugins: starting afresh" \
	"the worker says why it started afresh"

# --- a crashing plugin takes down its run's worker only ------------------------------------
c1=$(run crash)
expect_eq "$(q "SELECT state FROM runs WHERE job = 'crash'")" failed "a run whose plugin aborts the worker fails"
expect_eq "$(q "SELECT error FROM runs WHERE job = 'crash'")" "the worker was killed by signal 6" "with the reason recorded"
r5=$(run alpha)
[ -n "${r5% *}" ] && [ "${r5% *}" != "${c1% *}" ] && expect_eq "${r5#* }" 1 "the next run gets a new worker" ||
	not_ok "the next run gets a new worker (got '$r5' after '$c1')"
expect_eq "$(state alpha)" "succeeded 0" "and succeeds"
stop_daemon
expect_eq "$DRC" 0 "the daemon stops cleanly, idle workers with it"
sleep 0.5
for p in $p1 $p4 ${r5% *}; do
	kill -0 "$p" 2>/dev/null && not_ok "worker $p outlived the daemon" || ok "worker $p ended with the daemon"
done

# --- a worker whose exec fails: its run fails with the reason, the daemon goes on ----------
mkdir -p "$TMP/bin"
cp "$top_builddir/vigil" "$TMP/bin/vigil"
start_daemon "$TMP/bin/vigil" --worker-runs 1
run beta >/dev/null
expect_eq "$(state beta)" "succeeded 0" "a daemon started from a copy of vigil runs a job"
rm "$TMP/bin/vigil"
run beta >/dev/null
expect_eq "$(q "SELECT state || ': ' || error FROM runs WHERE job = 'beta' ORDER BY id DESC LIMIT 1")" \
	"failed: cannot run '$TMP/bin/vigil': No such file or directory" \
	"the binary gone, the next run fails with the exec's reason"
desc="the daemon goes on: its API answers"
curl -s --max-time 5 "$URL/api/jobs" | grep -q '"name":"beta"' && ok "$desc" || not_ok "$desc"
stop_daemon
expect_eq "$DRC" 0 "and it stops cleanly"
expect_no_grep "$TMP/daemon.err" "Sanitizer" "no sanitizer report from the daemon or its workers"
expect_no_grep "$TMP/daemon.err" "runtime error" "no UBSan report"
finish

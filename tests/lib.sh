# lib.sh - helpers for the whole-program shell tests.  Source it.
set -u
: "${top_srcdir:?run through make check}" "${top_builddir:?run through make check}"
VIGIL="${VALGRIND:-} $top_builddir/vigil"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vigil-sh.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
failures=0
tests=0

ok() { tests=$((tests + 1)); echo "ok $tests - $1"; }
not_ok() { tests=$((tests + 1)); failures=$((failures + 1)); echo "not ok $tests - $1"; }

# expect_exit CODE DESCRIPTION -- CMD...: run CMD (stdout in $TMP/out, stderr in $TMP/err), check its exit code.
expect_exit() {
	want=$1 desc=$2
	shift 3
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc (exit $got)"
	else
		not_ok "$desc: exit $got, expected $want"
		sed 's/^/#   out: /' "$TMP/out" | head -20
		sed 's/^/#   err: /' "$TMP/err" | head -20
	fi
}

# expect_grep FILE PATTERN DESCRIPTION: FILE contains the fixed string PATTERN.
expect_grep() {
	if grep -qF -- "$2" "$1"; then ok "$3"; else not_ok "$3: '$2' not in $1"; sed 's/^/#   /' "$1" | head -20; fi
}

expect_no_grep() {
	if grep -qF -- "$2" "$1"; then not_ok "$3: '$2' found in $1"; sed 's/^/#   /' "$1" | head -20; else ok "$3"; fi
}

expect_eq() {
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3: got '$1', expected '$2'"; fi
}

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 when SECONDS passed first.
wait_for() {
	wf_left=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		wf_left=$((wf_left - 1))
		[ $wf_left -gt 0 ] || return 1
		sleep 0.1
	done
}

# serve_start VIGIL_BINARY OPTIONS...: `vigil serve --dry-run` on the specs in $D, the state in $S and the plugins
# in $P (when set), on a free loopback port, with OPTIONS; sets DPID and URL, or fails the test if it does not
# start.  VIGIL_BINARY is split into words, so it may carry a wrapper (env, valgrind).
serve_start() {
	ss_bin=$1
	shift
	rm -f "$S/serve.json"
	$ss_bin serve --specs "$D" --state "$S" --listen 127.0.0.1:0 ${P:+--plugin-dir "$P"} --dry-run "$@" \
		>>"$TMP/daemon.out" 2>>"$TMP/daemon.err" &
	DPID=$!
	if ! wait_for 60 test -s "$S/serve.json"; then
		not_ok "the daemon did not start"
		sed 's/^/#   /' "$TMP/daemon.err" | tail -20
		kill "$DPID" 2>/dev/null
		finish
	fi
	URL=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$S/serve.json")
}

# serve_stop: SIGTERM to the daemon serve_start started; its exit status in DRC.
serve_stop() {
	kill -TERM "$DPID"
	wait "$DPID"
	DRC=$?
}

finish() {
	echo "1..$tests"
	[ "$failures" -eq 0 ] || { echo "# $failures of $tests failed"; exit 1; }
	exit 0
}

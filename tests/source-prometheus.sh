#!/bin/sh
# source-prometheus.sh - the prometheus source against a real Prometheus
# whose history is loaded with promtool: a range that needs several chunks
# under the 11 000-points-per-series limit arrives whole (no duplicate, no
# missing point at the seams), a query returning 2 000 series, NaN and +Inf,
# gaps, the job's window, errors from the server and from a bad proxy.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning

# History: T0 = 2026-11-18T11:00:00Z.
#   cpu{instance="web-K"}  3 series x 30 000 samples, one a minute: value K*1000 + i/2;
#                          sample 20000 of web-1 is NaN, sample 20001 is +Inf
#   wide{id="N"}           2 000 series x 10 samples
#   gappy                  samples 0-9 and 30-39 (a 20-minute hole)
T0=1794999600
N=30000
"$PY" - "$TMP/history.om" $T0 $N <<'EOF'
import sys
path, t0, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    f.write("# TYPE cpu gauge\n")
    for k in range(3):
        for i in range(n):
            v = repr(k * 1000 + i / 2)
            if k == 1 and i == 20000: v = "NaN"
            if k == 1 and i == 20001: v = "+Inf"
            f.write('cpu{instance="web-%d",job="node"} %s %d\n' % (k, v, t0 + 60 * i))
    f.write("# TYPE wide gauge\n")
    for k in range(2000):
        for i in range(10):
            f.write('wide{id="%04d"} %d %d\n' % (k, k + i, t0 + 60 * i))
    f.write("# TYPE gappy gauge\n")
    for i in list(range(10)) + list(range(30, 40)):
        f.write("gappy %d %d\n" % (i, t0 + 60 * i))
    f.write("# EOF\n")
EOF
start_prometheus "$TMP/history.om"
URL="http://127.0.0.1:$PROM_PORT"
iso() { "$PY" -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$1"; }
START=$(iso $T0)
END=$(iso $((T0 + 60 * (N - 1))))

# job NAME SOURCE_JSON [WINDOW]
job() {
	w=""
	[ -n "${3:-}" ] && w="\"window\": \"$3\","
	cat >"$TMP/$1.json" <<EOF
{"version": 1, "name": "$1", $w "source": $2,
 "detectors": [{"detector": "threshold", "params": {"upper": 1e300}}]}
EOF
}

# --- a range of 30 000 steps: three chunks, stitched ---------------------
job long "{\"type\": \"prometheus\", \"url\": \"$URL/\", \"query\": \"cpu\", \"step\": \"1m\", \"range\": {\"start\": \"$START\", \"end\": \"$END\"}}"
expect_exit 0 "validate a prometheus source" -- $VIGIL validate "$TMP/long.json"
expect_exit 0 "fetch 3 x 30 000 points" -- env VIGIL_LOG_LEVEL=debug $VIGIL export-scores --out "$TMP/long.csv" "$TMP/long.json"
expect_grep "$TMP/err" "(chunk 3 of 3): 24000 points" "three chunks of at most 11 000 steps (the last: 8 000 per series x 3)"
expect_grep "$TMP/err" "(chunk 1 of 3): 33000 points" "the first: 11 000 x 3"
for k in 0 1 2; do
	expect_eq "$(grep -c "^\"cpu{instance=\"\"web-$k\"\",job=\"\"node\"\"}\"," "$TMP/long.csv")" $N "web-$k: every one of the $N points"
done
expect_eq "$(cut -d, -f1-3 "$TMP/long.csv" | sort -u | wc -l)" $((3 * N + 1)) "no duplicate timestamp"
# the seams between chunks: steps 10999/11000 and 21999/22000
expect_grep "$TMP/long.csv" "web-0\"\",job=\"\"node\"\"}\",$(iso $((T0 + 60 * 10999))),5499.5," "the last point of chunk 1"
expect_grep "$TMP/long.csv" "web-0\"\",job=\"\"node\"\"}\",$(iso $((T0 + 60 * 11000))),5500," "the first point of chunk 2"
expect_grep "$TMP/long.csv" "web-2\"\",job=\"\"node\"\"}\",$(iso $((T0 + 60 * 21999))),12999.5," "the last point of chunk 2"
expect_grep "$TMP/long.csv" "web-2\"\",job=\"\"node\"\"}\",$(iso $((T0 + 60 * 22000))),13000," "the first point of chunk 3"
expect_grep "$TMP/long.csv" "web-2\"\",job=\"\"node\"\"}\",$END,16999.5," "the very last point"
expect_grep "$TMP/long.csv" "web-1\"\",job=\"\"node\"\"}\",$(iso $((T0 + 60 * 20000))),,0,0" "\"NaN\" is a missing value"
expect_grep "$TMP/long.csv" "web-1\"\",job=\"\"node\"\"}\",$(iso $((T0 + 60 * 20001))),inf," "\"+Inf\" is infinite"

expect_exit 0 "run --json over the long range" -- $VIGIL run --no-store --json "$TMP/long.json"
expect_grep "$TMP/out" '"points": 90000' "90 000 points counted"

# --- many series -----------------------------------------------------------
job wide "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"wide\", \"step\": \"1m\", \"range\": {\"start\": \"$START\", \"end\": \"$(iso $((T0 + 540)))\"}}"
expect_exit 0 "a query returning 2 000 series" -- $VIGIL run --no-store --json "$TMP/wide.json"
expect_grep "$TMP/out" '"series": 2000' "each labelled series is its own"
expect_grep "$TMP/out" '"points": 20000' "with all its points"
expect_exit 0 "export the 2 000 series" -- $VIGIL export-scores --out "$TMP/wide.csv" "$TMP/wide.json"
expect_grep "$TMP/wide.csv" "\"wide{id=\"\"1999\"\"}\",$(iso $((T0 + 540))),2008," "the last series' last point"

# --- gaps, windows, relative ranges, aggregates ---------------------------
job gappy "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"gappy\", \"step\": \"1m\", \"range\": {\"start\": \"$START\", \"end\": \"$(iso $((T0 + 60 * 39)))\"}}"
expect_exit 0 "a series with a 20-minute hole" -- $VIGIL export-scores --out "$TMP/gappy.csv" "$TMP/gappy.json"
# samples 0-9 and 30-39, plus the 5-minute lookback repeating sample 9 into steps 10-14
expect_eq "$(grep -c '^gappy,' "$TMP/gappy.csv")" 25 "the hole stays a hole (beyond the 5-minute lookback)"

job win "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"cpu{instance='web-0'}\", \"step\": \"1m\"}" 1h
expect_exit 0 "the job's window as the range" -- $VIGIL export-scores --at "$(iso $((T0 + 7200)))" --out - "$TMP/win.json"
expect_eq "$(grep -c '^"cpu' "$TMP/out")" 61 "61 steps in a 1-hour window (both ends)"
expect_grep "$TMP/out" "$(iso $((T0 + 3600))),30," "the window starts at --at - 1h"

job rel "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"sum(cpu)\", \"step\": \"5m\", \"range\": \"1d\"}"
expect_exit 0 "a relative range and an aggregate" -- $VIGIL export-scores --at "$(iso $((T0 + 86400 * 2)))" --out - "$TMP/rel.json"
expect_eq "$(grep -c '^sum(cpu),' "$TMP/out")" 289 "named by the expression; 289 five-minute steps in a day"

job nowin "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"cpu\"}"
expect_exit 1 "no window and no range" -- $VIGIL run --no-store "$TMP/nowin.json"
expect_grep "$TMP/err" "no time range: give the job a \"window\" or the source a \"range\"" "asks for one"

job none "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"no_such_metric\", \"range\": \"1h\"}"
expect_exit 0 "a query that matches nothing" -- $VIGIL run --no-store --json --at "$END" "$TMP/none.json"
expect_grep "$TMP/out" '"outcome": "no_data"' "is no data"

# --- errors ------------------------------------------------------------------
job bad "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"rate(cpu[5m]\", \"range\": \"1h\"}"
expect_exit 1 "a PromQL syntax error" -- $VIGIL run --no-store --at "$END" "$TMP/bad.json"
expect_grep "$TMP/err" "source: prometheus $URL: HTTP 400 bad_data: 1:13: parse error" "the server's message, source and URL"
job neg "{\"type\": \"prometheus\", \"url\": \"$URL\", \"query\": \"cpu[5m]\", \"range\": \"1h\"}"
expect_exit 1 "a range vector in a range query" -- $VIGIL run --no-store --at "$END" "$TMP/neg.json"
expect_grep "$TMP/err" "HTTP 400 bad_data: invalid expression type \"range vector\"" "explained"

start_fixture
for case in "html:expected JSON, got an HTML/XML page" "always500:HTTP 503: '<html>" "truncated:(truncated?)" "garbage:expected JSON, got 24 bytes of something else"; do
	path=${case%%:*}
	job "fx$path" "{\"type\": \"prometheus\", \"url\": \"http://127.0.0.1:$FIX_PORT/$path\", \"query\": \"up\", \"range\": \"1h\", \"retries\": 1, \"retry_backoff\": \"10ms\"}"
	expect_exit 1 "a proxy answering $path" -- $VIGIL run --no-store "$TMP/fx$path.json"
	expect_grep "$TMP/err" "${case#*:}" "$path is reported as such"
done
port=$(free_port)
job down "{\"type\": \"prometheus\", \"url\": \"http://127.0.0.1:$port\", \"query\": \"up\", \"range\": \"1h\", \"retries\": 0}"
expect_exit 1 "prometheus is down" -- $VIGIL run --no-store "$TMP/down.json"
expect_grep "$TMP/err" "prometheus http://127.0.0.1:$port: Failed to connect" "refusal reported"

job spec "{\"type\": \"prometheus\", \"url\": \"$URL\", \"range\": {\"start\": \"soon\"}, \"step\": 60, \"max_points_per_query\": 20000}"
expect_exit 2 "a prometheus source full of mistakes" -- $VIGIL validate "$TMP/spec.json"
expect_grep "$TMP/err" '$.source.query: is required' "query required"
expect_grep "$TMP/err" '$.source.range.start: must be a timestamp' "range start"
expect_grep "$TMP/err" '$.source.step: must be a duration' "step"
expect_grep "$TMP/err" '$.source.max_points_per_query: must be an integer in [2, 11000]' "the server's limit"
finish

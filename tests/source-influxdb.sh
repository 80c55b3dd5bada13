#!/bin/sh
# source-influxdb.sh - the influxdb source against a real InfluxDB 1.x:
# chunked answers stitched, the window bound as $from/$to, null buckets,
# several fields, many tagged series, and the errors InfluxDB hides in
# HTTP 200 answers.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning
start_influxdb
URL="http://127.0.0.1:$INFLUX_PORT"

# T0 = 2026-11-21T22:20:00Z.  cpu,host=web-K usage=K*1000+i, one a minute for 2 000 minutes,
# with no points of web-2 in minutes 100-109; mem used/free; svc with a string field;
# wide,id=N (500 series x 5 points).
T0=1795299600
"$PY" - "$TMP/lines.txt" $T0 <<'EOF'
import sys
path, t0 = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for k in range(3):
        for i in range(2000):
            if k == 2 and 100 <= i < 110:
                continue
            f.write("cpu,host=web-%d usage=%d %d\n" % (k, k * 1000 + i, t0 + 60 * i))
    for i in range(10):
        f.write("mem,host=db used=%d,free=%d %d\n" % (i, 100 - i, t0 + 60 * i))
        f.write('svc,name=api status="ok",latency=%d %d\n' % (i, t0 + 60 * i))
    for k in range(500):
        for i in range(5):
            f.write('wide,id=%03d v=%d %d\n' % (k, k + i, t0 + 60 * i))
EOF
curl -s -XPOST "$URL/query" --data-urlencode "q=CREATE DATABASE vigil" >/dev/null
code=$(curl -s -o "$TMP/write.out" -w '%{http_code}' -XPOST "$URL/write?db=vigil&precision=s" --data-binary @"$TMP/lines.txt")
[ "$code" = 204 ] || server_fail "could not load the test data into InfluxDB (HTTP $code)" "$TMP/write.out"
iso() { "$PY" -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$1"; }
END=$(iso $((T0 + 60 * 1999)))

# job NAME WINDOW QUERY [EXTRA_JSON]
job() {
	cat >"$TMP/$1.json" <<EOF
{"version": 1, "name": "$1", "window": "$2",
 "source": {"type": "influxdb", "url": "$URL", "database": "vigil", "query": "$3" ${4:-}},
 "detectors": [{"detector": "threshold", "params": {"upper": 1e300}}]}
EOF
}

# --- raw points, in chunks -------------------------------------------------
job raw 2d 'SELECT usage FROM cpu WHERE time >= $from AND time <= $to GROUP BY host' ', "chunk_size": 300'
expect_exit 0 "validate an influxdb source" -- $VIGIL validate "$TMP/raw.json"
expect_exit 0 "fetch 3 series in 300-row chunks" -- env VIGIL_LOG_LEVEL=debug $VIGIL export-scores --at "$END" --out "$TMP/raw.csv" "$TMP/raw.json"
expect_grep "$TMP/err" "5990 points in 3 series from" "one fetch, many documents"
docs=$(sed -n 's/.*in 3 series from \([0-9]*\) documents.*/\1/p' "$TMP/err")
[ "${docs:-0}" -ge 20 ] && ok "the answer came in $docs chunks" || not_ok "expected >= 20 chunks, got '$docs'"
expect_eq "$(grep -c '^"cpu{host=""web-0""}",' "$TMP/raw.csv")" 2000 "web-0: all 2 000 points"
expect_eq "$(grep -c '^"cpu{host=""web-2""}",' "$TMP/raw.csv")" 1990 "web-2: the 10 missing minutes stay missing"
expect_eq "$(cut -d, -f1-2 "$TMP/raw.csv" | sort -u | wc -l)" 5991 "no duplicate across chunk seams"
expect_grep "$TMP/raw.csv" "\"cpu{host=\"\"web-1\"\"}\",$END,2999," "the last point"
expect_grep "$TMP/raw.csv" "\"cpu{host=\"\"web-0\"\"}\",$(iso $((T0 + 60 * 300))),300," "a point at a chunk seam"

# --- the window is bound ----------------------------------------------------
job win 1h 'SELECT usage FROM cpu WHERE host = '"'"'web-0'"'"' AND time > $from AND time <= $to'
expect_exit 0 "a 1-hour window" -- $VIGIL export-scores --at "$(iso $((T0 + 7200)))" --out - "$TMP/win.json"
expect_eq "$(grep -c '^cpu,' "$TMP/out")" 60 "the query saw the job's window"
expect_grep "$TMP/out" "cpu,$(iso $((T0 + 3660))),61," "starting after --at - 1h"

# --- buckets, fields, many series --------------------------------------------
job buckets 1d 'SELECT mean(usage) FROM cpu WHERE host = '"'"'web-2'"'"' AND time >= $from AND time < $to GROUP BY time(5m) fill(null)'
expect_exit 0 "GROUP BY time with an empty bucket" -- $VIGIL export-scores --at "$(iso $((T0 + 60 * 150)))" --out - "$TMP/buckets.json"
expect_grep "$TMP/out" "cpu,$(iso $((T0 + 6000))),," "the empty bucket is a missing value"
expect_grep "$TMP/out" "cpu,$(iso $((T0 + 5700))),2097," "its neighbour holds the mean"
job fields 3d 'SELECT used, free FROM mem WHERE time >= $from AND time <= $to'
expect_exit 0 "two fields" -- $VIGIL export-scores --at "$END" --out - "$TMP/fields.json"
expect_eq "$(grep -c '^mem.used,' "$TMP/out")" 10 "one series per field (used)"
expect_eq "$(grep -c '^mem.free,' "$TMP/out")" 10 "one series per field (free)"
job wide 3d 'SELECT v FROM wide WHERE time >= $from AND time <= $to GROUP BY id' ', "chunk_size": 1000'
expect_exit 0 "500 tagged series" -- $VIGIL run --no-store --json --at "$END" "$TMP/wide.json"
expect_grep "$TMP/out" '"series": 500' "every tag set is a series"
expect_grep "$TMP/out" '"points": 2500' "with all its points"
job none 1d 'SELECT usage FROM cpu WHERE host = '"'"'nobody'"'"' AND time >= $from AND time <= $to'
expect_exit 0 "a query that matches nothing" -- $VIGIL run --no-store --json --at "$END" "$TMP/none.json"
expect_grep "$TMP/out" '"outcome": "no_data"' "is no data"

# --- errors -----------------------------------------------------------------
job strings 3d 'SELECT status FROM svc WHERE time >= $from AND time <= $to'
expect_exit 1 "a string field" -- $VIGIL run --no-store --at "$END" "$TMP/strings.json"
expect_grep "$TMP/err" "column 'status' holds a string, not a number" "wrong type named"
job nodb 1d 'SELECT usage FROM cpu'
sed -i 's/"database": "vigil"/"database": "nope"/' "$TMP/nodb.json"
expect_exit 1 "an unknown database (HTTP 200 with an error inside)" -- $VIGIL run --no-store --at "$END" "$TMP/nodb.json"
expect_grep "$TMP/err" "source: influxdb $URL: statement 0: database not found: nope" "reported as an error"
job syntax 1d 'SELEC usage FROM cpu'
expect_exit 1 "an InfluxQL syntax error" -- $VIGIL run --no-store --at "$END" "$TMP/syntax.json"
expect_grep "$TMP/err" "influxdb $URL: HTTP 400: error parsing query: found SELEC" "the server's message"
job twostmt 1d 'SELECT usage FROM cpu WHERE time > $from LIMIT 1; SELECT nothing FROM nowhere WHERE x ='
expect_exit 1 "a second statement that fails" -- $VIGIL run --no-store --at "$END" "$TMP/twostmt.json"
expect_grep "$TMP/err" "error parsing query" "no partial success"
port=$(free_port)
job down 1d 'SELECT usage FROM cpu' ', "retries": 0'
sed -i "s/:$INFLUX_PORT/:$port/" "$TMP/down.json"
expect_exit 1 "influxdb is down" -- $VIGIL run --no-store --at "$END" "$TMP/down.json"
expect_grep "$TMP/err" "influxdb http://127.0.0.1:$port: Failed to connect" "refusal reported"
cat >"$TMP/spec.json" <<EOF
{"version": 1, "name": "spec", "source": {"type": "influxdb", "url": "$URL", "databse": "x", "chunk_size": 0},
 "detectors": [{"detector": "threshold", "params": {"upper": 1}}]}
EOF
expect_exit 2 "an influxdb source full of mistakes" -- $VIGIL validate "$TMP/spec.json"
expect_grep "$TMP/err" '$.source.database: is required' "database required"
expect_grep "$TMP/err" '$.source.query: is required' "query required"
expect_grep "$TMP/err" "\$.source.databse: unknown key for a influxdb source (did you mean 'database'?)" "typo"
expect_grep "$TMP/err" '$.source.chunk_size: must be an integer in [1, 1000000]' "chunk size"
finish

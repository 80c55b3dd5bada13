#!/bin/sh
# source-sql.sh - the sqlite and postgresql sources: SQLite files made with
# the sqlite3 shell, and a real PostgreSQL cluster started for the test (as
# an unprivileged user when we are root).  The window is a bound parameter;
# times as timestamps, text, seconds, milliseconds; label columns; NULLs;
# many series; errors from the server, timeouts, secrets.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning
command -v sqlite3 >/dev/null 2>&1 || server_fail "the sqlite3 shell is not installed (scripts/setup.sh --test)"
T0=1795299600   # 2026-11-21T22:20:00Z
iso() { "$PY" -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$1"; }
AT=$(iso $((T0 + 86400)))

# job NAME SOURCE_JSON [WINDOW]
job() {
	w=""
	[ -n "${3:-}" ] && w="\"window\": \"$3\","
	cat >"$TMP/$1.json" <<EOF
{"version": 1, "name": "$1", $w "source": $2,
 "detectors": [{"detector": "threshold", "params": {"upper": 1e300}}]}
EOF
}

# --- SQLite -----------------------------------------------------------------
DB="$TMP/metrics.db"
sqlite3 "$DB" <<EOF
CREATE TABLE m (t INTEGER, host TEXT, v REAL);
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 999)
INSERT INTO m SELECT $T0 + 60 * n, 'web-' || (n % 4), n FROM i;
CREATE TABLE mixed (t, v);
INSERT INTO mixed VALUES ($T0, 1), ($T0 + 60.5, 2), ('$(iso $((T0 + 120)))', NULL), ($(( T0 * 1000 + 180000 )), '4.5');
CREATE TABLE bad (t, v);
INSERT INTO bad VALUES ($T0, 1), ($T0 + 60, 'high');
CREATE TABLE nulltime (t, v);
INSERT INTO nulltime VALUES (NULL, 1);
CREATE TABLE unordered (t INTEGER, v REAL);
INSERT INTO unordered VALUES ($T0 + 120, 3), ($T0, 1), ($T0 + 60, 2), ($T0 + 60, 2.5), ($T0 + 180, 4);
CREATE TABLE isot (t TEXT, v REAL);
INSERT INTO isot VALUES ('$(iso $T0)', 1), ('$(iso $((T0 + 3600)))', 2), ('$(iso $((T0 + 7200)))', 3);
EOF
job sq "{\"type\": \"sqlite\", \"path\": \"metrics.db\", \"query\": \"SELECT t, v AS load, host FROM m WHERE t >= ?1 AND t <= ?2 ORDER BY host, t\"}" 1d
expect_exit 0 "validate an sqlite source" -- $VIGIL validate "$TMP/sq.json"
expect_exit 0 "sqlite: a path relative to the spec, label columns" -- $VIGIL export-scores --at "$AT" --out - "$TMP/sq.json"
for k in 0 1 2 3; do
	expect_eq "$(grep -c "^\"load{host=\"\"web-$k\"\"}\"," "$TMP/out")" 250 "web-$k: 250 rows"
done
expect_grep "$TMP/out" "\"load{host=\"\"web-3\"\"}\",$(iso $((T0 + 60 * 999))),999," "the last row"
job sqwin "{\"type\": \"sqlite\", \"path\": \"metrics.db\", \"query\": \"SELECT t, v, host FROM m WHERE t > :from AND t <= :to AND host = 'web-0'\"}" 1h
expect_exit 0 "sqlite: named window parameters" -- $VIGIL export-scores --at "$(iso $((T0 + 7200)))" --out - "$TMP/sqwin.json"
expect_eq "$(grep -c '^"v{' "$TMP/out")" 15 "only the window's rows (every 4th minute of an hour)"
job mixed "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t, v FROM mixed\"}"
expect_exit 0 "sqlite: integer, real, ISO text and millisecond times" -- $VIGIL export-scores --out - "$TMP/mixed.json"
expect_grep "$TMP/out" "v,$(iso $T0),1," "unix seconds"
expect_grep "$TMP/out" "v,2026-11-21T22:21:00.500Z,2," "fractional seconds"
expect_grep "$TMP/out" "v,$(iso $((T0 + 120))),,0" "ISO-8601 text, and NULL is missing"
expect_grep "$TMP/out" "v,$(iso $((T0 + 180))),4.5," "milliseconds, and a numeric string"
job isot "{\"type\": \"sqlite\", \"path\": \"$DB\", \"window_format\": \"iso8601\", \"query\": \"SELECT t, v FROM isot WHERE t >= ?1 AND t <= ?2\"}" 1h
expect_exit 0 "sqlite: an ISO-8601 window against a text column" -- $VIGIL export-scores --at "$(iso $((T0 + 3600)))" --out - "$TMP/isot.json"
expect_eq "$(grep -c '^v,' "$TMP/out")" 2 "compared as text"
job unord "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t, v FROM unordered\"}"
expect_exit 0 "sqlite: rows out of order, a duplicate timestamp" -- $VIGIL export-scores --out - "$TMP/unord.json"
expect_eq "$(grep '^v,' "$TMP/out" | cut -d, -f3 | tr '\n' ' ')" "1 2.5 3 4 " "sorted by time, the duplicate's last value kept"
expect_grep "$TMP/err" "series 'v': 1 duplicate timestamps merged (the last value kept)" "the merge is logged"
job sqbad "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t, v FROM bad\"}"
expect_exit 1 "sqlite: a value that is not a number" -- $VIGIL run --no-store "$TMP/sqbad.json"
expect_grep "$TMP/err" "source: sqlite $DB: row 2: value 'high' in column 'v' is not a number" "row and column named"
job sqnull "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t, v FROM nulltime\"}"
expect_exit 1 "sqlite: a NULL time" -- $VIGIL run --no-store "$TMP/sqnull.json"
expect_grep "$TMP/err" "row 1: time 'NULL' is not a timestamp" "reported"
job sqsyn "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t, v FROM nowhere\"}"
expect_exit 1 "sqlite: an unknown table" -- $VIGIL run --no-store "$TMP/sqsyn.json"
expect_grep "$TMP/err" "query: no such table: nowhere" "SQLite's message"
job sqparam "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t, v FROM m WHERE host = :host\"}"
expect_exit 1 "sqlite: a parameter that is not the window" -- $VIGIL run --no-store "$TMP/sqparam.json"
expect_grep "$TMP/err" "query parameter ':host': only the window can be bound" "refused"
job sqone "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t FROM m\"}"
expect_exit 1 "sqlite: one column" -- $VIGIL run --no-store "$TMP/sqone.json"
expect_grep "$TMP/err" "the query returns 1 column; it must return time, value, then optional label columns" "the contract is explained"
job sqmiss "{\"type\": \"sqlite\", \"path\": \"$TMP/nope.db\", \"query\": \"SELECT 1, 2\"}"
expect_exit 1 "sqlite: a missing file" -- $VIGIL run --no-store "$TMP/sqmiss.json"
expect_grep "$TMP/err" "cannot open: unable to open database file" "reported"
job sqempty "{\"type\": \"sqlite\", \"path\": \"$DB\", \"query\": \"SELECT t, v FROM m WHERE 0\"}"
expect_exit 0 "sqlite: no rows" -- $VIGIL run --no-store --json "$TMP/sqempty.json"
expect_grep "$TMP/out" '"outcome": "no_data"' "is no data"
job sqslow "{\"type\": \"sqlite\", \"path\": \"$DB\", \"timeout\": \"200ms\", \"query\": \"WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i) SELECT n, n FROM i WHERE n < 0\"}"
expect_exit 1 "sqlite: a query past the timeout" -- $VIGIL run --no-store "$TMP/sqslow.json"
expect_grep "$TMP/err" "the query took longer than the timeout" "interrupted"

# --- many series scored on several threads: the same results as on one -------
sqlite3 "$DB" "CREATE TABLE many (t INTEGER, id TEXT, v REAL);
WITH RECURSIVE i(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM i WHERE n < 299999)
INSERT INTO many SELECT $T0 + 60 * (n / 600), 's' || (n % 600),
  (n * 7919 % 1000) / 10.0 + CASE WHEN n / 600 = 495 AND n % 7 = 0 THEN 500 ELSE 0 END FROM i;"
cat >"$TMP/many.json" <<EOF
{"version": 1, "name": "many", "source": {"type": "sqlite", "path": "$DB", "query": "SELECT t, v, id FROM many"},
 "detectors": [{"detector": "zscore", "params": {"window": 50}}, {"detector": "mad", "params": {"window": 50}},
               {"detector": "threshold", "params": {"upper": 400}, "mode": "shadow"}],
 "alert": {"recent_points": 10}}
EOF
for n in 1 3; do
	expect_exit 0 "600 series on $n thread(s)" -- env VIGIL_THREADS=$n $VIGIL export-scores --out "$TMP/many$n.csv" "$TMP/many.json"
	expect_exit 0 "600 series stored, on $n thread(s)" -- env VIGIL_THREADS=$n $VIGIL run --json --store "$TMP/many$n.db" "$TMP/many.json"
	grep -v -e '"started"' -e '"duration_ms"' "$TMP/out" >"$TMP/many$n.json"
	expect_exit 0 "anomalies listed" -- $VIGIL runs --anomalies --json --limit 100000 --store "$TMP/many$n.db"
	grep -v -e '"started"' -e '"finished"' -e '"duration_ms"' "$TMP/out" >"$TMP/many$n.rows"
done
expect_eq "$(grep -c '^"v{id=' "$TMP/many1.csv")" 300000 "every point scored"
cmp -s "$TMP/many1.csv" "$TMP/many3.csv" && ok "scores identical on 1 and 3 threads" || not_ok "scores differ between 1 and 3 threads"
cmp -s "$TMP/many1.json" "$TMP/many3.json" && ok "alerts identical, in the same order" || not_ok "alerts differ"
cmp -s "$TMP/many1.rows" "$TMP/many3.rows" && ok "stored rows identical, in the same order" || not_ok "stored rows differ"
expect_grep "$TMP/many1.json" '"outcome": "anomalies"' "the injected spikes alert"
[ "$(grep -c '"detector": ' "$TMP/many1.rows")" -gt 100 ] && ok "many stored rows compared" || not_ok "too few stored rows to compare"

# --- PostgreSQL ---------------------------------------------------------------
start_postgres
psql -q -d postgres -c "CREATE DATABASE vigil" >"$TMP/psql.log" 2>&1 || server_fail "CREATE DATABASE failed" "$TMP/psql.log"
psql -q -v ON_ERROR_STOP=1 -d vigil >"$TMP/psql.log" 2>&1 <<EOF || server_fail "loading the test data failed" "$TMP/psql.log"
CREATE TABLE cpu (ts timestamptz NOT NULL, host text, dc text, usage double precision);
INSERT INTO cpu SELECT to_timestamp($T0 + 60 * i), 'web-' || (i % 3), 'eu', i FROM generate_series(0, 2999) i;
INSERT INTO cpu VALUES (to_timestamp($T0 + 60 * 3000), 'web-0', 'eu', NULL);
CREATE TABLE wide (t bigint, id int, v numeric);
INSERT INTO wide SELECT $T0 + 60 * i, k, k + i FROM generate_series(0, 9) i, generate_series(0, 1999) k;
CREATE TABLE special (t timestamp, v real);
INSERT INTO special VALUES ('2026-11-21 22:20:00', 'NaN'), ('2026-11-21 22:21:00', 'Infinity'), ('2026-11-21 22:22:00.250', 1.5);
EOF
export VIGIL_PG="postgresql://postgres@127.0.0.1:$PG_PORT/vigil"
PGSRC='"type": "postgresql", "connection": "${env:VIGIL_PG}"'
job pg "{$PGSRC, \"query\": \"SELECT ts, usage, host, dc FROM cpu WHERE ts > \$1 AND ts <= \$2 ORDER BY host, ts\"}" 4d
expect_exit 0 "validate a postgresql source" -- $VIGIL validate "$TMP/pg.json"
expect_exit 0 "postgresql: timestamptz, two label columns, streamed rows" -- $VIGIL export-scores --at "$(iso $((T0 + 86400 * 3)))" --out "$TMP/pg.csv" "$TMP/pg.json"
expect_eq "$(grep -c '^"usage{dc=""eu"",host=""web-0""}",' "$TMP/pg.csv")" 1001 "web-0: 1 000 rows and one NULL"
expect_eq "$(grep -c '^"usage{dc=""eu"",host=""web-2""}",' "$TMP/pg.csv")" 1000 "web-2: 1 000 rows"
expect_grep "$TMP/pg.csv" "\"usage{dc=\"\"eu\"\",host=\"\"web-2\"\"}\",$(iso $((T0 + 60 * 2999))),2999," "the last row"
expect_grep "$TMP/pg.csv" "\"usage{dc=\"\"eu\"\",host=\"\"web-0\"\"}\",$(iso $((T0 + 60 * 3000))),,0" "NULL is a missing value"
job pgwin "{$PGSRC, \"query\": \"SELECT ts, usage FROM cpu WHERE host = 'web-1' AND ts > \$1 AND ts <= \$2\"}" 1h
expect_exit 0 "postgresql: the window as \$1 and \$2" -- $VIGIL export-scores --at "$(iso $((T0 + 7200)))" --out - "$TMP/pgwin.json"
expect_eq "$(grep -c '^usage,' "$TMP/out")" 20 "only the window's rows (every 3rd minute of an hour)"
job pgnowin "{$PGSRC, \"query\": \"SELECT ts, usage FROM cpu WHERE host = 'web-1' AND ts > \$1 AND ts <= \$2\"}"
expect_exit 0 "postgresql: no window binds -infinity and infinity" -- $VIGIL export-scores --out - "$TMP/pgnowin.json"
expect_eq "$(grep -c '^usage,' "$TMP/out")" 1000 "every row"
job pgwide "{$PGSRC, \"window_format\": \"unix\", \"query\": \"SELECT t, v, id FROM wide WHERE t >= \$1 AND t <= \$2\"}" 1d
expect_exit 0 "postgresql: 2 000 series, bigint seconds" -- $VIGIL run --no-store --json --at "$(iso $((T0 + 3600)))" "$TMP/pgwide.json"
expect_grep "$TMP/out" '"series": 2000' "each id a series"
expect_grep "$TMP/out" '"points": 20000' "with all its points"
job pgspecial "{$PGSRC, \"query\": \"SELECT t, v FROM special\"}"
expect_exit 0 "postgresql: timestamp without zone, NaN, Infinity" -- $VIGIL export-scores --out - "$TMP/pgspecial.json"
expect_grep "$TMP/out" "v,2026-11-21T22:20:00Z,,0" "NaN is missing"
expect_grep "$TMP/out" "v,2026-11-21T22:21:00Z,inf," "Infinity"
expect_grep "$TMP/out" "v,2026-11-21T22:22:00.250Z,1.5," "fractional seconds"

job pgsyn "{$PGSRC, \"query\": \"SELECT ts, usage FROM nowhere\"}"
expect_exit 1 "postgresql: an unknown table" -- $VIGIL run --no-store "$TMP/pgsyn.json"
expect_grep "$TMP/err" "source: postgresql 127.0.0.1:$PG_PORT/vigil: query: ERROR: relation \"nowhere\" does not exist" "the server's message, one line"
job pgtype "{$PGSRC, \"query\": \"SELECT ts, host FROM cpu\"}"
expect_exit 1 "postgresql: a text value" -- $VIGIL run --no-store "$TMP/pgtype.json"
expect_grep "$TMP/err" "row 1: value 'web-0' in column 'host' is not a number" "row and column named"
job pg3 "{$PGSRC, \"query\": \"SELECT ts, usage FROM cpu WHERE ts > \$1 AND ts < \$2 AND host = \$3\"}"
expect_exit 1 "postgresql: a third parameter" -- $VIGIL run --no-store "$TMP/pg3.json"
expect_grep "$TMP/err" "the query has 3 parameters; only the window can be bound" "refused"
job pgslow "{$PGSRC, \"timeout\": \"300ms\", \"query\": \"SELECT now(), 1 FROM pg_sleep(5)\"}"
t0=$(date +%s)
expect_exit 1 "postgresql: a query past the timeout" -- $VIGIL run --no-store "$TMP/pgslow.json"
expect_grep "$TMP/err" "canceling statement due to statement timeout" "cancelled by the server"
[ $(($(date +%s) - t0)) -lt 4 ] && ok "without waiting for the query" || not_ok "waited for the slow query"
expect_exit 1 "postgresql: the connection variable unset" -- env -u VIGIL_PG $VIGIL run --no-store "$TMP/pg.json"
expect_grep "$TMP/err" "VIGIL_PG" "the reference is named"
port=$(free_port)
expect_exit 1 "postgresql: nobody listening" -- env VIGIL_PG="postgresql://postgres:hunter2@127.0.0.1:$port/vigil" $VIGIL run --no-store "$TMP/pg.json"
expect_grep "$TMP/err" "port $port failed: Connection refused" "refusal reported"
expect_no_grep "$TMP/err" "hunter2" "the password is not shown"
job pgpass "{\"type\": \"postgresql\", \"connection\": \"host=127.0.0.1 password=hunter2\", \"query\": \"SELECT 1, 2\"}"
expect_exit 2 "a password written in the spec" -- $VIGIL validate "$TMP/pgpass.json"
expect_grep "$TMP/err" '$.source.connection: holds a password: use a ${env:NAME} or ${file:PATH} reference' "refused"
finish

#!/bin/sh
# planted-real.sh - the default detector `auto` on a week of minute-step data
# served by real servers (Prometheus, InfluxDB, PostgreSQL) and read from CSV:
# three series with a daily cycle 20 sigma wide, a harmless batch spike every
# night and 45 minutes of missing rows on day 3; one has a +10 sigma spike on
# day 5, one a 30-minute -6 sigma dip on day 5, one a +5 sigma level shift on
# day 6.  From every source each planted anomaly is flagged within 15 minutes
# of its onset, and each series raises at most 3 other alert events over the
# week (docs/detectors.md, "Validation").
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning
command -v curl >/dev/null 2>&1 || server_fail "curl is required (scripts/setup.sh --test installs it)"

# T0 = 2026-11-02T00:00:00Z, a Monday; 7 days of minutes
T0=1793577600
N=10080
export VIGIL_SOURCE_ROOTS="$TMP"
"$PY" - "$TMP" $T0 $N <<'EOF'
import datetime, math, random, sys
out, t0, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(20261206)
DAY = 1440
# one anomaly a series: host=spike on day 5 10:00, host=dip on day 5 16:00, host=shift on day 6 09:00
planted = {"spike": 5 * DAY + 600, "dip": 5 * DAY + 960, "shift": 6 * DAY + 540}
gap = range(3 * DAY + 780, 3 * DAY + 825)                         # day 3 13:00-13:45: no rows
rows = []
for host, at in planted.items():
    for i in range(n):
        if i in gap:
            continue
        v = 100 + 20 * math.sin(2 * math.pi * ((i % DAY) - 360) / DAY) + random.gauss(0, 1)
        if 120 <= i % DAY < 130:
            v += 6                       # the nightly batch, 02:00-02:10
        if host == "spike" and i == at:
            v += 10
        if host == "dip" and at <= i < at + 30:
            v -= 6
        if host == "shift" and i >= at:
            v += 5
        rows.append((host, t0 + 60 * i, round(v, 3)))
with open(out + "/load.csv", "w") as f:
    f.write("timestamp,load,host\n")
    f.writelines("%d,%s,%s\n" % (t, v, h) for h, t, v in rows)
with open(out + "/load.om", "w") as f:
    f.write("# TYPE load gauge\n")
    f.writelines('load{host="%s"} %s %d\n' % (h, v, t) for h, t, v in rows)
    f.write("# EOF\n")
with open(out + "/load.lp", "w") as f:
    f.writelines("load,host=%s value=%s %d\n" % (h, v, t) for h, t, v in rows)
with open(out + "/load.sql", "w") as f:
    f.write("CREATE TABLE load (ts timestamptz, host text, value double precision);\nCOPY load FROM stdin;\n")
    f.writelines("%s\t%s\t%s\n" % (datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat(), h, v)
                 for h, t, v in rows)
    f.write("\\.\n")
with open(out + "/planted", "w") as f:
    for host, i in planted.items():
        f.write("%s %d\n" % (host, t0 + 60 * i))
EOF
iso() { "$PY" -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$1"; }
START=$(iso $T0)
END=$(iso $((T0 + 60 * (N - 1))))

# job NAME SOURCE_JSON: auto with its defaults over the week
job() {
	cat >"$TMP/$1.json" <<EOF
{"version": 1, "name": "$1", "window": "7d", "source": $2, "detectors": [{"detector": "auto"}]}
EOF
}

# judge NAME: in the series of each planted anomaly, it is flagged within 15 min of its onset, and
# at most 3 other alert events (flags more than an hour apart) are raised over the week
judge() {
	"$PY" - "$TMP/$1.csv" "$TMP/planted" >"$TMP/$1.judge" 2>&1 <<'EOF'
import csv, datetime, sys
flags = {}
for r in csv.DictReader(open(sys.argv[1])):
    host = next((h for h in ("spike", "dip", "shift") if h in r["series"]), None)
    if host and r["is_anomaly"] == "1":
        t = datetime.datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        flags.setdefault(host, []).append(int(t.timestamp()))
span = {"spike": 15 * 60, "dip": 45 * 60, "shift": 10 ** 9}
for l in open(sys.argv[2]):
    host, t = l.split()[0], int(l.split()[1])
    f = flags.get(host, [])
    hit = [x for x in f if t <= x <= t + 15 * 60]
    print("%s %s" % (host, "found %d min after the onset" % ((hit[0] - t) // 60) if hit else "missed"))
    events, last = 0, None
    for x in f:
        if not t <= x <= t + span[host]:
            if last is None or x - last > 3600:
                events += 1
            last = x
    print("%s other events %d" % (host, events))
EOF
	for p in spike dip shift; do
		expect_grep "$TMP/$1.judge" "$p found" "$1: the $p is flagged within 15 min"
		ev=$(sed -n "s/^$p other events //p" "$TMP/$1.judge")
		if [ -n "$ev" ] && [ "$ev" -le 3 ]; then ok "$1: $ev other alert events in the $p series over the week (at most 3)"; else
			not_ok "$1: '$ev' other alert events in the $p series over the week"; fi
	done
	sed 's/^/# /' "$TMP/$1.judge"
}

# --- CSV ------------------------------------------------------------------------
job csv '{"type": "csv", "path": "load.csv", "series_column": "host", "value_columns": ["load"]}'
expect_exit 0 "csv: export-scores" -- $VIGIL export-scores --at "$END" --out "$TMP/csv.csv" "$TMP/csv.json"
expect_eq "$(($(wc -l <"$TMP/csv.csv") - 1))" $((3 * (N - 45))) "csv: every row of the three series, the 45 missing ones aside"
judge csv

# --- Prometheus -------------------------------------------------------------------
start_prometheus "$TMP/load.om"
job prom "{\"type\": \"prometheus\", \"url\": \"http://127.0.0.1:$PROM_PORT\", \"query\": \"load\", \"step\": \"1m\"}"
expect_exit 0 "prometheus: export-scores" -- $VIGIL export-scores --at "$END" --out "$TMP/prom.csv" "$TMP/prom.json"
judge prom

# --- InfluxDB ---------------------------------------------------------------------
start_influxdb
IURL="http://127.0.0.1:$INFLUX_PORT"
curl -s -XPOST "$IURL/query" --data-urlencode "q=CREATE DATABASE vigil" >/dev/null
code=$(curl -s -o "$TMP/write.out" -w '%{http_code}' -XPOST "$IURL/write?db=vigil&precision=s" --data-binary @"$TMP/load.lp")
[ "$code" = 204 ] || server_fail "could not load the data into InfluxDB (HTTP $code)" "$TMP/write.out"
job influx "{\"type\": \"influxdb\", \"url\": \"$IURL\", \"database\": \"vigil\",
 \"query\": \"SELECT value FROM load WHERE time >= \$from AND time <= \$to GROUP BY host\"}"
expect_exit 0 "influxdb: export-scores" -- $VIGIL export-scores --at "$END" --out "$TMP/influx.csv" "$TMP/influx.json"
judge influx

# --- PostgreSQL -------------------------------------------------------------------
start_postgres
"$PGBIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "CREATE DATABASE vigil" postgres >/dev/null ||
	server_fail "cannot create the database"
"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -f "$TMP/load.sql" vigil >"$TMP/psql.out" 2>&1 ||
	server_fail "cannot load the data into PostgreSQL" "$TMP/psql.out"
export VIGIL_PG="postgresql://postgres@127.0.0.1:$PG_PORT/vigil"
job pg '{"type": "postgresql", "connection": "${env:VIGIL_PG}", "query": "SELECT ts, value, host FROM load WHERE ts > $1 AND ts <= $2 ORDER BY host, ts"}'
expect_exit 0 "postgresql: export-scores" -- $VIGIL export-scores --at "$END" --out "$TMP/pg.csv" "$TMP/pg.json"
judge pg
finish

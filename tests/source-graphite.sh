#!/bin/sh
# source-graphite.sh - the graphite source against a real graphite-web over
# whisper files: [value, timestamp] order, null slots, several targets,
# the window, and the [] Graphite answers for a bad target.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning
T0=1795299600   # 2026-11-21T22:20:00Z
cat >"$TMP/whisper.py" <<PYEOF
import os, whisper
for host, base in (("web1", 0), ("web2", 1000)):
    p = "whisper/app/%s/rps.wsp" % host
    os.makedirs(os.path.dirname(p), exist_ok=True)
    whisper.create(p, [(60, 100000)])
    whisper.update_many(p, [($T0 + 60 * i, float(base + i)) for i in range(120) if i != 5])
PYEOF
start_graphite "$TMP/whisper.py"
URL="http://127.0.0.1:$GRAPHITE_PORT"
iso() { "$PY" -c "import datetime,sys; print(datetime.datetime.fromtimestamp(int(sys.argv[1]), datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'))" "$1"; }
AT=$(iso $((T0 + 60 * 119)))

job() {
	cat >"$TMP/$1.json" <<JEOF
{"version": 1, "name": "$1", "window": "$2", "source": {"type": "graphite", "url": "$URL", "target": $3},
 "detectors": [{"detector": "threshold", "params": {"upper": 1e300}}]}
JEOF
}

job one 2h '"app.web1.rps"'
expect_exit 0 "validate a graphite source" -- $VIGIL validate "$TMP/one.json"
expect_exit 0 "one target" -- $VIGIL export-scores --at "$AT" --out - "$TMP/one.json"
expect_eq "$(grep -c '^app.web1.rps,' "$TMP/out")" 121 "every slot of the 2-hour window (both ends)"
expect_grep "$TMP/out" "app.web1.rps,$(iso $((T0 + 60 * 7))),7," "value first, then the timestamp"
expect_grep "$TMP/out" "app.web1.rps,$(iso $((T0 + 300))),,0" "an empty slot is a missing value"
expect_grep "$TMP/out" "app.web1.rps,$(iso $T0),0," "the window's first slot"

job two 30m '["app.web1.rps", "app.web2.rps"]'
expect_exit 0 "two targets" -- $VIGIL run --no-store --json --at "$AT" "$TMP/two.json"
expect_grep "$TMP/out" '"series": 2' "two series"
expect_grep "$TMP/out" '"points": 62' "31 slots each (from exclusive, until inclusive)"
job glob 30m '"app.*.rps"'
expect_exit 0 "a wildcard" -- $VIGIL export-scores --at "$AT" --out - "$TMP/glob.json"
expect_grep "$TMP/out" "app.web2.rps,$AT,1119," "each match is its own series"

job bad 1h '"sumSeries(app.*.rps"'
expect_exit 0 "a target that does not parse" -- $VIGIL run --no-store --json --at "$AT" "$TMP/bad.json"
expect_grep "$TMP/out" '"outcome": "no_data"' "Graphite answers [] and the run has no data"
port=$(free_port)
job down 1h '"app.web1.rps"'
sed -i "s/:$GRAPHITE_PORT/:$port/; s/\"target\"/\"retries\": 0, \"target\"/" "$TMP/down.json"
expect_exit 1 "graphite is down" -- $VIGIL run --no-store --at "$AT" "$TMP/down.json"
expect_grep "$TMP/err" "graphite http://127.0.0.1:$port: Failed to connect" "refusal reported"
job spec 1h '[]'
expect_exit 2 "an empty target list" -- $VIGIL validate "$TMP/spec.json"
expect_grep "$TMP/err" '$.source.target: must be a target or a list of 1 to 64 targets' "reported"
finish

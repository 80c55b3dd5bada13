#!/bin/sh
# ui-series.sh - the series page with a long series in headless chromium
# (bench/ui-series.mjs), and the size and time of /api/series answers.  Not
# a test: it prints figures (medians).  Usage: bench/ui-series.sh [BUILD_DIR]
# Needs chromium and playwright-core (scripts/setup.sh --test).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vigil-uibench.XXXXXX")
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"' EXIT
export no_proxy=127.0.0.1 NO_PROXY=127.0.0.1
mkdir -p "$tmp/specs" "$tmp/state"
export VIGIL_SOURCE_ROOTS="$tmp"   # the data sits beside the specs directory
now=$(date +%s)
for n in 100000 1000000; do
	awk -v n=$n -v t0=$((now - n)) 'BEGIN { print "ts,v"; srand(1)
		for (i = 0; i < n; i++) printf "%d,%.3f\n", t0 + i, 50 + 10 * sin(i / 600) + rand() * 4 + (i % 50000 == 25000 ? 80 : 0) }' \
		> "$tmp/s$n.csv"
	cat > "$tmp/specs/s$n.json" <<JSON
{"name": "s$n", "source": {"type": "csv", "path": "$tmp/s$n.csv", "time_column": "ts", "max_points": 2000000},
 "window": "30d", "detectors": [{"detector": "mad", "params": {"window": 60}},
 {"detector": "zscore", "params": {"window": 300}, "mode": "shadow"}]}
JSON
done
VIGIL_PLUGIN_PATH="$build/detectors/.libs" "$build/vigil" serve --specs "$tmp/specs" --state "$tmp/state" \
	--listen 127.0.0.1:0 --dry-run >"$tmp/serve.out" 2>"$tmp/serve.err" &
pid=$!
while [ ! -s "$tmp/state/serve.json" ]; do sleep 0.1; done
url=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$tmp/state/serve.json")
for n in 100000 1000000; do curl -s -o /dev/null -X POST "$url/api/jobs/s$n/run"; done
until [ "$(curl -s "$url/api/runs?limit=10" | grep -o '"finished_at":[0-9]' | wc -l)" -ge 2 ]; do sleep 0.5; done
# the worker stores a run's series after the run is recorded finished (once its completion landed): a series of
# 1 000 000 points takes seconds to write, so wait until the API serves both
for n in 100000 1000000; do
	until curl -sf -o /dev/null "$url/api/series/s$n/v"; do sleep 0.5; done
done
curl -s "$url/api/runs?limit=10" | grep -o '"job":"s[0-9]*","scheduled_for":[0-9]*,"state":"[a-z]*"\|"error":"[^"]*"' || true
echo "== /api/series answers (curl, 5 requests each, median)"
for n in 100000 1000000; do
	for i in 1 2 3 4 5; do
		curl -s -o "$tmp/body" -w '%{time_total} %{size_download}\n' "$url/api/series/s$n/v"
	done | sort -n | sed -n 3p | awk -v n=$n '{ printf "series of %d stored points: %.0f ms, %.1f MB\n", n, $1 * 1000, $2 / 1e6 }'
	grep -o '"n":[0-9]*,"truncated":[a-z]*' "$tmp/body" || head -c 300 "$tmp/body"
done
grep -i "warn\|error" "$tmp/serve.err" | head -5 || true
echo "== series page in headless chromium"
VIGIL_URL=$url node "$top/bench/ui-series.mjs" s100000 v

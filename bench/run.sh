#!/bin/sh
# run.sh - build vigil optimised (build-release/, default -O2) and run the
# benchmarks; prints their figures.  Environment: INGEST_ROWS, POINTS,
# WINDOW, REPS, ALL_POINTS, ALL_SERIES, ALL_LENGTH, SCHED_JOBS, SCHED_ROUNDS, SERIES_POINTS,
# REPS_API, BURST_SECONDS, SEASONAL_POINTS, SEASONAL_SERIES, SEASONAL_LENGTH.   Usage: bench/run.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build-release
"$top/scripts/build.sh" "$build"
cd "$build"
make -s bench/bench-ingest bench/bench-detectors bench/bench-detectors-all bench/bench-exec bench/exec-echo \
	bench/bench-sched bench/bench-api bench/bench-notify bench/bench-seasonal
export VIGIL_PLUGIN_PATH="$build/detectors/.libs"
export VIGIL_PLUGIN_HOST="$build/vigil-plugin-host"
[ "$(id -u)" = 0 ] && export VIGIL_EXEC_ALLOW_ROOT=1
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) cores, $(./vigil --version), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
./bench/bench-ingest "${INGEST_ROWS:-5000000}" "${REPS:-5}"
./bench/bench-detectors "${POINTS:-10000000}" "${WINDOW:-1000}" "${REPS:-3}"
./bench/bench-detectors-all -n "${ALL_POINTS:-1000000}" -s "${ALL_SERIES:-10000}" -l "${ALL_LENGTH:-1000}" -r "${REPS:-3}"
./bench/bench-exec "$build/bench/exec-echo" "$top/bench/exec-echo.py" "$top/plugins/python"
./bench/bench-sched "${SCHED_JOBS:-10000}" "${SCHED_ROUNDS:-5}"
./bench/bench-api "${SERIES_POINTS:-100000}" "${REPS_API:-30}"
./bench/bench-notify "${BURST_SECONDS:-10}"
./bench/bench-seasonal "${SEASONAL_POINTS:-1000000}" "${SEASONAL_SERIES:-10000}" "${SEASONAL_LENGTH:-1000}" "${REPS:-3}"

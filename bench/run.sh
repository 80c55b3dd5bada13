#!/bin/sh
# run.sh - build vigil optimised (build-release/, default -O2) and run the
# benchmarks; prints their figures.  Environment: INGEST_ROWS, POINTS,
# WINDOW, REPS, SEASONAL_POINTS, SEASONAL_SERIES, SEASONAL_LENGTH.   Usage: bench/run.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build-release
"$top/scripts/build.sh" "$build"
cd "$build"
make -s bench/bench-ingest bench/bench-detectors bench/bench-seasonal
export VIGIL_PLUGIN_PATH="$build/detectors/.libs"
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) cores, $(./vigil --version), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
./bench/bench-ingest "${INGEST_ROWS:-5000000}" "${REPS:-5}"
./bench/bench-detectors "${POINTS:-10000000}" "${WINDOW:-1000}" "${REPS:-3}"
./bench/bench-seasonal "${SEASONAL_POINTS:-1000000}" "${SEASONAL_SERIES:-10000}" "${SEASONAL_LENGTH:-1000}" "${REPS:-3}"

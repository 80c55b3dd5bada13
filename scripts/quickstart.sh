#!/bin/sh
# quickstart.sh - the README's first command: install what is missing, build,
# and run the example job on the embedded defaults (SQLite store in a
# throwaway state dir, bundled data, alerts on stdout).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh" "$top/build"
state=$(mktemp -d "${TMPDIR:-/tmp}/vigil-example.XXXXXX")
echo "== vigil run specs/examples/cpu-incident.json (state: $state)"
VIGIL_PLUGIN_PATH="$top/build/detectors/.libs" \
	"$top/build/vigil" run --state "$state" "$top/specs/examples/cpu-incident.json"
echo "== run history (vigil runs --state $state)"
"$top/build/vigil" runs --state "$state"

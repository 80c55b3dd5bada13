#!/bin/sh
# validate.sh - the out-of-sample checks of one detector config, in one go:
# leave-one-category-out on the NAB corpus, false alarms by quarter on a long
# corpus (MGAB) at the threshold chosen on NAB, and detections by kind, false
# alarms and leave-one-category-out on generated ops corpora (bench/gen-ops).
# Prints a summary; the full outputs stay in OUT.
#
# Usage: bench/validate.sh [CONFIG-JSON]   (default {"detector": "auto"})
# Environment: BUILD (build tree, default build), NAB (a NAB-layout corpus,
# default ../shared/nab), MGAB (default ../shared/mgab; skipped if missing),
# SEEDS (gen-ops seeds, default "1 2"), OUT (default validate-out), NICE (default 10),
# NAB_ARGS (more options for every bench/nab run, e.g. "--rank flags").
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
config=${1:-'{"detector": "auto"}'}
build=${BUILD:-$top/build}
nab_dir=${NAB:-$top/../shared/nab}
mgab_dir=${MGAB:-$top/../shared/mgab}
out=${OUT:-validate-out}
run="nice -n ${NICE:-10} $build/bench/nab --no-write ${NAB_ARGS:-} --config"
mkdir -p "$out"
echo "== $config ${NAB_ARGS:-}"

echo "-- $nab_dir: in sample, and each category at the threshold chosen on the others"
$run "$config" --data "$nab_dir/data" --labels "$nab_dir/labels/combined_windows.json" --loco >"$out/nab.txt"
sed -n -e '/^standard [0-9-]/p' -e '/^false alarms/p' -e '/^leave one/,$p' "$out/nab.txt"

if [ -d "$mgab_dir/data" ]; then
	echo "-- $mgab_dir at the thresholds chosen on $nab_dir"
	$run "$config" --data "$mgab_dir/data" --labels "$mgab_dir/labels/combined_windows.json" --quarters \
		--train-data "$nab_dir/data" --train-labels "$nab_dir/labels/combined_windows.json" >"$out/mgab.txt"
	awk '/^at the thresholds/ { fixed = 1; print } fixed && /^standard [0-9-]/ { print; fixed = 0 }
		/^false alarms|^file |^all files|^files whose/ { print }' "$out/mgab.txt"
fi

for seed in ${SEEDS:-1 2}; do
	ops=$out/ops$seed
	[ -f "$ops/labels/kinds.json" ] || "$build/bench/gen-ops" --seed "$seed" --out "$ops" >/dev/null
	echo "-- generated ops corpus, seed $seed"
	$run "$config" --data "$ops/data" --labels "$ops/labels/combined_windows.json" \
		--kinds "$ops/labels/kinds.json" --loco --per-file >"$out/ops$seed.txt"
	sed -n -e '/^standard [0-9-]/p' -e '/^false alarms/p' -e '/^detections by kind/,/^flagged/p' \
		-e '/^mean over/p' -e '/^pooled/p' "$out/ops$seed.txt"
done
echo "full outputs in $out/"

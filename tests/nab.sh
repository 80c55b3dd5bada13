#!/bin/sh
# nab.sh - bench/nab end to end on three files of the NAB corpus (bundled in
# tests/data/nab): the NAB result layout, one output row per input row in
# input order, the label column, scores in [0, 1], the three profiles, errors.
. "$top_srcdir/tests/lib.sh"
NAB="${VALGRIND:-} $top_builddir/bench/nab"
SRC="$top_srcdir/tests/data/nab"

D="$TMP/data"
mkdir -p "$D/realTraffic" "$D/artificialNoAnomaly" "$D/realAdExchange"
cp "$SRC/realTraffic/speed_7578.csv" "$D/realTraffic/"
cp "$SRC/artificialNoAnomaly/art_flatline.csv" "$D/artificialNoAnomaly/"
cp "$SRC/realAdExchange/exchange-3_cpm_results.csv" "$D/realAdExchange/"
cat >"$TMP/windows.json" <<'JSON'
{
  "artificialNoAnomaly/art_flatline.csv": [],
  "realAdExchange/exchange-3_cpm_results.csv": [
    ["2011-08-16 10:15:01.000000", "2011-08-23 00:15:01.000000"]
  ],
  "realTraffic/speed_7578.csv": [
    ["2015-09-11 15:34:00.000000", "2015-09-11 17:54:00.000000"],
    ["2015-09-15 13:26:00.000000", "2015-09-15 15:54:00.000000"],
    ["2015-09-16 13:04:00.000000", "2015-09-16 15:20:00.000000"],
    ["2015-09-16 16:00:00.000000", "2015-09-16 18:20:00.000000"]
  ]
}
JSON
R="$TMP/results"

expect_exit 0 "nab runs a config over the corpus" -- \
	$NAB --data "$D" --labels "$TMP/windows.json" --results "$R" \
	--config '{"detector": "mad", "params": {"window": 50}}' --per-file
expect_grep "$TMP/out" "detector mad on 3 files" "every file is scored"
for p in standard reward_low_FP_rate reward_low_FN_rate; do
	expect_grep "$TMP/out" "$p " "the $p profile is reported"
done
expect_grep "$TMP/out" "realTraffic/speed_7578.csv" "--per-file lists the files"

for f in realTraffic/speed_7578.csv artificialNoAnomaly/art_flatline.csv realAdExchange/exchange-3_cpm_results.csv; do
	cat=${f%%/*}
	base=${f#*/}
	out="$R/mad/$cat/mad_$base"
	if [ -f "$out" ]; then ok "$out in NAB's layout"; else not_ok "no $out"; continue; fi
	expect_eq "$(head -1 "$out")" "timestamp,value,anomaly_score,label" "$base: NAB's header"
	expect_eq "$(wc -l <"$out")" "$(grep -c . "$D/$f")" "$base: one row per input row"
	# the same timestamps and values, in input order (values compared as numbers)
	tail -n +2 "$D/$f" | tr -d '\r' >"$TMP/in.csv"
	tail -n +2 "$out" >"$TMP/res.csv"
	expect_eq "$(cut -d, -f1 "$TMP/in.csv" | cksum)" "$(cut -d, -f1 "$TMP/res.csv" | cksum)" "$base: timestamps in input order"
	expect_eq "$(paste -d, "$TMP/in.csv" "$TMP/res.csv" | awk -F, '$2 != $4 { n++ } END { print n + 0 }')" 0 \
		"$base: values unchanged"
	expect_eq "$(awk -F, '!($3 >= 0 && $3 <= 1) { n++ } END { print n + 0 }' "$TMP/res.csv")" 0 "$base: scores in [0, 1]"
done
# the label column marks exactly the rows of the windows
out="$R/mad/realTraffic/mad_speed_7578.csv"
expect_eq "$(awk -F, '$4 == 1 { print $1; exit }' "$out")" "2015-09-11 15:34:00" "the first window starts its labels"
expect_eq "$(awk -F, 'prev == 1 && $4 == 0 { print last; exit } { prev = $4; last = $1 }' "$out")" "2015-09-11 17:54:00" \
	"and ends them"
expect_eq "$(awk -F, 'NR > 1 && $4 == 1 { n++ } END { print n + 0 }' "$R/mad/artificialNoAnomaly/mad_art_flatline.csv")" 0 \
	"a file without windows has no labels"

# the default config is the recommended detector; --name renames the results
expect_exit 0 "nab without --config runs the default" -- \
	$NAB --data "$D" --labels "$TMP/windows.json" --results "$R" --name mine
expect_grep "$TMP/out" "detector mine on 3 files" "the default runs under the given name"
[ -f "$R/mine/realTraffic/mine_speed_7578.csv" ] && ok "--name sets the layout" || not_ok "no mine/ results"
expect_exit 0 "--no-write scores without writing" -- \
	$NAB --data "$D" --labels "$TMP/windows.json" --results "$TMP/none" --no-write \
	--config '{"detector": "ensemble", "params": {"detectors": [{"detector": "mad"}, {"detector": "holt_winters"}]}}'
[ ! -e "$TMP/none" ] && ok "nothing written with --no-write" || not_ok "$TMP/none written"

# errors
expect_exit 1 "an unknown detector" -- $NAB --data "$D" --labels "$TMP/windows.json" --no-write \
	--config '{"detector": "nope"}'
expect_grep "$TMP/err" "no detector 'nope'" "the unknown detector is named"
expect_exit 1 "invalid params" -- $NAB --data "$D" --labels "$TMP/windows.json" --no-write \
	--config '{"detector": "mad", "params": {"windw": 5}}'
expect_grep "$TMP/err" "\$.params.windw: unknown param (did you mean 'window'?)" "the bad param is shown"
expect_exit 1 "a malformed config" -- $NAB --data "$D" --labels "$TMP/windows.json" --no-write --config '{"detector": '
expect_exit 1 "a missing data dir" -- $NAB --data "$TMP/nothing" --labels "$TMP/windows.json" --no-write
expect_exit 2 "an unknown option" -- $NAB --frobnicate
expect_exit 0 "--help" -- $NAB --help
expect_grep "$TMP/out" "usage: nab" "--help shows usage"
finish

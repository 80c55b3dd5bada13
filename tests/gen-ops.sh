#!/bin/sh
# gen-ops.sh - bench/gen-ops writes the same corpus for the same seed (and the
# same files whatever --categories picks), another corpus for another seed,
# NAB-sized windows around every planted anomaly, gaps; bench/nab scores it
# and its out-of-sample reports (--kinds, --quarters, --loco, --threshold,
# false alarms) count what they claim.
. "$top_srcdir/tests/lib.sh"
GEN="${VALGRIND:-} $top_builddir/bench/gen-ops"
NAB="${VALGRIND:-} $top_builddir/bench/nab"

expect_exit 0 "gen-ops writes the default corpus" -- $GEN --seed 7 --out "$TMP/a"
expect_grep "$TMP/out" "30 series" "30 series"
expect_grep "$TMP/out" "50 anomalies" "50 planted anomalies"
expect_exit 0 "the same seed again" -- $GEN --seed 7 --out "$TMP/b"
if diff -r "$TMP/a" "$TMP/b" >/dev/null; then ok "the same seed gives the same bytes"; else not_ok "seed 7 differs between runs"; fi
expect_exit 0 "a subset of categories" -- $GEN --seed 7 --out "$TMP/sub" --categories opsShift,opsKpi
if diff -r "$TMP/a/data/opsShift" "$TMP/sub/data/opsShift" >/dev/null && diff -r "$TMP/a/data/opsKpi" "$TMP/sub/data/opsKpi" >/dev/null
then ok "--categories writes the same files"; else not_ok "--categories changed the files"; fi
expect_eq "$(ls "$TMP/sub/data")" "$(printf 'opsKpi\nopsShift')" "--categories writes only those"
expect_exit 0 "another seed" -- $GEN --seed 8 --out "$TMP/c" --categories opsShift
if diff -r "$TMP/a/data/opsShift" "$TMP/c/data/opsShift" >/dev/null; then not_ok "seed 8 = seed 7"; else ok "another seed, another corpus"; fi

# the layout, the windows (NAB's size, around each onset), the kinds, the gaps
python3 - "$TMP/a" >"$TMP/check" 2>&1 <<'PY'
import csv, datetime, json, os, sys
top = sys.argv[1]
wins = json.load(open(f"{top}/labels/combined_windows.json"))
kinds = json.load(open(f"{top}/labels/kinds.json"))
files = sorted(f"{c}/{f}" for c in os.listdir(f"{top}/data") for f in os.listdir(f"{top}/data/{c}"))
print("files", len(files), "labelled", sorted(wins) == files == sorted(kinds))
seen, bad, gaps, steps = set(), [], 0, set()
for name in files:
    rows = list(csv.reader(open(f"{top}/data/{name}")))
    if rows[0] != ["timestamp", "value"]:
        bad.append(f"{name}: header")
    ts = [r[0] for r in rows[1:]]
    t = [datetime.datetime.fromisoformat(x) for x in ts]
    d = [(b - a).total_seconds() for a, b in zip(t, t[1:])]
    step = min(d)
    steps.add(step)
    gaps += any(x > step for x in d)
    if not 10000 <= len(t) + sum(x / step - 1 for x in d) <= 40000:
        bad.append(f"{name}: {len(t)} rows")
    size = int(0.1 * len(ts) / len(kinds[name]))
    for (w0, w1), k in zip(wins[name], kinds[name]):
        seen.add(k["kind"])
        first, last, onset = ts.index(w0[:-7]), ts.index(w1[:-7]), ts.index(k["onset"])
        if [w0, w1] != k["window"] or last - first != 2 * (size // 2) or onset - first != size // 2:
            bad.append(f"{name}: window {w0} {w1} onset {k['onset']} size {size}")
        if first < 750:
            bad.append(f"{name}: window in the probationary period")
print("kinds", len(seen), "anomalies", sum(len(v) for v in kinds.values()))
print("files with gaps", "some" if gaps else "none", "steps", sorted(steps))
print("bad", bad)
PY
expect_grep "$TMP/check" "files 30 labelled True" "every file has windows and kinds"
expect_grep "$TMP/check" "kinds 11 anomalies 50" "all 11 kinds are planted"
expect_grep "$TMP/check" "files with gaps some" "some files have gaps"
expect_grep "$TMP/check" "steps [60.0, 300.0, 600.0, 900.0, 3600.0]" "steps from 1 min to 1 h"
expect_grep "$TMP/check" "bad []" "windows are NAB-sized, centred on the onsets, after probation"

# bench/nab scores the corpus; the reports count what they say
S="$TMP/sub"
expect_exit 0 "nab scores a generated corpus" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" \
	--no-write --config '{"detector": "ewma"}' --kinds "$S/labels/kinds.json" --loco --per-file
expect_grep "$TMP/out" "detector ewma on 10 files" "nab reads the layout"
expect_grep "$TMP/out" "detections by kind at threshold" "detections by kind"
expect_grep "$TMP/out" "opsShift/shift5sd_01.csv" "--per-file lists the anomalies"
expect_grep "$TMP/out" "false alarms: " "false alarms per series-week"
expect_grep "$TMP/out" "pooled held-out score" "the leave-one-category-out summary"
# leave one category out: opsShift is scored at the threshold opsKpi alone would choose
shift_theta=$(awk '$1 == "opsShift" { print $4 }' "$TMP/out")
expect_exit 0 "the other category alone" -- $GEN --seed 7 --out "$TMP/kpi" --categories opsKpi
expect_exit 0 "nab on it" -- $NAB --data "$TMP/kpi/data" --labels "$TMP/kpi/labels/combined_windows.json" \
	--no-write --config '{"detector": "ewma"}'
expect_eq "$shift_theta" "$(awk '$1 == "standard" && $3 !~ /^reward/ { printf "%.6g\n", $2 }' "$TMP/out")" \
	"the held-out category gets the other's optimal threshold"

# at threshold 0 every scorable row is a detection, at 1.1 none is
expect_exit 0 "--threshold 0" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" --no-write \
	--config '{"detector": "ewma"}' --threshold 0 --kinds "$S/labels/kinds.json" --quarters
awk '$1 == "level_shift_5sd" { print $2, $3, $4, $5 }' "$TMP/out" >"$TMP/k"
expect_eq "$(cat "$TMP/k")" "5 5 5 0" "every shift flagged, at its onset"
expect_eq "$(sed -n 's/^flagged \([0-9]*\) of \([0-9]*\) planted anomalies (\([0-9]*\) at or after.*/\1 \2 \3/p' "$TMP/out" |
	awk '{ print ($1 == $2 && $2 == $3) }')" 1 "every anomaly flagged at or after its onset"
expect_eq "$(awk '$1 == "all" && $2 == "files" { print $3, $4, $5, $6, $7 }' "$TMP/out")" \
	"1000.000 1000.000 1000.000 1000.000 1.00" "every normal point is a false alarm in every quarter"
expect_eq "$(sed -n 's/^false alarms: \([0-9]*\) points.*(\([0-9]*\) normal points).*/\1 \2/p' "$TMP/out" | awk '{ print $1 == $2 }')" 1 \
	"false alarms = normal points"
expect_exit 0 "--threshold 1.1" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" --no-write \
	--config '{"detector": "ewma"}' --threshold 1.1 --kinds "$S/labels/kinds.json" --quarters
expect_grep "$TMP/out" "flagged 0 of " "nothing flagged above every score"
expect_grep "$TMP/out" "false alarms: 0 points in 0 events" "no false alarms"
# --train-data: the standard threshold chosen on the training corpus is the one applied
expect_exit 0 "--train-data" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" --no-write \
	--config '{"detector": "ewma"}' --train-data "$TMP/kpi/data" --train-labels "$TMP/kpi/labels/combined_windows.json"
expect_grep "$TMP/out" "at the thresholds chosen on $TMP/kpi/data (5 files" "the training corpus is named"

# --rank rarity: a detector that writes no rarity of its own ranks the same way (its score's -log10 tail)
expect_exit 0 "--rank score" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" --no-write \
	--config '{"detector": "ewma"}' --rank score
grep '^standard [0-9]' "$TMP/out" >"$TMP/by-score"
expect_exit 0 "--rank rarity" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" --no-write \
	--config '{"detector": "ewma"}' --rank rarity
expect_grep "$TMP/out" "ranked by rarity" "the ranking is named"
expect_eq "$(grep '^standard [0-9]' "$TMP/out")" "$(cat "$TMP/by-score")" "the same scores either way"

# bench/validate.sh runs the checks in one go (here without MGAB, on the two-category corpus as "NAB")
expect_exit 0 "validate.sh" -- env BUILD="$top_builddir" NAB="$S" MGAB="$TMP/none" SEEDS=3 OUT="$TMP/v" NICE=0 NAB_ARGS="--rank score" \
	"$top_srcdir/bench/validate.sh" '{"detector": "ewma"}'
expect_eq "$(grep -c '^pooled held-out score' "$TMP/out")" 2 "validate.sh: leave one category out on both corpora"
expect_grep "$TMP/out" "-- generated ops corpus, seed 3" "validate.sh: the seed's corpus"
expect_grep "$TMP/out" '== {"detector": "ewma"} --rank score' "validate.sh: the config and NAB_ARGS"
expect_grep "$TMP/out" "flagged" "validate.sh: detections by kind"
[ -f "$TMP/v/ops3/labels/kinds.json" ] && ok "validate.sh keeps the corpus" || not_ok "no $TMP/v/ops3"

# --rank flags: the detector's own flags; at threshold 1 the false alarms are its flags outside every window
expect_exit 0 "--rank flags" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" --results "$TMP/r" \
	--config '{"detector": "ewma"}' --rank flags --threshold 1
fa=$(sed -n 's/^false alarms: \([0-9]*\) points.*/\1/p' "$TMP/out")
flags=$(cat "$TMP"/r/ewma/*/*.csv | awk -F, '$1 == "timestamp" { row = -1 } { row++ }
	row > 750 && $3 == 1 && $4 == 0 { n++ } $3 != 0 && $3 != 1 && row > 0 { bad++ } END { print n + 0, bad + 0 }')
expect_eq "$fa 0" "$flags" "the flags outside the windows are the false alarms, and scores are 0 or 1"
[ "$fa" -gt 0 ] && ok "ewma flags something" || not_ok "ewma flags nothing"

# errors
expect_exit 2 "--rank something else" -- $NAB --rank loudness
expect_exit 2 "an unknown category" -- $GEN --out "$TMP/x" --categories opsNope
expect_grep "$TMP/err" "unknown category 'opsNope'" "the category is named"
expect_exit 2 "a bad seed" -- $GEN --out "$TMP/x" --seed -3
expect_exit 1 "--loco with one category" -- $NAB --data "$TMP/kpi/data" --labels "$TMP/kpi/labels/combined_windows.json" \
	--no-write --config '{"detector": "ewma"}' --loco
expect_grep "$TMP/err" "needs two categories" "--loco explains"
expect_exit 1 "kinds of files not in the corpus" -- $NAB --data "$TMP/kpi/data" \
	--labels "$TMP/kpi/labels/combined_windows.json" --no-write --config '{"detector": "ewma"}' --kinds "$S/labels/kinds.json"
expect_grep "$TMP/err" "is not a file of the corpus" "the stray file is named"
expect_exit 2 "--threshold with --train-data" -- $NAB --threshold 0.5 --train-data x --train-labels y
expect_exit 1 "a bad --threshold" -- $NAB --data "$S/data" --labels "$S/labels/combined_windows.json" --no-write \
	--config '{"detector": "ewma"}' --threshold abc
expect_grep "$TMP/err" "--threshold: 'abc' is not a number" "the bad threshold is shown"
finish

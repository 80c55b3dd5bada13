#!/bin/sh
# fuzz-replay.sh - replay every fuzz target's corpus (tests/data/fuzz/<target>/)
# through its plain main (tests/fuzz-main.c, no libFuzzer needed): every input
# must be handled without a crash, a failed check or (under valgrind) a leak.
. "$top_srcdir/tests/lib.sh"
for t in cron spec csv exec_proto jsonscan slack_template api_request; do
	n=$(ls "$top_srcdir/tests/data/fuzz/$t" | wc -l)
	expect_exit 0 "replay the $t corpus ($n inputs)" -- ${VALGRIND:-} "$top_builddir/tests/fuzz_$t" \
		"$top_srcdir/tests/data/fuzz/$t"
	expect_grep "$TMP/out" "$n input(s) ran" "every $t input ran"
done
finish

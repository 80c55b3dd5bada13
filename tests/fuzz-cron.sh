#!/bin/sh
# fuzz-cron.sh - replay the cron fuzzing corpus through the fuzz target's
# plain main (no libFuzzer needed): every input must parse or fail cleanly.
. "$top_srcdir/tests/lib.sh"
expect_exit 0 "replay tests/data/cron-corpus" -- ${VALGRIND:-} "$top_builddir/tests/fuzz_cron" "$top_srcdir/tests/data/cron-corpus"
finish

#!/bin/sh
# symbols.sh - every plugin exports exactly one symbol: vigil_plugin.
. "$top_srcdir/tests/lib.sh"
for so in "$top_builddir"/detectors/.libs/*.so "$top_builddir"/tests/plugins/.libs/test.so; do
	syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ { print $3 }' | grep -v '^_' | sort | tr '\n' ' ')
	expect_eq "$syms" "vigil_plugin " "$(basename "$so") exports only vigil_plugin"
done
syms=$(nm -D --defined-only "$top_builddir/vigil" 2>/dev/null | awk '$2 ~ /^[TDBRVW]$/ && $3 !~ /@/ { print $3 }' | grep -v '^_' | wc -l)
expect_eq "$syms" 0 "the vigil binary exports nothing to plugins"
finish

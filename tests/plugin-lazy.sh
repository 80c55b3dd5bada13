#!/bin/sh
# plugin-lazy.sh - a plugin file is loaded only when it is needed (issue 14,
# item 7).  tests/plugins/marker.c appends a line to $VIGIL_TEST_MARKER from
# its constructor, before vigil can call anything of it: it must not be
# loaded by `validate` or `run` of a spec that names only vigil's own
# detectors, and must be loaded (and work) when a spec names its detector, an
# ensemble member does, `vigil detectors` lists the plugins, or an unknown
# name needs the list of known ones.  A file finds its detectors by name:
# NAME.so, or the file named for NAME's part before a '-' or '_'; it may
# register no other names.
. "$top_srcdir/tests/lib.sh"
P=$TMP/plugins
MARK=$TMP/mark
export VIGIL_TEST_MARKER="$MARK"
mkdir -p "$P"
chmod 755 "$P"
cp "$VIGIL_TEST_PLUGINS/marker.so" "$VIGIL_TEST_PLUGINS/test.so" "$P/"
chmod 755 "$P/marker.so" "$P/test.so"
printf 'timestamp,v\n1,10\n2,11\n3,300\n4,12\n5,10\n' >"$TMP/d.csv"
spec() {   # spec FILE DETECTORS-JSON
	printf '{"name": "j", "source": {"type": "csv", "path": "d.csv"}, "detectors": %s}\n' "$2" >"$TMP/$1"
}
spec own.json '[{"detector": "threshold", "params": {"upper": 100}}, {"detector": "zscore"},
 {"detector": "ensemble", "params": {"detectors": [{"detector": "mad"}, {"detector": "iqr"}]}}]'
spec marker.json '[{"detector": "marker", "params": {"above": 200}}]'
spec member.json '[{"detector": "ensemble", "params": {"detectors": [{"detector": "mad"}, {"detector": "marker"}]}}]'
spec typo.json '[{"detector": "zscore"}, {"detector": "markr"}]'
spec family.json '[{"detector": "test-magic"}]'
loads() { if [ -f "$MARK" ]; then wc -l <"$MARK" | tr -d ' '; else echo 0; fi; }

expect_exit 0 "validate a spec that names only vigil's own detectors" -- \
	$VIGIL validate --plugin-dir "$P" "$TMP/own.json"
expect_eq "$(loads)" 0 "the plugin in the plugin directory is not loaded"
expect_exit 0 "run it" -- $VIGIL run --no-store --plugin-dir "$P" "$TMP/own.json"
expect_eq "$(loads)" 0 "nor by run"
expect_exit 0 "the plugin directory in VIGIL_PLUGIN_PATH" -- \
	env VIGIL_PLUGIN_PATH="$P:$VIGIL_PLUGIN_PATH" $VIGIL validate "$TMP/own.json"
expect_eq "$(loads)" 0 "the plugin is still not loaded"

expect_exit 0 "validate a spec that names the plugin's detector" -- \
	$VIGIL validate --plugin-dir "$P" "$TMP/marker.json"
expect_eq "$(loads)" 1 "the plugin is loaded, once"
rm -f "$MARK"
expect_exit 0 "run it" -- $VIGIL run --no-store --plugin-dir "$P" "$TMP/marker.json"
expect_grep "$TMP/out" "1 anomaly to alert on" "the plugin's detector scores the series"
expect_grep "$TMP/out" "above 200" "with its reason"
[ "$(loads)" -ge 1 ] && ok "run loaded it" || not_ok "run did not load the plugin"
rm -f "$MARK"
expect_exit 0 "an ensemble member names the plugin's detector" -- \
	$VIGIL validate --plugin-dir "$P" "$TMP/member.json"
expect_eq "$(loads)" 1 "the plugin is loaded for the member"
rm -f "$MARK"

expect_exit 2 "an unknown detector name" -- $VIGIL validate --plugin-dir "$P" "$TMP/typo.json"
expect_grep "$TMP/err" "typo.json: \$.detectors[1].detector: unknown detector 'markr' (did you mean 'marker'?); known: " \
	"is a spec error with its JSON path and a suggestion from the plugins"
expect_grep "$TMP/err" "marker, matrix_profile" "the known names include the plugins'"
rm -f "$MARK"
expect_exit 0 "vigil detectors" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/out" "marker 0.1" "lists the plugin"
expect_grep "$TMP/out" "plugin: $P/marker.so" "from its file"
expect_eq "$(loads)" 1 "after loading it"

expect_exit 0 "a detector found by its name's first part (test-magic in test.so)" -- \
	$VIGIL validate --plugin-dir "$P" "$TMP/family.json"
P2=$TMP/other
mkdir -p "$P2"
chmod 755 "$P2"
cp "$P/test.so" "$P2/other.so"
expect_exit 0 "vigil detectors with a file named for none of its detectors" -- $VIGIL detectors --plugin-dir "$P2"
expect_grep "$TMP/err" "'$P2/other.so': detector 'test-magic' refused: a plugin file named 'other.so' may only register 'other' or names that start with 'other-' or 'other_' (rename the file or the detector)" \
	"its detectors are refused, with the rule"
expect_grep "$TMP/err" "plugin '$P2/other.so': init failed" "and the file is refused"
expect_no_grep "$TMP/out" "test-magic" "its detectors are not listed"
finish

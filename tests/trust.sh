#!/bin/sh
# trust.sh - plugins and external detectors are loaded or run only when they
# and every directory above them are owned by root or the user running vigil
# and not writable by group or others (sticky directories such as /tmp are
# fine); libtool .la files are never taken for external detectors (issue 14,
# items 7 and 8).
. "$top_srcdir/tests/lib.sh"

P=$TMP/plugins
mkdir -p "$P"
chmod 755 "$P"
cp "$VIGIL_TEST_PLUGINS/good.so" "$P/good.so"
chmod 755 "$P/good.so"
# what `make install` of an older vigil left: a libtool archive, mode 0755
printf "# good.la - a libtool library file\ndlname='good.so'\n" >"$P/good.la"
chmod 755 "$P/good.la"

expect_exit 0 "a plugin in a private directory loads" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/out" "test-magic" "its detector is listed"
expect_no_grep "$TMP/err" "good.la" "a .la file is not run as an external detector"
expect_no_grep "$TMP/err" "refused" "nothing is refused"

chmod o+w "$P/good.so"
expect_exit 0 "vigil detectors with a world-writable plugin" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/err" "plugin '$P/good.so': refused: '$P/good.so' is writable by others (mode 0757)" \
	"a world-writable .so is refused, with the reason"
expect_no_grep "$TMP/out" "test-magic" "and its detector is not loaded"
chmod o-w "$P/good.so"

chmod g+w "$P"
expect_exit 0 "vigil detectors with a group-writable plugin directory" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/err" "refused: '$P' is writable by its group (mode 0775)" "a group-writable directory is refused"
expect_no_grep "$TMP/out" "test-magic" "and the plugin in it is not loaded"

chmod 1777 "$P"
expect_exit 0 "a sticky world-writable directory (like /tmp)" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/out" "test-magic" "is accepted"
chmod 755 "$P"

if [ "$(id -u)" = 0 ]; then
	chown 65534 "$P/good.so"
	expect_exit 0 "vigil detectors with a plugin owned by another user" -- $VIGIL detectors --plugin-dir "$P"
	expect_grep "$TMP/err" "'$P/good.so' is owned by uid 65534, not by root or the user running vigil (uid 0)" \
		"a plugin owned by another user is refused"
	chown 0 "$P/good.so"
else
	ok "# SKIP the ownership case needs root (to give a file away)"
fi

# --- external detectors: the program named by a spec ----------------------------
E=$TMP/exec
mkdir -p "$E"
chmod 755 "$E"
cp "$top_srcdir/plugins/shell/above.sh" "$top_srcdir/plugins/shell/above.awk" "$E/"
chmod 755 "$E/above.sh"
printf 'timestamp,v\n2026-01-01T00:00:00Z,1\n2026-01-01T00:01:00Z,2\n' >"$E/d.csv"
cat >"$E/job.json" <<'JSON'
{"name": "ex", "source": {"type": "csv", "path": "d.csv"},
 "detectors": [{"detector": "above", "exec": {"path": "./above.sh"}, "params": {"limit": 90}}]}
JSON
export VIGIL_EXEC_ALLOW_ROOT=1
expect_exit 0 "an external detector in a private directory is run" -- $VIGIL validate "$E/job.json"
chmod g+w "$E/above.sh"
expect_exit 2 "an external detector writable by its group" -- $VIGIL validate "$E/job.json"
expect_grep "$TMP/err" "\$.detectors[0].exec.path: executable '$E/./above.sh': refused: '$E/above.sh' is writable by its group (mode 0775)" \
	"is refused with the reason, naming the JSON path"
finish

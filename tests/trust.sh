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
cp "$VIGIL_TEST_PLUGINS/test.so" "$P/test.so"
chmod 755 "$P/test.so"
# what `make install` of an older vigil left: a libtool archive, mode 0755
printf "# test.la - a libtool library file\ndlname='test.so'\n" >"$P/test.la"
chmod 755 "$P/test.la"

expect_exit 0 "a plugin in a private directory loads" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/out" "test-magic" "its detector is listed"
expect_no_grep "$TMP/err" "test.la" "a .la file is not run as an external detector"
expect_no_grep "$TMP/err" "refused" "nothing is refused"

chmod o+w "$P/test.so"
expect_exit 0 "vigil detectors with a world-writable plugin" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/err" "plugin '$P/test.so': refused: '$P/test.so' is writable by others (mode 0757)" \
	"a world-writable .so is refused, with the reason"
expect_no_grep "$TMP/out" "test-magic" "and its detector is not loaded"
chmod o-w "$P/test.so"

chmod g+w "$P"
expect_exit 0 "vigil detectors with a group-writable plugin directory" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/err" "refused: '$P' is writable by its group (mode 0775)" "a group-writable directory is refused"
expect_no_grep "$TMP/out" "test-magic" "and the plugin in it is not loaded"

chmod 1777 "$P"
expect_exit 0 "a sticky world-writable directory (like /tmp)" -- $VIGIL detectors --plugin-dir "$P"
expect_grep "$TMP/out" "test-magic" "is accepted"
chmod 755 "$P"

if [ "$(id -u)" = 0 ]; then
	chown 65534 "$P/test.so"
	expect_exit 0 "vigil detectors with a plugin owned by another user" -- $VIGIL detectors --plugin-dir "$P"
	expect_grep "$TMP/err" "'$P/test.so' is owned by uid 65534, not by root or the user running vigil (uid 0)" \
		"a plugin owned by another user is refused"
	chown 0 "$P/test.so"
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

# --- files a spec may read (item 2) ---------------------------------------------
SP=$TMP/sp
mkdir -p "$SP"
printf 'ghp_T0kenNeverShown42\n' >"$TMP/api-token"
printf 'timestamp,cpu\n2026-01-01T00:00:00Z,1\n' >"$SP/ok.csv"
ln -s "$TMP/api-token" "$SP/link.csv"
cp "$TMP/api-token" "$SP/token.csv"
csvjob() {   # csvjob NAME PATH TIME_COLUMN
	printf '{"name": "%s", "source": {"type": "csv", "path": "%s", "time_column": "%s"},
	 "detectors": [{"detector": "mad"}]}\n' "$1" "$2" "$3" >"$SP/$1.json"
}
csvjob abs "$TMP/api-token" x
expect_exit 1 "a CSV path outside the spec's directory" -- $VIGIL run --no-store "$SP/abs.json"
expect_grep "$TMP/err" "\$.source.path: $TMP/api-token is outside the spec's directory: allow its directory with VIGIL_SOURCE_ROOTS" \
	"is refused, naming the JSON path and the way to allow it"
csvjob up ../api-token x
expect_exit 1 "a relative path that climbs out" -- $VIGIL run --no-store "$SP/up.json"
expect_grep "$TMP/err" "\$.source.path: ../api-token is outside" "is refused too"
csvjob link link.csv x
expect_exit 1 "a symlink in the spec's directory to a file outside" -- $VIGIL run --no-store "$SP/link.json"
expect_grep "$TMP/err" "\$.source.path: link.csv is outside" "is judged by where it leads"
csvjob gone ../no-such-file.csv x
expect_exit 1 "a missing file outside" -- $VIGIL run --no-store "$SP/gone.json"
expect_grep "$TMP/err" "is outside the spec's directory" "is refused the same way (no probing for files)"
expect_exit 1 "with VIGIL_SOURCE_ROOTS naming its directory" -- env VIGIL_SOURCE_ROOTS="/nonexistent:$TMP" $VIGIL run --no-store "$SP/abs.json"
expect_no_grep "$TMP/err" "outside" "the file may be read"
csvjob tok token.csv x
expect_exit 1 "a token file read as a CSV in the spec's directory" -- $VIGIL run --no-store "$SP/tok.json"
expect_grep "$TMP/err" "token.csv:1: no column 'x' among the 1 of the header row" "the error counts the columns"
cat "$TMP/out" "$TMP/err" >"$TMP/both"
for f in abs up link gone; do
	$VIGIL run --no-store "$SP/$f.json" >>"$TMP/both" 2>&1
done
expect_no_grep "$TMP/both" "T0kenNeverShown" "and no error quotes the file's content"
csvjob near ok.csv timestmp
expect_exit 1 "a misspelt column" -- $VIGIL run --no-store "$SP/near.json"
expect_grep "$TMP/err" "ok.csv:1: no column 'timestmp' among the 2 of the header row (did you mean 'timestamp'?)" \
	"names only the close header name"

# --- the state directory and the store (item 9) ---------------------------------
S=$TMP/state
mkdir -p "$S"
cat >"$E/plain.json" <<'JSON'
{"name": "plain", "source": {"type": "csv", "path": "d.csv"}, "detectors": [{"detector": "mad"}]}
JSON
chmod 777 "$S"
expect_exit 3 "a world-writable state directory" -- $VIGIL run --state "$S" "$E/plain.json"
expect_grep "$TMP/err" "state directory '$S' is writable by others (mode 0777)" "is refused, with the reason"
expect_eq "$(ls -A "$S")" "" "and nothing is written into it"
chmod 770 "$S"
expect_exit 3 "a group-writable state directory" -- $VIGIL run --state "$S" "$E/plain.json"
expect_grep "$TMP/err" "state directory '$S' is writable by its group (mode 0770)" "is refused too"
chmod 700 "$S"
(umask 0; $VIGIL serve --specs "$E" --state "$S" --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.err") &
SPID=$!
n=0
while [ ! -s "$S/serve.json" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
expect_eq "$(stat -c %a "$S/vigil.db")" 600 "vigil.db is created 0600 even with umask 0"
expect_eq "$(stat -c %a "$S/vigil.db-wal" 2>&1)" 600 "so is its -wal file"
expect_eq "$(stat -c %a "$S/vigil.db-shm" 2>&1)" 600 "and its -shm file"
kill "$SPID"
wait "$SPID"
chmod 644 "$S/vigil.db"
expect_exit 0 "a run with a store an older vigil made 0644" -- $VIGIL run --state "$S" "$E/plain.json"
expect_eq "$(stat -c %a "$S/vigil.db")" 600 "gets it back to 0600"
finish

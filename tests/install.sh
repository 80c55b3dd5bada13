#!/bin/sh
# install.sh - `make install DESTDIR=...` (issue 14, items 8, 16, 17): the
# plugin directory holds the .so files and no libtool .la files, the Python
# helper module is installed and importable, the systemd unit is generated
# with configure's paths, and the installed vigil loads its plugins without a
# refusal; `make uninstall` takes the plugins away again.
. "$top_srcdir/tests/lib.sh"
DEST=$TMP/dest
MAKE=${MAKE:-make}

if ! $MAKE -s -C "$top_builddir" install DESTDIR="$DEST" >"$TMP/install.log" 2>&1; then
	not_ok "make install DESTDIR failed"
	tail -20 "$TMP/install.log" | sed 's/^/#   /'
	finish
fi
ok "make install DESTDIR"
PD=$(find "$DEST" -type d -path '*/vigil/detectors' | head -1)
expect_eq "$(find "$PD" -name 'mad.so' | wc -l)" 1 "the plugins are installed ($PD)"
expect_eq "$(find "$PD" -name '*.la' | wc -l)" 0 "and no libtool .la file beside them"

PY=$(find "$DEST" -name vigil_detector.py | head -1)
case "$PY" in */share/vigil/python/vigil_detector.py) ok "the Python helper is in the data directory";;
	*) not_ok "vigil_detector.py not installed in share/vigil/python: '$PY'";; esac
if command -v python3 >/dev/null 2>&1; then
	expect_exit 0 "it imports from there" -- python3 -c "import sys; sys.path.insert(0, '${PY%/*}'); import vigil_detector"
fi
CL=$(find "$DEST" -name vigil_client.py | head -1)
expect_eq "$CL" "${PY%/*}/vigil_client.py" "the Python client is installed beside it (docs/client.md)"
if command -v python3 >/dev/null 2>&1; then
	expect_exit 0 "it imports from there" -- python3 -c "import sys; sys.path.insert(0, '${CL%/*}'); import vigil_client; vigil_client.Client"
fi

UNIT=$(find "$DEST" -name vigil.service | head -1)
case "$UNIT" in */lib/systemd/system/vigil.service) ok "the systemd unit is installed";;
	*) not_ok "vigil.service not installed in a lib/systemd/system directory: '$UNIT'";; esac
BIN=$(find "$DEST" -type f -path '*/bin/vigil' | head -1)
expect_grep "$UNIT" "ExecStart=${BIN#"$DEST"} serve" "it runs the installed binary"
expect_no_grep "$UNIT" "@" "no placeholder is left"
expect_grep "$UNIT" "LoadCredential=api-token:" "the API token comes as a credential"
expect_grep "$UNIT" "EnvironmentFile=-" "webhook URLs can come from an environment file"
if grep -q '^#define HAVE_LIBSYSTEMD 1' "$top_builddir/config.h"; then
	expect_grep "$UNIT" "Type=notify" "Type=notify (built with libsystemd)"
	expect_grep "$UNIT" "WatchdogSec=" "with a watchdog"
else
	expect_grep "$UNIT" "Type=simple" "Type=simple (built without libsystemd)"
fi

expect_exit 0 "the installed vigil lists its plugins" -- env -u VIGIL_PLUGIN_PATH "$BIN" detectors --plugin-dir "$PD"
expect_grep "$TMP/out" "zscore" "zscore among them"
expect_no_grep "$TMP/err" "refused" "no refusal (no .la taken for a detector, no untrusted file)"

if $MAKE -s -C "$top_builddir" uninstall DESTDIR="$DEST" >"$TMP/uninstall.log" 2>&1; then
	expect_eq "$(find "$DEST" -name '*.so' | wc -l)" 0 "make uninstall removes the plugins"
	expect_eq "$(find "$DEST" -type f | wc -l)" 0 "and every other installed file"
else
	not_ok "make uninstall DESTDIR failed"
	tail -20 "$TMP/uninstall.log" | sed 's/^/#   /'
fi
finish

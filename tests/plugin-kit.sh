#!/bin/sh
# plugin-kit.sh - the plugin author's path: install vigil into a temporary
# prefix, build the out-of-tree example plugin against the installed header
# with pkg-config, and run a job with it.
. "$top_srcdir/tests/lib.sh"
DEST="$TMP/dest"
if ! (cd "$top_builddir" && make -s install DESTDIR="$DEST" >"$TMP/install.log" 2>&1); then
	not_ok "make install"; cat "$TMP/install.log"; finish
fi
ok "make install into a staging dir"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/vigil.pc")
export PKG_CONFIG_PATH="$DEST$prefix/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$DEST"
[ -f "$DEST$prefix/include/vigil/detector.h" ] && ok "public header installed" || not_ok "header not installed"
[ -x "$DEST$prefix/bin/vigil" ] && ok "binary installed" || not_ok "binary not installed"
for d in threshold zscore mad; do
	[ -f "$DEST$prefix/lib/vigil/detectors/$d.so" ] && ok "built-in $d.so installed" || not_ok "$d.so not installed"
done
[ -f "$DEST$prefix/share/man/man1/vigil.1" ] && ok "man page installed" || not_ok "man page not installed"
expect_exit 0 "pkg-config knows vigil" -- pkg-config --cflags vigil
expect_grep "$TMP/out" "-I$DEST$prefix/include" "cflags point at the installed header"

cp "$top_srcdir/plugins/example/step.c" "$top_srcdir/plugins/example/Makefile" "$TMP/"
expect_exit 0 "build the example plugin out of tree" -- make -C "$TMP" CFLAGS="-O2 -Wall -Wextra -Werror"
expect_exit 0 "vigil lists it" -- $VIGIL detectors --plugin-dir "$TMP"
expect_grep "$TMP/out" "step 1.0.0" "the step detector is listed"
expect_grep "$TMP/out" "plugin: $TMP/step.so" "from the plugin file"

printf 'timestamp,v\n1,10\n2,11\n3,30\n4,31\n5,29\n' > "$TMP/steps.csv"
cat > "$TMP/steps.json" <<JSON
{"name": "steps", "source": {"type": "csv", "path": "steps.csv"},
 "detectors": [{"detector": "step", "params": {"max_step": 5}}]}
JSON
expect_exit 0 "a job runs the plugin" -- $VIGIL run --no-store --plugin-dir "$TMP" "$TMP/steps.json"
expect_grep "$TMP/out" "1 anomaly to alert on" "exactly the jump is found"
expect_grep "$TMP/out" "jumped by 19 (more than 5)" "with the plugin's reason"
cat > "$TMP/steps-bad.json" <<JSON
{"name": "steps", "source": {"type": "csv", "path": "steps.csv"}, "detectors": [{"detector": "step"}]}
JSON
expect_exit 2 "the plugin's schema is enforced" -- $VIGIL validate --plugin-dir "$TMP" "$TMP/steps-bad.json"
expect_grep "$TMP/err" '$.detectors[0].params.max_step: required param is missing' "required param reported"
finish

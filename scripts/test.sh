#!/bin/sh
# test.sh - the README's second command: install what is missing, build with
# strict warnings, and run every test.  Options:
#   --sanitizers  also build with ASan+UBSan (build-asan/) and run the suite there
#   --valgrind    also run the suite under valgrind
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sanitizers=0
valgrind=0
for a in "$@"; do
	case $a in
	--sanitizers) sanitizers=1 ;;
	--valgrind) valgrind=1 ;;
	*) echo "test.sh: unknown option $a" >&2; exit 2 ;;
	esac
done
"$top/scripts/setup.sh" --test

run_suite() {
	dir=$1
	shift
	if ! (cd "$dir" && make -s -j"$(nproc)" check "$@"); then
		for f in "$dir"/tests/*.log "$dir"/test-suite.log; do
			[ -f "$f" ] && grep -qE "^(FAIL|ERROR)|: (FAIL|ERROR)|Failures: [1-9]|Errors: [1-9]" "$f" && {
				echo "---- $f"; tail -50 "$f"; }
		done
		return 1
	fi
}

"$top/scripts/build.sh" "$top/build" --enable-debug
echo "== make check (build/)"
run_suite "$top/build"
if [ $valgrind -eq 1 ]; then
	echo "== make check under valgrind (build/)"
	run_suite "$top/build" VIGIL_VALGRIND=1
fi
if [ $sanitizers -eq 1 ]; then
	"$top/scripts/build.sh" "$top/build-asan" --enable-debug --enable-sanitizers
	echo "== make check with ASan+UBSan (build-asan/)"
	run_suite "$top/build-asan"
fi
echo "== all tests passed"

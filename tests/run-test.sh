#!/bin/sh
# run-test.sh - automake LOG_COMPILER: runs a test program, under valgrind
# when VIGIL_VALGRIND=1 (shell tests read $VALGRIND and wrap vigil with it).
if [ "${VIGIL_VALGRIND:-0}" = 1 ]; then
	VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-fds=no"
	# valgrind runs code 20-50 times slower: Check's per-test timeout grows with it
	CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}
	export VALGRIND CK_TIMEOUT_MULTIPLIER
	case $1 in
	*.sh) exec "$@" ;;
	*) exec $VALGRIND "$@" ;;
	esac
fi
exec "$@"

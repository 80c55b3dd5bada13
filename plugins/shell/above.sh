#!/bin/sh
# above.sh - an external detector in POSIX shell and awk (docs/exec-protocol.md).
# The shell reads one request line at a time (awk alone may read ahead and
# wait for more input than vigil sends) and hands each to above.awk.
awk_script="$(dirname "$0")/above.awk"
while IFS= read -r line; do
	printf '%s\n' "$line" | awk -f "$awk_script"
done

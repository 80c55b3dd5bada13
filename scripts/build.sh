#!/bin/sh
# build.sh - configure and build vigil out of tree.
# Usage: scripts/build.sh BUILD_DIR [configure options...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
shift
cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ Makefile.am -nt configure ]; then
	./autogen.sh >/dev/null 2>&1 || ./autogen.sh
fi
mkdir -p "$dir"
cd "$dir"
opts="$*"
if [ ! -f Makefile ] || [ "$(cat .vigil-configure-opts 2>/dev/null)" != "$opts" ]; then
	# shellcheck disable=SC2086
	"$top/configure" --quiet $opts
	echo "$opts" > .vigil-configure-opts
fi
make -s -j"$(nproc)" >/dev/null

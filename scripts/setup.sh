#!/bin/sh
# setup.sh - install the Debian packages vigil needs, only those missing.
# Works as root, or as a user with sudo.  Usage: scripts/setup.sh [--test]
set -eu

# Build dependencies.
pkgs="gcc make autoconf automake libtool pkg-config
      libjansson-dev libcurl4-openssl-dev libgsl-dev libsqlite3-dev libpq-dev tzdata
      libmicrohttpd-dev libsystemd-dev"
# Test dependencies.
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs check libsubunit-dev valgrind binutils sqlite3 curl python3 python3-numpy"
	# real servers for the source tests (tests/source-*.sh), and their loopback helper
	pkgs="$pkgs prometheus influxdb postgresql graphite-web python3-whisper openssl"
fi

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "setup: missing packages:$missing" >&2
	echo "setup: run as root or install sudo, or install them yourself" >&2
	exit 1
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

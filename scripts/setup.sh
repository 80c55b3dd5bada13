#!/bin/sh
# setup.sh - install the Debian packages vigil needs, only those missing,
# then the web UI's npm packages (uPlot; with --test also playwright-core)
# with `npm ci`, exactly as package-lock.json pins them, when missing.
# Works as root, or as a user with sudo.  Usage: scripts/setup.sh [--test]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)

# Build dependencies.
pkgs="gcc make autoconf automake libtool pkg-config
      libjansson-dev libcurl4-openssl-dev libgsl-dev libsqlite3-dev libpq-dev tzdata
      libmicrohttpd-dev libsystemd-dev"
# Test dependencies.
if [ "${1:-}" = "--test" ]; then
	pkgs="$pkgs check libsubunit-dev valgrind binutils sqlite3 curl python3 python3-numpy"
	# real servers for the source tests (tests/source-*.sh), and their loopback helper
	pkgs="$pkgs prometheus influxdb postgresql graphite-web python3-whisper openssl"
	# the browser of the UI test (tests/ui.sh): Debian's, never one downloaded by a test tool
	pkgs="$pkgs chromium"
fi
# node and npm for the UI's packages: any node >= 18 will do (Debian's, or one already installed)
command -v npm >/dev/null 2>&1 || pkgs="$pkgs nodejs npm"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

# npm_packages: node_modules/ as package-lock.json says, when something is missing.
npm_packages() {
	need="$top/node_modules/uplot/dist/uPlot.iife.min.js"
	omit="--omit=dev"
	if [ "${1:-}" = "--test" ]; then
		need="$need $top/node_modules/playwright-core/package.json"
		omit=""
	fi
	for f in $need; do
		if [ ! -f "$f" ]; then
			echo "setup: npm ci in $top (the versions of package-lock.json)" >&2
			# shellcheck disable=SC2086
			(cd "$top" && npm ci --ignore-scripts --no-audit --no-fund $omit >/dev/null)
			return
		fi
	done
}

if [ -z "$missing" ]; then
	npm_packages "${1:-}"
	exit 0
fi

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
npm_packages "${1:-}"

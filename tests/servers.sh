# servers.sh - start real servers for the source tests, on 127.0.0.1, free
# ports, in $TMP; stop them by PID on exit.  Source it after lib.sh.
#
# A server that cannot start fails the test with the reason (its log):
# these tests never skip silently.

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
SERVER_PIDS=""
# Tests must reach 127.0.0.1 directly, whatever proxy the environment sets.
export no_proxy="127.0.0.1,localhost" NO_PROXY="127.0.0.1,localhost"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

stop_servers() {
	for p in $SERVER_PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $SERVER_PIDS; do
		# wait up to 5 s each, then insist
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null || true
	done
	SERVER_PIDS=""
	stop_postgres
	rm -rf "$TMP"
}

# PostgreSQL by the PID in its postmaster.pid: SIGQUIT is an immediate shutdown.
stop_postgres() {
	[ -n "${PG_DATA:-}" ] && [ -f "$PG_DATA/postmaster.pid" ] || return 0
	pid=$(head -1 "$PG_DATA/postmaster.pid")
	kill -QUIT "$pid" 2>/dev/null || true
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	kill -9 "$pid" 2>/dev/null || true
	return 0
}
trap stop_servers EXIT
trap 'exit 1' INT TERM

# Fail the whole test now: a server we need is not there.
server_fail() {
	echo "not ok - $1"
	[ -n "${2:-}" ] && [ -f "$2" ] && tail -20 "$2" | sed 's/^/#   /'
	echo "1..1"
	exit 1
}

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL STATUS SECONDS PID: poll until URL answers STATUS.
wait_http() {
	n=0
	while [ $n -lt $(($3 * 10)) ]; do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null)
		[ "$code" = "$2" ] && return 0
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# start_slack: the loopback Slack of tests/slack-server.py; sets SLACK_PORT, its
# requests are logged (one JSON line each) in $TMP/slack.log.
start_slack() {
	"$PY" "$top_srcdir/tests/slack-server.py" --port-file "$TMP/slack.port" --log "$TMP/slack.log" 2>"$TMP/slack.err" &
	SERVER_PIDS="$SERVER_PIDS $!"
	n=0
	while [ ! -s "$TMP/slack.port" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
	[ -s "$TMP/slack.port" ] || server_fail "the loopback Slack did not start" "$TMP/slack.err"
	SLACK_PORT=$(cat "$TMP/slack.port")
}

# start_fixture [--tls CERT KEY]: the loopback server of tests/http-fixture.py;
# sets FIX_PORT and FIX_LOG (a second call replaces neither the first server nor
# its log: it sets them for the new one).
start_fixture() {
	command -v "$PY" >/dev/null 2>&1 || server_fail "python3 is not installed (scripts/setup.sh --test)"
	n_fix=$(( ${n_fix:-0} + 1 ))
	FIX_LOG="$TMP/fixture$n_fix.log"
	: >"$FIX_LOG"
	"$PY" "$top_srcdir/tests/http-fixture.py" "$TMP/fixture$n_fix.port" "$FIX_LOG" --lifetime 600 "$@" \
		>"$TMP/fixture$n_fix.out" 2>&1 &
	FIX_PID=$!
	SERVER_PIDS="$SERVER_PIDS $FIX_PID"
	n=0
	while [ ! -s "$TMP/fixture$n_fix.port" ] && [ $n -lt 100 ]; do sleep 0.05; n=$((n + 1)); done
	[ -s "$TMP/fixture$n_fix.port" ] || server_fail "the loopback HTTP fixture did not start" "$TMP/fixture$n_fix.out"
	FIX_PORT=$(cat "$TMP/fixture$n_fix.port")
}

# start_prometheus OPENMETRICS_FILE: load the history with promtool, serve it; sets PROM_PORT.
start_prometheus() {
	command -v prometheus >/dev/null 2>&1 || server_fail "prometheus is not installed (scripts/setup.sh --test)"
	mkdir -p "$TMP/prom"
	if ! promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$1" "$TMP/prom/data" \
		>"$TMP/prom/promtool.log" 2>&1; then
		server_fail "promtool could not load the history" "$TMP/prom/promtool.log"
	fi
	echo 'global: {scrape_interval: 1m}' >"$TMP/prom/prometheus.yml"
	PROM_PORT=$(free_port)
	prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
		--storage.tsdb.retention.time=3650d --web.listen-address="127.0.0.1:$PROM_PORT" \
		>"$TMP/prom/prometheus.log" 2>&1 &
	PROM_PID=$!
	SERVER_PIDS="$SERVER_PIDS $PROM_PID"
	wait_http "http://127.0.0.1:$PROM_PORT/-/ready" 200 30 "$PROM_PID" ||
		server_fail "prometheus did not become ready on 127.0.0.1:$PROM_PORT" "$TMP/prom/prometheus.log"
}

# start_influxdb: influxd with a temp config bound to 127.0.0.1; sets INFLUX_PORT.
start_influxdb() {
	command -v influxd >/dev/null 2>&1 || server_fail "influxd is not installed (scripts/setup.sh --test)"
	d="$TMP/influx"
	mkdir -p "$d"
	INFLUX_PORT=$(free_port)
	cat >"$d/influxdb.conf" <<EOF
reporting-disabled = true
bind-address = "127.0.0.1:$(free_port)"
[meta]
  dir = "$d/meta"
[data]
  dir = "$d/data"
  wal-dir = "$d/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
EOF
	influxd -config "$d/influxdb.conf" >"$d/influxd.log" 2>&1 &
	INFLUX_PID=$!
	SERVER_PIDS="$SERVER_PIDS $INFLUX_PID"
	wait_http "http://127.0.0.1:$INFLUX_PORT/ping" 204 30 "$INFLUX_PID" ||
		server_fail "influxd did not answer /ping on 127.0.0.1:$INFLUX_PORT" "$d/influxd.log"
}

# start_postgres: a throwaway cluster (as an unprivileged user when we are
# root: PostgreSQL refuses to run as root); sets PG_PORT, PG_DATA, and
# PGHOST/PGPORT/PGUSER for psql.
start_postgres() {
	[ -x "$PGBIN/initdb" ] || server_fail "PostgreSQL is not installed in $PGBIN (scripts/setup.sh --test)"
	d="$TMP/pg"
	mkdir -p "$d"
	AS=""
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || server_fail "running as root and there is no 'postgres' user to run PostgreSQL"
		AS="runuser -u postgres --"
		chmod 711 "$TMP"
		chown postgres "$d"
	fi
	PG_DATA="$d/data"
	if ! $AS "$PGBIN/initdb" -D "$PG_DATA" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 \
		>"$d/initdb.log" 2>&1; then
		server_fail "initdb failed" "$d/initdb.log"
	fi
	PG_PORT=$(free_port)
	if ! $AS "$PGBIN/pg_ctl" -D "$PG_DATA" -l "$d/postgres.log" -w -t 30 \
		-o "-k '' -p $PG_PORT -c listen_addresses=127.0.0.1 -c fsync=off" start >"$d/pg_ctl.log" 2>&1; then
		cat "$d/pg_ctl.log" >>"$d/postgres.log"
		server_fail "PostgreSQL did not start on 127.0.0.1:$PG_PORT" "$d/postgres.log"
	fi
	export PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres
}

# start_graphite WHISPER_SCRIPT: graphite-web (Debian's, on /usr/bin/python3) over whisper files
# that WHISPER_SCRIPT (Python, run in the storage dir) creates; sets GRAPHITE_PORT.
start_graphite() {
	d="$TMP/graphite"
	mkdir -p "$d/whisper" "$d/log"
	/usr/bin/python3 -c 'import whisper, graphite' 2>"$d/import.log" ||
		server_fail "graphite-web and python3-whisper are not installed (scripts/setup.sh --test)" "$d/import.log"
	(cd "$d" && /usr/bin/python3 -) <"$1" >"$d/whisper.log" 2>&1 || server_fail "could not write the whisper files" "$d/whisper.log"
	cat >"$d/vigil_graphite_settings.py" <<PYEOF
SECRET_KEY = 'vigil-test'
STORAGE_DIR = '$d'
WHISPER_DIR = '$d/whisper'
STANDARD_DIRS = ['$d/whisper']
LOG_DIR = '$d/log'
INDEX_FILE = '$d/index'
DATABASES = {'default': {'NAME': '$d/graphite.db', 'ENGINE': 'django.db.backends.sqlite3'}}
TAGDB = ''
PYEOF
	cat >"$d/serve.py" <<'PYEOF'
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ['GRAPHITE_SETTINGS_MODULE'] = 'vigil_graphite_settings'
os.environ['DJANGO_SETTINGS_MODULE'] = 'graphite.settings'
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
from graphite.wsgi import application
make_server('127.0.0.1', int(sys.argv[2]), application, handler_class=Quiet).serve_forever()
PYEOF
	GRAPHITE_PORT=$(free_port)
	/usr/bin/python3 "$d/serve.py" "$d" "$GRAPHITE_PORT" >"$d/serve.log" 2>&1 &
	GRAPHITE_PID=$!
	SERVER_PIDS="$SERVER_PIDS $GRAPHITE_PID"
	wait_http "http://127.0.0.1:$GRAPHITE_PORT/render?target=none&format=json" 200 30 "$GRAPHITE_PID" ||
		server_fail "graphite-web did not answer on 127.0.0.1:$GRAPHITE_PORT" "$d/serve.log"
}

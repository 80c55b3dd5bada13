#!/bin/sh
# api-hostile.sh - the HTTP API against hostile clients (issue 14): raw
# request targets checked before decoding (NUL, control characters, bad
# escapes, repeated parameters), out-of-range numbers refused, not clamped,
# JSON errors, and a slowloris attack that must not take /healthz down.
. "$top_srcdir/tests/lib.sh"
command -v curl >/dev/null 2>&1 || { not_ok "curl is required (scripts/setup.sh --test installs it)"; finish; }
command -v python3 >/dev/null 2>&1 || { not_ok "python3 is required"; finish; }

D=$TMP/specs S=$TMP/state
mkdir -p "$D" "$S"
cp "$top_srcdir/specs/examples/cpu-incident.json" "$D/cpu.json"
cp -r "$top_srcdir/specs/examples/data" "$D/"
sed -i 's/"name": "cpu-incident"/"name": "cpu"/' "$D/cpu.json"
printf 'tok-%s\n' "$$" >"$TMP/token"
chmod 600 "$TMP/token"
TOKEN="tok-$$"

VIGIL_LOG_LEVEL=info $VIGIL serve --specs "$D" --state "$S" --listen 127.0.0.1:0 --dry-run \
	--token-file "$TMP/token" >"$TMP/daemon.out" 2>"$TMP/daemon.err" &
DPID=$!
trap 'kill $DPID 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while [ ! -s "$S/serve.json" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
URL=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$S/serve.json")
PORT=${URL##*:}
[ -n "$URL" ] && ok "the daemon started" || { not_ok "the daemon did not start"; cat "$TMP/daemon.err"; finish; }
i=0
until curl -s "$URL/api/jobs/cpu" | grep -q '"name":"cpu"' || [ $i -ge 300 ]; do sleep 0.1; i=$((i + 1)); done

# expect_http CODE DESC PATH [curl args]: the answer must be JSON {"error": ...} unless 2xx
expect_http() {
	want=$1 desc=$2 p=$3
	shift 3
	code=$(curl -s -o "$TMP/body" -w '%{http_code}' --max-time 20 "$@" "$URL$p")
	if [ "$code" != "$want" ]; then
		not_ok "$desc: HTTP $code, expected $want"
		sed 's/^/#   /' "$TMP/body" | head -5
	elif [ "$want" -ge 400 ] && ! python3 -c 'import json,sys; assert "error" in json.load(open(sys.argv[1]))' \
		"$TMP/body" 2>/dev/null; then
		not_ok "$desc: the $code answer is not a JSON error: $(head -c 200 "$TMP/body")"
	else
		ok "$desc ($code)"
	fi
}

# --- raw request targets --------------------------------------------------
expect_http 200 "the job" /api/jobs/cpu
expect_http 400 "a NUL in the path" "/api/jobs/cpu%00"
expect_grep "$TMP/body" '"error":"control character in the path"' "is named"
expect_http 400 "a control character in the path" "/api/jobs/cpu%0a"
expect_http 400 "a malformed escape" "/api/jobs/cpu%zz"
expect_grep "$TMP/body" "malformed %-escape in the path" "is named"
expect_http 400 "a truncated escape" "/api/jobs/cpu%4"
expect_http 400 "a control character in a parameter" "/api/runs?job=cpu%01"
expect_grep "$TMP/body" "control character in the query" "is named"
expect_http 400 "a repeated parameter" "/api/runs?limit=5&limit=6"
expect_grep "$TMP/body" "query parameter 'limit' given more than once" "is named"
expect_http 400 "a repeated parameter, encoded" "/api/runs?limit=5&li%6dit=6"
expect_http 200 "an escaped job name that is fine" "/api/jobs/c%70u"

# --- numbers are checked, never clamped ------------------------------------
expect_http 400 "a run id past int64" /api/runs/99999999999999999999
expect_grep "$TMP/body" "is not a run id" "is refused"
expect_http 400 "before= past int64" "/api/runs?before=99999999999999999999"
expect_http 400 "before=0" "/api/runs?before=0"
expect_http 400 "limit=+5" "/api/runs?limit=%2B5"
expect_http 400 "limit past the maximum" "/api/runs?limit=1001"
expect_http 400 "limit with a space" "/api/runs?limit=5%20"
expect_http 200 "before=1" "/api/runs?before=1"

# --- auth compares the whole token ------------------------------------------
expect_http 401 "a token with a suffix" /api/jobs/cpu/run -X POST -H "Authorization: Bearer ${TOKEN}x"
expect_http 401 "a token prefix" /api/jobs/cpu/run -X POST -H "Authorization: Bearer tok-"
expect_http 202 "the token" /api/jobs/cpu/run -X POST -H "Authorization: Bearer $TOKEN"

# --- slowloris: 70 slow connections from 127.0.0.2 --------------------------
python3 "$top_srcdir/tests/slow-client.py" 127.0.0.1 "$PORT" 127.0.0.2 70 3 60 >"$TMP/slow.out" 2>&1 &
SPID=$!
sleep 1
healthy=0 failed=0
while kill -0 $SPID 2>/dev/null; do
	if [ "$(curl -s --max-time 10 "$URL/healthz")" = ok ]; then healthy=$((healthy + 1)); else failed=$((failed + 1)); fi
	sleep 0.5
done
wait $SPID
[ $healthy -ge 3 ] && [ $failed -eq 0 ] && ok "/healthz answered during the attack ($healthy times)" ||
	not_ok "/healthz during the attack: $healthy answers, $failed failures"
expect_grep "$TMP/slow.out" "closed 70 of 70" "the server closed or refused every slow connection"
expect_grep "$TMP/daemon.err" "that sent no complete request within 10s" "cutting them is logged"
n=$(grep -c "vigil\[api\] warning" "$TMP/daemon.err")
[ "$n" -le 12 ] && ok "warnings are rate-limited ($n lines)" || not_ok "$n api warning lines"
expect_http 200 "/healthz after the attack" /healthz
finish

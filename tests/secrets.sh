#!/bin/sh
# secrets.sh - resolved secrets never leave vigil (issue 14, items 1 and 3):
# a loopback server that answers 400 echoing the request (headers, target
# with query) stands in for a careless upstream; the tokens must appear
# nowhere in stdout, stderr, the store's files or the API's answers, and the
# API shows credential-looking headers and query parameters redacted.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
command -v curl >/dev/null 2>&1 || { not_ok "curl is required (scripts/setup.sh --test installs it)"; finish; }

start_fixture
BASE="http://127.0.0.1:$FIX_PORT"
D=$TMP/specs S=$TMP/state
mkdir -p "$D" "$S"
export PROM_TOKEN="prom-tok-7f3a91c2e5" API_KEY="key-4b8d22aa90" HDR_KEY="hdr-c0ffee1234"
export BASIC_PW="pw-basic-5e6f77" DATA_URL="$BASE/reflect/data?api_key=$API_KEY&x=1"
printf 'file-tok-99ab7c\n' >"$TMP/token"
SECRETS="$PROM_TOKEN $API_KEY $HDR_KEY $BASIC_PW file-tok-99ab7c literal-0123"

cat >"$D/prom.json" <<JSON
{"name": "prom", "window": "1h", "source": {"type": "prometheus", "url": "$BASE/reflect",
 "query": "up", "bearer_token": "\${env:PROM_TOKEN}", "retries": 0,
 "headers": {"X-Api-Key": "\${env:HDR_KEY}", "Api-Key": "\${file:$TMP/token}"}},
 "detectors": [{"detector": "threshold", "params": {"upper": 1}}]}
JSON
cat >"$D/web.json" <<JSON
{"name": "web", "window": "1h", "source": {"type": "http", "url": "\${env:DATA_URL}",
 "headers": {"X-Api-Key": "\${env:HDR_KEY}", "Api-Key": "\${file:$TMP/token}", "Accept-Language": "en"},
 "series": "/s", "points": "/p", "time": "/t", "value": "/v", "retries": 0},
 "detectors": [{"detector": "threshold", "params": {"upper": 1}}]}
JSON
cat >"$D/basic.json" <<JSON
{"name": "basic", "window": "1h", "source": {"type": "prometheus", "query": "up",
 "url": "$BASE/reflect/x?access_token=literal-0123&page=2", "username": "bob",
 "password": "\${env:BASIC_PW}", "retries": 0}, "detectors": [{"detector": "threshold", "params": {"upper": 1}}]}
JSON

# no_secret FILE... DESC: none of the secrets (nor Basic's base64) is in the files.
no_secret() {
	desc=$1
	shift
	b64=$(printf 'bob:%s' "$BASIC_PW" | base64)
	for s in $SECRETS "$b64"; do
		if grep -rqaF -- "$s" "$@"; then
			not_ok "$desc: '$s' found"
			grep -raF -- "$s" "$@" | head -5 | sed 's/^/#   /'
			return
		fi
	done
	ok "$desc"
}

for j in prom web basic; do
	expect_exit 1 "$j: a run against the reflecting server fails" -- $VIGIL run --state "$S" "$D/$j.json"
	cat "$TMP/out" "$TMP/err" >"$TMP/run-$j"
	no_secret "$j: no secret in stdout or stderr" "$TMP/run-$j"
done
expect_grep "$TMP/run-prom" 'HTTP 400 bad_data' "the upstream error is still quoted"
expect_grep "$TMP/run-prom" 'Authorization: Bearer ${env:PROM_TOKEN}' "the token is shown as its reference"
expect_grep "$FIX_LOG" "auth=Bearer $PROM_TOKEN" "and the server did get the real token"
expect_grep "$TMP/run-web" 'data?api_key=${env:DATA_URL}' "a key in a URL query is shown as the reference of the URL"
expect_grep "$TMP/run-prom" 'X-Api-Key: ${env:HDR_KEY}' "a header value is shown as its reference"
expect_grep "$TMP/run-prom" "Api-Key: \${file:$TMP/token}" "so is a value read from a file"
expect_grep "$TMP/run-basic" 'Authorization: Basic ${env:BASIC_PW}' "Basic credentials are shown as the password's reference"
# runs.error: the store's files (database, WAL) hold no secret
no_secret "no secret anywhere in the state directory" "$S"
expect_exit 0 "vigil runs --json" -- $VIGIL runs --state "$S" --json
no_secret "nor in vigil runs" "$TMP/out" "$TMP/err"

# --- the API: answers and redaction by policy ------------------------------
VIGIL_LOG_LEVEL=debug $VIGIL serve --specs "$D" --state "$S" --listen 127.0.0.1:0 --dry-run \
	>"$TMP/daemon.out" 2>"$TMP/daemon.err" &
DPID=$!
SERVER_PIDS="$SERVER_PIDS $DPID"
n=0
while [ ! -s "$S/serve.json" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
URL=$(sed -n 's/.*"url": "\(.*\)".*/\1/p' "$S/serve.json")
for p in /api/runs "/api/runs?job=prom" /api/jobs /api/jobs/prom /api/jobs/web /api/jobs/basic /api/anomalies; do
	curl -s --max-time 10 "$URL$p" >"$TMP/api-$(printf %s "$p" | tr -c 'a-z0-9' '_')"
done
no_secret "no secret in any API answer" "$TMP"/api-*
expect_grep "$TMP/api-_api_runs" 'Bearer ${env:PROM_TOKEN}' "GET /api/runs shows the stored error with the reference"
expect_grep "$TMP/api-_api_jobs_web" '"X-Api-Key":"[redacted]"' "X-Api-Key is redacted"
expect_grep "$TMP/api-_api_jobs_web" '"Api-Key":"[redacted]"' "Api-Key is redacted"
expect_grep "$TMP/api-_api_jobs_web" '"Accept-Language":"en"' "an ordinary header is shown"
expect_grep "$TMP/api-_api_jobs_basic" 'access_token=[redacted]&page=2' "access_token= in a URL is redacted, other parameters kept"
expect_grep "$TMP/run-basic" 'access_token=[redacted]&page=2' "a literal credential in a URL is redacted in errors too"
# the daemon's own runs of the three jobs (its log at debug level) leak nothing either
kill "$DPID" 2>/dev/null
n=0
while kill -0 "$DPID" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
no_secret "no secret in the daemon's log" "$TMP/daemon.out" "$TMP/daemon.err"
finish

#!/bin/sh
# source-http.sh - the generic HTTP JSON source, and the HTTP client shared by
# every HTTP source, against a loopback server written for the test
# (tests/http-fixture.py): mapping, pagination, window placeholders, one
# connection per fetch, gzip, auth from secrets, proxies, retries, and every
# kind of bad answer (slow, garbage, HTML, truncated, huge, wrong types).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning
start_fixture
BASE="http://127.0.0.1:$FIX_PORT"
AT=2026-11-22T00:00:00Z

# job NAME SOURCE_JSON: write a spec with that source and a detector that never flags.
job() {
	cat >"$TMP/$1.json" <<EOF
{"version": 1, "name": "$1", "window": "1d", "source": $2,
 "detectors": [{"detector": "threshold", "params": {"upper": 1e300}}]}
EOF
}
MAP='"series": "/data/series", "points": "/points", "time": "/t", "value": "/v", "name": "/name", "label_object": "/tags"'
points_of() { grep -c "^\"$1" "$TMP/out"; }

# --- mapping and cursor pagination ---------------------------------------
job cursor "{\"type\": \"http\", \"url\": \"$BASE/api/cursor?from={from}&to={to}\", $MAP, \"next_cursor\": \"/next\"}"
expect_exit 0 "validate an http source" -- $VIGIL validate "$TMP/cursor.json"
: >"$FIX_LOG"
expect_exit 0 "cursor pagination" -- $VIGIL export-scores --at $AT --out - "$TMP/cursor.json"
expect_eq "$(points_of 'req{host=""h0""}')" 12 "3 pages x 4 points of series h0 arrive"
expect_eq "$(points_of 'req{host=""h1""}')" 12 "and of series h1"
expect_grep "$TMP/out" '"req{host=""h1""}",2026-11-21T22:31:00Z,111,' "the last point of the last page, with its value"
expect_grep "$TMP/out" '"req{host=""h0""}",2026-11-21T22:20:00Z,0,' "the first point of the first page"
expect_eq "$(wc -l <"$FIX_LOG")" 3 "three requests for three pages"
expect_eq "$(cut -d' ' -f1 "$FIX_LOG" | sort -u | wc -l)" 1 "all pages over one connection"
expect_grep "$FIX_LOG" "cursor=2" "the cursor is sent back"
expect_grep "$FIX_LOG" "from=1795219200&to=1795305600" "the window reaches the URL placeholders"
expect_grep "$FIX_LOG" "ae=deflate, gzip" "gzip is asked for"
expect_grep "$FIX_LOG" "ua=vigil/" "vigil names itself"

expect_exit 0 "run --json with labels" -- $VIGIL run --no-store --json --at $AT "$TMP/cursor.json"
expect_grep "$TMP/out" '"points": 24' "every point counted"
expect_grep "$TMP/out" '"series": 2' "two labelled series"

job link "{\"type\": \"http\", \"url\": \"$BASE/api/link?page=0\", $MAP, \"next_url\": \"/links/next\"}"
expect_exit 0 "next-link pagination (relative links)" -- $VIGIL export-scores --at $AT --out - "$TMP/link.json"
expect_eq "$(points_of 'req{host=""h0""}')" 12 "every page followed"

job nowin "{\"type\": \"http\", \"url\": \"$BASE/api/cursor?from={from_iso}\", $MAP}"
sed -i 's/"window": "1d", //' "$TMP/nowin.json"
expect_exit 1 "a window placeholder without a window" -- $VIGIL run --no-store "$TMP/nowin.json"
expect_grep "$TMP/err" "the URL uses '{from_iso}' but the job has no \"window\"" "says which placeholder"

# --- pagination that goes wrong ------------------------------------------
job loop "{\"type\": \"http\", \"url\": \"$BASE/api/loop\", $MAP, \"next_cursor\": \"/next\"}"
expect_exit 1 "a cursor that repeats" -- $VIGIL run --no-store --at $AT "$TMP/loop.json"
expect_grep "$TMP/err" "the server sent the same next cursor twice (a pagination loop)" "pagination loop reported"
job endless "{\"type\": \"http\", \"url\": \"$BASE/api/endless\", $MAP, \"next_cursor\": \"/next\", \"max_pages\": 5}"
expect_exit 1 "pages beyond the cap" -- $VIGIL run --no-store --at $AT "$TMP/endless.json"
expect_grep "$TMP/err" "(page 5): more than 5 pages (raise source.max_pages" "page cap reported"
job offsite "{\"type\": \"http\", \"url\": \"$BASE/api/offsite\", $MAP, \"next_url\": \"/links/next\"}"
expect_exit 1 "a next link to another server" -- $VIGIL run --no-store --at $AT "$TMP/offsite.json"
expect_grep "$TMP/err" "the next page URL points to another server" "not followed"

# --- bad data --------------------------------------------------------------
job wrong "{\"type\": \"http\", \"url\": \"$BASE/api/wrongtypes\", $MAP}"
expect_exit 1 "a value of the wrong type" -- $VIGIL run --no-store --at $AT "$TMP/wrong.json"
expect_grep "$TMP/err" "/data/series/1/points/2/v: the value must be a number, found an object" "its JSON path is named"
job badtime "{\"type\": \"http\", \"url\": \"$BASE/api/badtime\", $MAP}"
expect_exit 1 "a time that is not one" -- $VIGIL run --no-store --at $AT "$TMP/badtime.json"
expect_grep "$TMP/err" "/data/series/0/points/1/t: 'yesterday' is not a timestamp" "bad time named"
job empty "{\"type\": \"http\", \"url\": \"$BASE/api/empty\", $MAP, \"next_cursor\": \"/next\"}"
expect_exit 0 "an empty answer" -- $VIGIL run --no-store --json --at $AT "$TMP/empty.json"
expect_grep "$TMP/out" '"outcome": "no_data"' "is no data, not a clean run"
job nomap "{\"type\": \"http\", \"url\": \"$BASE/api/cursor\", \"series\": \"/data/series\", \"points\": \"/pts\", \"time\": \"/t\", \"value\": \"/v\"}"
expect_exit 1 "a mapping that finds no points" -- $VIGIL run --no-store --at $AT "$TMP/nomap.json"
expect_grep "$TMP/err" "/data/series/0: no points at '/pts'" "the mapping error is named"

job garbage "{\"type\": \"http\", \"url\": \"$BASE/garbage\", $MAP}"
expect_exit 1 "garbage instead of JSON" -- $VIGIL run --no-store --at $AT "$TMP/garbage.json"
expect_grep "$TMP/err" "expected JSON, got 24 bytes of something else (text/plain): 'this is not json at all '" "garbage reported"
job html "{\"type\": \"http\", \"url\": \"$BASE/html\", $MAP}"
expect_exit 1 "an HTML page" -- $VIGIL run --no-store --at $AT "$TMP/html.json"
expect_grep "$TMP/err" "expected JSON, got an HTML/XML page (text/html; charset=utf-8): '<!DOCTYPE html> <html><head><title>Login required" "HTML reported with its title"
job trunc "{\"type\": \"http\", \"url\": \"$BASE/truncated\", $MAP}"
expect_exit 1 "truncated JSON" -- $VIGIL run --no-store --at $AT "$TMP/trunc.json"
expect_grep "$TMP/err" "(truncated?)" "truncation reported"
job huge "{\"type\": \"http\", \"url\": \"$BASE/huge\", $MAP, \"max_response_bytes\": 8388608}"
expect_exit 1 "an endless body" -- $VIGIL run --no-store --at $AT "$TMP/huge.json"
expect_grep "$TMP/err" "response larger than 8388608 bytes (raise source.max_response_bytes" "the cap stops it"

# --- transport: retries, timeouts, refusals --------------------------------
job flaky "{\"type\": \"http\", \"url\": \"$BASE/flaky/a\", $MAP, \"retries\": 2, \"retry_backoff\": \"50ms\"}"
: >"$FIX_LOG"
expect_exit 0 "500 twice, then success" -- $VIGIL export-scores --at $AT --out - "$TMP/flaky.json"
expect_eq "$(points_of 'req{host=""h0""}')" 4 "the data of the third attempt"
expect_eq "$(grep -c /flaky/a "$FIX_LOG")" 3 "three attempts"
expect_grep "$TMP/err" "HTTP 500; retried after" "retries are logged"
job flaky1 "{\"type\": \"http\", \"url\": \"$BASE/flaky/b\", $MAP, \"retries\": 1, \"retry_backoff\": \"50ms\"}"
expect_exit 1 "500 twice with one retry" -- $VIGIL run --no-store --at $AT "$TMP/flaky1.json"
expect_grep "$TMP/err" "HTTP 500: 'internal error' (after 2 attempts)" "the last status and the attempts"
job down5 "{\"type\": \"http\", \"url\": \"$BASE/always500\", $MAP, \"retries\": 1, \"retry_backoff\": \"10ms\"}"
expect_exit 1 "a 503 with an HTML body" -- $VIGIL run --no-store --at $AT "$TMP/down5.json"
expect_grep "$TMP/err" "HTTP 503: '<html><head><title>503 Service Unavailable</title>" "status and excerpt"
job wrong4 "{\"type\": \"http\", \"url\": \"$BASE/api/auth\", $MAP, \"retries\": 3}"
: >"$FIX_LOG"
expect_exit 1 "a 401 is not retried" -- $VIGIL run --no-store --at $AT "$TMP/wrong4.json"
expect_eq "$(wc -l <"$FIX_LOG")" 1 "one request only"
expect_grep "$TMP/err" "HTTP 401: '{\"error\": \"unauthorized\"}'" "401 reported"
job slow "{\"type\": \"http\", \"url\": \"$BASE/slow\", $MAP, \"timeout\": \"500ms\", \"retries\": 0}"
t0=$(date +%s)
expect_exit 1 "a server slower than the timeout" -- $VIGIL run --no-store --at $AT "$TMP/slow.json"
expect_grep "$TMP/err" "timed out (Operation timed out after " "timeout reported"
[ $(($(date +%s) - t0)) -lt 8 ] && ok "gave up before the server answered" || not_ok "waited for the slow server"
port=$(free_port)
job refused "{\"type\": \"http\", \"url\": \"http://127.0.0.1:$port/api/x\", $MAP, \"retries\": 1, \"retry_backoff\": \"10ms\"}"
expect_exit 1 "nobody listening" -- $VIGIL run --no-store --at $AT "$TMP/refused.json"
expect_grep "$TMP/err" "http http://127.0.0.1:$port/api/x (page 1): Failed to connect to 127.0.0.1 port $port" "refusal names source and URL"
expect_grep "$TMP/err" "(after 2 attempts)" "connection errors are retried"

# --- gzip, auth, secrets, proxy ------------------------------------------
job gz "{\"type\": \"http\", \"url\": \"$BASE/api/gzip\", $MAP}"
expect_exit 0 "a gzip-compressed body" -- $VIGIL export-scores --at $AT --out - "$TMP/gz.json"
expect_eq "$(points_of 'req{host=""h1""}')" 4 "is decompressed"
job auth "{\"type\": \"http\", \"url\": \"$BASE/api/auth\", $MAP, \"bearer_token\": \"\${env:FIX_TOKEN}\"}"
: >"$FIX_LOG"
expect_exit 0 "a bearer token from the environment" -- env FIX_TOKEN=s3cret-token $VIGIL run --no-store --json --at $AT "$TMP/auth.json"
expect_grep "$FIX_LOG" "auth=Bearer s3cret-token" "the token is sent"
expect_no_grep "$TMP/out" "s3cret" "and never printed"
expect_exit 1 "a token variable that is not set" -- env -u FIX_TOKEN $VIGIL run --no-store --at $AT "$TMP/auth.json"
expect_grep "$TMP/err" "bearer_token" "the failing key is named"
expect_grep "$TMP/err" "FIX_TOKEN" "and the reference"
job authurl "{\"type\": \"http\", \"url\": \"http://user:\${env:FIX_TOKEN}@127.0.0.1:$FIX_PORT/api/gzip?k=\${env:FIX_TOKEN}\", $MAP, \"retries\": 0}"
sed -i 's|/api/gzip|/html|' "$TMP/authurl.json"
expect_exit 1 "a URL holding secrets, failing" -- env FIX_TOKEN=s3cret-token $VIGIL run --no-store --at $AT "$TMP/authurl.json"
expect_no_grep "$TMP/err" "s3cret" "the error does not show them"
expect_grep "$TMP/err" "http http://127.0.0.1:$FIX_PORT/html (page 1)" "the URL is shown without userinfo or query"
job lit "{\"type\": \"http\", \"url\": \"$BASE/api/auth\", $MAP, \"bearer_token\": \"s3cret-token\"}"
expect_exit 2 "a literal token in the spec" -- $VIGIL validate "$TMP/lit.json"
expect_grep "$TMP/err" '$.source.bearer_token: must be a ${env:NAME} or ${file:PATH} reference, not the secret itself' "is refused"

job proxied "{\"type\": \"http\", \"url\": \"http://vigil-proxy-test.invalid/api/cursor\", $MAP, \"next_cursor\": \"/next\", \"retries\": 0}"
: >"$FIX_LOG"
expect_exit 0 "through a proxy from http_proxy" -- env http_proxy="http://127.0.0.1:$FIX_PORT" no_proxy= NO_PROXY= $VIGIL export-scores --at $AT --out - "$TMP/proxied.json"
expect_eq "$(points_of 'req{host=""h0""}')" 12 "every page through the proxy"
expect_grep "$FIX_LOG" "GET http://vigil-proxy-test.invalid/api/cursor?cursor=1" "the proxy saw the absolute URLs"

# --- TLS: verified by default ------------------------------------------------
command -v openssl >/dev/null 2>&1 || server_fail "openssl is not installed (scripts/setup.sh --test)"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >"$TMP/openssl.log" 2>&1 ||
	server_fail "could not make a test certificate" "$TMP/openssl.log"
start_fixture --tls "$TMP/cert.pem" "$TMP/key.pem"
TLS="https://127.0.0.1:$FIX_PORT"
job tls "{\"type\": \"http\", \"url\": \"$TLS/api/gzip\", $MAP, \"retries\": 0}"
expect_exit 1 "a self-signed certificate" -- $VIGIL run --no-store --at $AT "$TMP/tls.json"
expect_grep "$TMP/err" "http $TLS/api/gzip (page 1): SSL certificate problem: self-signed certificate" "is refused by default"
job tlsca "{\"type\": \"http\", \"url\": \"$TLS/api/gzip\", $MAP, \"ca_file\": \"cert.pem\"}"
expect_exit 0 "trusted through ca_file (relative to the spec)" -- $VIGIL export-scores --at $AT --out - "$TMP/tlsca.json"
expect_eq "$(points_of 'req{host=""h0""}')" 4 "the data arrives over TLS"
job tlsoff "{\"type\": \"http\", \"url\": \"$TLS/api/gzip\", $MAP, \"tls_verify\": false}"
expect_exit 0 "tls_verify false" -- $VIGIL export-scores --at $AT --out - "$TMP/tlsoff.json"

# --- spec checking ---------------------------------------------------------
job badspec "{\"type\": \"http\", \"url\": \"ftp://x/{since}\", \"points\": \"data\", \"time\": \"/t\", \"valeu\": \"/v\", \"retries\": 99, \"timeout\": \"soon\", \"next_cursor\": \"/n\", \"next_url\": \"/u\"}"
expect_exit 2 "an http source full of mistakes" -- $VIGIL validate "$TMP/badspec.json"
expect_grep "$TMP/err" '$.source.url: must start with http:// or https://' "scheme"
expect_grep "$TMP/err" "\$.source.url: unknown placeholder '{since}'" "placeholder"
expect_grep "$TMP/err" '$.source.points: must be a JSON pointer' "pointer syntax"
expect_grep "$TMP/err" '$.source.value: is required' "value pointer"
expect_grep "$TMP/err" "\$.source.valeu: unknown key for a http source (did you mean 'value'?)" "typo"
expect_grep "$TMP/err" '$.source.retries: must be an integer in [0, 10]' "retries"
expect_grep "$TMP/err" '$.source.timeout: must be a duration' "timeout"
expect_grep "$TMP/err" 'use either "next_cursor" or "next_url"' "one pagination style"
finish

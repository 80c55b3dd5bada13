#!/bin/sh
# store-pg.sh - the PostgreSQL store: the store unit tests (check_store,
# check_claim, check_outbox, check_pushed) run again against a throwaway PostgreSQL
# (each test in a database of its own), then the CLI's errors for a server
# that is unreachable or refuses the password (exit 3, naming host and
# database, never the password), and a connection string given as a
# ${env:} reference or in $VIGIL_STORE.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/servers.sh"
export VIGIL_LOG_LEVEL=warning
start_postgres
export VIGIL_TEST_PG="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"

for t in check_store check_claim check_outbox check_pushed; do
	if ${VALGRIND:-} "$top_builddir/tests/$t" >"$TMP/$t.log" 2>&1; then
		ok "$t passes on PostgreSQL"
	else
		not_ok "$t fails on PostgreSQL"
		grep -v '^Running suite' "$TMP/$t.log" | tail -15 | sed 's/^/#   /'
	fi
done
unset VIGIL_TEST_PG

# a password user; everyone else stays trusted
PSQL="$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p $PG_PORT -U postgres"
$PSQL -c "CREATE ROLE pwuser LOGIN PASSWORD 'right-horse-battery'" -c "CREATE DATABASE pwdb OWNER pwuser" postgres ||
	server_fail "cannot create the password user"
{ echo "host all pwuser 127.0.0.1/32 scram-sha-256"; cat "$PG_DATA/pg_hba.conf"; } >"$TMP/hba"
cat "$TMP/hba" >"$PG_DATA/pg_hba.conf"
$PSQL -c "SELECT pg_reload_conf()" postgres >/dev/null || server_fail "cannot reload pg_hba.conf"

GOOD="postgresql://pwuser:right-horse-battery@127.0.0.1:$PG_PORT/pwdb"
BAD="postgresql://pwuser:wrong-horse-staple@127.0.0.1:$PG_PORT/pwdb"
expect_exit 0 "the store as a literal URI" -- $VIGIL runs --store "$GOOD"
expect_eq "$($PSQL -At -c "SELECT version FROM schema_version" pwdb)" 7 "migrated to the latest schema (7) on first use"
expect_eq "$($PSQL -At -c "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('detector_bundles', 'detector_versions', 'detector_nodes')" pwdb)" 3 "with the pushed detectors' tables"
expect_exit 0 "the store as an \${env:} reference" -- env PG_URL="$GOOD" $VIGIL runs --store '${env:PG_URL}'
expect_exit 0 "the store from VIGIL_STORE" -- env VIGIL_STORE="$GOOD" $VIGIL runs

expect_exit 3 "a wrong password is an environment error" -- env PG_URL="$BAD" $VIGIL runs --store '${env:PG_URL}'
expect_grep "$TMP/err" "postgresql 127.0.0.1:$PG_PORT/pwdb" "the error names host, port and database"
expect_grep "$TMP/err" "password authentication failed" "the error says why"
expect_no_grep "$TMP/err" "wrong-horse-staple" "the error never shows the password"

FREE=$(free_port)
expect_exit 3 "an unreachable server is an environment error" -- $VIGIL runs --store "postgresql://pwuser:wrong-horse-staple@127.0.0.1:$FREE/pwdb"
expect_grep "$TMP/err" "postgresql 127.0.0.1:$FREE/pwdb: cannot connect" "the error names the server"
expect_no_grep "$TMP/err" "wrong-horse-staple" "the error never shows the password"
expect_exit 3 "an unset reference is an environment error" -- env -u PG_URL $VIGIL runs --store '${env:PG_URL}'
expect_grep "$TMP/err" "PG_URL" "the error names the variable"

# a store from a newer vigil is refused
$PSQL -c "UPDATE schema_version SET version = 99" pwdb
expect_exit 3 "a newer schema is refused" -- $VIGIL runs --store "$GOOD"
expect_grep "$TMP/err" "schema version 99, newer than this vigil understands" "the refusal says why"
expect_no_grep "$TMP/err" "right-horse-battery" "the refusal never shows the password"
finish

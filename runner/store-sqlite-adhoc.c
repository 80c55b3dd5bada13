/*
 * store-sqlite-adhoc.c - ad-hoc runs in the SQLite store (schema version 6,
 * store.h: struct store_adhoc_ops).  The run is an ordinary row of runs
 * (job "adhoc:NAME", trigger "adhoc"), so leases, heartbeats and fenced
 * completion are the daemon's usual ones; adhoc_runs holds the spec text
 * and, once the run landed, its results.
 */
#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
#include "xmalloc.h"
#include "banned.h"

/* The runs an ad-hoc claim may take: the partial index runs_adhoc_waiting covers them. */
#define ADHOC_CLAIMABLE "trigger_kind = 'adhoc' AND state IN ('pending', 'interrupted', 'running') " \
	"AND (state <> 'running' OR lease_until < ?1)"

static char *column_dup(sqlite3_stmt *stmt, int col)
{
	const char *s = (const char *)sqlite3_column_text(stmt, col);

	return s ? xstrdup(s) : NULL;
}

static int sqlite_adhoc_submit(struct store *st, const char *job, const char *spec, int64_t *run_id,
                               int64_t *scheduled_ms, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int64_t now;

	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (st->backend->now(st, &now, err))
		goto fail_quiet;
	if (sqlite3_prepare_v2(db, "INSERT INTO jobs (name, first_seen) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
	                       -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	/* one run per (job, scheduled time): a second submission in the same millisecond takes the next one */
	if (sqlite3_prepare_v2(db, "INSERT INTO runs (job, scheduled_for, state, trigger_kind) "
	                           "VALUES (?1, (SELECT max(?2, coalesce(max(scheduled_for) + 1, ?2)) FROM runs "
	                           "WHERE job = ?1 AND scheduled_for >= ?2), 'pending', 'adhoc') "
	                           "RETURNING id, scheduled_for", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now);
	if (sqlite3_step(stmt) != SQLITE_ROW)
		goto fail;
	*run_id = sqlite3_column_int64(stmt, 0);
	*scheduled_ms = sqlite3_column_int64(stmt, 1);
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "INSERT INTO adhoc_runs (run_id, spec, submitted_at) VALUES (?1, ?2, ?3)", -1,
	                       &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, *run_id);
	sqlite3_bind_text(stmt, 2, spec, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "queueing an ad-hoc run");
fail_quiet:
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static int sqlite_adhoc_claim(struct store *st, const char *node, int64_t lease_ms, struct run_claim *out,
                              char **job, char **spec, int *claimed, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int64_t now;
	int rc;

	*claimed = 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (st->backend->now(st, &now, err))
		goto fail_quiet;
	if (sqlite3_prepare_v2(db, "UPDATE runs SET state = 'running', locked_by = ?2, lease_until = ?1 + ?3, "
	                           "attempts = attempts + 1, started_at = ?1, finished_at = NULL "
	                           "WHERE id = (SELECT id FROM runs WHERE " ADHOC_CLAIMABLE " ORDER BY id LIMIT 1) "
	                           "RETURNING id, job, scheduled_for, attempts, "
	                           "(SELECT spec FROM adhoc_runs WHERE run_id = runs.id)", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_text(stmt, 2, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, lease_ms);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(stmt, 0);
		out->scheduled_ms = sqlite3_column_int64(stmt, 2);
		out->attempts = sqlite3_column_int(stmt, 3);
		snprintf(out->trigger, sizeof(out->trigger), "adhoc");
		*job = column_dup(stmt, 1);
		*spec = column_dup(stmt, 4);
		if (!*spec)
			*spec = xstrdup("");
		*claimed = 1;
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_DONE) {
		if (*claimed) {
			free(*job);
			free(*spec);
			*claimed = 0;
		}
		goto fail;
	}
	sqlite3_finalize(stmt);
	if (exec(db, "COMMIT", err)) {
		if (*claimed) {
			free(*job);
			free(*spec);
		}
		*claimed = 0;
		return -1;
	}
	return 0;
fail:
	db_error(db, err, "claiming an ad-hoc run");
fail_quiet:
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static int sqlite_adhoc_get(struct store *st, int64_t run_id, char **spec, char **results, int *found,
                            struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	int rc;

	*found = 0;
	*spec = *results = NULL;
	if (sqlite3_prepare_v2(db, "SELECT spec, results FROM adhoc_runs WHERE run_id = ?1", -1, &stmt, NULL) !=
	    SQLITE_OK)
		return db_error(db, err, "reading an ad-hoc run");
	sqlite3_bind_int64(stmt, 1, run_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*found = 1;
		*spec = column_dup(stmt, 0);
		*results = column_dup(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(db, err, "reading an ad-hoc run");
	return 0;
}

static int sqlite_adhoc_purge(struct store *st, int64_t before_ms, int64_t *n, struct vigil_error *err)
{
	static const char *const steps[] = {
		"CREATE TEMP TABLE IF NOT EXISTS adhoc_purge (id INTEGER PRIMARY KEY)",
		"DELETE FROM adhoc_purge",
		"INSERT INTO adhoc_purge SELECT id FROM runs WHERE trigger_kind = 'adhoc' AND finished_at < ?1",
		"DELETE FROM adhoc_runs WHERE run_id IN (SELECT id FROM adhoc_purge)",
		"DELETE FROM run_failures WHERE run_id IN (SELECT id FROM adhoc_purge)",
		"DELETE FROM anomalies WHERE run_id IN (SELECT id FROM adhoc_purge)",
		"DELETE FROM runs WHERE id IN (SELECT id FROM adhoc_purge)",
	};
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;

	*n = 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (sqlite3_prepare_v2(db, steps[i], -1, &stmt, NULL) != SQLITE_OK)
			goto fail;
		if (sqlite3_bind_parameter_count(stmt))
			sqlite3_bind_int64(stmt, 1, before_ms);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(stmt);
		stmt = NULL;
		if (i + 1 == sizeof(steps) / sizeof(steps[0]))
			*n = sqlite3_changes64(db);
	}
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "purging ad-hoc runs");
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

int sqlite_adhoc_write(sqlite3 *db, int64_t run_id, const char *results, struct vigil_error *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "UPDATE adhoc_runs SET results = ?2 WHERE run_id = ?1", -1, &stmt, NULL) !=
	    SQLITE_OK)
		return db_error(db, err, "storing an ad-hoc run's results");
	sqlite3_bind_int64(stmt, 1, run_id);
	sqlite3_bind_text(stmt, 2, results, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : db_error(db, err, "storing an ad-hoc run's results");
}

const struct store_adhoc_ops store_sqlite_adhoc = {
	.submit = sqlite_adhoc_submit,
	.claim = sqlite_adhoc_claim,
	.get = sqlite_adhoc_get,
	.purge = sqlite_adhoc_purge,
};

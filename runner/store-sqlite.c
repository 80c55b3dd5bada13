/*
 * store-sqlite.c - the embedded store: one SQLite file in WAL mode.
 *
 * Migrations are numbered; each runs in its own transaction together with
 * the bump of schema_version, so an interrupted upgrade leaves the previous
 * version intact.  A database written by a newer vigil is refused.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store-sqlite.h"
#include "xmalloc.h"
#include "banned.h"

static const char *const migrations[] = {
	/* 1: jobs, runs (shaped for the multi-node claim protocol), anomalies */
	"CREATE TABLE jobs ("
	"  name TEXT PRIMARY KEY,"
	"  first_seen BIGINT NOT NULL,"
	"  last_run_id BIGINT"
	");"
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY,"
	"  job TEXT NOT NULL REFERENCES jobs(name),"
	"  scheduled_for BIGINT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  outcome TEXT,"
	"  locked_by TEXT,"
	"  lease_until BIGINT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  started_at BIGINT,"
	"  finished_at BIGINT,"
	"  error TEXT,"
	"  n_series INTEGER NOT NULL DEFAULT 0,"
	"  n_points INTEGER NOT NULL DEFAULT 0,"
	"  n_anomalies INTEGER NOT NULL DEFAULT 0,"
	"  n_alerts INTEGER NOT NULL DEFAULT 0,"
	"  n_failed_series INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (job, scheduled_for)"
	");"
	"CREATE INDEX runs_job_id ON runs (job, id);"
	"CREATE TABLE run_failures ("
	"  run_id BIGINT NOT NULL REFERENCES runs(id),"
	"  series TEXT NOT NULL,"
	"  reason TEXT NOT NULL"
	");"
	"CREATE TABLE anomalies ("
	"  id INTEGER PRIMARY KEY,"
	"  run_id BIGINT NOT NULL REFERENCES runs(id),"
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  ts BIGINT NOT NULL,"
	"  value DOUBLE PRECISION,"
	"  score DOUBLE PRECISION NOT NULL,"
	"  detector TEXT NOT NULL,"
	"  expected DOUBLE PRECISION,"
	"  lower_band DOUBLE PRECISION,"
	"  upper_band DOUBLE PRECISION,"
	"  reason TEXT,"
	"  shadow INTEGER NOT NULL,"
	"  alerted INTEGER NOT NULL"
	");"
	"CREATE INDEX anomalies_job_ts ON anomalies (job, ts);"
	"CREATE INDEX anomalies_run ON anomalies (run_id);",
	/* 2: notifications: the outbox, destination throttles, alert state, mutes (store-sqlite-notify.c) */
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  dedup_key TEXT NOT NULL UNIQUE,"
	"  dest TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  url_ref TEXT NOT NULL,"
	"  base_dir TEXT,"
	"  headers TEXT,"
	"  job TEXT NOT NULL,"
	"  run_id BIGINT,"
	"  scheduled_for BIGINT NOT NULL,"
	"  summary TEXT NOT NULL,"
	"  payload TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  note TEXT,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  created_at BIGINT NOT NULL,"
	"  next_attempt BIGINT NOT NULL,"
	"  deadline BIGINT NOT NULL,"
	"  timeout_ms BIGINT NOT NULL,"
	"  locked_by TEXT,"
	"  lease_until BIGINT,"
	"  last_status INTEGER,"
	"  last_error TEXT,"
	"  sent_at BIGINT,"
	"  updated_at BIGINT NOT NULL"
	");"
	"CREATE INDEX outbox_state_dest ON outbox (state, dest, id);"
	"CREATE TABLE notify_dests ("
	"  dest TEXT PRIMARY KEY,"
	"  tokens DOUBLE PRECISION NOT NULL,"
	"  tokens_at BIGINT NOT NULL,"
	"  blocked_until BIGINT NOT NULL DEFAULT 0,"
	"  broken_at BIGINT,"
	"  broken_error TEXT"
	");"
	"CREATE TABLE alert_state ("
	"  target TEXT NOT NULL,"
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  since BIGINT NOT NULL,"
	"  last_alert_ts BIGINT NOT NULL DEFAULT 0,"
	"  last_sent BIGINT NOT NULL DEFAULT 0,"
	"  updated_run BIGINT NOT NULL,"
	"  PRIMARY KEY (target, job, series)"
	");"
	"CREATE TABLE mutes ("
	"  id INTEGER PRIMARY KEY,"
	"  job_pattern TEXT NOT NULL,"
	"  series_pattern TEXT NOT NULL,"
	"  until_at BIGINT NOT NULL,"
	"  reason TEXT,"
	"  created_at BIGINT NOT NULL"
	");",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

static sqlite3 *db_of(struct store *st)
{
	return st->impl;
}

static int db_error(sqlite3 *db, struct vigil_error *err, const char *what)
{
	return vigil_error_set(err, VIGIL_E_STORE, "store: %s: %s", what, sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, struct vigil_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		vigil_error_set(err, VIGIL_E_STORE, "store: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int sqlite_schema_version(struct store *st, int *version, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		*version = 0;   /* a new database */
		return 0;
	}
	rc = sqlite3_step(stmt);
	*version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(db, err, "reading schema version");
	return 0;
}

static int migrate(struct store *st, const char *target, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	int version;

	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", err) ||
	    sqlite_schema_version(st, &version, err))
		goto fail;
	if (version > N_MIGRATIONS) {
		vigil_error_set(err, VIGIL_E_STORE, "store '%s' has schema version %d, newer than this vigil "
		                "understands (%d); upgrade vigil", target, version, N_MIGRATIONS);
		goto fail;
	}
	if (version == 0 && exec(db, "INSERT INTO schema_version VALUES (0)", err))
		goto fail;
	for (; version < N_MIGRATIONS; version++) {
		char bump[64];

		if (exec(db, migrations[version], err)) {
			vigil_error_prefix(err, "migration %d", version + 1);
			goto fail;
		}
		snprintf(bump, sizeof(bump), "UPDATE schema_version SET version = %d", version + 1);
		if (exec(db, bump, err))
			goto fail;
	}
	return exec(db, "COMMIT", err);
fail:
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static int sqlite_open(struct store *st, const char *target, struct vigil_error *err)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(target, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		vigil_error_set(err, VIGIL_E_STORE, "cannot open store '%s': %s", target,
		                db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return -1;
	}
	st->impl = db;
	sqlite3_busy_timeout(db, 10000);
	if (exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
	         err) || migrate(st, target, err)) {
		vigil_error_prefix(err, "store '%s'", target);
		sqlite3_close(db);
		st->impl = NULL;
		return -1;
	}
	return 0;
}

static void sqlite_close(struct store *st)
{
	sqlite3_close(db_of(st));
	st->impl = NULL;
}

static int sqlite_run_begin(struct store *st, const char *job, int64_t scheduled_for_ms,
                            int64_t started_ms, int64_t *run_id, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;

	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO jobs (name, first_seen) VALUES (?1, ?2) "
	                           "ON CONFLICT (name) DO NOTHING", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, started_ms);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "INSERT INTO runs (job, scheduled_for, state, attempts, started_at) "
	                           "VALUES (?1, ?2, 'running', 1, ?3)", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, scheduled_for_ms);
	sqlite3_bind_int64(stmt, 3, started_ms);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE) {
			vigil_error_set(err, VIGIL_E_STORE, "store: job '%s' already has a run scheduled for %lld ms "
			                "(one run per job and scheduled time)", job, (long long)scheduled_for_ms);
			sqlite3_finalize(stmt);
			exec(db, "ROLLBACK", NULL);
			return -1;
		}
		goto fail;
	}
	sqlite3_finalize(stmt);
	*run_id = sqlite3_last_insert_rowid(db);
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "recording the start of a run");
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static void bind_double_or_null(sqlite3_stmt *stmt, int col, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(stmt, col, v);
	else
		sqlite3_bind_null(stmt, col);
}

static int sqlite_run_finish(struct store *st, int64_t run_id, int64_t finished_ms,
                             const struct run_outcome *o, const struct anomaly_row *rows, size_t n_rows,
                             struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	const char *job = NULL;

	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO anomalies (run_id, job, series, labels, ts, value, score, "
	                           "detector, expected, lower_band, upper_band, reason, shadow, alerted) "
	                           "SELECT ?1, job, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13 "
	                           "FROM runs WHERE id = ?1", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < n_rows; i++) {
		const struct anomaly_row *r = &rows[i];

		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, run_id);
		sqlite3_bind_text(stmt, 2, r->series, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, r->labels_json ? r->labels_json : "{}", -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 4, r->ts_ms);
		bind_double_or_null(stmt, 5, r->value);
		sqlite3_bind_double(stmt, 6, r->score);
		sqlite3_bind_text(stmt, 7, r->detector, -1, SQLITE_STATIC);
		bind_double_or_null(stmt, 8, r->expected);
		bind_double_or_null(stmt, 9, r->lower);
		bind_double_or_null(stmt, 10, r->upper);
		if (r->reason)
			sqlite3_bind_text(stmt, 11, r->reason, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(stmt, 11);
		sqlite3_bind_int(stmt, 12, r->shadow);
		sqlite3_bind_int(stmt, 13, r->alerted);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "INSERT INTO run_failures (run_id, series, reason) VALUES (?1, ?2, ?3)",
	                       -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < o->n_failures; i++) {
		sqlite3_reset(stmt);
		sqlite3_bind_int64(stmt, 1, run_id);
		sqlite3_bind_text(stmt, 2, o->failures[i].series, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, o->failures[i].reason, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "UPDATE runs SET state = ?2, outcome = ?3, error = ?4, finished_at = ?5, "
	                           "n_series = ?6, n_points = ?7, n_anomalies = ?8, n_alerts = ?9, "
	                           "n_failed_series = ?10, locked_by = NULL, lease_until = NULL "
	                           "WHERE id = ?1 AND state = 'running' RETURNING job", -1, &stmt,
	                       NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, run_id);
	sqlite3_bind_text(stmt, 2, o->state, -1, SQLITE_STATIC);
	if (o->outcome)
		sqlite3_bind_text(stmt, 3, o->outcome, -1, SQLITE_STATIC);
	if (o->error)
		sqlite3_bind_text(stmt, 4, o->error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, finished_ms);
	sqlite3_bind_int64(stmt, 6, (int64_t)o->n_series);
	sqlite3_bind_int64(stmt, 7, (int64_t)o->n_points);
	sqlite3_bind_int64(stmt, 8, (int64_t)o->n_anomalies);
	sqlite3_bind_int64(stmt, 9, (int64_t)o->n_alerts);
	sqlite3_bind_int64(stmt, 10, (int64_t)o->n_failures);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		if (!vigil_error_isset(err))
			vigil_error_set(err, VIGIL_E_STORE, "store: run %lld is not running (lost its lease?)",
			                (long long)run_id);
		sqlite3_finalize(stmt);
		exec(db, "ROLLBACK", NULL);
		return -1;
	}
	job = (const char *)sqlite3_column_text(stmt, 0);
	char *job_copy = xstrdup(job ? job : "");

	sqlite3_finalize(stmt);
	stmt = NULL;
	if (sqlite3_prepare_v2(db, "UPDATE jobs SET last_run_id = ?1 WHERE name = ?2", -1, &stmt, NULL) !=
	    SQLITE_OK) {
		free(job_copy);
		goto fail;
	}
	sqlite3_bind_int64(stmt, 1, run_id);
	sqlite3_bind_text(stmt, 2, job_copy, -1, SQLITE_TRANSIENT);
	free(job_copy);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (sqlite_notify_write(db, o->outbox, o->n_outbox, o->alert_states, o->n_alert_states, err)) {
		exec(db, "ROLLBACK", NULL);
		return -1;
	}
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "recording the results of a run");
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static json_t *column_json(sqlite3_stmt *stmt, int col)
{
	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(stmt, col));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(stmt, col));
	case SQLITE_TEXT: return json_string((const char *)sqlite3_column_text(stmt, col));
	default: return json_null();
	}
}

static int query_json(sqlite3 *db, const char *sql, const char *job, int64_t run_id, size_t limit,
                      json_t **out, struct vigil_error *err)
{
	sqlite3_stmt *stmt;
	json_t *arr = json_array();
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		json_decref(arr);
		return db_error(db, err, "query");
	}
	if (job)
		sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 1);
	sqlite3_bind_int64(stmt, 2, run_id);
	sqlite3_bind_int64(stmt, 3, (int64_t)limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *row = json_object();

		for (int c = 0; c < sqlite3_column_count(stmt); c++)
			json_object_set_new(row, sqlite3_column_name(stmt, c), column_json(stmt, c));
		json_array_append_new(arr, row);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return db_error(db, err, "query");
	}
	*out = arr;
	return 0;
}

static int sqlite_list_runs(struct store *st, const char *job, size_t limit, json_t **out,
                            struct vigil_error *err)
{
	return query_json(db_of(st),
	                  "SELECT id, job, scheduled_for, state, outcome, started_at, finished_at, error, "
	                  "n_series, n_points, n_anomalies, n_alerts, n_failed_series FROM runs "
	                  "WHERE (?1 IS NULL OR job = ?1) AND ?2 = ?2 ORDER BY id DESC LIMIT ?3",
	                  job, 0, limit, out, err);
}

static int sqlite_list_anomalies(struct store *st, const char *job, int64_t run_id, size_t limit,
                                 json_t **out, struct vigil_error *err)
{
	return query_json(db_of(st),
	                  "SELECT run_id, job, series, labels, ts, value, score, detector, expected, "
	                  "lower_band, upper_band, reason, shadow, alerted FROM anomalies "
	                  "WHERE (?1 IS NULL OR job = ?1) AND (?2 = 0 OR run_id = ?2) "
	                  "ORDER BY run_id DESC, ts DESC, id DESC LIMIT ?3",
	                  job, run_id, limit, out, err);
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.schema_version = sqlite_schema_version,
	.run_begin = sqlite_run_begin,
	.run_finish = sqlite_run_finish,
	.list_runs = sqlite_list_runs,
	.list_anomalies = sqlite_list_anomalies,
	.notify = &store_sqlite_notify,
};

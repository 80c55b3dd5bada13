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

#include "paths.h"
#include "store.h"
#include "fault.h"
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
	/* 2: the daemon: how a run was triggered, the window it covers, the latest series of each job */
	"ALTER TABLE runs ADD COLUMN trigger_kind TEXT;"
	"ALTER TABLE runs ADD COLUMN window_from BIGINT;"
	"CREATE INDEX runs_state ON runs (state, scheduled_for);"
	"CREATE TABLE series_latest ("
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  run_id BIGINT NOT NULL,"
	"  scheduled_for BIGINT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  n_points INTEGER NOT NULL,"
	"  first_ts BIGINT,"
	"  last_ts BIGINT,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (job, series)"
	");",
	/* 3: notifications: the outbox, destination throttles, alert state, mutes (store-sqlite-notify.c) */
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
	/* 4: incidents (one event of a series or of a job's runs) and job health (store-sqlite-incidents.c) */
	"CREATE TABLE incidents ("
	"  id INTEGER PRIMARY KEY,"
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  start_ts BIGINT NOT NULL,"
	"  end_ts BIGINT NOT NULL DEFAULT 0,"
	"  last_seen BIGINT NOT NULL DEFAULT 0,"
	"  last_alert_ts BIGINT NOT NULL DEFAULT 0,"
	"  back_since BIGINT NOT NULL DEFAULT 0,"
	"  back_points BIGINT NOT NULL DEFAULT 0,"
	"  n_alerts BIGINT NOT NULL DEFAULT 0,"
	"  flaps BIGINT NOT NULL DEFAULT 0,"
	"  peak_ts BIGINT NOT NULL DEFAULT 0,"
	"  peak_value DOUBLE PRECISION,"
	"  peak_expected DOUBLE PRECISION,"
	"  peak_score DOUBLE PRECISION,"
	"  peak_rarity DOUBLE PRECISION,"
	"  onset_expected DOUBLE PRECISION,"
	"  onset_lower DOUBLE PRECISION,"
	"  onset_upper DOUBLE PRECISION,"
	"  accepted_lower DOUBLE PRECISION,"
	"  accepted_upper DOUBLE PRECISION,"
	"  detectors TEXT,"
	"  evidence TEXT,"
	"  last_notified BIGINT NOT NULL DEFAULT 0,"
	"  opened_run BIGINT NOT NULL DEFAULT 0,"
	"  updated_run BIGINT NOT NULL DEFAULT 0,"
	"  UNIQUE (job, series, kind, start_ts)"
	");"
	"CREATE INDEX incidents_job_state ON incidents (job, state, series);"
	"CREATE INDEX incidents_start ON incidents (start_ts);"
	"CREATE TABLE job_health ("
	"  job TEXT PRIMARY KEY,"
	"  failed_runs BIGINT NOT NULL DEFAULT 0,"
	"  empty_runs BIGINT NOT NULL DEFAULT 0,"
	"  last_success BIGINT NOT NULL DEFAULT 0,"
	"  updated_run BIGINT NOT NULL DEFAULT 0,"
	"  last_error TEXT"
	");",
	/* 5: the series around alerts, kept after later runs replace series_latest (until purged), and feedback */
	"CREATE TABLE series_history ("
	"  job TEXT NOT NULL,"
	"  series TEXT NOT NULL,"
	"  run_id BIGINT NOT NULL,"
	"  scheduled_for BIGINT NOT NULL,"
	"  labels TEXT NOT NULL,"
	"  n_points INTEGER NOT NULL,"
	"  first_ts BIGINT NOT NULL,"
	"  last_ts BIGINT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  PRIMARY KEY (job, series, run_id)"
	");"
	"CREATE INDEX series_history_time ON series_history (job, series, last_ts);"
	"CREATE INDEX series_history_scheduled ON series_history (scheduled_for);"
	/* ... and verdicts on incidents (store-sqlite-feedback.c) */
	"CREATE TABLE incident_feedback ("
	"  id INTEGER PRIMARY KEY,"
	"  incident_id BIGINT NOT NULL,"
	"  verdict TEXT NOT NULL,"
	"  note TEXT,"
	"  who TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL"
	");"
	"CREATE INDEX incident_feedback_incident ON incident_feedback (incident_id, id);",
	/* 6: ad-hoc runs (store-sqlite-adhoc.c): the spec sent over HTTP and the results, beside the run */
	"CREATE TABLE adhoc_runs ("
	"  run_id BIGINT PRIMARY KEY REFERENCES runs(id),"
	"  spec TEXT NOT NULL,"
	"  submitted_at BIGINT NOT NULL,"
	"  results TEXT"
	");"
	"CREATE INDEX runs_adhoc_waiting ON runs (id) WHERE trigger_kind = 'adhoc' "
	"AND state IN ('pending', 'interrupted', 'running');"
	"CREATE INDEX runs_adhoc_finished ON runs (finished_at) WHERE trigger_kind = 'adhoc';",
	/*
	 * 7: pushed detectors (runner/pushed.h): bundles by SHA-256, versions per name, what each node
	 * materialised.  Self-contained: nothing else refers to these tables.
	 */
	"CREATE TABLE detector_bundles ("
	"  sha256 TEXT PRIMARY KEY,"
	"  size BIGINT NOT NULL,"
	"  data BLOB NOT NULL"
	");"
	"CREATE TABLE detector_versions ("
	"  name TEXT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  sha256 TEXT NOT NULL REFERENCES detector_bundles (sha256),"
	"  entry TEXT NOT NULL,"
	"  pushed_by TEXT NOT NULL,"
	"  pushed_at BIGINT NOT NULL,"
	"  PRIMARY KEY (name, version)"
	");"
	"CREATE TABLE detector_nodes ("
	"  node TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  version BIGINT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  seen_at BIGINT NOT NULL,"
	"  PRIMARY KEY (node, name)"
	");",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

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

	fault_sqlite_install();  /* tests only: see fault.h */
	/* it holds run errors and alert text: ours only, whatever the umask */
	if (strcmp(target, ":memory:") && strncmp(target, "file:", 5) && paths_private_file(target, err))
		return -1;
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
	if (sqlite3_prepare_v2(db, "INSERT INTO runs (job, scheduled_for, state, attempts, started_at, trigger_kind) "
	                           "VALUES (?1, ?2, 'running', 1, ?3, 'cli')", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, scheduled_for_ms);
	sqlite3_bind_int64(stmt, 3, started_ms);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_UNIQUE) {
			vigil_error_set(err, VIGIL_E_CONFLICT, "store: job '%s' already has a run scheduled for %lld ms "
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

/*
 * The run's incidents first, so that the messages linking to the ones it
 * opens get their ids (outbox_rows_filled), then its messages; in the
 * caller's transaction.
 */
static int write_outcome(sqlite3 *db, const struct run_outcome *o, struct vigil_error *err)
{
	int64_t *ids = o->incident_ids ? o->incident_ids : xcalloc(o->n_incidents + 1, sizeof(*ids));
	struct outbox_row *filled = NULL;
	int rc = sqlite_incidents_write(db, o->incidents, o->n_incidents, ids, o->health, err);

	if (!rc) {
		filled = outbox_rows_filled(o, ids);
		rc = sqlite_notify_write(db, filled ? filled : o->outbox, o->n_outbox, o->alert_states,
		                         o->n_alert_states, err);
	}
	outbox_rows_filled_free(filled, o);
	if (ids != o->incident_ids)
		free(ids);
	return rc;
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
	                           "n_failed_series = ?10, lease_until = NULL "
	                           "WHERE id = ?1 AND state = 'running' AND (?11 IS NULL OR locked_by = ?11) "
	                           "RETURNING job", -1, &stmt,
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
	if (st->node)
		sqlite3_bind_text(stmt, 11, st->node, -1, SQLITE_STATIC);
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
	if (write_outcome(db, o, err) || (o->adhoc_results && sqlite_adhoc_write(db, run_id, o->adhoc_results, err))) {
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

/* ---- the daemon: claims, leases, fencing, listings, stored series ---------- */

/* The store's clock.  SQLite's "now" is stable within one statement. */
static int db_now(sqlite3 *db, int64_t *ms, struct vigil_error *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT CAST(ROUND((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)",
	                       -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "reading the clock");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*ms = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW ? 0 : db_error(db, err, "reading the clock");
}

static int sqlite_now(struct store *st, int64_t *ms, struct vigil_error *err)
{
	return db_now(db_of(st), ms, err);
}

static void bind_text_or_null(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, col, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(stmt, col);
}

static int sqlite_run_claim(struct store *st, const char *job, int64_t scheduled_ms, int64_t window_from_ms,
                            const char *trigger, const char *node, int64_t lease_ms, struct run_claim *out,
                            int *claimed, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int64_t now;
	int rc;

	*claimed = 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (db_now(db, &now, err))
		goto fail_quiet;
	if (sqlite3_prepare_v2(db, "INSERT INTO jobs (name, first_seen) VALUES (?1, ?2) "
	                           "ON CONFLICT (name) DO NOTHING", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	/* any number of nodes may try: UNIQUE (job, scheduled_for) keeps one row */
	if (sqlite3_prepare_v2(db, "INSERT INTO runs (job, scheduled_for, state, trigger_kind, window_from) "
	                           "VALUES (?1, ?2, 'pending', ?3, ?4) "
	                           "ON CONFLICT (job, scheduled_for) DO NOTHING", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, scheduled_ms);
	bind_text_or_null(stmt, 3, trigger);
	if (window_from_ms)
		sqlite3_bind_int64(stmt, 4, window_from_ms);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "UPDATE runs SET state = 'running', locked_by = ?3, lease_until = ?4 + ?5, "
	                           "attempts = attempts + 1, started_at = ?4, finished_at = NULL "
	                           "WHERE job = ?1 AND scheduled_for = ?2 AND "
	                           "(state IN ('pending', 'interrupted') OR (state = 'running' AND lease_until < ?4)) "
	                           "RETURNING id, attempts, window_from, trigger_kind", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, scheduled_ms);
	sqlite3_bind_text(stmt, 3, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, now);
	sqlite3_bind_int64(stmt, 5, lease_ms);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(stmt, 3);

		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(stmt, 0);
		out->attempts = sqlite3_column_int(stmt, 1);
		out->window_from_ms = sqlite3_column_int64(stmt, 2);
		out->scheduled_ms = scheduled_ms;
		snprintf(out->trigger, sizeof(out->trigger), "%s", t ? t : "");
		*claimed = 1;
		rc = sqlite3_step(stmt);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "claiming a run");
fail_quiet:
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	*claimed = 0;
	return -1;
}

/*
 * One fenced UPDATE of run ?1 held by node ?2; ?3 is the store's time, ?4
 * an integer, ?5 and ?6 texts (parameters a statement lacks are not bound).
 * *changed is 1 when a row was updated.
 */
static int fenced_update(sqlite3 *db, const char *sql, int64_t run_id, const char *node, int64_t arg,
                         const char *text1, const char *text2, int *changed, struct vigil_error *err)
{
	sqlite3_stmt *stmt;
	int64_t now;

	if (db_now(db, &now, err))
		return -1;
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "updating a run");
	sqlite3_bind_int64(stmt, 1, run_id);
	sqlite3_bind_text(stmt, 2, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now);
	if (sqlite3_bind_parameter_count(stmt) >= 4)
		sqlite3_bind_int64(stmt, 4, arg);
	if (sqlite3_bind_parameter_count(stmt) >= 6) {
		bind_text_or_null(stmt, 5, text1);
		bind_text_or_null(stmt, 6, text2);
	}
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		sqlite3_finalize(stmt);
		return db_error(db, err, "updating a run");
	}
	sqlite3_finalize(stmt);
	*changed = sqlite3_changes(db) > 0;
	return 0;
}

static int sqlite_run_heartbeat(struct store *st, int64_t run_id, const char *node, int64_t lease_ms, int *held,
                                struct vigil_error *err)
{
	return fenced_update(db_of(st), "UPDATE runs SET lease_until = ?3 + ?4 "
	                     "WHERE id = ?1 AND locked_by = ?2 AND state = 'running'",
	                     run_id, node, lease_ms, NULL, NULL, held, err);
}

static int sqlite_run_release(struct store *st, int64_t run_id, const char *node, const char *state,
                              const char *error, int *done, struct vigil_error *err)
{
	if (strcmp(state, "interrupted") && strcmp(state, "failed"))
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: cannot release a run as '%s'", state);
	return fenced_update(db_of(st), "UPDATE runs SET state = ?5, error = ?6, lease_until = NULL, "
	                     "finished_at = CASE WHEN ?5 = 'failed' THEN ?3 ELSE NULL END "
	                     "WHERE id = ?1 AND locked_by = ?2 AND state = 'running'",
	                     run_id, node, 0, state, error, done, err);
}

/* Rows of a prepared statement as a JSON array of objects. */
static int rows_json(sqlite3 *db, sqlite3_stmt *stmt, json_t **out, struct vigil_error *err)
{
	json_t *arr = json_array();
	int rc;

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

static int sqlite_runs_recover(struct store *st, const char *node, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int64_t now;

	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (db_now(db, &now, err))
		goto fail_quiet;
	/* this node just started: whatever it held was interrupted */
	if (sqlite3_prepare_v2(db, "UPDATE runs SET state = 'interrupted', lease_until = NULL, "
	                           "error = 'interrupted: the daemon stopped during the run' "
	                           "WHERE state = 'running' AND locked_by = ?1", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, node, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "SELECT id, job, scheduled_for, window_from, trigger_kind AS \"trigger\", state "
	                           "FROM runs WHERE state IN ('pending', 'interrupted') "
	                           "OR (state = 'running' AND lease_until < ?1) "
	                           "ORDER BY scheduled_for, id", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, now);
	if (rows_json(db, stmt, out, err)) {
		stmt = NULL;
		goto fail_quiet;
	}
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "recovering runs");
	sqlite3_finalize(stmt);
fail_quiet:
	exec(db, "ROLLBACK", NULL);
	return -1;
}

#define RUN_COLUMNS "id, job, scheduled_for, state, outcome, trigger_kind AS \"trigger\", attempts, locked_by, " \
	"window_from, started_at, finished_at, error, n_series, n_points, n_anomalies, n_alerts, n_failed_series"

static int sqlite_run_get(struct store *st, int64_t run_id, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	json_t *rows;

	if (sqlite3_prepare_v2(db, "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?1", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "query");
	sqlite3_bind_int64(stmt, 1, run_id);
	if (rows_json(db, stmt, &rows, err))
		return -1;
	*out = json_array_size(rows) ? json_incref(json_array_get(rows, 0)) : NULL;
	json_decref(rows);
	return 0;
}

static int sqlite_runs_page(struct store *st, const char *job, int64_t before_id, size_t limit, json_t **out,
                            struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, "SELECT " RUN_COLUMNS " FROM runs "
	                           "WHERE (?1 IS NULL OR job = ?1) AND (?2 = 0 OR id < ?2) "
	                           "ORDER BY id DESC LIMIT ?3", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "query");
	bind_text_or_null(stmt, 1, job);
	sqlite3_bind_int64(stmt, 2, before_id);
	sqlite3_bind_int64(stmt, 3, (int64_t)limit);
	return rows_json(db, stmt, out, err);
}

static int sqlite_anomalies_since(struct store *st, const char *job, int64_t since_ms, size_t limit,
                                  json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, "SELECT run_id, job, series, labels, ts, value, score, detector, expected, "
	                           "lower_band, upper_band, reason, shadow, alerted FROM anomalies "
	                           "WHERE (?1 IS NULL OR job = ?1) AND ts >= ?2 "
	                           "ORDER BY ts DESC, id DESC LIMIT ?3", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "query");
	bind_text_or_null(stmt, 1, job);
	sqlite3_bind_int64(stmt, 2, since_ms);
	sqlite3_bind_int64(stmt, 3, (int64_t)limit);
	return rows_json(db, stmt, out, err);
}

static int sqlite_job_state(struct store *st, const char *job, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	json_t *rows, *o = json_object();
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT " RUN_COLUMNS " FROM runs WHERE job = ?1 AND finished_at IS NOT NULL "
	                           "ORDER BY finished_at DESC, id DESC LIMIT 1", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	if (rows_json(db, stmt, &rows, err)) {
		json_decref(o);
		return -1;
	}
	json_object_set(o, "last_run", json_array_size(rows) ? json_array_get(rows, 0) : json_null());
	json_decref(rows);
	if (sqlite3_prepare_v2(db, "SELECT max(scheduled_for) FROM runs WHERE job = ?1 "
	                           "AND trigger_kind IN ('schedule', 'catchup')", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	json_object_set_new(o, "last_fire", rc == SQLITE_ROW ? column_json(stmt, 0) : json_null());
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		goto fail;
	*out = o;
	return 0;
fail:
	json_decref(o);
	return db_error(db, err, "query");
}

/* Keep the part of each alerting series a chart of its alerts needs (store.h: stored_series_alert_window). */
static int put_history(sqlite3 *db, const char *job, int64_t run_id, int64_t scheduled_ms,
                       const struct stored_series *items, size_t n)
{
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO series_history (job, series, run_id, scheduled_for, labels, "
	                           "n_points, first_ts, last_ts, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	                       -1, &stmt, NULL) != SQLITE_OK)
		return -1;
	for (size_t i = 0; i < n && i < STORE_SERIES_MAX_PER_JOB; i++) {
		struct stored_series w;
		struct stored_detector *dets = NULL;
		size_t len;
		void *blob;

		if (!stored_series_alert_window(&items[i], STORE_HISTORY_BEFORE_MS, &w, &dets))
			continue;
		blob = stored_series_encode(&w, &len);
		sqlite3_reset(stmt);
		sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, w.series, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 3, run_id);
		sqlite3_bind_int64(stmt, 4, scheduled_ms);
		sqlite3_bind_text(stmt, 5, w.labels_json ? w.labels_json : "{}", -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 6, (int64_t)w.n);
		sqlite3_bind_int64(stmt, 7, w.ts[0]);
		sqlite3_bind_int64(stmt, 8, w.ts[w.n - 1]);
		sqlite3_bind_blob64(stmt, 9, blob, len, free);
		free(dets);
		if (sqlite3_step(stmt) != SQLITE_DONE) {
			sqlite3_finalize(stmt);
			return -1;
		}
	}
	sqlite3_finalize(stmt);
	return 0;
}

static int sqlite_series_put(struct store *st, const char *job, int64_t run_id, int64_t scheduled_ms,
                             const struct stored_series *items, size_t n, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (put_history(db, job, run_id, scheduled_ms, items, n))
		goto fail;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM series_latest WHERE job = ?1 AND scheduled_for > ?2 LIMIT 1",
	                       -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, scheduled_ms);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (rc == SQLITE_ROW)
		return exec(db, "COMMIT", err);   /* a later run's series are there: keep them (and this history) */
	if (rc != SQLITE_DONE)
		goto fail;
	if (sqlite3_prepare_v2(db, "DELETE FROM series_latest WHERE job = ?1", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "INSERT INTO series_latest (job, series, run_id, scheduled_for, labels, n_points, "
	                           "first_ts, last_ts, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", -1, &stmt,
	                       NULL) != SQLITE_OK)
		goto fail;
	for (size_t i = 0; i < n && i < STORE_SERIES_MAX_PER_JOB; i++) {
		const struct stored_series *s = &items[i];
		size_t len;
		void *blob = stored_series_encode(s, &len);

		sqlite3_reset(stmt);
		sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 2, s->series, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 3, run_id);
		sqlite3_bind_int64(stmt, 4, scheduled_ms);
		sqlite3_bind_text(stmt, 5, s->labels_json ? s->labels_json : "{}", -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 6, (int64_t)s->n);
		if (s->n) {
			sqlite3_bind_int64(stmt, 7, s->ts[0]);
			sqlite3_bind_int64(stmt, 8, s->ts[s->n - 1]);
		} else {
			sqlite3_bind_null(stmt, 7);
			sqlite3_bind_null(stmt, 8);
		}
		sqlite3_bind_blob64(stmt, 9, blob, len, free);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto fail;
	}
	sqlite3_finalize(stmt);
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "storing series");
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static int sqlite_series_get(struct store *st, const char *job, const char *series, int64_t from, int64_t to,
                             struct stored_series *out, int *found, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	*found = 0;
	if (sqlite3_prepare_v2(db, "SELECT run_id, scheduled_for, labels, data FROM series_latest "
	                           "WHERE job = ?1 AND series = ?2", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "query");
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, series, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->series = xstrdup(series);
		out->run_id = sqlite3_column_int64(stmt, 0);
		out->scheduled_ms = sqlite3_column_int64(stmt, 1);
		out->labels_json = xstrdup((const char *)sqlite3_column_text(stmt, 2));
		ret = stored_series_decode(out, sqlite3_column_blob(stmt, 3), (size_t)sqlite3_column_bytes(stmt, 3),
		                           from, to, err);
		if (ret)
			stored_series_release(out);
		else
			*found = 1;
	} else if (rc != SQLITE_DONE) {
		ret = db_error(db, err, "query");
	}
	sqlite3_finalize(stmt);
	if (ret || (*found && out->n) || (from == INT64_MIN && to == INT64_MAX))
		return ret;
	/* nothing of the latest run in [from, to]: the newest kept window around an alert that overlaps it */
	if (sqlite3_prepare_v2(db, "SELECT run_id, scheduled_for, labels, data FROM series_history "
	                           "WHERE job = ?1 AND series = ?2 AND first_ts <= ?4 AND last_ts >= ?3 "
	                           "ORDER BY scheduled_for DESC LIMIT 1", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "query");
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, series, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, from);
	sqlite3_bind_int64(stmt, 4, to);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		stored_series_release(out);
		*found = 0;
		out->series = xstrdup(series);
		out->run_id = sqlite3_column_int64(stmt, 0);
		out->scheduled_ms = sqlite3_column_int64(stmt, 1);
		out->labels_json = xstrdup((const char *)sqlite3_column_text(stmt, 2));
		out->kept = 1;
		ret = stored_series_decode(out, sqlite3_column_blob(stmt, 3), (size_t)sqlite3_column_bytes(stmt, 3),
		                           from, to, err);
		if (ret)
			stored_series_release(out);
		else
			*found = 1;
	} else if (rc != SQLITE_DONE) {
		ret = db_error(db, err, "query");
	}
	sqlite3_finalize(stmt);
	return ret;
}

static int sqlite_series_purge(struct store *st, int64_t before_ms, int64_t *n, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, "DELETE FROM series_history WHERE scheduled_for < ?1", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "purging series");
	sqlite3_bind_int64(stmt, 1, before_ms);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		sqlite3_finalize(stmt);
		return db_error(db, err, "purging series");
	}
	sqlite3_finalize(stmt);
	*n = sqlite3_changes64(db);
	return 0;
}

static int sqlite_series_list(struct store *st, const char *job, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, "SELECT series, labels, n_points, first_ts, last_ts, run_id FROM series_latest "
	                           "WHERE job = ?1 ORDER BY series", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "query");
	sqlite3_bind_text(stmt, 1, job, -1, SQLITE_STATIC);
	return rows_json(db, stmt, out, err);
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
	.now = sqlite_now,
	.run_claim = sqlite_run_claim,
	.run_heartbeat = sqlite_run_heartbeat,
	.run_release = sqlite_run_release,
	.runs_recover = sqlite_runs_recover,
	.run_get = sqlite_run_get,
	.runs_page = sqlite_runs_page,
	.anomalies_since = sqlite_anomalies_since,
	.job_state = sqlite_job_state,
	.series_put = sqlite_series_put,
	.series_get = sqlite_series_get,
	.series_list = sqlite_series_list,
	.notify = &store_sqlite_notify,
	.incidents = &store_sqlite_incidents,
	.series_purge = sqlite_series_purge,
	.feedback_add = sqlite_feedback_add,
	.feedback_list = sqlite_feedback_list,
	.adhoc = &store_sqlite_adhoc,
	.pushed = &store_sqlite_pushed,
};

/*
 * store-sqlite-incidents.c - the incident and job-health tables of the
 * SQLite store (schema version 4; runner/incident.h has the life-cycle).
 *
 * An incident is keyed by its id and, naturally, by (job, series, kind,
 * start): a run executed twice (a crash before its commit, a re-run of a
 * backfill) upserts the same rows instead of adding new ones.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
#include "xmalloc.h"
#include "banned.h"

#define INCIDENT_COLUMNS "job, series, kind, labels, state, start_ts, end_ts, last_seen, last_alert_ts, " \
	"back_since, back_points, n_alerts, flaps, peak_ts, peak_value, peak_expected, peak_score, peak_rarity, " \
	"onset_expected, onset_lower, onset_upper, accepted_lower, accepted_upper, detectors, evidence, " \
	"last_notified, opened_run, updated_run"

#define INCIDENT_VALUES "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, " \
	"?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28"

/* Every column but the key and opened_run (the first run that wrote it stays). */
#define INCIDENT_SET "labels = ?4, state = ?5, end_ts = ?7, last_seen = ?8, last_alert_ts = ?9, " \
	"back_since = ?10, back_points = ?11, n_alerts = ?12, flaps = ?13, peak_ts = ?14, peak_value = ?15, " \
	"peak_expected = ?16, peak_score = ?17, peak_rarity = ?18, onset_expected = ?19, onset_lower = ?20, " \
	"onset_upper = ?21, accepted_lower = ?22, accepted_upper = ?23, detectors = ?24, evidence = ?25, " \
	"last_notified = ?26, updated_run = ?28"

static void bind_text(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

static void bind_num(sqlite3_stmt *stmt, int col, double v)
{
	if (isfinite(v))
		sqlite3_bind_double(stmt, col, v);
	else
		sqlite3_bind_null(stmt, col);
}

static void bind_incident(sqlite3_stmt *stmt, const struct incident *inc)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	bind_text(stmt, 1, inc->job);
	bind_text(stmt, 2, inc->series ? inc->series : "");
	bind_text(stmt, 3, inc->kind ? inc->kind : "anomaly");
	bind_text(stmt, 4, inc->labels_json ? inc->labels_json : "{}");
	bind_text(stmt, 5, inc->state ? inc->state : "open");
	sqlite3_bind_int64(stmt, 6, inc->start_ms);
	sqlite3_bind_int64(stmt, 7, inc->end_ms);
	sqlite3_bind_int64(stmt, 8, inc->last_seen_ms);
	sqlite3_bind_int64(stmt, 9, inc->last_alert_ms);
	sqlite3_bind_int64(stmt, 10, inc->back_since_ms);
	sqlite3_bind_int64(stmt, 11, inc->back_points);
	sqlite3_bind_int64(stmt, 12, inc->n_alerts);
	sqlite3_bind_int64(stmt, 13, inc->flaps);
	sqlite3_bind_int64(stmt, 14, inc->peak_ms);
	bind_num(stmt, 15, inc->peak_value);
	bind_num(stmt, 16, inc->peak_expected);
	bind_num(stmt, 17, inc->peak_score);
	bind_num(stmt, 18, inc->peak_rarity);
	bind_num(stmt, 19, inc->onset_expected);
	bind_num(stmt, 20, inc->onset_lower);
	bind_num(stmt, 21, inc->onset_upper);
	bind_num(stmt, 22, inc->accepted_lower);
	bind_num(stmt, 23, inc->accepted_upper);
	bind_text(stmt, 24, inc->detectors);
	bind_text(stmt, 25, inc->evidence);
	sqlite3_bind_int64(stmt, 26, inc->last_notified_ms);
	sqlite3_bind_int64(stmt, 27, inc->opened_run_ms);
	sqlite3_bind_int64(stmt, 28, inc->updated_run_ms);
}

/* Insert or update one incident; *id_out (may be NULL) gets its id. */
static int write_one(sqlite3 *db, sqlite3_stmt *ins, sqlite3_stmt *upd, const struct incident *inc,
                     int64_t *id_out, struct vigil_error *err)
{
	if (!inc->job || !*inc->job)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: an incident without a job");
	if (inc->id) {
		bind_incident(upd, inc);
		sqlite3_bind_int64(upd, 29, inc->id);
		if (sqlite3_step(upd) != SQLITE_DONE)
			return db_error(db, err, "updating an incident");
		if (!sqlite3_changes(db))
			return vigil_error_set(err, VIGIL_E_STORE, "store: no incident %lld", (long long)inc->id);
		if (id_out)
			*id_out = inc->id;
		return 0;
	}
	bind_incident(ins, inc);
	if (sqlite3_step(ins) != SQLITE_ROW)
		return db_error(db, err, "recording an incident");
	if (id_out)
		*id_out = sqlite3_column_int64(ins, 0);
	sqlite3_reset(ins);
	return 0;
}

static int write_health(sqlite3 *db, const struct job_health *h, struct vigil_error *err)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO job_health (job, failed_runs, empty_runs, last_success, updated_run, "
	                           "last_error) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (job) DO UPDATE SET "
	                           "failed_runs = ?2, empty_runs = ?3, last_success = ?4, updated_run = ?5, "
	                           "last_error = ?6", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "recording job health");
	bind_text(stmt, 1, h->job);
	sqlite3_bind_int64(stmt, 2, h->failed_runs);
	sqlite3_bind_int64(stmt, 3, h->empty_runs);
	sqlite3_bind_int64(stmt, 4, h->last_success_ms);
	sqlite3_bind_int64(stmt, 5, h->updated_run_ms);
	bind_text(stmt, 6, h->last_error);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : db_error(db, err, "recording job health");
}

/* Write incs (ids into ids[i] when ids is not NULL) and h in the open transaction. */
static int write_all(sqlite3 *db, const struct incident *incs, size_t n, int64_t *ids, const struct job_health *h,
                     struct vigil_error *err)
{
	sqlite3_stmt *ins = NULL, *upd = NULL;
	int ret = 0;

	if (h && (!h->job || !*h->job))
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: job health without a job");
	if (h && write_health(db, h, err))
		return -1;
	if (!n)
		return 0;
	if (sqlite3_prepare_v2(db, "INSERT INTO incidents (" INCIDENT_COLUMNS ") VALUES (" INCIDENT_VALUES ") "
	                           "ON CONFLICT (job, series, kind, start_ts) DO UPDATE SET " INCIDENT_SET
	                           " RETURNING id", -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "UPDATE incidents SET " INCIDENT_SET " WHERE id = ?29 AND job = ?1", -1, &upd, NULL) != SQLITE_OK) {
		ret = db_error(db, err, "preparing incident writes");
		goto out;
	}
	for (size_t i = 0; i < n && !ret; i++)
		ret = write_one(db, ins, upd, &incs[i], ids ? &ids[i] : NULL, err);
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(upd);
	return ret;
}

int sqlite_incidents_write(sqlite3 *db, const struct incident *incs, size_t n, int64_t *ids,
                           const struct job_health *h, struct vigil_error *err)
{
	return write_all(db, incs, n, ids, h, err);
}

/* write_all in a transaction of its own. */
static int in_transaction(sqlite3 *db, const struct incident *incs, size_t n, int64_t *ids,
                          const struct job_health *h, struct vigil_error *err)
{
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (write_all(db, incs, n, ids, h, err)) {
		exec(db, "ROLLBACK", NULL);
		return -1;
	}
	return exec(db, "COMMIT", err);
}

static int sqlite_incident_open(struct store *st, struct incident *inc, struct vigil_error *err)
{
	struct incident copy = *inc;

	copy.id = 0;
	return in_transaction(db_of(st), &copy, 1, &inc->id, NULL, err);
}

static int sqlite_incident_update(struct store *st, const struct incident *inc, struct vigil_error *err)
{
	if (!inc->id)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: updating an incident that was never opened");
	return in_transaction(db_of(st), inc, 1, NULL, NULL, err);
}

static int sqlite_incident_resolve(struct store *st, int64_t id, const char *state, int64_t end_ms, int64_t run_ms,
                                   struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	int rc;

	if (strcmp(state, "resolved") && strcmp(state, "accepted"))
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: cannot close an incident as '%s'", state);
	if (sqlite3_prepare_v2(db, "UPDATE incidents SET state = ?2, end_ts = ?3, updated_run = ?4, back_since = 0, "
	                           "back_points = 0 WHERE id = ?1", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "closing an incident");
	sqlite3_bind_int64(stmt, 1, id);
	bind_text(stmt, 2, state);
	sqlite3_bind_int64(stmt, 3, end_ms);
	sqlite3_bind_int64(stmt, 4, run_ms);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return db_error(db, err, "closing an incident");
	if (!sqlite3_changes(db))
		return vigil_error_set(err, VIGIL_E_STORE, "store: no incident %lld", (long long)id);
	return 0;
}

static char *col_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	return t ? xstrdup((const char *)t) : NULL;
}

static double col_num(sqlite3_stmt *stmt, int col)
{
	return sqlite3_column_type(stmt, col) == SQLITE_NULL ? NAN : sqlite3_column_double(stmt, col);
}

/* A row of "SELECT id, " INCIDENT_COLUMNS. */
static void read_incident(sqlite3_stmt *stmt, struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->id = sqlite3_column_int64(stmt, 0);
	inc->job = col_text(stmt, 1);
	inc->series = col_text(stmt, 2);
	inc->kind = col_text(stmt, 3);
	inc->labels_json = col_text(stmt, 4);
	inc->state = col_text(stmt, 5);
	inc->start_ms = sqlite3_column_int64(stmt, 6);
	inc->end_ms = sqlite3_column_int64(stmt, 7);
	inc->last_seen_ms = sqlite3_column_int64(stmt, 8);
	inc->last_alert_ms = sqlite3_column_int64(stmt, 9);
	inc->back_since_ms = sqlite3_column_int64(stmt, 10);
	inc->back_points = sqlite3_column_int64(stmt, 11);
	inc->n_alerts = sqlite3_column_int64(stmt, 12);
	inc->flaps = sqlite3_column_int64(stmt, 13);
	inc->peak_ms = sqlite3_column_int64(stmt, 14);
	inc->peak_value = col_num(stmt, 15);
	inc->peak_expected = col_num(stmt, 16);
	inc->peak_score = col_num(stmt, 17);
	inc->peak_rarity = col_num(stmt, 18);
	inc->onset_expected = col_num(stmt, 19);
	inc->onset_lower = col_num(stmt, 20);
	inc->onset_upper = col_num(stmt, 21);
	inc->accepted_lower = col_num(stmt, 22);
	inc->accepted_upper = col_num(stmt, 23);
	inc->detectors = col_text(stmt, 24);
	inc->evidence = col_text(stmt, 25);
	inc->last_notified_ms = sqlite3_column_int64(stmt, 26);
	inc->opened_run_ms = sqlite3_column_int64(stmt, 27);
	inc->updated_run_ms = sqlite3_column_int64(stmt, 28);
}

/* Every row of a prepared "SELECT id, " INCIDENT_COLUMNS query; finalizes stmt. */
static int read_all(sqlite3 *db, sqlite3_stmt *stmt, struct incident **out, size_t *n, struct vigil_error *err)
{
	struct incident *arr = NULL;
	size_t len = 0, alloc = 0;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (len == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			arr = xreallocarray(arr, alloc, sizeof(*arr));
		}
		read_incident(stmt, &arr[len++]);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		incidents_free(arr, len);
		return db_error(db, err, "reading incidents");
	}
	*out = arr;
	*n = len;
	return 0;
}

static int sqlite_incident_list(struct store *st, const struct incident_filter *f, struct incident **out, size_t *n,
                                struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;

	if (sqlite3_prepare_v2(db, "SELECT id, " INCIDENT_COLUMNS " FROM incidents "
	                           "WHERE (?1 IS NULL OR job = ?1) AND (?2 OR state = 'open' OR end_ts >= ?3) "
	                           "ORDER BY start_ts DESC, id DESC LIMIT ?4", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "reading incidents");
	bind_text(stmt, 1, f->job);
	sqlite3_bind_int(stmt, 2, f->all != 0);
	sqlite3_bind_int64(stmt, 3, f->since_ms);
	sqlite3_bind_int64(stmt, 4, f->limit ? (int64_t)f->limit : -1);
	return read_all(db, stmt, out, n, err);
}

static int sqlite_incident_get(struct store *st, int64_t id, struct incident *out, int *found,
                               struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	struct incident *arr;
	size_t n;

	*found = 0;
	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db, "SELECT id, " INCIDENT_COLUMNS " FROM incidents WHERE id = ?1", -1, &stmt,
	                       NULL) != SQLITE_OK)
		return db_error(db, err, "reading an incident");
	sqlite3_bind_int64(stmt, 1, id);
	if (read_all(db, stmt, &arr, &n, err))
		return -1;
	if (n) {
		*out = arr[0];
		*found = 1;
	}
	free(arr);
	return 0;
}

static int sqlite_incident_latest(struct store *st, const char *job, struct incident **out, size_t *n,
                                  struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;

	/* per (series, kind): the open incident if any, else the one that started last */
	if (sqlite3_prepare_v2(db, "SELECT id, " INCIDENT_COLUMNS " FROM incidents i WHERE job = ?1 AND id = "
	                           "(SELECT id FROM incidents j WHERE j.job = i.job AND j.series = i.series "
	                           "AND j.kind = i.kind ORDER BY (j.state = 'open') DESC, j.start_ts DESC, j.id DESC "
	                           "LIMIT 1) ORDER BY series, kind", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "reading incidents");
	bind_text(stmt, 1, job);
	return read_all(db, stmt, out, n, err);
}

static int sqlite_incident_put(struct store *st, const struct incident *incs, size_t n, const struct job_health *h,
                               struct vigil_error *err)
{
	return in_transaction(db_of(st), incs, n, NULL, h, err);
}

static int sqlite_health_get(struct store *st, const char *job, struct job_health *out, int *found,
                             struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	int rc;

	*found = 0;
	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db, "SELECT failed_runs, empty_runs, last_success, updated_run, last_error "
	                           "FROM job_health WHERE job = ?1", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "reading job health");
	bind_text(stmt, 1, job);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->job = xstrdup(job);
		out->failed_runs = sqlite3_column_int64(stmt, 0);
		out->empty_runs = sqlite3_column_int64(stmt, 1);
		out->last_success_ms = sqlite3_column_int64(stmt, 2);
		out->updated_run_ms = sqlite3_column_int64(stmt, 3);
		out->last_error = col_text(stmt, 4);
		*found = 1;
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_error(db, err, "reading job health");
}

static int sqlite_job_summary(struct store *st, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	json_t *arr = json_array();
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT j.job, (SELECT count(*) FROM incidents i WHERE i.job = j.job AND "
	                           "i.state = 'open'), (SELECT last_success FROM job_health h WHERE h.job = j.job) "
	                           "FROM (SELECT job FROM job_health UNION SELECT job FROM incidents) j ORDER BY j.job",
	                       -1, &stmt, NULL) != SQLITE_OK) {
		json_decref(arr);
		return db_error(db, err, "reading incident counts");
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t last = sqlite3_column_int64(stmt, 2);

		json_array_append_new(arr, json_pack("{s:s, s:I, s:o}", "job", (const char *)sqlite3_column_text(stmt, 0),
		                                     "open", (json_int_t)sqlite3_column_int64(stmt, 1), "last_success",
		                                     last ? json_integer(last) : json_null()));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return db_error(db, err, "reading incident counts");
	}
	*out = arr;
	return 0;
}

const struct store_incident_ops store_sqlite_incidents = {
	.open = sqlite_incident_open,
	.update = sqlite_incident_update,
	.resolve = sqlite_incident_resolve,
	.list = sqlite_incident_list,
	.get = sqlite_incident_get,
	.latest = sqlite_incident_latest,
	.put = sqlite_incident_put,
	.health_get = sqlite_health_get,
	.job_summary = sqlite_job_summary,
};

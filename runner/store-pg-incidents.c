/*
 * store-pg-incidents.c - the incident and job-health tables of the
 * PostgreSQL store (schema version 4), with the semantics of
 * store-sqlite-incidents.c: an incident is keyed by its id and, naturally,
 * by (job, series, kind, start), so a run executed twice upserts the same rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg.h"
#include "xmalloc.h"
#include "banned.h"

#define INCIDENT_COLUMNS "job, series, kind, labels, state, start_ts, end_ts, last_seen, last_alert_ts, " \
	"back_since, back_points, n_alerts, flaps, peak_ts, peak_value, peak_expected, peak_score, peak_rarity, " \
	"onset_expected, onset_lower, onset_upper, accepted_lower, accepted_upper, detectors, evidence, " \
	"last_notified, opened_run, updated_run"

#define INCIDENT_VALUES "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, " \
	"$20, $21, $22, $23, $24, $25, $26, $27, $28"

/* Every column but the key and opened_run (the first run that wrote it stays). */
#define INCIDENT_SET "labels = $4, state = $5, end_ts = $7, last_seen = $8, last_alert_ts = $9, " \
	"back_since = $10, back_points = $11, n_alerts = $12, flaps = $13, peak_ts = $14, peak_value = $15, " \
	"peak_expected = $16, peak_score = $17, peak_rarity = $18, onset_expected = $19, onset_lower = $20, " \
	"onset_upper = $21, accepted_lower = $22, accepted_upper = $23, detectors = $24, evidence = $25, " \
	"last_notified = $26, updated_run = $28"

static void bind_incident(struct pgp *p, const struct incident *inc)
{
	p->n = 0;
	pgp_str(p, inc->job);
	pgp_str(p, inc->series ? inc->series : "");
	pgp_str(p, inc->kind ? inc->kind : "anomaly");
	pgp_str(p, inc->labels_json ? inc->labels_json : "{}");
	pgp_str(p, inc->state ? inc->state : "open");
	pgp_i64(p, inc->start_ms);
	pgp_i64(p, inc->end_ms);
	pgp_i64(p, inc->last_seen_ms);
	pgp_i64(p, inc->last_alert_ms);
	pgp_i64(p, inc->back_since_ms);
	pgp_i64(p, inc->back_points);
	pgp_i64(p, inc->n_alerts);
	pgp_i64(p, inc->flaps);
	pgp_i64(p, inc->peak_ms);
	pgp_dbl(p, inc->peak_value);
	pgp_dbl(p, inc->peak_expected);
	pgp_dbl(p, inc->peak_score);
	pgp_dbl(p, inc->peak_rarity);
	pgp_dbl(p, inc->onset_expected);
	pgp_dbl(p, inc->onset_lower);
	pgp_dbl(p, inc->onset_upper);
	pgp_dbl(p, inc->accepted_lower);
	pgp_dbl(p, inc->accepted_upper);
	pgp_str(p, inc->detectors);
	pgp_str(p, inc->evidence);
	pgp_i64(p, inc->last_notified_ms);
	pgp_i64(p, inc->opened_run_ms);
	pgp_i64(p, inc->updated_run_ms);
}

/* Insert or update one incident; *id_out (may be NULL) gets its id. */
static int write_one(struct pgstore *pg, const struct incident *inc, int64_t *id_out, struct vigil_error *err)
{
	struct pgp p;
	PGresult *res;
	int changed;

	if (!inc->job || !*inc->job)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: an incident without a job");
	bind_incident(&p, inc);
	if (inc->id) {
		pgp_i64(&p, inc->id);
		res = pg_query(pg, "UPDATE incidents SET " INCIDENT_SET " WHERE id = $29 AND job = $1 "
		               "AND $2::text IS NOT NULL AND $3::text IS NOT NULL AND $6::bigint IS NOT NULL "
		               "AND $27::bigint IS NOT NULL", &p, "updating an incident", err);
		if (!res)
			return -1;
		changed = strtol(PQcmdTuples(res), NULL, 10) > 0;
		PQclear(res);
		if (!changed)
			return vigil_error_set(err, VIGIL_E_STORE, "store: no incident %lld", (long long)inc->id);
		if (id_out)
			*id_out = inc->id;
		return 0;
	}
	res = pg_query(pg, "INSERT INTO incidents (" INCIDENT_COLUMNS ") VALUES (" INCIDENT_VALUES ") "
	               "ON CONFLICT (job, series, kind, start_ts) DO UPDATE SET " INCIDENT_SET " RETURNING id", &p,
	               "recording an incident", err);
	if (!res)
		return -1;
	if (id_out)
		*id_out = pg_i64(res, 0, 0);
	PQclear(res);
	return 0;
}

static int write_health(struct pgstore *pg, const struct job_health *h, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, h->job);
	pgp_i64(&p, h->failed_runs);
	pgp_i64(&p, h->empty_runs);
	pgp_i64(&p, h->last_success_ms);
	pgp_i64(&p, h->updated_run_ms);
	pgp_str(&p, h->last_error);
	return pg_exec(pg, "INSERT INTO job_health (job, failed_runs, empty_runs, last_success, updated_run, "
	               "last_error) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (job) DO UPDATE SET "
	               "failed_runs = $2, empty_runs = $3, last_success = $4, updated_run = $5, last_error = $6", &p,
	               "recording job health", err);
}

/* Write incs (ids into ids[i] when ids is not NULL) and h in the open transaction. */
static int write_all(struct pgstore *pg, const struct incident *incs, size_t n, int64_t *ids,
                     const struct job_health *h, struct vigil_error *err)
{
	if (h && (!h->job || !*h->job))
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: job health without a job");
	if (h && write_health(pg, h, err))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (write_one(pg, &incs[i], ids ? &ids[i] : NULL, err))
			return -1;
	return 0;
}

int pg_incidents_write(struct pgstore *pg, const struct incident *incs, size_t n, int64_t *ids,
                       const struct job_health *h, struct vigil_error *err)
{
	return write_all(pg, incs, n, ids, h, err);
}

/* write_all in a transaction of its own. */
static int in_transaction(struct pgstore *pg, const struct incident *incs, size_t n, int64_t *ids,
                          const struct job_health *h, struct vigil_error *err)
{
	if (pg_begin(pg, err))
		return -1;
	if (write_all(pg, incs, n, ids, h, err)) {
		pg_rollback(pg);
		return -1;
	}
	return pg_commit(pg, err);
}

static int pg_incident_open(struct store *st, struct incident *inc, struct vigil_error *err)
{
	struct incident copy = *inc;

	copy.id = 0;
	return in_transaction(pg_of(st), &copy, 1, &inc->id, NULL, err);
}

static int pg_incident_update(struct store *st, const struct incident *inc, struct vigil_error *err)
{
	if (!inc->id)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: updating an incident that was never opened");
	return in_transaction(pg_of(st), inc, 1, NULL, NULL, err);
}

static int pg_incident_resolve(struct store *st, int64_t id, const char *state, int64_t end_ms, int64_t run_ms,
                               struct vigil_error *err)
{
	struct pgp p = { 0 };
	PGresult *res;
	int changed;

	if (strcmp(state, "resolved") && strcmp(state, "accepted"))
		return vigil_error_set(err, VIGIL_E_INTERNAL, "store: cannot close an incident as '%s'", state);
	pgp_i64(&p, id);
	pgp_str(&p, state);
	pgp_i64(&p, end_ms);
	pgp_i64(&p, run_ms);
	res = pg_query(pg_of(st), "UPDATE incidents SET state = $2, end_ts = $3, updated_run = $4, back_since = 0, "
	               "back_points = 0 WHERE id = $1", &p, "closing an incident", err);
	if (!res)
		return -1;
	changed = strtol(PQcmdTuples(res), NULL, 10) > 0;
	PQclear(res);
	if (!changed)
		return vigil_error_set(err, VIGIL_E_STORE, "store: no incident %lld", (long long)id);
	return 0;
}

static double col_num(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? NAN : strtod(PQgetvalue(res, r, c), NULL);
}

/* Row r of "SELECT id, " INCIDENT_COLUMNS. */
static void read_incident(const PGresult *res, int r, struct incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->id = pg_i64(res, r, 0);
	inc->job = pg_dup(res, r, 1);
	inc->series = pg_dup(res, r, 2);
	inc->kind = pg_dup(res, r, 3);
	inc->labels_json = pg_dup(res, r, 4);
	inc->state = pg_dup(res, r, 5);
	inc->start_ms = pg_i64(res, r, 6);
	inc->end_ms = pg_i64(res, r, 7);
	inc->last_seen_ms = pg_i64(res, r, 8);
	inc->last_alert_ms = pg_i64(res, r, 9);
	inc->back_since_ms = pg_i64(res, r, 10);
	inc->back_points = pg_i64(res, r, 11);
	inc->n_alerts = pg_i64(res, r, 12);
	inc->flaps = pg_i64(res, r, 13);
	inc->peak_ms = pg_i64(res, r, 14);
	inc->peak_value = col_num(res, r, 15);
	inc->peak_expected = col_num(res, r, 16);
	inc->peak_score = col_num(res, r, 17);
	inc->peak_rarity = col_num(res, r, 18);
	inc->onset_expected = col_num(res, r, 19);
	inc->onset_lower = col_num(res, r, 20);
	inc->onset_upper = col_num(res, r, 21);
	inc->accepted_lower = col_num(res, r, 22);
	inc->accepted_upper = col_num(res, r, 23);
	inc->detectors = pg_dup(res, r, 24);
	inc->evidence = pg_dup(res, r, 25);
	inc->last_notified_ms = pg_i64(res, r, 26);
	inc->opened_run_ms = pg_i64(res, r, 27);
	inc->updated_run_ms = pg_i64(res, r, 28);
}

static int read_all(struct pgstore *pg, const char *sql, const struct pgp *p, struct incident **out, size_t *n,
                    struct vigil_error *err)
{
	PGresult *res = pg_query(pg, sql, p, "reading incidents", err);
	size_t len;

	if (!res)
		return -1;
	len = (size_t)PQntuples(res);
	*out = xcalloc(len ? len : 1, sizeof(**out));
	for (size_t i = 0; i < len; i++)
		read_incident(res, (int)i, &(*out)[i]);
	*n = len;
	PQclear(res);
	return 0;
}

static int pg_incident_list(struct store *st, const struct incident_filter *f, struct incident **out, size_t *n,
                            struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, f->job);
	pgp_str(&p, f->all ? "true" : "false");
	pgp_i64(&p, f->since_ms);
	if (f->limit)
		pgp_i64(&p, (int64_t)f->limit);
	else
		pgp_str(&p, NULL);   /* LIMIT NULL: no limit */
	return read_all(pg_of(st), "SELECT id, " INCIDENT_COLUMNS " FROM incidents "
	                "WHERE ($1::text IS NULL OR job = $1) AND ($2::boolean OR state = 'open' OR end_ts >= $3) "
	                "ORDER BY start_ts DESC, id DESC LIMIT $4::bigint", &p, out, n, err);
}

static int pg_incident_get(struct store *st, int64_t id, struct incident *out, int *found, struct vigil_error *err)
{
	struct pgp p = { 0 };
	struct incident *arr;
	size_t n;

	*found = 0;
	memset(out, 0, sizeof(*out));
	pgp_i64(&p, id);
	if (read_all(pg_of(st), "SELECT id, " INCIDENT_COLUMNS " FROM incidents WHERE id = $1", &p, &arr, &n, err))
		return -1;
	if (n) {
		*out = arr[0];
		*found = 1;
	}
	free(arr);
	return 0;
}

static int pg_incident_latest(struct store *st, const char *job, struct incident **out, size_t *n,
                              struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	/* per (series, kind): the open incident if any, else the one that started last */
	return read_all(pg_of(st), "SELECT id, " INCIDENT_COLUMNS " FROM incidents i WHERE job = $1 AND id = "
	                "(SELECT id FROM incidents j WHERE j.job = i.job AND j.series = i.series AND j.kind = i.kind "
	                "ORDER BY (j.state = 'open') DESC, j.start_ts DESC, j.id DESC LIMIT 1) ORDER BY series, kind",
	                &p, out, n, err);
}

static int pg_incident_put(struct store *st, const struct incident *incs, size_t n, const struct job_health *h,
                           struct vigil_error *err)
{
	return in_transaction(pg_of(st), incs, n, NULL, h, err);
}

static int pg_health_get(struct store *st, const char *job, struct job_health *out, int *found,
                         struct vigil_error *err)
{
	struct pgp p = { 0 };
	PGresult *res;

	*found = 0;
	memset(out, 0, sizeof(*out));
	pgp_str(&p, job);
	res = pg_query(pg_of(st), "SELECT failed_runs, empty_runs, last_success, updated_run, last_error "
	               "FROM job_health WHERE job = $1", &p, "reading job health", err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		out->job = xstrdup(job);
		out->failed_runs = pg_i64(res, 0, 0);
		out->empty_runs = pg_i64(res, 0, 1);
		out->last_success_ms = pg_i64(res, 0, 2);
		out->updated_run_ms = pg_i64(res, 0, 3);
		out->last_error = pg_dup(res, 0, 4);
		*found = 1;
	}
	PQclear(res);
	return 0;
}

static int pg_job_summary(struct store *st, json_t **out, struct vigil_error *err)
{
	PGresult *res = pg_query(pg_of(st), "SELECT j.job, (SELECT count(*) FROM incidents i WHERE i.job = j.job AND "
	                         "i.state = 'open'), (SELECT last_success FROM job_health h WHERE h.job = j.job) "
	                         "FROM (SELECT job FROM job_health UNION SELECT job FROM incidents) j ORDER BY j.job",
	                         NULL, "reading incident counts", err);
	json_t *arr;

	if (!res)
		return -1;
	arr = json_array();
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t last = pg_i64(res, r, 2);

		json_array_append_new(arr, json_pack("{s:s, s:I, s:o}", "job", PQgetvalue(res, r, 0), "open",
		                                     (json_int_t)pg_i64(res, r, 1), "last_success",
		                                     last ? json_integer(last) : json_null()));
	}
	PQclear(res);
	*out = arr;
	return 0;
}

const struct store_incident_ops store_pg_incidents = {
	.open = pg_incident_open,
	.update = pg_incident_update,
	.resolve = pg_incident_resolve,
	.list = pg_incident_list,
	.get = pg_incident_get,
	.latest = pg_incident_latest,
	.put = pg_incident_put,
	.health_get = pg_health_get,
	.job_summary = pg_job_summary,
};

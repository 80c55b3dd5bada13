/*
 * store-pg-feedback.c - verdicts on incidents in the PostgreSQL store
 * (schema version 5, as store-sqlite-feedback.c): one row per verdict given,
 * so a changed mind is history, not an overwrite.
 */
#include <stdlib.h>

#include "store-pg.h"
#include "banned.h"

int pg_feedback_add(struct store *st, int64_t incident_id, const char *verdict, const char *note, const char *who,
                    int64_t now, int64_t *id, int *found, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;

	*found = 0;
	if (pg_begin(pg, err))
		return -1;
	/* the incident stays while its verdict is written */
	pgp_i64(&p, incident_id);
	res = pg_query(pg, "SELECT 1 FROM incidents WHERE id = $1 FOR KEY SHARE", &p, "storing feedback", err);
	if (!res)
		goto fail;
	*found = PQntuples(res) > 0;
	PQclear(res);
	if (!*found) {
		pg_rollback(pg);
		return 0;
	}
	pgp_str(&p, verdict);
	pgp_str(&p, note);
	pgp_str(&p, who);
	pgp_i64(&p, now);
	res = pg_query(pg, "INSERT INTO incident_feedback (incident_id, verdict, note, who, created_at) "
	               "VALUES ($1, $2, $3, $4, $5) RETURNING id", &p, "storing feedback", err);
	if (!res)
		goto fail;
	*id = pg_i64(res, 0, 0);
	PQclear(res);
	return pg_commit(pg, err);
fail:
	pg_rollback(pg);
	return -1;
}

int pg_feedback_list(struct store *st, int64_t incident_id, json_t **out, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_i64(&p, incident_id);
	return pg_query_json(pg_of(st), "SELECT id, verdict, note, who, created_at AS at FROM incident_feedback "
	                     "WHERE incident_id = $1 ORDER BY id", &p, out, err);
}

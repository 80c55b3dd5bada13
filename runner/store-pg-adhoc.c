/*
 * store-pg-adhoc.c - ad-hoc runs in the PostgreSQL store (schema version 6,
 * as store-sqlite-adhoc.c).  Any node may claim one: the claim takes the
 * oldest waiting row with FOR UPDATE SKIP LOCKED, so two nodes never take
 * the same run, and the usual lease and fencing apply from there.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg.h"
#include "xmalloc.h"
#include "banned.h"

/* A second submission of the same job within one millisecond takes the next one; this many tries at most. */
#define SUBMIT_TRIES 1000

static int pg_adhoc_submit(struct store *st, const char *job, const char *spec, int64_t *run_id,
                           int64_t *scheduled_ms, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res = NULL;

	if (pg_begin(pg, err))
		return -1;
	pgp_str(&p, job);
	if (pg_exec(pg, "INSERT INTO jobs (name, first_seen) VALUES ($1, " PG_NOW_MS ") ON CONFLICT (name) DO NOTHING",
	            &p, "queueing an ad-hoc run", err))
		goto fail;
	for (int i = 0; i < SUBMIT_TRIES; i++) {
		p.n = 0;
		pgp_str(&p, job);
		pgp_i64(&p, i);
		res = pg_query(pg, "INSERT INTO runs (job, scheduled_for, state, trigger_kind) "
		               "VALUES ($1, " PG_NOW_MS " + $2, 'pending', 'adhoc') ON CONFLICT (job, scheduled_for) DO NOTHING "
		               "RETURNING id, scheduled_for", &p, "queueing an ad-hoc run", err);
		if (!res)
			goto fail;
		if (PQntuples(res))
			break;
		PQclear(res);
		res = NULL;
	}
	if (!res) {
		vigil_error_set(err, VIGIL_E_CONFLICT, "store: too many ad-hoc runs of '%s' at once", job);
		goto fail;
	}
	*run_id = pg_i64(res, 0, 0);
	*scheduled_ms = pg_i64(res, 0, 1);
	PQclear(res);
	p.n = 0;
	pgp_i64(&p, *run_id);
	pgp_str(&p, spec);
	if (pg_exec(pg, "INSERT INTO adhoc_runs (run_id, spec, submitted_at) VALUES ($1, $2, " PG_NOW_MS ")", &p,
	            "queueing an ad-hoc run", err))
		goto fail;
	return pg_commit(pg, err);
fail:
	pg_rollback(pg);
	return -1;
}

static int pg_adhoc_claim(struct store *st, const char *node, int64_t lease_ms, struct run_claim *out, char **job,
                          char **spec, int *claimed, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;

	*claimed = 0;
	if (pg_begin(pg, err))
		return -1;
	pgp_str(&p, node);
	pgp_i64(&p, lease_ms);
	/* a row another node is claiming right now is skipped, not waited for */
	res = pg_query(pg, "UPDATE runs SET state = 'running', locked_by = $1, lease_until = " PG_NOW_MS " + $2, "
	               "attempts = attempts + 1, started_at = " PG_NOW_MS ", finished_at = NULL "
	               "WHERE id = (SELECT id FROM runs WHERE trigger_kind = 'adhoc' "
	               "AND state IN ('pending', 'interrupted', 'running') "
	               "AND (state <> 'running' OR lease_until < " PG_NOW_MS ") "
	               "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED) "
	               "RETURNING id, job, scheduled_for, attempts, "
	               "(SELECT spec FROM adhoc_runs WHERE run_id = runs.id)", &p, "claiming an ad-hoc run", err);
	if (!res)
		goto fail;
	if (PQntuples(res)) {
		memset(out, 0, sizeof(*out));
		out->id = pg_i64(res, 0, 0);
		out->scheduled_ms = pg_i64(res, 0, 2);
		out->attempts = (int)pg_i64(res, 0, 3);
		snprintf(out->trigger, sizeof(out->trigger), "adhoc");
		*job = pg_dup(res, 0, 1);
		*spec = pg_dup(res, 0, 4);
		if (!*spec)
			*spec = xstrdup("");
		*claimed = 1;
	}
	PQclear(res);
	if (pg_commit(pg, err)) {
		if (*claimed) {
			free(*job);
			free(*spec);
		}
		*claimed = 0;
		return -1;
	}
	return 0;
fail:
	pg_rollback(pg);
	return -1;
}

static int pg_adhoc_get(struct store *st, int64_t run_id, char **spec, char **results, int *found,
                        struct vigil_error *err)
{
	struct pgp p = { 0 };
	PGresult *res;

	*found = 0;
	*spec = *results = NULL;
	pgp_i64(&p, run_id);
	res = pg_query(pg_of(st), "SELECT spec, results FROM adhoc_runs WHERE run_id = $1", &p,
	               "reading an ad-hoc run", err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		*found = 1;
		*spec = pg_dup(res, 0, 0);
		*results = pg_dup(res, 0, 1);
	}
	PQclear(res);
	return 0;
}

static int pg_adhoc_purge(struct store *st, int64_t before_ms, int64_t *n, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;

	*n = 0;
	pgp_i64(&p, before_ms);
	if (pg_begin(pg, err))
		return -1;
	res = pg_query(pg, "WITH gone AS (SELECT id FROM runs WHERE trigger_kind = 'adhoc' AND finished_at < $1), "
	               "a AS (DELETE FROM adhoc_runs WHERE run_id IN (SELECT id FROM gone)), "
	               "f AS (DELETE FROM run_failures WHERE run_id IN (SELECT id FROM gone)), "
	               "x AS (DELETE FROM anomalies WHERE run_id IN (SELECT id FROM gone)) "
	               "SELECT count(*) FROM gone", &p, "purging ad-hoc runs", err);
	if (!res)
		goto fail;
	PQclear(res);
	/* the runs go once nothing refers to them (a data-modifying CTE sees the rows as they were) */
	res = pg_query(pg, "DELETE FROM runs r WHERE trigger_kind = 'adhoc' AND finished_at < $1 "
	               "AND NOT EXISTS (SELECT 1 FROM adhoc_runs a WHERE a.run_id = r.id)", &p, "purging ad-hoc runs",
	               err);
	if (!res)
		goto fail;
	*n = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return pg_commit(pg, err);
fail:
	pg_rollback(pg);
	return -1;
}

int pg_adhoc_write(struct pgstore *pg, int64_t run_id, const char *results, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_i64(&p, run_id);
	pgp_str(&p, results);
	return pg_exec(pg, "UPDATE adhoc_runs SET results = $2 WHERE run_id = $1", &p,
	               "storing an ad-hoc run's results", err);
}

const struct store_adhoc_ops store_pg_adhoc = {
	.submit = pg_adhoc_submit,
	.claim = pg_adhoc_claim,
	.get = pg_adhoc_get,
	.purge = pg_adhoc_purge,
};

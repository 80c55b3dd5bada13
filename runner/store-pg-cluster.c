/*
 * store-pg-cluster.c - what the nodes sharing a PostgreSQL store tell each
 * other through it: that they are alive, and which version of each job's
 * spec they run (`vigil status --cluster`, /metrics, docs/scale-out.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg.h"
#include "xmalloc.h"
#include "banned.h"

static int cluster_node_beat(struct store *st, const char *node, const char *version, long pid,
                             struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, node);
	pgp_str(&p, version);
	pgp_i64(&p, pid);
	return pg_exec(pg_of(st), "INSERT INTO nodes (node, started_at, last_seen, version, pid) VALUES "
	               "($1, " PG_NOW_MS ", " PG_NOW_MS ", $2, $3) ON CONFLICT (node) DO UPDATE SET "
	               "last_seen = excluded.last_seen, version = excluded.version, "
	               "started_at = CASE WHEN nodes.pid IS DISTINCT FROM excluded.pid THEN excluded.started_at "
	               "ELSE nodes.started_at END, pid = excluded.pid", &p, "recording a node", err);
}

static int cluster_spec_seen(struct store *st, const char *node, const char *job, const char *text,
                             struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, job);
	pgp_str(&p, node);
	if (!text)
		return pg_exec(pg_of(st), "DELETE FROM spec_versions WHERE job = $1 AND node = $2", &p,
		               "recording a spec version", err);
	pgp_str(&p, text);
	return pg_exec(pg_of(st), "INSERT INTO spec_versions (job, node, hash, seen_at) VALUES ($1, $2, "
	               "encode(sha256(convert_to($3, 'UTF8')), 'hex'), " PG_NOW_MS ") ON CONFLICT (job, node) DO UPDATE SET hash = excluded.hash, "
	               "seen_at = excluded.seen_at", &p, "recording a spec version", err);
}

static int cluster_specs_reset(struct store *st, const char *node, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, node);
	return pg_exec(pg_of(st), "DELETE FROM spec_versions WHERE node = $1", &p, "recording a spec version", err);
}

/* [{job, versions: [{hash, nodes: [...]}]}] from rows (job, hash, node) ordered by job, hash, node. */
static json_t *conflicts_json(const PGresult *r)
{
	json_t *out = json_array(), *cur = NULL, *ver = NULL;

	for (int i = 0; i < PQntuples(r); i++) {
		const char *job = PQgetvalue(r, i, 0), *hash = PQgetvalue(r, i, 1);

		if (!cur || strcmp(json_string_value(json_object_get(cur, "job")), job)) {
			cur = json_pack("{s:s, s:[]}", "job", job, "versions");
			json_array_append_new(out, cur);
			ver = NULL;
		}
		if (!ver || strcmp(json_string_value(json_object_get(ver, "hash")), hash)) {
			ver = json_pack("{s:s, s:[]}", "hash", hash, "nodes");
			json_array_append_new(json_object_get(cur, "versions"), ver);
		}
		json_array_append_new(json_object_get(ver, "nodes"), json_string(PQgetvalue(r, i, 2)));
	}
	return out;
}

static int cluster_status(struct store *st, int64_t alive_ms, size_t recent, json_t **out, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	json_t *o = json_object(), *rows;
	PGresult *r;

	pgp_i64(&p, alive_ms);
	r = pg_query(pg, "SELECT " PG_NOW_MS ", (SELECT count(*) FROM runs WHERE state = 'pending'), "
	             "(SELECT min(scheduled_for) FROM runs WHERE state IN ('pending', 'interrupted') "
	             "OR (state = 'running' AND lease_until < " PG_NOW_MS "))", NULL, "reading the cluster", err);
	if (!r)
		goto fail;
	json_object_set_new(o, "now", json_integer(pg_i64(r, 0, 0)));
	json_object_set_new(o, "pending", json_integer(pg_i64(r, 0, 1)));
	json_object_set_new(o, "oldest_waiting", PQgetisnull(r, 0, 2) ? json_null() : json_integer(pg_i64(r, 0, 2)));
	PQclear(r);
	if (pg_query_json(pg, "SELECT n.node, n.started_at, n.last_seen, n.version, "
	                  "(SELECT count(*) FROM runs WHERE locked_by = n.node AND state = 'running') AS runs_held, "
	                  "(n.last_seen >= " PG_NOW_MS " - $1) AS alive FROM nodes n ORDER BY n.node", &p, &rows, err))
		goto fail;
	json_object_set_new(o, "nodes", rows);
	r = pg_query(pg, "SELECT s.job, s.hash, s.node FROM spec_versions s JOIN nodes n ON n.node = s.node "
	             "WHERE n.last_seen >= " PG_NOW_MS " - $1 AND s.job IN (SELECT v.job FROM spec_versions v "
	             "JOIN nodes m ON m.node = v.node WHERE m.last_seen >= " PG_NOW_MS " - $1 "
	             "GROUP BY v.job HAVING count(DISTINCT v.hash) > 1) ORDER BY s.job, s.hash, s.node", &p,
	             "reading the cluster", err);
	if (!r)
		goto fail;
	json_object_set_new(o, "spec_conflicts", conflicts_json(r));
	PQclear(r);
	p.n = 0;
	pgp_i64(&p, (int64_t)recent);
	if (pg_query_json(pg, "SELECT id, job, scheduled_for, trigger_kind AS \"trigger\", state, locked_by, attempts, "
	                  "started_at, finished_at, started_at - scheduled_for AS lag_ms FROM runs "
	                  "ORDER BY id DESC LIMIT $1", &p, &rows, err))
		goto fail;
	json_object_set_new(o, "recent", rows);
	*out = o;
	return 0;
fail:
	json_decref(o);
	return -1;
}

const struct store_cluster_ops store_pg_cluster = {
	.node_beat = cluster_node_beat,
	.spec_seen = cluster_spec_seen,
	.specs_reset = cluster_specs_reset,
	.status = cluster_status,
};

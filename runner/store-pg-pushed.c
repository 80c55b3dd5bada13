/*
 * store-pg-pushed.c - pushed detectors in the PostgreSQL store (schema
 * version 7, as store-sqlite-pushed.c).  Pushes of one name are serialised
 * by an advisory lock on it, so versions stay monotonic across nodes; times
 * are the server's.
 */
#include <stdlib.h>
#include <string.h>

#include "store-pg.h"
#include "xmalloc.h"
#include "banned.h"

#define LATEST_SQL \
	"SELECT v.name, v.version, v.sha256, v.entry, b.size, v.pushed_by, v.pushed_at, " \
	"(SELECT count(*) FROM detector_versions w WHERE w.name = v.name) AS versions " \
	"FROM detector_versions v JOIN detector_bundles b ON b.sha256 = v.sha256 " \
	"WHERE v.version = (SELECT max(version) FROM detector_versions w WHERE w.name = v.name) "

static int pushed_push(struct store *st, const struct pushed_version *v, int64_t *version, int *created,
                       struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;
	int64_t latest = 0;
	int same = 0;

	*created = 0;
	if (pg_begin(pg, err))
		return -1;
	pgp_str(&p, v->name);
	if (pg_exec(pg, "SELECT pg_advisory_xact_lock(hashtext('vigil-push:' || $1))", &p, "storing a pushed detector",
	            err))
		goto fail;
	res = pg_query(pg, "SELECT version, sha256 FROM detector_versions WHERE name = $1 ORDER BY version DESC LIMIT 1",
	               &p, "storing a pushed detector", err);
	if (!res)
		goto fail;
	if (PQntuples(res)) {
		latest = pg_i64(res, 0, 0);
		same = !strcmp(PQgetvalue(res, 0, 1), v->sha256);
	}
	PQclear(res);
	if (same) {
		pg_rollback(pg);
		*version = latest;
		return 0;
	}
	p.n = 0;
	pgp_str(&p, v->sha256);
	pgp_i64(&p, (int64_t)v->size);
	pgp_blob(&p, v->bundle, v->size);
	if (pg_exec(pg, "INSERT INTO detector_bundles (sha256, size, data) VALUES ($1, $2, $3) "
	            "ON CONFLICT (sha256) DO NOTHING", &p, "storing a pushed detector", err))
		goto fail;
	p.n = 0;
	pgp_str(&p, v->name);
	pgp_i64(&p, latest + 1);
	pgp_str(&p, v->sha256);
	pgp_str(&p, v->entry);
	pgp_str(&p, v->by);
	if (pg_exec(pg, "INSERT INTO detector_versions (name, version, sha256, entry, pushed_by, pushed_at) "
	            "VALUES ($1, $2, $3, $4, $5, " PG_NOW_MS ")", &p, "storing a pushed detector", err))
		goto fail;
	if (pg_commit(pg, err))
		return -1;
	*version = latest + 1;
	*created = 1;
	return 0;
fail:
	pg_rollback(pg);
	return -1;
}

static int pushed_latest(struct store *st, const char *name, json_t **out, struct vigil_error *err)
{
	struct pgp p = { 0 };
	json_t *rows;

	*out = NULL;
	pgp_str(&p, name);
	if (pg_query_json(pg_of(st), LATEST_SQL "AND v.name = $1", &p, &rows, err))
		return -1;
	if (json_array_size(rows))
		*out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return 0;
}

static int pushed_bundle(struct store *st, const char *sha256, void **data, size_t *len, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res;

	*data = NULL;
	*len = 0;
	pgp_str(&p, sha256);
	res = pg_query(pg, "SELECT data FROM detector_bundles WHERE sha256 = $1", &p, "reading a pushed detector", err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 0), len);

		if (!raw) {
			PQclear(res);
			return vigil_error_set(err, VIGIL_E_STORE, "store: %s: reading a pushed detector: out of memory",
			                       pg->who);
		}
		*data = xcalloc(*len + 1, 1);   /* NUL-terminated, for safety */
		memcpy(*data, raw, *len);
		PQfreemem(raw);
	}
	PQclear(res);
	return 0;
}

static int pushed_node_seen(struct store *st, const char *node, const char *name, int64_t version,
                            const char *sha256, int64_t now, struct vigil_error *err)
{
	struct pgp p = { 0 };

	(void)now;   /* the server's clock */
	pgp_str(&p, node);
	pgp_str(&p, name);
	pgp_i64(&p, version);
	pgp_str(&p, sha256);
	return pg_exec(pg_of(st), "INSERT INTO detector_nodes (node, name, version, sha256, seen_at) "
	               "VALUES ($1, $2, $3, $4, " PG_NOW_MS ") ON CONFLICT (node, name) DO UPDATE SET "
	               "version = excluded.version, sha256 = excluded.sha256, seen_at = excluded.seen_at", &p,
	               "recording a materialised detector", err);
}

static int pushed_list(struct store *st, json_t **out, struct vigil_error *err)
{
	json_t *list, *nodes;

	if (pg_query_json(pg_of(st), LATEST_SQL "ORDER BY v.name", NULL, &list, err))
		return -1;
	if (pg_query_json(pg_of(st), "SELECT name, node, version, sha256, seen_at FROM detector_nodes "
	                  "ORDER BY name, node", NULL, &nodes, err)) {
		json_decref(list);
		return -1;
	}
	store_pushed_attach_nodes(list, nodes);
	*out = list;
	return 0;
}

const struct store_pushed_ops store_pg_pushed = {
	.push = pushed_push,
	.latest = pushed_latest,
	.bundle = pushed_bundle,
	.node_seen = pushed_node_seen,
	.list = pushed_list,
};

/*
 * store-sqlite-pushed.c - pushed detectors in the SQLite store (schema
 * version 7, runner/pushed.h): bundles by SHA-256, a version per name,
 * and which version each node materialised.
 */
#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
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
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int64_t latest = 0;
	int same = 0;

	*created = 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT version, sha256 FROM detector_versions WHERE name = ?1 "
	                           "ORDER BY version DESC LIMIT 1", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, v->name, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		latest = sqlite3_column_int64(stmt, 0);
		same = !strcmp((const char *)sqlite3_column_text(stmt, 1), v->sha256);
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (same) {
		*version = latest;
		return exec(db, "ROLLBACK", err);
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO detector_bundles (sha256, size, data) VALUES (?1, ?2, ?3) "
	                           "ON CONFLICT (sha256) DO NOTHING", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, v->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)v->size);
	sqlite3_bind_blob64(stmt, 3, v->bundle, v->size, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	if (sqlite3_prepare_v2(db, "INSERT INTO detector_versions (name, version, sha256, entry, pushed_by, pushed_at) "
	                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(stmt, 1, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, latest + 1);
	sqlite3_bind_text(stmt, 3, v->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, v->entry, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, v->by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 6, v->at);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	*version = latest + 1;
	*created = 1;
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "storing a pushed detector");
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static int pushed_latest(struct store *st, const char *name, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	json_t *rows;

	*out = NULL;
	if (sqlite3_prepare_v2(db, LATEST_SQL "AND v.name = ?1", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "reading pushed detectors");
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	if (sqlite_rows_json(db, stmt, &rows, err))
		return -1;
	if (json_array_size(rows))
		*out = json_incref(json_array_get(rows, 0));
	json_decref(rows);
	return 0;
}

static int pushed_bundle(struct store *st, const char *sha256, void **data, size_t *len, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	int rc;

	*data = NULL;
	*len = 0;
	if (sqlite3_prepare_v2(db, "SELECT data FROM detector_bundles WHERE sha256 = ?1", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "reading a pushed detector");
	sqlite3_bind_text(stmt, 1, sha256, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*len = (size_t)sqlite3_column_bytes(stmt, 0);
		*data = xcalloc(*len + 1, 1);   /* NUL-terminated, for safety */
		if (*len)
			memcpy(*data, sqlite3_column_blob(stmt, 0), *len);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(db, err, "reading a pushed detector");
	return 0;
}

static int pushed_node_seen(struct store *st, const char *node, const char *name, int64_t version,
                            const char *sha256, int64_t now, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO detector_nodes (node, name, version, sha256, seen_at) "
	                           "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (node, name) DO UPDATE SET "
	                           "version = excluded.version, sha256 = excluded.sha256, seen_at = excluded.seen_at",
	                       -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "recording a materialised detector");
	sqlite3_bind_text(stmt, 1, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, version);
	sqlite3_bind_text(stmt, 4, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, now);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : db_error(db, err, "recording a materialised detector");
}

static int pushed_list(struct store *st, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	json_t *list, *nodes;

	if (sqlite3_prepare_v2(db, LATEST_SQL "ORDER BY v.name", -1, &stmt, NULL) != SQLITE_OK)
		return db_error(db, err, "reading pushed detectors");
	if (sqlite_rows_json(db, stmt, &list, err))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT name, node, version, sha256, seen_at FROM detector_nodes "
	                           "ORDER BY name, node", -1, &stmt, NULL) != SQLITE_OK) {
		json_decref(list);
		return db_error(db, err, "reading pushed detectors");
	}
	if (sqlite_rows_json(db, stmt, &nodes, err)) {
		json_decref(list);
		return -1;
	}
	store_pushed_attach_nodes(list, nodes);
	*out = list;
	return 0;
}

const struct store_pushed_ops store_sqlite_pushed = {
	.push = pushed_push,
	.latest = pushed_latest,
	.bundle = pushed_bundle,
	.node_seen = pushed_node_seen,
	.list = pushed_list,
};

/*
 * store-sqlite-feedback.c - verdicts on incidents (schema version 5,
 * runner/feedback.h): one row per verdict given, so a changed mind is
 * history, not an overwrite.
 */
#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
#include "xmalloc.h"
#include "banned.h"

int sqlite_feedback_add(struct store *st, int64_t incident_id, const char *verdict, const char *note,
                        const char *who, int64_t now, int64_t *id, int *found, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM incidents WHERE id = ?1", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, incident_id);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (rc == SQLITE_DONE)
		return exec(db, "ROLLBACK", err);
	if (rc != SQLITE_ROW)
		goto fail;
	*found = 1;
	if (sqlite3_prepare_v2(db, "INSERT INTO incident_feedback (incident_id, verdict, note, who, created_at) "
	                           "VALUES (?1, ?2, ?3, ?4, ?5)", -1, &stmt, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(stmt, 1, incident_id);
	sqlite3_bind_text(stmt, 2, verdict, -1, SQLITE_STATIC);
	if (note)
		sqlite3_bind_text(stmt, 3, note, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 3);
	sqlite3_bind_text(stmt, 4, who, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(stmt);
	*id = sqlite3_last_insert_rowid(db);
	return exec(db, "COMMIT", err);
fail:
	db_error(db, err, "storing feedback");
	sqlite3_finalize(stmt);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

int sqlite_feedback_list(struct store *st, int64_t incident_id, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	json_t *rows = json_array();
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT id, verdict, note, who, created_at FROM incident_feedback "
	                           "WHERE incident_id = ?1 ORDER BY id", -1, &stmt, NULL) != SQLITE_OK) {
		json_decref(rows);
		return db_error(db, err, "reading feedback");
	}
	sqlite3_bind_int64(stmt, 1, incident_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *note = (const char *)sqlite3_column_text(stmt, 2);

		json_array_append_new(rows, json_pack("{s:I, s:s, s:o, s:s, s:I}",
		                                      "id", (json_int_t)sqlite3_column_int64(stmt, 0),
		                                      "verdict", (const char *)sqlite3_column_text(stmt, 1),
		                                      "note", note ? json_string(note) : json_null(),
		                                      "who", (const char *)sqlite3_column_text(stmt, 3),
		                                      "at", (json_int_t)sqlite3_column_int64(stmt, 4)));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(rows);
		return db_error(db, err, "reading feedback");
	}
	*out = rows;
	return 0;
}

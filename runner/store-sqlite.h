/* store-sqlite.h - what the files of the SQLite backend share. */
#ifndef VIGIL_STORE_SQLITE_H
#define VIGIL_STORE_SQLITE_H

#include <sqlite3.h>

#include "store.h"

/* The backend's connection. */
static inline sqlite3 *db_of(struct store *st)
{
	return st->impl;
}

/* Record the connection's last error as "store: <what>: <message>"; returns -1. */
static inline int db_error(sqlite3 *db, struct vigil_error *err, const char *what)
{
	return vigil_error_set(err, VIGIL_E_STORE, "store: %s: %s", what, sqlite3_errmsg(db));
}

/* Run SQL without results; 0, or -1 with err set. */
static inline int exec(sqlite3 *db, const char *sql, struct vigil_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		vigil_error_set(err, VIGIL_E_STORE, "store: %s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Insert outbox rows and upsert alert-state rows inside the caller's open
 * transaction (run_finish uses it so that a run's results and its messages
 * commit together).  Returns 0, or -1 with err set; the caller rolls back.
 */
int sqlite_notify_write(sqlite3 *db, const struct outbox_row *rows, size_t n_rows,
                        const struct alert_state_row *states, size_t n_states, struct vigil_error *err);

/*
 * Upsert incidents and (if h) a job's health inside the caller's open
 * transaction, as sqlite_notify_write does.  An incident with id 0 is
 * matched on (job, series, kind, start).  ids (may be NULL) gets the n ids.
 */
int sqlite_incidents_write(sqlite3 *db, const struct incident *incs, size_t n, int64_t *ids,
                           const struct job_health *h, struct vigil_error *err);

/* Store an ad-hoc run's results inside the caller's open transaction (run_finish). */
int sqlite_adhoc_write(sqlite3 *db, int64_t run_id, const char *results, struct vigil_error *err);

/* The rows of a prepared statement (finalized here) as a JSON array of objects; 0 or -1. */
int sqlite_rows_json(sqlite3 *db, sqlite3_stmt *stmt, json_t **out, struct vigil_error *err);

/* Feedback on incidents (store-sqlite-feedback.c): the backend's feedback_add and feedback_list. */
int sqlite_feedback_add(struct store *st, int64_t incident_id, const char *verdict, const char *note,
                        const char *who, int64_t now, int64_t *id, int *found, struct vigil_error *err);
int sqlite_feedback_list(struct store *st, int64_t incident_id, json_t **out, struct vigil_error *err);

#endif

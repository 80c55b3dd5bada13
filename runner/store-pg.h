/* store-pg.h - what the files of the PostgreSQL backend share. */
#ifndef VIGIL_STORE_PG_H
#define VIGIL_STORE_PG_H

#include <libpq-fe.h>
#include <stdint.h>

#include "store.h"

/* The store's time in ms, read from the server's transaction clock. */
#define PG_NOW_MS "(floor(extract(epoch FROM now()) * 1000))::bigint"

/* The backend's connection. */
struct pgstore {
	PGconn *conn;
	char *who;                 /* "postgresql HOST:PORT/DB": what errors name (never the password) */
	int64_t retry_at_ns;       /* monotonic: no reconnect before this */
	int64_t backoff_ms;        /* 0 while connected */
};

static inline struct pgstore *pg_of(struct store *st)
{
	return st->impl;
}

#define PGP_MAX 32

/* Parameters of one statement, as text (or binary for blobs); NULL values are SQL NULL. */
struct pgp {
	int n;
	const char *v[PGP_MAX];
	int len[PGP_MAX];
	int fmt[PGP_MAX];
	char buf[PGP_MAX][32];
};

void pgp_str(struct pgp *p, const char *s);
void pgp_i64(struct pgp *p, int64_t v);
void pgp_dbl(struct pgp *p, double v);   /* non-finite: NULL */
void pgp_blob(struct pgp *p, const void *data, size_t len);

/*
 * Make sure the connection is up (reconnecting with backoff after a loss).
 * Returns 0, or -1 with err set ("store: postgresql HOST:PORT/DB: ...").
 */
int pg_ready(struct pgstore *pg, struct vigil_error *err);

/*
 * Run sql with parameters p (may be NULL); the result when its status is
 * COMMAND_OK or TUPLES_OK, else NULL with err set as "store: <what>: <server message>".
 */
PGresult *pg_query(struct pgstore *pg, const char *sql, const struct pgp *p, const char *what,
                   struct vigil_error *err);

/* pg_query() for statements without rows; 0 or -1. */
int pg_exec(struct pgstore *pg, const char *sql, const struct pgp *p, const char *what, struct vigil_error *err);

/* BEGIN (after pg_ready), COMMIT, and a ROLLBACK that never fails. */
int pg_begin(struct pgstore *pg, struct vigil_error *err);
int pg_commit(struct pgstore *pg, struct vigil_error *err);
void pg_rollback(struct pgstore *pg);

/* Row r's column c as int64 (NULL: 0), or as a new string (NULL: NULL). */
int64_t pg_i64(const PGresult *res, int r, int c);
char *pg_dup(const PGresult *res, int r, int c);

/* The rows of res as a JSON array of objects (numbers for numeric columns). */
json_t *pg_rows_json(const PGresult *res);

/* A query's rows as JSON in *out; 0 or -1. */
int pg_query_json(struct pgstore *pg, const char *sql, const struct pgp *p, json_t **out, struct vigil_error *err);

/* Insert outbox rows and upsert alert-state rows inside the caller's transaction. */
int pg_notify_write(struct pgstore *pg, const struct outbox_row *rows, size_t n_rows,
                    const struct alert_state_row *states, size_t n_states, struct vigil_error *err);

/* Upsert incidents and (if h) a job's health inside the caller's transaction (as sqlite_incidents_write). */
int pg_incidents_write(struct pgstore *pg, const struct incident *incs, size_t n, int64_t *ids,
                       const struct job_health *h, struct vigil_error *err);

/* Store an ad-hoc run's results inside the caller's transaction (run_finish). */
int pg_adhoc_write(struct pgstore *pg, int64_t run_id, const char *results, struct vigil_error *err);

/* Feedback on incidents (store-pg-feedback.c): the backend's feedback_add and feedback_list. */
int pg_feedback_add(struct store *st, int64_t incident_id, const char *verdict, const char *note, const char *who,
                    int64_t now, int64_t *id, int *found, struct vigil_error *err);
int pg_feedback_list(struct store *st, int64_t incident_id, json_t **out, struct vigil_error *err);

#endif

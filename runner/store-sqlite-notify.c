/*
 * store-sqlite-notify.c - the notification tables of the SQLite store: the
 * outbox, destination throttles, alert state and mutes.
 *
 * The state machine of an outbox message (see runner/outbox.h for why):
 *
 *   pending --claim--> sending --complete--> sent | pending (retry) | failed
 *   muted --retry--> pending        failed --retry--> pending
 *   pending past its deadline --> failed
 *
 * Every transition is one transaction (BEGIN IMMEDIATE: SQLite's single
 * writer stands in for PostgreSQL's row locks), and `complete` is fenced on
 * (state = 'sending', locked_by = node) like run completion, so a sender that
 * lost its claim cannot overwrite what another one recorded.  The SQL stays
 * portable: integer ms times, ON CONFLICT, COALESCE, no vendor functions.
 */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store-sqlite.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

static void bind_text_or_null(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s)
		sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

static json_t *column_json(sqlite3_stmt *stmt, int col)
{
	switch (sqlite3_column_type(stmt, col)) {
	case SQLITE_INTEGER: return json_integer(sqlite3_column_int64(stmt, col));
	case SQLITE_FLOAT: return json_real(sqlite3_column_double(stmt, col));
	case SQLITE_TEXT: return json_string((const char *)sqlite3_column_text(stmt, col));
	default: return json_null();
	}
}

/* Run a prepared query and collect its rows as objects. */
static int rows_json(sqlite3 *db, sqlite3_stmt *stmt, json_t **out, struct vigil_error *err)
{
	json_t *arr = json_array();
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *row = json_object();

		for (int c = 0; c < sqlite3_column_count(stmt); c++)
			json_object_set_new(row, sqlite3_column_name(stmt, c), column_json(stmt, c));
		json_array_append_new(arr, row);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return db_error(db, err, "query");
	}
	*out = arr;
	return 0;
}

int sqlite_rows_json(sqlite3 *db, sqlite3_stmt *stmt, json_t **out, struct vigil_error *err)
{
	return rows_json(db, stmt, out, err);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, struct vigil_error *err)
{
	sqlite3_stmt *stmt = NULL;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
		db_error(db, err, "preparing a query");
		return NULL;
	}
	return stmt;
}

void outbox_msg_release(struct outbox_msg *m)
{
	free(m->dest);
	free(m->type);
	free(m->url_ref);
	free(m->base_dir);
	free(m->headers);
	free(m->job);
	free(m->payload);
	memset(m, 0, sizeof(*m));
}

int sqlite_notify_write(sqlite3 *db, const struct outbox_row *rows, size_t n_rows,
                        const struct alert_state_row *states, size_t n_states, struct vigil_error *err)
{
	sqlite3_stmt *stmt;

	if (n_rows) {
		stmt = prepare(db, "INSERT INTO outbox (dedup_key, dest, type, url_ref, base_dir, headers, job, run_id, "
		                   "scheduled_for, summary, payload, state, note, attempts, created_at, next_attempt, "
		                   "deadline, timeout_ms, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
		                   "?11, ?12, ?13, 0, ?14, ?14, ?15, ?16, ?14) ON CONFLICT (dedup_key) DO NOTHING", err);
		if (!stmt)
			return -1;
		for (size_t i = 0; i < n_rows; i++) {
			const struct outbox_row *r = &rows[i];

			sqlite3_reset(stmt);
			sqlite3_bind_text(stmt, 1, r->dedup_key, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 2, r->dest, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 3, r->type, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 4, r->url_ref, -1, SQLITE_STATIC);
			bind_text_or_null(stmt, 5, r->base_dir);
			bind_text_or_null(stmt, 6, r->headers);
			sqlite3_bind_text(stmt, 7, r->job, -1, SQLITE_STATIC);
			if (r->run_id)
				sqlite3_bind_int64(stmt, 8, r->run_id);
			else
				sqlite3_bind_null(stmt, 8);
			sqlite3_bind_int64(stmt, 9, r->scheduled_for);
			sqlite3_bind_text(stmt, 10, r->summary, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 11, r->payload, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 12, r->state, -1, SQLITE_STATIC);
			bind_text_or_null(stmt, 13, r->note);
			sqlite3_bind_int64(stmt, 14, r->created_at);
			sqlite3_bind_int64(stmt, 15, r->deadline);
			sqlite3_bind_int64(stmt, 16, r->timeout_ms);
			if (sqlite3_step(stmt) != SQLITE_DONE) {
				db_error(db, err, "queueing a message");
				sqlite3_finalize(stmt);
				return -1;
			}
		}
		sqlite3_finalize(stmt);
	}
	if (n_states) {
		/* A row written by a later run is newer than this one: keep it. */
		stmt = prepare(db, "INSERT INTO alert_state (target, job, series, state, since, last_alert_ts, last_sent, "
		                   "updated_run) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
		                   "ON CONFLICT (target, job, series) DO UPDATE SET state = excluded.state, "
		                   "since = excluded.since, last_alert_ts = excluded.last_alert_ts, "
		                   "last_sent = excluded.last_sent, updated_run = excluded.updated_run "
		                   "WHERE alert_state.updated_run <= excluded.updated_run", err);
		if (!stmt)
			return -1;
		for (size_t i = 0; i < n_states; i++) {
			const struct alert_state_row *a = &states[i];

			sqlite3_reset(stmt);
			sqlite3_bind_text(stmt, 1, a->target, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 2, a->job, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 3, a->series, -1, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 4, a->state, -1, SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 5, a->since);
			sqlite3_bind_int64(stmt, 6, a->last_alert_ts);
			sqlite3_bind_int64(stmt, 7, a->last_sent);
			sqlite3_bind_int64(stmt, 8, a->updated_run);
			if (sqlite3_step(stmt) != SQLITE_DONE) {
				db_error(db, err, "recording alert state");
				sqlite3_finalize(stmt);
				return -1;
			}
		}
		sqlite3_finalize(stmt);
	}
	return 0;
}

static int notify_enqueue(struct store *st, const struct outbox_row *rows, size_t n_rows,
                          const struct alert_state_row *states, size_t n_states, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);

	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	if (sqlite_notify_write(db, rows, n_rows, states, n_states, err)) {
		exec(db, "ROLLBACK", NULL);
		return -1;
	}
	return exec(db, "COMMIT", err);
}

static int notify_alert_states(struct store *st, const char *target, const char *job, json_t **out,
                               struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = prepare(db, "SELECT series, state, since, last_alert_ts, last_sent, updated_run "
	                                 "FROM alert_state WHERE target = ?1 AND job = ?2 ORDER BY series", err);

	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, target, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, job, -1, SQLITE_STATIC);
	return rows_json(db, stmt, out, err);
}

static char *column_dup(sqlite3_stmt *stmt, int col)
{
	const unsigned char *s = sqlite3_column_text(stmt, col);

	return s ? xstrdup((const char *)s) : NULL;
}

static int notify_claim(struct store *st, const char *node, int64_t now, int64_t lease_ms,
                        const struct outbox_throttle *th, struct outbox_msg *msg, int64_t *next_due,
                        struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	int64_t best = 0, due = INT64_MAX;
	double best_tokens = 0;
	char *best_dest = NULL;
	int rc;

	*next_due = INT64_MAX;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	stmt = prepare(db, "UPDATE outbox SET state = 'failed', updated_at = ?1, last_error = "
	                   "'not delivered before its deadline' || CASE WHEN last_error IS NULL THEN '' "
	                   "ELSE ' (last error: ' || last_error || ')' END "
	                   "WHERE state = 'pending' AND deadline < ?1", err);
	if (!stmt)
		goto fail;
	sqlite3_bind_int64(stmt, 1, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto db_fail;
	sqlite3_finalize(stmt);
	/* The head of each destination's queue: messages go out in order, one at a time per destination. */
	stmt = prepare(db, "SELECT o.id, o.dest, o.next_attempt, d.dest IS NOT NULL, COALESCE(d.tokens, 0), "
	                   "COALESCE(d.tokens_at, 0), COALESCE(d.blocked_until, 0), d.broken_at IS NOT NULL, "
	                   "(SELECT COUNT(*) FROM outbox s WHERE s.dest = o.dest AND s.state = 'sending') "
	                   "FROM outbox o LEFT JOIN notify_dests d ON d.dest = o.dest "
	                   "WHERE o.state = 'pending' AND o.id IN "
	                   "(SELECT MIN(id) FROM outbox WHERE state = 'pending' GROUP BY dest) "
	                   "ORDER BY o.next_attempt, o.id", err);
	if (!stmt)
		goto fail;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(stmt, 0), ready = sqlite3_column_int64(stmt, 2);
		int64_t blocked = sqlite3_column_int64(stmt, 6);
		double tokens;

		if (sqlite3_column_int(stmt, 7))
			continue;   /* broken: held until someone retries */
		if (sqlite3_column_int64(stmt, 8)) {
			if (now + 500 < due)
				due = now + 500;   /* in flight elsewhere: look again soon */
			continue;
		}
		tokens = outbox_bucket_tokens(th, sqlite3_column_int(stmt, 3), sqlite3_column_double(stmt, 4),
		                       sqlite3_column_int64(stmt, 5), now);
		if (blocked > ready)
			ready = blocked;
		if (tokens < 1) {
			int64_t refill = now + (int64_t)ceil((1 - tokens) * 1000.0 / th->rate);

			if (refill > ready)
				ready = refill;
		}
		if (ready > now) {
			if (ready < due)
				due = ready;
			continue;
		}
		if (!best) {
			best = id;
			best_tokens = tokens;
			best_dest = column_dup(stmt, 1);
		}
	}
	if (rc != SQLITE_DONE)
		goto db_fail;
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (!best) {
		*next_due = due;
		free(best_dest);
		return exec(db, "COMMIT", err) ? -1 : 0;
	}
	stmt = prepare(db, "INSERT INTO notify_dests (dest, tokens, tokens_at) VALUES (?1, ?2, ?3) "
	                   "ON CONFLICT (dest) DO UPDATE SET tokens = excluded.tokens, tokens_at = excluded.tokens_at",
	               err);
	if (!stmt)
		goto fail;
	sqlite3_bind_text(stmt, 1, best_dest, -1, SQLITE_STATIC);
	sqlite3_bind_double(stmt, 2, best_tokens - 1);
	sqlite3_bind_int64(stmt, 3, now);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		goto db_fail;
	sqlite3_finalize(stmt);
	/* The lease outlives the message's own HTTP timeout by lease_ms. */
	stmt = prepare(db, "UPDATE outbox SET state = 'sending', locked_by = ?2, lease_until = ?3 + timeout_ms, "
	                   "attempts = attempts + 1, updated_at = ?4 WHERE id = ?1 AND state = 'pending' "
	                   "RETURNING id, dest, type, url_ref, base_dir, headers, job, payload, attempts, "
	                   "created_at, deadline, timeout_ms", err);
	if (!stmt)
		goto fail;
	sqlite3_bind_int64(stmt, 1, best);
	sqlite3_bind_text(stmt, 2, node, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, now + lease_ms);
	sqlite3_bind_int64(stmt, 4, now);
	if (sqlite3_step(stmt) != SQLITE_ROW)
		goto db_fail;
	memset(msg, 0, sizeof(*msg));
	msg->id = sqlite3_column_int64(stmt, 0);
	msg->dest = column_dup(stmt, 1);
	msg->type = column_dup(stmt, 2);
	msg->url_ref = column_dup(stmt, 3);
	msg->base_dir = column_dup(stmt, 4);
	msg->headers = column_dup(stmt, 5);
	msg->job = column_dup(stmt, 6);
	msg->payload = column_dup(stmt, 7);
	msg->attempts = sqlite3_column_int(stmt, 8);
	msg->created_at = sqlite3_column_int64(stmt, 9);
	msg->deadline = sqlite3_column_int64(stmt, 10);
	msg->timeout_ms = sqlite3_column_int64(stmt, 11);
	sqlite3_step(stmt);   /* finish the statement before COMMIT */
	sqlite3_finalize(stmt);
	free(best_dest);
	if (exec(db, "COMMIT", err)) {
		outbox_msg_release(msg);
		return -1;
	}
	return 1;
db_fail:
	db_error(db, err, "claiming a message");
fail:
	sqlite3_finalize(stmt);
	free(best_dest);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

/* Set a destination's broken or blocked state (creating its row if needed). */
static int dest_update(sqlite3 *db, const char *dest, const struct outbox_result *res, struct vigil_error *err)
{
	sqlite3_stmt *stmt;
	int broken = res->outcome == OUTBOX_BROKEN;

	stmt = prepare(db, broken ?
	               "INSERT INTO notify_dests (dest, tokens, tokens_at, broken_at, broken_error) "
	               "VALUES (?1, 0, ?2, ?2, ?3) ON CONFLICT (dest) DO UPDATE SET broken_at = excluded.broken_at, "
	               "broken_error = excluded.broken_error" :
	               "INSERT INTO notify_dests (dest, tokens, tokens_at, blocked_until) VALUES (?1, 0, ?2, ?4) "
	               "ON CONFLICT (dest) DO UPDATE SET blocked_until = excluded.blocked_until", err);
	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, dest, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, res->now);
	bind_text_or_null(stmt, 3, res->error);
	sqlite3_bind_int64(stmt, 4, res->blocked_until);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		sqlite3_finalize(stmt);
		return db_error(db, err, "updating a destination");
	}
	sqlite3_finalize(stmt);
	return 0;
}

static int notify_complete(struct store *st, int64_t id, const char *node, const struct outbox_result *res,
                           int *applied, struct vigil_error *err)
{
	static const char *const state_of[] = {
		[OUTBOX_SENT] = "sent", [OUTBOX_RETRY] = "pending", [OUTBOX_FAILED] = "failed",
		[OUTBOX_BROKEN] = "failed",
	};
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt;
	char *dest = NULL;
	int rc;

	*applied = 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	stmt = prepare(db, "UPDATE outbox SET state = ?3, locked_by = NULL, lease_until = NULL, updated_at = ?4, "
	                   "next_attempt = ?5, last_status = ?6, last_error = ?7, "
	                   "sent_at = CASE WHEN ?3 = 'sent' THEN ?4 ELSE sent_at END "
	                   "WHERE id = ?1 AND state = 'sending' AND locked_by = ?2 RETURNING dest", err);
	if (!stmt)
		goto fail;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_text(stmt, 2, node, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, state_of[res->outcome], -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, res->now);
	sqlite3_bind_int64(stmt, 5, res->outcome == OUTBOX_RETRY ? res->next_attempt : res->now);
	if (res->status)
		sqlite3_bind_int(stmt, 6, res->status);
	else
		sqlite3_bind_null(stmt, 6);
	bind_text_or_null(stmt, 7, res->outcome == OUTBOX_SENT ? NULL : res->error);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		dest = column_dup(stmt, 0);
		sqlite3_step(stmt);
	} else if (rc != SQLITE_DONE) {
		db_error(db, err, "recording a delivery");
		goto fail;
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (dest && (res->outcome == OUTBOX_BROKEN || (res->outcome == OUTBOX_RETRY && res->blocked_until)) &&
	    dest_update(db, dest, res, err))
		goto fail;
	*applied = dest != NULL;
	free(dest);
	return exec(db, "COMMIT", err);
fail:
	sqlite3_finalize(stmt);
	free(dest);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static int notify_in_flight(struct store *st, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = prepare(db, "SELECT id, dest, locked_by, lease_until FROM outbox "
	                                 "WHERE state = 'sending' ORDER BY id", err);

	return stmt ? rows_json(db, stmt, out, err) : -1;
}

static int notify_list(struct store *st, const char *states, size_t limit, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *stmt;
	char *copy = states ? xstrdup(states) : NULL, *p = copy;
	const char *names[16];
	size_t n = 0;

	while (p && n < 16) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (*p)
			names[n++] = p;
		p = comma ? comma + 1 : NULL;
	}
	strbuf_addstr(&sql, "SELECT id, job, run_id, scheduled_for, type, dest, url_ref, base_dir, summary, state, "
	                    "note, attempts, created_at, next_attempt, deadline, last_status, last_error, sent_at, "
	                    "length(payload) AS payload_bytes FROM outbox");
	if (copy) {
		strbuf_addstr(&sql, " WHERE state IN (NULL");
		for (size_t i = 0; i < n; i++)
			strbuf_addf(&sql, ", ?%zu", i + 2);
		strbuf_addstr(&sql, ")");
	}
	strbuf_addstr(&sql, " ORDER BY id DESC LIMIT ?1");
	stmt = prepare(db, strbuf_str(&sql), err);
	strbuf_release(&sql);
	if (!stmt) {
		free(copy);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, (int64_t)limit);
	for (size_t i = 0; i < n; i++)
		sqlite3_bind_text(stmt, (int)i + 2, names[i], -1, SQLITE_TRANSIENT);
	free(copy);
	return rows_json(db, stmt, out, err);
}

static int notify_dests(struct store *st, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = prepare(db, "SELECT d.dest, d.tokens, d.tokens_at, d.blocked_until, d.broken_at, "
	                                 "d.broken_error, (SELECT COUNT(*) FROM outbox o WHERE o.dest = d.dest "
	                                 "AND o.state = 'pending') AS pending, (SELECT MIN(o.url_ref) FROM outbox o "
	                                 "WHERE o.dest = d.dest) AS url_ref, (SELECT MIN(o.type) FROM outbox o "
	                                 "WHERE o.dest = d.dest) AS type, (SELECT MIN(o.base_dir) FROM outbox o "
	                                 "WHERE o.dest = d.dest) AS base_dir FROM notify_dests d ORDER BY d.dest", err);

	return stmt ? rows_json(db, stmt, out, err) : -1;
}

static int notify_retry(struct store *st, int64_t id, int64_t now, int64_t deadline, int *found,
                        struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = NULL;
	char *state = NULL, *dest = NULL;

	*found = 0;
	if (exec(db, "BEGIN IMMEDIATE", err))
		return -1;
	stmt = prepare(db, "SELECT state, dest FROM outbox WHERE id = ?1", err);
	if (!stmt)
		goto fail;
	sqlite3_bind_int64(stmt, 1, id);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		state = column_dup(stmt, 0);
		dest = column_dup(stmt, 1);
	}
	sqlite3_finalize(stmt);
	stmt = NULL;
	if (!state) {
		free(dest);
		return exec(db, "COMMIT", err);
	}
	if (!strcmp(state, "sent")) {
		*found = -1;
	} else if (!strcmp(state, "pending") || !strcmp(state, "sending")) {
		*found = 2;
	} else {
		*found = 1;
		stmt = prepare(db, "UPDATE outbox SET state = 'pending', next_attempt = ?2, deadline = ?3, attempts = 0, "
		                   "updated_at = ?2 WHERE id = ?1", err);
		if (!stmt)
			goto fail;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, now);
		sqlite3_bind_int64(stmt, 3, deadline);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto db_fail;
		sqlite3_finalize(stmt);
		stmt = NULL;
	}
	if (*found > 0) {
		/* Someone looked at the destination: try it again. */
		stmt = prepare(db, "UPDATE notify_dests SET broken_at = NULL, broken_error = NULL, blocked_until = 0 "
		                   "WHERE dest = ?1", err);
		if (!stmt)
			goto fail;
		sqlite3_bind_text(stmt, 1, dest, -1, SQLITE_STATIC);
		if (sqlite3_step(stmt) != SQLITE_DONE)
			goto db_fail;
		sqlite3_finalize(stmt);
		stmt = NULL;
	}
	free(state);
	free(dest);
	return exec(db, "COMMIT", err);
db_fail:
	db_error(db, err, "re-queueing a message");
fail:
	sqlite3_finalize(stmt);
	free(state);
	free(dest);
	exec(db, "ROLLBACK", NULL);
	return -1;
}

static int notify_counts(struct store *st, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = prepare(db, "SELECT state, COUNT(*) FROM outbox GROUP BY state", err);
	json_t *o;
	int rc;

	if (!stmt)
		return -1;
	o = json_pack("{s:i, s:i, s:i, s:i, s:i}", "pending", 0, "sending", 0, "sent", 0, "failed", 0, "muted", 0);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_object_set_new(o, (const char *)sqlite3_column_text(stmt, 0),
		                    json_integer(sqlite3_column_int64(stmt, 1)));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(o);
		return db_error(db, err, "counting messages");
	}
	*out = o;
	return 0;
}

static int notify_mute_add(struct store *st, const char *job_pattern, const char *series_pattern, int64_t until,
                           const char *reason, int64_t now, int64_t *id, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = prepare(db, "INSERT INTO mutes (job_pattern, series_pattern, until_at, reason, created_at) "
	                                 "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id", err);

	if (!stmt)
		return -1;
	sqlite3_bind_text(stmt, 1, job_pattern, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, series_pattern, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, until);
	bind_text_or_null(stmt, 4, reason);
	sqlite3_bind_int64(stmt, 5, now);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		db_error(db, err, "adding a mute");
		sqlite3_finalize(stmt);
		return -1;
	}
	*id = sqlite3_column_int64(stmt, 0);
	sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return 0;
}

static int notify_mute_remove(struct store *st, int64_t id, int *found, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = prepare(db, "DELETE FROM mutes WHERE id = ?1", err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		db_error(db, err, "removing a mute");
		sqlite3_finalize(stmt);
		return -1;
	}
	*found = sqlite3_changes(db) > 0;
	sqlite3_finalize(stmt);
	return 0;
}

static int notify_mutes(struct store *st, int64_t after, json_t **out, struct vigil_error *err)
{
	sqlite3 *db = db_of(st);
	sqlite3_stmt *stmt = prepare(db, "SELECT id, job_pattern, series_pattern, until_at, reason, created_at "
	                                 "FROM mutes WHERE until_at > ?1 ORDER BY until_at, id", err);

	if (!stmt)
		return -1;
	sqlite3_bind_int64(stmt, 1, after);
	return rows_json(db, stmt, out, err);
}

const struct store_notify_ops store_sqlite_notify = {
	.enqueue = notify_enqueue,
	.alert_states = notify_alert_states,
	.claim = notify_claim,
	.complete = notify_complete,
	.in_flight = notify_in_flight,
	.list = notify_list,
	.dests = notify_dests,
	.retry = notify_retry,
	.counts = notify_counts,
	.mute_add = notify_mute_add,
	.mute_remove = notify_mute_remove,
	.mutes = notify_mutes,
};

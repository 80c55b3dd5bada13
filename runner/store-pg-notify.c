/*
 * store-pg-notify.c - the notification tables of the PostgreSQL store: the
 * outbox, destination throttles, alert state and mutes.
 *
 * The same state machine as store-sqlite-notify.c.  A claim runs under one
 * transaction-scoped advisory lock, so claims are serialised across every
 * node as SQLite's single writer serialises them on one machine: the
 * "nothing in flight per destination" rule and the token bucket of each
 * destination (1/s, burst 3 by default) hold for the cluster as a whole.
 * Completion is fenced on (state 'sending', locked_by) like run completion.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store-pg.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

#define LOCK_OUTBOX_CLAIM 0x76696732

int pg_notify_write(struct pgstore *pg, const struct outbox_row *rows, size_t n_rows,
                    const struct alert_state_row *states, size_t n_states, struct vigil_error *err)
{
	struct pgp p;

	for (size_t i = 0; i < n_rows; i++) {
		const struct outbox_row *r = &rows[i];

		p.n = 0;
		pgp_str(&p, r->dedup_key);
		pgp_str(&p, r->dest);
		pgp_str(&p, r->type);
		pgp_str(&p, r->url_ref);
		pgp_str(&p, r->base_dir);
		pgp_str(&p, r->headers);
		pgp_str(&p, r->job);
		if (r->run_id)
			pgp_i64(&p, r->run_id);
		else
			pgp_str(&p, NULL);
		pgp_i64(&p, r->scheduled_for);
		pgp_str(&p, r->summary);
		pgp_str(&p, r->payload);
		pgp_str(&p, r->state);
		pgp_str(&p, r->note);
		pgp_i64(&p, r->created_at);
		pgp_i64(&p, r->deadline);
		pgp_i64(&p, r->timeout_ms);
		if (pg_exec(pg, "INSERT INTO outbox (dedup_key, dest, type, url_ref, base_dir, headers, job, run_id, "
		            "scheduled_for, summary, payload, state, note, attempts, created_at, next_attempt, deadline, "
		            "timeout_ms, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, "
		            "$14, $14, $15, $16, $14) ON CONFLICT (dedup_key) DO NOTHING", &p, "queueing a message", err))
			return -1;
	}
	for (size_t i = 0; i < n_states; i++) {
		const struct alert_state_row *a = &states[i];

		p.n = 0;
		pgp_str(&p, a->target);
		pgp_str(&p, a->job);
		pgp_str(&p, a->series);
		pgp_str(&p, a->state);
		pgp_i64(&p, a->since);
		pgp_i64(&p, a->last_alert_ts);
		pgp_i64(&p, a->last_sent);
		pgp_i64(&p, a->updated_run);
		/* A row written by a later run is newer than this one: keep it. */
		if (pg_exec(pg, "INSERT INTO alert_state (target, job, series, state, since, last_alert_ts, last_sent, "
		            "updated_run) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
		            "ON CONFLICT (target, job, series) DO UPDATE SET state = excluded.state, "
		            "since = excluded.since, last_alert_ts = excluded.last_alert_ts, "
		            "last_sent = excluded.last_sent, updated_run = excluded.updated_run "
		            "WHERE alert_state.updated_run <= excluded.updated_run", &p, "recording alert state", err))
			return -1;
	}
	return 0;
}

static int notify_enqueue(struct store *st, const struct outbox_row *rows, size_t n_rows,
                          const struct alert_state_row *states, size_t n_states, struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);

	if (pg_begin(pg, err))
		return -1;
	if (pg_notify_write(pg, rows, n_rows, states, n_states, err)) {
		pg_rollback(pg);
		return -1;
	}
	return pg_commit(pg, err);
}

static int notify_alert_states(struct store *st, const char *target, const char *job, json_t **out,
                               struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_str(&p, target);
	pgp_str(&p, job);
	return pg_query_json(pg_of(st), "SELECT series, state, since, last_alert_ts, last_sent, updated_run "
	                     "FROM alert_state WHERE target = $1 AND job = $2 ORDER BY series", &p, out, err);
}

/* Pick the message to send among the heads of the destinations' queues (see store-sqlite-notify.c). */
static int64_t pick(const PGresult *res, const struct outbox_throttle *th, int64_t now, double *best_tokens,
                    int *best_row, int64_t *due)
{
	for (int r = 0; r < PQntuples(res); r++) {
		int64_t ready = pg_i64(res, r, 2), blocked = pg_i64(res, r, 6);
		double tokens;

		if (PQgetvalue(res, r, 7)[0] == 't')
			continue;   /* broken: held until someone retries */
		if (pg_i64(res, r, 8)) {
			if (now + 500 < *due)
				*due = now + 500;   /* in flight elsewhere: look again soon */
			continue;
		}
		tokens = outbox_bucket_tokens(th, PQgetvalue(res, r, 3)[0] == 't', strtod(PQgetvalue(res, r, 4), NULL),
		                       pg_i64(res, r, 5), now);
		if (blocked > ready)
			ready = blocked;
		if (tokens < 1) {
			int64_t refill = now + (int64_t)ceil((1 - tokens) * 1000.0 / th->rate);

			if (refill > ready)
				ready = refill;
		}
		if (ready > now) {
			if (ready < *due)
				*due = ready;
			continue;
		}
		*best_tokens = tokens;
		*best_row = r;
		return pg_i64(res, r, 0);
	}
	return 0;
}

static int notify_claim(struct store *st, const char *node, int64_t now, int64_t lease_ms,
                        const struct outbox_throttle *th, struct outbox_msg *msg, int64_t *next_due,
                        struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *res = NULL, *got;
	int64_t best, due = INT64_MAX;
	double best_tokens = 0;
	int row = -1;

	*next_due = INT64_MAX;
	if (pg_begin(pg, err))
		return -1;
	pgp_i64(&p, LOCK_OUTBOX_CLAIM);
	if (pg_exec(pg, "SELECT pg_advisory_xact_lock($1)", &p, "claiming a message", err))
		goto fail;
	p.n = 0;
	pgp_i64(&p, now);
	if (pg_exec(pg, "UPDATE outbox SET state = 'failed', updated_at = $1, last_error = "
	            "'not delivered before its deadline' || CASE WHEN last_error IS NULL THEN '' "
	            "ELSE ' (last error: ' || last_error || ')' END WHERE state = 'pending' AND deadline < $1", &p,
	            "claiming a message", err))
		goto fail;
	/* The head of each destination's queue: messages go out in order, one at a time per destination. */
	res = pg_query(pg, "SELECT o.id, o.dest, o.next_attempt, d.dest IS NOT NULL, COALESCE(d.tokens, 0), "
	               "COALESCE(d.tokens_at, 0), COALESCE(d.blocked_until, 0), d.broken_at IS NOT NULL, "
	               "(SELECT COUNT(*) FROM outbox s WHERE s.dest = o.dest AND s.state = 'sending') "
	               "FROM outbox o LEFT JOIN notify_dests d ON d.dest = o.dest "
	               "WHERE o.state = 'pending' AND o.id IN "
	               "(SELECT MIN(id) FROM outbox WHERE state = 'pending' GROUP BY dest) "
	               "ORDER BY o.next_attempt, o.id", NULL, "claiming a message", err);
	if (!res)
		goto fail;
	best = pick(res, th, now, &best_tokens, &row, &due);
	if (!best) {
		PQclear(res);
		*next_due = due;
		return pg_commit(pg, err) ? -1 : 0;
	}
	p.n = 0;
	pgp_str(&p, PQgetvalue(res, row, 1));
	pgp_dbl(&p, best_tokens - 1);
	pgp_i64(&p, now);
	if (pg_exec(pg, "INSERT INTO notify_dests (dest, tokens, tokens_at) VALUES ($1, $2, $3) ON CONFLICT (dest) "
	            "DO UPDATE SET tokens = excluded.tokens, tokens_at = excluded.tokens_at", &p, "claiming a message",
	            err))
		goto fail;
	PQclear(res);
	res = NULL;
	p.n = 0;
	pgp_i64(&p, best);
	pgp_str(&p, node);
	pgp_i64(&p, now + lease_ms);
	pgp_i64(&p, now);
	/* The lease outlives the message's own HTTP timeout by lease_ms. */
	got = pg_query(pg, "UPDATE outbox SET state = 'sending', locked_by = $2, lease_until = $3 + timeout_ms, "
	               "attempts = attempts + 1, updated_at = $4 WHERE id = $1 AND state = 'pending' "
	               "RETURNING id, dest, type, url_ref, base_dir, headers, job, payload, attempts, created_at, "
	               "deadline, timeout_ms", &p, "claiming a message", err);
	if (!got)
		goto fail;
	if (PQntuples(got) != 1) {
		PQclear(got);
		vigil_error_set(err, VIGIL_E_STORE, "store: %s: claiming a message: message %lld changed under the lock",
		                pg->who, (long long)best);
		goto fail;
	}
	memset(msg, 0, sizeof(*msg));
	msg->id = pg_i64(got, 0, 0);
	msg->dest = pg_dup(got, 0, 1);
	msg->type = pg_dup(got, 0, 2);
	msg->url_ref = pg_dup(got, 0, 3);
	msg->base_dir = pg_dup(got, 0, 4);
	msg->headers = pg_dup(got, 0, 5);
	msg->job = pg_dup(got, 0, 6);
	msg->payload = pg_dup(got, 0, 7);
	msg->attempts = (int)pg_i64(got, 0, 8);
	msg->created_at = pg_i64(got, 0, 9);
	msg->deadline = pg_i64(got, 0, 10);
	msg->timeout_ms = pg_i64(got, 0, 11);
	PQclear(got);
	if (pg_commit(pg, err)) {
		outbox_msg_release(msg);
		return -1;
	}
	return 1;
fail:
	PQclear(res);
	pg_rollback(pg);
	return -1;
}

static int notify_complete(struct store *st, int64_t id, const char *node, const struct outbox_result *res,
                           int *applied, struct vigil_error *err)
{
	static const char *const state_of[] = {
		[OUTBOX_SENT] = "sent", [OUTBOX_RETRY] = "pending", [OUTBOX_FAILED] = "failed",
		[OUTBOX_BROKEN] = "failed",
	};
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *r;
	char *dest = NULL;

	*applied = 0;
	if (pg_begin(pg, err))
		return -1;
	pgp_i64(&p, id);
	pgp_str(&p, node);
	pgp_str(&p, state_of[res->outcome]);
	pgp_i64(&p, res->now);
	pgp_i64(&p, res->outcome == OUTBOX_RETRY ? res->next_attempt : res->now);
	if (res->status)
		pgp_i64(&p, res->status);
	else
		pgp_str(&p, NULL);
	pgp_str(&p, res->outcome == OUTBOX_SENT ? NULL : res->error);
	r = pg_query(pg, "UPDATE outbox SET state = $3, locked_by = NULL, lease_until = NULL, updated_at = $4, "
	             "next_attempt = $5, last_status = $6, last_error = $7, "
	             "sent_at = CASE WHEN $3 = 'sent' THEN $4 ELSE sent_at END "
	             "WHERE id = $1 AND state = 'sending' AND locked_by = $2 RETURNING dest", &p, "recording a delivery",
	             err);
	if (!r)
		goto fail;
	if (PQntuples(r))
		dest = pg_dup(r, 0, 0);
	PQclear(r);
	if (dest && (res->outcome == OUTBOX_BROKEN || (res->outcome == OUTBOX_RETRY && res->blocked_until))) {
		p.n = 0;
		pgp_str(&p, dest);
		pgp_i64(&p, res->now);
		if (res->outcome == OUTBOX_BROKEN) {
			pgp_str(&p, res->error);
			if (pg_exec(pg, "INSERT INTO notify_dests (dest, tokens, tokens_at, broken_at, broken_error) "
			            "VALUES ($1, 0, $2, $2, $3) ON CONFLICT (dest) DO UPDATE SET broken_at = excluded.broken_at, "
			            "broken_error = excluded.broken_error", &p, "updating a destination", err))
				goto fail;
		} else {
			pgp_i64(&p, res->blocked_until);
			if (pg_exec(pg, "INSERT INTO notify_dests (dest, tokens, tokens_at, blocked_until) VALUES ($1, 0, $2, $3) "
			            "ON CONFLICT (dest) DO UPDATE SET blocked_until = excluded.blocked_until", &p,
			            "updating a destination", err))
				goto fail;
		}
	}
	*applied = dest != NULL;
	free(dest);
	return pg_commit(pg, err);
fail:
	free(dest);
	pg_rollback(pg);
	return -1;
}

static int notify_in_flight(struct store *st, json_t **out, struct vigil_error *err)
{
	return pg_query_json(pg_of(st), "SELECT id, dest, locked_by, lease_until FROM outbox WHERE state = 'sending' "
	                     "ORDER BY id", NULL, out, err);
}

static int notify_list(struct store *st, const char *states, size_t limit, json_t **out, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_i64(&p, (int64_t)limit);
	/* states: a comma-separated list, matched as an array */
	pgp_str(&p, states);
	return pg_query_json(pg_of(st), "SELECT id, job, run_id, scheduled_for, type, dest, url_ref, base_dir, summary, "
	                     "state, note, attempts, created_at, next_attempt, deadline, last_status, last_error, sent_at, "
	                     "octet_length(payload)::bigint AS payload_bytes FROM outbox "
	                     "WHERE $2::text IS NULL OR state = ANY (string_to_array($2, ',')) "
	                     "ORDER BY id DESC LIMIT $1", &p, out, err);
}

static int notify_dests(struct store *st, json_t **out, struct vigil_error *err)
{
	return pg_query_json(pg_of(st), "SELECT d.dest, d.tokens, d.tokens_at, d.blocked_until, d.broken_at, "
	                     "d.broken_error, (SELECT COUNT(*) FROM outbox o WHERE o.dest = d.dest "
	                     "AND o.state = 'pending') AS pending, (SELECT MIN(o.url_ref) FROM outbox o "
	                     "WHERE o.dest = d.dest) AS url_ref, (SELECT MIN(o.type) FROM outbox o "
	                     "WHERE o.dest = d.dest) AS type, (SELECT MIN(o.base_dir) FROM outbox o "
	                     "WHERE o.dest = d.dest) AS base_dir FROM notify_dests d ORDER BY d.dest", NULL, out, err);
}

static int notify_retry(struct store *st, int64_t id, int64_t now, int64_t deadline, int *found,
                        struct vigil_error *err)
{
	struct pgstore *pg = pg_of(st);
	struct pgp p = { 0 };
	PGresult *r;
	char *state = NULL, *dest = NULL;

	*found = 0;
	if (pg_begin(pg, err))
		return -1;
	pgp_i64(&p, id);
	r = pg_query(pg, "SELECT state, dest FROM outbox WHERE id = $1 FOR UPDATE", &p, "re-queueing a message", err);
	if (!r)
		goto fail;
	if (PQntuples(r)) {
		state = pg_dup(r, 0, 0);
		dest = pg_dup(r, 0, 1);
	}
	PQclear(r);
	if (!state)
		return pg_commit(pg, err);
	if (!strcmp(state, "sent")) {
		*found = -1;
	} else if (!strcmp(state, "pending") || !strcmp(state, "sending")) {
		*found = 2;
	} else {
		*found = 1;
		pgp_i64(&p, now);
		pgp_i64(&p, deadline);
		if (pg_exec(pg, "UPDATE outbox SET state = 'pending', next_attempt = $2, deadline = $3, attempts = 0, "
		            "updated_at = $2 WHERE id = $1", &p, "re-queueing a message", err))
			goto fail;
	}
	if (*found > 0) {
		/* Someone looked at the destination: try it again. */
		p.n = 0;
		pgp_str(&p, dest);
		if (pg_exec(pg, "UPDATE notify_dests SET broken_at = NULL, broken_error = NULL, blocked_until = 0 "
		            "WHERE dest = $1", &p, "re-queueing a message", err))
			goto fail;
	}
	free(state);
	free(dest);
	return pg_commit(pg, err);
fail:
	free(state);
	free(dest);
	pg_rollback(pg);
	return -1;
}

static int notify_counts(struct store *st, json_t **out, struct vigil_error *err)
{
	PGresult *r = pg_query(pg_of(st), "SELECT state, COUNT(*) FROM outbox GROUP BY state", NULL,
	                       "counting messages", err);
	json_t *o;

	if (!r)
		return -1;
	o = json_pack("{s:i, s:i, s:i, s:i, s:i}", "pending", 0, "sending", 0, "sent", 0, "failed", 0, "muted", 0);
	for (int i = 0; i < PQntuples(r); i++)
		json_object_set_new(o, PQgetvalue(r, i, 0), json_integer(pg_i64(r, i, 1)));
	PQclear(r);
	*out = o;
	return 0;
}

static int notify_mute_add(struct store *st, const char *job_pattern, const char *series_pattern, int64_t until,
                           const char *reason, int64_t now, int64_t *id, struct vigil_error *err)
{
	struct pgp p = { 0 };
	PGresult *r;

	pgp_str(&p, job_pattern);
	pgp_str(&p, series_pattern);
	pgp_i64(&p, until);
	pgp_str(&p, reason);
	pgp_i64(&p, now);
	r = pg_query(pg_of(st), "INSERT INTO mutes (job_pattern, series_pattern, until_at, reason, created_at) "
	             "VALUES ($1, $2, $3, $4, $5) RETURNING id", &p, "adding a mute", err);
	if (!r)
		return -1;
	*id = pg_i64(r, 0, 0);
	PQclear(r);
	return 0;
}

static int notify_mute_remove(struct store *st, int64_t id, int *found, struct vigil_error *err)
{
	struct pgp p = { 0 };
	PGresult *r;

	pgp_i64(&p, id);
	r = pg_query(pg_of(st), "DELETE FROM mutes WHERE id = $1", &p, "removing a mute", err);
	if (!r)
		return -1;
	*found = strtol(PQcmdTuples(r), NULL, 10) > 0;
	PQclear(r);
	return 0;
}

static int notify_mutes(struct store *st, int64_t after, json_t **out, struct vigil_error *err)
{
	struct pgp p = { 0 };

	pgp_i64(&p, after);
	return pg_query_json(pg_of(st), "SELECT id, job_pattern, series_pattern, until_at, reason, created_at "
	                     "FROM mutes WHERE until_at > $1 ORDER BY until_at, id", &p, out, err);
}

const struct store_notify_ops store_pg_notify = {
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

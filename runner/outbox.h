/*
 * outbox.h - delivering queued messages so that nothing is lost.
 *
 * Every message for Slack or a webhook is written to the outbox table of the
 * store before any HTTP request (in the same transaction as its run's
 * results: runner/dispatch.h).  A sender then delivers what is due:
 *
 *  - one message at a time per destination, oldest first, through a token
 *    bucket per destination kept in the store (1 message/s, bursts of 3), so
 *    every process sharing the store shares the throttle;
 *  - 2xx/"ok": sent, never sent again;
 *  - 429: the whole destination waits for Retry-After (seconds or an HTTP
 *    date; 30 s if absent; at most an hour), then the message is retried;
 *  - 5xx, timeouts, connection errors: retried with exponential backoff and
 *    full jitter (1 s, 2 s, 4 s... up to 5 min) until the message's deadline
 *    (retry_for after it was queued), then failed;
 *  - other 4xx: failed at once (a retry would get the same answer);
 *  - a destination that is gone or refuses (Slack's no_service,
 *    channel_not_found, channel_is_archived, invalid_token,
 *    action_prohibited...; a webhook's 401/403/404/410): the message fails
 *    and the destination is marked broken with the error; its other messages
 *    wait until someone runs `vigil outbox retry`.
 *
 * Crashes (kill -9 at any point).  A claim (pending -> sending) records the
 * sender's node id and a lease.  A sender starting up finds messages left in
 * 'sending' by a process that is dead (same host, pid gone) or whose lease
 * has expired, and puts them back to pending: such a message may or may not
 * have reached the destination, and webhooks have no idempotency key, so it
 * is sent again (at least once: never lost).  A message is marked sent in
 * the store right after its "ok" arrives, before anything else happens, so
 * the only duplicate possible is for the request that was in flight when the
 * process died, and never for a message the store already records as sent.
 *
 * The webhook URL is a secret: the store and every message keep the
 * reference (${env:...}, ${file:...}); it is resolved just before the
 * request, wiped after, and only ever shown redacted (outbox_redact_url).
 */
#ifndef VIGIL_OUTBOX_H
#define VIGIL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define OUTBOX_RATE 1.0           /* messages per second per destination (Slack's documented limit) */
#define OUTBOX_BURST 3.0          /* "short bursts allowed" */
#define OUTBOX_BACKOFF_BASE_MS 1000
#define OUTBOX_BACKOFF_MAX_MS (5 * 60 * 1000)
#define OUTBOX_RETRY_AFTER_DEFAULT_MS (30 * 1000)
#define OUTBOX_RETRY_AFTER_MAX_MS (3600 * 1000)
#define OUTBOX_BODY_MAX (64 * 1024)   /* answers are read up to this size */

struct outbox_stats {
	size_t sent;
	size_t retried;            /* attempts that will be retried */
	size_t failed;             /* messages given up */
	size_t broken;             /* ... of which destinations marked broken */
	size_t recovered;          /* messages found in 'sending' after a crash and queued again */
};

struct outbox_sender;

/*
 * A sender over st (which it does not own).  Initialises libcurl once per
 * process.  A sender is used by one thread at a time; several senders (in
 * threads or processes) may share a store.
 */
struct outbox_sender *outbox_sender_new(struct store *st);
void outbox_sender_free(struct outbox_sender *s);

/*
 * Recover messages of dead senders, then deliver every message that is due
 * now, one after the other, until none is or deadline_ms (wall clock) has
 * passed.  *next_due (may be NULL) gets when the next message will be due
 * (INT64_MAX: nothing pending).  This is the daemon's loop body.  Returns 0,
 * or -1 with err set when the store fails (a failed delivery is not an
 * error: it is recorded in the outbox and logged).
 */
int outbox_send_due(struct outbox_sender *s, int64_t deadline_ms, int64_t *next_due, struct vigil_error *err);

/*
 * Deliver until nothing is pending or deadline_ms passes, sleeping through
 * throttles and backoffs.  Returns 0 or -1 as outbox_send_due.
 */
int outbox_flush(struct outbox_sender *s, int64_t deadline_ms, struct vigil_error *err);

/* What the sender did so far. */
const struct outbox_stats *outbox_sender_stats(const struct outbox_sender *s);

/*
 * The URL with its secret parts hidden: the path of a Slack webhook becomes
 * "/services/T…/B…/" and four stars; of anything else, "/" and four stars;
 * user info is dropped.  Writes to buf.
 */
void outbox_redact_url(const char *url, char *buf, size_t len);

/*
 * How a stored destination is shown: the reference resolved and redacted
 * (outbox_redact_url), or "<reference> (cannot resolve: ...)" when it
 * cannot be.  Never the secret.
 */
void outbox_show_dest(const char *url_ref, const char *base_dir, char *buf, size_t len);

/* The delay before attempt n+1 after n failed attempts (n >= 1), with full jitter from rnd in [0, 1). */
int64_t outbox_backoff_ms(int attempts, double rnd);

/* Retry-After as seconds or an HTTP date, relative to now; -1 if unparsable. */
int64_t outbox_parse_retry_after(const char *value, int64_t now_ms);

#endif

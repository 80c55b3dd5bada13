/*
 * check_outbox.c - the outbox state machine in the store (SQLite, and
 * PostgreSQL under tests/store-pg.sh), driven with
 * an explicit clock: claims in order, one in flight per destination, the
 * token bucket, retries and Retry-After, failures, broken destinations and
 * `retry`, deadlines, fencing, and the sender's recovery of messages left in
 * 'sending' by a process that died.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "outbox.h"
#include "store.h"
#include "testutil.h"
#include "dbutil.h"
#include "timefmt.h"

#define T 1795212000000LL

static const struct outbox_throttle th = { OUTBOX_RATE, OUTBOX_BURST };

struct fx {
	char *db;
	struct store *st;
	const struct store_notify_ops *ops;
	int n;
};

static void fx_init(struct fx *f)
{
	struct vigil_error err = VIGIL_ERROR_INIT;

	memset(f, 0, sizeof(*f));
	f->db = tmp_db();
	f->st = store_open(f->db, &err);
	ck_assert_msg(f->st != NULL, "%s", err.msg);
	f->ops = f->st->backend->notify;
	ck_assert_ptr_nonnull(f->ops);
}

static void fx_free(struct fx *f)
{
	store_close(f->st);
	free(f->db);
}

/* Queue a message for dest ("a", "b"...) created at `at`, deadline an hour later. */
static void add(struct fx *f, const char *dest, int64_t at)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *key = xasprintf("k%d", ++f->n), *d = xasprintf("slack:${env:%s}", dest), *ref = xasprintf("${env:%s}", dest);
	struct outbox_row r = {
		.dedup_key = key, .dest = d, .type = "slack", .url_ref = ref, .job = "j", .scheduled_for = at,
		.summary = "s", .payload = "{\"text\": \"x\"}", .state = "pending", .created_at = at,
		.deadline = at + 3600000, .timeout_ms = 1000,
	};

	ck_assert_msg(f->ops->enqueue(f->st, &r, 1, NULL, 0, &err) == 0, "%s", err.msg);
	free(key);
	free(d);
	free(ref);
}

/* Claim at now: the id claimed, or 0 (and *due). */
static int64_t claim(struct fx *f, const char *node, int64_t now, int64_t *due)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct outbox_msg m;
	int64_t d, id = 0;
	int rc = f->ops->claim(f->st, node, now, 5000, &th, &m, &d, &err);

	ck_assert_msg(rc >= 0, "%s", err.msg);
	if (rc) {
		id = m.id;
		ck_assert_str_eq(m.payload, "{\"text\": \"x\"}");
		outbox_msg_release(&m);
	}
	if (due)
		*due = rc ? 0 : d;
	return id;
}

static int complete(struct fx *f, int64_t id, const char *node, enum outbox_outcome outcome, int64_t now,
                    int64_t next, int64_t blocked, const char *error)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct outbox_result res = { .outcome = outcome, .now = now, .next_attempt = next, .blocked_until = blocked,
	                             .status = outcome == OUTBOX_SENT ? 200 : 500, .error = error };
	int applied = -1;

	ck_assert_msg(f->ops->complete(f->st, id, node, &res, &applied, &err) == 0, "%s", err.msg);
	return applied;
}

static long long fx_scalar(struct fx *f, const char *sql)
{
	return scalar(f->db, sql);
}

static char *state_of(struct fx *f, int64_t id)
{
	char *sql = xasprintf("SELECT CASE state WHEN 'pending' THEN 1 WHEN 'sending' THEN 2 WHEN 'sent' THEN 3 "
	                      "WHEN 'failed' THEN 4 WHEN 'muted' THEN 5 ELSE 0 END FROM outbox WHERE id = %lld",
	                      (long long)id);
	long long v = fx_scalar(f, sql);
	static const char *const names[] = { "?", "pending", "sending", "sent", "failed", "muted" };

	free(sql);
	return (char *)names[v < 0 || v > 5 ? 0 : v];
}

START_TEST(test_claim_send)
{
	struct fx f;
	int64_t id, due;

	fx_init(&f);
	ck_assert_int_eq(claim(&f, "n1", T, &due), 0);
	ck_assert(due == INT64_MAX);
	add(&f, "a", T);
	id = claim(&f, "n1", T, NULL);
	ck_assert_int_eq(id, 1);
	ck_assert_str_eq(state_of(&f, id), "sending");
	ck_assert_int_eq(fx_scalar(&f, "SELECT attempts FROM outbox"), 1);
	ck_assert_int_eq(fx_scalar(&f, "SELECT lease_until FROM outbox"), T + 5000 + 1000);
	ck_assert_int_eq(complete(&f, id, "n1", OUTBOX_SENT, T + 10, 0, 0, NULL), 1);
	ck_assert_str_eq(state_of(&f, id), "sent");
	ck_assert_int_eq(fx_scalar(&f, "SELECT sent_at FROM outbox"), T + 10);
	/* sent is final: nothing to claim, and retry refuses it */
	ck_assert_int_eq(claim(&f, "n1", T + 20, &due), 0);
	ck_assert(due == INT64_MAX);
	{
		struct vigil_error err = VIGIL_ERROR_INIT;
		int found;

		ck_assert_int_eq(f.ops->retry(f.st, id, T + 30, T + 100000, &found, &err), 0);
		ck_assert_int_eq(found, -1);
		ck_assert_int_eq(f.ops->retry(f.st, 999, T + 30, T + 100000, &found, &err), 0);
		ck_assert_int_eq(found, 0);
	}
	ck_assert_str_eq(state_of(&f, id), "sent");
	fx_free(&f);
}
END_TEST

/* 1 message/s per destination with bursts of 3, whoever sends; other destinations are independent. */
START_TEST(test_throttle)
{
	struct fx f;
	int64_t due, id;

	fx_init(&f);
	for (int i = 0; i < 10; i++)
		add(&f, "a", T);
	add(&f, "b", T);
	for (int i = 0; i < 3; i++) {
		id = claim(&f, i % 2 ? "n1" : "n2", T, NULL);
		ck_assert_int_eq(id, i + 1);   /* oldest first */
		complete(&f, id, i % 2 ? "n1" : "n2", OUTBOX_SENT, T, 0, 0, NULL);
	}
	/* a's bucket is empty; b still has tokens */
	id = claim(&f, "n1", T, NULL);
	ck_assert_int_eq(id, 11);
	complete(&f, id, "n1", OUTBOX_SENT, T, 0, 0, NULL);
	ck_assert_int_eq(claim(&f, "n1", T, &due), 0);
	ck_assert_int_eq(due, T + 1000);
	ck_assert_int_eq(claim(&f, "n1", T + 999, &due), 0);
	id = claim(&f, "n1", T + 1000, NULL);
	ck_assert_int_eq(id, 4);
	complete(&f, id, "n1", OUTBOX_SENT, T + 1000, 0, 0, NULL);
	ck_assert_int_eq(claim(&f, "n1", T + 1500, &due), 0);
	ck_assert_int_eq(due, T + 2000);
	/* over 10 s the rate is one a second, after the burst */
	{
		int sent = 0;

		for (int64_t t = T + 2000; t <= T + 5000; t += 100) {
			while ((id = claim(&f, "n1", t, NULL))) {
				complete(&f, id, "n1", OUTBOX_SENT, t, 0, 0, NULL);
				sent++;
			}
		}
		ck_assert_int_eq(sent, 4);   /* at 2, 3, 4 and 5 s */
	}
	fx_free(&f);
}
END_TEST

/* One message in flight per destination, in order; a claim held elsewhere blocks only its destination. */
START_TEST(test_in_flight_order)
{
	struct fx f;
	int64_t due, a1, b1;

	fx_init(&f);
	add(&f, "a", T);
	add(&f, "a", T);
	add(&f, "b", T);
	a1 = claim(&f, "n1", T, NULL);
	ck_assert_int_eq(a1, 1);
	b1 = claim(&f, "n2", T, NULL);
	ck_assert_int_eq(b1, 3);
	ck_assert_int_eq(claim(&f, "n2", T, &due), 0);
	ck_assert_int_eq(due, T + 500);   /* look again soon */
	/* a retry keeps the order: message 1 stays the head of a's queue */
	ck_assert_int_eq(complete(&f, a1, "n1", OUTBOX_RETRY, T + 10, T + 2000, 0, "HTTP 500 rollup_error"), 1);
	ck_assert_int_eq(claim(&f, "n1", T + 1500, &due), 0);
	ck_assert_int_eq(due, T + 2000);
	ck_assert_int_eq(claim(&f, "n1", T + 2000, NULL), 1);
	ck_assert_int_ge(fx_scalar(&f, "SELECT attempts FROM outbox WHERE id = 1"), 2);
	fx_free(&f);
}
END_TEST

/* Retry-After blocks the whole destination. */
START_TEST(test_retry_after_blocks_destination)
{
	struct fx f;
	int64_t due, id;

	fx_init(&f);
	add(&f, "a", T);
	add(&f, "a", T);
	add(&f, "b", T);
	id = claim(&f, "n1", T, NULL);
	ck_assert_int_eq(complete(&f, id, "n1", OUTBOX_RETRY, T, T + 30000, T + 30000, "HTTP 429"), 1);
	ck_assert_int_eq(fx_scalar(&f, "SELECT blocked_until FROM notify_dests WHERE dest = 'slack:${env:a}'"), T + 30000);
	ck_assert_int_eq(claim(&f, "n1", T + 100, NULL), 3);   /* b is not blocked */
	ck_assert_int_eq(claim(&f, "n1", T + 29999, &due), 0);
	ck_assert_int_eq(due, T + 30000);
	ck_assert_int_eq(claim(&f, "n1", T + 30000, NULL), 1);
	fx_free(&f);
}
END_TEST

/* A failed message does not hold its destination; a broken destination holds everything until retry. */
START_TEST(test_failed_and_broken)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct fx f;
	int64_t due, id;
	int found;
	json_t *dests = NULL, *counts = NULL, *list = NULL;

	fx_init(&f);
	add(&f, "a", T);
	add(&f, "a", T);
	add(&f, "a", T);
	id = claim(&f, "n1", T, NULL);
	complete(&f, id, "n1", OUTBOX_FAILED, T, 0, 0, "HTTP 400 invalid_blocks");
	ck_assert_str_eq(state_of(&f, 1), "failed");
	id = claim(&f, "n1", T, NULL);
	ck_assert_int_eq(id, 2);
	complete(&f, id, "n1", OUTBOX_BROKEN, T, 0, 0, "HTTP 404 channel_not_found: the channel was deleted");
	ck_assert_str_eq(state_of(&f, 2), "failed");
	ck_assert_int_eq(claim(&f, "n1", T + 60000, &due), 0);
	ck_assert(due == INT64_MAX);   /* held, not just waiting */
	ck_assert_str_eq(state_of(&f, 3), "pending");
	ck_assert_int_eq(f.ops->dests(f.st, &dests, &err), 0);
	ck_assert_int_eq(json_array_size(dests), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(dests, 0), "broken_error")),
	                 "HTTP 404 channel_not_found: the channel was deleted");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(dests, 0), "pending")), 1);
	json_decref(dests);
	ck_assert_int_eq(f.ops->counts(f.st, &counts, &err), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(counts, "failed")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(counts, "pending")), 1);
	json_decref(counts);
	ck_assert_int_eq(f.ops->list(f.st, "pending,failed", 10, &list, &err), 0);
	ck_assert_int_eq(json_array_size(list), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "id")), 3);   /* newest first */
	json_decref(list);
	/* someone fixed the channel: retry message 2; the destination is open again, in order */
	ck_assert_int_eq(f.ops->retry(f.st, 2, T + 70000, T + 80000, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(fx_scalar(&f, "SELECT attempts FROM outbox WHERE id = 2"), 0);
	ck_assert_int_eq(claim(&f, "n1", T + 70000, NULL), 2);
	ck_assert_int_eq(fx_scalar(&f, "SELECT count(*) FROM notify_dests WHERE broken_at IS NOT NULL"), 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_deadline_and_fencing)
{
	struct fx f;
	int64_t id, due;

	fx_init(&f);
	add(&f, "a", T);
	id = claim(&f, "n1", T, NULL);
	/* the claim belongs to n1: another node cannot record its outcome */
	ck_assert_int_eq(complete(&f, id, "n2", OUTBOX_SENT, T, 0, 0, NULL), 0);
	ck_assert_str_eq(state_of(&f, id), "sending");
	complete(&f, id, "n1", OUTBOX_RETRY, T, T + 1000, 0, "timeout");
	/* an hour later it has not been delivered: failed, with the last error */
	ck_assert_int_eq(claim(&f, "n1", T + 3600001, &due), 0);
	ck_assert_str_eq(state_of(&f, id), "failed");
	ck_assert_int_eq(fx_scalar(&f, "SELECT count(*) FROM outbox WHERE last_error = "
	                            "'not delivered before its deadline (last error: timeout)'"), 1);
	fx_free(&f);
}
END_TEST

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * kill -9 while sending leaves a message in 'sending': the next sender puts
 * it back to pending (dead pid on this host, or an expired lease) and sends it
 * again; a live owner with a valid lease is left alone.
 */
START_TEST(test_recover_dead_sender)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct fx f;
	struct outbox_sender *s;
	char host[100] = "", dead[160], alive[160];
	pid_t child;
	int status;
	int64_t now, due;
	char *url;

	fx_init(&f);
	now = time_now_ms();   /* after creating the store: the sender's time budget below starts here */
	gethostname(host, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (char *p = host; *p; p++)
		if (*p == ':')
			*p = '_';
	/* a pid that existed and is gone */
	child = fork();
	if (!child)
		_exit(0);
	waitpid(child, &status, 0);
	snprintf(dead, sizeof(dead), "%s:%ld:deadbeef", host, (long)child);
	snprintf(alive, sizeof(alive), "%s:%ld:cafe", host, (long)getppid());
	url = xasprintf("http://127.0.0.1:%d/services/T0/B0/secret", closed_port());
	setenv("a", url, 1);
	setenv("b", url, 1);
	setenv("c", url, 1);
	add(&f, "a", now);
	add(&f, "b", now);
	add(&f, "c", now - 200000);
	ck_assert_int_eq(claim(&f, "otherhost:1:x", now - 100000, NULL), 3);   /* its lease is long expired */
	ck_assert_int_eq(claim(&f, dead, now, NULL), 1);
	ck_assert_int_eq(claim(&f, alive, now, NULL), 2);
	s = outbox_sender_new(f.st);
	/* a deadline far enough for a loaded machine or valgrind: it stops when nothing is due */
	ck_assert_int_eq(outbox_send_due(s, now + 60000, &due, &err), 0);
	ck_assert_int_eq(outbox_sender_stats(s)->recovered, 2);
	ck_assert_str_eq(state_of(&f, 2), "sending");
	/* 1 and 3 were sent again (one attempt each here: nothing listens, so they wait for a retry) */
	ck_assert_int_ge(fx_scalar(&f, "SELECT attempts FROM outbox WHERE id = 1"), 2);
	ck_assert_str_eq(state_of(&f, 1), "pending");
	ck_assert_int_eq(fx_scalar(&f, "SELECT count(*) FROM outbox WHERE id IN (1, 3) AND last_status IS NULL AND "
	                            "last_error LIKE '%onnect%'"), 2);
	ck_assert_int_ge(outbox_sender_stats(s)->retried, 2);
	ck_assert(due > now && due < time_now_ms() + 2000);   /* backoff of about a second */
	/* the error never carries the URL */
	ck_assert_int_eq(fx_scalar(&f, "SELECT count(*) FROM outbox WHERE last_error LIKE '%secret%' OR "
	                            "last_error LIKE '%services%'"), 0);
	outbox_sender_free(s);
	unsetenv("a");
	unsetenv("b");
	unsetenv("c");
	free(url);
	fx_free(&f);
}
END_TEST

/* A destination that cannot be resolved (variable unset) is retried, not lost: another process may have it. */
START_TEST(test_unresolved_destination)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct fx f;
	struct outbox_sender *s;
	int64_t now = time_now_ms();

	fx_init(&f);
	unsetenv("a");
	add(&f, "a", now);
	s = outbox_sender_new(f.st);
	ck_assert_int_eq(outbox_send_due(s, now, NULL, &err), 0);
	ck_assert_str_eq(state_of(&f, 1), "pending");
	ck_assert_int_eq(fx_scalar(&f, "SELECT count(*) FROM outbox WHERE last_error = 'cannot resolve the destination: "
	                            "environment variable ''a'' is not set'"), 1);
	outbox_sender_free(s);
	fx_free(&f);
}
END_TEST

static Suite *outbox_suite(void)
{
	Suite *s = suite_create("outbox");
	TCase *tc = tcase_create("outbox");

	tcase_add_test(tc, test_claim_send);
	tcase_add_test(tc, test_throttle);
	tcase_add_test(tc, test_in_flight_order);
	tcase_add_test(tc, test_retry_after_blocks_destination);
	tcase_add_test(tc, test_failed_and_broken);
	tcase_add_test(tc, test_deadline_and_fencing);
	tcase_add_test(tc, test_recover_dead_sender);
	tcase_add_test(tc, test_unresolved_destination);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(outbox_suite());
}

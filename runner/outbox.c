/* outbox.c - the sender: claim, POST with libcurl, classify, record (see outbox.h). */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "secret.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define LEASE_MARGIN_MS 15000      /* a claim outlives the HTTP timeout by this much */

struct outbox_sender {
	struct store *st;
	char node[160];            /* "<host>:<pid>:<random>" */
	char host[100];
	CURL *curl;                /* reused, so connections are kept alive */
	uint64_t rng;
	struct outbox_stats stats;
	int64_t clock_offset;      /* the store's clock minus ours */
	int64_t clock_checked;     /* monotonic ns; 0: never */
};

#define CLOCK_CHECK_NS (60 * 1000000000LL)

/*
 * The store's time: several nodes share one token bucket per destination,
 * so they must agree on the clock; ours is corrected to the store's now and then.
 */
static int64_t store_now(struct outbox_sender *s)
{
	int64_t db, mono = time_mono_ns();

	if ((!s->clock_checked || mono - s->clock_checked >= CLOCK_CHECK_NS) && s->st->backend->now) {
		s->clock_checked = mono;
		if (s->st->backend->now(s->st, &db, NULL) == 0)
			s->clock_offset = db - time_now_ms();
	}
	return time_now_ms() + s->clock_offset;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ok;

static void curl_init_once(void)
{
	curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static uint64_t next_rand(struct outbox_sender *s)
{
	/* xorshift64*: jitter only, not security */
	s->rng ^= s->rng >> 12;
	s->rng ^= s->rng << 25;
	s->rng ^= s->rng >> 27;
	return s->rng * 0x2545F4914F6CDD1DULL;
}

static double rand01(struct outbox_sender *s)
{
	return (double)(next_rand(s) >> 11) / 9007199254740992.0;
}

struct outbox_sender *outbox_sender_new(struct store *st)
{
	struct outbox_sender *s = XNEW(struct outbox_sender);

	pthread_once(&curl_once, curl_init_once);
	s->st = st;
	s->rng = (uint64_t)time_mono_ns() ^ ((uint64_t)getpid() << 32) ^ (uint64_t)time_now_ms();
	if (!s->rng)
		s->rng = 0x9e3779b97f4a7c15ULL;
	if (gethostname(s->host, sizeof(s->host)) || !s->host[0])
		snprintf(s->host, sizeof(s->host), "localhost");
	s->host[sizeof(s->host) - 1] = '\0';
	for (char *p = s->host; *p; p++)
		if (*p == ':' || !isprint((unsigned char)*p))
			*p = '_';
	snprintf(s->node, sizeof(s->node), "%s:%ld:%08llx", s->host, (long)getpid(),
	         (unsigned long long)(next_rand(s) & 0xffffffffULL));
	s->curl = curl_ok ? curl_easy_init() : NULL;
	return s;
}

void outbox_sender_free(struct outbox_sender *s)
{
	if (!s)
		return;
	if (s->curl)
		curl_easy_cleanup(s->curl);
	free(s);
}

const struct outbox_stats *outbox_sender_stats(const struct outbox_sender *s)
{
	return &s->stats;
}

int64_t outbox_backoff_ms(int attempts, double rnd)
{
	int64_t cap = OUTBOX_BACKOFF_BASE_MS;

	for (int i = 1; i < attempts && cap < OUTBOX_BACKOFF_MAX_MS; i++)
		cap *= 2;
	if (cap > OUTBOX_BACKOFF_MAX_MS)
		cap = OUTBOX_BACKOFF_MAX_MS;
	return cap / 2 + (int64_t)(rnd * (double)(cap / 2));
}

int64_t outbox_parse_retry_after(const char *value, int64_t now_ms)
{
	const char *p = value;
	time_t when;
	long long secs = 0;

	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)*p)) {
		for (; isdigit((unsigned char)*p); p++) {
			secs = secs * 10 + (*p - '0');
			if (secs > 1000000)
				secs = 1000000;
		}
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		return *p ? -1 : secs * 1000;
	}
	when = curl_getdate(p, NULL);
	if (when == (time_t)-1)
		return -1;
	return (int64_t)when * 1000 > now_ms ? (int64_t)when * 1000 - now_ms : 0;
}

/* --- Showing destinations without their secret --------------------------- */

void outbox_redact_url(const char *url, char *buf, size_t len)
{
	const char *sep = strstr(url, "://"), *host, *host_end, *at, *path;
	struct strbuf sb = STRBUF_INIT;

	if (!sep || sep == url || sep - url > 10) {
		snprintf(buf, len, "****");
		return;
	}
	strbuf_add(&sb, url, (size_t)(sep - url));
	strbuf_addstr(&sb, "://");
	host = sep + 3;
	host_end = host + strcspn(host, "/?#");
	for (at = host_end; at > host && at[-1] != '@'; at--)
		;
	if (at > host)
		host = at;   /* drop user:password@ */
	for (const char *p = host; p < host_end && p - host < 200; p++)
		strbuf_addch(&sb, isalnum((unsigned char)*p) || strchr(".-:[]_", *p) ? *p : '_');
	path = host_end;
	if (!strncmp(path, "/services/", 10)) {
		const char *seg1 = path + 10, *seg2 = seg1 + strcspn(seg1, "/");

		strbuf_addstr(&sb, "/services/");
		if (*seg2 == '/')
			seg2++;
		strbuf_addf(&sb, "%c\xe2\x80\xa6/%c\xe2\x80\xa6/****", isalnum((unsigned char)*seg1) ? *seg1 : '_',
		            isalnum((unsigned char)*seg2) ? *seg2 : '_');
	} else {
		strbuf_addstr(&sb, "/****");
	}
	snprintf(buf, len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
}

void outbox_show_dest(const char *url_ref, const char *base_dir, char *buf, size_t len)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *url;

	if (!secret_has_ref(url_ref)) {
		outbox_redact_url(url_ref, buf, len);
		return;
	}
	url = secret_resolve(url_ref, base_dir, &err);
	if (!url) {
		char esc[300];

		snprintf(buf, len, "%s (cannot resolve: %s)", log_escape(esc, sizeof(esc), url_ref), err.msg);
		return;
	}
	outbox_redact_url(url, buf, len);
	explicit_bzero(url, strlen(url));
	free(url);
}

/* --- One HTTP attempt ---------------------------------------------------- */

struct answer {
	struct strbuf body;
	char retry_after[128];
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (a->body.len < OUTBOX_BODY_MAX)
		strbuf_add(&a->body, data, len < OUTBOX_BODY_MAX - a->body.len ? len : OUTBOX_BODY_MAX - a->body.len);
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;

	if (len > 12 && !strncasecmp(data, "Retry-After:", 12)) {
		size_t k = len - 12 < sizeof(a->retry_after) - 1 ? len - 12 : sizeof(a->retry_after) - 1;

		memcpy(a->retry_after, data + 12, k);
		a->retry_after[k] = '\0';
	}
	return len;
}

/* Header lines from the message's stored JSON, references resolved.  NULL with err on failure. */
static struct curl_slist *build_headers(const struct outbox_msg *m, struct vigil_error *err)
{
	struct curl_slist *list = NULL, *tmp;
	json_t *h = m->headers ? json_loads(m->headers, 0, NULL) : NULL, *v;
	const char *key;

	list = curl_slist_append(list, "Content-Type: application/json");
	list = curl_slist_append(list, "Expect:");
	json_object_foreach(h, key, v) {
		char *value = json_is_string(v) ? secret_resolve(json_string_value(v), m->base_dir, err) : NULL;
		char *line;

		if (!value) {
			vigil_error_prefix(err, "header '%s'", key);
			curl_slist_free_all(list);
			json_decref(h);
			return NULL;
		}
		line = xasprintf("%s: %s", key, value);
		tmp = curl_slist_append(list, line);
		explicit_bzero(value, strlen(value));
		explicit_bzero(line, strlen(line));
		free(value);
		free(line);
		if (tmp)
			list = tmp;
	}
	json_decref(h);
	return list;
}

static void wipe_headers(struct curl_slist *list)
{
	for (struct curl_slist *p = list; p; p = p->next)
		explicit_bzero(p->data, strlen(p->data));
	curl_slist_free_all(list);
}

/*
 * POST the message.  Returns the HTTP status, or 0 when there was no answer
 * (cerr says why, without the URL).
 */
static long http_post(struct outbox_sender *s, const char *url, struct curl_slist *headers, const char *body,
                      int64_t timeout_ms, struct answer *ans, char *cerr, size_t cerr_len, CURLcode *code)
{
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	const char *path = strstr(url, "://");

	curl_easy_reset(s->curl);
	curl_easy_setopt(s->curl, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "vigil/" PACKAGE_VERSION);
	curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 5000 ? timeout_ms : 5000));
	curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, ans);
	curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, ans);
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(s->curl);
	*code = rc;
	if (rc == CURLE_OK) {
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
	} else {
		/* curl's detail names the host at most; drop it if it could hold any of the URL's path */
		const char *tail = path ? path + 3 + strcspn(path + 3, "/?#") : NULL;

		if (!errbuf[0] || (tail && *tail && strstr(errbuf, tail)) || strstr(errbuf, url))
			snprintf(cerr, cerr_len, "%s", curl_easy_strerror(rc));
		else
			snprintf(cerr, cerr_len, "%s", errbuf);
	}
	curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, NULL);
	return status;
}

static const struct outbox_throttle throttle = { OUTBOX_RATE, OUTBOX_BURST };

/* Deliver one claimed message and record what happened. */
static int deliver(struct outbox_sender *s, struct outbox_msg *m, struct vigil_error *err)
{
	const struct notify_type *type = notify_find(m->type);
	struct vigil_error rerr = VIGIL_ERROR_INIT;
	struct answer ans = { STRBUF_INIT, "" };
	struct notify_verdict v = { VERDICT_RETRY, "" };
	struct outbox_result res = { 0 };
	struct curl_slist *headers = NULL;
	char shown[300], cerr[CURL_ERROR_SIZE + 64] = "", *url = NULL;
	int64_t t0 = time_mono_ns();
	long status = 0;
	int applied;

	outbox_show_dest(m->url_ref, m->base_dir, shown, sizeof(shown));
	if (!type || !type->classify) {
		v.kind = VERDICT_FAILED;
		snprintf(v.error, sizeof(v.error), "unknown notify type '%s' (written by another vigil?)", m->type);
	} else if (!s->curl) {
		v.kind = VERDICT_RETRY;
		snprintf(v.error, sizeof(v.error), "libcurl could not be initialised");
	} else if (!(url = secret_resolve(m->url_ref, m->base_dir, &rerr))) {
		v.kind = VERDICT_RETRY;   /* another process (the daemon) may have the variable or file */
		snprintf(v.error, sizeof(v.error), "cannot resolve the destination: %s", rerr.msg);
	} else if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		v.kind = VERDICT_FAILED;
		snprintf(v.error, sizeof(v.error), "the destination does not resolve to an http:// or https:// URL");
	} else if (!(headers = build_headers(m, &rerr))) {
		v.kind = VERDICT_RETRY;
		snprintf(v.error, sizeof(v.error), "cannot resolve a header: %s", rerr.msg);
	} else {
		CURLcode code = CURLE_OK;

		status = http_post(s, url, headers, m->payload, m->timeout_ms, &ans, cerr, sizeof(cerr), &code);
		if (status)
			type->classify(status, strbuf_str(&ans.body), ans.body.len, &v);
		else
			snprintf(v.error, sizeof(v.error), "%s", cerr);
		if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL)
			v.kind = VERDICT_FAILED;   /* the same URL will never work */
	}
	if (url) {
		explicit_bzero(url, strlen(url));
		free(url);
	}
	wipe_headers(headers);

	res.now = store_now(s);
	res.status = (int)status;
	res.error = v.error;
	switch (v.kind) {
	case VERDICT_SENT:
		res.outcome = OUTBOX_SENT;
		break;
	case VERDICT_FAILED:
		res.outcome = OUTBOX_FAILED;
		break;
	case VERDICT_BROKEN:
		res.outcome = OUTBOX_BROKEN;
		break;
	case VERDICT_RETRY:
		res.outcome = OUTBOX_RETRY;
		if (status == 429) {
			int64_t wait = ans.retry_after[0] ? outbox_parse_retry_after(ans.retry_after, res.now) : -1;

			if (wait < 0)
				wait = OUTBOX_RETRY_AFTER_DEFAULT_MS;
			if (wait > OUTBOX_RETRY_AFTER_MAX_MS)
				wait = OUTBOX_RETRY_AFTER_MAX_MS;
			res.blocked_until = res.next_attempt = res.now + wait;
		} else {
			res.next_attempt = res.now + outbox_backoff_ms(m->attempts, rand01(s));
		}
		if (res.next_attempt > m->deadline) {
			res.outcome = OUTBOX_FAILED;
			res.blocked_until = 0;
			snprintf(v.error + strlen(v.error), sizeof(v.error) - strlen(v.error),
			         "; gave up: the next attempt would be after the message's deadline (retry_for)");
		}
		break;
	}
	/* Record at once: the fewer instructions between "ok" and this, the smaller the duplicate window. */
	if (s->st->backend->notify->complete(s->st, m->id, s->node, &res, &applied, err)) {
		strbuf_release(&ans.body);
		return -1;
	}
	strbuf_release(&ans.body);
	switch (res.outcome) {
	case OUTBOX_SENT:
		s->stats.sent++;
		log_info("outbox", "message %lld (job '%s') sent to %s %s in %lld ms", (long long)m->id, m->job, m->type,
		         shown, (long long)((time_mono_ns() - t0) / 1000000));
		break;
	case OUTBOX_RETRY: {
		char when[40];

		s->stats.retried++;
		time_format_iso(res.next_attempt, when, sizeof(when));
		log_warn("outbox", "message %lld (job '%s') to %s %s: %s; attempt %d, retrying at %s", (long long)m->id,
		         m->job, m->type, shown, v.error, m->attempts, when);
		break;
	}
	case OUTBOX_FAILED:
		s->stats.failed++;
		log_error("outbox", "message %lld (job '%s') to %s %s failed: %s", (long long)m->id, m->job, m->type,
		          shown, v.error);
		break;
	case OUTBOX_BROKEN:
		s->stats.failed++;
		s->stats.broken++;
		log_error("outbox", "message %lld (job '%s') to %s %s failed: %s; the destination is marked broken and "
		          "its messages are held: fix it, then 'vigil outbox retry %lld'", (long long)m->id, m->job,
		          m->type, shown, v.error, (long long)m->id);
		break;
	}
	if (!applied)
		log_warn("outbox", "message %lld: its claim had expired before the answer came; another sender may "
		         "have sent it too", (long long)m->id);
	return 0;
}

/* The owner of a claim is gone: same host and its pid no longer exists. */
static int owner_dead(const struct outbox_sender *s, const char *locked_by)
{
	size_t hl = strlen(s->host);
	long pid;
	char *end;

	if (!locked_by || strncmp(locked_by, s->host, hl) || locked_by[hl] != ':')
		return 0;
	pid = strtol(locked_by + hl + 1, &end, 10);
	if (*end != ':' || pid <= 0)
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

/* Put back to pending what dead senders left in 'sending'. */
static int recover(struct outbox_sender *s, struct vigil_error *err)
{
	json_t *rows = NULL, *r;
	size_t i;
	int64_t now = store_now(s);

	if (s->st->backend->notify->in_flight(s->st, &rows, err))
		return -1;
	json_array_foreach(rows, i, r) {
		const char *owner = json_string_value(json_object_get(r, "locked_by"));
		int64_t lease = json_integer_value(json_object_get(r, "lease_until"));
		struct outbox_result res = {
			.outcome = OUTBOX_RETRY, .now = now, .next_attempt = now,
			.error = "interrupted while sending (its sender died): it may or may not have been delivered; "
			         "sending again",
		};
		int applied;

		if (!owner || (lease >= now && !owner_dead(s, owner)))
			continue;
		if (s->st->backend->notify->complete(s->st, json_integer_value(json_object_get(r, "id")), owner, &res,
		                                     &applied, err)) {
			json_decref(rows);
			return -1;
		}
		if (applied) {
			s->stats.recovered++;
			log_warn("outbox", "message %lld was being sent by a process that died; queued again",
			         (long long)json_integer_value(json_object_get(r, "id")));
		}
	}
	json_decref(rows);
	return 0;
}

int outbox_send_due(struct outbox_sender *s, int64_t deadline_ms, int64_t *next_due, struct vigil_error *err)
{
	const struct store_notify_ops *ops = s->st->backend->notify;
	int64_t due = INT64_MAX;
	int first = 1;

	if (!ops)
		return vigil_error_set(err, VIGIL_E_STORE, "this store keeps no outbox");
	if (recover(s, err))
		return -1;
	while (first || time_now_ms() <= deadline_ms) {
		struct outbox_msg m;
		int64_t now = store_now(s);
		int rc = ops->claim(s->st, s->node, now, LEASE_MARGIN_MS, &throttle, &m, &due, err);

		first = 0;
		if (rc < 0)
			return -1;
		if (!rc)
			break;
		rc = deliver(s, &m, err);
		outbox_msg_release(&m);
		if (rc)
			return -1;
		due = INT64_MAX;
	}
	if (next_due)
		*next_due = due;
	return 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int outbox_flush(struct outbox_sender *s, int64_t deadline_ms, struct vigil_error *err)
{
	for (;;) {
		int64_t next, now;

		if (outbox_send_due(s, deadline_ms, &next, err))
			return -1;
		now = time_now_ms();
		if (next == INT64_MAX || now >= deadline_ms || next > deadline_ms)
			return 0;
		if (next > now)
			sleep_ms(next - now);
	}
}

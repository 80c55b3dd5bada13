/*
 * api.c - the HTTP API of `vigil serve`, on libmicrohttpd.
 *
 * libmicrohttpd runs every request in its one internal polling thread, so
 * the API's store connection (its own, read-mostly) is used by one thread.
 * Routes are matched by hand: the set is small and fixed.  Inputs are
 * capped before use: the URL by libmicrohttpd's connection memory limit,
 * bodies at API_BODY_MAX, query parameters by name (unknown ones are
 * refused) and range.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adhoc.h"
#include "api.h"
#include "api-guard.h"
#include "api-request.h"
#include "api-wait.h"
#include "detector-stats.h"
#include "duration.h"
#include "feedback.h"
#include "incident.h"
#include "incident-hints.h"
#include "jsonfmt.h"
#include "log.h"
#include "metrics.h"
#include "mute.h"
#include "promote.h"
#include "redact.h"
#include "scrub.h"
#include "store.h"
#include "strbuf.h"
#include "timefmt.h"
#include "ui.h"
#include "xmalloc.h"
#include "banned.h"

#define API_BODY_MAX 4096
#define API_LIMIT_MAX 1000
#define API_LIMIT_DEFAULT 50
/* Points in one /api/series answer; a longer range keeps the newest. */
#define API_SERIES_MAX_POINTS 200000
/* Slow clients (docs/api.md): connections per client address, and in all */
#define API_PER_IP_CONNECTIONS 16
#define API_CONNECTIONS 256
/* A request (headers and body) must arrive within this of its start. */
#define API_REQUEST_DEADLINE_MS 10000
/* Long-polls (GET /api/runs/{id}?wait=): the longest wait, how many at once, how often they look again. */
#define API_WAIT_MAX_MS 60000
#define API_WAITERS_MAX 64
#define API_WAIT_POLL_MS 250
/* Flagged points of one run whose reasons /api/series looks up. */
#define API_REASONS_MAX 100000

struct api {
	struct MHD_Daemon *mhd;
	struct serve *sv;
	struct store *st;
	char *token;
	int loopback;
	char address[128];
	struct api_guard *guard;
	struct api_wait *wait;
};

struct request {
	size_t body;
	int started;                /* the handler saw the headers */
	char target_error[160];     /* why the raw request target is refused ("" if it is not) */
	size_t cap;                 /* the largest body taken: API_BODY_MAX, or ADHOC_SPEC_MAX for POST /api/runs */
	char *big;                  /* the body when cap is ADHOC_SPEC_MAX (allocated as it arrives) */
	int waiting;                /* a long-poll: wait_until is set */
	int64_t wait_until;         /* monotonic ms */
	char data[API_BODY_MAX + 1];   /* the body, when it fits */
};

/* ---- listen addresses, tokens, redaction ------------------------------------- */

int api_parse_listen(const char *listen, char *host, size_t host_size, unsigned *port, int *loopback,
                     struct vigil_error *err)
{
	const char *colon, *h = listen;
	size_t hlen;
	char *end;
	long p;

	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');

		if (!close || close[1] != ':')
			return vigil_error_set(err, VIGIL_E_USAGE, "--listen: '%s' is not [IPV6]:PORT", listen);
		h = listen + 1;
		hlen = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return vigil_error_set(err, VIGIL_E_USAGE, "--listen: '%s' is not HOST:PORT", listen);
		hlen = (size_t)(colon - listen);
	}
	if (!hlen || hlen >= host_size)
		return vigil_error_set(err, VIGIL_E_USAGE, "--listen: bad host in '%s'", listen);
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (!strcmp(host, "localhost"))
		snprintf(host, host_size, "127.0.0.1");
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || p < 0 || p > 65535)
		return vigil_error_set(err, VIGIL_E_USAGE, "--listen: bad port in '%s'", listen);
	*port = (unsigned)p;
	if (strchr(host, ':')) {
		struct in6_addr a6;

		if (inet_pton(AF_INET6, host, &a6) != 1)
			return vigil_error_set(err, VIGIL_E_USAGE, "--listen: '%s' is not an IPv6 address", host);
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6);
	} else {
		struct in_addr a4;

		if (inet_pton(AF_INET, host, &a4) != 1)
			return vigil_error_set(err, VIGIL_E_USAGE, "--listen: '%s' is not an IPv4 address", host);
		*loopback = (ntohl(a4.s_addr) >> 24) == 127;
	}
	return 0;
}

int api_token_equal(const char *given, const char *expected)
{
	return api_token_equal_n(given, strlen(given), expected, strlen(expected));
}

json_t *api_redact(const json_t *v)
{
	return redact_spec(v);
}

/* ---- replies ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"vigil\"");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *o)
{
	char *text;
	size_t len;

	scrub_json(o);   /* no resolved secret leaves the daemon, whatever produced the text */
	text = jsonfmt_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(o);
	if (!text)
		text = xstrdup("{\"error\":\"cannot encode the answer\"}");
	len = strlen(text);
	text = xreallocarray(text, len + 2, 1);
	text[len++] = '\n';
	text[len] = '\0';
	return reply(c, status, "application/json", text, len);
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return reply_json(c, status, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result reply_strbuf(struct MHD_Connection *c, unsigned status, const char *type,
                                    struct strbuf *sb)
{
	size_t len = sb->len;

	return reply(c, status, type, strbuf_detach(sb), len);
}

/* ---- parameters ------------------------------------------------------------------ */

struct args_check {
	const char *const *allowed;
	const char *bad;
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct args_check *ac = cls;

	(void)kind;
	(void)value;
	for (const char *const *a = ac->allowed; *a; a++)
		if (!strcmp(key, *a))
			return MHD_YES;
	ac->bad = key;
	return MHD_NO;
}

/* Refuse unknown query parameters; NULL if all are known, else the bad name. */
static const char *unknown_arg(struct MHD_Connection *c, const char *const *allowed)
{
	struct args_check ac = { allowed, NULL };

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, check_arg, &ac);
	return ac.bad;
}

static int valid_name(const char *s);

/* A job name in a ?job= filter: a spec's name, or an ad-hoc run's "adhoc:NAME". */
static int valid_job_filter(const char *s)
{
	return valid_name(s) || (!strncmp(s, ADHOC_JOB_PREFIX, strlen(ADHOC_JOB_PREFIX)) &&
	                         valid_name(s + strlen(ADHOC_JOB_PREFIX)));
}

static int valid_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 128)
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '-' || *s == '.'))
			return 0;
	return 1;
}

/* Parse an integer parameter in [lo, hi]; *v keeps its default when absent.  -1: bad. */
static int int_arg(struct MHD_Connection *c, const char *name, long long lo, long long hi, long long *v)
{
	const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);

	if (!s)
		return 0;
	return api_parse_int(s, lo, hi, v);  /* out of range is an error, never clamped */
}

static int time_arg(struct MHD_Connection *c, const char *name, int64_t *v)
{
	const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);

	if (!s)
		return 0;
	return time_parse(s, strlen(s), TIME_AUTO, v);
}

/* ---- endpoints --------------------------------------------------------------------- */

/* Store rows as the API shows them: labels an object, shadow and alerted booleans. */
static void rows_api_form(json_t *rows)
{
	static const char *const flags[] = { "shadow", "alerted" };
	json_t *row;
	size_t i;

	json_array_foreach(rows, i, row) {
		json_t *labels = json_object_get(row, "labels");

		if (json_is_string(labels)) {
			json_t *o = json_loads(json_string_value(labels), 0, NULL);

			json_object_set_new(row, "labels", json_is_object(o) ? o : json_object());
			if (!json_is_object(o))
				json_decref(o);
		}
		for (size_t k = 0; k < 2; k++) {
			json_t *v = json_object_get(row, flags[k]);

			if (json_is_integer(v))
				json_object_set_new(row, flags[k], json_boolean(json_integer_value(v)));
		}
	}
}

/* The end of the mute that silences every series of job now, or 0 when none does. */
static int64_t job_muted_until(struct api *api, const char *job, int64_t now)
{
	struct mute_set set = MUTE_SET_INIT;
	int64_t until = 0;

	if (mute_set_load(api->st, job, now, &set, NULL))
		return 0;
	for (size_t i = 0; i < set.n; i++)
		if (!strcmp(set.items[i].series_pattern, "*") && set.items[i].until_ms > until)
			until = set.items[i].until_ms;
	mute_set_release(&set);
	return until;
}

static enum MHD_Result get_jobs(struct api *api, struct MHD_Connection *c)
{
	json_t *jobs = serve_jobs_json(api->sv), *j;
	int64_t now = time_now_ms();
	size_t i;

	if (api->st->backend->now)
		api->st->backend->now(api->st, &now, NULL);
	json_array_foreach(jobs, i, j) {
		const char *name = json_string_value(json_object_get(j, "name"));
		json_t *state = NULL;
		int64_t muted = job_muted_until(api, name, now);

		if (api->st->backend->job_state(api->st, name, &state, NULL) == 0) {
			json_object_set(j, "last_run", json_object_get(state, "last_run"));
			json_decref(state);
		}
		json_object_set_new(j, "muted", json_boolean(muted));
		json_object_set_new(j, "muted_until", muted ? json_integer(muted) : json_null());
	}
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "jobs", jobs));
}

static enum MHD_Result get_job(struct api *api, struct MHD_Connection *c, const char *name)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *job = valid_name(name) ? serve_job_json(api->sv, name) : NULL, *state = NULL, *series = NULL;

	if (!job)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no job named '%s'", name);
	json_object_set_new(job, "spec", api_redact(json_object_get(job, "spec")));
	if (api->st->backend->job_state(api->st, name, &state, &err) ||
	    api->st->backend->series_list(api->st, name, &series, &err)) {
		json_decref(job);
		json_decref(state);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	}
	json_object_set(job, "last_run", json_object_get(state, "last_run"));
	rows_api_form(series);
	json_object_set_new(job, "series", series);
	json_decref(state);
	return reply_json(c, MHD_HTTP_OK, job);
}

static enum MHD_Result post_run(struct api *api, struct MHD_Connection *c, const char *name)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	int64_t t;

	if (!valid_name(name))
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no job named '%s'", name);
	if (serve_trigger(api->sv, name, &t, &err)) {
		unsigned status = err.code == VIGIL_E_USAGE ? MHD_HTTP_NOT_FOUND
		                : err.code == VIGIL_E_LIMIT ? MHD_HTTP_CONFLICT : MHD_HTTP_SERVICE_UNAVAILABLE;

		return reply_error(c, status, "%s", err.msg);
	}
	return reply_json(c, MHD_HTTP_ACCEPTED, json_pack("{s:s, s:I}", "job", name, "scheduled_for", (json_int_t)t));
}

static enum MHD_Result get_runs(struct api *api, struct MHD_Connection *c)
{
	static const char *const allowed[] = { "job", "limit", "before", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *job = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "job"), *bad;
	long long limit = API_LIMIT_DEFAULT, before = 0;
	json_t *runs = NULL, *o;
	size_t n;

	if ((bad = unknown_arg(c, allowed)))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s' (known: job, limit, before)", bad);
	if (job && !valid_job_filter(job))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "job: not a job name");
	if (int_arg(c, "limit", 1, API_LIMIT_MAX, &limit))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "limit: must be an integer from 1 to %d", API_LIMIT_MAX);
	if (int_arg(c, "before", 1, INT64_MAX, &before))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "before: must be a run id (an integer >= 1)");
	if (api->st->backend->runs_page(api->st, job, before, (size_t)limit, &runs, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	n = json_array_size(runs);
	o = json_pack("{s:o}", "runs", runs);
	if (n == (size_t)limit) {
		struct strbuf next = STRBUF_INIT;

		strbuf_addstr(&next, "/api/runs?");
		if (job)
			strbuf_addf(&next, "job=%s&", job);
		strbuf_addf(&next, "limit=%lld&before=%lld", limit,
		            (long long)json_integer_value(json_object_get(json_array_get(runs, n - 1), "id")));
		json_object_set_new(o, "next", json_string(strbuf_str(&next)));
		strbuf_release(&next);
	} else {
		json_object_set_new(o, "next", json_null());
	}
	return reply_json(c, MHD_HTTP_OK, o);
}

/* A run that may still change: a long-poll waits for it. */
static int run_unfinished(const json_t *run)
{
	const char *state = json_string_value(json_object_get(run, "state"));

	return state && (!strcmp(state, "pending") || !strcmp(state, "running") || !strcmp(state, "interrupted"));
}

/* An ad-hoc run's spec (redacted) and results join its run; a scheduled run's are elsewhere (/api/series). */
static int add_adhoc(struct api *api, int64_t id, json_t *run, struct vigil_error *err)
{
	char *spec = NULL, *results = NULL;
	json_t *o;
	int found = 0;

	json_object_set_new(run, "adhoc", json_false());
	if (!api->st->backend->adhoc || api->st->backend->adhoc->get(api->st, id, &spec, &results, &found, err))
		return api->st->backend->adhoc ? -1 : 0;
	if (found) {
		json_object_set_new(run, "adhoc", json_true());
		o = spec ? json_loads(spec, 0, NULL) : NULL;
		json_object_set_new(run, "spec", o ? api_redact(o) : json_null());
		json_decref(o);
		o = results ? json_loads(results, JSON_DECODE_ANY, NULL) : NULL;
		json_object_set_new(run, "results", o ? o : json_null());
	}
	free(spec);
	free(results);
	return 0;
}

/* GET /api/runs/{id}[?wait=DURATION]: the run; with wait, once it ended or the wait is over. */
static enum MHD_Result get_run(struct api *api, struct MHD_Connection *c, const char *id_text, struct request *rq)
{
	static const char *const allowed[] = { "wait", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *wait = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "wait"), *bad;
	int64_t wait_ms = 0;
	long long id;
	json_t *run = NULL;

	if ((bad = unknown_arg(c, allowed)))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s' (known: wait)", bad);
	if (api_parse_int(id_text, 1, INT64_MAX, &id))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "'%.40s' is not a run id (an integer from 1 to %lld)",
		                   id_text, (long long)INT64_MAX);
	if (wait && (duration_parse(wait, &wait_ms) || wait_ms > API_WAIT_MAX_MS))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "wait: must be a duration up to %ds, such as 30s",
		                   API_WAIT_MAX_MS / 1000);
	if (api->st->backend->run_get(api->st, id, &run, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	if (!run)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no run %lld", id);
	if (wait_ms && run_unfinished(run)) {
		if (!rq->waiting) {
			rq->waiting = 1;
			rq->wait_until = time_mono_ns() / 1000000 + wait_ms;
		}
		if (time_mono_ns() / 1000000 < rq->wait_until && api_wait_suspend(api->wait, c) == 0) {
			json_decref(run);
			return MHD_YES;   /* answered when a later round finds it ended, or at wait_until */
		}
	}
	if (add_adhoc(api, id, run, &err)) {
		json_decref(run);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	}
	return reply_json(c, MHD_HTTP_OK, run);
}

/* POST /api/runs: queue an ad-hoc run of the spec in the body (runner/adhoc.h). */
static enum MHD_Result post_adhoc(struct api *api, struct MHD_Connection *c, const char *body, size_t len)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct diag d;
	int64_t id, t;
	char *job, esc[300];
	json_t *o;

	if (!api->st->backend->adhoc)
		return reply_error(c, MHD_HTTP_NOT_IMPLEMENTED, "this store keeps no ad-hoc runs");
	if (!serve_ready(api->sv))
		return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "the daemon is stopping");
	if (!len || strlen(body) != len)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "the body must be a job spec (a JSON object, as in a spec file)");
	diag_init(&d, "spec");
	job = serve_adhoc_check(api->sv, body, &d);
	if (!job) {
		o = json_pack("{s:s, s:o}", "error", d.n ? d.msgs[0] : "invalid spec", "errors", diag_json(&d));
		diag_release(&d);
		return reply_json(c, MHD_HTTP_BAD_REQUEST, o);
	}
	diag_release(&d);
	if (api->st->backend->adhoc->submit(api->st, job, body, &id, &t, &err)) {
		free(job);
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	}
	serve_adhoc_queued(api->sv);
	log_info("api", "job '%s': ad-hoc run %lld queued", log_escape(esc, sizeof(esc), job), (long long)id);
	o = json_pack("{s:I, s:s, s:I, s:s}", "id", (json_int_t)id, "job", job, "scheduled_for", (json_int_t)t, "state",
	              "pending");
	json_object_set_new(o, "url", json_sprintf("/api/runs/%lld", (long long)id));
	free(job);
	return reply_json(c, MHD_HTTP_ACCEPTED, o);
}

static enum MHD_Result get_anomalies(struct api *api, struct MHD_Connection *c)
{
	static const char *const allowed[] = { "job", "since", "limit", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *job = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "job"), *bad;
	long long limit = 100;
	int64_t since = INT64_MIN;
	json_t *rows = NULL;

	if ((bad = unknown_arg(c, allowed)))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s' (known: job, since, limit)", bad);
	if (job && !valid_name(job))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "job: not a job name");
	if (time_arg(c, "since", &since))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "since: not a timestamp (ISO 8601 or unix seconds)");
	if (int_arg(c, "limit", 1, API_LIMIT_MAX, &limit))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "limit: must be an integer from 1 to %d", API_LIMIT_MAX);
	if (api->st->backend->anomalies_since(api->st, job, since, (size_t)limit, &rows, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	rows_api_form(rows);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "anomalies", rows));
}

/* ---- /api/series: written by hand, it can be 100 000 points ------------------------ */

static void add_int(struct strbuf *sb, int64_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while (u /= 10);
	if (v < 0)
		*--p = '-';
	strbuf_add(sb, p, (size_t)(buf + sizeof(buf) - p));
}

/*
 * Numbers for charts: 9 significant digits, like "%.9g" (the last digit may
 * differ by one: the value is scaled in binary).  Formatting 100 000 points
 * with snprintf costs most of a request, so ordinary magnitudes take an
 * integer path.
 */
void api_format_number(struct strbuf *sb, double v)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12 };
	double a = fabs(v);
	char buf[40], *p;
	int n, digits, decimals;
	int64_t scaled, ip, fp;

	if (!isfinite(v)) {
		strbuf_add(sb, "null", 4);
		return;
	}
	if (v == (double)(int64_t)v && a < 1e15) {
		add_int(sb, (int64_t)v);
		return;
	}
	if (a < 1e-3 || a >= 1e9) {
		n = snprintf(buf, sizeof(buf), "%.9g", v);
		strbuf_add(sb, buf, (size_t)n);
		return;
	}
	for (digits = 1; digits < 9 && a >= pow10[digits]; digits++)
		;
	if (a < 1)
		digits = a >= 0.1 ? 0 : a >= 0.01 ? -1 : -2;
	decimals = 9 - digits;
	scaled = (int64_t)(a * pow10[decimals] + 0.5);
	ip = scaled / (int64_t)pow10[decimals];
	fp = scaled % (int64_t)pow10[decimals];
	if (v < 0)
		strbuf_addch(sb, '-');
	add_int(sb, ip);
	if (!fp)
		return;
	p = buf + sizeof(buf);
	for (int i = 0; i < decimals; i++, fp /= 10)
		*--p = (char)('0' + fp % 10);
	n = (int)(buf + sizeof(buf) - p);
	while (n && p[n - 1] == '0')
		n--;
	strbuf_addch(sb, '.');
	strbuf_add(sb, p, (size_t)n);
}

static void add_num(struct strbuf *sb, double v)
{
	api_format_number(sb, v);
}

static void add_array(struct strbuf *sb, const char *name, const double *a, size_t n)
{
	strbuf_addf(sb, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		add_num(sb, a[i]);
	}
	strbuf_addch(sb, ']');
}

static void add_json_string(struct strbuf *sb, const char *s)
{
	json_t *j = json_string(s);
	char *t = json_dumps(j, JSON_ENCODE_ANY | JSON_ENSURE_ASCII);

	strbuf_addstr(sb, t ? t : "\"\"");
	free(t);
	json_decref(j);
}

/*
 * The reasons the run gave for the flagged points of one series:
 * {detector: {"<ts>": reason}}.  An empty object when they cannot be read
 * (the chart then shows no reason).
 */
static json_t *series_reasons(struct api *api, const char *job, const char *series, int64_t run_id)
{
	json_t *rows = NULL, *out = json_object(), *row;
	size_t i;

	if (api->st->backend->list_anomalies(api->st, job, run_id, API_REASONS_MAX, &rows, NULL))
		return out;
	json_array_foreach(rows, i, row) {
		const char *det = json_string_value(json_object_get(row, "detector"));
		const char *name = json_string_value(json_object_get(row, "series"));
		json_t *reason = json_object_get(row, "reason"), *by;
		char ts[24];

		if (!det || !name || !json_is_string(reason) || strcmp(name, series))
			continue;
		if (!(by = json_object_get(out, det)))
			json_object_set_new(out, det, by = json_object());
		snprintf(ts, sizeof(ts), "%lld", (long long)json_integer_value(json_object_get(row, "ts")));
		json_object_set(by, ts, reason);
	}
	json_decref(rows);
	return out;
}

static enum MHD_Result get_series(struct api *api, struct MHD_Connection *c, const char *job, const char *series)
{
	static const char *const allowed[] = { "from", "to", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct stored_series s;
	struct strbuf sb = STRBUF_INIT;
	int64_t from = INT64_MIN, to = INT64_MAX;
	size_t skip = 0, n;
	const char *bad;
	json_t *reasons;
	int found = 0, first = 1;

	if ((bad = unknown_arg(c, allowed)))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s' (known: from, to)", bad);
	if (time_arg(c, "from", &from))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "from: not a timestamp (ISO 8601 or unix seconds)");
	if (time_arg(c, "to", &to))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "to: not a timestamp (ISO 8601 or unix seconds)");
	if (from > to)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "from is after to");
	if (!valid_name(job) || !*series || strlen(series) > 1024)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no stored series");
	if (api->st->backend->series_get(api->st, job, series, from, to, &s, &found, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	if (!found)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "job '%s' has no stored series '%.200s'", job, series);
	if (s.n > API_SERIES_MAX_POINTS)
		skip = s.n - API_SERIES_MAX_POINTS;
	n = s.n - skip;
	strbuf_grow(&sb, n * 120 + 1024);
	strbuf_addstr(&sb, "{\"job\":");
	add_json_string(&sb, job);
	strbuf_addstr(&sb, ",\"series\":");
	add_json_string(&sb, series);
	strbuf_addf(&sb, ",\"labels\":%s,\"run_id\":", s.labels_json);
	add_int(&sb, s.run_id);
	strbuf_addstr(&sb, ",\"scheduled_for\":");
	add_int(&sb, s.scheduled_ms);
	strbuf_addf(&sb, ",\"points_stored\":%zu,\"n\":%zu,\"truncated\":%s,\"kept\":%s,\"ts\":[", s.n_total, n,
	            skip ? "true" : "false", s.kept ? "true" : "false");
	for (size_t i = skip; i < s.n; i++) {
		if (i > skip)
			strbuf_addch(&sb, ',');
		add_int(&sb, s.ts[i]);
	}
	strbuf_addch(&sb, ']');
	add_array(&sb, "value", s.value + skip, n);
	strbuf_addstr(&sb, ",\"detectors\":[");
	for (size_t k = 0; k < s.n_detectors; k++) {
		strbuf_addstr(&sb, k ? ",{\"id\":" : "{\"id\":");
		add_json_string(&sb, s.det[k].id);
		strbuf_addf(&sb, ",\"shadow\":%s", s.n && s.det[k].flags[0] & STORED_SHADOW ? "true" : "false");
		add_array(&sb, "score", s.det[k].score + skip, n);
		add_array(&sb, "expected", s.det[k].expected + skip, n);
		add_array(&sb, "lower", s.det[k].lower + skip, n);
		add_array(&sb, "upper", s.det[k].upper + skip, n);
		strbuf_addch(&sb, '}');
	}
	strbuf_addstr(&sb, "],\"anomalies\":[");
	reasons = series_reasons(api, job, series, s.run_id);
	for (size_t k = 0; k < s.n_detectors; k++) {
		for (size_t i = skip; i < s.n; i++) {
			const char *reason;
			char key[64];

			if (!(s.det[k].flags[i] & STORED_FLAGGED))
				continue;
			strbuf_addstr(&sb, first ? "{\"ts\":" : ",{\"ts\":");
			first = 0;
			add_int(&sb, s.ts[i]);
			strbuf_addstr(&sb, ",\"value\":");
			add_num(&sb, s.value[i]);
			strbuf_addstr(&sb, ",\"score\":");
			add_num(&sb, s.det[k].score[i]);
			strbuf_addstr(&sb, ",\"detector\":");
			add_json_string(&sb, s.det[k].id);
			strbuf_addf(&sb, ",\"alerted\":%s,\"shadow\":%s,\"reason\":",
			            s.det[k].flags[i] & STORED_ALERTED ? "true" : "false",
			            s.det[k].flags[i] & STORED_SHADOW ? "true" : "false");
			snprintf(key, sizeof(key), "%lld", (long long)s.ts[i]);
			reason = json_string_value(json_object_get(json_object_get(reasons, s.det[k].id), key));
			if (reason)
				add_json_string(&sb, reason);
			else
				strbuf_addstr(&sb, "null");
			strbuf_addch(&sb, '}');
		}
	}
	json_decref(reasons);
	strbuf_addstr(&sb, "]}\n");
	stored_series_release(&s);
	return reply_strbuf(c, MHD_HTTP_OK, "application/json", &sb);
}

static enum MHD_Result get_series_list(struct api *api, struct MHD_Connection *c, const char *job)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *list = NULL;

	if (!valid_name(job))
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no job named '%s'", job);
	if (api->st->backend->series_list(api->st, job, &list, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	rows_api_form(list);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:s, s:o}", "job", job, "series", list));
}

/* ---- feedback on incidents (runner/feedback.h) ----------------------------------- */

static int incident_id_arg(const char *text, int64_t *id)
{
	char *end;
	long long v = strtoll(text, &end, 10);

	if (!*text || *end || v < 1)
		return -1;
	*id = v;
	return 0;
}

static enum MHD_Result get_feedback(struct api *api, struct MHD_Connection *c, const char *id_text)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *rows = NULL;
	int64_t id;

	if (incident_id_arg(id_text, &id))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "'%.40s' is not an incident id", id_text);
	if (!api->st->backend->feedback_list)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "this store keeps no feedback");
	if (api->st->backend->feedback_list(api->st, id, &rows, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:I, s:o}", "incident", (json_int_t)id, "feedback", rows));
}

/* {"verdict": "real"|"false"|"expected", "note": "...", "who": "..."}: note and who optional. */
static enum MHD_Result post_feedback(struct api *api, struct MHD_Connection *c, const char *id_text,
                                     const char *body, size_t len)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_error_t jerr;
	json_t *o, *v;
	const char *verdict, *note = NULL, *who = "api", *key;
	int64_t id, fid = 0;
	int found = 0;
	enum MHD_Result ret;

	if (incident_id_arg(id_text, &id))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "'%.40s' is not an incident id", id_text);
	if (!api->st->backend->feedback_add)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "this store keeps no feedback");
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object {\"verdict\": ..., \"note\": ...}");
	}
	json_object_foreach(o, key, v) {
		if (strcmp(key, "verdict") && strcmp(key, "note") && strcmp(key, "who")) {
			ret = reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown key '%.40s' (known: verdict, note, who)", key);
			json_decref(o);
			return ret;
		}
		if (!json_is_string(v) && !(json_is_null(v) && strcmp(key, "verdict"))) {
			ret = reply_error(c, MHD_HTTP_BAD_REQUEST, "%s: must be a string", key);
			json_decref(o);
			return ret;
		}
	}
	verdict = json_string_value(json_object_get(o, "verdict"));
	if (json_is_string(json_object_get(o, "note")) && *json_string_value(json_object_get(o, "note")))
		note = json_string_value(json_object_get(o, "note"));
	if (json_is_string(json_object_get(o, "who")) && *json_string_value(json_object_get(o, "who")))
		who = json_string_value(json_object_get(o, "who"));
	if (feedback_check(verdict, note, &err) || strlen(who) > FEEDBACK_WHO_MAX ||
	    feedback_check("real", who, &err)) {
		ret = reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", vigil_error_isset(&err) ? err.msg : "who: too long");
		json_decref(o);
		return ret;
	}
	if (api->st->backend->feedback_add(api->st, id, verdict, note, who, time_now_ms(), &fid, &found, &err))
		ret = reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	else if (!found)
		ret = reply_error(c, MHD_HTTP_NOT_FOUND, "no incident %lld", (long long)id);
	else
		ret = reply_json(c, MHD_HTTP_CREATED, json_pack("{s:I, s:I, s:s}", "incident", (json_int_t)id, "id",
		                                                (json_int_t)fid, "verdict", verdict));
	json_decref(o);
	return ret;
}

/* ---- detectors: stats and promote (runner/detector-stats.h, runner/promote.h) ------------ */

/* GET /api/detectors/stats?job=&days=: per job and detector, over the last days (default 30). */
static enum MHD_Result get_detector_stats(struct api *api, struct MHD_Connection *c)
{
	static const char *const allowed[] = { "job", "days", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *job = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "job"), *bad;
	long long days = 30;
	int64_t now = time_now_ms();
	json_t *jobs, *out = json_array(), *j;
	size_t i;

	if ((bad = unknown_arg(c, allowed))) {
		json_decref(out);
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s' (known: job, days)", bad);
	}
	if (int_arg(c, "days", 1, 366, &days)) {
		json_decref(out);
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "days: must be an integer from 1 to 366");
	}
	jobs = serve_jobs_json(api->sv);
	json_array_foreach(jobs, i, j) {
		const char *name = json_string_value(json_object_get(j, "name"));
		json_t *full, *stats = NULL;
		int rc;

		if (job && strcmp(job, name))
			continue;
		full = serve_job_json(api->sv, name);
		rc = detector_stats_job(api->st, name, json_object_get(json_object_get(full, "spec"), "detectors"),
		                        now - days * 86400000LL, now, &stats, &err);
		json_decref(full);
		if (rc) {
			json_decref(jobs);
			json_decref(out);
			return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
		}
		json_array_append_new(out, stats);
	}
	json_decref(jobs);
	if (job && !json_array_size(out)) {
		json_decref(out);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no job named '%.130s'", job);
	}
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:I, s:I, s:o}", "days", (json_int_t)days, "until",
	                                            (json_int_t)now, "jobs", out));
}

/*
 * GET /api/jobs/{job}/promote?detector=&replace= shows the change; POST with
 * {"detector", "replace"} applies it (the spec directory writable and not
 * --specs-read-only), else answers 409 with the diff to apply by hand.
 */
static enum MHD_Result promote_job(struct api *api, struct MHD_Connection *c, const char *name, int apply,
                                   const struct request *rq)
{
	static const char *const allowed[] = { "detector", "replace", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *det, *replace, *file, *key, *base, *bad;
	json_t *job, *body = NULL, *v, *o;
	struct strbuf diff = STRBUF_INIT, shown = STRBUF_INIT;
	char *text = NULL, *promoted = NULL;
	unsigned status = MHD_HTTP_OK;
	int writable;

	if (apply) {
		body = json_loadb(rq->data, rq->body, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(body)) {
			json_decref(body);
			return reply_error(c, MHD_HTTP_BAD_REQUEST, "the body must be a JSON object "
			                   "{\"detector\": ..., \"replace\": ...}");
		}
		json_object_foreach(body, key, v) {
			if ((strcmp(key, "detector") && strcmp(key, "replace")) ||
			    !(json_is_string(v) || (json_is_null(v) && !strcmp(key, "replace")))) {
				o = json_pack("{s:s}", "error", "promote: the body has 'detector' (a string) and 'replace' "
				              "(a string or null) only");
				json_decref(body);
				return reply_json(c, MHD_HTTP_BAD_REQUEST, o);
			}
		}
		det = json_string_value(json_object_get(body, "detector"));
		replace = json_string_value(json_object_get(body, "replace"));
	} else {
		if ((bad = unknown_arg(c, allowed)))
			return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s' (known: detector, replace)", bad);
		det = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "detector");
		replace = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "replace");
		if (replace && !*replace)
			replace = NULL;
	}
	if (!det || !valid_name(det) || (replace && !valid_name(replace))) {
		json_decref(body);
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "detector: a detector id is required (and replace, if given, "
		                   "is one)");
	}
	job = valid_name(name) ? serve_job_json(api->sv, name) : NULL;
	if (!job) {
		json_decref(body);
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no job named '%s'", name);
	}
	file = json_string_value(json_object_get(job, "file"));
	base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
	if (!(text = promote_read(file, &err)) || !(promoted = promote_edit(text, det, replace, &err))) {
		status = err.code == VIGIL_E_USAGE ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_CONFLICT;
		o = json_pack("{s:s}", "error", err.msg);
		goto out;
	}
	promote_diff(base, text, promoted, &diff);
	promote_redact(strbuf_str(&diff), &shown);
	writable = serve_specs_writable(api->sv) && promote_writable(file);
	o = json_pack("{s:s, s:s, s:o, s:s, s:b, s:s}", "job", name, "detector", det, "replaces",
	              replace ? json_string(replace) : json_null(), "file", base, "writable", writable, "diff",
	              strbuf_str(&shown));
	if (!apply)
		goto out;
	if (!writable) {
		status = MHD_HTTP_CONFLICT;
		json_object_set_new(o, "error", json_string(serve_specs_writable(api->sv)
		                    ? "the spec directory is not writable by vigil serve: apply the diff by hand"
		                    : "vigil serve runs with --specs-read-only: apply the diff by hand"));
	} else if (promote_write(file, promoted, serve_registry(api->sv), &err)) {
		status = err.code == VIGIL_E_SPEC ? MHD_HTTP_UNPROCESSABLE_CONTENT : MHD_HTTP_CONFLICT;
		json_object_set_new(o, "error", json_string(err.msg));
	} else {
		log_info("api", "job '%s': detector '%s' promoted%s%s in '%s'", name, det, replace ? ", replacing " : "",
		         replace ? replace : "", file);
		json_object_set_new(o, "applied", json_true());
		serve_rescan_soon(api->sv);
	}
out:
	free(text);
	free(promoted);
	strbuf_release(&diff);
	strbuf_release(&shown);
	json_decref(job);
	json_decref(body);
	return reply_json(c, status, o);
}

/* ---- routing --------------------------------------------------------------------- */

/* Does the request carry the operator's token, or is it allowed without one? */
static enum MHD_Result refuse_mutation(struct api *api, struct MHD_Connection *c, int *refused)
{
	const char *auth = NULL;
	size_t auth_len = 0;

	/* with its length: "Bearer TOKEN\0junk" is not the token */
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
	                                  strlen(MHD_HTTP_HEADER_AUTHORIZATION), &auth, &auth_len) != MHD_YES)
		auth = NULL;
	*refused = 1;
	if (!api->token) {
		if (api->loopback) {
			*refused = 0;
			return MHD_YES;
		}
		return reply_error(c, MHD_HTTP_FORBIDDEN, "mutating calls are refused: no API token is configured "
		                   "and the API is not bound to loopback");
	}
	if (!auth || !api_bearer_matches(auth, auth_len, api->token))
		return reply_error(c, MHD_HTTP_UNAUTHORIZED, "a valid bearer token is required");
	*refused = 0;
	return MHD_YES;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *allow)
{
	char *body = xasprintf("{\"error\":\"method not allowed (use %s)\"}\n", allow);
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Allow", allow);
	ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- incidents (runner/incident.h) -------------------------------------------- */

/* GET /api/incidents?job=&all=1&since=&limit=: open ones and those that ended since `since` (default: 7 days). */
static enum MHD_Result get_incidents(struct api *api, struct MHD_Connection *c)
{
	static const char *const allowed[] = { "job", "all", "since", "limit", NULL };
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct incident_filter f = { .job = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "job") };
	long long limit = 100, all = 0;
	struct incident *incs = NULL;
	size_t n = 0;
	json_t *arr;
	const char *bad;

	if ((bad = unknown_arg(c, allowed)))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s' (known: job, all, since, limit)", bad);
	if (f.job && !valid_name(f.job))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "job: not a job name");
	if (int_arg(c, "all", 0, 1, &all))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "all: must be 0 or 1");
	if (int_arg(c, "limit", 1, API_LIMIT_MAX, &limit))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "limit: must be an integer from 1 to %d", API_LIMIT_MAX);
	f.since_ms = time_now_ms() - 7LL * 24 * 3600 * 1000;
	if (time_arg(c, "since", &f.since_ms))
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "since: not a timestamp (ISO-8601 or unix seconds)");
	f.all = (int)all;
	f.limit = (size_t)limit;
	if (!api->st->backend->incidents)
		return reply_error(c, MHD_HTTP_NOT_IMPLEMENTED, "this store keeps no incidents");
	if (api->st->backend->incidents->list(api->st, &f, &incs, &n, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, incident_json(&incs[i]));
	incidents_free(incs, n);
	return reply_json(c, MHD_HTTP_OK, json_pack("{s:o}", "incidents", arr));
}

static enum MHD_Result get_incident(struct api *api, struct MHD_Connection *c, const char *id_text)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *end;
	long long id = strtoll(id_text, &end, 10);
	struct incident inc;
	int found = 0;
	json_t *o, *hints;

	if (!*id_text || *end || id < 1)
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "'%.40s' is not an incident id", id_text);
	if (!api->st->backend->incidents)
		return reply_error(c, MHD_HTTP_NOT_IMPLEMENTED, "this store keeps no incidents");
	if (api->st->backend->incidents->get(api->st, id, &inc, &found, &err))
		return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err.msg);
	if (!found)
		return reply_error(c, MHD_HTTP_NOT_FOUND, "no incident %lld", id);
	o = incident_json(&inc);
	hints = incident_hints(api->st, &inc);
	json_object_set_new(o, "hints", hints ? hints : json_null());
	incident_release(&inc);
	if (api->st->backend->feedback_list) {
		json_t *fb = NULL;

		if (!api->st->backend->feedback_list(api->st, id, &fb, &err))
			json_object_set_new(o, "feedback", fb);
		else
			log_warn("api", "incident %lld: feedback: %s", id, err.msg);
	}
	return reply_json(c, MHD_HTTP_OK, o);
}

/* The per-job incident gauges of /metrics (nothing when the store cannot be read). */
static void metrics_incidents(struct api *api, struct strbuf *sb)
{
	json_t *jobs = NULL;

	if (api->st->backend->incidents && !api->st->backend->incidents->job_summary(api->st, &jobs, NULL))
		metrics_render_jobs(jobs, sb);
	json_decref(jobs);
}

/* /api/incidents and /api/incidents/{id}. */
static enum MHD_Result route_incidents(struct api *api, struct MHD_Connection *c, const char *url, int get)
{
	if (!get)
		return method_not_allowed(c, "GET");
	if (!strcmp(url, "/api/incidents"))
		return get_incidents(api, c);
	if (!strncmp(url, "/api/incidents/", 15))
		return get_incident(api, c, url + 15);
	return reply_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint");
}

static enum MHD_Result route(struct api *api, struct MHD_Connection *c, const char *url, const char *method,
                             struct request *rq)
{
	int get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST"), refused;
	static const char *const no_args[] = { NULL };
	const char *rest, *bad;
	struct strbuf sb = STRBUF_INIT;

	if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz") || !strcmp(url, "/metrics")) {
		if (!get)
			return method_not_allowed(c, "GET");
		if (!strcmp(url, "/healthz")) {
			strbuf_addstr(&sb, "ok\n");
			return reply_strbuf(c, MHD_HTTP_OK, "text/plain; charset=utf-8", &sb);
		}
		if (!strcmp(url, "/readyz")) {
			int ready = serve_ready(api->sv);

			strbuf_addstr(&sb, ready ? "ready\n" : "not ready\n");
			return reply_strbuf(c, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			                    "text/plain; charset=utf-8", &sb);
		}
		metrics_render(serve_metrics(api->sv), &sb);
		metrics_incidents(api, &sb);
		return reply_strbuf(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &sb);
	}
	if (!strcmp(url, "/api/jobs")) {
		if (!get)
			return method_not_allowed(c, "GET");
		if ((bad = unknown_arg(c, no_args)))
			return reply_error(c, MHD_HTTP_BAD_REQUEST, "unknown parameter '%s'", bad);
		return get_jobs(api, c);
	}
	if (!strncmp(url, "/api/jobs/", 10)) {
		const char *slash;

		rest = url + 10;
		slash = strchr(rest, '/');
		if (slash && !strcmp(slash, "/promote")) {
			char name[130];

			snprintf(name, sizeof(name), "%.*s", (int)(slash - rest) > 129 ? 129 : (int)(slash - rest), rest);
			if (get)
				return promote_job(api, c, name, 0, rq);
			if (!post)
				return method_not_allowed(c, "GET, POST");
			{
				enum MHD_Result r = refuse_mutation(api, c, &refused);

				if (refused)
					return r;
			}
			return promote_job(api, c, name, 1, rq);
		}
		if (slash && !strcmp(slash, "/run")) {
			char name[130];

			if (!post)
				return method_not_allowed(c, "POST");
			{
				enum MHD_Result r = refuse_mutation(api, c, &refused);

				if (refused)
					return r;
			}
			snprintf(name, sizeof(name), "%.*s", (int)(slash - rest) > 129 ? 129 : (int)(slash - rest), rest);
			return post_run(api, c, name);
		}
		if (slash)
			return reply_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint");
		if (!get)
			return method_not_allowed(c, "GET");
		return get_job(api, c, rest);
	}
	if (!strcmp(url, "/api/detectors/stats")) {
		if (!get)
			return method_not_allowed(c, "GET");
		return get_detector_stats(api, c);
	}
	if (!strcmp(url, "/api/runs")) {
		if (post) {
			enum MHD_Result r = refuse_mutation(api, c, &refused);

			if (refused)
				return r;
			return post_adhoc(api, c, rq->big ? rq->big : rq->data, rq->body);
		}
		if (!get)
			return method_not_allowed(c, "GET, POST");
		return get_runs(api, c);
	}
	if (!strncmp(url, "/api/runs/", 10)) {
		if (!get)
			return method_not_allowed(c, "GET");
		return get_run(api, c, url + 10, rq);
	}
	if (!strcmp(url, "/api/anomalies")) {
		if (!get)
			return method_not_allowed(c, "GET");
		return get_anomalies(api, c);
	}
	if (!strncmp(url, "/api/incidents/", 15) && (rest = strchr(url + 15, '/')) && !strcmp(rest, "/feedback")) {
		char id[24];

		snprintf(id, sizeof(id), "%.*s", (int)(rest - url - 15) > 23 ? 23 : (int)(rest - url - 15), url + 15);
		if (get)
			return get_feedback(api, c, id);
		if (!post)
			return method_not_allowed(c, "GET, POST");
		{
			enum MHD_Result r = refuse_mutation(api, c, &refused);

			if (refused)
				return r;
		}
		return post_feedback(api, c, id, rq->data, rq->body);
	}
	if (!strncmp(url, "/api/incidents", 14))
		return route_incidents(api, c, url, get);
	if (!strncmp(url, "/api/series/", 12)) {
		const char *slash;
		char job[130];

		if (!get)
			return method_not_allowed(c, "GET");
		rest = url + 12;
		slash = strchr(rest, '/');
		if (!slash)
			return get_series_list(api, c, rest);
		snprintf(job, sizeof(job), "%.*s", (int)(slash - rest) > 129 ? 129 : (int)(slash - rest), rest);
		return get_series(api, c, job, slash + 1);
	}
	{
		enum MHD_Result r;

		if (ui_handle(c, url, method, &r))
			return r;
	}
	return reply_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
	struct api *api = cls;
	struct request *rq = *con_cls;

	(void)version;
	if (!rq)
		*con_cls = rq = XNEW(struct request);
	if (!rq->started) {
		rq->started = 1;
		/* a job spec is larger than other bodies (runner/adhoc.h) */
		rq->cap = !strcmp(method, "POST") && !strcmp(url, "/api/runs") ? ADHOC_SPEC_MAX : API_BODY_MAX;
		return MHD_YES;
	}
	if (*upload_data_size) {
		if (rq->body + *upload_data_size <= rq->cap) {
			if (rq->cap > API_BODY_MAX && !rq->big)
				rq->big = xmalloc(rq->cap + 1);
			memcpy((rq->big ? rq->big : rq->data) + rq->body, upload_data, *upload_data_size);
		}
		rq->body += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	api_guard_request_read(c);
	if (rq->target_error[0])
		return reply_error(c, MHD_HTTP_BAD_REQUEST, "%s", rq->target_error);
	if (rq->body > rq->cap)
		return reply_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body larger than %zu bytes%s", rq->cap,
		                   rq->cap > API_BODY_MAX ? " (the largest job spec accepted)" : "");
	(rq->big ? rq->big : rq->data)[rq->body] = '\0';
	return route(api, c, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)toe;
	api_guard_request_done(c);
	if (*con_cls)
		free(((struct request *)*con_cls)->big);
	free(*con_cls);
	*con_cls = NULL;
}

/* Sees the raw request target before libmicrohttpd decodes it; the result becomes *con_cls. */
static void *check_target(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct request *rq = XNEW(struct request);

	(void)cls;
	(void)c;
	api_target_check(uri, strlen(uri), rq->target_error, sizeof(rq->target_error));
	return rq;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct api *api = cls;
	char msg[512], esc[600];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* a client can make libmicrohttpd complain at will: rate-limited */
	api_guard_warn(api->guard, log_escape(esc, sizeof(esc), msg));
}

struct api *api_start(const struct api_config *cfg, struct serve *sv, struct vigil_error *err)
{
	struct api *api = XNEW(struct api);
	struct sockaddr_in a4;
	struct sockaddr_in6 a6;
	struct sockaddr *addr;
	const union MHD_DaemonInfo *info;
	char host[64];
	unsigned port, flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

	if (api_parse_listen(cfg->listen, host, sizeof(host), &port, &api->loopback, err))
		goto fail;
	if (strchr(host, ':')) {
		memset(&a6, 0, sizeof(a6));
		a6.sin6_family = AF_INET6;
		a6.sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &a6.sin6_addr);
		addr = (struct sockaddr *)&a6;
		flags |= MHD_USE_IPv6;
	} else {
		memset(&a4, 0, sizeof(a4));
		a4.sin_family = AF_INET;
		a4.sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &a4.sin_addr);
		addr = (struct sockaddr *)&a4;
	}
	api->sv = sv;
	api->token = cfg->token ? xstrdup(cfg->token) : NULL;
	if (!api->token && !api->loopback)
		log_warn("api", "listening on '%s' without a token: mutating calls are refused (set --token-file or "
		         "VIGIL_API_TOKEN)", cfg->listen);
	api->st = store_open(cfg->store_path, err);
	if (!api->st)
		goto fail;
	api->guard = api_guard_new(API_REQUEST_DEADLINE_MS);
	api->wait = api_wait_new(API_WAITERS_MAX, API_WAIT_POLL_MS);
	api->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, api,
	                            MHD_OPTION_EXTERNAL_LOGGER, mhd_log, api,
	                            MHD_OPTION_SOCK_ADDR, addr,
	                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_CONNECTIONS,
	                            MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)API_PER_IP_CONNECTIONS,
	                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
	                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
	                            MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                            MHD_OPTION_NOTIFY_CONNECTION, api_guard_notify, api->guard,
	                            MHD_OPTION_URI_LOG_CALLBACK, check_target, NULL,
	                            MHD_OPTION_END);
	if (!api->mhd) {
		vigil_error_set(err, VIGIL_E_IO, "cannot listen on '%s' (address in use, or not local?)", cfg->listen);
		goto fail;
	}
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (info && info->port)
		port = info->port;
	if (strchr(host, ':'))
		snprintf(api->address, sizeof(api->address), "[%s]:%u", host, port);
	else
		snprintf(api->address, sizeof(api->address), "%s:%u", host, port);
	return api;
fail:
	api_wait_stop(api->wait);
	api_wait_free(api->wait);
	api_guard_free(api->guard);
	store_close(api->st);
	free(api->token);
	free(api);
	return NULL;
}

void api_stop(struct api *api)
{
	if (!api)
		return;
	api_wait_stop(api->wait);
	MHD_stop_daemon(api->mhd);
	api_wait_free(api->wait);
	api_guard_free(api->guard);
	store_close(api->st);
	if (api->token)
		memset(api->token, 0, strlen(api->token));
	free(api->token);
	free(api);
}

const char *api_address(const struct api *api)
{
	return api->address;
}

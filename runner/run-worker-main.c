/*
 * run-worker-main.c - the worker's side of run-worker.h: `vigil serve
 * --worker` runs the requests read on its stdin, one after another, keeping
 * its store connection and loaded plugins; nothing else of a run outlives it.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adhoc.h"
#include "exec-detector.h"
#include "job.h"
#include "log.h"
#include "notify.h"
#include "plugin.h"
#include "spec.h"
#include "store.h"
#include "pushed.h"
#include "run-worker.h"
#include "fdio.h"
#include "xmalloc.h"
#include "banned.h"

/* The largest request a worker reads (a spec is at most 1 MiB, see serve.c). */
#define REQUEST_MAX (4 * 1024 * 1024)

struct collect {
	struct stored_series *items;
	size_t n, alloc;
	size_t dropped;            /* series beyond STORE_SERIES_MAX_PER_JOB */
	json_t *detector_seconds;  /* detector name -> seconds */
};

static double *copy_doubles(const double *src, size_t from, size_t n)
{
	double *d = xmalloc((n ? n : 1) * sizeof(double));

	if (n)
		memcpy(d, src + from, n * sizeof(double));
	return d;
}

/* job_run's per-series callback: keep what GET /api/series will serve, time the detectors. */
static void collect_series(void *arg, const struct job_spec *spec, const struct series *s,
                           struct detection *const *dets, const uint8_t *alerted)
{
	struct collect *c = arg;
	struct stored_series *out;
	size_t from = s->n > STORE_SERIES_MAX_POINTS ? s->n - STORE_SERIES_MAX_POINTS : 0, n = s->n - from, k2 = 0;

	for (size_t k = 0; k < spec->n_detectors; k++) {
		const char *name = spec->detectors[k].detector;
		double t;

		if (!dets[k])
			continue;
		t = json_real_value(json_object_get(c->detector_seconds, name));
		json_object_set_new(c->detector_seconds, name, json_real(t + dets[k]->elapsed_s));
	}
	if (c->n == STORE_SERIES_MAX_PER_JOB) {
		c->dropped++;
		return;
	}
	if (c->n == c->alloc) {
		c->alloc = c->alloc ? c->alloc * 2 : 16;
		c->items = xreallocarray(c->items, c->alloc, sizeof(*c->items));
	}
	out = &c->items[c->n++];
	memset(out, 0, sizeof(*out));
	out->series = xstrdup(s->name);
	out->labels_json = series_labels_json(s);
	out->n = n;
	out->ts = xmalloc((n ? n : 1) * sizeof(int64_t));
	if (n)
		memcpy(out->ts, s->ts + from, n * sizeof(int64_t));
	out->value = copy_doubles(s->v, from, n);
	out->det = xcalloc(spec->n_detectors ? spec->n_detectors : 1, sizeof(*out->det));
	for (size_t k = 0; k < spec->n_detectors; k++) {
		const struct vigil_result *r;
		struct stored_detector *d;

		if (!dets[k])
			continue;
		r = &dets[k]->r;
		d = &out->det[k2++];
		d->id = xstrdup(spec->detectors[k].id);
		d->score = copy_doubles(r->score, from, n);
		d->expected = copy_doubles(r->expected, from, n);
		d->lower = copy_doubles(r->lower, from, n);
		d->upper = copy_doubles(r->upper, from, n);
		d->flags = xcalloc(n ? n : 1, 1);
		for (size_t i = 0; i < n; i++)
			d->flags[i] = (r->anomaly[from + i] ? STORED_FLAGGED : 0) |
			              (alerted[from + i] && spec->detectors[k].mode == MODE_ALERT ? STORED_ALERTED : 0) |
			              (spec->detectors[k].mode == MODE_SHADOW ? STORED_SHADOW : 0);
	}
	out->n_detectors = k2;
}

/* job_run's results(): an ad-hoc run's series, scores and flags, stored with the run. */
static char *collect_results(void *arg)
{
	struct collect *c = arg;

	return adhoc_results_text(c->items, c->n, c->dropped);
}

static void collect_release(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		stored_series_release(&c->items[i]);
	free(c->items);
	json_decref(c->detector_seconds);
}

/*
 * Wait for the next request on stdin.  Returns 1 when one is there (or
 * the end of input, which reading then finds), -1 on error.
 */
static int wait_request(void)
{
	struct pollfd pfd = { .fd = 0, .events = POLLIN };

	for (;;) {
		int n = poll(&pfd, 1, -1);

		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/*
 * Read one request line.  Returns it (free it), or NULL with *eof set at
 * the end of input, or NULL on an error (too long, a read error, bytes past
 * the line: the daemon sends one request at a time).
 */
static char *read_request(int *eof)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	ssize_t n;

	*eof = 0;
	for (;;) {
		const char *nl;

		n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 && !sb.len)
			*eof = 1;
		if (n <= 0 || sb.len + (size_t)n > REQUEST_MAX)
			break;
		nl = memchr(buf, '\n', (size_t)n);
		strbuf_add(&sb, buf, nl ? (size_t)(nl - buf) : (size_t)n);
		if (nl && nl + 1 == buf + n)
			return strbuf_detach(&sb);
		if (nl)
			break;
	}
	strbuf_release(&sb);
	return NULL;
}

static void write_result(json_t *res)
{
	char *text = json_dumps(res, JSON_COMPACT);

	if (text) {
		fd_write_all(3, text, strlen(text));
		fd_write_all(3, "\n", 1);
	}
	free(text);
}

/* Did this node's completion land?  (It does not when the lease was lost.) */
static int completion_landed(struct store *st, int64_t run_id, const char *node)
{
	json_t *run = NULL;
	const char *state, *holder;
	int ok;

	if (st->backend->run_get(st, run_id, &run, NULL) || !run)
		return 0;
	state = json_string_value(json_object_get(run, "state"));
	holder = json_string_value(json_object_get(run, "locked_by"));
	ok = state && holder && (!strcmp(state, "succeeded") || !strcmp(state, "failed")) && !strcmp(holder, node);
	json_decref(run);
	return ok;
}

/*
 * Deliver the run's immediate notifications (stdout).  Slack and webhook
 * messages are not sent here: job_run wrote them to the outbox in the run's
 * fenced completion, keyed by (job, scheduled time, target), so a run
 * executed twice never notifies twice; the daemon's sender delivers them.
 */
static void notify_run(const struct job_spec *spec, const struct run_report *rep, int dry_run, json_int_t *sent,
                       json_int_t *failed)
{
	struct notify_ctx nctx = { .out = stdout, .dry_run = dry_run, .spec_dir = spec->dir };

	for (size_t i = 0; i < spec->n_notify; i++) {
		struct vigil_error err = VIGIL_ERROR_INIT;

		if (!spec->notify[i].type->send)
			continue;   /* queued: job_run wrote its message to the outbox with the run; the daemon sends it */
		if (spec->notify[i].type->send(spec->notify[i].cfg, rep, &nctx, &err)) {
			log_error("notify", "job '%s': notify[%zu] (%s): %s", spec->name, i, spec->notify[i].type->name,
			          err.msg);
			(*failed)++;
		} else {
			(*sent)++;
		}
	}
}

/* What a worker keeps from one run to the next. */
struct worker_keep {
	struct registry *reg;      /* plugins loaded so far */
	struct store *st;
	char *store_path;
	char *node;
};

/*
 * Open the store and the registry for a request (the first one, or after
 * the daemon changed them).  Returns 0, or -1 with err set.
 */
static int keep_ready(struct worker_keep *k, json_t *rq, struct vigil_error *err)
{
	const char *store = json_string_value(json_object_get(rq, "store"));
	const char *node = json_string_value(json_object_get(rq, "node"));
	const char *dirs[64];
	size_t n_dirs = 0, i;
	json_t *v;

	if (k->st && (strcmp(k->store_path, store) || strcmp(k->node, node))) {
		store_close(k->st);
		k->st = NULL;
	}
	if (k->st) {
		int64_t t;

		/*
		 * The connection may have died while the worker was idle (the
		 * server restarted): a round trip finds out, and the next one
		 * reconnects, before the run depends on it.
		 */
		if (k->st->backend->now(k->st, &t, NULL) && k->st->backend->now(k->st, &t, err))
			return -1;
	}
	if (!k->reg) {
		json_array_foreach(json_object_get(rq, "plugin_dirs"), i, v)
			if (json_is_string(v) && n_dirs < 64)
				dirs[n_dirs++] = json_string_value(v);
		k->reg = registry_new();
		registry_add_default(k->reg, dirs, n_dirs);
	}
	if (!k->st) {
		free(k->store_path);
		free(k->node);
		k->store_path = xstrdup(store);
		k->node = xstrdup(node);
		k->st = store_open(store, err);
		if (!k->st)
			return -1;
		k->st->node = k->node;
	}
	return 0;
}

static void keep_release(struct worker_keep *k)
{
	store_close(k->st);
	registry_free(k->reg);
	free(k->store_path);
	free(k->node);
	memset(k, 0, sizeof(*k));
}

/*
 * A plugin file changed on disk since this worker loaded its plugins: run
 * the next request in a fresh image of vigil (same pid, same pipes; the
 * request is still unread on stdin), so it loads the new file.
 */
static void reexec(struct worker_keep *k)
{
	char *const argv[] = { (char *)"vigil", (char *)"serve", (char *)"--worker", NULL };
	extern char **environ;

	log_info("worker", "a plugin file changed since this worker loaded its plugins: starting afresh for the next run");
	keep_release(k);
	fflush(NULL);
	execve("/proc/self/exe", argv, environ);
	log_error("worker", "cannot start afresh after a plugin changed: %s", strerror(errno));
	_exit(3);
}

/* One run.  Returns 0 or 1 (the run failed), or 3 with no result written (bad request, no store). */
static int run_request(struct worker_keep *k, json_t *rq)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct collect col = { .detector_seconds = json_object() };
	json_t *res = json_object();
	struct registry *reg;
	struct job_spec *spec = NULL;
	struct store *st;
	struct run_report rep;
	struct job_options opt = { 0 };
	struct notify_ctx nctx;
	const char *node;
	json_int_t sent = 0, failed = 0;
	int rc = 0, landed, adhoc;
	struct diag d;

	memset(&rep, 0, sizeof(rep));
	if (!json_is_object(rq) || !json_is_string(json_object_get(rq, "spec")) ||
	    !json_is_string(json_object_get(rq, "node")) || !json_is_string(json_object_get(rq, "store"))) {
		log_error("worker", "bad request on standard input");
		rc = 3;
		goto out;
	}
	if (keep_ready(k, rq, &err)) {
		log_error("worker", "%s", err.msg);
		rc = 3;
		goto out;
	}
	reg = k->reg;
	st = k->st;
	node = k->node;
	adhoc = json_is_true(json_object_get(rq, "adhoc"));
	/* a pushed detector is resolved when the spec is parsed: each run uses the latest version */
	reg->pushed = pushed_new(json_string_value(json_object_get(rq, "state")), NULL, node);
	pushed_use_store(reg->pushed, st);
	opt.run_id = json_integer_value(json_object_get(rq, "run_id"));
	opt.scheduled_ms = json_integer_value(json_object_get(rq, "scheduled_ms"));
	opt.window_from_ms = json_integer_value(json_object_get(rq, "window_from_ms"));
	diag_init(&d, json_string_value(json_object_get(rq, "spec_path")));
	spec = spec_parse(json_string_value(json_object_get(rq, "spec")),
	                  json_string_value(json_object_get(rq, "spec_dir")), reg, &d);
	if (!spec) {
		/* the daemon validated this text; a plugin may have gone since */
		int done;

		json_object_set_new(res, "state", json_string("failed"));
		json_object_set_new(res, "error", json_string(d.n ? d.msgs[0] : "invalid spec"));
		st->backend->run_release(st, opt.run_id, node, "failed", d.n ? d.msgs[0] : "invalid spec", &done, NULL);
		diag_release(&d);
		rc = 1;
		goto done;
	}
	diag_release(&d);
	opt.store = st;
	nctx = (struct notify_ctx){ .out = stdout, .dry_run = json_is_true(json_object_get(rq, "dry_run")),
	                            .spec_dir = spec->dir, .skip_immediate = 1 };
	opt.notify = &nctx;   /* queued targets: decided and written to the outbox with the run */
	opt.on_series = collect_series;
	opt.arg = &col;
	if (adhoc) {
		/* nobody is notified; the results stay with the run (runner/adhoc.h) */
		opt.notify = NULL;
		opt.adhoc = 1;
		opt.results = collect_results;
	}
	rc = job_run(spec, &opt, &rep, &err) ? 1 : 0;
	landed = completion_landed(st, opt.run_id, node);
	json_object_set_new(res, "lost", json_boolean(!landed));
	if (!landed) {
		log_warn("worker", "job '%s': run %lld: the claim was lost; results and notifications dropped",
		         spec->name, (long long)opt.run_id);
	} else {
		if (!rep.failed && !adhoc && st->backend->series_put(st, spec->name, opt.run_id, opt.scheduled_ms, col.items,
		                                           col.n, &err))
			log_warn("worker", "job '%s': %s", spec->name, err.msg);
		if (col.dropped)
			log_warn("worker", "job '%s': %zu series beyond %d not kept for the API", spec->name, col.dropped,
			         STORE_SERIES_MAX_PER_JOB);
		if (!adhoc)
			notify_run(spec, &rep, json_is_true(json_object_get(rq, "dry_run")), &sent, &failed);
	}
	json_object_set_new(res, "state", json_string(rep.failed ? "failed" : "succeeded"));
	json_object_set_new(res, "outcome", rep.failed ? json_null()
	                    : json_string(rep.no_data ? "no_data" : rep.n_alerts ? "anomalies" : "clean"));
	json_object_set_new(res, "error", rep.error ? json_string(rep.error) : json_null());
	json_object_set_new(res, "series", json_integer((json_int_t)rep.n_series));
	json_object_set_new(res, "points", json_integer((json_int_t)rep.n_points));
	json_object_set_new(res, "alerts", json_integer((json_int_t)rep.n_alerts));
	json_object_set_new(res, "failed_series", json_integer((json_int_t)rep.n_failures));
	json_object_set_new(res, "source", json_string(spec->source_type->name));
	json_object_set_new(res, "source_error", json_boolean(rep.failed && rep.error &&
	                                                      !strncmp(rep.error, "source", 6)));
	json_object_set(res, "detector_seconds", col.detector_seconds);
	json_object_set_new(res, "notify_sent", json_integer(sent));
	json_object_set_new(res, "notify_failed", json_integer(failed));
done:
	/*
	 * Nothing of this run outlives it but the store connection and the
	 * loaded plugins: its spec (and its isolated plugins' workers), its
	 * external detectors' workers and the pushed detectors' view go now,
	 * and what it printed is out before the daemon hears it ended.
	 */
	spec_free(spec);
	spec = NULL;
	exec_table_free(reg->execs);
	reg->execs = NULL;
	pushed_free(reg->pushed);
	reg->pushed = NULL;
	fflush(stdout);
	write_result(res);
out:
	json_decref(res);
	run_report_release(&rep);
	collect_release(&col);
	spec_free(spec);
	return rc;
}

int worker_main(void)
{
	struct worker_keep keep = { NULL, NULL, NULL, NULL };
	int rc = 0;

	for (;;) {
		char *text;
		json_t *rq;
		int eof;

		if (wait_request() < 0) {
			log_error("worker", "waiting for a request: %s", strerror(errno));
			rc = 3;
			break;
		}
		if (keep.reg && registry_stale(keep.reg))
			reexec(&keep);
		text = read_request(&eof);
		if (!text) {
			if (!eof) {
				log_error("worker", "bad request on standard input");
				rc = 3;
			}
			break;
		}
		rq = json_loads(text, 0, NULL);
		free(text);
		rc = run_request(&keep, rq);
		json_decref(rq);
		if (rc == 3)
			break;
	}
	keep_release(&keep);
	return rc == 3 ? 3 : 0;
}

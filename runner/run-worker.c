/*
 * run-worker.c - a claimed run in a child process: spawning it (the daemon's
 * side) and running it (the child's side, `vigil serve --worker`).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adhoc.h"
#include "job.h"
#include "log.h"
#include "notify.h"
#include "plugin.h"
#include "spec.h"
#include "store.h"
#include "pushed.h"
#include "run-worker.h"
#include "xmalloc.h"
#include "banned.h"

extern char **environ;

/* The largest request a worker reads (a spec is at most 1 MiB, see serve.c). */
#define REQUEST_MAX (4 * 1024 * 1024)

/* ---- the daemon's side ------------------------------------------------------ */

static json_t *request_json(const struct worker_request *req)
{
	json_t *dirs = json_array();

	for (size_t i = 0; i < req->n_plugin_dirs; i++)
		json_array_append_new(dirs, json_string(req->plugin_dirs[i]));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b, s:o, s:s?}",
	                 "spec", req->spec_text, "spec_path", req->spec_path, "spec_dir", req->spec_dir,
	                 "store", req->store_path, "node", req->node, "run_id", (json_int_t)req->run_id,
	                 "scheduled_ms", (json_int_t)req->scheduled_ms,
	                 "window_from_ms", (json_int_t)req->window_from_ms, "dry_run", req->dry_run,
	                 "adhoc", req->adhoc, "plugin_dirs", dirs, "state", req->state_dir);
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* In the child between fork and exec: async-signal-safe calls only, no logging. */
static void child_exec(const char *exe, char *const argv[], int in_fd, int result_fd, int status_fd)
{
	struct rlimit no_core = { 0, 0 };
	struct sigaction dfl;
	sigset_t none;
	int err;

	setpgid(0, 0);
	/*
	 * A worker whose daemon died (kill -9) stops too: nothing renews its
	 * claim any more, and another node re-runs the run after the lease.
	 */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	setrlimit(RLIMIT_CORE, &no_core);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* out of the way first, so no dup2 below clobbers another pipe */
	in_fd = fcntl(in_fd, F_DUPFD, 100);
	result_fd = fcntl(result_fd, F_DUPFD, 100);
	status_fd = fcntl(status_fd, F_DUPFD, 100);
	if (in_fd < 0 || result_fd < 0 || status_fd < 0)
		goto fail;
	if (dup2(in_fd, 0) < 0 || dup2(result_fd, 3) < 0 || dup2(status_fd, 4) < 0)
		goto fail;
	status_fd = 4;
	/* keep 0-2, the result pipe on 3; the exec-status pipe (close-on-exec) on 4 */
	if (fcntl(4, F_SETFD, FD_CLOEXEC) < 0)
		goto fail;
	for (int fd = 5; fd < 1024; fd++)
		close(fd);
	execve(exe, argv, environ);
fail:
	err = errno;
	if (write(status_fd >= 0 ? status_fd : 4, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(127);
}

int worker_spawn(const char *exe, const struct worker_request *req, struct worker *w, struct vigil_error *err)
{
	char *const argv[] = { (char *)exe, (char *)"serve", (char *)"--worker", NULL };
	int in[2] = { -1, -1 }, res[2] = { -1, -1 }, status[2] = { -1, -1 };
	json_t *rq = request_json(req);
	char *text = json_dumps(rq, JSON_COMPACT);
	pid_t pid;

	json_decref(rq);
	memset(w, 0, sizeof(*w));
	w->result_fd = w->status_fd = -1;
	w->result = (struct strbuf)STRBUF_INIT;
	if (!text)
		return vigil_error_set(err, VIGIL_E_INTERNAL, "cannot encode the worker request");
	if (pipe2(in, O_CLOEXEC) || pipe2(res, O_CLOEXEC) || pipe2(status, O_CLOEXEC)) {
		vigil_error_set(err, VIGIL_E_IO, "cannot create pipes for a worker: %s", strerror(errno));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		vigil_error_set(err, VIGIL_E_IO, "cannot fork a worker: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child_exec(exe, argv, in[0], res[1], status[1]);
	/* also in the parent, so signalling the group works even before the child ran */
	setpgid(pid, pid);
	close(in[0]);
	close(res[1]);
	close(status[1]);
	in[0] = res[1] = status[1] = -1;
	/*
	 * Not waited for: the loop would stall until the child is scheduled and
	 * has exec'd (most of a dispatch under load, docs/benchmarks.md).  A
	 * failed exec shows when the worker is reaped (worker_exec_errno()).
	 */
	fcntl(status[0], F_SETFL, fcntl(status[0], F_GETFL) | O_NONBLOCK);
	/* the worker reads the whole request at once; SIGPIPE is ignored by the daemon */
	if (write_all(in[1], text, strlen(text)))
		log_warn("worker", "cannot send the request to worker %ld: %s", (long)pid, strerror(errno));
	close(in[1]);
	in[1] = -1;
	fcntl(res[0], F_SETFL, fcntl(res[0], F_GETFL) | O_NONBLOCK);
	w->pid = pid;
	w->result_fd = res[0];
	w->status_fd = status[0];
	free(text);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (res[i] >= 0)
			close(res[i]);
		if (status[i] >= 0)
			close(status[i]);
	}
	free(text);
	return -1;
}

int worker_read(struct worker *w)
{
	char buf[8192];

	if (w->result_fd < 0)
		return 1;
	for (;;) {
		ssize_t n = read(w->result_fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			close(w->result_fd);
			w->result_fd = -1;
			return 1;
		}
		if (w->result.len + (size_t)n <= WORKER_RESULT_MAX)
			strbuf_add(&w->result, buf, (size_t)n);
	}
}

json_t *worker_result(const struct worker *w)
{
	json_t *o;

	if (!w->result.len)
		return NULL;
	o = json_loads(strbuf_str(&w->result), 0, NULL);
	if (o && !json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int worker_exec_errno(struct worker *w)
{
	int child_errno = 0;
	ssize_t n;

	if (w->status_fd < 0)
		return 0;
	do
		n = read(w->status_fd, &child_errno, sizeof(child_errno));
	while (n < 0 && errno == EINTR);
	close(w->status_fd);
	w->status_fd = -1;
	return n == (ssize_t)sizeof(child_errno) ? child_errno : 0;
}

void worker_release(struct worker *w)
{
	if (w->result_fd >= 0)
		close(w->result_fd);
	if (w->status_fd >= 0)
		close(w->status_fd);
	w->result_fd = w->status_fd = -1;
	strbuf_release(&w->result);
}

/* ---- the worker's side ------------------------------------------------------- */

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

static char *labels_text(const struct series *s)
{
	json_t *o = json_object();
	char *text;

	for (size_t i = 0; i < s->n_labels; i++)
		json_object_set_new(o, s->labels[i].key, json_string(s->labels[i].value));
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text ? text : xstrdup("{}");
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
	out->labels_json = labels_text(s);
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

static char *read_stdin(void)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	ssize_t n;

	while ((n = read(0, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || sb.len + (size_t)n > REQUEST_MAX) {
			strbuf_release(&sb);
			return NULL;
		}
		strbuf_add(&sb, buf, (size_t)n);
	}
	return strbuf_detach(&sb);
}

static void write_result(json_t *res)
{
	char *text = json_dumps(res, JSON_COMPACT);

	if (text) {
		write_all(3, text, strlen(text));
		write_all(3, "\n", 1);
	}
	free(text);
	close(3);
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

int worker_main(void)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct collect col = { .detector_seconds = json_object() };
	const char *dirs[64];
	size_t n_dirs = 0, i;
	char *text = read_stdin();
	json_t *rq = text ? json_loads(text, 0, NULL) : NULL, *v, *res = json_object();
	struct registry *reg = NULL;
	struct job_spec *spec = NULL;
	struct store *st = NULL;
	struct run_report rep;
	struct job_options opt = { 0 };
	struct notify_ctx nctx;
	const char *node;
	json_int_t sent = 0, failed = 0;
	int rc = 0, landed, adhoc;
	struct diag d;

	free(text);
	memset(&rep, 0, sizeof(rep));
	if (!json_is_object(rq) || !json_is_string(json_object_get(rq, "spec")) ||
	    !json_is_string(json_object_get(rq, "node")) || !json_is_string(json_object_get(rq, "store"))) {
		log_error("worker", "bad request on standard input");
		json_decref(rq);
		json_decref(res);
		collect_release(&col);
		return 3;
	}
	node = json_string_value(json_object_get(rq, "node"));
	adhoc = json_is_true(json_object_get(rq, "adhoc"));
	json_array_foreach(json_object_get(rq, "plugin_dirs"), i, v)
		if (json_is_string(v) && n_dirs < 64)
			dirs[n_dirs++] = json_string_value(v);
	reg = registry_new();
	registry_add_default(reg, dirs, n_dirs);
	st = store_open(json_string_value(json_object_get(rq, "store")), &err);
	if (!st) {
		log_error("worker", "%s", err.msg);
		rc = 3;
		goto out;
	}
	st->node = node;
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
		goto out;
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
out:
	write_result(res);
	json_decref(res);
	run_report_release(&rep);
	collect_release(&col);
	spec_free(spec);
	store_close(st);
	registry_free(reg);
	json_decref(rq);
	return rc;
}

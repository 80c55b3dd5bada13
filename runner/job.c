/* job.c - run a job end to end. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"
#include "dispatch.h"
#include "explain.h"
#include "incident.h"
#include "job.h"
#include "log.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

struct row_buf {
	struct anomaly_row *rows;
	size_t n, alloc;
	char **owned;       /* label JSON strings to free */
	size_t n_owned, alloc_owned;
};

static void rows_add(struct row_buf *b, const struct anomaly_row *r)
{
	if (b->n == b->alloc) {
		b->alloc = b->alloc ? b->alloc * 2 : 64;
		b->rows = xreallocarray(b->rows, b->alloc, sizeof(*b->rows));
	}
	b->rows[b->n++] = *r;
}

static void rows_own(struct row_buf *b, char *s)
{
	if (b->n_owned == b->alloc_owned) {
		b->alloc_owned = b->alloc_owned ? b->alloc_owned * 2 : 16;
		b->owned = xreallocarray(b->owned, b->alloc_owned, sizeof(*b->owned));
	}
	b->owned[b->n_owned++] = s;
}

static void rows_release(struct row_buf *b)
{
	for (size_t i = 0; i < b->n_owned; i++)
		free(b->owned[i]);
	free(b->owned);
	free(b->rows);
}

static void add_failure(struct run_report *rep, const char *series, const char *reason)
{
	rep->failures = xreallocarray(rep->failures, rep->n_failures + 1, sizeof(*rep->failures));
	rep->failures[rep->n_failures].series = xstrdup(series);
	rep->failures[rep->n_failures].reason = xstrdup(reason);
	rep->n_failures++;
}

/*
 * One series' work.  Scoring (detectors, alert rules, stored rows) touches
 * nothing but this struct, so series are scored on several threads; the
 * results are then merged on the calling thread in series order, so stored
 * rows, alerts and callbacks come out the same as a sequential run.
 */
struct series_work {
	const struct series *s;
	const struct incident *prev;   /* the series' latest incident, or NULL */
	int64_t run_ms;
	struct incident_set incs;      /* what the run did to its incidents */
	struct detection *dets;
	struct detection **ok;
	uint8_t *alerted;
	struct run_report part;     /* alerts, failures and n_flagged of this series */
	struct row_buf rows;
};

/* Score one series with every detector; collect alerts and stored rows into w. */
static void score_series(const struct job_spec *spec, struct detector_instance *const *insts,
                         const struct job_options *opt, struct series_work *w)
{
	const struct series *s = w->s;
	char *labels = NULL;

	w->dets = xcalloc(spec->n_detectors, sizeof(*w->dets));
	w->ok = xcalloc(spec->n_detectors, sizeof(*w->ok));
	w->alerted = xcalloc(s->n ? s->n : 1, 1);
	for (size_t k = 0; k < spec->n_detectors; k++) {
		struct vigil_error err = VIGIL_ERROR_INIT;

		if (detection_run(insts[k], s, &w->dets[k], &err)) {
			log_warn("job", "job '%s': series '%s': %s", spec->name, s->name, err.msg);
			add_failure(&w->part, s->name, err.msg);
			continue;
		}
		w->ok[k] = &w->dets[k];
	}
	alert_evaluate(spec, s, w->ok, &w->part, w->alerted);
	/* a detector failed on the series: its incident stays as it was (no onset, no resolve on partial evidence) */
	if (!w->part.n_failures)
		incident_track_series(spec, s, w->ok, w->alerted, w->prev, w->run_ms, &w->incs);
	for (size_t k = 0; k < spec->n_detectors; k++) {
		if (!w->ok[k])
			continue;
		for (size_t i = 0; i < s->n; i++) {
			struct anomaly_row r;

			if (!w->dets[k].r.anomaly[i])
				continue;
			w->part.n_flagged++;
			if (!opt->store)
				continue;
			if (!labels) {
				labels = series_labels_json(s);
				rows_own(&w->rows, labels);
			}
			r = (struct anomaly_row){
				.series = s->name,
				.labels_json = labels,
				.ts_ms = s->ts[i],
				.value = s->v[i],
				.score = w->dets[k].r.score[i],
				.detector = spec->detectors[k].id,
				.expected = w->dets[k].r.expected[i],
				.lower = w->dets[k].r.lower[i],
				.upper = w->dets[k].r.upper[i],
				.reason = detection_reason(&w->dets[k], i),
				.shadow = spec->detectors[k].mode == MODE_SHADOW,
				.alerted = w->alerted[i] && spec->detectors[k].mode == MODE_ALERT,
			};
			if (r.reason) {
				char *copy = xstrdup(r.reason);

				rows_own(&w->rows, copy);
				r.reason = copy;
			}
			rows_add(&w->rows, &r);
		}
	}
}

/* On the calling thread, in order: the callback, then w's results move into rep and rows. */
static void merge_series(const struct job_spec *spec, const struct job_options *opt, struct series_work *w,
                         struct run_report *rep, struct row_buf *rows, struct incident_set *incs)
{
	incident_set_take(incs, &w->incs);
	if (opt->on_series)
		opt->on_series(opt->arg, spec, w->s, w->ok, w->alerted);
	for (size_t k = 0; k < spec->n_detectors; k++)
		detection_release(&w->dets[k]);
	free(w->dets);
	free(w->ok);
	free(w->alerted);
	rep->n_flagged += w->part.n_flagged;
	if (w->part.n_alerts) {
		rep->alerts = xreallocarray(rep->alerts, rep->n_alerts + w->part.n_alerts, sizeof(*rep->alerts));
		memcpy(rep->alerts + rep->n_alerts, w->part.alerts, w->part.n_alerts * sizeof(*rep->alerts));
		rep->n_alerts += w->part.n_alerts;
	}
	if (w->part.n_failures) {
		rep->failures = xreallocarray(rep->failures, rep->n_failures + w->part.n_failures,
		                              sizeof(*rep->failures));
		memcpy(rep->failures + rep->n_failures, w->part.failures, w->part.n_failures * sizeof(*rep->failures));
		rep->n_failures += w->part.n_failures;
	}
	free(w->part.alerts);
	free(w->part.failures);
	for (size_t i = 0; i < w->rows.n; i++)
		rows_add(rows, &w->rows.rows[i]);
	for (size_t i = 0; i < w->rows.n_owned; i++)
		rows_own(rows, w->rows.owned[i]);
	free(w->rows.rows);
	free(w->rows.owned);
	memset(w, 0, sizeof(*w));
}

#define JOB_BATCH 256
#define JOB_MAX_THREADS 16

struct pool_batch {
	const struct job_spec *spec;
	struct detector_instance *const *insts;
	const struct job_options *opt;
	struct series_work *work;
	size_t n;
	size_t next;                /* the next item to take (atomic) */
};

static void *pool_worker(void *arg)
{
	struct pool_batch *b = arg;
	size_t i;

	while ((i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED)) < b->n)
		score_series(b->spec, b->insts, b->opt, &b->work[i]);
	return NULL;
}

/* Threads to score series on: $VIGIL_THREADS, else the online CPUs (at most 16). */
static unsigned job_threads(void)
{
	const char *e = getenv("VIGIL_THREADS");
	long n;

	if (e && *e) {
		char *end;

		n = strtol(e, &end, 10);
		if (!*end && n >= 1)
			return n > JOB_MAX_THREADS ? JOB_MAX_THREADS : (unsigned)n;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > JOB_MAX_THREADS ? JOB_MAX_THREADS : (unsigned)n;
}

/* The incidents the life-cycle goes on from: the job's latest per (series, kind), sorted by series, kind. */
struct incident_state {
	struct incident *latest;
	size_t n;
	struct job_health health;
	struct store *st;          /* where they are read and written, or NULL */
};

static const struct incident *latest_of(const struct incident_state *is, const char *series, const char *kind)
{
	size_t lo = 0, hi = is->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(is->latest[mid].series, series);

		if (!c)
			c = strcmp(is->latest[mid].kind, kind);
		if (!c)
			return &is->latest[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void incident_state_load(const struct job_spec *spec, struct store *st, struct incident_state *is)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	int found = 0;

	memset(is, 0, sizeof(*is));
	if (st && st->backend->incidents) {
		is->st = st;
		if (st->backend->incidents->latest(st, spec->name, &is->latest, &is->n, &err) ||
		    st->backend->incidents->health_get(st, spec->name, &is->health, &found, &err)) {
			log_error("incident", "job '%s': cannot read incidents (every anomaly is new): %s", spec->name,
			          err.msg);
			incidents_free(is->latest, is->n);
			is->latest = NULL;
			is->n = 0;
		}
	}
	if (!is->health.job)
		is->health.job = xstrdup(spec->name);
}

static void incident_state_release(struct incident_state *is)
{
	incidents_free(is->latest, is->n);
	job_health_release(&is->health);
}

/* The job-level side of the run, then the incidents into rep. */
static void finish_incidents(const struct job_spec *spec, const struct job_options *opt, struct incident_state *is,
                             struct incident_set *incs, struct run_report *rep)
{
	incident_track_run(spec, rep->failed, !rep->failed && rep->no_data, rep->error,
	                   latest_of(is, "", "error"), latest_of(is, "", "no_data"), is->latest, is->n,
	                   opt->scheduled_ms, &is->health, incs);
	rep->incidents = incs->items;
	rep->incident_events = incs->events;
	rep->n_incidents = incs->n;
	memset(incs, 0, sizeof(*incs));
}

/*
 * Several series firing together (open incidents touched by this run, one
 * of them new): hints at what they share (runner/explain.h).  A failing
 * explain executable is logged by explain_group; the incidents go out
 * without hints.
 */
static void explain_run(const struct job_spec *spec, const struct series_set *set, struct run_report *rep)
{
	struct explain_series *es;
	struct explain_input in = { .job = spec->name, .run_id = rep->run_id };
	struct vigil_error err = VIGIL_ERROR_INIT;
	size_t n_open = 0, n_new = 0;

	for (size_t i = 0; i < rep->n_incidents; i++) {
		const struct incident *inc = &rep->incidents[i];

		if (!*inc->series || strcmp(inc->state, "open"))
			continue;
		n_open++;
		n_new += (rep->incident_events[i] & (INCIDENT_OPENED | INCIDENT_REOPENED)) != 0;
	}
	if (n_open < 2 || !n_new)
		return;
	es = xcalloc(set->n + 1, sizeof(*es));
	for (size_t i = 0; i < set->n; i++) {
		const struct series *s = set->items[i];
		struct explain_series *e = &es[in.n];

		if (!s->n)
			continue;
		*e = (struct explain_series){ .name = s->name, .labels = s->labels, .n_labels = s->n_labels,
		                              .onset_ms = EXPLAIN_NO_ONSET };
		for (size_t k = 0; k < rep->n_incidents; k++)
			if (!strcmp(rep->incidents[k].series, s->name) && !strcmp(rep->incidents[k].state, "open")) {
				e->anomalous = 1;
				e->onset_ms = rep->incidents[k].start_ms;
			}
		in.n++;
	}
	in.series = es;
	if (explain_group(spec, &in, &rep->hints, &err))
		rep->hints = NULL;
	free(es);
}

/* Score every non-empty series of set, in batches, and merge in order. */
static void score_all(const struct job_spec *spec, struct detector_instance *const *insts,
                      const struct job_options *opt, const struct series_set *set, struct run_report *rep,
                      struct row_buf *rows, const struct incident_state *is, struct incident_set *incs)
{
	struct series_work *work = xcalloc(JOB_BATCH, sizeof(*work));
	unsigned nthreads = job_threads();
	size_t i = 0;

	while (i < set->n) {
		struct pool_batch b = { .spec = spec, .insts = insts, .opt = opt, .work = work };
		pthread_t tids[JOB_MAX_THREADS];
		unsigned started = 0;

		for (; i < set->n && b.n < JOB_BATCH; i++) {
			if (!set->items[i]->n)
				continue;
			rep->n_series++;
			rep->n_points += set->items[i]->n;
			work[b.n].prev = latest_of(is, set->items[i]->name, "anomaly");
			work[b.n].run_ms = opt->scheduled_ms;
			work[b.n++].s = set->items[i];
		}
		/* the calling thread works too; extra threads only when there is enough to share */
		for (unsigned t = 1; t < nthreads && b.n > 1 && t < b.n; t++) {
			if (pthread_create(&tids[started], NULL, pool_worker, &b))
				break;
			started++;
		}
		pool_worker(&b);
		for (unsigned t = 0; t < started; t++)
			pthread_join(tids[t], NULL);
		for (size_t k = 0; k < b.n; k++)
			merge_series(spec, opt, &work[k], rep, rows, incs);
	}
	free(work);
}

static void notify_all(const struct job_spec *spec, const struct job_options *opt,
                       const struct run_report *rep, const struct dispatch *disp)
{
	if (!opt->notify)
		return;
	for (size_t i = 0; i < spec->n_notify && !opt->notify->skip_immediate; i++) {
		struct vigil_error err = VIGIL_ERROR_INIT;

		if (!spec->notify[i].type->send)
			continue;   /* queued: in the outbox (runner/dispatch.h) */
		if (spec->notify[i].type->send(spec->notify[i].cfg, rep, opt->notify, &err))
			log_error("notify", "job '%s': notify[%zu] (%s): %s", spec->name, i,
			          spec->notify[i].type->name, err.msg);
	}
	if (opt->notify->dry_run || opt->notify->print_queued)
		dispatch_print(disp, opt->notify->out ? opt->notify->out : stdout);
	if (!opt->notify->dry_run && !opt->store && (disp->n_rows || disp->n_states)) {
		/* Not stored: messages and alert state go to the caller's outbox (a temporary one for --no-store). */
		struct store *ob = opt->notify->outbox;
		struct vigil_error err = VIGIL_ERROR_INIT;

		if (!ob && disp->n_rows)
			log_warn("notify", "job '%s': %zu message%s not queued: the run is not stored", spec->name,
			         disp->n_rows, disp->n_rows == 1 ? "" : "s");
		else if (ob && ob->backend->notify->enqueue(ob, disp->rows, disp->n_rows, disp->states, disp->n_states,
		                                            &err))
			log_error("notify", "job '%s': %s", spec->name, err.msg);
	}
}

/* Not stored: the incidents and health go to the caller's outbox store (replay, --no-store), if any. */
static void keep_incidents(const struct job_spec *spec, const struct job_options *opt, const struct run_report *rep,
                           const struct job_health *h)
{
	struct store *ob = opt->notify ? opt->notify->outbox : NULL;
	struct vigil_error err = VIGIL_ERROR_INIT;

	if (opt->store || !ob || !ob->backend->incidents || opt->notify->dry_run)
		return;
	if (ob->backend->incidents->put(ob, rep->incidents, rep->n_incidents, h, &err))
		log_error("incident", "job '%s': %s", spec->name, err.msg);
}

int job_run(const struct job_spec *spec, const struct job_options *opt, struct run_report *rep,
            struct vigil_error *err)
{
	struct fetch_ctx fctx = {
		.job = spec->name,
		.spec_dir = spec->dir,
		.from_ms = INT64_MIN,
		.to_ms = INT64_MAX,
		.run_ms = opt->scheduled_ms,
		.max_series = spec->max_series,
	};
	struct detector_instance **insts = xcalloc(spec->n_detectors, sizeof(*insts));
	struct series_set set = SERIES_SET_INIT;
	struct row_buf rows = { 0 };
	struct run_outcome out = { 0 };
	struct dispatch disp = DISPATCH_INIT;
	struct incident_state is;
	struct incident_set incs = INCIDENT_SET_INIT;
	int rc = -1;

	memset(rep, 0, sizeof(*rep));
	incident_state_load(spec, opt->adhoc ? NULL : opt->store ? opt->store : opt->notify ? opt->notify->outbox : NULL,
	                    &is);
	rep->job = spec->name;
	rep->started_ms = opt->fixed_clock ? opt->scheduled_ms : time_now_ms();
	if (spec->window_ms) {
		fctx.to_ms = opt->scheduled_ms;
		fctx.from_ms = opt->scheduled_ms - spec->window_ms;
		if (opt->window_from_ms && opt->window_from_ms < fctx.from_ms)
			fctx.from_ms = opt->window_from_ms;
	}
	if (opt->run_id)
		rep->run_id = opt->run_id;
	else if (opt->store && opt->store->backend->run_begin(opt->store, spec->name, opt->scheduled_ms,
	                                                      rep->started_ms, &rep->run_id, err)) {
		rep->failed = 1;
		rep->error = xstrdup(err->msg);
		rep->finished_ms = time_now_ms();
		goto done;
	}

	for (size_t k = 0; k < spec->n_detectors; k++) {
		const struct spec_detector *sd = &spec->detectors[k];
		struct detect_context dctx = {
			.job = spec->name,
			.run_id = rep->run_id,
			.entry_id = sd->id,
			.isolate = sd->isolate,
			.limits = sd->has_limits ? &sd->limits : NULL,
		};

		insts[k] = detector_instance_new_ctx(sd->entry, sd->params, &dctx, err);
		if (!insts[k]) {
			vigil_error_prefix(err, "detectors[%zu] ('%s')", k, spec->detectors[k].id);
			goto failed;
		}
	}
	if (spec->source_type->fetch(spec->source, &fctx, &set, err)) {
		vigil_error_prefix(err, "source");
		goto failed;
	}
	if (set.n > spec->max_series) {
		/* scoring 200 000 series would take gigabytes: refuse before it starts */
		vigil_error_set(err, VIGIL_E_LIMIT, "source: %zu series, more than $.max_series (%zu) of %s; "
		                "narrow the source or raise \"max_series\"", set.n, spec->max_series, spec->path);
		goto failed;
	}
	score_all(spec, insts, opt, &set, rep, &rows, &is, &incs);
	rep->no_data = rep->n_points == 0;
	rc = 0;
	goto finish;
failed:
	rep->failed = 1;
	rep->error = xstrdup(err->msg);
finish:
	rep->finished_ms = opt->fixed_clock ? opt->scheduled_ms : time_now_ms();
	out.state = rep->failed ? "failed" : "succeeded";
	out.outcome = rep->failed ? NULL : rep->no_data ? "no_data" : rep->n_alerts ? "anomalies" : "clean";
	out.error = rep->error;
	out.n_series = rep->n_series;
	out.n_points = rep->n_points;
	out.n_anomalies = rep->n_flagged;
	out.n_alerts = rep->n_alerts;
	out.failures = rep->failures;
	out.n_failures = rep->n_failures;
	finish_incidents(spec, opt, &is, &incs, rep);
	explain_run(spec, &set, rep);
	if (is.st && !(opt->notify && opt->notify->dry_run))
		out.health = &is.health;   /* like alert state, a dry run leaves the life-cycle where it was */
	if (opt->notify) {
		/* Queued notifications commit with the run's results (or not at all). */
		int64_t now = time_now_ms();

		if (opt->store && out.health)
			notify_id_token_new(disp.id_token, sizeof(disp.id_token));
		dispatch_plan(spec, rep, &set, opt->store ? opt->store : opt->notify->outbox, opt->scheduled_ms, now,
		              opt->fixed_clock ? opt->scheduled_ms : now, &disp);
		if (!opt->notify->dry_run) {
			out.outbox = disp.rows;
			out.n_outbox = disp.n_rows;
			out.alert_states = disp.states;
			out.n_alert_states = disp.n_states;
		}
	}
	if (out.health) {
		out.incidents = rep->incidents;
		out.n_incidents = rep->n_incidents;
		out.incident_id_token = *disp.id_token ? disp.id_token : NULL;
		if (opt->store && rep->n_incidents)
			out.incident_ids = xcalloc(rep->n_incidents, sizeof(*out.incident_ids));
	}
	if (opt->store) {
		struct vigil_error serr = VIGIL_ERROR_INIT;
		char *results = opt->results && !rep->failed ? opt->results(opt->arg) : NULL;

		out.adhoc_results = results;
		if (opt->store->backend->run_finish(opt->store, rep->run_id, rep->finished_ms, &out, rows.rows,
		                                    opt->adhoc ? 0 : rows.n, &serr)) {
			free(out.incident_ids);   /* of a transaction rolled back */
			out.incident_ids = NULL;
			log_error("store", "job '%s': %s", spec->name, serr.msg);
			if (!rep->failed) {
				rep->failed = 1;
				rep->error = xstrdup(serr.msg);
				vigil_error_set(err, serr.code, "%s", serr.msg);
			}
			rc = -1;
		}
		free(results);
	}
	/* the incidents the run opened have their ids now (for --json and stdout) */
	for (size_t i = 0; out.incident_ids && i < rep->n_incidents; i++)
		rep->incidents[i].id = out.incident_ids[i];
	free(out.incident_ids);
	keep_incidents(spec, opt, rep, out.health);
	notify_all(spec, opt, rep, &disp);
done:
	incident_set_release(&incs);
	incident_state_release(&is);
	dispatch_release(&disp);
	for (size_t k = 0; k < spec->n_detectors; k++)
		detector_instance_free(insts[k]);
	free(insts);
	series_set_release(&set);
	rows_release(&rows);
	return rc;
}

/* What a run did to an incident, in one word for JSON. */
static const char *incident_event_name(const struct incident *inc, unsigned ev)
{
	int open = !strcmp(inc->state, "open");

	if (ev & INCIDENT_OPENED)
		return open ? "opened" : "opened_and_closed";
	if (open)
		return ev & INCIDENT_REOPENED ? "reopened" : "ongoing";
	return ev & INCIDENT_CLOSED ? "closed" : "ongoing";
}

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *run_report_json(const struct run_report *rep)
{
	json_t *o = json_object(), *alerts = json_array(), *fails = json_array();
	char when[40];

	json_object_set_new(o, "job", json_string(rep->job));
	json_object_set_new(o, "run_id", rep->run_id ? json_integer(rep->run_id) : json_null());
	time_format_iso(rep->started_ms, when, sizeof(when));
	json_object_set_new(o, "started", json_string(when));
	json_object_set_new(o, "duration_ms", json_integer(rep->finished_ms - rep->started_ms));
	json_object_set_new(o, "status", json_string(rep->failed ? "failed" : "succeeded"));
	json_object_set_new(o, "outcome", rep->failed ? json_null()
	                    : json_string(rep->no_data ? "no_data" : rep->n_alerts ? "anomalies" : "clean"));
	json_object_set_new(o, "error", rep->error ? json_string(rep->error) : json_null());
	json_object_set_new(o, "series", json_integer((json_int_t)rep->n_series));
	json_object_set_new(o, "points", json_integer((json_int_t)rep->n_points));
	json_object_set_new(o, "flagged_points", json_integer((json_int_t)rep->n_flagged));
	for (size_t i = 0; i < rep->n_alerts; i++) {
		const struct alert_item *a = &rep->alerts[i];
		json_t *labels = json_object();

		for (size_t k = 0; k < a->n_labels; k++)
			json_object_set_new(labels, a->labels[k].key, json_string(a->labels[k].value));
		time_format_iso(a->ts_ms, when, sizeof(when));
		json_array_append_new(alerts, json_pack("{s:s, s:o, s:s, s:I, s:o, s:f, s:o, s:o, s:o, s:o, s:s, s:o}",
			"series", a->series, "labels", labels, "time", when, "ts_ms", (json_int_t)a->ts_ms,
			"value", num_or_null(a->value), "score", a->score, "rarity", num_or_null(a->rarity),
			"expected", num_or_null(a->expected),
			"lower", num_or_null(a->lower), "upper", num_or_null(a->upper), "detectors", a->detectors,
			"reason", a->reason ? json_string(a->reason) : json_null()));
	}
	for (size_t i = 0; i < rep->n_failures; i++)
		json_array_append_new(fails, json_pack("{s:s, s:s}", "series", rep->failures[i].series,
		                                       "reason", rep->failures[i].reason));
	json_object_set_new(o, "alerts", alerts);
	json_object_set_new(o, "failed_series", fails);
	{
		json_t *incs = json_array();

		for (size_t i = 0; i < rep->n_incidents; i++) {
			json_t *j = incident_json(&rep->incidents[i]);
			unsigned ev = rep->incident_events[i];

			json_object_set_new(j, "event", json_string(incident_event_name(&rep->incidents[i], ev)));
			json_array_append_new(incs, j);
		}
		json_object_set_new(o, "incidents", incs);
	}
	return o;
}

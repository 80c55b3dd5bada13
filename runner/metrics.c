/*
 * metrics.c - counters, gauges and histograms of the daemon, and their
 * Prometheus text exposition.
 *
 * Labelled counters live in one small hash table keyed by metric and label
 * values, so 10 000 jobs cost a lookup per run, not a scan.  Rendering sorts
 * the series so the output is stable (tests compare lines).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "vigil/detector.h"
#include "metrics.h"
#include "xmalloc.h"
#include "banned.h"

enum family {
	F_RUNS,          /* vigil_runs_total{job,status} */
	F_DETECTOR,      /* vigil_detector_seconds_total{detector} */
	F_SOURCE_ERR,    /* vigil_source_errors_total{source} */
	F_COUNT,
};

struct cell {
	enum family fam;
	char *l1, *l2;
	double value;
	struct cell *next;
};

#define N_DURATION 13
#define N_LAG 11
static const double duration_bounds[N_DURATION] = {
	0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600,
};
static const double lag_bounds[N_LAG] = {
	0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 60,
};

struct histogram {
	const double *bounds;
	size_t n;
	uint64_t counts[16];   /* per bucket (not cumulative); [n] is +Inf */
	uint64_t total;
	double sum;
};

struct metrics {
	pthread_mutex_t lock;
	struct cell **buckets;
	size_t n_buckets, n_cells;
	struct histogram duration, lag;
	uint64_t series, points, sent, failed, pending, skipped, coalesced;
	uint64_t reloads_ok, reloads_failed;
	size_t jobs, running, waiting, invalid_specs;
	int cluster;               /* set once the store is shared (PostgreSQL) */
	size_t nodes_alive, spec_conflicts;
};

struct metrics *metrics_new(void)
{
	struct metrics *m = XNEW(struct metrics);

	pthread_mutex_init(&m->lock, NULL);
	m->n_buckets = 256;
	m->buckets = xcalloc(m->n_buckets, sizeof(*m->buckets));
	m->duration.bounds = duration_bounds;
	m->duration.n = N_DURATION;
	m->lag.bounds = lag_bounds;
	m->lag.n = N_LAG;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct cell *c = m->buckets[i], *next;

		for (; c; c = next) {
			next = c->next;
			free(c->l1);
			free(c->l2);
			free(c);
		}
	}
	free(m->buckets);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static size_t hash(enum family fam, const char *a, const char *b)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)fam;

	for (; *a; a++)
		h = (h ^ (unsigned char)*a) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (; b && *b; b++)
		h = (h ^ (unsigned char)*b) * 1099511628211ULL;
	return (size_t)h;
}

static void grow(struct metrics *m)
{
	size_t n = m->n_buckets * 2;
	struct cell **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < m->n_buckets; i++) {
		struct cell *c = m->buckets[i], *next;

		for (; c; c = next) {
			size_t k = hash(c->fam, c->l1, c->l2) & (n - 1);

			next = c->next;
			c->next = b[k];
			b[k] = c;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

/* Caller holds the lock. */
static void add(struct metrics *m, enum family fam, const char *l1, const char *l2, double v)
{
	size_t k = hash(fam, l1, l2) & (m->n_buckets - 1);
	struct cell *c = m->buckets[k];

	for (; c; c = c->next)
		if (c->fam == fam && !strcmp(c->l1, l1) && !strcmp(c->l2 ? c->l2 : "", l2 ? l2 : ""))
			break;
	if (!c) {
		if (m->n_cells >= m->n_buckets)
			grow(m);
		k = hash(fam, l1, l2) & (m->n_buckets - 1);
		c = XNEW(struct cell);
		c->fam = fam;
		c->l1 = xstrdup(l1);
		c->l2 = l2 ? xstrdup(l2) : NULL;
		c->next = m->buckets[k];
		m->buckets[k] = c;
		m->n_cells++;
	}
	c->value += v;
}

static void observe(struct histogram *h, double v)
{
	size_t i = 0;

	while (i < h->n && v > h->bounds[i])
		i++;
	h->counts[i]++;
	h->total++;
	h->sum += v;
}

void metrics_run(struct metrics *m, const char *job, const char *status, double duration_s)
{
	pthread_mutex_lock(&m->lock);
	add(m, F_RUNS, job, status, 1);
	observe(&m->duration, duration_s);
	pthread_mutex_unlock(&m->lock);
}

void metrics_processed(struct metrics *m, uint64_t series, uint64_t points)
{
	pthread_mutex_lock(&m->lock);
	m->series += series;
	m->points += points;
	pthread_mutex_unlock(&m->lock);
}

void metrics_detector_time(struct metrics *m, const char *detector, double seconds)
{
	pthread_mutex_lock(&m->lock);
	add(m, F_DETECTOR, detector, NULL, seconds);
	pthread_mutex_unlock(&m->lock);
}

void metrics_source_error(struct metrics *m, const char *source)
{
	pthread_mutex_lock(&m->lock);
	add(m, F_SOURCE_ERR, source, NULL, 1);
	pthread_mutex_unlock(&m->lock);
}

void metrics_notifications(struct metrics *m, uint64_t sent, uint64_t failed)
{
	pthread_mutex_lock(&m->lock);
	m->sent += sent;
	m->failed += failed;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_pending(struct metrics *m, uint64_t pending)
{
	pthread_mutex_lock(&m->lock);
	m->pending = pending;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_cluster(struct metrics *m, size_t nodes_alive, size_t spec_conflicts)
{
	pthread_mutex_lock(&m->lock);
	m->cluster = 1;
	m->nodes_alive = nodes_alive;
	m->spec_conflicts = spec_conflicts;
	pthread_mutex_unlock(&m->lock);
}

void metrics_sched_lag(struct metrics *m, double seconds)
{
	pthread_mutex_lock(&m->lock);
	observe(&m->lag, seconds < 0 ? 0 : seconds);
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_sched(struct metrics *m, uint64_t skipped, uint64_t coalesced)
{
	pthread_mutex_lock(&m->lock);
	m->skipped = skipped;
	m->coalesced = coalesced;
	pthread_mutex_unlock(&m->lock);
}

void metrics_set_gauges(struct metrics *m, size_t jobs, size_t running, size_t waiting, size_t invalid_specs)
{
	pthread_mutex_lock(&m->lock);
	m->jobs = jobs;
	m->running = running;
	m->waiting = waiting;
	m->invalid_specs = invalid_specs;
	pthread_mutex_unlock(&m->lock);
}

void metrics_spec_reload(struct metrics *m, int ok)
{
	pthread_mutex_lock(&m->lock);
	if (ok)
		m->reloads_ok++;
	else
		m->reloads_failed++;
	pthread_mutex_unlock(&m->lock);
}

/* ---- exposition ------------------------------------------------------------ */

static void add_label(struct strbuf *out, const char *name, const char *value)
{
	strbuf_addf(out, "%s=\"", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			strbuf_addstr(out, "\\\\");
		else if (*p == '"')
			strbuf_addstr(out, "\\\"");
		else if (*p == '\n')
			strbuf_addstr(out, "\\n");
		else
			strbuf_addch(out, *p);
	}
	strbuf_addch(out, '"');
}

static void header(struct strbuf *out, const char *name, const char *type, const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int cmp_cells(const void *a, const void *b)
{
	const struct cell *x = *(const struct cell *const *)a, *y = *(const struct cell *const *)b;
	int c = strcmp(x->l1, y->l1);

	return c ? c : strcmp(x->l2 ? x->l2 : "", y->l2 ? y->l2 : "");
}

static void family(struct metrics *m, struct strbuf *out, enum family fam, const char *name,
                   const char *l1, const char *l2, int integer)
{
	struct cell **cells = xcalloc(m->n_cells + 1, sizeof(*cells));
	size_t n = 0;

	for (size_t i = 0; i < m->n_buckets; i++)
		for (struct cell *c = m->buckets[i]; c; c = c->next)
			if (c->fam == fam)
				cells[n++] = c;
	qsort(cells, n, sizeof(*cells), cmp_cells);
	for (size_t i = 0; i < n; i++) {
		strbuf_addf(out, "%s{", name);
		add_label(out, l1, cells[i]->l1);
		if (l2) {
			strbuf_addch(out, ',');
			add_label(out, l2, cells[i]->l2);
		}
		if (integer)
			strbuf_addf(out, "} %.0f\n", cells[i]->value);
		else
			strbuf_addf(out, "} %.6f\n", cells[i]->value);
	}
	free(cells);
}

static void histogram(struct strbuf *out, const char *name, const struct histogram *h)
{
	uint64_t cum = 0;

	for (size_t i = 0; i < h->n; i++) {
		cum += h->counts[i];
		strbuf_addf(out, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i], (unsigned long long)cum);
	}
	strbuf_addf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)h->total);
	strbuf_addf(out, "%s_sum %.6f\n%s_count %llu\n", name, h->sum, name, (unsigned long long)h->total);
}

void metrics_render(struct metrics *m, struct strbuf *out)
{
	pthread_mutex_lock(&m->lock);
	header(out, "vigil_build_info", "gauge", "Always 1: the version of vigil and the detector ABI it offers.");
	strbuf_addf(out, "vigil_build_info{version=\"%s\",abi=\"%d.%d\"} 1\n", PACKAGE_VERSION, VIGIL_ABI_MAJOR,
	            VIGIL_ABI_MINOR);
	header(out, "vigil_runs_total", "counter", "Runs ended, by job and status (succeeded, failed, timeout, "
	       "interrupted).");
	family(m, out, F_RUNS, "vigil_runs_total", "job", "status", 1);
	header(out, "vigil_run_duration_seconds", "histogram", "Wall time of runs, from start to end.");
	histogram(out, "vigil_run_duration_seconds", &m->duration);
	header(out, "vigil_series_processed_total", "counter", "Series scored by runs.");
	strbuf_addf(out, "vigil_series_processed_total %llu\n", (unsigned long long)m->series);
	header(out, "vigil_points_processed_total", "counter", "Points scored by runs.");
	strbuf_addf(out, "vigil_points_processed_total %llu\n", (unsigned long long)m->points);
	header(out, "vigil_detector_seconds_total", "counter", "Time spent in detect(), by detector.");
	family(m, out, F_DETECTOR, "vigil_detector_seconds_total", "detector", NULL, 0);
	header(out, "vigil_source_errors_total", "counter", "Runs whose source failed, by source type.");
	family(m, out, F_SOURCE_ERR, "vigil_source_errors_total", "source", NULL, 1);
	header(out, "vigil_notifications_sent_total", "counter", "Notifications delivered.");
	strbuf_addf(out, "vigil_notifications_sent_total %llu\n", (unsigned long long)m->sent);
	header(out, "vigil_notifications_failed_total", "counter", "Notifications that failed.");
	strbuf_addf(out, "vigil_notifications_failed_total %llu\n", (unsigned long long)m->failed);
	header(out, "vigil_notifications_pending", "gauge", "Notifications waiting to be delivered.");
	strbuf_addf(out, "vigil_notifications_pending %llu\n", (unsigned long long)m->pending);
	if (m->cluster) {
		header(out, "vigil_cluster_nodes", "gauge", "Nodes of the cluster seen alive in the shared store.");
		strbuf_addf(out, "vigil_cluster_nodes %zu\n", m->nodes_alive);
		header(out, "vigil_cluster_spec_conflicts", "gauge", "Jobs that alive nodes run in different spec "
		       "versions.");
		strbuf_addf(out, "vigil_cluster_spec_conflicts %zu\n", m->spec_conflicts);
	}
	header(out, "vigil_scheduler_lag_seconds", "histogram", "How late scheduled runs started after their "
	       "fire time.");
	histogram(out, "vigil_scheduler_lag_seconds", &m->lag);
	header(out, "vigil_scheduler_skipped_total", "counter", "Fire times dropped (misfire policy, "
	       "max_catchup_age).");
	strbuf_addf(out, "vigil_scheduler_skipped_total %llu\n", (unsigned long long)m->skipped);
	header(out, "vigil_scheduler_coalesced_total", "counter", "Fire times merged into another run.");
	strbuf_addf(out, "vigil_scheduler_coalesced_total %llu\n", (unsigned long long)m->coalesced);
	header(out, "vigil_jobs", "gauge", "Jobs loaded.");
	strbuf_addf(out, "vigil_jobs %zu\n", m->jobs);
	header(out, "vigil_runs_running", "gauge", "Runs in progress.");
	strbuf_addf(out, "vigil_runs_running %zu\n", m->running);
	header(out, "vigil_runs_waiting", "gauge", "Runs due and waiting for a slot or for the job's previous run.");
	strbuf_addf(out, "vigil_runs_waiting %zu\n", m->waiting);
	header(out, "vigil_specs_invalid", "gauge", "Spec files whose latest version is invalid.");
	strbuf_addf(out, "vigil_specs_invalid %zu\n", m->invalid_specs);
	header(out, "vigil_spec_loads_total", "counter", "Spec files loaded, by result.");
	strbuf_addf(out, "vigil_spec_loads_total{result=\"ok\"} %llu\n", (unsigned long long)m->reloads_ok);
	strbuf_addf(out, "vigil_spec_loads_total{result=\"invalid\"} %llu\n",
	            (unsigned long long)m->reloads_failed);
	pthread_mutex_unlock(&m->lock);
}

void metrics_render_jobs(const json_t *jobs, struct strbuf *out)
{
	size_t i;
	json_t *j;

	header(out, "vigil_job_last_success_timestamp_seconds", "gauge", "Scheduled time of the newest run of the "
	       "job that succeeded with data (unix seconds).");
	json_array_foreach(jobs, i, j) {
		if (!json_is_integer(json_object_get(j, "last_success")))
			continue;
		strbuf_addstr(out, "vigil_job_last_success_timestamp_seconds{");
		add_label(out, "job", json_string_value(json_object_get(j, "job")));
		strbuf_addf(out, "} %.3f\n", (double)json_integer_value(json_object_get(j, "last_success")) / 1000);
	}
	header(out, "vigil_incidents_open", "gauge", "Open incidents, by job (series incidents, and failing or "
	       "silent runs).");
	json_array_foreach(jobs, i, j) {
		strbuf_addstr(out, "vigil_incidents_open{");
		add_label(out, "job", json_string_value(json_object_get(j, "job")));
		strbuf_addf(out, "} %lld\n", (long long)json_integer_value(json_object_get(j, "open")));
	}
}

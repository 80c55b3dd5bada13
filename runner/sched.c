/*
 * sched.c - the scheduler's bookkeeping: which run starts when.
 *
 * Jobs sit in a hash by name and in two binary heaps: one keyed by the next
 * fire time (so a tick costs O(k log n) for k due jobs, not O(n)), one of
 * the jobs that have a run waiting and are not running, keyed by the
 * waiting run's scheduled time (so free slots go to the oldest run).  With
 * 10 000 jobs the scheduler touches only the jobs that are due.
 */
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "log.h"
#include "sched.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define NO_INDEX ((size_t)-1)
/* Fire times counted for the statistics of one misfire, at most. */
#define COUNT_CAP 100000

struct sjob {
	char name[SCHED_NAME_MAX + 1];
	struct sched_job_cfg cfg;          /* name and schedule_id point into this struct */
	char *schedule_id;
	int64_t next_fire;                 /* ms; INT64_MAX: none */
	int64_t last_fire;                 /* ms; INT64_MIN: none */
	struct sched_run queue[SCHED_MAX_QUEUED];   /* by scheduled time */
	size_t n_queued;
	int running;
	struct sched_run run;              /* the running one */
	int expired_reported;
	int removed;                       /* forgotten, but still running */
	size_t fire_idx, ready_idx;
	size_t running_idx;                /* in sched.running, while running */
	struct sjob *hnext;
};

enum heap_kind { HEAP_FIRE, HEAP_READY };

struct heap {
	enum heap_kind kind;
	struct sjob **a;
	size_t n, alloc;
};

struct sched {
	unsigned max_running;
	int stopped;
	struct sjob **buckets;
	size_t n_buckets, n_jobs;
	struct heap fire, ready;
	struct sjob **running;
	size_t n_running, alloc_running;
	struct sched_stats stats;
};

const char *sched_trigger_name(enum sched_trigger t)
{
	switch (t) {
	case TRIGGER_SCHEDULE: return "schedule";
	case TRIGGER_CATCHUP: return "catchup";
	case TRIGGER_MANUAL: return "manual";
	case TRIGGER_RECOVERY: return "recovery";
	}
	return "?";
}

/* ---- heaps ---------------------------------------------------------------- */

static size_t *heap_idx(const struct heap *h, struct sjob *j)
{
	return h->kind == HEAP_FIRE ? &j->fire_idx : &j->ready_idx;
}

static int64_t heap_key(const struct heap *h, const struct sjob *j)
{
	return h->kind == HEAP_FIRE ? j->next_fire : j->queue[0].scheduled_ms;
}

/* Ties are broken by name so the order never depends on insertion history. */
static int heap_less(const struct heap *h, const struct sjob *a, const struct sjob *b)
{
	int64_t ka = heap_key(h, a), kb = heap_key(h, b);

	if (ka != kb)
		return ka < kb;
	return strcmp(a->name, b->name) < 0;
}

static void heap_set(struct heap *h, size_t i, struct sjob *j)
{
	h->a[i] = j;
	*heap_idx(h, j) = i;
}

static void heap_up(struct heap *h, size_t i)
{
	struct sjob *j = h->a[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!heap_less(h, j, h->a[p]))
			break;
		heap_set(h, i, h->a[p]);
		i = p;
	}
	heap_set(h, i, j);
}

static void heap_down(struct heap *h, size_t i)
{
	struct sjob *j = h->a[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= h->n)
			break;
		if (c + 1 < h->n && heap_less(h, h->a[c + 1], h->a[c]))
			c++;
		if (!heap_less(h, h->a[c], j))
			break;
		heap_set(h, i, h->a[c]);
		i = c;
	}
	heap_set(h, i, j);
}

static void heap_push(struct heap *h, struct sjob *j)
{
	if (h->n == h->alloc) {
		h->alloc = h->alloc ? h->alloc * 2 : 64;
		h->a = xreallocarray(h->a, h->alloc, sizeof(*h->a));
	}
	heap_set(h, h->n++, j);
	heap_up(h, h->n - 1);
}

static void heap_remove(struct heap *h, struct sjob *j)
{
	size_t i = *heap_idx(h, j);
	struct sjob *last;

	if (i == NO_INDEX)
		return;
	*heap_idx(h, j) = NO_INDEX;
	last = h->a[--h->n];
	if (i == h->n)
		return;
	heap_set(h, i, last);
	heap_up(h, i);
	heap_down(h, *heap_idx(h, last));
}

/* Put j where its key says, inserting it if needed. */
static void heap_update(struct heap *h, struct sjob *j)
{
	size_t i = *heap_idx(h, j);

	if (i == NO_INDEX) {
		heap_push(h, j);
		return;
	}
	heap_up(h, i);
	heap_down(h, *heap_idx(h, j));
}

/* ---- the job table ---------------------------------------------------------- */

static size_t hash_name(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return (size_t)h;
}

static struct sjob *find(const struct sched *s, const char *name)
{
	struct sjob *j = s->buckets[hash_name(name) & (s->n_buckets - 1)];

	while (j && strcmp(j->name, name))
		j = j->hnext;
	return j;
}

static void grow_buckets(struct sched *s)
{
	size_t n = s->n_buckets * 2;
	struct sjob **b = xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < s->n_buckets; i++) {
		struct sjob *j = s->buckets[i], *next;

		for (; j; j = next) {
			size_t k = hash_name(j->name) & (n - 1);

			next = j->hnext;
			j->hnext = b[k];
			b[k] = j;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->n_buckets = n;
}

static void unlink_job(struct sched *s, struct sjob *j)
{
	struct sjob **p = &s->buckets[hash_name(j->name) & (s->n_buckets - 1)];

	while (*p != j)
		p = &(*p)->hnext;
	*p = j->hnext;
	s->n_jobs--;
	free(j->schedule_id);
	free(j);
}

struct sched *sched_new(unsigned max_running)
{
	struct sched *s = XNEW(struct sched);

	s->max_running = max_running ? max_running : 1;
	s->n_buckets = 64;
	s->buckets = xcalloc(s->n_buckets, sizeof(*s->buckets));
	s->fire.kind = HEAP_FIRE;
	s->ready.kind = HEAP_READY;
	return s;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct sjob *j = s->buckets[i], *next;

		for (; j; j = next) {
			next = j->hnext;
			free(j->schedule_id);
			free(j);
		}
	}
	free(s->buckets);
	free(s->fire.a);
	free(s->ready.a);
	free(s->running);
	free(s);
}

/* ---- fire times ------------------------------------------------------------- */

static int64_t floor_div_ms(int64_t ms)
{
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

/* The first fire time strictly after t (ms), or INT64_MAX. */
static int64_t fire_after(const struct sjob *j, int64_t t)
{
	int64_t next;

	if (!j->cfg.cron || t == INT64_MAX)
		return INT64_MAX;
	if (cron_next(j->cfg.cron, j->cfg.tz, floor_div_ms(t), &next, NULL))
		return INT64_MAX;
	return next * 1000;
}

/* The latest fire time <= now, knowing that `known` (a fire time) is one. */
static int64_t latest_fire(const struct sjob *j, int64_t known, int64_t now)
{
	int64_t w = 60000, f = known, g;

	if (fire_after(j, known) > now)
		return known;
	/* widen a window back from now until it holds a fire time, then walk it */
	for (; w < now - known; w *= 2) {
		g = fire_after(j, now - w - 1);
		if (g <= now) {
			f = g;
			break;
		}
	}
	while ((g = fire_after(j, f)) <= now)
		f = g;
	return f;
}

static uint64_t count_fires(const struct sjob *j, int64_t from, int64_t to)
{
	uint64_t n = 0;

	for (int64_t f = from; f <= to && n < COUNT_CAP; f = fire_after(j, f))
		n++;
	return n;
}

/* ---- queues ----------------------------------------------------------------- */

static void fix_ready(struct sched *s, struct sjob *j)
{
	if (!j->running && !j->removed && j->n_queued)
		heap_update(&s->ready, j);
	else
		heap_remove(&s->ready, j);
}

static void sort_queue(struct sjob *j)
{
	for (size_t i = 1; i < j->n_queued; i++) {
		struct sched_run r = j->queue[i];
		size_t k = i;

		for (; k > 0 && j->queue[k - 1].scheduled_ms > r.scheduled_ms; k--)
			j->queue[k] = j->queue[k - 1];
		j->queue[k] = r;
	}
}

static int queue_add(struct sjob *j, int64_t scheduled, int64_t cover_from, enum sched_trigger trigger)
{
	struct sched_run *r;

	if (j->n_queued == SCHED_MAX_QUEUED)
		return -1;
	r = &j->queue[j->n_queued++];
	memset(r, 0, sizeof(*r));
	memcpy(r->job, j->name, sizeof(r->job));
	r->scheduled_ms = scheduled;
	r->cover_from_ms = cover_from;
	r->trigger = trigger;
	sort_queue(j);
	return 0;
}

/* Queue a scheduled run, coalescing with a scheduled run already waiting. */
static void queue_scheduled(struct sched *s, struct sjob *j, int64_t scheduled, int64_t cover_from,
                            enum sched_trigger trigger)
{
	char when[40];

	for (size_t i = 0; i < j->n_queued; i++) {
		struct sched_run *r = &j->queue[i];

		if (r->trigger != TRIGGER_SCHEDULE && r->trigger != TRIGGER_CATCHUP)
			continue;
		if (j->cfg.misfire == MISFIRE_RUN_ONCE) {
			if (cover_from > r->cover_from_ms)
				cover_from = r->cover_from_ms;
		}
		r->scheduled_ms = scheduled;
		r->cover_from_ms = cover_from;
		r->trigger = cover_from < scheduled ? TRIGGER_CATCHUP : trigger;
		s->stats.coalesced++;
		time_format_iso(scheduled, when, sizeof(when));
		log_info("sched", "job '%s': run for %s merged with the run still waiting", j->name, when);
		sort_queue(j);
		fix_ready(s, j);
		return;
	}
	if (queue_add(j, scheduled, cover_from, trigger)) {
		s->stats.skipped++;
		log_warn("sched", "job '%s': %d runs already waiting; fire time dropped", j->name,
		         SCHED_MAX_QUEUED);
		return;
	}
	s->stats.fired++;
	fix_ready(s, j);
}

/* The job's next fire time has come: apply the misfire policy. */
static void handle_due(struct sched *s, struct sjob *j, int64_t now)
{
	int64_t earliest = j->next_fire, latest = latest_fire(j, earliest, now);
	int64_t lower = now - j->cfg.max_catchup_ms, cover;
	int late = now - latest > SCHED_MISFIRE_THRESHOLD_MS;
	char a[40], b[40];

	j->last_fire = latest;
	j->next_fire = fire_after(j, latest);
	if (earliest == latest && !late) {
		queue_scheduled(s, j, latest, latest, TRIGGER_SCHEDULE);
		return;
	}
	time_format_iso(earliest, a, sizeof(a));
	time_format_iso(latest, b, sizeof(b));
	if (latest < lower) {
		s->stats.skipped += count_fires(j, earliest, latest);
		log_warn("sched", "job '%s': missed fire times from %s to %s are older than max_catchup_age; "
		         "skipped", j->name, a, b);
		return;
	}
	if (j->cfg.misfire == MISFIRE_SKIP) {
		uint64_t n = count_fires(j, earliest, latest);

		if (!late) {
			queue_scheduled(s, j, latest, latest, TRIGGER_SCHEDULE);
			n--;
		}
		s->stats.skipped += n;
		log_warn("sched", "job '%s': skipped %llu missed fire time%s from %s to %s (misfire: skip)",
		         j->name, (unsigned long long)n, n == 1 ? "" : "s", a, b);
		return;
	}
	cover = earliest >= lower ? earliest : fire_after(j, lower - 1);
	if (cover > latest)
		cover = latest;
	s->stats.skipped += count_fires(j, earliest, latest) - count_fires(j, cover, latest);
	if (earliest == latest)
		log_warn("sched", "job '%s': fire time %s noticed %llds late; running it now", j->name, b,
		         (long long)((now - latest) / 1000));
	else
		log_warn("sched", "job '%s': missed fire times from %s to %s; one run now covers them "
		         "(misfire: run_once)", j->name, a, b);
	queue_scheduled(s, j, latest, cover, TRIGGER_CATCHUP);
	/* the run stands for several fire times: count them */
	s->stats.coalesced += count_fires(j, cover, latest) - 1;
}

/* ---- public ------------------------------------------------------------------ */

int sched_job_set(struct sched *s, const struct sched_job_cfg *cfg, int64_t now_ms, int64_t last_fire_ms,
                  struct vigil_error *err)
{
	struct sjob *j;
	const char *sid = cfg->schedule_id ? cfg->schedule_id : "";
	int is_new = 0, restart;

	if (strlen(cfg->name) > SCHED_NAME_MAX)
		return vigil_error_set(err, VIGIL_E_LIMIT, "job name longer than %d bytes", SCHED_NAME_MAX);
	j = find(s, cfg->name);
	if (!j) {
		if (s->n_jobs >= s->n_buckets)
			grow_buckets(s);
		j = XNEW(struct sjob);
		memcpy(j->name, cfg->name, strlen(cfg->name) + 1);
		j->fire_idx = j->ready_idx = NO_INDEX;
		j->last_fire = INT64_MIN;
		j->hnext = s->buckets[hash_name(j->name) & (s->n_buckets - 1)];
		s->buckets[hash_name(j->name) & (s->n_buckets - 1)] = j;
		s->n_jobs++;
		is_new = 1;
	}
	restart = is_new || j->removed || strcmp(j->schedule_id, sid);
	j->removed = 0;
	j->cfg = *cfg;
	j->cfg.name = j->name;
	free(j->schedule_id);
	j->schedule_id = xstrdup(sid);
	j->cfg.schedule_id = j->schedule_id;
	if (restart) {
		if (is_new && last_fire_ms != INT64_MIN) {
			j->last_fire = last_fire_ms;
			j->next_fire = fire_after(j, last_fire_ms);
		} else {
			j->next_fire = fire_after(j, now_ms);
		}
	}
	if (j->next_fire == INT64_MAX)
		heap_remove(&s->fire, j);
	else
		heap_update(&s->fire, j);
	fix_ready(s, j);
	return 0;
}

void sched_job_seen(struct sched *s, const char *name, int64_t fire_ms)
{
	struct sjob *j = find(s, name);
	size_t kept = 0;

	if (!j || j->removed || !j->cfg.cron || fire_ms == INT64_MIN || fire_ms <= j->last_fire)
		return;
	j->last_fire = fire_ms;
	if (j->next_fire <= fire_ms) {
		j->next_fire = fire_after(j, fire_ms);
		if (j->next_fire == INT64_MAX)
			heap_remove(&s->fire, j);
		else
			heap_update(&s->fire, j);
	}
	for (size_t i = 0; i < j->n_queued; i++) {
		const struct sched_run *r = &j->queue[i];

		if ((r->trigger == TRIGGER_SCHEDULE || r->trigger == TRIGGER_CATCHUP) && r->scheduled_ms <= fire_ms)
			continue;
		j->queue[kept++] = *r;
	}
	j->n_queued = kept;
	fix_ready(s, j);
}

void sched_job_remove(struct sched *s, const char *name)
{
	struct sjob *j = find(s, name);

	if (!j)
		return;
	heap_remove(&s->fire, j);
	heap_remove(&s->ready, j);
	j->n_queued = 0;
	if (j->running)
		j->removed = 1;
	else
		unlink_job(s, j);
}

int sched_enqueue(struct sched *s, const char *name, int64_t scheduled_ms, int64_t cover_from_ms,
                  enum sched_trigger trigger, struct vigil_error *err)
{
	struct sjob *j = find(s, name);

	if (!j || j->removed)
		return vigil_error_set(err, VIGIL_E_USAGE, "no job named '%s'", name);
	if (j->running && j->run.scheduled_ms == scheduled_ms)
		return vigil_error_set(err, VIGIL_E_LIMIT, "job '%s' is already running for that time", name);
	for (size_t i = 0; i < j->n_queued; i++)
		if (j->queue[i].scheduled_ms == scheduled_ms)
			return vigil_error_set(err, VIGIL_E_LIMIT, "job '%s' already has a run waiting for that time",
			                       name);
	if (queue_add(j, scheduled_ms, cover_from_ms, trigger))
		return vigil_error_set(err, VIGIL_E_LIMIT, "job '%s' already has %d runs waiting", name,
		                       SCHED_MAX_QUEUED);
	fix_ready(s, j);
	return 0;
}

size_t sched_tick(struct sched *s, int64_t now_ms, struct sched_run *out, size_t max_out)
{
	size_t n = 0;

	if (s->stopped)
		return 0;
	while (s->fire.n && s->fire.a[0]->next_fire <= now_ms) {
		struct sjob *j = s->fire.a[0];

		handle_due(s, j, now_ms);
		if (j->next_fire == INT64_MAX)
			heap_remove(&s->fire, j);
		else
			heap_update(&s->fire, j);
	}
	while (n < max_out && s->n_running < s->max_running && s->ready.n) {
		struct sjob *j = s->ready.a[0];

		j->run = j->queue[0];
		memmove(&j->queue[0], &j->queue[1], (j->n_queued - 1) * sizeof(j->queue[0]));
		j->n_queued--;
		j->running = 1;
		j->expired_reported = 0;
		j->run.started_ms = now_ms;
		j->run.lag_ms = now_ms - j->run.scheduled_ms;
		heap_remove(&s->ready, j);
		if (s->n_running == s->alloc_running) {
			s->alloc_running = s->alloc_running ? s->alloc_running * 2 : 16;
			s->running = xreallocarray(s->running, s->alloc_running, sizeof(*s->running));
		}
		j->running_idx = s->n_running;
		s->running[s->n_running++] = j;
		out[n++] = j->run;
	}
	return n;
}

void sched_finished(struct sched *s, const char *name)
{
	struct sjob *j = find(s, name);

	if (!j || !j->running)
		return;
	s->running[j->running_idx] = s->running[--s->n_running];
	s->running[j->running_idx]->running_idx = j->running_idx;
	j->running = 0;
	if (j->removed)
		unlink_job(s, j);
	else
		fix_ready(s, j);
}

size_t sched_expired(struct sched *s, int64_t now_ms, struct sched_run *out, size_t max_out)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_running && n < max_out; i++) {
		struct sjob *j = s->running[i];

		if (j->expired_reported || !j->cfg.timeout_ms || now_ms < j->run.started_ms + j->cfg.timeout_ms)
			continue;
		j->expired_reported = 1;
		s->stats.timeouts++;
		out[n++] = j->run;
	}
	return n;
}

int64_t sched_next_wakeup(const struct sched *s, int64_t now_ms)
{
	int64_t t = INT64_MAX;

	if (!s->stopped) {
		if (s->fire.n)
			t = s->fire.a[0]->next_fire;
		if (s->ready.n && s->n_running < s->max_running)
			t = now_ms;
	}
	for (size_t i = 0; i < s->n_running; i++) {
		const struct sjob *j = s->running[i];

		if (!j->expired_reported && j->cfg.timeout_ms && j->run.started_ms + j->cfg.timeout_ms < t)
			t = j->run.started_ms + j->cfg.timeout_ms;
	}
	return t;
}

void sched_stop(struct sched *s)
{
	s->stopped = 1;
}

int sched_job_info(const struct sched *s, const char *name, struct sched_job_info *info)
{
	const struct sjob *j = find(s, name);

	if (!j || j->removed)
		return -1;
	info->next_fire_ms = j->next_fire;
	info->last_fire_ms = j->last_fire;
	info->running = j->running;
	info->running_since_ms = j->running ? j->run.started_ms : 0;
	info->running_scheduled_ms = j->running ? j->run.scheduled_ms : 0;
	info->queued = j->n_queued;
	return 0;
}

int sched_fire_times(const struct cron *cron, const struct tz *tz, int64_t from_ms, int64_t to_ms, size_t max,
                     int64_t **out, size_t *n, struct vigil_error *err)
{
	int64_t t, next;
	size_t alloc = 0;

	*out = NULL;
	*n = 0;
	/* the first fire time >= from: strictly after the second before */
	for (t = floor_div_ms(from_ms - 1);
	     cron_next(cron, tz, t, &next, NULL) == 0 && next * 1000 <= to_ms; t = next) {
		if (next * 1000 < from_ms)
			continue;
		if (*n == max) {
			free(*out);
			*out = NULL;
			*n = 0;
			return vigil_error_set(err, VIGIL_E_LIMIT, "more than %zu fire times in the range", max);
		}
		if (*n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			*out = xreallocarray(*out, alloc, sizeof(**out));
		}
		(*out)[(*n)++] = next * 1000;
	}
	return 0;
}

size_t sched_n_jobs(const struct sched *s)
{
	return s->n_jobs;
}

size_t sched_n_running(const struct sched *s)
{
	return s->n_running;
}

size_t sched_n_waiting(const struct sched *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->ready.n; i++)
		n += s->ready.a[i]->n_queued;
	for (size_t i = 0; i < s->n_running; i++)
		n += s->running[i]->n_queued;
	return n;
}

const struct sched_stats *sched_stats(const struct sched *s)
{
	return &s->stats;
}

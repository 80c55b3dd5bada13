/*
 * serve.c - the daemon loop: specs in, runs out.
 *
 * One thread owns everything that changes: it rescans the spec directory
 * (inotify, a periodic rescan, SIGHUP), ticks the scheduler on the store's
 * clock, claims each run in the store and hands it to a worker process,
 * heartbeats the claims, reaps the workers and enforces timeouts and the
 * shutdown grace period.  The API thread only reads copies and queues
 * triggers, under the same lock.  Signals arrive through a self-pipe, so the
 * loop is one poll() over the signal pipe, inotify, the API's wake pipe and
 * the workers' result pipes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adhoc.h"
#include "api.h"
#include "cmd.h"
#include "cron.h"
#include "log.h"
#include "outbox.h"
#include "plugin.h"
#include "pushed.h"
#include "sched.h"
#include "sdnotify.h"
#include "serve.h"
#include "spec.h"
#include "store.h"
#include "strbuf.h"
#include "timefmt.h"
#include "tz.h"
#include "run-pool.h"
#include "run-worker.h"
#include "xmalloc.h"
#include "banned.h"

#define SPEC_FILE_MAX (1024 * 1024)
/* After SIGTERM to a worker's group, how long before SIGKILL. */
#define KILL_GRACE_MS 5000
/* At exit, how long idle workers have to end once their stdin closed. */
#define POOL_EXIT_GRACE_MS 2000
/* How often the store's clock is read to correct ours. */
#define CLOCK_CHECK_MS 60000
/* Debounce of inotify events (editors write files in steps). */
#define INOTIFY_DELAY_MS 100
#define MAX_WAIT_MS 1000
/* While the store is unreachable, how often the loop asks again (the connection backs off on its own). */
#define STORE_RETRY_MS 1000
/* How often spec versions are compared across the nodes. */
#define CONFLICT_CHECK_MS 10000
/* How often a node asks the store for waiting ad-hoc runs (a POST to this node wakes it at once). */
#define ADHOC_POLL_MS 1000
/* The job label of ad-hoc runs in /metrics (no spec name contains ':'). */
#define ADHOC_METRICS_JOB "adhoc:"
/* How often the kept series are purged. */
#define PURGE_EVERY_MS (3600 * 1000)

struct slot {
	char *path;
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	char *text;                /* the valid version's text */
	struct job_spec *spec;     /* the valid version, NULL if none yet */
	struct tz *tz;
	char *error;               /* the file's latest version is invalid: why */
	int seen;
	/*
	 * The earliest fire time whose run could not be claimed (the store was
	 * full or failing), 0 if none: the next run that is claimed reaches
	 * back to it (misfire run_once), so no window goes unanalysed.
	 */
	int64_t uncovered_from;
};

enum stop_reason { STOP_NONE, STOP_TIMEOUT, STOP_SHUTDOWN, STOP_LOST };

struct running {
	struct sched_run run;
	struct run_claim claim;
	struct worker *w;          /* from sv->pool; given back when the run ends */
	int64_t started_mono_ns;
	int64_t next_heartbeat;
	enum stop_reason stop;
	int64_t kill_at;           /* SIGKILL at; 0: not signalled */
	int killed;
	int64_t timeout_ms;        /* the spec's, when the run started */
	int adhoc;                 /* an ad-hoc run (runner/adhoc.h): not the scheduler's */
	int64_t adhoc_deadline;    /* ad-hoc: stopped at this time (store clock) */
};

struct serve {
	const struct serve_options *opt;
	pthread_mutex_t lock;
	struct registry *reg;
	struct store *st;
	struct sched *sched;
	struct metrics *metrics;
	struct slot **slots;
	size_t n_slots;
	struct running **running;
	size_t n_running;
	struct run_pool *pool;     /* idle workers, reused for the next runs */
	char *specs_dir;
	int64_t clock_offset;
	int64_t clock_checked;     /* monotonic ms */
	int ready, stopping, hurry;
	int64_t stop_deadline;
	int wake_pipe[2];
	int inotify_fd;
	int64_t rescan_at;         /* our clock; INT64_MAX: none pending */
	int64_t next_periodic;
	int64_t next_purge;        /* our clock: when the kept series are purged next */
	struct api *api;
	char *info_path;
	/* The outbox's sender (docs/notify.md): a thread with its own store connection. */
	pthread_t notifier;
	int notifier_started;
	pthread_mutex_t notify_lock;
	pthread_cond_t notify_cond;
	int notify_stop, notify_kick;
	/* The store went away (PostgreSQL restarting): the schedule waits, then catches up. */
	int store_down;
	int64_t store_retry_at;
	/* Several nodes on one store (docs/scale-out.md) */
	int64_t next_cluster;      /* node heartbeat and rescue of runs whose lease ran out */
	int64_t next_conflicts;    /* spec versions compared */
	json_t *conflicts;         /* {job: true} run in different versions by alive nodes */
	/* Ad-hoc runs (runner/adhoc.h) */
	int64_t next_adhoc;        /* when the store is asked for waiting ad-hoc runs next */
	int adhoc_kick;            /* one was queued through this node's API: ask now */
};

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;

	if (write(sig_pipe[1], &b, 1) < 0) {
		/* the pipe is full: the loop will see the earlier bytes */
	}
	errno = saved;
}

static int64_t mono_ms(void)
{
	return time_mono_ns() / 1000000;
}

/*
 * Our clock corrected to the store's (the time every node agrees on).  The
 * loop's thread refreshes the offset; the API thread only reads it.
 */
static int64_t clock_now(struct serve *sv)
{
	int64_t db;

	if (mono_ms() - sv->clock_checked >= CLOCK_CHECK_MS || !sv->clock_checked) {
		sv->clock_checked = mono_ms();
		if (sv->st->backend->now(sv->st, &db, NULL) == 0)
			__atomic_store_n(&sv->clock_offset, db - time_now_ms(), __ATOMIC_RELAXED);
	}
	return time_now_ms() + __atomic_load_n(&sv->clock_offset, __ATOMIC_RELAXED);
}

static void wake(struct serve *sv)
{
	char b = 1;

	if (write(sv->wake_pipe[1], &b, 1) < 0) {
		/* full: a wake-up is pending anyway */
	}
}

/* ---- specs ------------------------------------------------------------------ */

static struct slot *slot_by_name(struct serve *sv, const char *name)
{
	for (size_t i = 0; i < sv->n_slots; i++)
		if (sv->slots[i]->spec && !strcmp(sv->slots[i]->spec->name, name))
			return sv->slots[i];
	return NULL;
}

static void slot_free(struct slot *s)
{
	if (!s)
		return;
	spec_free(s->spec);
	tz_free(s->tz);
	free(s->text);
	free(s->error);
	free(s->path);
	free(s);
}

static char *read_spec_file(const char *path, struct vigil_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f) {
		vigil_error_set(err, VIGIL_E_IO, "cannot read: %s", strerror(errno));
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		if (sb.len + n > SPEC_FILE_MAX) {
			vigil_error_set(err, VIGIL_E_LIMIT, "larger than %d bytes", SPEC_FILE_MAX);
			break;
		}
		strbuf_add(&sb, buf, n);
	}
	if (ferror(f) && !vigil_error_isset(err))
		vigil_error_set(err, VIGIL_E_IO, "cannot read: %s", strerror(errno));
	fclose(f);
	if (vigil_error_isset(err)) {
		strbuf_release(&sb);
		return NULL;
	}
	return strbuf_detach(&sb);
}

static void sched_cfg_of(const struct slot *s, struct sched_job_cfg *cfg, char *sid, size_t sid_size)
{
	const struct job_spec *spec = s->spec;

	snprintf(sid, sid_size, "%s|%s", spec->schedule_expr ? spec->schedule_expr : "",
	         spec->timezone ? spec->timezone : "");
	*cfg = (struct sched_job_cfg){
		.name = spec->name,
		.cron = spec->cron,
		.tz = s->tz,
		.schedule_id = sid,
		.misfire = spec->misfire,
		.max_catchup_ms = spec->max_catchup_ms,
		.timeout_ms = spec->timeout_ms,
	};
}

/* The latest fire time the store knows of for job, or INT64_MIN. */
static int64_t last_fire(struct serve *sv, const char *job)
{
	json_t *state = NULL, *v;
	int64_t t = INT64_MIN;
	struct vigil_error err = VIGIL_ERROR_INIT;

	if (sv->st->backend->job_state(sv->st, job, &state, &err)) {
		log_warn("serve", "job '%s': %s", job, err.msg);
		return t;
	}
	v = json_object_get(state, "last_fire");
	if (json_is_integer(v))
		t = json_integer_value(v);
	json_decref(state);
	return t;
}

static void report_invalid(struct slot *s, const struct diag *d, const char *extra)
{
	struct strbuf sb = STRBUF_INIT;
	char esc[1024];

	for (size_t i = 0; i < d->n; i++) {
		log_error("serve", "%s", log_escape(esc, sizeof(esc), d->msgs[i]));
		strbuf_addf(&sb, "%s%s", i ? "\n" : "", d->msgs[i]);
	}
	if (extra) {
		log_error("serve", "%s: %s", s->path, extra);
		strbuf_addf(&sb, "%s%s: %s", sb.len ? "\n" : "", s->path, extra);
	}
	free(s->error);
	s->error = strbuf_detach(&sb);
	if (s->spec)
		log_warn("serve", "job '%s': keeps running the previous valid version of '%s'", s->spec->name, s->path);
}

/* Tell the other nodes which version of job this node runs (text NULL: none any more). */
static void spec_version_seen(struct serve *sv, const char *job, const char *text)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	const struct store_cluster_ops *c = sv->st->backend->cluster;

	if (c && c->spec_seen(sv->st, sv->opt->node, job, text, &err))
		log_warn("serve", "job '%s': cannot record its spec version: %s", job, err.msg);
}

/* (Re)load one spec file; the caller holds the lock. */
static void load_slot(struct serve *sv, struct slot *s)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct diag d;
	struct job_spec *spec;
	struct slot *other;
	struct tz *tz = NULL;
	struct sched_job_cfg cfg;
	char *text = read_spec_file(s->path, &err), sid[CRON_MAX_EXPR + 256];
	int is_new_name;

	diag_init(&d, s->path);
	if (!text) {
		diag_add(&d, NULL, "%s", err.msg);
		report_invalid(s, &d, NULL);
		metrics_spec_reload(sv->metrics, 0);
		diag_release(&d);
		return;
	}
	spec = spec_parse(text, sv->specs_dir, sv->reg, &d);
	if (spec && spec->timezone && !(tz = tz_load(spec->timezone, &err)))
		diag_add(&d, "$.schedule.timezone", "%s", err.msg);
	if (!spec || d.n) {
		report_invalid(s, &d, NULL);
		goto rejected;
	}
	other = slot_by_name(sv, spec->name);
	if (other && other != s) {
		char msg[512];

		snprintf(msg, sizeof(msg), "job name '%s' is already used by '%s'", spec->name, other->path);
		report_invalid(s, &d, msg);
		goto rejected;
	}
	is_new_name = !s->spec || strcmp(s->spec->name, spec->name);
	if (s->spec && is_new_name) {
		log_info("serve", "job '%s' renamed to '%s' in '%s'", s->spec->name, spec->name, s->path);
		sched_job_remove(sv->sched, s->spec->name);
		spec_version_seen(sv, s->spec->name, NULL);
	}
	spec_free(s->spec);
	tz_free(s->tz);
	free(s->text);
	free(s->error);
	s->error = NULL;
	s->spec = spec;
	s->tz = tz;
	s->text = text;
	spec_version_seen(sv, spec->name, text);
	sched_cfg_of(s, &cfg, sid, sizeof(sid));
	if (sched_job_set(sv->sched, &cfg, clock_now(sv), is_new_name ? last_fire(sv, spec->name) : INT64_MIN,
	                  &err))
		log_error("serve", "job '%s': %s", spec->name, err.msg);
	log_info("serve", "job '%s' %s from '%s'%s%s", spec->name, is_new_name ? "loaded" : "reloaded", s->path,
	         spec->schedule_expr ? ", schedule " : " (no schedule: runs when triggered)",
	         spec->schedule_expr ? spec->schedule_expr : "");
	metrics_spec_reload(sv->metrics, 1);
	diag_release(&d);
	return;
rejected:
	metrics_spec_reload(sv->metrics, 0);
	spec_free(spec);
	tz_free(tz);
	free(text);
	diag_release(&d);
}

static int is_spec_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json");
}

/* Pick up added, edited and deleted spec files.  The caller holds the lock. */
static void rescan(struct serve *sv)
{
	DIR *dir = opendir(sv->specs_dir);
	struct dirent *de;
	size_t i, kept = 0;
	int removed = 0, again = 0;

	if (!dir) {
		log_error("serve", "cannot read the spec directory '%s': %s; keeping the jobs loaded", sv->specs_dir,
		          strerror(errno));
		return;
	}
	for (i = 0; i < sv->n_slots; i++)
		sv->slots[i]->seen = 0;
	while ((de = readdir(dir))) {
		struct slot *s = NULL;
		struct stat stt;
		char *path;

		if (!is_spec_name(de->d_name))
			continue;
		path = xasprintf("%s/%s", sv->specs_dir, de->d_name);
		if (stat(path, &stt) || !S_ISREG(stt.st_mode)) {
			free(path);
			continue;
		}
		for (i = 0; i < sv->n_slots; i++)
			if (!strcmp(sv->slots[i]->path, path))
				s = sv->slots[i];
		if (!s) {
			s = XNEW(struct slot);
			s->path = path;
			sv->slots = xreallocarray(sv->slots, sv->n_slots + 1, sizeof(*sv->slots));
			sv->slots[sv->n_slots++] = s;
		} else {
			free(path);
		}
		s->seen = 1;
		if (s->dev == stt.st_dev && s->ino == stt.st_ino && s->size == stt.st_size &&
		    s->mtime_ns == (int64_t)stt.st_mtim.tv_sec * 1000000000 + stt.st_mtim.tv_nsec)
			continue;
		s->dev = stt.st_dev;
		s->ino = stt.st_ino;
		s->size = stt.st_size;
		s->mtime_ns = (int64_t)stt.st_mtim.tv_sec * 1000000000 + stt.st_mtim.tv_nsec;
		load_slot(sv, s);
	}
	closedir(dir);
	for (i = 0; i < sv->n_slots; i++) {
		struct slot *s = sv->slots[i];

		if (s->seen) {
			sv->slots[kept++] = s;
			continue;
		}
		if (s->spec) {
			log_info("serve", "job '%s' removed ('%s' is gone)", s->spec->name, s->path);
			sched_job_remove(sv->sched, s->spec->name);
			spec_version_seen(sv, s->spec->name, NULL);
			removed = 1;
		}
		slot_free(s);
	}
	sv->n_slots = kept;
	/* a file refused for using a taken job name may be valid now: load it again */
	for (i = 0; removed && i < sv->n_slots; i++) {
		if (sv->slots[i]->error && !sv->slots[i]->spec) {
			sv->slots[i]->mtime_ns = -1;
			again = 1;
		}
	}
	if (again)
		rescan(sv);
}

/* ---- runs ------------------------------------------------------------------- */

static void signal_run(struct running *rr, int sig)
{
	worker_signal(rr->w, sig);
}

/*
 * Hand the request to a worker of the pool.  An idle worker may have died
 * since its last run (its request then cannot be sent): one more try, with
 * a new worker.  A new worker that cannot take it still gets the run: it
 * ended, and its end (a failed exec, an exit status) says why when it is
 * reaped.  Returns 0 with rr->w set, or -1 with err.
 */
static int dispatch(struct serve *sv, struct running *rr, const struct worker_request *req, struct vigil_error *err)
{
	for (;;) {
		int last = 0;
		struct worker *w = run_pool_get(sv->pool, &last, err);

		if (!w)
			return -1;
		if (worker_send(w, req, last, err) && w->runs > 1) {
			log_warn("serve", "%s; trying a new worker", err->msg);
			vigil_error_clear(err);
			run_pool_put(sv->pool, w, time_mono_ns() / 1000000);
			continue;
		}
		if (err->code)
			log_warn("serve", "%s", err->msg);
		vigil_error_clear(err);
		rr->w = w;
		return 0;
	}
}

static void start_run(struct serve *sv, const struct sched_run *r, int64_t now)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct slot *s = slot_by_name(sv, r->job);
	struct running *rr;
	struct worker_request req;
	int64_t window_from = 0, cover_from;
	int claimed = 0, done;
	char when[40];

	time_format_iso(r->scheduled_ms, when, sizeof(when));
	if (!s) {
		sched_finished(sv->sched, r->job);
		return;
	}
	cover_from = r->cover_from_ms;
	if (s->uncovered_from && s->uncovered_from < cover_from) {
		/* earlier runs could not be stored: cover them, within max_catchup_age */
		int64_t oldest = r->scheduled_ms - s->spec->max_catchup_ms;

		cover_from = s->uncovered_from > oldest ? s->uncovered_from : oldest;
	}
	if (s->spec->window_ms && cover_from < r->scheduled_ms)
		window_from = cover_from - s->spec->window_ms;
	rr = XNEW(struct running);
	rr->run = *r;
	rr->timeout_ms = s->spec->timeout_ms;
	if (sv->st->backend->run_claim(sv->st, r->job, r->scheduled_ms, window_from, sched_trigger_name(r->trigger),
	                               sv->opt->node, sv->opt->lease_ms, &rr->claim, &claimed, &err)) {
		if (s->spec->misfire == MISFIRE_RUN_ONCE && r->trigger != TRIGGER_MANUAL) {
			if (!s->uncovered_from || cover_from < s->uncovered_from)
				s->uncovered_from = cover_from;
			log_error("serve", "job '%s': run for %s: %s; the next run that can be stored covers its window "
			          "(misfire: run_once)", r->job, when, err.msg);
		} else {
			log_error("serve", "job '%s': run for %s: %s", r->job, when, err.msg);
		}
		/*
		 * The store is unreachable: pause the schedule until it answers;
		 * the fire times missed meanwhile follow the misfire policy.
		 */
		if (!sv->store_down)
			log_warn("serve", "the store is unavailable: no runs start until it answers again");
		sv->store_down = 1;
		sv->store_retry_at = now + STORE_RETRY_MS;
		goto not_started;
	}
	if (claimed)
		s->uncovered_from = 0;
	if (!claimed) {
		log_info("serve", "job '%s': the run for %s is done or held by another node; not run again", r->job,
		         when);
		goto not_started;
	}
	req = (struct worker_request){
		.spec_text = s->text,
		.spec_path = s->path,
		.spec_dir = sv->specs_dir,
		.store_path = sv->opt->store_path,
		.node = sv->opt->node,
		.run_id = rr->claim.id,
		.scheduled_ms = r->scheduled_ms,
		.window_from_ms = rr->claim.window_from_ms,
		.dry_run = sv->opt->dry_run,
		.plugin_dirs = sv->opt->plugin_dirs,
		.n_plugin_dirs = sv->opt->n_plugin_dirs,
		.state_dir = sv->opt->state_dir,
	};
	if (dispatch(sv, rr, &req, &err)) {
		log_error("serve", "job '%s': run %lld: %s", r->job, (long long)rr->claim.id, err.msg);
		sv->st->backend->run_release(sv->st, rr->claim.id, sv->opt->node, "failed", err.msg, &done, NULL);
		metrics_run(sv->metrics, r->job, "failed", 0);
		goto not_started;
	}
	rr->started_mono_ns = time_mono_ns();
	rr->next_heartbeat = now + sv->opt->lease_ms / 3;
	if (r->trigger == TRIGGER_SCHEDULE)
		metrics_sched_lag(sv->metrics, (double)r->lag_ms / 1000);
	sv->running = xreallocarray(sv->running, sv->n_running + 1, sizeof(*sv->running));
	sv->running[sv->n_running++] = rr;
	log_info("serve", "job '%s': run %lld for %s started (%s, attempt %d, worker %ld, its run %u)", r->job,
	         (long long)rr->claim.id, when, sched_trigger_name(r->trigger), rr->claim.attempts, (long)rr->w->pid,
	         rr->w->runs);
	return;
not_started:
	sched_finished(sv->sched, r->job);
	free(rr);
}

/* Start a claimed ad-hoc run of spec text; the caller holds the lock. */
static void spawn_adhoc(struct serve *sv, const struct run_claim *claim, const char *job, const char *text,
                        int64_t now)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct running *rr;
	struct worker_request req;
	struct job_spec *spec;
	char what[64];
	struct diag d;
	int done;

	snprintf(what, sizeof(what), "ad-hoc run %lld", (long long)claim->id);
	diag_init(&d, what);
	spec = adhoc_refused(text, &d) ? NULL : spec_parse(text, adhoc_spec_dir(), sv->reg, &d);
	if (!spec || d.n) {
		/* valid when it was queued: a detector may be missing on this node */
		log_error("serve", "job '%s': %s", job, d.n ? d.msgs[0] : "invalid spec");
		sv->st->backend->run_release(sv->st, claim->id, sv->opt->node, "failed", d.n ? d.msgs[0] : "invalid spec",
		                             &done, NULL);
		metrics_run(sv->metrics, ADHOC_METRICS_JOB, "failed", 0);
		spec_free(spec);
		diag_release(&d);
		return;
	}
	diag_release(&d);
	rr = XNEW(struct running);
	rr->adhoc = 1;
	rr->claim = *claim;
	snprintf(rr->run.job, sizeof(rr->run.job), "%s", job);
	rr->run.scheduled_ms = claim->scheduled_ms;
	rr->run.cover_from_ms = claim->scheduled_ms;
	rr->run.trigger = TRIGGER_MANUAL;
	rr->timeout_ms = spec->timeout_ms;
	rr->adhoc_deadline = now + spec->timeout_ms;
	spec_free(spec);
	req = (struct worker_request){
		.spec_text = text,
		.spec_path = what,
		.spec_dir = adhoc_spec_dir(),
		.store_path = sv->opt->store_path,
		.node = sv->opt->node,
		.run_id = claim->id,
		.scheduled_ms = claim->scheduled_ms,
		.dry_run = sv->opt->dry_run,
		.adhoc = 1,
		.plugin_dirs = sv->opt->plugin_dirs,
		.n_plugin_dirs = sv->opt->n_plugin_dirs,
	};
	if (dispatch(sv, rr, &req, &err)) {
		log_error("serve", "job '%s': run %lld: %s", job, (long long)claim->id, err.msg);
		sv->st->backend->run_release(sv->st, claim->id, sv->opt->node, "failed", err.msg, &done, NULL);
		metrics_run(sv->metrics, ADHOC_METRICS_JOB, "failed", 0);
		free(rr);
		return;
	}
	rr->started_mono_ns = time_mono_ns();
	rr->next_heartbeat = now + sv->opt->lease_ms / 3;
	sv->running = xreallocarray(sv->running, sv->n_running + 1, sizeof(*sv->running));
	sv->running[sv->n_running++] = rr;
	log_info("serve", "job '%s': ad-hoc run %lld started (attempt %d, worker %ld, its run %u)", job,
	         (long long)claim->id, claim->attempts, (long)rr->w->pid, rr->w->runs);
}

/*
 * Ad-hoc runs (runner/adhoc.h): any node claims the waiting ones while it
 * runs fewer than --concurrency runs.  The store is asked every
 * ADHOC_POLL_MS, and at once after a POST to this node.  The caller holds the lock.
 */
static void start_adhoc(struct serve *sv, int64_t now)
{
	const struct store_adhoc_ops *a = sv->st->backend->adhoc;

	if (!a || sv->stopping || sv->store_down || (now < sv->next_adhoc && !sv->adhoc_kick))
		return;
	sv->next_adhoc = now + ADHOC_POLL_MS;
	sv->adhoc_kick = 0;
	while (sv->n_running < sv->opt->concurrency) {
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct run_claim claim;
		char *job = NULL, *text = NULL;
		int claimed = 0;

		if (a->claim(sv->st, sv->opt->node, sv->opt->lease_ms, &claim, &job, &text, &claimed, &err)) {
			log_warn("serve", "cannot claim ad-hoc runs: %s", err.msg);
			break;
		}
		if (!claimed)
			break;
		spawn_adhoc(sv, &claim, job, text, now);
		free(job);
		free(text);
	}
}

static void describe_exit(int status, char *buf, size_t size)
{
	if (WIFSIGNALED(status))
		snprintf(buf, size, "the worker was killed by signal %d", WTERMSIG(status));
	else
		snprintf(buf, size, "the worker exited with status %d without a result", WEXITSTATUS(status));
}

static void kick_notifier(struct serve *sv);

static void end_run(struct serve *sv, struct running *rr)
{
	json_t *res = worker_result(rr->w), *v;
	double secs = (double)(time_mono_ns() - rr->started_mono_ns) / 1e9;
	const char *status, *key;
	char why[256], timeout[32];
	int done = 0;

	if (res && json_is_true(json_object_get(res, "lost")))
		rr->stop = STOP_LOST;
	if (rr->stop == STOP_LOST) {
		status = "lost";
	} else if (res && json_is_string(json_object_get(res, "state"))) {
		status = json_string_value(json_object_get(res, "state"));
		metrics_processed(sv->metrics, (uint64_t)json_integer_value(json_object_get(res, "series")),
		                  (uint64_t)json_integer_value(json_object_get(res, "points")));
		json_object_foreach(json_object_get(res, "detector_seconds"), key, v)
			metrics_detector_time(sv->metrics, key, json_number_value(v));
		if (json_is_true(json_object_get(res, "source_error")))
			metrics_source_error(sv->metrics, json_string_value(json_object_get(res, "source")));
		metrics_notifications(sv->metrics, (uint64_t)json_integer_value(json_object_get(res, "notify_sent")),
		                      (uint64_t)json_integer_value(json_object_get(res, "notify_failed")));
		kick_notifier(sv);
	} else if (rr->stop == STOP_TIMEOUT) {
		duration_format(rr->timeout_ms, timeout, sizeof(timeout));
		snprintf(why, sizeof(why), "timed out after %s", timeout);
		sv->st->backend->run_release(sv->st, rr->claim.id, sv->opt->node, "failed", why, &done, NULL);
		status = "timeout";
	} else if (rr->stop == STOP_SHUTDOWN) {
		sv->st->backend->run_release(sv->st, rr->claim.id, sv->opt->node, "interrupted",
		                             "interrupted: the daemon stopped during the run", &done, NULL);
		status = "interrupted";
	} else {
		int exec_errno = rr->w->reaped ? worker_exec_errno(rr->w) : 0;

		if (exec_errno)
			snprintf(why, sizeof(why), "cannot run '%s': %s", sv->opt->exe, strerror(exec_errno));
		else if (rr->w->reaped)
			describe_exit(rr->w->status, why, sizeof(why));
		else
			snprintf(why, sizeof(why), "the worker answered without a result");
		sv->st->backend->run_release(sv->st, rr->claim.id, sv->opt->node, "failed", why, &done, NULL);
		log_error("serve", "job '%s': run %lld: %s", rr->run.job, (long long)rr->claim.id, why);
		status = "failed";
	}
	metrics_run(sv->metrics, rr->adhoc ? ADHOC_METRICS_JOB : rr->run.job, status, secs);
	log_info("serve", "job '%s': run %lld %s in %.3fs%s%s", rr->run.job, (long long)rr->claim.id, status, secs,
	         res && json_is_string(json_object_get(res, "outcome")) ? ", " : "",
	         res && json_is_string(json_object_get(res, "outcome")) ?
	         json_string_value(json_object_get(res, "outcome")) : "");
	json_decref(res);
	if (!rr->adhoc)
		sched_finished(sv->sched, rr->run.job);
	run_pool_put(sv->pool, rr->w, time_mono_ns() / 1000000);
	rr->w = NULL;
}

/*
 * Finish the runs whose worker answered (it goes back to the pool) or
 * exited (its result pipe read to the end first).
 */
static void reap(struct serve *sv)
{
	size_t kept = 0;

	for (size_t i = 0; i < sv->n_running; i++) {
		struct running *rr = sv->running[i];
		struct worker *w = rr->w;

		if (!w->reaped && !w->answered) {
			pid_t p = waitpid(w->pid, &w->status, WNOHANG);

			if (p == w->pid)
				w->reaped = 1;
		}
		if (w->reaped)
			while (!worker_read(w))
				;   /* the writer is gone: read to the end */
		if (w->answered || (w->reaped && w->result_fd < 0)) {
			end_run(sv, rr);
			free(rr);
			continue;
		}
		sv->running[kept++] = rr;
	}
	sv->n_running = kept;
}

/* The run's claim is gone because its worker completed it (not because another node took it). */
static int finished_here(struct serve *sv, const struct running *rr)
{
	json_t *run = NULL;
	const char *state, *by;
	int mine;

	if (sv->st->backend->run_get(sv->st, rr->claim.id, &run, NULL) || !run)
		return 0;
	state = json_string_value(json_object_get(run, "state"));
	by = json_string_value(json_object_get(run, "locked_by"));
	mine = state && by && strcmp(state, "running") && !strcmp(by, sv->opt->node);
	json_decref(run);
	return mine;
}

static void heartbeats(struct serve *sv, int64_t now)
{
	for (size_t i = 0; i < sv->n_running; i++) {
		struct running *rr = sv->running[i];
		struct vigil_error err = VIGIL_ERROR_INIT;
		int held = 1;

		if (rr->w->reaped || rr->stop == STOP_LOST || now < rr->next_heartbeat)
			continue;
		rr->next_heartbeat = now + sv->opt->lease_ms / 3;
		if (sv->st->backend->run_heartbeat(sv->st, rr->claim.id, sv->opt->node, sv->opt->lease_ms, &held, &err)) {
			log_warn("serve", "job '%s': run %lld: heartbeat: %s", rr->run.job, (long long)rr->claim.id,
			         err.msg);
			continue;
		}
		if (!held && finished_here(sv, rr))
			continue;   /* the worker recorded its result already: the daemon reaps it soon */
		if (!held) {
			log_error("serve", "job '%s': run %lld lost its claim (lease expired and taken over); stopping it",
			          rr->run.job, (long long)rr->claim.id);
			rr->stop = STOP_LOST;
			rr->kill_at = now + KILL_GRACE_MS;
			signal_run(rr, SIGTERM);
		}
	}
}

static void timeouts(struct serve *sv, int64_t now)
{
	struct sched_run exp[16];
	size_t n;

	for (size_t i = 0; i < sv->n_running; i++) {
		struct running *rr = sv->running[i];

		if (!rr->adhoc || rr->stop != STOP_NONE || now < rr->adhoc_deadline)
			continue;
		log_warn("serve", "job '%s': ad-hoc run %lld is past its timeout; stopping it", rr->run.job,
		         (long long)rr->claim.id);
		rr->stop = STOP_TIMEOUT;
		rr->kill_at = now + KILL_GRACE_MS;
		signal_run(rr, SIGTERM);
	}

	while ((n = sched_expired(sv->sched, now, exp, 16)) > 0) {
		for (size_t k = 0; k < n; k++) {
			for (size_t i = 0; i < sv->n_running; i++) {
				struct running *rr = sv->running[i];

				if (rr->adhoc || strcmp(rr->run.job, exp[k].job) || rr->stop != STOP_NONE)
					continue;
				log_warn("serve", "job '%s': run %lld is past its timeout; stopping it", rr->run.job,
				         (long long)rr->claim.id);
				rr->stop = STOP_TIMEOUT;
				rr->kill_at = now + KILL_GRACE_MS;
				signal_run(rr, SIGTERM);
			}
		}
		if (n < 16)
			break;
	}
}

static void kills(struct serve *sv, int64_t now)
{
	for (size_t i = 0; i < sv->n_running; i++) {
		struct running *rr = sv->running[i];

		if (sv->stopping && rr->stop == STOP_NONE && (sv->hurry || now >= sv->stop_deadline)) {
			log_warn("serve", "job '%s': run %lld still going after the grace period; interrupting it",
			         rr->run.job, (long long)rr->claim.id);
			rr->stop = STOP_SHUTDOWN;
			rr->kill_at = now + KILL_GRACE_MS;
			signal_run(rr, SIGTERM);
		}
		if (rr->kill_at && !rr->killed && now >= rr->kill_at) {
			rr->killed = 1;
			signal_run(rr, SIGKILL);
		}
	}
}

/*
 * Slack and webhook messages: workers write them to the outbox with their
 * run; this thread delivers what is due (throttled, with retries), sleeping
 * until the next message is due or a run ends, and reports sent, failed and
 * pending to /metrics.  It has its own store connection (one transaction at
 * a time per connection), and another daemon or `vigil outbox send` on the
 * same store shares the work safely (claims, runner/outbox.h).
 */
#define NOTIFY_MAX_SLEEP_MS 5000

static void *notifier_main(void *arg)
{
	struct serve *sv = arg;
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct store *st = store_open(sv->opt->store_path, &err);
	struct outbox_sender *sender;
	struct outbox_stats seen = { 0 };

	if (!st) {
		log_error("outbox", "notifications will not be delivered: %s", err.msg);
		return NULL;
	}
	sender = outbox_sender_new(st);
	pthread_mutex_lock(&sv->notify_lock);
	while (!sv->notify_stop) {
		int64_t next = INT64_MAX, now;
		const struct outbox_stats *stats;
		json_t *counts = NULL;
		struct timespec until;

		sv->notify_kick = 0;
		pthread_mutex_unlock(&sv->notify_lock);
		vigil_error_clear(&err);
		if (!sv->opt->dry_run && outbox_send_due(sender, time_now_ms() + 1000, &next, &err))
			log_error("outbox", "%s", err.msg);
		stats = outbox_sender_stats(sender);
		metrics_notifications(sv->metrics, stats->sent - seen.sent, stats->failed - seen.failed);
		seen = *stats;
		if (!st->backend->notify->counts(st, &counts, NULL)) {
			metrics_set_pending(sv->metrics, (uint64_t)(json_integer_value(json_object_get(counts, "pending")) +
			                                             json_integer_value(json_object_get(counts, "sending"))));
			json_decref(counts);
		}
		now = time_now_ms();
		if (next - now > NOTIFY_MAX_SLEEP_MS || next == INT64_MAX)
			next = now + NOTIFY_MAX_SLEEP_MS;
		if (next < now + 10)
			next = now + 10;
		until.tv_sec = (time_t)(next / 1000);
		until.tv_nsec = (long)(next % 1000) * 1000000L;
		pthread_mutex_lock(&sv->notify_lock);
		if (!sv->notify_stop && !sv->notify_kick)
			pthread_cond_timedwait(&sv->notify_cond, &sv->notify_lock, &until);
	}
	pthread_mutex_unlock(&sv->notify_lock);
	outbox_sender_free(sender);
	store_close(st);
	return NULL;
}

/* A run ended: its messages (if any) are in the outbox; wake the sender. */
static void kick_notifier(struct serve *sv)
{
	pthread_mutex_lock(&sv->notify_lock);
	sv->notify_kick = 1;
	pthread_cond_signal(&sv->notify_cond);
	pthread_mutex_unlock(&sv->notify_lock);
}

static void stop_notifier(struct serve *sv)
{
	if (!sv->notifier_started)
		return;
	pthread_mutex_lock(&sv->notify_lock);
	sv->notify_stop = 1;
	pthread_cond_signal(&sv->notify_cond);
	pthread_mutex_unlock(&sv->notify_lock);
	pthread_join(sv->notifier, NULL);   /* a delivery under way finishes (its timeout at most) */
	sv->notifier_started = 0;
}

/*
 * Queue the runs that need re-running: at start (node set: this node's
 * runs are marked interrupted first), and periodically (node NULL) for runs
 * whose node died, so that another node takes them over after the lease.
 */
static void recover(struct serve *sv, const char *node)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *runs = NULL, *r;
	size_t i;

	if (sv->st->backend->runs_recover(sv->st, node, &runs, &err)) {
		log_error("serve", "recovering interrupted runs: %s", err.msg);
		return;
	}
	json_array_foreach(runs, i, r) {
		const char *job = json_string_value(json_object_get(r, "job"));
		const char *state = json_string_value(json_object_get(r, "state"));
		int64_t t = json_integer_value(json_object_get(r, "scheduled_for"));
		char when[40];

		time_format_iso(t, when, sizeof(when));
		if (json_is_string(json_object_get(r, "trigger")) &&
		    !strcmp(json_string_value(json_object_get(r, "trigger")), "adhoc"))
			continue;   /* claimed by start_adhoc(), by any node */
		if (!job || !slot_by_name(sv, job)) {
			if (node)
				log_warn("serve", "run %lld of job '%s' for %s was interrupted, but no spec defines the job "
				         "now", (long long)json_integer_value(json_object_get(r, "id")), job ? job : "?", when);
			continue;
		}
		vigil_error_clear(&err);
		if (sched_enqueue(sv->sched, job, t, t, TRIGGER_RECOVERY, &err)) {
			if (node)
				log_warn("serve", "job '%s': cannot re-run %s: %s", job, when, err.msg);
		} else if (node || !state || strcmp(state, "running")) {
			log_info("serve", "job '%s': re-running the interrupted run for %s", job, when);
		} else {
			log_warn("serve", "job '%s': the run for %s lost its node (lease expired); re-running it", job, when);
		}
	}
	json_decref(runs);
}

/*
 * Several nodes: say this node is alive, take over runs whose node died,
 * and now and then compare the spec versions the alive nodes run.  The
 * caller holds the lock.
 */
static void cluster_tick(struct serve *sv, int64_t now)
{
	const struct store_cluster_ops *c = sv->st->backend->cluster;
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *status = NULL, *v, *conflicts;
	size_t i, alive = 0;

	if (now < sv->next_cluster || sv->store_down)
		return;
	sv->next_cluster = now + sv->opt->lease_ms / 3;
	if (c && c->node_beat(sv->st, sv->opt->node, PACKAGE_VERSION, (long)getpid(), &err))
		log_warn("serve", "cannot record this node's heartbeat: %s", err.msg);
	/* a new version of a pushed detector the specs use is materialised (and reported) before a run needs it */
	pushed_sync(sv->reg->pushed);
	recover(sv, NULL);
	if (!c || now < sv->next_conflicts)
		return;
	sv->next_conflicts = now + CONFLICT_CHECK_MS;
	vigil_error_clear(&err);
	if (c->status(sv->st, 2 * sv->opt->lease_ms, 0, &status, &err)) {
		log_warn("serve", "cannot read the cluster's state: %s", err.msg);
		return;
	}
	json_array_foreach(json_object_get(status, "nodes"), i, v)
		alive += json_integer_value(json_object_get(v, "alive")) != 0;
	conflicts = json_object();
	json_array_foreach(json_object_get(status, "spec_conflicts"), i, v) {
		const char *job = json_string_value(json_object_get(v, "job"));

		if (!json_object_get(sv->conflicts, job)) {
			char *desc = json_dumps(json_object_get(v, "versions"), JSON_COMPACT);

			log_warn("serve", "job '%s' runs in different spec versions across the nodes: %s; deploy the "
			         "same spec directory to every node", job, desc);
			free(desc);
		}
		json_object_set_new(conflicts, job, json_true());
	}
	json_decref(sv->conflicts);
	sv->conflicts = conflicts;
	metrics_set_cluster(sv->metrics, alive, json_object_size(conflicts));
	json_decref(status);
}

/* The store failed: ask it again now and then; the schedule resumes (and catches up) when it answers. */
static void store_probe(struct serve *sv, int64_t now)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	int64_t t;

	if (!sv->store_down || now < sv->store_retry_at)
		return;
	if (sv->st->backend->now(sv->st, &t, &err)) {
		sv->store_retry_at = now + STORE_RETRY_MS;
		return;
	}
	sv->store_down = 0;
	sv->clock_checked = 0;
	/* another node may have caught up already: start from the latest fire time the store knows */
	for (size_t i = 0; i < sv->n_slots; i++)
		if (sv->slots[i]->spec)
			sched_job_seen(sv->sched, sv->slots[i]->spec->name, last_fire(sv, sv->slots[i]->spec->name));
	log_info("serve", "the store answers again: resuming the schedule (missed fire times follow each job's "
	         "misfire policy)");
}

/* ---- for the API ---------------------------------------------------------------- */

int serve_ready(struct serve *sv)
{
	int r;

	pthread_mutex_lock(&sv->lock);
	r = sv->ready && !sv->stopping;
	pthread_mutex_unlock(&sv->lock);
	return r;
}

/* API v1 has one time form: integer ms since the epoch (docs/api.md). */
static json_t *time_or_null(int64_t ms)
{
	if (ms == INT64_MAX || ms == INT64_MIN || ms == 0)
		return json_null();
	return json_integer((json_int_t)ms);
}

static json_t *job_summary(struct serve *sv, const struct slot *s)
{
	struct sched_job_info info;
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(s->spec->name));
	json_object_set_new(o, "file", json_string(s->path));
	json_object_set_new(o, "schedule", s->spec->schedule_expr ? json_string(s->spec->schedule_expr) : json_null());
	json_object_set_new(o, "timezone", s->spec->timezone ? json_string(s->spec->timezone) : json_null());
	if (sched_job_info(sv->sched, s->spec->name, &info) == 0) {
		json_object_set_new(o, "next_run", time_or_null(info.next_fire_ms));
		json_object_set_new(o, "running", json_boolean(info.running));
		json_object_set_new(o, "running_since", info.running ? time_or_null(info.running_since_ms) : json_null());
		json_object_set_new(o, "queued", json_integer((json_int_t)info.queued));
	}
	json_object_set_new(o, "error", s->error ? json_string(s->error) : json_null());
	if (sv->conflicts)
		json_object_set_new(o, "spec_conflict", json_boolean(json_object_get(sv->conflicts, s->spec->name)));
	return o;
}

static int cmp_names(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;

	return strcmp(json_string_value(json_object_get(x, "name")), json_string_value(json_object_get(y, "name")));
}

json_t *serve_jobs_json(struct serve *sv)
{
	json_t *arr = json_array(), **items;
	size_t n = 0;

	pthread_mutex_lock(&sv->lock);
	items = xcalloc(sv->n_slots + 1, sizeof(*items));
	for (size_t i = 0; i < sv->n_slots; i++)
		if (sv->slots[i]->spec)
			items[n++] = job_summary(sv, sv->slots[i]);
	pthread_mutex_unlock(&sv->lock);
	qsort(items, n, sizeof(*items), cmp_names);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	return arr;
}

json_t *serve_job_json(struct serve *sv, const char *name)
{
	json_t *o = NULL;
	struct slot *s;
	char buf[32];

	pthread_mutex_lock(&sv->lock);
	s = slot_by_name(sv, name);
	if (s) {
		o = job_summary(sv, s);
		json_object_set_new(o, "spec", json_deep_copy(s->spec->root));
		json_object_set_new(o, "misfire", json_string(s->spec->misfire == MISFIRE_SKIP ? "skip" : "run_once"));
		duration_format(s->spec->max_catchup_ms, buf, sizeof(buf));
		json_object_set_new(o, "max_catchup_age", json_string(buf));
		duration_format(s->spec->timeout_ms, buf, sizeof(buf));
		json_object_set_new(o, "timeout", json_string(buf));
	}
	pthread_mutex_unlock(&sv->lock);
	return o;
}

int serve_trigger(struct serve *sv, const char *name, int64_t *scheduled_ms, struct vigil_error *err)
{
	int rc;

	pthread_mutex_lock(&sv->lock);
	if (sv->stopping) {
		pthread_mutex_unlock(&sv->lock);
		return vigil_error_set(err, VIGIL_E_INTERNAL, "the daemon is stopping");
	}
	if (!slot_by_name(sv, name)) {
		pthread_mutex_unlock(&sv->lock);
		return vigil_error_set(err, VIGIL_E_USAGE, "no job named '%s'", name);
	}
	*scheduled_ms = time_now_ms() + __atomic_load_n(&sv->clock_offset, __ATOMIC_RELAXED);
	rc = sched_enqueue(sv->sched, name, *scheduled_ms, *scheduled_ms, TRIGGER_MANUAL, err);
	pthread_mutex_unlock(&sv->lock);
	if (rc == 0) {
		log_info("serve", "job '%s': run requested through the API", name);
		wake(sv);
	}
	return rc;
}

char *serve_adhoc_check(struct serve *sv, const char *text, struct diag *d)
{
	struct job_spec *spec;
	char *job = NULL;

	if (adhoc_refused(text, d))
		return NULL;   /* before parsing: an "exec" detector would be started to describe itself */
	pthread_mutex_lock(&sv->lock);   /* the loop's thread uses the registry too */
	spec = spec_parse(text, adhoc_spec_dir(), sv->reg, d);
	pthread_mutex_unlock(&sv->lock);
	if (spec && !d->n)
		job = xasprintf("%s%s", ADHOC_JOB_PREFIX, spec->name);
	spec_free(spec);
	return job;
}

void serve_adhoc_queued(struct serve *sv)
{
	pthread_mutex_lock(&sv->lock);
	sv->adhoc_kick = 1;
	pthread_mutex_unlock(&sv->lock);
	wake(sv);
}

struct metrics *serve_metrics(struct serve *sv)
{
	return sv->metrics;
}

const struct registry *serve_registry(struct serve *sv)
{
	return sv->reg;   /* loaded before the API starts, never changed after */
}

int serve_specs_writable(struct serve *sv)
{
	return !sv->opt->specs_read_only;
}

void serve_rescan_soon(struct serve *sv)
{
	pthread_mutex_lock(&sv->lock);
	if (sv->rescan_at == INT64_MAX)
		sv->rescan_at = clock_now(sv);
	pthread_mutex_unlock(&sv->lock);
}

/* ---- the loop ------------------------------------------------------------------- */

static void update_gauges(struct serve *sv)
{
	size_t invalid = 0;
	const struct sched_stats *ss = sched_stats(sv->sched);

	for (size_t i = 0; i < sv->n_slots; i++)
		invalid += sv->slots[i]->error != NULL;
	metrics_set_gauges(sv->metrics, sched_n_jobs(sv->sched), sv->n_running, sched_n_waiting(sv->sched), invalid);
	metrics_set_sched(sv->metrics, ss->skipped, ss->coalesced);
}

static void handle_signals(struct serve *sv, int64_t now)
{
	unsigned char buf[64];
	ssize_t n;

	while ((n = read(sig_pipe[0], buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == SIGHUP) {
				log_info("serve", "SIGHUP: rescanning '%s'", sv->specs_dir);
				sv->rescan_at = now;
			} else if (buf[i] == SIGTERM || buf[i] == SIGINT) {
				if (sv->stopping) {
					sv->hurry = 1;
					continue;
				}
				pthread_mutex_lock(&sv->lock);
				sv->stopping = 1;
				sched_stop(sv->sched);
				pthread_mutex_unlock(&sv->lock);
				sv->stop_deadline = now + sv->opt->grace_ms;
				sdnotify_stopping();
				log_info("serve", "%s: taking no new runs; %zu running, waiting up to %llds for them",
				         buf[i] == SIGTERM ? "SIGTERM" : "SIGINT", sv->n_running,
				         (long long)(sv->opt->grace_ms / 1000));
			}
		}
	}
}

static void drain_fd(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

static int write_info(struct serve *sv)
{
	char *tmp = xasprintf("%s.tmp", sv->info_path);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "pid", (json_int_t)getpid(), "listen", api_address(sv->api),
	                      "node", sv->opt->node, "specs", sv->specs_dir);
	char *url = xasprintf("http://%s", api_address(sv->api));
	int rc;

	json_object_set_new(o, "url", json_string(url));
	rc = json_dump_file(o, tmp, JSON_INDENT(2)) || rename(tmp, sv->info_path);
	if (rc)
		log_warn("serve", "cannot write '%s': %s", sv->info_path, strerror(errno));
	json_decref(o);
	free(url);
	free(tmp);
	return rc;
}

/* Drop the series windows kept around alerts once they are older than the retention (docs/ui.md). */
static void purge_series(struct serve *sv, int64_t now)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	int64_t keep = sv->opt->series_retention_ms ? sv->opt->series_retention_ms : STORE_SERIES_RETENTION_DEFAULT_MS;
	int64_t n = 0;

	if (!sv->st->backend->series_purge)
		return;
	if (sv->st->backend->series_purge(sv->st, now - keep, &n, &err))
		log_warn("serve", "%s", err.msg);
	else if (n)
		log_info("serve", "purged %lld series windows of runs older than the retention", (long long)n);
	if (!sv->st->backend->adhoc)
		return;
	vigil_error_clear(&err);
	if (sv->st->backend->adhoc->purge(sv->st, now - keep, &n, &err))
		log_warn("serve", "%s", err.msg);
	else if (n)
		log_info("serve", "purged %lld ad-hoc runs older than the retention", (long long)n);
}

static void loop(struct serve *sv)
{
	struct sched_run *batch = xcalloc(64, sizeof(*batch));

	for (;;) {
		int64_t now = clock_now(sv), next;
		struct pollfd *pfd;
		size_t n = 0, nfd;
		int timeout;

		handle_signals(sv, now);
		sdnotify_watchdog(time_mono_ns() / 1000000);   /* the loop wakes at least every MAX_WAIT_MS */
		if (now >= sv->next_periodic) {
			sv->next_periodic = now + sv->opt->rescan_ms;
			if (sv->rescan_at == INT64_MAX)
				sv->rescan_at = now;
		}
		if (now >= sv->next_purge) {
			sv->next_purge = now + PURGE_EVERY_MS;
			purge_series(sv, now);
		}
		pthread_mutex_lock(&sv->lock);
		reap(sv);   /* workers that answered are idle again before new runs are handed out */
		if (now >= sv->rescan_at && !sv->stopping) {
			sv->rescan_at = INT64_MAX;
			rescan(sv);
		}
		timeouts(sv, now);
		store_probe(sv, now);
		cluster_tick(sv, now);
		while (!sv->store_down && (n = sched_tick(sv->sched, now, batch, 64)) > 0) {
			for (size_t i = 0; i < n && !sv->store_down; i++)
				start_run(sv, &batch[i], now);
			if (n < 64)
				break;
		}
		start_adhoc(sv, now);
		pthread_mutex_unlock(&sv->lock);
		heartbeats(sv, now);
		kills(sv, now);
		pthread_mutex_lock(&sv->lock);
		reap(sv);
		run_pool_tick(sv->pool, time_mono_ns() / 1000000);
		update_gauges(sv);
		next = sv->store_down ? sv->store_retry_at : sched_next_wakeup(sv->sched, now);
		if (sv->next_cluster < next)
			next = sv->next_cluster;
		if (sv->st->backend->adhoc && !sv->stopping && !sv->store_down) {
			int64_t t = sv->adhoc_kick ? now : sv->next_adhoc;

			if (t < next)
				next = t;
		}
		pthread_mutex_unlock(&sv->lock);
		if (sv->stopping && sv->n_running == 0)
			break;

		if (sv->rescan_at < next)
			next = sv->rescan_at;
		if (sv->next_periodic < next)
			next = sv->next_periodic;
		for (size_t i = 0; i < sv->n_running; i++) {
			if (sv->running[i]->next_heartbeat < next)
				next = sv->running[i]->next_heartbeat;
			if (sv->running[i]->kill_at && !sv->running[i]->killed && sv->running[i]->kill_at < next)
				next = sv->running[i]->kill_at;
		}
		if (sv->stopping && sv->stop_deadline < next)
			next = sv->stop_deadline;
		timeout = next <= now ? 0 : next - now > MAX_WAIT_MS ? MAX_WAIT_MS : (int)(next - now);

		nfd = 3 + sv->n_running;
		pfd = xcalloc(nfd, sizeof(*pfd));
		pfd[0] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sv->wake_pipe[0], .events = POLLIN };
		pfd[2] = (struct pollfd){ .fd = sv->inotify_fd, .events = POLLIN };
		for (size_t i = 0; i < sv->n_running; i++)
			pfd[3 + i] = (struct pollfd){ .fd = sv->running[i]->w->result_fd, .events = POLLIN };
		if (poll(pfd, nfd, timeout) < 0 && errno != EINTR)
			log_error("serve", "poll: %s", strerror(errno));
		if (pfd[1].revents & POLLIN)
			drain_fd(sv->wake_pipe[0]);
		if (sv->inotify_fd >= 0 && (pfd[2].revents & POLLIN)) {
			drain_fd(sv->inotify_fd);
			if (sv->rescan_at == INT64_MAX)
				sv->rescan_at = clock_now(sv) + INOTIFY_DELAY_MS;
		}
		for (size_t i = 0; i < sv->n_running; i++)
			if (pfd[3 + i].revents)
				worker_read(sv->running[i]->w);
		free(pfd);
	}
	free(batch);
}

static int setup_signals(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK))
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int serve_run(const struct serve_options *opt)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct serve sv_, *sv = &sv_;
	struct api_config acfg = { .listen = opt->listen, .token = opt->token, .store_path = opt->store_path };
	char *lock_path = xasprintf("%s/serve.lock", opt->state_dir), resolved[PATH_MAX];
	int lock_fd = -1, rc = EXIT_ENV;

	memset(sv, 0, sizeof(*sv));
	sv->opt = opt;
	sv->inotify_fd = -1;
	sv->wake_pipe[0] = sv->wake_pipe[1] = -1;
	sv->rescan_at = INT64_MAX;
	pthread_mutex_init(&sv->lock, NULL);
	pthread_mutex_init(&sv->notify_lock, NULL);
	pthread_cond_init(&sv->notify_cond, NULL);
	sv->info_path = xasprintf("%s/serve.json", opt->state_dir);

	lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB)) {
		log_error("serve", "another 'vigil serve' uses the state directory '%s' (%s is locked)", opt->state_dir,
		          lock_path);
		goto out;
	}
	if (!realpath(opt->specs_dir, resolved)) {
		log_error("serve", "spec directory '%s': %s", opt->specs_dir, strerror(errno));
		rc = EXIT_USAGE;
		goto out;
	}
	sv->specs_dir = xstrdup(resolved);
	if (setup_signals() || pipe2(sv->wake_pipe, O_CLOEXEC | O_NONBLOCK)) {
		log_error("serve", "cannot create pipes: %s", strerror(errno));
		goto out;
	}
	sv->st = store_open(opt->store_path, &err);
	if (!sv->st) {
		log_error("serve", "%s", err.msg);
		goto out;
	}
	sv->st->node = opt->node;
	sv->metrics = metrics_new();
	sv->sched = sched_new(opt->concurrency);
	sv->pool = run_pool_new(opt->exe, opt->worker_runs, RUN_POOL_IDLE_MS);
	sv->reg = registry_new();
	registry_add_default(sv->reg, opt->plugin_dirs, opt->n_plugin_dirs);
	sv->reg->pushed = pushed_new(opt->state_dir, opt->store_path, opt->node);
	sv->inotify_fd = opt->no_watch ? -1 : inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (opt->no_watch)
		log_info("serve", "not watching '%s': changes are seen at the periodic rescan or on SIGHUP",
		         sv->specs_dir);
	else if (sv->inotify_fd < 0 || inotify_add_watch(sv->inotify_fd, sv->specs_dir, IN_CLOSE_WRITE | IN_MOVED_TO |
	                                            IN_MOVED_FROM | IN_DELETE | IN_ATTRIB) < 0)
		log_warn("serve", "inotify unavailable (%s): spec changes are seen by the periodic rescan only",
		         strerror(errno));
	if (sv->st->backend->cluster && sv->st->backend->cluster->specs_reset(sv->st, opt->node, &err)) {
		log_error("serve", "%s", err.msg);
		goto out;
	}
	pthread_mutex_lock(&sv->lock);
	rescan(sv);
	recover(sv, opt->node);
	pthread_mutex_unlock(&sv->lock);
	sv->next_periodic = clock_now(sv) + opt->rescan_ms;
	sv->api = api_start(&acfg, sv, &err);
	if (!sv->api) {
		log_error("serve", "%s", err.msg);
		goto out;
	}
	write_info(sv);
	if (pthread_create(&sv->notifier, NULL, notifier_main, sv) == 0)
		sv->notifier_started = 1;
	else
		log_error("serve", "cannot start the notification sender: Slack and webhook messages stay queued");
	pthread_mutex_lock(&sv->lock);
	sv->ready = 1;
	pthread_mutex_unlock(&sv->lock);
	log_info("serve", "ready: %zu job%s from '%s', API on http://%s, node '%s', at most %u runs at a time",
	         sched_n_jobs(sv->sched), sched_n_jobs(sv->sched) == 1 ? "" : "s", sv->specs_dir,
	         api_address(sv->api), opt->node, opt->concurrency);
	{
		char status[160];

		snprintf(status, sizeof(status), "%zu jobs, API on http://%s", sched_n_jobs(sv->sched),
		         api_address(sv->api));
		sdnotify_ready(status);
	}
	loop(sv);
	log_info("serve", "stopped");
	rc = EXIT_OK;
out:
	stop_notifier(sv);
	api_stop(sv->api);
	if (sv->api || rc == EXIT_OK)
		unlink(sv->info_path);
	for (size_t i = 0; i < sv->n_slots; i++)
		slot_free(sv->slots[i]);
	free(sv->slots);
	for (size_t i = 0; i < sv->n_running; i++) {
		worker_release(sv->running[i]->w);
		free(sv->running[i]->w);
		free(sv->running[i]);
	}
	free(sv->running);
	run_pool_free(sv->pool, POOL_EXIT_GRACE_MS);
	sched_free(sv->sched);
	metrics_free(sv->metrics);
	registry_free(sv->reg);
	store_close(sv->st);
	if (sv->inotify_fd >= 0)
		close(sv->inotify_fd);
	for (int i = 0; i < 2; i++) {
		if (sv->wake_pipe[i] >= 0)
			close(sv->wake_pipe[i]);
		if (sig_pipe[i] >= 0)
			close(sig_pipe[i]);
		sig_pipe[i] = -1;
	}
	if (lock_fd >= 0)
		close(lock_fd);
	free(lock_path);
	free(sv->specs_dir);
	free(sv->info_path);
	json_decref(sv->conflicts);
	pthread_mutex_destroy(&sv->lock);
	pthread_mutex_destroy(&sv->notify_lock);
	pthread_cond_destroy(&sv->notify_cond);
	return rc;
}

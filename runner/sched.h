/*
 * sched.h - when each job runs: due fire times, misfires, no overlap, a
 * concurrency limit and timeouts.
 *
 * The scheduler is pure bookkeeping over a clock it is given (milliseconds
 * since the epoch), so it is tested with a fake clock; `vigil serve` feeds
 * it the store's clock and turns its decisions into claimed runs and worker
 * processes.  It is not thread-safe: the caller serialises access.
 *
 * Rules (docs/daemon.md explains them for users):
 *   - a job fires at the instants of its cron schedule (cron_next() in its
 *     zone); a job without a schedule only runs when triggered;
 *   - at most one run of a job at a time: a run that becomes due while the
 *     job is running waits in the job's queue;
 *   - at most max_running runs at a time in all; waiting runs start oldest
 *     scheduled time first;
 *   - misfires: when a tick finds several fire times due, or one that is
 *     later than SCHED_MISFIRE_THRESHOLD_MS, fire times older than the job's
 *     max_catchup are dropped; with MISFIRE_RUN_ONCE the rest become one run
 *     for the latest of them that covers back to the earliest (cover_from);
 *     with MISFIRE_SKIP only a latest fire time that is not late runs;
 *   - scheduled runs waiting in a job's queue are coalesced the same way, so
 *     a job slower than its schedule has at most one scheduled run waiting;
 *     triggered and recovered runs queue separately (up to SCHED_MAX_QUEUED);
 *   - a run still going timeout_ms after it started is reported once by
 *     sched_expired(); it counts as running until sched_finished().
 */
#ifndef VIGIL_SCHED_H
#define VIGIL_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"

struct cron;
struct tz;
struct sched;

/* A fire time later than this when noticed is a misfire. */
#define SCHED_MISFIRE_THRESHOLD_MS 60000
/* Runs waiting per job, all triggers together. */
#define SCHED_MAX_QUEUED 8
#define SCHED_NAME_MAX 128

enum sched_trigger {
	TRIGGER_SCHEDULE,          /* a fire time of the schedule */
	TRIGGER_CATCHUP,           /* one run standing for missed fire times */
	TRIGGER_MANUAL,            /* POST /api/jobs/{name}/run */
	TRIGGER_RECOVERY,          /* an interrupted run, re-run */
};

const char *sched_trigger_name(enum sched_trigger t);

/* How a job is scheduled.  cron and tz are borrowed: keep them alive until the job is set again or removed. */
struct sched_job_cfg {
	const char *name;
	const struct cron *cron;   /* NULL: runs only when triggered */
	const struct tz *tz;       /* NULL: UTC */
	const char *schedule_id;   /* identifies cron+tz; a change restarts the schedule from now */
	enum misfire_policy misfire;
	int64_t max_catchup_ms;
	int64_t timeout_ms;        /* 0: none */
};

/* A run to start (from sched_tick) or to stop (from sched_expired). */
struct sched_run {
	char job[SCHED_NAME_MAX + 1];
	int64_t scheduled_ms;      /* the run's time: its window ends here */
	int64_t cover_from_ms;     /* earliest fire time it stands for (== scheduled_ms normally) */
	enum sched_trigger trigger;
	int64_t started_ms;        /* when it was handed out */
	int64_t lag_ms;            /* started - scheduled, for scheduled runs */
};

/* Counters for /metrics and tests. */
struct sched_stats {
	uint64_t fired;            /* fire times that became runs */
	uint64_t coalesced;        /* fire times merged into a waiting run */
	uint64_t skipped;          /* fire times dropped (too old, or skip policy) */
	uint64_t timeouts;
};

/* max_running >= 1. */
struct sched *sched_new(unsigned max_running);
void sched_free(struct sched *s);

/*
 * Add a job, or update it when one of that name exists.  For a new job,
 * last_fire_ms is the latest fire time already handled (from the store):
 * fire times after it and up to now are due at the next tick (misfires);
 * INT64_MIN means none, and the schedule starts from now.  For an update
 * last_fire_ms is ignored; a changed schedule_id restarts the schedule from
 * now.  Returns 0, or -1 with err set (name too long).
 */
int sched_job_set(struct sched *s, const struct sched_job_cfg *cfg, int64_t now_ms, int64_t last_fire_ms,
                  struct vigil_error *err);

/*
 * Another node handled job's fire time fire_ms (read from the store):
 * fire times up to it are not due here any more, and scheduled runs
 * waiting for them are dropped.  INT64_MIN or an older time: nothing changes.
 */
void sched_job_seen(struct sched *s, const char *name, int64_t fire_ms);

/* Forget a job.  Its queued runs are dropped; a running one still needs sched_finished(). */
void sched_job_remove(struct sched *s, const char *name);

/*
 * Queue a run outside the schedule (TRIGGER_MANUAL or TRIGGER_RECOVERY).
 * Returns 0, or -1 with err set: unknown job (VIGIL_E_USAGE), queue full
 * or the same scheduled time already queued (VIGIL_E_LIMIT).
 */
int sched_enqueue(struct sched *s, const char *name, int64_t scheduled_ms, int64_t cover_from_ms,
                  enum sched_trigger trigger, struct vigil_error *err);

/*
 * Advance to now: queue the due fire times, then hand out runs that may
 * start (up to max_out; call again while it returns max_out).  Handed-out
 * runs count as running until sched_finished().
 */
size_t sched_tick(struct sched *s, int64_t now_ms, struct sched_run *out, size_t max_out);

/* A handed-out run of job ended (whatever its result). */
void sched_finished(struct sched *s, const char *name);

/* Runs past their timeout at now, each reported once. */
size_t sched_expired(struct sched *s, int64_t now_ms, struct sched_run *out, size_t max_out);

/* The earliest time something happens (a fire time, a deadline, a waiting run: now); INT64_MAX if none. */
int64_t sched_next_wakeup(const struct sched *s, int64_t now_ms);

/* Stop handing out runs (shutdown); finished runs are still accounted. */
void sched_stop(struct sched *s);

/* What the API shows about a job.  Returns -1 for an unknown job. */
struct sched_job_info {
	int64_t next_fire_ms;      /* INT64_MAX: none */
	int64_t last_fire_ms;      /* INT64_MIN: none yet */
	int running;
	int64_t running_since_ms;
	int64_t running_scheduled_ms;
	size_t queued;
};
int sched_job_info(const struct sched *s, const char *name, struct sched_job_info *info);

/*
 * The fire times of cron in tz (NULL: UTC) with from_ms <= t <= to_ms, for
 * backfill and replay.  Returns 0 with a new array in *out (free it), or -1
 * with err set when there are more than max.
 */
int sched_fire_times(const struct cron *cron, const struct tz *tz, int64_t from_ms, int64_t to_ms, size_t max,
                     int64_t **out, size_t *n, struct vigil_error *err);

size_t sched_n_jobs(const struct sched *s);
size_t sched_n_running(const struct sched *s);
size_t sched_n_waiting(const struct sched *s);
const struct sched_stats *sched_stats(const struct sched *s);

#endif

/*
 * check_sched.c - the scheduler with a fake clock: fire times, no overlap,
 * the concurrency limit, misfires (run_once, skip, max_catchup_age),
 * coalescing, timeouts, triggered runs, DST, and many jobs.
 */
#include <stdint.h>

#include "cron.h"
#include "sched.h"
#include "testutil.h"
#include "timefmt.h"
#include "tz.h"

#define S 1000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

static int64_t at(const char *iso)
{
	int64_t ms;

	ck_assert_msg(time_parse(iso, strlen(iso), TIME_ISO8601, &ms) == 0, "bad time %s", iso);
	return ms;
}

/* 2024-01-01T00:00:00Z */
#define T0 1704067200000LL

struct fixture {
	struct cron *cron[8];
	struct tz *tz[8];
	size_t n;
};

static struct fixture fx;

static void fx_setup(void)
{
	memset(&fx, 0, sizeof(fx));
}

static void fx_teardown(void)
{
	for (size_t i = 0; i < fx.n; i++) {
		cron_free(fx.cron[i]);
		tz_free(fx.tz[i]);
	}
}

/* A job config with a parsed schedule that lives until teardown. */
static struct sched_job_cfg job(const char *name, const char *expr, const char *zone)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct sched_job_cfg c = {
		.name = name,
		.schedule_id = expr,
		.misfire = MISFIRE_RUN_ONCE,
		.max_catchup_ms = DAY,
		.timeout_ms = HOUR,
	};

	ck_assert_uint_lt(fx.n, 8);
	if (expr) {
		fx.cron[fx.n] = cron_parse(expr, &err);
		ck_assert_msg(fx.cron[fx.n] != NULL, "%s: %s", expr, err.msg);
		fx.tz[fx.n] = tz_load(zone ? zone : "UTC", &err);
		ck_assert_msg(fx.tz[fx.n] != NULL, "%s", err.msg);
		c.cron = fx.cron[fx.n];
		c.tz = fx.tz[fx.n];
		fx.n++;
	}
	return c;
}

static void set(struct sched *s, const struct sched_job_cfg *c, int64_t now, int64_t last)
{
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_msg(sched_job_set(s, c, now, last, &err) == 0, "%s", err.msg);
}

START_TEST(test_fires_on_schedule)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("a", "@every 1m", NULL);
	struct sched_run r[4];
	struct sched_job_info info;

	set(s, &c, T0 + 10 * S, INT64_MIN);
	ck_assert_int_eq(sched_next_wakeup(s, T0 + 10 * S), T0 + MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + 59 * S, r, 4), 0);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN + 250, r, 4), 1);
	ck_assert_str_eq(r[0].job, "a");
	ck_assert_int_eq(r[0].scheduled_ms, T0 + MIN);
	ck_assert_int_eq(r[0].cover_from_ms, T0 + MIN);
	ck_assert_int_eq(r[0].trigger, TRIGGER_SCHEDULE);
	ck_assert_int_eq(r[0].lag_ms, 250);
	ck_assert_int_eq(sched_job_info(s, "a", &info), 0);
	ck_assert_int_eq(info.running, 1);
	ck_assert_int_eq(info.next_fire_ms, T0 + 2 * MIN);
	ck_assert_int_eq(info.last_fire_ms, T0 + MIN);
	/* the wakeup is the next fire time, not the run's deadline an hour away */
	ck_assert_int_eq(sched_next_wakeup(s, T0 + MIN + 300), T0 + 2 * MIN);
	sched_finished(s, "a");
	ck_assert_uint_eq(sched_n_running(s), 0);
	ck_assert_uint_eq(sched_tick(s, T0 + 2 * MIN, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 2 * MIN);
	ck_assert_int_eq(sched_job_info(s, "nope", &info), -1);
	sched_free(s);
}
END_TEST

/* A run due while the previous one goes on waits, and later ones merge into it. */
START_TEST(test_no_overlap_and_coalescing)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("slow", "@every 1m", NULL);
	struct sched_run r[4];
	struct sched_job_info info;

	set(s, &c, T0, INT64_MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN, r, 4), 1);
	/* still running at the next three fire times */
	ck_assert_uint_eq(sched_tick(s, T0 + 2 * MIN, r, 4), 0);
	ck_assert_uint_eq(sched_n_waiting(s), 1);
	ck_assert_uint_eq(sched_tick(s, T0 + 3 * MIN, r, 4), 0);
	ck_assert_uint_eq(sched_tick(s, T0 + 4 * MIN, r, 4), 0);
	ck_assert_int_eq(sched_job_info(s, "slow", &info), 0);
	ck_assert_uint_eq(info.queued, 1);
	ck_assert_uint_eq(sched_stats(s)->coalesced, 2);
	sched_finished(s, "slow");
	ck_assert_int_eq(sched_next_wakeup(s, T0 + 4 * MIN + 5 * S), T0 + 4 * MIN + 5 * S);
	ck_assert_uint_eq(sched_tick(s, T0 + 4 * MIN + 5 * S, r, 4), 1);
	/* one run for the latest time, covering back to the first one it stands for */
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 4 * MIN);
	ck_assert_int_eq(r[0].cover_from_ms, T0 + 2 * MIN);
	ck_assert_int_eq(r[0].trigger, TRIGGER_CATCHUP);
	ck_assert_int_eq(r[0].lag_ms, 5 * S);
	sched_free(s);
}
END_TEST

/* With misfire "skip" a waiting run is replaced by the later one. */
START_TEST(test_coalescing_skip)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("slow", "@every 1m", NULL);
	struct sched_run r[4];

	c.misfire = MISFIRE_SKIP;
	set(s, &c, T0, INT64_MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN, r, 4), 1);
	ck_assert_uint_eq(sched_tick(s, T0 + 2 * MIN, r, 4), 0);
	ck_assert_uint_eq(sched_tick(s, T0 + 3 * MIN, r, 4), 0);
	sched_finished(s, "slow");
	ck_assert_uint_eq(sched_tick(s, T0 + 3 * MIN + S, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 3 * MIN);
	ck_assert_int_eq(r[0].cover_from_ms, T0 + 3 * MIN);
	ck_assert_int_eq(r[0].trigger, TRIGGER_SCHEDULE);
	sched_free(s);
}
END_TEST

START_TEST(test_concurrency_limit)
{
	static const char *const names[] = { "e", "c", "a", "d", "b" };
	struct sched *s = sched_new(2);
	struct sched_job_cfg c[5];
	struct sched_run r[8];

	for (int i = 0; i < 5; i++) {
		c[i] = job(names[i], "@every 1m", NULL);
		set(s, &c[i], T0, INT64_MIN);
	}
	ck_assert_uint_eq(sched_tick(s, T0 + MIN, r, 8), 2);
	/* equal times: by name, so the order never depends on the order jobs were added */
	ck_assert_str_eq(r[0].job, "a");
	ck_assert_str_eq(r[1].job, "b");
	ck_assert_uint_eq(sched_n_running(s), 2);
	ck_assert_uint_eq(sched_n_waiting(s), 3);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN + S, r, 8), 0);
	sched_finished(s, "b");
	ck_assert_uint_eq(sched_tick(s, T0 + MIN + 2 * S, r, 8), 1);
	ck_assert_str_eq(r[0].job, "c");
	ck_assert_int_eq(r[0].lag_ms, 2 * S);
	/* max_out is honoured; the rest comes on the next call */
	sched_finished(s, "a");
	sched_finished(s, "c");
	ck_assert_uint_eq(sched_tick(s, T0 + MIN + 3 * S, r, 1), 1);
	ck_assert_str_eq(r[0].job, "d");
	ck_assert_uint_eq(sched_tick(s, T0 + MIN + 3 * S, r, 1), 1);
	ck_assert_str_eq(r[0].job, "e");
	/* an older waiting run goes before a newer one */
	sched_finished(s, "d");
	sched_finished(s, "e");
	ck_assert_uint_eq(sched_tick(s, T0 + 2 * MIN, r, 8), 2);
	sched_free(s);
}
END_TEST

/* The daemon was down: several fire times missed, one run covers them. */
START_TEST(test_misfire_run_once)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("j", "*/5 * * * *", NULL);
	struct sched_run r[4];
	int64_t now = T0 + 62 * MIN + 30 * S;

	/* the last run the store knows of was at T0 */
	set(s, &c, now, T0);
	ck_assert_int_eq(sched_next_wakeup(s, now), T0 + 5 * MIN);
	ck_assert_uint_eq(sched_tick(s, now, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 60 * MIN);
	ck_assert_int_eq(r[0].cover_from_ms, T0 + 5 * MIN);
	ck_assert_int_eq(r[0].trigger, TRIGGER_CATCHUP);
	ck_assert_uint_eq(sched_stats(s)->coalesced, 11);
	ck_assert_uint_eq(sched_stats(s)->skipped, 0);
	sched_finished(s, "j");
	ck_assert_int_eq(sched_next_wakeup(s, now), T0 + 65 * MIN);
	sched_free(s);
}
END_TEST

/*
 * Another node caught up already (the store went away and came back): the
 * schedule moves to the fire time it recorded, and does not catch up again.
 */
START_TEST(test_job_seen)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("j", "*/5 * * * *", NULL);
	struct sched_run r[4];
	struct sched_job_info info;
	int64_t now = T0 + 62 * MIN + 30 * S;

	set(s, &c, T0 + 10 * S, T0);
	ck_assert_int_eq(sched_enqueue(s, "j", T0 + 5 * MIN, T0 + 5 * MIN, TRIGGER_SCHEDULE, NULL), 0);
	ck_assert_int_eq(sched_enqueue(s, "j", T0 + 7 * MIN, T0 + 7 * MIN, TRIGGER_MANUAL, NULL), 0);
	sched_job_seen(s, "j", T0 + 60 * MIN);
	ck_assert_int_eq(sched_job_info(s, "j", &info), 0);
	ck_assert_int_eq(info.last_fire_ms, T0 + 60 * MIN);
	ck_assert_int_eq(info.next_fire_ms, T0 + 65 * MIN);
	ck_assert_uint_eq(info.queued, 1);   /* the scheduled run is dropped, the manual one stays */
	ck_assert_uint_eq(sched_tick(s, now, r, 4), 1);
	ck_assert_int_eq(r[0].trigger, TRIGGER_MANUAL);
	sched_finished(s, "j");
	ck_assert_uint_eq(sched_tick(s, now, r, 4), 0);
	/* an older time, or none, changes nothing */
	sched_job_seen(s, "j", T0 + 30 * MIN);
	sched_job_seen(s, "j", INT64_MIN);
	sched_job_seen(s, "nope", T0);
	ck_assert_int_eq(sched_job_info(s, "j", &info), 0);
	ck_assert_int_eq(info.next_fire_ms, T0 + 65 * MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + 65 * MIN, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 65 * MIN);
	ck_assert_int_eq(r[0].trigger, TRIGGER_SCHEDULE);
	sched_free(s);
}
END_TEST

/* Missed fire times older than max_catchup_age are dropped. */
START_TEST(test_misfire_max_catchup)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("j", "0 * * * *", NULL);
	struct sched_run r[4];
	int64_t now = T0 + 10 * HOUR + 10 * MIN;

	c.max_catchup_ms = 3 * HOUR;
	set(s, &c, now, T0);
	ck_assert_uint_eq(sched_tick(s, now, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 10 * HOUR);
	/* 07:10 is the limit: the first fire time after it is 08:00 */
	ck_assert_int_eq(r[0].cover_from_ms, T0 + 8 * HOUR);
	ck_assert_uint_eq(sched_stats(s)->skipped, 7);
	sched_free(s);

	/* everything too old: nothing runs, the schedule goes on */
	s = sched_new(4);
	c = job("daily", "0 0 * * *", NULL);
	c.max_catchup_ms = HOUR;
	now = T0 + 3 * DAY + 2 * HOUR;
	set(s, &c, now, T0);
	ck_assert_uint_eq(sched_tick(s, now, r, 4), 0);
	ck_assert_uint_eq(sched_stats(s)->skipped, 3);
	ck_assert_int_eq(sched_next_wakeup(s, now), T0 + 4 * DAY);
	sched_free(s);
}
END_TEST

START_TEST(test_misfire_skip)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("j", "*/5 * * * *", NULL);
	struct sched_run r[4];
	int64_t now = T0 + 60 * MIN + 20 * S;

	/* down for an hour, back 20 s after a fire time: that one is not late and runs */
	c.misfire = MISFIRE_SKIP;
	set(s, &c, now, T0);
	ck_assert_uint_eq(sched_tick(s, now, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 60 * MIN);
	ck_assert_int_eq(r[0].cover_from_ms, T0 + 60 * MIN);
	ck_assert_int_eq(r[0].trigger, TRIGGER_SCHEDULE);
	ck_assert_uint_eq(sched_stats(s)->skipped, 11);
	sched_free(s);

	/* back 2 minutes after: the latest is late too, nothing runs */
	s = sched_new(4);
	c = job("j", "*/5 * * * *", NULL);
	c.misfire = MISFIRE_SKIP;
	now = T0 + 62 * MIN;
	set(s, &c, now, T0);
	ck_assert_uint_eq(sched_tick(s, now, r, 4), 0);
	ck_assert_uint_eq(sched_stats(s)->skipped, 12);
	ck_assert_uint_eq(sched_tick(s, T0 + 65 * MIN, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 65 * MIN);
	sched_free(s);
}
END_TEST

/* One fire time noticed late (the daemon was busy or asleep) is still run once, late. */
START_TEST(test_single_late_fire)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("j", "0 * * * *", NULL);
	struct sched_run r[4];

	set(s, &c, T0 + 30 * MIN, INT64_MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + HOUR + 5 * MIN, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + HOUR);
	ck_assert_int_eq(r[0].trigger, TRIGGER_CATCHUP);
	ck_assert_int_eq(r[0].lag_ms, 5 * MIN);
	sched_free(s);
}
END_TEST

START_TEST(test_timeout)
{
	struct sched *s = sched_new(4);
	struct sched_job_cfg c = job("t", "@every 1m", NULL);
	struct sched_run r[4];

	c.timeout_ms = 30 * S;
	set(s, &c, T0, INT64_MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN, r, 4), 1);
	ck_assert_int_eq(sched_next_wakeup(s, T0 + MIN), T0 + MIN + 30 * S);
	ck_assert_uint_eq(sched_expired(s, T0 + MIN + 29 * S, r, 4), 0);
	ck_assert_uint_eq(sched_expired(s, T0 + MIN + 30 * S, r, 4), 1);
	ck_assert_str_eq(r[0].job, "t");
	ck_assert_int_eq(r[0].scheduled_ms, T0 + MIN);
	/* reported once; it runs until the caller says it ended */
	ck_assert_uint_eq(sched_expired(s, T0 + MIN + 31 * S, r, 4), 0);
	ck_assert_uint_eq(sched_n_running(s), 1);
	ck_assert_uint_eq(sched_stats(s)->timeouts, 1);
	ck_assert_int_eq(sched_next_wakeup(s, T0 + MIN + 31 * S), T0 + 2 * MIN);
	sched_finished(s, "t");
	ck_assert_uint_eq(sched_tick(s, T0 + 2 * MIN, r, 4), 1);
	ck_assert_uint_eq(sched_expired(s, T0 + 2 * MIN + 30 * S, r, 4), 1);
	sched_free(s);
}
END_TEST

START_TEST(test_enqueue)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct sched *s = sched_new(1);
	struct sched_job_cfg c = job("m", NULL, NULL);
	struct sched_run r[4];

	set(s, &c, T0, INT64_MIN);
	ck_assert_int_eq(sched_next_wakeup(s, T0), INT64_MAX);
	ck_assert_int_eq(sched_enqueue(s, "nope", T0, T0, TRIGGER_MANUAL, &err), -1);
	ck_assert_str_eq(err.msg, "no job named 'nope'");
	ck_assert_int_eq(sched_enqueue(s, "m", T0 + 5, T0 + 5, TRIGGER_MANUAL, NULL), 0);
	vigil_error_clear(&err);
	ck_assert_int_eq(sched_enqueue(s, "m", T0 + 5, T0 + 5, TRIGGER_MANUAL, &err), -1);
	ck_assert_str_eq(err.msg, "job 'm' already has a run waiting for that time");
	ck_assert_int_eq(sched_next_wakeup(s, T0 + 6), T0 + 6);
	ck_assert_uint_eq(sched_tick(s, T0 + 6, r, 4), 1);
	ck_assert_int_eq(r[0].trigger, TRIGGER_MANUAL);
	/* a trigger while running waits */
	ck_assert_int_eq(sched_enqueue(s, "m", T0 + 10, T0 + 10, TRIGGER_MANUAL, NULL), 0);
	ck_assert_uint_eq(sched_tick(s, T0 + 11, r, 4), 0);
	for (int i = 1; i < SCHED_MAX_QUEUED; i++)
		ck_assert_int_eq(sched_enqueue(s, "m", T0 + 10 + i, T0, TRIGGER_RECOVERY, NULL), 0);
	vigil_error_clear(&err);
	ck_assert_int_eq(sched_enqueue(s, "m", T0 + 100, T0 + 100, TRIGGER_MANUAL, &err), -1);
	ck_assert_str_eq(err.msg, "job 'm' already has 8 runs waiting");
	sched_finished(s, "m");
	ck_assert_uint_eq(sched_tick(s, T0 + 12, r, 4), 1);
	ck_assert_int_eq(r[0].scheduled_ms, T0 + 10);
	sched_free(s);
}
END_TEST

/* A job removed while it runs stays counted until it ends; a spec edit keeps its state. */
START_TEST(test_remove_and_update)
{
	struct sched *s = sched_new(1);
	struct sched_job_cfg c = job("x", "@every 1m", NULL), c2 = job("x", "@every 10m", NULL);
	struct sched_job_cfg other = job("y", "@every 1m", NULL);
	struct sched_run r[4];
	struct sched_job_info info;

	set(s, &c, T0, INT64_MIN);
	set(s, &other, T0, INT64_MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN, r, 4), 1);
	ck_assert_str_eq(r[0].job, "x");
	sched_job_remove(s, "x");
	ck_assert_int_eq(sched_job_info(s, "x", &info), -1);
	ck_assert_uint_eq(sched_n_running(s), 1);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN + S, r, 4), 0);   /* y waits for the slot */
	sched_finished(s, "x");
	ck_assert_uint_eq(sched_n_jobs(s), 1);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN + 2 * S, r, 4), 1);
	ck_assert_str_eq(r[0].job, "y");
	sched_finished(s, "y");

	/* same schedule: the next fire time is kept; another: it restarts from now */
	set(s, &other, T0 + MIN + 3 * S, INT64_MIN);
	ck_assert_int_eq(sched_job_info(s, "y", &info), 0);
	ck_assert_int_eq(info.next_fire_ms, T0 + 2 * MIN);
	set(s, &c, T0 + 90 * S, INT64_MIN);
	set(s, &c2, T0 + 90 * S, INT64_MIN);
	ck_assert_int_eq(sched_job_info(s, "x", &info), 0);
	ck_assert_int_eq(info.next_fire_ms, T0 + 10 * MIN);
	sched_free(s);
}
END_TEST

START_TEST(test_stop)
{
	struct sched *s = sched_new(2);
	struct sched_job_cfg c = job("a", "@every 1m", NULL), d = job("b", "@every 1m", NULL);
	struct sched_run r[4];

	c.timeout_ms = 10 * S;
	set(s, &c, T0, INT64_MIN);
	set(s, &d, T0 + 30 * S, INT64_MIN);
	ck_assert_uint_eq(sched_tick(s, T0 + MIN, r, 4), 2);
	sched_finished(s, "b");
	sched_stop(s);
	ck_assert_uint_eq(sched_tick(s, T0 + 2 * MIN, r, 4), 0);
	/* only the running run's deadline still matters */
	ck_assert_int_eq(sched_next_wakeup(s, T0 + MIN), T0 + MIN + 10 * S);
	ck_assert_uint_eq(sched_expired(s, T0 + MIN + 10 * S, r, 4), 1);
	ck_assert_int_eq(sched_next_wakeup(s, T0 + MIN + 10 * S), INT64_MAX);
	sched_free(s);
}
END_TEST

/* Ticking through the Paris spring-forward night: 02:30 fires at 03:00 CEST, once. */
START_TEST(test_dst_paris)
{
	struct sched *s = sched_new(1);
	struct sched_job_cfg c = job("p", "30 2 * * *", "Europe/Paris");
	struct sched_run r[2];
	int64_t t, fired[4];
	size_t n = 0;

	set(s, &c, at("2024-03-29T12:00:00Z"), INT64_MIN);
	for (t = at("2024-03-29T12:00:00Z"); t < at("2024-04-01T12:00:00Z"); t += MIN) {
		if (sched_tick(s, t, r, 2)) {
			ck_assert_uint_lt(n, 4);
			ck_assert_int_eq(r[0].lag_ms, 0);
			fired[n++] = r[0].scheduled_ms;
			sched_finished(s, "p");
		}
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(fired[0], at("2024-03-30T02:30:00+01:00"));
	ck_assert_int_eq(fired[1], at("2024-03-31T03:00:00+02:00"));
	ck_assert_int_eq(fired[2], at("2024-04-01T02:30:00+02:00"));
	sched_free(s);
}
END_TEST

/* New York, fall back: 01:30 happens twice and fires once. */
START_TEST(test_dst_new_york)
{
	struct sched *s = sched_new(1);
	struct sched_job_cfg c = job("ny", "30 1 * * *", "America/New_York");
	struct sched_run r[2];
	int64_t t, fired[4];
	size_t n = 0;

	set(s, &c, at("2024-11-02T00:00:00Z"), INT64_MIN);
	for (t = at("2024-11-02T00:00:00Z"); t < at("2024-11-04T12:00:00Z"); t += 5 * MIN) {
		if (sched_tick(s, t, r, 2)) {
			ck_assert_uint_lt(n, 4);
			fired[n++] = r[0].scheduled_ms;
			sched_finished(s, "ny");
		}
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(fired[0], at("2024-11-02T01:30:00-04:00"));
	ck_assert_int_eq(fired[1], at("2024-11-03T01:30:00-04:00"));
	ck_assert_int_eq(fired[2], at("2024-11-04T01:30:00-05:00"));
	sched_free(s);
}
END_TEST

/* Month ends: "0 0 31 * *" only fires in 31-day months, also when ticked coarsely. */
START_TEST(test_month_end)
{
	struct sched *s = sched_new(1);
	struct sched_job_cfg c = job("m", "0 0 31 * *", NULL);
	struct sched_run r[2];
	int64_t t;
	size_t n = 0;

	set(s, &c, at("2024-01-01T00:00:00Z"), INT64_MIN);
	for (t = at("2024-01-01T00:00:00Z"); t <= at("2025-01-01T00:00:00Z"); t += 30 * S) {
		if (sched_tick(s, t, r, 2)) {
			int64_t d = r[0].scheduled_ms;

			ck_assert_int_eq(r[0].lag_ms, 0);
			ck_assert_msg(d == at("2024-01-31T00:00Z") || d == at("2024-03-31T00:00Z") ||
			              d == at("2024-05-31T00:00Z") || d == at("2024-07-31T00:00Z") ||
			              d == at("2024-08-31T00:00Z") || d == at("2024-10-31T00:00Z") ||
			              d == at("2024-12-31T00:00Z"), "fired at %lld", (long long)d);
			n++;
			sched_finished(s, "m");
		}
	}
	ck_assert_uint_eq(n, 7);
	sched_free(s);
}
END_TEST

/* Many jobs: each due one fires exactly once per minute; the heap keeps them apart. */
START_TEST(test_many_jobs)
{
	enum { N = 3000 };
	struct sched *s = sched_new(N);
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct cron *every = cron_parse("@every 1m", &err), *hourly = cron_parse("0 * * * *", &err);
	struct sched_run *r = xcalloc(N, sizeof(*r));
	char name[32];
	size_t n;

	for (int i = 0; i < N; i++) {
		struct sched_job_cfg c = {
			.name = name, .cron = i % 3 ? every : hourly, .schedule_id = i % 3 ? "m" : "h",
			.misfire = MISFIRE_RUN_ONCE, .max_catchup_ms = DAY,
		};

		snprintf(name, sizeof(name), "job-%05d", i);
		ck_assert_int_eq(sched_job_set(s, &c, T0 + 1, INT64_MIN, NULL), 0);
	}
	ck_assert_uint_eq(sched_n_jobs(s), N);
	for (int m = 1; m <= 120; m++) {
		n = sched_tick(s, T0 + m * MIN, r, N);
		ck_assert_uint_eq(n, m % 60 ? 2000 : 3000);
		for (size_t i = 0; i < n; i++) {
			ck_assert_int_eq(r[i].scheduled_ms, T0 + m * MIN);
			if (i)
				ck_assert_int_lt(strcmp(r[i - 1].job, r[i].job), 0);
			sched_finished(s, r[i].job);
		}
	}
	for (int i = 0; i < N; i += 2) {
		snprintf(name, sizeof(name), "job-%05d", i);
		sched_job_remove(s, name);
	}
	ck_assert_uint_eq(sched_n_jobs(s), N / 2);
	ck_assert_uint_eq(sched_tick(s, T0 + 121 * MIN, r, N), 1000);
	cron_free(every);
	cron_free(hourly);
	free(r);
	sched_free(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sched");
	TCase *tc = tcase_create("sched");

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, test_fires_on_schedule);
	tcase_add_test(tc, test_no_overlap_and_coalescing);
	tcase_add_test(tc, test_coalescing_skip);
	tcase_add_test(tc, test_concurrency_limit);
	tcase_add_test(tc, test_misfire_run_once);
	tcase_add_test(tc, test_job_seen);
	tcase_add_test(tc, test_misfire_max_catchup);
	tcase_add_test(tc, test_misfire_skip);
	tcase_add_test(tc, test_single_late_fire);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_enqueue);
	tcase_add_test(tc, test_remove_and_update);
	tcase_add_test(tc, test_stop);
	tcase_add_test(tc, test_dst_paris);
	tcase_add_test(tc, test_dst_new_york);
	tcase_add_test(tc, test_month_end);
	tcase_add_test(tc, test_many_jobs);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/*
 * bench-sched.c - scheduler overhead: N jobs (default 10 000) all due at
 * the same instants, dispatched on the real clock the way `vigil serve`'s
 * loop does (sleep until sched_next_wakeup(), tick, hand out runs), with a
 * no-op dispatcher.  Prints dispatch lag p50/p99/max (fire time to hand-out),
 * the time to hand out a whole round, and CPU used while waiting between
 * rounds.  Every job fires every INTERVAL seconds (default 2: the work per
 * round is the same as for "every minute", the idle gaps are shorter).
 *
 * Then the store's share: claiming and completing N runs in SQLite (what
 * the daemon does per run before a worker starts), as runs per second.
 *
 * Usage: bench-sched [JOBS] [ROUNDS] [INTERVAL_S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "cron.h"
#include "sched.h"
#include "store.h"
#include "xmalloc.h"

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void sleep_until_ms(int64_t t)
{
	int64_t now = time_now_ms();

	if (t > now) {
		struct timespec ts = { (time_t)((t - now) / 1000), (long)((t - now) % 1000) * 1000000 };

		nanosleep(&ts, NULL);
	}
}

static double pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return v[(size_t)(p * (double)(n - 1))];
}

int main(int argc, char **argv)
{
	int jobs = argc > 1 ? atoi(argv[1]) : 10000, rounds = argc > 2 ? atoi(argv[2]) : 5;
	int interval = argc > 3 ? atoi(argv[3]) : 2;
	char expr[32], name[32];
	struct cron *cron;
	struct sched *s = sched_new((unsigned)jobs);
	struct sched_run *out = xcalloc((size_t)jobs, sizeof(*out));
	double *lag = xcalloc((size_t)jobs * (size_t)rounds, sizeof(*lag)), *round_s = xcalloc((size_t)rounds, sizeof(double));
	double busy_cpu = 0, idle_cpu = 0, idle_wall = 0;
	size_t n_lag = 0;
	int done_rounds = 0;
	int64_t t0;

	snprintf(expr, sizeof(expr), "@every %ds", interval);
	cron = cron_parse(expr, NULL);
	t0 = time_now_ms();
	for (int i = 0; i < jobs; i++) {
		struct sched_job_cfg c = { .name = name, .cron = cron, .schedule_id = expr,
		                           .misfire = MISFIRE_RUN_ONCE, .max_catchup_ms = 86400000, .timeout_ms = 3600000 };

		snprintf(name, sizeof(name), "job-%05d", i);
		sched_job_set(s, &c, t0, INT64_MIN, NULL);
	}
	printf("sched: %d jobs set up in %.1f ms\n", jobs, (double)(time_now_ms() - t0));
	while (done_rounds < rounds) {
		int64_t wake = sched_next_wakeup(s, time_now_ms()), w0 = time_mono_ns();
		double c0 = cpu_seconds(), c1;
		size_t got = 0, n;

		sleep_until_ms(wake);
		c1 = cpu_seconds();
		idle_cpu += c1 - c0;
		idle_wall += (double)(time_mono_ns() - w0) / 1e9;
		w0 = time_mono_ns();
		/* one tick hands out the round; each run ends at once (no-op dispatcher) */
		while ((n = sched_tick(s, time_now_ms(), out, (size_t)jobs)) > 0) {
			int64_t now = time_now_ms();

			for (size_t i = 0; i < n; i++) {
				lag[n_lag++] = (double)(now - out[i].scheduled_ms);
				sched_finished(s, out[i].job);
			}
			got += n;
		}
		busy_cpu += cpu_seconds() - c1;
		if (got) {
			round_s[done_rounds++] = (double)(time_mono_ns() - w0) / 1e9;
		}
	}
	printf("sched: %d rounds of %d runs: dispatch lag p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", rounds, jobs,
	       pct(lag, n_lag, 0.5), pct(lag, n_lag, 0.99), pct(lag, n_lag, 1.0));
	printf("sched: a whole round handed out in %.2f ms (median), %.2f us of CPU per run\n",
	       median(round_s, (size_t)rounds) * 1e3, busy_cpu / (double)n_lag * 1e6);
	printf("sched: CPU while waiting between rounds: %.3f%% of one core (%.4f s over %.1f s)\n",
	       idle_wall > 0 ? idle_cpu / idle_wall * 100 : 0, idle_cpu, idle_wall);

	/* the store's share of a dispatch: claim, then complete */
	{
		char dir[] = "/tmp/vigil-bench-XXXXXX", *path;
		struct store *st;
		struct run_outcome o = { .state = "succeeded", .outcome = "clean" };
		int64_t t1;

		if (!mkdtemp(dir))
			return 1;
		path = xasprintf("%s/vigil.db", dir);
		st = store_open(path, NULL);
		if (!st)
			return 1;
		st->node = "bench";
		t1 = time_mono_ns();
		for (int i = 0; i < jobs; i++) {
			struct run_claim cl;
			int claimed;

			snprintf(name, sizeof(name), "job-%05d", i);
			st->backend->run_claim(st, name, 60000, 0, "schedule", "bench", 60000, &cl, &claimed, NULL);
			st->backend->run_finish(st, cl.id, 1, &o, NULL, 0, NULL);
		}
		printf("store: %d runs claimed and completed in SQLite in %.2f s: %.0f runs/s\n", jobs, seconds_since(t1),
		       jobs / seconds_since(t1));
		store_close(st);
		unlink(path);
		{
			char *p2 = xasprintf("%s-wal", path), *p3 = xasprintf("%s-shm", path);

			unlink(p2);
			unlink(p3);
			free(p2);
			free(p3);
		}
		rmdir(dir);
		free(path);
	}
	cron_free(cron);
	sched_free(s);
	free(out);
	free(lag);
	free(round_s);
	return 0;
}

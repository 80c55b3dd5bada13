/*
 * bench-fetch.c - fetch throughput of a job's source.
 *
 * Fetches the source of SPEC (with the job's window at --at) REPS times,
 * each in a child process so that every repetition has its own peak RSS, and
 * prints the medians: seconds, points/s, MB received, the share of the time
 * spent in HTTP transfers (the rest is scanning JSON and building series),
 * and peak RSS.  Usage: bench-fetch SPEC AT REPS LABEL
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "diag.h"
#include "http.h"
#include "source.h"
#include "spec.h"
#include "timefmt.h"
#include "xmalloc.h"

struct sample {
	double secs, transfer_secs, rss_mib;
	uint64_t points, series, bytes;
	int failed;
	char err[256];
};

static void one(const struct job_spec *spec, int64_t at, struct sample *out)
{
	struct fetch_ctx ctx = { .job = spec->name, .spec_dir = spec->dir, .from_ms = INT64_MIN,
	                         .to_ms = INT64_MAX, .run_ms = at };
	struct series_set set = SERIES_SET_INIT;
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct http_stats hs;
	int64_t t0;

	if (spec->window_ms) {
		ctx.to_ms = at;
		ctx.from_ms = at - spec->window_ms;
	}
	memset(out, 0, sizeof(*out));
	t0 = time_mono_ns();
	if (spec->source_type->fetch(spec->source, &ctx, &set, &err)) {
		out->failed = 1;
		snprintf(out->err, sizeof(out->err), "%s", err.msg);
	}
	out->secs = seconds_since(t0);
	http_stats_get(&hs);
	out->transfer_secs = (double)hs.transfer_ns / 1e9;
	out->bytes = hs.bytes;
	for (size_t i = 0; i < set.n; i++)
		out->points += set.items[i]->n;
	out->series = set.n;
	out->rss_mib = peak_rss_mib();
	series_set_release(&set);
}

int main(int argc, char **argv)
{
	struct registry *reg;
	struct job_spec *spec;
	struct diag d;
	int64_t at;
	int reps;
	double *secs, *tps, *share, *rss;
	struct sample s = { 0 };

	if (argc != 5) {
		fprintf(stderr, "usage: bench-fetch SPEC AT REPS LABEL\n");
		return 2;
	}
	if (time_parse(argv[2], strlen(argv[2]), TIME_AUTO, &at)) {
		fprintf(stderr, "bench-fetch: '%s' is not a time\n", argv[2]);
		return 2;
	}
	reps = (int)strtol(argv[3], NULL, 10);
	if (reps < 1)
		reps = 1;
	reg = registry_new();
	registry_add_default(reg, NULL, 0);
	diag_init(&d, argv[1]);
	spec = spec_load(argv[1], reg, &d);
	if (!spec) {
		diag_print(&d);
		return 2;
	}
	secs = xcalloc((size_t)reps, sizeof(double));
	tps = xcalloc((size_t)reps, sizeof(double));
	share = xcalloc((size_t)reps, sizeof(double));
	rss = xcalloc((size_t)reps, sizeof(double));
	for (int r = 0; r < reps; r++) {
		int fds[2], status;
		pid_t pid;

		if (pipe(fds) || (pid = fork()) < 0) {
			perror("bench-fetch");
			return 1;
		}
		if (!pid) {
			close(fds[0]);
			one(spec, at, &s);
			if (write(fds[1], &s, sizeof(s)) != (ssize_t)sizeof(s))
				_exit(1);
			_exit(0);
		}
		close(fds[1]);
		if (read(fds[0], &s, sizeof(s)) != (ssize_t)sizeof(s)) {
			fprintf(stderr, "bench-fetch: the child died\n");
			return 1;
		}
		close(fds[0]);
		waitpid(pid, &status, 0);
		if (s.failed) {
			fprintf(stderr, "bench-fetch: %s: %s\n", argv[4], s.err);
			return 1;
		}
		secs[r] = s.secs;
		tps[r] = (double)s.points / s.secs;
		share[r] = s.transfer_secs / s.secs;
		rss[r] = s.rss_mib;
	}
	printf("%-34s %9" PRIu64 " pts %6" PRIu64 " series %8.1f MB  %7.3f s  %6.2f M pts/s  ", argv[4], s.points,
	       s.series, (double)s.bytes / 1e6, median(secs, (size_t)reps), median(tps, (size_t)reps) / 1e6);
	if (s.bytes)
		printf("transfer %3.0f%%  scan+build %3.0f%%  ", 100 * median(share, (size_t)reps),
		       100 * (1 - median(share, (size_t)reps)));
	else
		printf("(no HTTP)                       ");
	printf("peak RSS %6.0f MiB\n", median(rss, (size_t)reps));
	free(secs);
	free(tps);
	free(share);
	free(rss);
	spec_free(spec);
	registry_free(reg);
	diag_release(&d);
	return 0;
}

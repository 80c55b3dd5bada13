/*
 * bench-claims.c - claims and fenced completions per second on a store, with
 * 1 or more nodes racing for the same runs (docs/scale-out.md).
 *
 * Usage: bench-claims STORE NODES RUNS REPS
 *
 * Each repetition forks NODES processes, each with its own connection and
 * node name; every process walks the same RUNS scheduled times of a fresh
 * job and, for each, runs the daemon's claim (create the run unless it
 * exists, claim it with a lease) and, when it won the claim, the fenced
 * completion.  Every run is completed exactly once (checked); the figure is
 * completed runs per second of wall time, the median over REPS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "store.h"
#include "timefmt.h"

static const struct run_outcome ok_outcome = { .state = "succeeded", .outcome = "clean", .n_series = 1,
                                               .n_points = 10 };

/* One node: returns the runs it completed, or -1. */
static int node_main(const char *target, int node, const char *job, int runs)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct store *st = store_open(target, &err);
	char name[32];
	int won = 0;

	if (!st) {
		fprintf(stderr, "bench-claims: %s\n", err.msg);
		return -1;
	}
	snprintf(name, sizeof(name), "bench-node-%d", node);
	st->node = name;
	for (int i = 0; i < runs; i++) {
		struct run_claim c;
		int claimed = 0;

		if (st->backend->run_claim(st, job, (int64_t)(i + 1) * 60000, 0, "schedule", name, 60000, &c, &claimed,
		                           &err) ||
		    (claimed && st->backend->run_finish(st, c.id, 1, &ok_outcome, NULL, 0, &err))) {
			fprintf(stderr, "bench-claims: node %d: %s\n", node, err.msg);
			store_close(st);
			return -1;
		}
		won += claimed;
	}
	store_close(st);
	return won;
}

int main(int argc, char **argv)
{
	int nodes, runs, reps;
	double *rate;

	if (argc != 5 || (nodes = atoi(argv[2])) < 1 || (runs = atoi(argv[3])) < 1 || (reps = atoi(argv[4])) < 1) {
		fprintf(stderr, "usage: bench-claims STORE NODES RUNS REPS\n");
		return 2;
	}
	rate = calloc((size_t)reps, sizeof(*rate));
	for (int r = 0; r < reps; r++) {
		char job[64];
		int64_t t0;
		int total = 0;
		pid_t pids[64];
		int fds[64];

		snprintf(job, sizeof(job), "bench-%ld-%d-%d", (long)getpid(), nodes, r);
		if (nodes > 64)
			nodes = 64;
		t0 = time_mono_ns();
		for (int n = 0; n < nodes; n++) {
			int fd[2];

			if (pipe(fd) || (pids[n] = fork()) < 0) {
				perror("bench-claims");
				return 1;
			}
			if (pids[n] == 0) {
				int won = node_main(argv[1], n, job, runs);

				close(fd[0]);
				if (write(fd[1], &won, sizeof(won)) != sizeof(won))
					_exit(1);
				_exit(won < 0);
			}
			close(fd[1]);
			fds[n] = fd[0];
		}
		for (int n = 0; n < nodes; n++) {
			int won = -1, status;

			if (read(fds[n], &won, sizeof(won)) != sizeof(won) || won < 0) {
				fprintf(stderr, "bench-claims: node %d failed\n", n);
				return 1;
			}
			close(fds[n]);
			waitpid(pids[n], &status, 0);
			total += won;
		}
		rate[r] = (double)runs / ((double)(time_mono_ns() - t0) / 1e9);
		if (total != runs) {
			fprintf(stderr, "bench-claims: %d runs completed, expected %d: a run was claimed twice or never\n",
			        total, runs);
			return 1;
		}
	}
	{
		double med = median(rate, (size_t)reps);

		printf("claims+fenced completions: %d node%s, %d runs: median %.0f runs/s (min %.0f, max %.0f, %d reps)\n",
		       nodes, nodes == 1 ? "" : "s", runs, med, rate[0], rate[reps - 1], reps);
	}
	free(rate);
	return 0;
}

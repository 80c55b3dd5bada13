/*
 * bench-detectors-all.c - points/s and peak memory of every detector vigil
 * can load (VIGIL_PLUGIN_PATH), with its default params, on one long series
 * and on many short ones.
 *
 * Figures per detector: on the long series, "cpu" is the detector's own
 * points per CPU-second (thread CPU time of detect() called directly on
 * result arrays already in memory: the figure for "points/s/core", and
 * robust to other load on the machine), "wall" the points per second of a
 * whole detection_run() (the host's fresh result arrays and reason list
 * included); on the many short series, the same two for all of them.
 * Each detector runs in a child process of its own, so its peak RSS is its
 * own: the figure printed is the child's peak resident set minus what it
 * inherited (the test data), i.e. the detector's state and scratch plus the
 * host's result arrays (5 arrays of n values for the long series).
 *
 * Usage: bench-detectors-all [-n POINTS] [-s SERIES] [-l LENGTH] [-r REPS] [DETECTOR...]
 *   one series of POINTS Gaussian points (default 1000000), REPS times
 *   (default 3, the median is printed); then SERIES series of LENGTH points
 *   (default 10000 of 1000), each scored once, total time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "detect.h"
#include "params.h"
#include "series.h"
#include "xmalloc.h"
#include "banned.h"

/* Params for detectors that have required ones. */
static const struct {
	const char *name, *params;
} required[] = {
	{ "threshold", "{\"upper\": 150}" },
};

static uint64_t rng = 88172645463325252ull;

static double gauss(void)
{
	double u1, u2;

	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	u1 = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
	rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
	u2 = ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Reset the peak RSS to the current RSS (Linux >= 4.0; ignored elsewhere). */
static void reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");

	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

/* Resident set now, in MiB. */
static double rss_now_mib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return (double)resident * (double)sysconf(_SC_PAGESIZE) / 1048576.0;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * CPU seconds of one detect() call on s, outside the host: result arrays
 * allocated and touched beforehand.  The struct detection is zeroed, so the
 * host's set_reason() declines (reasons are sparse; their cost is in "wall").
 */
static double detect_cpu(const struct detector_instance *inst, const struct series *s, struct detection *det)
{
	struct vigil_series vs = {
		.abi_version = VIGIL_ABI_VERSION, .struct_size = sizeof(vs), .name = s->name,
		.labels = s->labels, .n_labels = s->n_labels, .n = s->n, .ts_ms = s->ts, .values = s->v,
	};
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct vigil_diag vd = { .err = &err };
	struct vigil_result *r = &det->r;
	double t0;

	for (size_t i = 0; i < s->n; i++) {
		r->score[i] = 0;
		r->anomaly[i] = 0;
		r->expected[i] = r->lower[i] = r->upper[i] = NAN;
	}
	r->warmup = 0;
	t0 = thread_cpu_s();
	if (inst->entry->d.detect(inst->state, &vs, r, &vd) != 0)
		return -1;
	return thread_cpu_s() - t0;
}

static int bench_one(const struct detector_entry *e, const struct series *longs, struct series **shorts,
                     size_t n_shorts, size_t n_series, size_t len, int reps)
{
	const char *ptext = "{}";
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct detector_instance *inst;
	double base;
	double *wall = xcalloc((size_t)reps, sizeof(double)), *cpu = xcalloc((size_t)reps, sizeof(double));
	double short_cpu = 0, short_wall, med_cpu, med_wall, peak;
	struct detection cd;
	json_t *params;
	size_t flagged = 0, short_points = 0, cap;
	int64_t t0;

	reset_peak_rss();   /* a forked child starts with its parent's peak */
	base = rss_now_mib();
	for (size_t k = 0; k < sizeof(required) / sizeof(required[0]); k++)
		if (!strcmp(required[k].name, e->d.name))
			ptext = required[k].params;
	params = json_loads(ptext, 0, NULL);
	inst = detector_instance_new(e, params, &err);
	json_decref(params);
	if (!inst) {
		printf("%-15s cannot create with %s: %s\n", e->d.name, ptext, err.msg);
		return 1;
	}
	for (int r = 0; r < reps; r++) {
		struct detection det;

		t0 = time_mono_ns();
		if (detection_run(inst, longs, &det, &err)) {
			printf("%-15s %s\n", e->d.name, err.msg);
			return 1;
		}
		wall[r] = seconds_since(t0);
		flagged = 0;
		for (size_t i = 0; i < det.r.n; i++)
			flagged += det.r.anomaly[i];
		detection_release(&det);
	}
	t0 = time_mono_ns();
	for (size_t k = 0; k < n_series; k++) {
		struct detection det;

		if (detection_run(inst, shorts[k % n_shorts], &det, &err)) {
			printf("%-15s %s\n", e->d.name, err.msg);
			return 1;
		}
		short_points += det.r.n;
		detection_release(&det);
	}
	short_wall = seconds_since(t0);
	peak = peak_rss_mib() - base;   /* before the arrays below */
	memset(&cd, 0, sizeof(cd));
	cd.r.abi_version = VIGIL_ABI_VERSION;
	cd.r.struct_size = sizeof(cd.r);
	cd.r.n = longs->n;
	cap = longs->n > len ? longs->n : len;
	cd.r.score = xcalloc(cap, sizeof(double));
	cd.r.anomaly = xcalloc(cap, 1);
	cd.r.expected = xcalloc(cap, sizeof(double));
	cd.r.lower = xcalloc(cap, sizeof(double));
	cd.r.upper = xcalloc(cap, sizeof(double));
	for (int r = 0; r < reps; r++) {
		cpu[r] = detect_cpu(inst, longs, &cd);
		if (cpu[r] < 0) {
			printf("%-15s detect() failed\n", e->d.name);
			return 1;
		}
	}
	med_cpu = median(cpu, (size_t)reps);
	med_wall = median(wall, (size_t)reps);
	cd.r.n = len;
	for (size_t k = 0; k < n_series; k++) {
		double c = detect_cpu(inst, shorts[k % n_shorts], &cd);

		if (c < 0) {
			printf("%-15s detect() failed\n", e->d.name);
			return 1;
		}
		short_cpu += c;
	}
	printf("%-15s %10.2f %10.2f | %10.2f %10.2f | %10.1f | %8zu\n", e->d.name, (double)longs->n / 1e6 / med_cpu,
	       (double)longs->n / 1e6 / med_wall, (double)short_points / 1e6 / short_cpu,
	       (double)short_points / 1e6 / short_wall, peak, flagged);
	detector_instance_free(inst);
	free(cpu);
	free(wall);
	free(cd.r.score);
	free(cd.r.anomaly);
	free(cd.r.expected);
	free(cd.r.lower);
	free(cd.r.upper);
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct detector_entry *x = *(const struct detector_entry *const *)a;
	const struct detector_entry *y = *(const struct detector_entry *const *)b;

	return strcmp(x->d.name, y->d.name);
}

int main(int argc, char **argv)
{
	size_t n = 1000000, n_series = 10000, len = 1000, n_shorts;
	int reps = 3, opt, failed = 0;
	struct registry *reg = registry_new();
	struct series *longs = series_new("bench"), **shorts;
	const struct detector_entry **list;
	size_t n_list = 0;

	while ((opt = getopt(argc, argv, "n:s:l:r:")) != -1) {
		switch (opt) {
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 's': n_series = strtoull(optarg, NULL, 10); break;
		case 'l': len = strtoull(optarg, NULL, 10); break;
		case 'r': reps = (int)strtol(optarg, NULL, 10); break;
		default:
			fprintf(stderr, "usage: bench-detectors-all [-n POINTS] [-s SERIES] [-l LENGTH] [-r REPS] [DETECTOR...]\n");
			return 2;
		}
	}
	if (reps < 1 || !len || !n)
		return 2;
	registry_add_default(reg, NULL, 0);
	registry_load_all(reg);
	list = xcalloc(reg->n_detectors + 1, sizeof(*list));
	if (optind < argc) {
		for (int k = optind; k < argc; k++) {
			list[n_list] = registry_find(reg, argv[k]);
			if (!list[n_list]) {
				fprintf(stderr, "detector %s not found (set VIGIL_PLUGIN_PATH)\n", argv[k]);
				return 1;
			}
			n_list++;
		}
	} else {
		for (size_t k = 0; k < reg->n_detectors; k++)
			list[n_list++] = reg->detectors[k];
		qsort(list, n_list, sizeof(*list), cmp_entry);
	}
	if (!n_list) {
		fprintf(stderr, "no detectors found (set VIGIL_PLUGIN_PATH)\n");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		series_append(longs, (int64_t)i * 60000, 100 + 10 * gauss());
	/* the short series: up to 1000 distinct ones, scored in turn */
	n_shorts = n_series < 1000 ? n_series : 1000;
	shorts = xcalloc(n_shorts ? n_shorts : 1, sizeof(*shorts));
	for (size_t k = 0; k < n_shorts; k++) {
		shorts[k] = series_new("short");
		for (size_t i = 0; i < len; i++)
			series_append(shorts[k], (int64_t)i * 60000, 100 + 10 * gauss());
	}
	printf("%-15s %-21s | %-21s | %10s | %8s\n", "M points/s", "one long series", "many short series", "peak RSS",
	       "flagged");
	printf("%-15s %10s %10s | %10s %10s | %10s | %8s\n", "detector", "cpu", "wall", "cpu", "wall", "MiB", "(long)");
	fflush(stdout);
	for (size_t k = 0; k < n_list; k++) {
		pid_t pid = fork();
		int status;

		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			int rc = bench_one(list[k], longs, shorts, n_shorts, n_series, len, reps);

			fflush(stdout);
			_exit(rc);
		}
		while (waitpid(pid, &status, 0) < 0)
			;
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	printf("n = %zu (median of %d), %zu series of %zu points; default params\n", n, reps, n_series, len);
	for (size_t k = 0; k < n_shorts; k++)
		series_free(shorts[k]);
	free(shorts);
	free(list);
	series_free(longs);
	registry_free(reg);
	return failed;
}

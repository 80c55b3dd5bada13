/*
 * bench-seasonal.c - points/s and peak memory of the seasonal and learning
 * detectors (auto, holt_winters, shesd, spectral_residual, matrix_profile,
 * knn_cad, ensemble) on three workloads:
 *   long   one series of N points (default 1 000 000);
 *   many   K series of M points (default 10 000 x 1 000);
 *   shesd  20 000 minute points (two weeks, daily period) for S-H-ESD.
 * The series is a daily pattern (period 288) with noise, a trend and rare
 * spikes.  Each (detector, workload) runs in a child process, so the peak
 * RSS printed is that detector's.  Medians over REPS runs of detect().
 *
 * Usage: bench-seasonal [N] [K] [M] [REPS] [DETECTOR...]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "benchutil.h"
#include "detect.h"
#include "series.h"
#include "xmalloc.h"

struct bench_det {
	const char *name;
	const char *params;
};

static const struct bench_det all[] = {
	{ "auto", "{}" },
	{ "holt_winters", "{}" },
	{ "holt_winters", "{\"period\": 288}" },
	{ "holt_winters", "{\"period\": 288, \"calibration\": 0}" },
	{ "shesd", "{}" },
	{ "shesd", "{\"period\": \"1d\"}" },
	{ "spectral_residual", "{}" },
	{ "matrix_profile", "{}" },
	{ "knn_cad", "{}" },
	{ "ensemble", "{\"detectors\": [{\"detector\": \"holt_winters\"}, {\"detector\": \"shesd\"},"
	              " {\"detector\": \"matrix_profile\"}], \"combine\": \"vote\"}" },
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

static struct series *make_series(size_t n, size_t period, int64_t step_ms)
{
	struct series *s = series_new("bench");

	for (size_t i = 0; i < n; i++) {
		double v = 100 + 20 * sin(2 * M_PI * (double)(i % period) / (double)period) + 0.0001 * (double)i +
		           3 * gauss();

		if (i % 997 == 500)
			v += 40;
		series_append(s, 1700000000000 + (int64_t)i * step_ms, v);
	}
	return s;
}

/* Score `nser` series with the detector, reps times; print the medians. */
static int run(struct registry *reg, const struct bench_det *bd, const char *workload, struct series **ser,
               size_t nser, int reps)
{
	const struct detector_entry *e = registry_find(reg, bd->name);
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct detector_instance *inst;
	json_error_t jerr;
	json_t *params = json_loads(bd->params, 0, &jerr);
	double *secs = xcalloc((size_t)reps, sizeof(double)), *own = xcalloc((size_t)reps, sizeof(double));
	double *cpu = xcalloc((size_t)reps, sizeof(double));
	size_t points = 0, flagged = 0;
	double rss_before = peak_rss_mib();   /* the series and the loaded plugins */

	if (!e) {
		fprintf(stderr, "detector %s not found (set VIGIL_PLUGIN_PATH)\n", bd->name);
		return 1;
	}
	inst = detector_instance_new(e, params, &err);
	if (!inst) {
		fprintf(stderr, "%s: %s\n", bd->name, err.msg);
		return 1;
	}
	for (size_t k = 0; k < nser; k++)
		points += ser[k]->n;
	for (int r = 0; r < reps; r++) {
		int64_t t0 = time_mono_ns();

		flagged = 0;
		for (size_t k = 0; k < nser; k++) {
			struct detection det;
			double c0 = cpu_seconds();

			if (detection_run(inst, ser[k], &det, &err)) {
				fprintf(stderr, "%s: %s\n", bd->name, err.msg);
				return 1;
			}
			cpu[r] += cpu_seconds() - c0;
			own[r] += det.elapsed_s;
			for (size_t i = 0; i < det.r.n; i++)
				flagged += det.r.anomaly[i];
			detection_release(&det);
		}
		secs[r] = seconds_since(t0);
	}
	{
		double med = median(secs, (size_t)reps), med_own = median(own, (size_t)reps);
		double med_cpu = median(cpu, (size_t)reps);

		printf("%-18s %-28s %-6s %9zu points  detect() %8.4f s = %8.3f M points/s;"
		       " CPU %8.4f s = %8.3f M points/s per core; with host %8.4f s  peak RSS %7.1f MiB"
		       " (%.1f before detect())  (%zu flagged)\n",
		       bd->name, bd->params[1] == '}' ? "" : bd->params, workload, points, med_own,
		       (double)points / 1e6 / med_own, med_cpu, (double)points / 1e6 / med_cpu, med, peak_rss_mib(),
		       rss_before, flagged);
	}
	detector_instance_free(inst);
	json_decref(params);
	free(secs);
	free(own);
	free(cpu);
	return 0;
}

int main(int argc, char **argv)
{
	size_t n_long = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	size_t k_many = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000;
	size_t m_many = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000;
	int reps = argc > 4 ? (int)strtol(argv[4], NULL, 10) : 3;
	static const char *const workloads[] = { "long", "many", "shesd" };

	if (reps < 1)
		reps = 1;
	for (size_t d = 0; d < sizeof(all) / sizeof(all[0]); d++) {
		int selected = argc <= 5;

		for (int a = 5; a < argc; a++)
			selected |= !strcmp(argv[a], all[d].name);
		if (!selected)
			continue;
		for (size_t w = 0; w < 3; w++) {
			pid_t pid;
			int status;

			if (w == 2 && strcmp(all[d].name, "shesd"))
				continue;
			fflush(stdout);
			pid = fork();
			if (pid < 0) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				struct registry *reg = registry_new();
				struct series **ser;
				size_t nser = w == 1 ? k_many : 1;
				int rc;

				registry_add_default(reg, NULL, 0);
				ser = xcalloc(nser, sizeof(*ser));
				for (size_t k = 0; k < nser; k++)
					ser[k] = w == 0 ? make_series(n_long, 288, 300000) :
					         w == 1 ? make_series(m_many, 288, 300000) :
					         make_series(20000, 1440, 60000);
				rc = run(reg, &all[d], workloads[w], ser, nser, reps);
				for (size_t k = 0; k < nser; k++)
					series_free(ser[k]);
				free(ser);
				registry_free(reg);
				fflush(stdout);
				_exit(rc);
			}
			if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
				return 1;
		}
	}
	return 0;
}

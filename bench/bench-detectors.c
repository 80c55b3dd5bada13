/*
 * bench-detectors.c - points/s of each built-in detector on one long series.
 * Loads the detectors through the plugin loader (VIGIL_PLUGIN_PATH), scores
 * an N-point noisy series with window W, REPS times, and prints the median
 * points/s and the peak RSS.   Usage: bench-detectors [N] [WINDOW] [REPS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "benchutil.h"
#include "detect.h"
#include "series.h"
#include "xmalloc.h"

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	int window = argc > 2 ? atoi(argv[2]) : 1000;
	int reps = argc > 3 ? atoi(argv[3]) : 3;
	struct registry *reg = registry_new();
	struct series *s = series_new("bench");
	uint64_t x = 88172645463325252ull;
	static const char *const names[] = { "threshold", "zscore", "mad" };

	registry_add_default(reg, NULL, 0);
	for (size_t i = 0; i < n; i++) {
		double u1, u2;

		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		u1 = ((double)(x >> 11) + 0.5) / 9007199254740992.0;
		x ^= x << 13; x ^= x >> 7; x ^= x << 17;
		u2 = ((double)(x >> 11) + 0.5) / 9007199254740992.0;
		series_append(s, (int64_t)i * 60000, 100 + 10 * sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
	}
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		const struct detector_entry *e = registry_find(reg, names[k]);
		json_t *params = k == 0 ? json_pack("{s:f}", "upper", 150.0) : json_pack("{s:i}", "window", window);
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct detector_instance *inst;
		double *secs = xcalloc((size_t)reps, sizeof(double));
		double *own = xcalloc((size_t)reps, sizeof(double));
		size_t flagged = 0;

		if (!e) {
			fprintf(stderr, "detector %s not found (set VIGIL_PLUGIN_PATH)\n", names[k]);
			return 1;
		}
		inst = detector_instance_new(e, params, &err);
		for (int r = 0; r < reps; r++) {
			struct detection det;
			int64_t t0 = time_mono_ns();

			if (detection_run(inst, s, &det, &err)) {
				fprintf(stderr, "%s: %s\n", names[k], err.msg);
				return 1;
			}
			secs[r] = seconds_since(t0);
			own[r] = det.elapsed_s;
			flagged = 0;
			for (size_t i = 0; i < n; i++)
				flagged += det.r.anomaly[i];
			detection_release(&det);
		}
		double med = median(secs, (size_t)reps), med_own = median(own, (size_t)reps);

		printf("detector %-10s n=%zu window=%d  detect() %.3f s = %7.2f M points/s;"
		       " with host allocation %.3f s = %7.2f M points/s  (%zu flagged)\n",
		       names[k], n, k ? window : 0, med_own, (double)n / 1e6 / med_own, med,
		       (double)n / 1e6 / med, flagged);
		detector_instance_free(inst);
		json_decref(params);
		free(secs);
		free(own);
	}
	printf("detectors peak RSS %.1f MiB\n", peak_rss_mib());
	series_free(s);
	registry_free(reg);
	return 0;
}

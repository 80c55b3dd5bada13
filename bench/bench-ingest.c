/*
 * bench-ingest.c - CSV ingest throughput of the csv source.
 * Writes a CSV of N rows (ISO-8601 timestamps, one value column, and a
 * unix-seconds variant), fetches it REPS times, prints the median MB/s and
 * rows/s, and the peak RSS.   Usage: bench-ingest [ROWS] [REPS]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "benchutil.h"
#include "civil.h"
#include "source.h"
#include "xmalloc.h"

static char *write_csv(size_t rows, int iso)
{
	char *path = xasprintf("%s/vigil-bench-%d-%s.csv", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
	                       (int)getpid(), iso ? "iso" : "unix");
	FILE *f = fopen(path, "w");
	uint64_t x = 12345;

	if (!f) {
		perror(path);
		exit(1);
	}
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	fputs("timestamp,value\n", f);
	for (size_t i = 0; i < rows; i++) {
		int64_t t = 1700000000 + (int64_t)i * 60;
		double v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = 50.0 + (double)(x % 100000) / 1000.0;
		if (iso) {
			int64_t days = floor_div64(t, 86400), y, rem = t - days * 86400;
			unsigned m, d;

			civil_from_days(days, &y, &m, &d);
			fprintf(f, "%04lld-%02u-%02uT%02d:%02d:%02dZ,%.3f\n", (long long)y, m, d, (int)(rem / 3600),
			        (int)(rem / 60 % 60), (int)(rem % 60), v);
		} else {
			fprintf(f, "%lld,%.3f\n", (long long)t, v);
		}
	}
	fclose(f);
	return path;
}

static void bench(const char *label, size_t rows, int iso, int reps)
{
	char *path = write_csv(rows, iso);
	json_t *cfg = json_pack("{s:s, s:s, s:i}", "type", "csv", "path", path, "max_points", 1000000000);
	struct fetch_ctx ctx = { .job = "bench", .from_ms = INT64_MIN, .to_ms = INT64_MAX };
	double *secs = xcalloc((size_t)reps, sizeof(double));
	struct stat st;

	stat(path, &st);
	for (int r = 0; r < reps; r++) {
		struct series_set set = SERIES_SET_INIT;
		struct vigil_error err = VIGIL_ERROR_INIT;
		int64_t t0 = time_mono_ns();

		if (source_csv.fetch(cfg, &ctx, &set, &err)) {
			fprintf(stderr, "fetch failed: %s\n", err.msg);
			exit(1);
		}
		secs[r] = seconds_since(t0);
		if (set.items[0]->n != rows) {
			fprintf(stderr, "read %zu rows, wrote %zu\n", set.items[0]->n, rows);
			exit(1);
		}
		series_set_release(&set);
	}
	double med = median(secs, (size_t)reps);

	printf("ingest %-14s %9zu rows %7.1f MB  median %.3f s  %7.1f MB/s  %6.2f M rows/s\n", label, rows,
	       (double)st.st_size / 1e6, med, (double)st.st_size / 1e6 / med, (double)rows / 1e6 / med);
	unlink(path);
	free(path);
	free(secs);
	json_decref(cfg);
}

int main(int argc, char **argv)
{
	size_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000;
	int reps = argc > 2 ? atoi(argv[2]) : 5;

	bench("iso8601", rows, 1, reps);
	bench("unix-seconds", rows, 0, reps);
	printf("ingest peak RSS %.1f MiB\n", peak_rss_mib());
	return 0;
}

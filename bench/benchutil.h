/* benchutil.h - timing and memory helpers for the benchmarks. */
#ifndef VIGIL_BENCHUTIL_H
#define VIGIL_BENCHUTIL_H

#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "timefmt.h"

static inline int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of n samples (sorts them). */
static inline double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static inline double seconds_since(int64_t t0_ns)
{
	return (double)(time_mono_ns() - t0_ns) / 1e9;
}

/* CPU time of this process so far, in seconds (not wall time: the machine may be shared). */
static inline double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Peak resident set size of this process so far, in MiB. */
static inline double peak_rss_mib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_maxrss / 1024.0;
}

#endif

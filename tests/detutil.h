/*
 * detutil.h - what the detector unit tests share: deterministic noise, a
 * series from an array, and running a built-in detector on it through the
 * production loader and host (tests/check_detectors*.c).
 * A test file may define DETUTIL_T0_MS and DETUTIL_STEP_MS (the series'
 * first timestamp and spacing) before including it.
 */
#ifndef VIGIL_TESTS_DETUTIL_H
#define VIGIL_TESTS_DETUTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "detect.h"
#include "series.h"
#include "testutil.h"

#ifndef DETUTIL_T0_MS
#define DETUTIL_T0_MS 0
#endif
#ifndef DETUTIL_STEP_MS
#define DETUTIL_STEP_MS 60000
#endif

/* The registry of built-in detectors, loaded by the test's main(). */
static struct registry *reg;

/* Deterministic N(0,1) noise (xorshift + Box-Muller). */
static uint64_t rng_state = 88172645463325252ull;

static inline double urand(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

/* Spread the seed's bits and discard a few draws: small seeds would start with extreme values. */
static inline void rng_seed(uint64_t s)
{
	rng_state = (s ? s : 1) * 0x9E3779B97F4A7C15ull;
	for (int k = 0; k < 16; k++)
		(void)urand();
}

static inline double gauss(void)
{
	return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
}

static inline void noise(double *v, size_t n, double mean, double sd)
{
	for (size_t i = 0; i < n; i++)
		v[i] = mean + sd * gauss();
}

static inline struct series *make_series(const double *v, size_t n)
{
	struct series *s = series_new("synthetic");

	for (size_t i = 0; i < n; i++)
		series_append(s, DETUTIL_T0_MS + (int64_t)i * DETUTIL_STEP_MS, v[i]);
	return s;
}

static inline struct detector_instance *instance(const char *name, const char *params_json)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_error_t jerr;
	json_t *params = params_json ? json_loads(params_json, 0, &jerr) : NULL;
	const struct detector_entry *e = registry_find(reg, name);
	struct detector_instance *inst;

	ck_assert_msg(e != NULL, "no detector %s", name);
	ck_assert_msg(!params_json || params, "%s: bad test params %s", name, params_json);
	inst = detector_instance_new(e, params, &err);
	ck_assert_msg(inst != NULL, "%s: %s", name, err.msg);
	json_decref(params);
	return inst;
}

/* Run name(params) on v[0..n); returns the detection (release it). */
static inline struct detection run(const char *name, const char *params, const double *v, size_t n)
{
	struct detector_instance *inst = instance(name, params);
	struct series *s = make_series(v, n);
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct detection det;

	ck_assert_msg(detection_run(inst, s, &det, &err) == 0, "%s: %s", name, err.msg);
	series_free(s);
	detector_instance_free(inst);
	return det;
}

/* The same on points at times ts[0..n) (missing rows: gaps in time, not NaN values). */
static inline struct detection run_ts(const char *name, const char *params, const int64_t *ts, const double *v,
                                      size_t n)
{
	struct detector_instance *inst = instance(name, params);
	struct series *s = series_new("synthetic");
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct detection det;

	for (size_t i = 0; i < n; i++)
		series_append(s, ts[i], v[i]);
	ck_assert_msg(detection_run(inst, s, &det, &err) == 0, "%s: %s", name, err.msg);
	series_free(s);
	detector_instance_free(inst);
	return det;
}

static inline size_t count_flags(const struct detection *d, size_t from, size_t to)
{
	size_t k = 0;

	for (size_t i = from; i < to && i < d->r.n; i++)
		k += d->r.anomaly[i];
	return k;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of w[0..n) (sorts it). */
static inline double median_of(double *w, size_t n)
{
	qsort(w, n, sizeof(*w), cmp_double);
	return n % 2 ? w[n / 2] : 0.5 * (w[n / 2 - 1] + w[n / 2]);
}

#endif

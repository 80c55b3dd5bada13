/*
 * kit.h - small inline helpers shared by the libdetkit sources and the
 * detectors built on them (selection, sorted windows, constants).
 */
#ifndef VIGIL_DETECTORS_KIT_H
#define VIGIL_DETECTORS_KIT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * dev / scale as a standardised deviation.  A zero scale (a constant
 * history) makes any real deviation infinitely unusual, but a deviation
 * within rounding of the reference value `ref` (1e-9 relative) is none:
 * smoothing a constant series can leave 7.000000000000001.
 */
static inline double kit_ratio(double dev, double scale, double ref)
{
	if (scale > 0)
		return dev / scale;
	if (isnan(dev))
		return NAN;
	if (fabs(dev) <= 1e-9 * fabs(ref))
		return 0;
	return dev == 0 ? 0 : dev > 0 ? INFINITY : -INFINITY;
}

/* Lowest autocorrelation of a period that `period: "auto"` accepts. */
#define KIT_PERIOD_MIN_ACF 0.25

/*
 * The k-th smallest (0-based) of a[0..n) (n > 0, k < n), reordering a so
 * that a[0..k) <= a[k] <= a[k+1..n) (Numerical Recipes' select, O(n)).
 */
#define KIT_DEFINE_SELECT(name, T)                                              \
	static inline T name(T *a, size_t n, size_t k)                          \
	{                                                                       \
		size_t l = 0, ir = n - 1;                                       \
		T t;                                                            \
                                                                                \
		for (;;) {                                                      \
			size_t mid, i, j;                                       \
			T x;                                                    \
                                                                                \
			if (ir <= l + 1) {                                      \
				if (ir == l + 1 && a[ir] < a[l]) {              \
					t = a[l]; a[l] = a[ir]; a[ir] = t;      \
				}                                               \
				return a[k];                                    \
			}                                                       \
			mid = (l + ir) >> 1;                                    \
			t = a[mid]; a[mid] = a[l + 1]; a[l + 1] = t;            \
			if (a[l] > a[ir]) { t = a[l]; a[l] = a[ir]; a[ir] = t; } \
			if (a[l + 1] > a[ir]) { t = a[l + 1]; a[l + 1] = a[ir]; a[ir] = t; } \
			if (a[l] > a[l + 1]) { t = a[l]; a[l] = a[l + 1]; a[l + 1] = t; } \
			i = l + 1;                                              \
			j = ir;                                                 \
			x = a[l + 1];                                           \
			for (;;) {                                              \
				do i++; while (a[i] < x);                       \
				do j--; while (a[j] > x);                       \
				if (j < i)                                      \
					break;                                  \
				t = a[i]; a[i] = a[j]; a[j] = t;                \
			}                                                       \
			a[l + 1] = a[j];                                        \
			a[j] = x;                                               \
			if (j >= k)                                             \
				ir = j - 1;                                     \
			if (j <= k)                                             \
				l = i;                                          \
		}                                                               \
	}

KIT_DEFINE_SELECT(kit_select, double)
KIT_DEFINE_SELECT(kit_select_i64, int64_t)

/* Median of v[0..n) (reorders v); NaN for n = 0. */
static inline double kit_median(double *v, size_t n)
{
	double hi;

	if (!n)
		return NAN;
	hi = kit_select(v, n, n / 2);
	if (n % 2)
		return hi;
	{
		double lo = v[0];

		for (size_t i = 1; i < n / 2; i++)
			if (v[i] > lo)
				lo = v[i];
		return 0.5 * (lo + hi);
	}
}

/*
 * First index of the ascending w[0..n) with w[idx] >= x (lower bound) or
 * > x (upper bound).  Branch-free halving, as in detectors/mad.c: the
 * comparison feeds a conditional move, so there are no unpredictable
 * branches.
 */
static inline size_t kit_lower_bound(const double *w, size_t n, double x)
{
	const double *base = w;

	if (!n)
		return 0;
	while (n > 1) {
		size_t half = n / 2;

		base = base[half] < x ? base + half : base;
		n -= half;
	}
	return (size_t)(base - w) + (*base < x);
}

static inline size_t kit_upper_bound(const double *w, size_t n, double x)
{
	const double *base = w;

	if (!n)
		return 0;
	while (n > 1) {
		size_t half = n / 2;

		base = base[half] <= x ? base + half : base;
		n -= half;
	}
	return (size_t)(base - w) + (*base <= x);
}

/* Insert x into the ascending w[0..n) (room for n + 1). */
static inline void kit_sorted_insert(double *w, size_t n, double x)
{
	size_t q = kit_upper_bound(w, n, x);

	memmove(w + q + 1, w + q, (n - q) * sizeof(*w));
	w[q] = x;
}

/* Remove one x (present) from the ascending w[0..n). */
static inline void kit_sorted_remove(double *w, size_t n, double x)
{
	size_t p = kit_lower_bound(w, n, x);

	memmove(w + p, w + p + 1, (n - p - 1) * sizeof(*w));
}

#endif

/*
 * moments.h - running count, mean and variance of a rolling window that
 * stay accurate: values enter as u = (v - ref) / scale, where ref is near
 * the window's mean and scale is a power of two (so scaling is exact) near
 * its spread, chosen when the sums are rebuilt from the window.  The caller
 * rebuilds every `window` steps (rounding error cannot accumulate), and
 * whenever moments_suspect() says an update cancelled most of the sums (a
 * huge value left the window) or they overflowed (values near 1e300).
 * Header-only, like common.h.
 */
#ifndef VIGIL_DETECTORS_MOMENTS_H
#define VIGIL_DETECTORS_MOMENTS_H

#include <math.h>
#include <stddef.h>

struct moments {
	double ref, scale, inv;
	double s, ss;           /* sums of u and u^2 */
	size_t cnt;
	int suspect;            /* set by an update that lost precision */
};

/* Rebuild from the finite values of v[0..n). */
static inline void moments_rebuild(struct moments *m, const double *v, size_t n)
{
	double big = 0, mean = 0, spread = 0;
	size_t k = 0;
	int e;

	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]) && fabs(v[i]) > big)
			big = fabs(v[i]);
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i])) {
			mean += v[i] / (big > 0 ? big : 1);
			k++;
		}
	mean = k ? mean / (double)k * (big > 0 ? big : 1) : 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]) && fabs(v[i] - mean) > spread)
			spread = fabs(v[i] - mean);
	if (!(spread > 0))
		spread = fabs(mean) > 0 ? fabs(mean) : 1;
	if (isinf(spread))
		spread = 0x1p1023;
	frexp(spread, &e);
	m->ref = mean;
	m->scale = ldexp(1, e);
	m->inv = ldexp(1, -e);
	m->s = m->ss = 0;
	m->cnt = 0;
	m->suspect = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i])) {
			double u = (v[i] - mean) * m->inv;

			m->s += u;
			m->ss += u * u;
			m->cnt++;
		}
}

static inline void moments_add(struct moments *m, double v)
{
	double u = (v - m->ref) * m->inv;

	m->s += u;
	m->ss += u * u;
	m->cnt++;
	if (!isfinite(m->ss))
		m->suspect = 1;
}

static inline void moments_remove(struct moments *m, double v)
{
	double u = (v - m->ref) * m->inv, before = m->ss;

	m->s -= u;
	m->ss -= u * u;
	m->cnt--;
	/* more than 20 bits of the sum of squares cancelled: its rounding error now dominates */
	if (m->ss < before * 0x1p-20 || !isfinite(m->ss))
		m->suspect = 1;
}

/*
 * Did an update lose precision since the last rebuild, or has the mean
 * moved so far from ref that the variance cancels most of the sum of
 * squares?  Then the caller rebuilds.
 */
static inline int moments_suspect(const struct moments *m)
{
	double c = (double)m->cnt;

	return m->suspect || (m->cnt > 1 && m->ss > 0 && m->ss * c - m->s * m->s < m->ss * c * 0x1p-20);
}

/*
 * Mean and sample standard deviation, given inv_c = 1 / cnt and
 * inv_c1 = 1 / (cnt - 1) (the caller caches them for a full window);
 * cnt must be at least 2.
 */
static inline void moments_get(const struct moments *m, double inv_c, double inv_c1, double *mean, double *sd)
{
	double var = (m->ss - m->s * m->s * inv_c) * inv_c1;

	*mean = m->ref + m->s * inv_c * m->scale;
	*sd = var > 0 ? sqrt(var) * m->scale : 0;
}

#endif

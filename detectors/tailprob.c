/* tailprob.c - conformal p-values with a peaks-over-threshold exponential tail. */
#include <math.h>
#include <stdlib.h>

#include "kit.h"
#include "tailprob.h"
#include "banned.h"

int tailprob_init(struct tailprob *t, size_t cap, double tail)
{
	t->cap = cap ? cap : 1;
	t->n = 0;
	t->head = 0;
	t->tail = tail > 0 && tail <= 0.5 ? tail : 0.1;
	t->u = INFINITY;
	t->mean_excess = 0;
	t->p_u = 1;
	t->since_fit = 0;
	t->ring = malloc(t->cap * sizeof(*t->ring));
	t->sorted = malloc(t->cap * sizeof(*t->sorted));
	if (!t->ring || !t->sorted) {
		tailprob_release(t);
		return -1;
	}
	return 0;
}

void tailprob_release(struct tailprob *t)
{
	free(t->ring);
	free(t->sorted);
	t->ring = t->sorted = NULL;
	t->n = 0;
}

/* Fewer values than this: conformal p-values only. */
#define TAILPROB_MIN_FOR_TAIL 20

/* Refit the exponential tail: threshold u at the (1 - tail) quantile, mean excess above it. */
static void tail_fit(struct tailprob *t)
{
	const double *s = t->sorted;
	size_t n = t->n, ku, above;
	double excess = 0;

	t->since_fit = 0;
	if (n < TAILPROB_MIN_FOR_TAIL) {
		t->u = INFINITY;
		return;
	}
	ku = (size_t)((1 - t->tail) * (double)n);
	if (ku >= n)
		ku = n - 1;
	t->u = s[ku];
	above = n - kit_upper_bound(s, n, t->u);
	for (size_t j = n - above; j < n; j++)
		excess += s[j] - t->u;
	t->mean_excess = above ? excess / (double)above : 0;
	if (!(t->mean_excess > 0)) {
		/*
		 * A degenerate tail (the top of the history is one value, as when
		 * the statistic is mostly 0): take the scale from the whole history,
		 * the mean excess over its minimum, so that larger values still get
		 * smaller p.  Only a constant history leaves no scale (p = 0 above it).
		 */
		excess = 0;
		for (size_t j = 0; j < n; j++)
			excess += s[j] - s[0];
		t->mean_excess = excess / (double)n;
	}
	t->p_u = ((double)above + 1) / ((double)n + 1);
}

double tailprob_p(const struct tailprob *t, double v)
{
	size_t n = t->n;

	if (isnan(v) || n == 0)
		return 1;
	if (!(v > t->u))
		return ((double)(n - kit_lower_bound(t->sorted, n, v)) + 1) / ((double)n + 1);
	if (isinf(v) || !(t->mean_excess > 0))
		return 0;   /* beyond u where nothing ever was: unprecedented */
	/*
	 * exponential tail over u, from the conformal p-value just above u in
	 * the current history (u and the mean excess may be a few pushes old),
	 * so p stays continuous and decreasing across u
	 */
	return ((double)(n - kit_upper_bound(t->sorted, n, t->u)) + 1) / ((double)n + 1) *
	       exp(-(v - t->u) / t->mean_excess);
}

double tailprob_inverse(const struct tailprob *t, double p)
{
	const double *s = t->sorted;
	size_t n = t->n;
	double ge;

	if (n == 0 || !(p > 0))
		return INFINITY;
	ge = floor(p * ((double)n + 1) - 1);   /* at most this many past values may be >= v */
	if (isinf(t->u) || p >= t->p_u) {
		/* the smallest past value with at most ge past values >= it, or just above the largest */
		if (ge < 0)
			return INFINITY;
		if (ge >= (double)n)
			return s[0];
		if (ge < 1)
			return nextafter(s[n - 1], INFINITY);
		return s[n - (size_t)ge];
	}
	if (!(t->mean_excess > 0))
		return nextafter(t->u, INFINITY);
	return t->u + t->mean_excess * log(t->p_u / p);
}

void tailprob_push(struct tailprob *t, double v)
{
	int tail_changed = v > t->u;

	if (!isfinite(v))
		return;
	if (t->n == t->cap) {
		double old = t->ring[t->head];

		tail_changed |= old > t->u;
		size_t p = kit_lower_bound(t->sorted, t->n, old), q;

		/* replace old by v in place: one memmove of the span between them */
		if (v >= old) {
			q = kit_upper_bound(t->sorted, t->n, v) - 1;
			memmove(t->sorted + p, t->sorted + p + 1, (q - p) * sizeof(double));
		} else {
			q = kit_upper_bound(t->sorted, p, v);
			memmove(t->sorted + q + 1, t->sorted + q, (p - q) * sizeof(double));
		}
		t->sorted[q] = v;
		t->ring[t->head] = v;
		t->head = (t->head + 1) % t->cap;
	} else {
		kit_sorted_insert(t->sorted, t->n, v);
		t->ring[(t->head + t->n) % t->cap] = v;
		t->n++;
	}
	if (tail_changed || ++t->since_fit >= TAILPROB_REFIT || t->n <= 4 * TAILPROB_MIN_FOR_TAIL)
		tail_fit(t);
}

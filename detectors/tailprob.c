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

double tailprob_p(const struct tailprob *t, double v)
{
	const double *s = t->sorted;
	size_t n = t->n, ge, ku, above;
	double u, excess = 0;

	if (isnan(v) || n == 0)
		return 1;
	ge = n - kit_lower_bound(s, n, v);
	if (n < TAILPROB_MIN_FOR_TAIL)
		return ((double)ge + 1) / ((double)n + 1);
	ku = (size_t)((1 - t->tail) * (double)n);
	if (ku >= n)
		ku = n - 1;
	u = s[ku];
	if (v <= u)
		return ((double)ge + 1) / ((double)n + 1);
	if (isinf(v))
		return 0;
	/* exponential tail over u, continuous with the conformal p-value at u */
	above = n - kit_upper_bound(s, n, u);
	for (size_t j = n - above; j < n; j++)
		excess += s[j] - u;
	if (!(excess > 0))
		return 0;   /* nothing above u ever: v is unprecedented */
	return ((double)above + 1) / ((double)n + 1) * exp(-(v - u) * (double)above / excess);
}

double tailprob_inverse(const struct tailprob *t, double p)
{
	const double *s = t->sorted;
	size_t n = t->n, ku, above;
	double u, excess = 0, pu, ge;

	if (n == 0 || !(p > 0))
		return INFINITY;
	ge = floor(p * ((double)n + 1) - 1);   /* at most this many past values may be >= v */
	if (n < TAILPROB_MIN_FOR_TAIL) {
		if (ge < 0)
			return INFINITY;
		return ge >= (double)n ? s[0] : s[n - 1 - (size_t)ge];
	}
	ku = (size_t)((1 - t->tail) * (double)n);
	if (ku >= n)
		ku = n - 1;
	u = s[ku];
	above = n - kit_upper_bound(s, n, u);
	pu = ((double)above + 1) / ((double)n + 1);
	if (p >= pu)
		return ge >= (double)n ? s[0] : s[n - 1 - (size_t)ge];
	for (size_t j = n - above; j < n; j++)
		excess += s[j] - u;
	if (!(excess > 0))
		return nextafter(u, INFINITY);
	return u + excess / (double)above * log(pu / p);
}

void tailprob_push(struct tailprob *t, double v)
{
	if (!isfinite(v))
		return;
	if (t->n == t->cap) {
		double old = t->ring[t->head];
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
		return;
	}
	kit_sorted_insert(t->sorted, t->n, v);
	t->ring[(t->head + t->n) % t->cap] = v;
	t->n++;
}

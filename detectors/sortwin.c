/* sortwin.c - a sorted sliding window with O(log w) median and MAD. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"
#include "sortwin.h"
#include "banned.h"

int sortwin_init(struct sortwin *w, size_t cap)
{
	w->cap = cap ? cap : 1;
	w->n = w->head = w->mad_split = 0;
	w->ring = malloc(w->cap * sizeof(double));
	w->sorted = malloc(w->cap * sizeof(double));
	if (!w->ring || !w->sorted) {
		sortwin_release(w);
		return -1;
	}
	return 0;
}

void sortwin_release(struct sortwin *w)
{
	free(w->ring);
	free(w->sorted);
	w->ring = w->sorted = NULL;
	w->n = 0;
}

void sortwin_push(struct sortwin *w, double v)
{
	if (!isfinite(v))
		return;
	if (w->n == w->cap) {
		double old = w->ring[w->head];
		/*
		 * Both searches over the whole window, independent of each other,
		 * so that the CPU runs them side by side: where old is, and where
		 * v goes (every value from old's place on is >= old, so for v <
		 * old the search of the window is the search of the part before it).
		 */
		size_t p = kit_lower_bound(w->sorted, w->n, old), q = kit_upper_bound(w->sorted, w->n, v);

		if (v >= old) {
			q--;
			memmove(w->sorted + p, w->sorted + p + 1, (q - p) * sizeof(double));
		} else {
			memmove(w->sorted + q + 1, w->sorted + q, (p - q) * sizeof(double));
		}
		w->sorted[q] = v;
		w->ring[w->head] = v;
		w->head = w->head + 1 == w->cap ? 0 : w->head + 1;   /* no division per push */
		return;
	}
	kit_sorted_insert(w->sorted, w->n, v);
	w->ring[(w->head + w->n) % w->cap] = v;
	w->n++;
}

/*
 * Whether the k + 1 smallest of the merged distances (below) take more than
 * a of them from A: true for a below the split of the rank-k element, false
 * from it on.
 */
static int more_from_a(const double *s, size_t split, size_t la, double m, size_t k, size_t a)
{
	size_t b = k + 1 - a;

	return b > 0 && a < la && s[split + b - 1] - m > m - s[split - 1 - a];
}

/*
 * The first a in [lo, hi] where more_from_a() is false (it is taken as false
 * at hi), searched from `guess` outwards (galloping) and then by bisection:
 * the same answer as a bisection of [lo, hi], in O(log d) steps when the
 * answer is d away from the guess, as it is from the last one when the
 * window moves by one point.
 */
static size_t split_of_kth(const double *s, size_t split, size_t la, double m, size_t k, size_t lo, size_t hi,
                           size_t guess)
{
	size_t step = 1;

	guess = guess < lo ? lo : guess > hi ? hi : guess;
	if (guess < hi && more_from_a(s, split, la, m, k, guess)) {
		/* the answer is after guess */
		for (;;) {
			size_t q = guess + step;

			if (q >= hi || !more_from_a(s, split, la, m, k, q)) {
				lo = guess + 1;
				hi = q < hi ? q : hi;
				break;
			}
			guess = q;
			step *= 2;
		}
	} else {
		/* the answer is guess or before it */
		for (;;) {
			if (guess < lo + step) {
				hi = guess;
				break;
			}
			if (more_from_a(s, split, la, m, k, guess - step)) {
				lo = guess - step + 1;
				hi = guess;
				break;
			}
			guess -= step;
			step *= 2;
		}
	}
	while (lo < hi) {
		size_t a = lo + (hi - lo) / 2;

		if (more_from_a(s, split, la, m, k, a))
			lo = a + 1;
		else
			hi = a;
	}
	return lo;
}

/*
 * The elements of rank k and k + 1 (0-based) in the merge of the ascending
 * sequences A(i) = m - s[split-1-i], i < la, and B(j) = s[split+j] - m,
 * j < lb (see detectors/mad.c).  *guess: where the split was last time, and
 * is now.
 */
static void kth_distances(const double *s, size_t split, size_t la, size_t lb, double m, size_t k,
                          double *kth, double *next, size_t *guess)
{
	size_t lo = k + 1 > lb ? k + 1 - lb : 0, hi = k + 1 < la ? k + 1 : la, a, b;
	double va, vb, na, nb;

	a = *guess = split_of_kth(s, split, la, m, k, lo, hi, *guess);
	b = k + 1 - a;
	va = a > 0 ? m - s[split - a] : -INFINITY;
	vb = b > 0 ? s[split + b - 1] - m : -INFINITY;
	*kth = va > vb ? va : vb;
	na = a < la ? m - s[split - 1 - a] : INFINITY;
	nb = b < lb ? s[split + b] - m : INFINITY;
	*next = na < nb ? na : nb;
}

void sortwin_stats(struct sortwin *w, double *median, double *scale)
{
	const double *s = w->sorted;
	size_t n = w->n, split = n / 2;
	double m = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]), d1, d2, mad;

	/* the first value >= m: n / 2 unless values equal to m come before it */
	if (!(s[split] >= m && (split == 0 || s[split - 1] < m)))
		split = kit_lower_bound(s, n, m);
	if (n % 2) {
		kth_distances(s, split, split, n - split, m, n / 2, &d1, &d2, &w->mad_split);
		mad = d1;
	} else {
		kth_distances(s, split, split, n - split, m, n / 2 - 1, &d1, &d2, &w->mad_split);
		mad = 0.5 * (d1 + d2);
	}
	*median = m;
	if (mad > 0) {
		*scale = 1.4826 * mad;
	} else {
		double sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += fabs(s[i] - m);
		*scale = 1.2533 * sum / (double)n;
	}
}

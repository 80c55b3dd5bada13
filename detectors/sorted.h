/*
 * sorted.h - a sorted window of finite values and robust statistics on it
 * (median, quantiles, MAD), shared by the rolling detectors.  Header-only,
 * like common.h: every detector is its own plugin.
 *
 * The window is a sorted array updated in place: removing the point that
 * leaves and inserting the one that enters costs two binary searches and
 * one memmove of the span between them (O(log w) compares, O(w) bytes
 * moved in the worst case).  The searches are branch-free and the MAD is
 * found in O(log w) as the median of two sorted distance sequences, as in
 * detectors/mad.c.
 */
#ifndef VIGIL_DETECTORS_SORTED_H
#define VIGIL_DETECTORS_SORTED_H

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Normal consistency factors: sd = 1.4826 MAD = IQR / 1.349 = 1.2533 mean |x - median|. */
#define MAD_TO_SD 1.482602218505602
#define IQR_TO_SD (1 / 1.348979500392163)
#define MEANDEV_TO_SD 1.2533141373155
/* The normal quartile: Phi^-1(0.75). */
#define NORMAL_Q3 0.6744897501960817

struct sorted_window {
	double *v;      /* v[0..n) ascending, finite */
	size_t n;
};

/* First index of w[0..n) with w[idx] >= x (lower) or > x (upper); branch-free halving. */
static inline size_t sw_lower_bound(const double *w, size_t n, double x)
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

static inline size_t sw_upper_bound(const double *w, size_t n, double x)
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

/* Allocate room for cap values and a sentinel after them; returns -1 when out of memory. */
static inline int sw_init(struct sorted_window *w, size_t cap)
{
	w->n = 0;
	w->v = malloc((cap + 1) * sizeof(*w->v));
	return w->v ? 0 : -1;
}

static inline void sw_release(struct sorted_window *w)
{
	free(w->v);
	w->v = NULL;
	w->n = 0;
}

static inline void sw_insert(struct sorted_window *w, double in)
{
	size_t q = sw_upper_bound(w->v, w->n, in);

	memmove(w->v + q + 1, w->v + q, (w->n - q) * sizeof(*w->v));
	w->v[q] = in;
	w->n++;
}

/* Remove one copy of `out`, which must be in the window. */
static inline void sw_remove(struct sorted_window *w, double out)
{
	size_t p = sw_lower_bound(w->v, w->n, out);

	if (p >= w->n)
		return;   /* not there: cannot happen for a value that entered */
	memmove(w->v + p, w->v + p + 1, (w->n - p - 1) * sizeof(*w->v));
	w->n--;
}

/* Remove `out` (in the window) and insert `in` with one memmove. */
static inline void sw_replace(struct sorted_window *w, double out, double in)
{
	double *v = w->v;
	size_t p = sw_lower_bound(v, w->n, out), q;

	if (in >= out) {
		q = sw_upper_bound(v, w->n, in) - 1;
		memmove(v + p, v + p + 1, (q - p) * sizeof(*v));
	} else {
		q = sw_upper_bound(v, p, in);
		memmove(v + q + 1, v + q, (p - q) * sizeof(*v));
	}
	v[q] = in;
}

/*
 * One step of a window of the last points: `in` enters and, when has_out,
 * `out` leaves; each only when finite (non-finite values are never kept).
 */
static inline void sw_slide(struct sorted_window *w, double in, double out, int has_out)
{
	int a = isfinite(in), b = has_out && isfinite(out);

	if (a && b)
		sw_replace(w, out, in);
	else if (a)
		sw_insert(w, in);
	else if (b)
		sw_remove(w, out);
}

static inline double sorted_median(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : 0.5 * v[n / 2 - 1] + 0.5 * v[n / 2];
}

/* Quantile p of sorted v[0..n) with linear interpolation (Hyndman-Fan type 7, R's default). */
static inline double sorted_quantile(const double *v, size_t n, double p)
{
	double h = (double)(n - 1) * p;
	size_t lo = (size_t)h;

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]);
}

/*
 * The elements of rank k and k + 1 (0-based) in the merge of two ascending
 * sequences A(i) = m - w[split-1-i], i < la, and B(j) = w[split+j] - m,
 * j < lb: a binary search for a, how many of the k + 1 smallest come from A
 * (the first a with B(k - a) <= A(a)), branch-free like sw_lower_bound;
 * inside the search range both indices are valid.  O(log w).
 */
static inline void sorted_kth_distances(const double *w, size_t split, size_t la, size_t lb, double m,
                                        size_t k, double *kth, double *next)
{
	size_t lo = k + 1 > lb ? k + 1 - lb : 0, hi = k + 1 < la ? k + 1 : la;
	size_t a = lo, len = hi - lo, b;
	const double *wa = w + split - 1, *wb = w + split + k;   /* A(a) = m - wa[-a], B(k - a) = wb[-a] - m */
	double va, vb, na, nb;

	if (len) {
		while (len > 1) {
			size_t half = len / 2, c = a + half;

			a = wb[-(ptrdiff_t)c] - m > m - wa[-(ptrdiff_t)c] ? c : a;
			len -= half;
		}
		a += wb[-(ptrdiff_t)a] - m > m - wa[-(ptrdiff_t)a];
	}
	b = k + 1 - a;
	va = a > 0 ? m - w[split - a] : -INFINITY;
	vb = b > 0 ? w[split + b - 1] - m : -INFINITY;
	*kth = va > vb ? va : vb;
	na = a < la ? m - w[split - 1 - a] : INFINITY;
	nb = b < lb ? w[split + b] - m : INFINITY;
	*next = na < nb ? na : nb;
}

/*
 * Median absolute deviation of sorted v[0..n) around its median m, in
 * O(log n).  The split (the first value >= m) is at n / 2 but for ties:
 * a few steps back, else a binary search.
 */
static inline double sorted_mad(const double *v, size_t n, double m)
{
	size_t split = n / 2, steps = 0;
	double d1, d2;

	while (split > 0 && v[split - 1] >= m && ++steps < 8)
		split--;
	if (steps == 8)
		split = sw_lower_bound(v, split, m);

	if (n % 2) {
		sorted_kth_distances(v, split, split, n - split, m, n / 2, &d1, &d2);
		return d1;
	}
	sorted_kth_distances(v, split, split, n - split, m, n / 2 - 1, &d1, &d2);
	return 0.5 * d1 + 0.5 * d2;
}

/* Mean absolute deviation around m (O(n); the fallback when the MAD is 0). */
static inline double mean_abs_dev(const double *v, size_t n, double m)
{
	double sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += fabs(v[i] - m);
	return n ? sum / (double)n : 0;
}

/*
 * A robust standard deviation of sorted v[0..n) around its median m:
 * 1.4826 MAD, or, when more than half of the values are equal (MAD 0),
 * 1.2533 times the mean absolute deviation (Iglewicz and Hoaglin).  0 only
 * for a constant window.
 */
static inline double sorted_robust_sd(const double *v, size_t n, double m)
{
	double mad = sorted_mad(v, n, m);

	return mad > 0 ? MAD_TO_SD * mad : MEANDEV_TO_SD * mean_abs_dev(v, n, m);
}

static inline int sorted_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * Median and robust sd (sorted_robust_sd) of v[0..n) (finite values),
 * sorting v in place.  For the warm-ups of the control charts.
 */
static inline void robust_location_scale(double *v, size_t n, double *loc, double *sd)
{
	qsort(v, n, sizeof(*v), sorted_cmp_double);
	*loc = sorted_median(v, n);
	*sd = sorted_robust_sd(v, n, *loc);
}

/*
 * Two adjacent windows ending at the current point: the test window T (the
 * last `m` points, the current one included) and the reference window R
 * (the `a` points before T).  Only finite values are kept.
 */
struct two_windows {
	size_t ref_len, test_len;
	struct sorted_window ref, test;
};

static inline int two_windows_init(struct two_windows *tw, size_t ref_len, size_t test_len)
{
	tw->ref_len = ref_len;
	tw->test_len = test_len;
	if (sw_init(&tw->ref, ref_len) || sw_init(&tw->test, test_len)) {
		sw_release(&tw->ref);
		sw_release(&tw->test);
		return -1;
	}
	return 0;
}

static inline void two_windows_release(struct two_windows *tw)
{
	sw_release(&tw->ref);
	sw_release(&tw->test);
}

/* Advance to point i of x: x[i] enters T, x[i - m] moves to R, x[i - m - a] leaves. */
static inline void two_windows_step(struct two_windows *tw, const double *x, size_t i)
{
	size_t m = tw->test_len, a = tw->ref_len;

	sw_slide(&tw->test, x[i], i >= m ? x[i - m] : 0, i >= m);
	if (i >= m)
		sw_slide(&tw->ref, x[i - m], i >= m + a ? x[i - m - a] : 0, i >= m + a);
}

#endif

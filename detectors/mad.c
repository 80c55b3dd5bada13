/*
 * mad.c - rolling median and median absolute deviation (robust z-score).
 *
 * Point i is compared with the median m of the `window` points before it;
 * the robust deviation is z = (x - m) / (1.4826 * MAD) (Iglewicz and
 * Hoaglin's modified z-score; 1.4826 makes MAD consistent with the standard
 * deviation of normal data).  When more than half of the window is one
 * value (MAD = 0) the mean absolute deviation around the median, scaled by
 * 1.2533, stands in, as in Iglewicz-Hoaglin.
 *
 * The window is kept as a sorted array: each step removes the point leaving
 * and inserts the one entering with one memmove of the span between them.
 * The MAD is the median of two sorted sequences (distances left and right of
 * m), found by binary search in O(log w).  O(n w) worst case memory traffic,
 * O(n log w) comparisons; O(w) space.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"

static const struct vigil_host *host;

struct mad {
	struct rolling_params rp;
	struct normal_table *table;
};

static void *mad_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct mad *m = malloc(sizeof(*m));

	if (!m || !(m->table = normal_table_new())) {
		free(m);
		host->error(d, "out of memory");
		return NULL;
	}
	rolling_params_read(host, p, 3, &m->rp);
	return m;
}

static int mad_check(const struct vigil_params *p, struct vigil_diag *d)
{
	return rolling_params_check(host, p, d);
}

/*
 * First index of w[0..n) with w[idx] >= x (lower bound) or > x (upper
 * bound).  Branch-free halving: the comparison feeds a conditional move, so
 * the unpredictable branches of a textbook binary search (the cost of this
 * detector) disappear.
 */
static size_t lower_bound(const double *w, size_t n, double x)
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

static size_t upper_bound(const double *w, size_t n, double x)
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

/* Remove `out` (present in w) and insert `in`, keeping w sorted; n is unchanged. */
static void replace_sorted(double *w, size_t n, double out, double in)
{
	size_t p = lower_bound(w, n, out), q;

	if (in >= out) {
		q = upper_bound(w, n, in) - 1;   /* last slot after the shift left */
		memmove(w + p, w + p + 1, (q - p) * sizeof(*w));
	} else {
		q = upper_bound(w, p, in);
		memmove(w + q + 1, w + q, (p - q) * sizeof(*w));
	}
	w[q] = in;
}

static void insert_sorted(double *w, size_t n, double in)
{
	size_t q = upper_bound(w, n, in);

	memmove(w + q + 1, w + q, (n - q) * sizeof(*w));
	w[q] = in;
}

static void remove_sorted(double *w, size_t n, double out)
{
	size_t p = lower_bound(w, n, out);

	memmove(w + p, w + p + 1, (n - p - 1) * sizeof(*w));
}

/*
 * The elements of rank k and k + 1 (0-based) in the merge of two ascending
 * sequences A(i) = m - w[split-1-i], i < la, and B(j) = w[split+j] - m,
 * j < lb: a binary search for how many of the k + 1 smallest come from A,
 * then one step more for the next one.  O(log w).
 */
static void kth_distances(const double *w, size_t split, size_t la, size_t lb, double m, size_t k,
                          double *kth, double *next)
{
	size_t lo = k + 1 > lb ? k + 1 - lb : 0, hi = k + 1 < la ? k + 1 : la;
	size_t a, b;
	double va, vb, na, nb;

	while (lo < hi) {
		a = lo + (hi - lo) / 2;
		b = k + 1 - a;
		if (b > 0 && a < la && w[split + b - 1] - m > m - w[split - 1 - a])
			lo = a + 1;
		else
			hi = a;
	}
	a = lo;
	b = k + 1 - a;
	va = a > 0 ? m - w[split - a] : -INFINITY;
	vb = b > 0 ? w[split + b - 1] - m : -INFINITY;
	*kth = va > vb ? va : vb;
	na = a < la ? m - w[split - 1 - a] : INFINITY;
	nb = b < lb ? w[split + b] - m : INFINITY;
	*next = na < nb ? na : nb;
}

/* Median and robust scale of the sorted window w[0..n). */
static void robust_stats(const double *w, size_t n, double *median, double *scale)
{
	double m = n % 2 ? w[n / 2] : 0.5 * (w[n / 2 - 1] + w[n / 2]);
	size_t split = lower_bound(w, n, m);
	double d1, d2, mad;

	if (n % 2) {
		kth_distances(w, split, split, n - split, m, n / 2, &d1, &d2);
		mad = d1;
	} else {
		kth_distances(w, split, split, n - split, m, n / 2 - 1, &d1, &d2);
		mad = 0.5 * (d1 + d2);
	}
	*median = m;
	if (mad > 0) {
		*scale = 1.4826 * mad;
	} else {
		double sum = 0;

		for (size_t i = 0; i < n; i++)
			sum += fabs(w[i] - m);
		*scale = 1.2533 * sum / (double)n;
	}
}

static void mad_destroy(void *state)
{
	struct mad *m = state;

	free(m->table);
	free(m);
}

static int mad_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                      struct vigil_diag *d)
{
	const struct mad *md = state;
	const double *x = s->values;
	size_t n = s->n, wlen = md->rp.window, cnt = 0, warm = n;
	double *w = malloc((wlen + 1) * sizeof(*w));

	if (!w)
		return host->error(d, "out of memory for a window of %zu points", wlen);
	for (size_t i = 0; i < n; i++) {
		double v = x[i];
		int in = isfinite(v), out = i >= wlen && isfinite(x[i - wlen]);

		if (i >= md->rp.min_history && cnt >= md->rp.min_finite) {
			double m, sc, zz;

			robust_stats(w, cnt, &m, &sc);
			if (warm == n)
				warm = i;
			r->expected[i] = m;
			r->lower[i] = m - md->rp.threshold * sc;
			r->upper[i] = m + md->rp.threshold * sc;
			if (!isnan(v)) {
				double dev = v - m;

				zz = sc > 0 ? dev / sc : dev == 0 ? 0 : dev > 0 ? INFINITY : -INFINITY;
				r->score[i] = score_from_z_fast(md->table, zz, md->rp.dir);
				if (crosses(zz, md->rp.threshold, md->rp.dir)) {
					r->anomaly[i] = 1;
					host->set_reason(r, i, "robust z-score %.3g from the rolling median %.6g", zz, m);
				}
			}
		}
		if (in && out) {
			replace_sorted(w, cnt, x[i - wlen], v);
		} else if (in) {
			insert_sorted(w, cnt, v);
			cnt++;
		} else if (out) {
			remove_sorted(w, cnt, x[i - wlen]);
			cnt--;
		}
	}
	r->warmup = warm;
	free(w);
	return 0;
}

static const struct vigil_detector mad_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "mad",
	.version = "1.0.0",
	.summary = "rolling median and MAD of the previous `window` points (robust z-score)",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 3, \"max\": 1000000,"
		" \"doc\": \"points of history the median and MAD are computed over\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": 3.5, \"exclusive_min\": 0,"
		" \"doc\": \"flag points whose robust z-score is at least this (3.5: Iglewicz-Hoaglin)\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 0, \"min\": 0,"
		" \"doc\": \"points needed before scoring starts (0: a full window)\"}"
	"}",
	.check = mad_check,
	.create = mad_create,
	.destroy = mad_destroy,
	.detect = mad_detect,
};

static int mad_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &mad_detector);
}

VIGIL_PLUGIN_DEFINE("mad", "1.0.0", mad_init, NULL);

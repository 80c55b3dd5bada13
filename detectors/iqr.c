/*
 * iqr.c - Tukey's fences on a rolling window.
 *
 * Point i is compared with the quartiles Q1 and Q3 (linear interpolation,
 * Hyndman-Fan type 7) of the finite values of the `window` points before
 * it: it is flagged outside the fences [Q1 - k IQR, Q3 + k IQR], IQR =
 * Q3 - Q1 (Tukey 1977: k = 1.5 "outside", k = 3 "far out", the default).
 * The score reads the quartiles as those of a normal distribution: the
 * point's deviation from the midhinge (Q1 + Q3) / 2 in units of
 * IQR / 1.349 is a z-score, and the score is its two-sided tail 1 - p, so
 * the fences sit at z = 0.6745 + 1.349 k (4.72 for k = 3) and a point is
 * flagged exactly when |z| reaches that.  When more than half of the window
 * is one value (IQR 0), 1.349 times the scaled mean absolute deviation
 * around the median stands in for the IQR; a constant window makes any
 * other value infinitely far.
 *
 * The window is kept sorted (sorted.h): O(log w) compares and a memmove
 * per point, O(w) state.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"
#include "sorted.h"
#include "banned.h"

static const struct vigil_host *host;

struct iqr {
	size_t window;
	size_t min_history;     /* points (present or not) before scoring starts */
	size_t min_finite;      /* finite points the window must hold to score */
	double k;
	double z_fence;         /* the fences in z units */
	enum direction dir;
	struct normal_table *table;
};

static int iqr_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, m;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "min_history", &m) == 1 &&
	    m > w)
		return host->param_error(d, "min_history", "must not exceed window (%g > %g)", m, w);
	return 0;
}

static void iqr_destroy(void *state)
{
	struct iqr *q = state;

	if (!q)
		return;
	free(q->table);
	free(q);
}

static void *iqr_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct iqr *q = calloc(1, sizeof(*q));
	const char *dir = "both";
	double v;

	if (!q || !(q->table = normal_table_new())) {
		free(q);
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "window", &v);
	q->window = (size_t)v;
	host->param_number(p, "k", &q->k);
	host->param_string(p, "direction", &dir);
	q->dir = parse_direction(dir);
	q->z_fence = (0.5 + q->k) / IQR_TO_SD;
	q->min_history = q->window;
	if (host->param_number(p, "min_history", &v) == 1 && v > 0)
		q->min_history = (size_t)v < q->window ? (size_t)v : q->window;
	q->min_finite = q->min_history / 4 > 4 ? q->min_history / 4 : 4;
	return q;
}

static int iqr_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                      struct vigil_diag *d)
{
	const struct iqr *q = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected, *lower = r->lower, *upper = r->upper;
	uint8_t *anomaly = r->anomaly;
	size_t n = s->n, w = q->window, warm = n;
	struct sorted_window sw;

	if (sw_init(&sw, w))
		return host->error(d, "out of memory for a window of %zu points", w);
	for (size_t i = 0; i < n; i++) {
		double v = x[i];

		if (i >= q->min_history && sw.n >= q->min_finite) {
			double q1 = sorted_quantile(sw.v, sw.n, 0.25), q3 = sorted_quantile(sw.v, sw.n, 0.75);
			double med = sorted_median(sw.v, sw.n), mid = 0.5 * q1 + 0.5 * q3, sd = (q3 - q1) * IQR_TO_SD;

			if (!(sd > 0))
				sd = MEANDEV_TO_SD * mean_abs_dev(sw.v, sw.n, med);
			if (warm == n)
				warm = i;
			expected[i] = med;
			lower[i] = mid - q->z_fence * sd;
			upper[i] = mid + q->z_fence * sd;
			if (!isnan(v)) {
				double dev = v - mid, z;

				z = sd > 0 ? dev / sd : dev == 0 ? 0 : dev > 0 ? INFINITY : -INFINITY;
				score[i] = score_from_z_fast(q->table, z, q->dir);
				if (crosses(z, q->z_fence, q->dir)) {
					anomaly[i] = 1;
					if (isinf(v))
						host->set_reason(r, i, "infinite value (%g)", v);
					else
							host->set_reason(r, i, "%.6g is %s the %s fence %.6g (Q1 %.6g, Q3 %.6g, k %g)",
						                 v, z > 0 ? "above" : "below", z > 0 ? "upper" : "lower",
						                 z > 0 ? upper[i] : lower[i], q1, q3, q->k);
				}
			}
		}
		sw_slide(&sw, v, i >= w ? x[i - w] : 0, i >= w);
	}
	r->warmup = warm;
	sw_release(&sw);
	return 0;
}

static const struct vigil_detector iqr_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "iqr",
	.version = "1.0.0",
	.summary = "Tukey's fences: quartiles and IQR of the previous `window` points",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 4, \"max\": 1000000,"
		" \"doc\": \"points of history the quartiles are computed over\"},"
		"\"k\": {\"type\": \"number\", \"default\": 3, \"exclusive_min\": 0,"
		" \"doc\": \"fences at Q1 - k IQR and Q3 + k IQR (1.5: Tukey's inner fences, 3: outer)\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 0, \"min\": 0,"
		" \"doc\": \"points needed before scoring starts (0: a full window)\"}"
	"}",
	.check = iqr_check,
	.create = iqr_create,
	.destroy = iqr_destroy,
	.detect = iqr_detect,
};

static int iqr_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &iqr_detector);
}

VIGIL_PLUGIN_DEFINE("iqr", "1.0.0", iqr_init, NULL);

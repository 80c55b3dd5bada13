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
 * The window is kept as a sorted array (detectors/sorted.h): each step
 * removes the point leaving and inserts the one entering with one memmove of
 * the span between them.  The MAD is the median of two sorted sequences
 * (distances left and right of m), found by binary search in O(log w).  O(n w) worst case memory traffic,
 * O(n log w) comparisons; O(w) space.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"
#include "sorted.h"

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
	size_t n = s->n, wlen = md->rp.window, warm = n;
	struct sorted_window w;

	if (sw_init(&w, wlen))
		return host->error(d, "out of memory for a window of %zu points", wlen);
	for (size_t i = 0; i < n; i++) {
		double v = x[i];

		if (i >= md->rp.min_history && w.n >= md->rp.min_finite) {
			double m = sorted_median(w.v, w.n), sc = sorted_robust_sd(w.v, w.n, m), zz;

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
		sw_slide(&w, v, i >= wlen ? x[i - wlen] : NAN, i >= wlen);
	}
	r->warmup = warm;
	sw_release(&w);
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

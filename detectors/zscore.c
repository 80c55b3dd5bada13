/*
 * zscore.c - rolling z-score.
 *
 * Point i is compared with the mean and standard deviation of the `window`
 * points before it (missing and infinite values skipped), so scoring is
 * causal and a spike does not inflate its own baseline.  Running sums are
 * kept relative to a reference value to limit cancellation, and recomputed
 * from scratch every `window` steps so rounding error cannot accumulate.
 * O(n) time, O(1) extra space.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"

static const struct vigil_host *host;

struct zscore {
	struct rolling_params rp;
	struct normal_table *table;
};

static void *zscore_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct zscore *z = malloc(sizeof(*z));

	if (!z || !(z->table = normal_table_new())) {
		free(z);
		host->error(d, "out of memory");
		return NULL;
	}
	rolling_params_read(host, p, 2, &z->rp);
	return z;
}

static int zscore_check(const struct vigil_params *p, struct vigil_diag *d)
{
	return rolling_params_check(host, p, d);
}

/*
 * Mean and standard deviation of the finite values of x[lo..hi), computed
 * on values divided by their largest magnitude, for windows whose squares
 * overflow (|x| near 1e154 and beyond).  O(hi - lo); only used then.
 */
static void scaled_stats(const double *x, size_t lo, size_t hi, double *mean, double *sd)
{
	double m = 0, s = 0, ss = 0;
	size_t k = 0;

	for (size_t j = lo; j < hi; j++)
		if (isfinite(x[j]) && fabs(x[j]) > m)
			m = fabs(x[j]);
	if (m == 0)
		m = 1;
	for (size_t j = lo; j < hi; j++) {
		if (!isfinite(x[j]))
			continue;
		s += x[j] / m;
		k++;
	}
	s /= (double)k;
	for (size_t j = lo; j < hi; j++)
		if (isfinite(x[j]))
			ss += (x[j] / m - s) * (x[j] / m - s);
	*mean = s * m;
	*sd = k > 1 ? sqrt(ss / (double)(k - 1)) * m : 0;
}

static void zscore_destroy(void *state)
{
	struct zscore *z = state;

	free(z->table);
	free(z);
}

static int zscore_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                         struct vigil_diag *d)
{
	const struct zscore *z = state;
	const double *x = s->values;
	size_t n = s->n, w = z->rp.window, cnt = 0, since_refresh = 0, warm = n;
	double ref = 0, sum = 0, sumsq = 0;
	int have_ref = 0;

	(void)d;
	for (size_t i = 0; i < n; i++) {
		double v = x[i];

		if (i >= z->rp.min_history && cnt >= z->rp.min_finite) {
			double mean = sum / (double)cnt + ref;
			double var = (sumsq - sum * sum / (double)cnt) / (double)(cnt - 1);
			double sd = var > 0 ? sqrt(var) : 0;

			if (!isfinite(mean) || !isfinite(var))
				scaled_stats(x, i >= w ? i - w : 0, i, &mean, &sd);

			if (warm == n)
				warm = i;
			r->expected[i] = mean;
			r->lower[i] = mean - z->rp.threshold * sd;
			r->upper[i] = mean + z->rp.threshold * sd;
			if (!isnan(v)) {
				double dev = v - mean, zz;

				if (sd > 0)
					zz = dev / sd;
				else
					zz = dev == 0 ? 0 : dev > 0 ? INFINITY : -INFINITY;
				r->score[i] = score_from_z_fast(z->table, zz, z->rp.dir);
				if (crosses(zz, z->rp.threshold, z->rp.dir)) {
					r->anomaly[i] = 1;
					host->set_reason(r, i, "%.3g standard deviations from the rolling mean %.6g",
					                 zz, mean);
				}
			}
		}
		/* Slide the window: add x[i], drop x[i - w]. */
		if (isfinite(v)) {
			if (!have_ref) {
				ref = v;
				have_ref = 1;
			}
			sum += v - ref;
			sumsq += (v - ref) * (v - ref);
			cnt++;
		}
		if (i >= w && isfinite(x[i - w])) {
			double o = x[i - w] - ref;

			sum -= o;
			sumsq -= o * o;
			cnt--;
		}
		if (++since_refresh >= w && cnt) {
			size_t lo = i + 1 >= w ? i + 1 - w : 0;

			since_refresh = 0;
			sum = sumsq = 0;
			ref = NAN;
			for (size_t j = lo; j <= i; j++) {
				if (!isfinite(x[j]))
					continue;
				if (isnan(ref))
					ref = x[j];
				sum += x[j] - ref;
				sumsq += (x[j] - ref) * (x[j] - ref);
			}
		}
	}
	r->warmup = warm;
	return 0;
}

static const struct vigil_detector zscore_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "zscore",
	.version = "1.0.0",
	.summary = "rolling mean and standard deviation of the previous `window` points",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 3, \"max\": 10000000,"
		" \"doc\": \"points of history the mean and deviation are computed over\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": 3, \"exclusive_min\": 0,"
		" \"doc\": \"flag points at least this many standard deviations away\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 0, \"min\": 0,"
		" \"doc\": \"points needed before scoring starts (0: a full window)\"}"
	"}",
	.check = zscore_check,
	.create = zscore_create,
	.destroy = zscore_destroy,
	.detect = zscore_detect,
};

static int zscore_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &zscore_detector);
}

VIGIL_PLUGIN_DEFINE("zscore", "1.0.0", zscore_init, NULL);

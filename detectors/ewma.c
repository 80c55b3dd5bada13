/*
 * ewma.c - two-sided EWMA control chart (Roberts 1959; Montgomery,
 * Introduction to Statistical Quality Control, 9.2) with a robust warm-up
 * and a reset after each alarm.
 *
 * The in-control mean mu and sd sigma are the median and 1.4826 MAD of the
 * first `warmup` finite values (chart.h).  Then each value, standardised
 * u = (x - mu) / sigma, updates e_t = lambda u_t + (1 - lambda) e_(t-1),
 * e_0 = 0, whose exact standard deviation after t updates is
 * sqrt(lambda / (2 - lambda) (1 - (1 - lambda)^(2t))); to it is added the
 * error of the estimated mu, whose variance is (pi / 2) / warmup for the
 * median of normal data, so
 * s_t = sqrt(lambda / (2 - lambda) (1 - (1 - lambda)^(2t)) + pi / (2 warmup))
 * (the statistic averages about 2 / lambda points, so an error in mu of a
 * fraction of sigma is a large part of its spread, and would multiply the
 * false alarms of a short warm-up).  The chart signals when
 * |e_t| / s_t >= L.
 * The score is the normal two-sided tail of e_t / s_t; the band is the
 * range of x that keeps e_t inside the limits at this step (so a point is
 * flagged exactly when it leaves the band), the expected value mu.  After
 * an alarm the chart relearns mu and sigma from a new warm-up starting at
 * the next point (after_alarm "relearn"; a level shift is reported once and
 * becomes the new normal) or restarts e at 0 with the same baseline
 * ("restart", the textbook chart).  Missing values do not update e;
 * infinite ones are flagged and skipped.  Points of a warm-up score 0.
 *
 * O(1) per point, plus an O(m log m) sort per warm-up of m points; O(m)
 * state.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "chart.h"
#include "common.h"
#include "banned.h"

static const struct vigil_host *host;

struct ewma {
	double lambda, limit;
	size_t warmup;
	int relearn;
	enum direction dir;
	struct normal_table *table;
};

static void ewma_destroy(void *state)
{
	struct ewma *e = state;

	if (!e)
		return;
	free(e->table);
	free(e);
}

static void *ewma_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct ewma *e = calloc(1, sizeof(*e));
	const char *dir = "both", *after = "relearn";
	double v;

	if (!e || !(e->table = normal_table_new())) {
		free(e);
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "lambda", &e->lambda);
	host->param_number(p, "threshold", &e->limit);
	host->param_number(p, "warmup", &v);
	e->warmup = (size_t)v;
	host->param_string(p, "after_alarm", &after);
	e->relearn = !strcmp(after, "relearn");
	host->param_string(p, "direction", &dir);
	e->dir = parse_direction(dir);
	return e;
}

static int ewma_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *d)
{
	const struct ewma *e = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected, *lower = r->lower, *upper = r->upper;
	uint8_t *anomaly = r->anomaly;
	double lambda = e->lambda, keep = 1 - lambda, inv_lambda = 1 / lambda, limit = e->limit;
	double decay2 = keep * keep, ratio = lambda / (2 - lambda);
	double mu_var = M_PI / 2 / (double)e->warmup;   /* variance of the warm-up median, in sd^2 */
	double stat = 0, q = 1;   /* e_(t-1) and (1 - lambda)^(2(t-1)) */
	double st = 0, inv_st = 0;
	size_t n = s->n, warm = n;
	struct chart_baseline b;

	if (baseline_init(&b, e->warmup))
		return host->error(d, "out of memory for a warm-up of %zu points", e->warmup);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], u, next, z;

		if (!b.ready) {
			if (baseline_feed(&b, v)) {
				stat = 0;
				q = 1;
			}
			continue;
		}
		if (warm == n)
			warm = i;
		if (q > 0x1p-60 || st == 0) {   /* afterwards the limits are constant to double precision */
			st = sqrt(ratio * (1 - q * decay2) + mu_var);
			inv_st = 1 / st;
		}
		expected[i] = b.mu;
		lower[i] = baseline_value(&b, (-limit * st - keep * stat) * inv_lambda);
		upper[i] = baseline_value(&b, (limit * st - keep * stat) * inv_lambda);
		if (isnan(v))
			continue;
		u = baseline_standardise(&b, v);
		next = isfinite(u) ? lambda * u + keep * stat : u;
		z = next * inv_st;
		score[i] = score_from_z_fast(e->table, z, e->dir);
		if (crosses(z, limit, e->dir)) {
			anomaly[i] = 1;
			if (isinf(v))
				host->set_reason(r, i, "infinite value (%g)", v);
			else
				host->set_reason(r, i,
				                 "EWMA %.6g is %.3g standard errors %s the in-control mean %.6g (sd %.3g)",
				                 b.mu + next * b.sd, fabs(z), z > 0 ? "above" : "below", b.mu, b.sd);
			if (e->relearn)
				baseline_reset(&b);
			stat = 0;
			q = 1;
			st = 0;
			continue;
		}
		if (!isfinite(u))
			continue;   /* an infinite value in the unwatched direction does not enter */
		stat = next;
		q *= decay2;
	}
	r->warmup = warm;
	baseline_release(&b);
	return 0;
}

static const struct vigil_detector ewma_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "ewma",
	.version = "1.0.0",
	.summary = "EWMA control chart against a robust in-control baseline, reset after each alarm",
	.params_schema = "{"
		"\"lambda\": {\"type\": \"number\", \"default\": 0.1, \"exclusive_min\": 0, \"max\": 1,"
		" \"doc\": \"weight of the newest value (small: sensitive to small persistent shifts)\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": 3.5, \"exclusive_min\": 0,"
		" \"doc\": \"control limits at this many standard errors of the EWMA (L)\"},"
		CHART_PARAMS_SCHEMA
	"}",
	.create = ewma_create,
	.destroy = ewma_destroy,
	.detect = ewma_detect,
};

static int ewma_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &ewma_detector);
}

VIGIL_PLUGIN_DEFINE("ewma", "1.0.0", ewma_init, NULL);

/*
 * cusum.c - two-sided tabular CUSUM control chart (Page 1954; Montgomery,
 * Introduction to Statistical Quality Control, 9.1) with a robust warm-up
 * and a reset after each alarm.
 *
 * The in-control mean mu and sd sigma are the median and 1.4826 MAD of the
 * first `warmup` finite values (chart.h).  Then each value, standardised
 * u = (x - mu) / sigma, updates S+ = max(0, S+ + u - k) and
 * S- = max(0, S- - u - k); the chart signals when either exceeds h (k is
 * the reference value, half the shift to detect fast, in sd; h the decision
 * interval: k = 0.5, h = 5 give an in-control ARL of about 465 points
 * two-sided for normal data, and detect a 1 sd shift in about 10).
 *
 * Score: 1 - p, p the tail of the statistic under its in-control stationary
 * law in the Brownian approximation, P(S > s) = exp(-2 k s) (a reflected
 * random walk with drift -k and unit variance), two-sided
 * p = min(1, 2 min(p+, p-)).  The band is the range of x that keeps both
 * sums within h at this step, [mu - sigma (h + k - S-), mu + sigma (h + k -
 * S+)]; the expected value mu.  After an alarm the chart relearns its
 * baseline from a new warm-up starting at the next point ("relearn") or
 * restarts both sums at 0 ("restart").  Missing values change nothing;
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

/*
 * exp(-y) on [0, EXP_TABLE_MAX) by cubic Hermite interpolation on steps of
 * 1 / EXP_TABLE_STEPS: relative error below h^4 / 384 ~ 1.5e-10, a few
 * times cheaper than exp(); past the end 2 exp(-y) < 1e-27 and the score
 * rounds to 1.
 */
#define EXP_TABLE_STEPS 64
#define EXP_TABLE_MAX 64

struct cusum {
	double k, h;
	size_t warmup;
	int relearn;
	enum direction dir;
	struct { double f, df; } exp_table[EXP_TABLE_MAX * EXP_TABLE_STEPS + 2];
};

static double exp_neg(const struct cusum *c, double y)
{
	double u = y * EXP_TABLE_STEPS, u2, u3;
	size_t i;

	if (!(y < EXP_TABLE_MAX))
		return 0;
	i = (size_t)u;
	u -= (double)i;
	u2 = u * u;
	u3 = u2 * u;
	return (2 * u3 - 3 * u2 + 1) * c->exp_table[i].f + (u3 - 2 * u2 + u) * c->exp_table[i].df +
	       (-2 * u3 + 3 * u2) * c->exp_table[i + 1].f + (u3 - u2) * c->exp_table[i + 1].df;
}

static void *cusum_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct cusum *c = calloc(1, sizeof(*c));
	const char *dir = "both", *after = "relearn";
	double v;

	if (!c) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "k", &c->k);
	host->param_number(p, "h", &c->h);
	host->param_number(p, "warmup", &v);
	c->warmup = (size_t)v;
	host->param_string(p, "after_alarm", &after);
	c->relearn = !strcmp(after, "relearn");
	host->param_string(p, "direction", &dir);
	c->dir = parse_direction(dir);
	for (size_t i = 0; i < sizeof(c->exp_table) / sizeof(c->exp_table[0]); i++) {
		c->exp_table[i].f = exp(-(double)i / EXP_TABLE_STEPS);
		c->exp_table[i].df = -c->exp_table[i].f / EXP_TABLE_STEPS;
	}
	return c;
}

/* After an alarm: relearn the baseline from the next point, or restart the sums. */
static void after_alarm(const struct cusum *c, struct chart_baseline *b, double *sp, double *sm)
{
	if (c->relearn)
		baseline_reset(b);
	*sp = *sm = 0;
}

static int cusum_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                        struct vigil_diag *d)
{
	const struct cusum *c = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected, *lower = r->lower, *upper = r->upper;
	uint8_t *anomaly = r->anomaly;
	double k = c->k, h = c->h, sp = 0, sm = 0;
	double sides = c->dir == DIR_BOTH ? 2 : 1;
	size_t n = s->n, warm = n;
	struct chart_baseline b;

	if (baseline_init(&b, c->warmup))
		return host->error(d, "out of memory for a warm-up of %zu points", c->warmup);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], u, np, nm, m, sc;
		int up, down;

		if (!b.ready) {
			if (baseline_feed(&b, v))
				sp = sm = 0;
			continue;
		}
		if (warm == n)
			warm = i;
		expected[i] = b.mu;
		lower[i] = baseline_value(&b, -(h + k - sm));
		upper[i] = baseline_value(&b, h + k - sp);
		if (isnan(v))
			continue;
		u = baseline_standardise(&b, v);
		if (!isfinite(u)) {   /* infinite, or any change of a constant baseline */
			if (u > 0 ? c->dir != DIR_DOWN : c->dir != DIR_UP) {
				score[i] = 1;
				anomaly[i] = 1;
				if (isinf(v))
					host->set_reason(r, i, "infinite value (%g)", v);
				else
					host->set_reason(r, i, "%.6g departs from the constant %.6g", v, b.mu);
				after_alarm(c, &b, &sp, &sm);
			}
			continue;
		}
		np = sp + u - k;
		nm = sm - u - k;
		np = np > 0 ? np : 0;
		nm = nm > 0 ? nm : 0;
		/* p = min(1, 2 min(p+, p-)) = min(1, 2 exp(-2k max(S+, S-))) */
		m = c->dir == DIR_UP ? np : c->dir == DIR_DOWN ? nm : np > nm ? np : nm;
		sc = 1 - sides * exp_neg(c, 2 * k * m);
		score[i] = sc > 0 ? sc : 0;
		up = c->dir != DIR_DOWN && np > h;
		down = c->dir != DIR_UP && nm > h;
		if (up || down) {
			anomaly[i] = 1;
			host->set_reason(r, i, "%s CUSUM %.3g above h = %g: the mean shifted %s from %.6g (sd %.3g)",
			                 up ? "upper" : "lower", up ? np : nm, h, up ? "up" : "down", b.mu, b.sd);
			after_alarm(c, &b, &sp, &sm);
			continue;
		}
		sp = np;
		sm = nm;
	}
	r->warmup = warm;
	baseline_release(&b);
	return 0;
}

static const struct vigil_detector cusum_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "cusum",
	.version = "1.0.0",
	.summary = "tabular CUSUM control chart against a robust in-control baseline, reset after each alarm",
	.params_schema = "{"
		"\"k\": {\"type\": \"number\", \"default\": 0.5, \"exclusive_min\": 0,"
		" \"doc\": \"reference value (allowance) in standard deviations: half the shift to detect\"},"
		"\"h\": {\"type\": \"number\", \"default\": 8, \"exclusive_min\": 0,"
		" \"doc\": \"decision interval in standard deviations: alarm when a sum exceeds it\"},"
		CHART_PARAMS_SCHEMA
	"}",
	.create = cusum_create,
	.destroy = free,
	.detect = cusum_detect,
};

static int cusum_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &cusum_detector);
}

VIGIL_PLUGIN_DEFINE("cusum", "1.0.0", cusum_init, NULL);

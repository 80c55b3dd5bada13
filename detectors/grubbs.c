/*
 * grubbs.c - Grubbs' outlier test on a rolling window, causally.
 *
 * Point i is tested against the sample S made of the finite values of the
 * `window` points before it plus itself (n points): it is an outlier when
 * its Grubbs statistic G = |x - mean(S)| / sd(S) exceeds the critical value
 * G_crit = (n - 1) / sqrt(n) * sqrt(t^2 / (n - 2 + t^2)), with t the upper
 * alpha / (2n) quantile of Student's t with n - 2 degrees of freedom
 * (alpha / n one-sided) (Grubbs 1950, 1969; NIST/SEMATECH e-Handbook
 * 1.3.5.17).  G is computed through the equivalent externally studentised
 * deviation t = (x - mean(W)) / (sd(W) sqrt(1 + 1 / (n - 1))) against the
 * window W alone, which is distributed as Student's t with n - 2 degrees of
 * freedom under the null: so a point never inflates its own baseline, and
 * the band [lower, upper] is exactly the range of values that would not be
 * flagged.  The score is 1 - p with p = P(|T| >= |t|), the point's own tail
 * probability; the flag adds Grubbs' Bonferroni factor n.
 *
 * Mean and variance are running sums (moments.h): O(1) per point, O(1)
 * state besides the critical values of partial windows (cached per call).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"
#include "dist.h"
#include "moments.h"
#include "banned.h"

static const struct vigil_host *host;

struct grubbs {
	size_t window;
	size_t min_history;     /* points (present or not) before scoring starts */
	size_t min_finite;      /* finite points the window must hold to score */
	double alpha;
	enum direction dir;
	int sides;
	double t_crit_full;     /* critical t of a full window (n = window + 1) */
	struct normal_table *table;   /* P(|T| > x) for window - 1 dof */
};

static int grubbs_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, m;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "min_history", &m) == 1 &&
	    m > w)
		return host->param_error(d, "min_history", "must not exceed window (%g > %g)", m, w);
	return 0;
}

static void grubbs_destroy(void *state)
{
	struct grubbs *g = state;

	if (!g)
		return;
	free(g->table);
	free(g);
}

static void *grubbs_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct grubbs *g = calloc(1, sizeof(*g));
	const char *dir = "both";
	double v;

	if (!g) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "window", &v);
	g->window = (size_t)v;
	host->param_number(p, "alpha", &g->alpha);
	host->param_string(p, "direction", &dir);
	g->dir = parse_direction(dir);
	g->sides = g->dir == DIR_BOTH ? 2 : 1;
	g->min_history = g->window;
	if (host->param_number(p, "min_history", &v) == 1 && v > 0)
		g->min_history = (size_t)v < g->window ? (size_t)v : g->window;
	g->min_finite = g->min_history / 4 > 3 ? g->min_history / 4 : 3;
	g->t_crit_full = grubbs_t_crit((double)g->window + 1, g->alpha, g->sides);
	g->table = t_table_new((double)g->window - 1);
	if (!g->table) {
		grubbs_destroy(g);
		host->error(d, "out of memory");
		return NULL;
	}
	return g;
}

/* The critical t for a window of c finite points, cached per call in crit[c] (0: not computed). */
static double critical_t(const struct grubbs *g, double *crit, size_t c)
{
	if (c == g->window)
		return g->t_crit_full;
	if (crit[c] == 0)
		crit[c] = grubbs_t_crit((double)c + 1, g->alpha, g->sides);
	return crit[c];
}

static void flag(const struct grubbs *g, struct vigil_result *r, size_t i, double v, double t, double tc,
                 double n)
{
	r->anomaly[i] = 1;
	if (isinf(v))
		host->set_reason(r, i, "infinite value (%g)", v);
	else
		host->set_reason(r, i, "Grubbs statistic %.3g above the critical value %.3g (n = %.0f, alpha %g)",
		                 g_from_t(fabs(t), n), g_from_t(tc, n), n, g->alpha);
}

static int grubbs_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                         struct vigil_diag *d)
{
	const struct grubbs *g = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected, *lower = r->lower, *upper = r->upper;
	size_t n = s->n, w = g->window, since_rebuild = 0, warm = n;
	double nu_full = (double)w - 1, inv_w = 1 / (double)w, inv_w1 = 1 / ((double)w - 1);
	double f_full = sqrt(1 + inv_w);
	double *crit = calloc(w + 1, sizeof(*crit));
	struct moments mo;

	if (!crit)
		return host->error(d, "out of memory for a window of %zu points", w);
	moments_rebuild(&mo, x, 0);
	for (size_t i = 0; i < n; i++) {
		double v = x[i];

		if (i >= g->min_history && mo.cnt >= g->min_finite) {
			double mean, sd, c, f, tc;

			if (moments_suspect(&mo)) {
				moments_rebuild(&mo, x + (i >= w ? i - w : 0), i >= w ? w : i);
				since_rebuild = 0;
			}
			c = (double)mo.cnt;
			if (mo.cnt == w) {
				moments_get(&mo, inv_w, inv_w1, &mean, &sd);
				f = f_full;
				tc = g->t_crit_full;
			} else {
				moments_get(&mo, 1 / c, 1 / (c - 1), &mean, &sd);
				f = sqrt(1 + 1 / c);
				tc = critical_t(g, crit, mo.cnt);
			}
			if (warm == n)
				warm = i;
			expected[i] = mean;
			lower[i] = mean - tc * sd * f;
			upper[i] = mean + tc * sd * f;
			if (!isnan(v)) {
				double dev = v - mean, t;

				if (sd > 0)
					t = dev / (sd * f);
				else
					t = dev == 0 ? 0 : dev > 0 ? INFINITY : -INFINITY;
				score[i] = score_from_p2(t_two_sided(g->table, nu_full, t, c - 1), t, g->dir);
				if (crosses(t, tc, g->dir))
					flag(g, r, i, v, t, tc, c + 1);
			}
		}
		/* slide the window: x[i] enters, x[i - w] leaves */
		if (isfinite(v))
			moments_add(&mo, v);
		if (i >= w && isfinite(x[i - w]))
			moments_remove(&mo, x[i - w]);
		if (++since_rebuild >= w) {
			size_t lo = i + 1 >= w ? i + 1 - w : 0;

			moments_rebuild(&mo, x + lo, i + 1 - lo);
			since_rebuild = 0;
		}
	}
	r->warmup = warm;
	free(crit);
	return 0;
}

static const struct vigil_detector grubbs_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "grubbs",
	.version = "1.0.0",
	.summary = "Grubbs' outlier test of each point against the previous `window` points",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 3, \"max\": 1000000,"
		" \"doc\": \"points of history each point is tested against\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.05, \"exclusive_min\": 0, \"max\": 0.5,"
		" \"doc\": \"significance level of the test (false alarms per window of clean data)\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count (one-sided tests for up and down)\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 0, \"min\": 0,"
		" \"doc\": \"points needed before scoring starts (0: a full window)\"}"
	"}",
	.check = grubbs_check,
	.create = grubbs_create,
	.destroy = grubbs_destroy,
	.detect = grubbs_detect,
};

static int grubbs_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &grubbs_detector);
}

VIGIL_PLUGIN_DEFINE("grubbs", "1.0.0", grubbs_init, NULL);

/*
 * variance_shift.c - variance changes: the robust spread of the last
 * `test_window` points against that of the `window` points before them.
 *
 * At point i the test window T covers the last test_window points (i
 * included) and the reference window R the `window` points before T.  By
 * default each window's spread is measured on successive differences
 * x[j] - x[j-1] (both finite), as in von Neumann's variance estimate, so a
 * level shift, a trend or a slow seasonal swing inside a window is not read
 * as a variance change (one difference carries a level shift, and the MAD
 * ignores it); with "differences": false, on the values themselves.  The
 * spread is the robust sd (1.4826 MAD around the median, sorted.h), so a
 * few spikes do not count either.  The ratio f = sd_T^2 / sd_R^2 is tested
 * as an F statistic with effective degrees of freedom nu = c (n - 1) per
 * window: c = 0.3675 on values (the asymptotic efficiency of the MAD
 * against the sd for normal data; Rousseeuw and Croux 1993), c = 0.30 on
 * differences (which are correlated; calibrated by simulation so that
 * P(p <= alpha) <= alpha on Gaussian noise for alpha from 1e-4 to 0.05 and
 * windows 30/100 and 50/200): an "F-like" test, exact only asymptotically.
 * p is the tail of F(nu_T, nu_R) beyond f on f's side of 1 (doubled for the
 * two-sided test); the score is 1 - p.  Flags: one per change, at the first
 * point where p reaches alpha; the next flag needs test_window quiet points
 * first (common.h, struct onset).  No expected value or band: the test is
 * on a window's spread, not on a point.
 *
 * Two sorted windows (sorted.h): O(log w) compares and a memmove per
 * point; F tails from tables for full windows (dist.h); O(n) scratch for
 * the differences and O(window + test_window) state.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"
#include "dist.h"
#include "sorted.h"
#include "banned.h"

/* Effective dof per point of a MAD: on values (its asymptotic efficiency), on differences (simulated). */
#define MAD_EFFICIENCY 0.3675
#define MAD_DIFF_EFFICIENCY 0.30

static const struct vigil_host *host;

struct variance_shift {
	size_t window, test_window;
	size_t min_ref, min_test;       /* finite points each window needs to score */
	double alpha;
	double efficiency;              /* effective dof per point */
	int differences;
	enum direction dir;
	struct f_tables ft;             /* F(nu_T, nu_R) of full windows */
};

static int variance_shift_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, t;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "test_window", &t) == 1 &&
	    t > w)
		return host->param_error(d, "test_window", "must not exceed window (%g > %g)", t, w);
	return 0;
}

static void variance_shift_destroy(void *state)
{
	struct variance_shift *vs = state;

	if (!vs)
		return;
	f_tables_release(&vs->ft);
	free(vs);
}

static double effective_dof(const struct variance_shift *vs, size_t n)
{
	return vs->efficiency * (double)(n - 1);
}

static void *variance_shift_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct variance_shift *vs = calloc(1, sizeof(*vs));
	const char *dir = "both";
	double v;

	if (!vs) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "window", &v);
	vs->window = (size_t)v;
	host->param_number(p, "test_window", &v);
	vs->test_window = (size_t)v;
	host->param_number(p, "alpha", &vs->alpha);
	host->param_string(p, "direction", &dir);
	vs->dir = parse_direction(dir);
	host->param_bool(p, "differences", &vs->differences);
	vs->efficiency = vs->differences ? MAD_DIFF_EFFICIENCY : MAD_EFFICIENCY;
	vs->min_ref = vs->window / 2 > 4 ? vs->window / 2 : 4;
	vs->min_test = vs->test_window / 2 > 4 ? vs->test_window / 2 : 4;
	if (f_tables_init(&vs->ft, effective_dof(vs, vs->test_window), effective_dof(vs, vs->window))) {
		free(vs);
		host->error(d, "out of memory");
		return NULL;
	}
	return vs;
}

static int variance_shift_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                                 struct vigil_diag *d)
{
	const struct variance_shift *vs = state;
	const double *x = s->values;
	double *score = r->score;
	uint8_t *anomaly = r->anomaly;
	size_t n = s->n, warm = n, span = vs->window + vs->test_window + (vs->differences ? 1 : 0);
	double *diff = NULL, unit = vs->differences ? M_SQRT1_2 : 1;   /* sd of x from sd of differences */
	const double *y = x;
	struct two_windows tw;
	struct onset on;

	if (vs->differences && n) {
		diff = malloc(n * sizeof(*diff));
		if (!diff)
			return host->error(d, "out of memory for %zu differences", n);
		diff[0] = NAN;
		for (size_t i = 1; i < n; i++)
			diff[i] = isfinite(x[i]) && isfinite(x[i - 1]) ? x[i] - x[i - 1] : NAN;
		y = diff;
	}
	if (two_windows_init(&tw, vs->window, vs->test_window)) {
		free(diff);
		return host->error(d, "out of memory for windows of %zu points", span);
	}
	onset_init(&on, vs->test_window);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], sr, st, f, side, p;
		int watched;

		two_windows_step(&tw, y, i);
		if (i + 1 < span || tw.ref.n < vs->min_ref || tw.test.n < vs->min_test)
			continue;
		if (warm == n)
			warm = i;
		if (isnan(v))
			continue;
		if (isinf(v)) {
			if (vs->dir != DIR_DOWN) {
				score[i] = 1;
				anomaly[i] = 1;
				host->set_reason(r, i, "infinite value (%g)", v);
			}
			continue;
		}
		sr = unit * sorted_robust_sd(tw.ref.v, tw.ref.n, sorted_median(tw.ref.v, tw.ref.n));
		st = unit * sorted_robust_sd(tw.test.v, tw.test.n, sorted_median(tw.test.v, tw.test.n));
		if (!(sr > 0) && !(st > 0)) {   /* both windows constant: nothing to compare */
			onset_step(&on, 0);
			continue;
		}
		f = sr > 0 ? (st / sr) * (st / sr) : INFINITY;
		side = f_tail(&vs->ft, f, effective_dof(vs, tw.test.n), effective_dof(vs, tw.ref.n));
		watched = vs->dir == DIR_BOTH || (vs->dir == DIR_UP && f > 1) || (vs->dir == DIR_DOWN && f < 1);
		p = !watched ? 1 : vs->dir == DIR_BOTH ? fmin(1, 2 * side) : side;
		score[i] = 1 - p;
		if (onset_step(&on, p <= vs->alpha)) {
			anomaly[i] = 1;
			host->set_reason(r, i, "variance %s: robust sd of the last %zu points %.3g, of the %zu before %.3g"
			                 " (p = %.2g)", f > 1 ? "up" : "down", vs->test_window, st, vs->window, sr, p);
		}
	}
	r->warmup = warm;
	two_windows_release(&tw);
	free(diff);
	return 0;
}

static const struct vigil_detector variance_shift_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "variance_shift",
	.version = "1.0.0",
	.summary = "robust variance of the last `test_window` points against the `window` points before them",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 8, \"max\": 1000000,"
		" \"doc\": \"points of the reference window (normal behaviour)\"},"
		"\"test_window\": {\"type\": \"integer\", \"default\": 30, \"min\": 8, \"max\": 1000000,"
		" \"doc\": \"points of the test window, the current one included\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.00001, \"exclusive_min\": 0, \"max\": 0.5,"
		" \"doc\": \"flag a change when the test's p-value reaches this\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which changes count: up is a larger variance\"},"
		"\"differences\": {\"type\": \"boolean\", \"default\": true,"
		" \"doc\": \"measure spread on successive differences (blind to level shifts and trends)\"}"
	"}",
	.check = variance_shift_check,
	.create = variance_shift_create,
	.destroy = variance_shift_destroy,
	.detect = variance_shift_detect,
};

static int variance_shift_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &variance_shift_detector);
}

VIGIL_PLUGIN_DEFINE("variance_shift", "1.0.0", variance_shift_init, NULL);

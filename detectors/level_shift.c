/*
 * level_shift.c - level shifts: the median of the last `test_window` points
 * against the median of the `window` points before them.
 *
 * At point i the test window T holds the finite values of the last
 * test_window points (i included) and the reference window R the finite
 * values of the `window` points before T.  The shift is scaled by the
 * standard error of a difference of medians of normal samples,
 * z = (med T - med R) / (1.2533 sigma sqrt(1 / |T| + 1 / |R|)), with sigma
 * the robust sd of R (1.4826 MAD, sorted.h): R describes normal behaviour,
 * so a burst of noise in T does not shrink its own yardstick.  A single
 * spike barely moves a median: this detector reacts to shifts that last
 * at least half of the test window.  Score: the normal two-sided tail of z.
 * Flags: one per shift, at the first point where |z| reaches `threshold`;
 * the next flag needs test_window points below it first (common.h, struct
 * onset), so a shift alerts once instead of for the whole time it takes to
 * cross the windows.  expected
 * is med R and [lower, upper] the range med T may take without a flag.
 *
 * Two sorted windows (sorted.h): O(log w) compares and a memmove per point,
 * O(window + test_window) state.
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

struct level_shift {
	size_t window, test_window;
	size_t min_ref, min_test;       /* finite points each window needs to score */
	double threshold;
	enum direction dir;
	struct normal_table *table;
};

static int level_shift_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, t;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "test_window", &t) == 1 &&
	    t > w)
		return host->param_error(d, "test_window", "must not exceed window (%g > %g)", t, w);
	return 0;
}

static void level_shift_destroy(void *state)
{
	struct level_shift *l = state;

	if (!l)
		return;
	free(l->table);
	free(l);
}

static void *level_shift_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct level_shift *l = calloc(1, sizeof(*l));
	const char *dir = "both";
	double v;

	if (!l || !(l->table = normal_table_new())) {
		free(l);
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "window", &v);
	l->window = (size_t)v;
	host->param_number(p, "test_window", &v);
	l->test_window = (size_t)v;
	host->param_number(p, "threshold", &l->threshold);
	host->param_string(p, "direction", &dir);
	l->dir = parse_direction(dir);
	l->min_ref = l->window / 2 > 3 ? l->window / 2 : 3;
	l->min_test = (l->test_window + 1) / 2;
	return l;
}

static int level_shift_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                              struct vigil_diag *d)
{
	const struct level_shift *l = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected, *lower = r->lower, *upper = r->upper;
	uint8_t *anomaly = r->anomaly;
	size_t n = s->n, warm = n, span = l->window + l->test_window;
	struct two_windows tw;
	struct onset on;

	if (two_windows_init(&tw, l->window, l->test_window))
		return host->error(d, "out of memory for windows of %zu points", span);
	onset_init(&on, l->test_window);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], mr, mt, sd, se, z;

		two_windows_step(&tw, x, i);
		if (i + 1 < span || tw.ref.n < l->min_ref || tw.test.n < l->min_test)
			continue;
		if (warm == n)
			warm = i;
		mr = sorted_median(tw.ref.v, tw.ref.n);
		mt = sorted_median(tw.test.v, tw.test.n);
		sd = sorted_robust_sd(tw.ref.v, tw.ref.n, mr);
		se = MEANDEV_TO_SD * sd * sqrt(1.0 / (double)tw.test.n + 1.0 / (double)tw.ref.n);
		expected[i] = mr;
		lower[i] = mr - l->threshold * se;
		upper[i] = mr + l->threshold * se;
		if (isnan(v))
			continue;
		if (isinf(v)) {
			if (crosses(v, 0, l->dir)) {
				score[i] = 1;
				anomaly[i] = 1;
				host->set_reason(r, i, "infinite value (%g)", v);
			}
			continue;
		}
		z = se > 0 ? (mt - mr) / se : mt == mr ? 0 : mt > mr ? INFINITY : -INFINITY;
		score[i] = score_from_z_fast(l->table, z, l->dir);
		if (onset_step(&on, crosses(z, l->threshold, l->dir))) {
			anomaly[i] = 1;
			host->set_reason(r, i, "level shift %s: median of the last %zu points %.6g, of the %zu before %.6g"
			                 " (%.3g standard errors)", z > 0 ? "up" : "down", tw.test.n, mt, tw.ref.n, mr,
			                 fabs(z));
		}
	}
	r->warmup = warm;
	two_windows_release(&tw);
	return 0;
}

static const struct vigil_detector level_shift_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "level_shift",
	.version = "1.0.0",
	.summary = "median of the last `test_window` points against the `window` points before them",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 4, \"max\": 1000000,"
		" \"doc\": \"points of the reference window (normal behaviour)\"},"
		"\"test_window\": {\"type\": \"integer\", \"default\": 10, \"min\": 1, \"max\": 1000000,"
		" \"doc\": \"points of the test window, the current one included\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": 5, \"exclusive_min\": 0,"
		" \"doc\": \"flag a shift of the median of at least this many standard errors\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which shifts count\"}"
	"}",
	.check = level_shift_check,
	.create = level_shift_create,
	.destroy = level_shift_destroy,
	.detect = level_shift_detect,
};

static int level_shift_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &level_shift_detector);
}

VIGIL_PLUGIN_DEFINE("level_shift", "1.0.0", level_shift_init, NULL);

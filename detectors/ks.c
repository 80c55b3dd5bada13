/*
 * ks.c - distribution changes: the two-sample Kolmogorov-Smirnov test of
 * the last `test_window` points against the `window` points before them.
 *
 * At point i the test window T holds the finite values of the last
 * test_window points (i included) and the reference window R the finite
 * values of the `window` points before T.  D = max |F_R(v) - F_T(v)| over
 * the values v of both (ties counted in both empirical CDFs), computed as
 * the integer D |R| |T| by one merge of the two sorted windows.  p-value:
 * exact when both windows are full and the table of all the values D can
 * take is cheap to build in create() (the lattice-path count of Hodges
 * 1957 as in R's psmirnov, O(|R| |T|) per value), else the asymptotic
 * Kolmogorov distribution with Stephens' correction
 * Q((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) D), ne = |R| |T| / (|R| + |T|).
 * The p-value assumes continuous data; with ties it is conservative.  The
 * score is 1 - p.  Flags: one per change, at the first point where p
 * reaches alpha (re-armed once p is above alpha again).  expected is the
 * median of R; there is no band (the test is on a distribution).
 *
 * Two sorted windows (sorted.h) and a merge per point:
 * O(window + test_window) per point and state.
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

/* Largest number of lattice cells create() spends on the exact table. */
#define KS_EXACT_BUDGET 20000000.0

static const struct vigil_host *host;

struct ks {
	size_t window, test_window;
	size_t min_ref, min_test;       /* finite points each window needs to score */
	double alpha;
	uint64_t g;                     /* gcd(window, test_window): D |R| |T| is a multiple of it */
	double *exact;                  /* [k / g]: P(D >= k / (window test_window)), or NULL */
};

static int ks_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, t;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "test_window", &t) == 1 &&
	    t > w)
		return host->param_error(d, "test_window", "must not exceed window (%g > %g)", t, w);
	return 0;
}

static void ks_destroy(void *state)
{
	struct ks *k = state;

	if (!k)
		return;
	free(k->exact);
	free(k);
}

static uint64_t gcd(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static void *ks_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct ks *k = calloc(1, sizeof(*k));
	size_t a, b, values;
	double v, *u;

	if (!k) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "window", &v);
	k->window = a = (size_t)v;
	host->param_number(p, "test_window", &v);
	k->test_window = b = (size_t)v;
	host->param_number(p, "alpha", &k->alpha);
	k->min_ref = a / 2 > 4 ? a / 2 : 4;
	k->min_test = b / 2 > 4 ? b / 2 : 4;
	k->g = gcd(a, b);
	values = (size_t)((uint64_t)a * b / k->g) + 1;
	if ((double)values * (double)(a + 1) * (double)(b + 1) > KS_EXACT_BUDGET)
		return k;
	k->exact = malloc(values * sizeof(*k->exact));
	u = malloc(2 * (b + 1) * sizeof(*u));
	if (!k->exact || !u) {
		free(u);
		ks_destroy(k);
		host->error(d, "out of memory");
		return NULL;
	}
	for (size_t j = 0; j < values; j++)
		k->exact[j] = ks_p_exact(a, b, (uint64_t)j * k->g, u);
	free(u);
	return k;
}

static int ks_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                     struct vigil_diag *d)
{
	const struct ks *k = state;
	const double *x = s->values;
	size_t n = s->n, warm = n, span = k->window + k->test_window;
	struct two_windows tw;
	struct onset on;

	if (two_windows_init(&tw, k->window, k->test_window))
		return host->error(d, "out of memory for windows of %zu points", span);
	onset_init(&on, k->test_window);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], p, dd;
		size_t a, b;
		uint64_t stat;

		two_windows_step(&tw, x, i);
		a = tw.ref.n;
		b = tw.test.n;
		if (i + 1 < span || a < k->min_ref || b < k->min_test)
			continue;
		if (warm == n)
			warm = i;
		r->expected[i] = sorted_median(tw.ref.v, a);
		if (isnan(v))
			continue;
		if (isinf(v)) {
			r->score[i] = 1;
			r->anomaly[i] = 1;
			host->set_reason(r, i, "infinite value (%g)", v);
			continue;
		}
		stat = ks_statistic(tw.ref.v, a, tw.test.v, b);
		dd = (double)stat / ((double)a * (double)b);
		if (k->exact && a == k->window && b == k->test_window)
			p = k->exact[stat / k->g];
		else
			p = ks_p_asymptotic(dd, a, b);
		r->score[i] = 1 - p;
		if (onset_step(&on, p <= k->alpha)) {
			r->anomaly[i] = 1;
			host->set_reason(r, i, "distribution change: the last %zu points differ from the %zu before"
			                 " (KS D = %.3f, p = %.2g)", b, a, dd, p);
		}
	}
	r->warmup = warm;
	two_windows_release(&tw);
	return 0;
}

static const struct vigil_detector ks_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "ks",
	.version = "1.0.0",
	.summary = "two-sample Kolmogorov-Smirnov test of the last `test_window` points against the `window` before",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 8, \"max\": 100000,"
		" \"doc\": \"points of the reference window (normal behaviour)\"},"
		"\"test_window\": {\"type\": \"integer\", \"default\": 30, \"min\": 8, \"max\": 100000,"
		" \"doc\": \"points of the test window, the current one included\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.00001, \"exclusive_min\": 0, \"max\": 0.5,"
		" \"doc\": \"flag a change when the test's p-value reaches this\"}"
	"}",
	.check = ks_check,
	.create = ks_create,
	.destroy = ks_destroy,
	.detect = ks_detect,
};

static int ks_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &ks_detector);
}

VIGIL_PLUGIN_DEFINE("ks", "1.0.0", ks_init, NULL);

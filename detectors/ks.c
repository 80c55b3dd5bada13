/*
 * ks.c - distribution changes: the two-sample Kolmogorov-Smirnov test of
 * the last `test_window` points against the `window` points before them.
 *
 * At point i the test window T holds the finite values of the last
 * test_window points (i included) and the reference window R the finite
 * values of the `window` points before T.  D = max |F_R(v) - F_T(v)| over
 * the values v of both (ties counted in both empirical CDFs), computed as
 * the integer D |R| |T| from the ranks of T's values in R.  p-value:
 * exact when both windows are full and the table of all the values D can
 * take is cheap to build in create() (the lattice-path count of Hodges
 * 1957 as in R's psmirnov, O(|R| |T|) per value), else the asymptotic
 * Kolmogorov distribution with Stephens' correction
 * Q((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) D), ne = |R| |T| / (|R| + |T|).
 * The p-value assumes continuous data; with ties it is conservative.  The
 * score is 1 - p.  Flags: one per change, at the first point where p
 * reaches alpha; the next flag needs test_window points with p above alpha
 * first (common.h, struct onset).  expected is the median of R; there is no
 * band (the test is on a distribution).
 *
 * The reference window is kept sorted (sorted.h); the test window keeps,
 * for each of its values, its rank in the reference window, updated as
 * values move (see struct test_window): O(test_window + log window) per
 * point besides the sorted window's memmove, O(window + test_window) state.
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

/*
 * The test window, kept sorted, with the rank of each of its values in the
 * reference window R: lt[j] values of R below tv[j], le[j] at most tv[j].
 * Moving one value in or out of R updates every rank in O(test_window)
 * (branch-free, vectorisable), and D needs only these ranks: F_T - F_R is
 * largest at a value of T, F_R - F_T just below one.
 */
struct test_window {
	double *tv;
	int64_t *lt, *le;
	size_t n;
};

static int test_window_init(struct test_window *t, size_t cap)
{
	t->n = 0;
	t->tv = malloc(cap * sizeof(*t->tv));
	t->lt = malloc(cap * sizeof(*t->lt));
	t->le = malloc(cap * sizeof(*t->le));
	return t->tv && t->lt && t->le ? 0 : -1;
}

static void test_window_release(struct test_window *t)
{
	free(t->tv);
	free(t->lt);
	free(t->le);
}

/* A value enters (delta 1) or leaves (delta -1) R: the ranks of T move. */
static void ranks_update(struct test_window *t, double v, int64_t delta)
{
	for (size_t j = 0; j < t->n; j++) {
		t->lt[j] += (v < t->tv[j]) * delta;
		t->le[j] += (v <= t->tv[j]) * delta;
	}
}

static void test_insert(struct test_window *t, const struct sorted_window *ref, double v)
{
	size_t q = sw_upper_bound(t->tv, t->n, v), m = t->n - q;

	memmove(t->tv + q + 1, t->tv + q, m * sizeof(*t->tv));
	memmove(t->lt + q + 1, t->lt + q, m * sizeof(*t->lt));
	memmove(t->le + q + 1, t->le + q, m * sizeof(*t->le));
	t->tv[q] = v;
	t->lt[q] = (int64_t)sw_lower_bound(ref->v, ref->n, v);
	t->le[q] = (int64_t)sw_upper_bound(ref->v, ref->n, v);
	t->n++;
}

static void test_remove(struct test_window *t, double v)
{
	size_t p = sw_lower_bound(t->tv, t->n, v), m;

	if (p >= t->n)
		return;   /* not there: cannot happen, v entered earlier */
	m = t->n - p - 1;
	memmove(t->tv + p, t->tv + p + 1, m * sizeof(*t->tv));
	memmove(t->lt + p, t->lt + p + 1, m * sizeof(*t->lt));
	memmove(t->le + p, t->le + p + 1, m * sizeof(*t->le));
	t->n--;
}

/*
 * D |R| |T| from the ranks (the integer ks_statistic() computes by merging).
 * Over a run of equal values of T the terms below only grow towards its
 * last element (up) and its first (down), so ties need no special case.
 */
static uint64_t test_statistic(const struct test_window *t, size_t na)
{
	int64_t best = 0, a = (int64_t)na, b = (int64_t)t->n;

	for (size_t j = 0; j < t->n; j++) {
		int64_t up = (int64_t)(j + 1) * a - t->le[j] * b;   /* F_T - F_R at tv[j] */
		int64_t down = t->lt[j] * b - (int64_t)j * a;       /* F_R - F_T just below it */

		best = up > best ? up : best;
		best = down > best ? down : best;
	}
	return (uint64_t)best;
}

static int ks_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                     struct vigil_diag *d)
{
	const struct ks *k = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected;
	uint8_t *anomaly = r->anomaly;
	size_t n = s->n, warm = n, wa = k->window, wb = k->test_window, span = wa + wb;
	struct sorted_window ref = { 0 };
	struct test_window tw = { 0 };
	struct onset on;

	if (sw_init(&ref, wa) || test_window_init(&tw, wb)) {
		sw_release(&ref);
		test_window_release(&tw);
		return host->error(d, "out of memory for windows of %zu points", span);
	}
	onset_init(&on, wb);
	for (size_t i = 0; i < n; i++) {
		double v = x[i], p, dd;
		size_t a, b;
		uint64_t stat;

		/* x[i - wb - wa] leaves R, x[i - wb] moves from T to R, x[i] enters T */
		if (i >= span && isfinite(x[i - span])) {
			sw_remove(&ref, x[i - span]);
			ranks_update(&tw, x[i - span], -1);
		}
		if (i >= wb && isfinite(x[i - wb])) {
			test_remove(&tw, x[i - wb]);
			sw_insert(&ref, x[i - wb]);
			ranks_update(&tw, x[i - wb], 1);
		}
		if (isfinite(v))
			test_insert(&tw, &ref, v);
		a = ref.n;
		b = tw.n;
		if (i + 1 < span || a < k->min_ref || b < k->min_test)
			continue;
		if (warm == n)
			warm = i;
		expected[i] = sorted_median(ref.v, a);
		if (isnan(v))
			continue;
		if (isinf(v)) {
			score[i] = 1;
			anomaly[i] = 1;
			host->set_reason(r, i, "infinite value (%g)", v);
			continue;
		}
		stat = test_statistic(&tw, a);
		dd = (double)stat / ((double)a * (double)b);
		if (k->exact && a == wa && b == wb)
			p = k->exact[stat / k->g];
		else
			p = ks_p_asymptotic(dd, a, b);
		score[i] = 1 - p;
		if (onset_step(&on, p <= k->alpha)) {
			anomaly[i] = 1;
			host->set_reason(r, i, "distribution change: the last %zu points differ from the %zu before"
			                 " (KS D = %.3f, p = %.2g)", b, a, dd, p);
		}
	}
	r->warmup = warm;
	sw_release(&ref);
	test_window_release(&tw);
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

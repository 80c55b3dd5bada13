/*
 * esd.c - the generalized extreme Studentized deviate test (Rosner 1983) on
 * a rolling window, causally.
 *
 * Point i is tested with the sample S made of the finite values of the
 * `window` points before it plus itself (n points).  For j = 1..r
 * (r = max_outliers), the value farthest from the mean of what is left is
 * removed, with R_j = |x - mean| / sd before its removal and the critical
 * value lambda_j = (n - j) t / sqrt((n - j - 1 + t^2)(n - j + 1)), t the
 * upper alpha / (2 (n - j + 1)) quantile of Student's t with n - j - 1
 * degrees of freedom (alpha / (n - j + 1) one-sided).  The number of
 * outliers is the largest j with R_j > lambda_j; point i is flagged when it
 * is one of them.  Unlike Grubbs' test, earlier outliers still in the window
 * do not mask a new one: they are removed first.
 *
 * The score is 1 - p, p the two-sided Student t tail of the point's
 * externally studentised deviation in the sample it was removed from (or,
 * when it is not an outlier, in S without the outliers found), so it
 * equals grubbs' score on a window without outliers.  expected/lower/upper
 * are the mean of the window without its outliers and the Grubbs band
 * around it (the ESD decision itself depends on the whole sample).
 *
 * The window is kept sorted (sorted.h) with running sums beside it
 * (moments.h): the farthest value is always at one end of what is left or
 * the point itself, so each of the r steps is O(1); O(log w + r) per point
 * plus the memmove of the sorted window, O(w) state.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"
#include "dist.h"
#include "moments.h"
#include "sorted.h"
#include "banned.h"

static const struct vigil_host *host;

struct esd {
	size_t window;
	size_t min_history;     /* points (present or not) before scoring starts */
	size_t min_finite;      /* finite points the window must hold to score */
	size_t max_outliers;
	double alpha;
	enum direction dir;
	int sides;
	double *tcrit_full;     /* [j]: critical t for a sample of window + 1 - j points */
	double *lam_full;       /* [j]: the same as lambda^2 np / (np - 1), see esd_test() */
	size_t n_tcrit;
	struct normal_table *table;   /* P(|T| > x) for window - 1 dof */
};

/* Scratch of one detect() call. */
struct esd_scratch {
	double *crit;           /* critical t by sample size, 0 until computed */
	double *lam;            /* lambda^2 np / (np - 1) by sample size, 0 until computed */
	struct step {
		double sw, ssw;  /* sums over the window part still in the sample */
		size_t cw, lo, hi;
		int xin;         /* the point itself still in the sample */
	} *steps;
};

/* What the test found for one point. */
struct esd_outcome {
	int outlier;
	double t, nu;           /* the point's studentised deviation (signed) and its dof */
	double r, lambda;       /* the point's R and critical value when it is an outlier */
	size_t n, k;            /* sample size, outliers found */
	double mean, sd, cw;    /* the window without its outliers (value units) */
};

static int esd_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double w, m, r;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "min_history", &m) == 1 &&
	    m > w)
		return host->param_error(d, "min_history", "must not exceed window (%g > %g)", m, w);
	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "max_outliers", &r) == 1 &&
	    r > w / 2)
		return host->param_error(d, "max_outliers", "must not exceed half the window (%g > %g / 2)", r,
		                         w);
	return 0;
}

static void esd_destroy(void *state)
{
	struct esd *e = state;

	if (!e)
		return;
	free(e->tcrit_full);
	free(e->lam_full);
	free(e->table);
	free(e);
}

static void *esd_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct esd *e = calloc(1, sizeof(*e));
	const char *dir = "both";
	double v;

	if (!e) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "window", &v);
	e->window = (size_t)v;
	host->param_number(p, "max_outliers", &v);
	e->max_outliers = (size_t)v;
	host->param_number(p, "alpha", &e->alpha);
	host->param_string(p, "direction", &dir);
	e->dir = parse_direction(dir);
	e->sides = e->dir == DIR_BOTH ? 2 : 1;
	e->min_history = e->window;
	if (host->param_number(p, "min_history", &v) == 1 && v > 0)
		e->min_history = (size_t)v < e->window ? (size_t)v : e->window;
	e->min_finite = e->min_history / 4 > 3 ? e->min_history / 4 : 3;
	e->n_tcrit = e->max_outliers + 1 < e->window - 2 ? e->max_outliers + 1 : e->window - 2;
	e->tcrit_full = malloc(e->n_tcrit * sizeof(*e->tcrit_full));
	e->lam_full = malloc(e->n_tcrit * sizeof(*e->lam_full));
	e->table = t_table_new((double)e->window - 1);
	if (!e->tcrit_full || !e->lam_full || !e->table) {
		esd_destroy(e);
		host->error(d, "out of memory");
		return NULL;
	}
	for (size_t j = 0; j < e->n_tcrit; j++) {
		double np = (double)(e->window + 1 - j), lambda;

		e->tcrit_full[j] = grubbs_t_crit(np, e->alpha, e->sides);
		lambda = g_from_t(e->tcrit_full[j], np);
		e->lam_full[j] = lambda * lambda * np / (np - 1);
	}
	return e;
}

/* The critical t for a sample of np points. */
static double critical_t(const struct esd *e, double *crit, size_t np)
{
	if (np <= e->window + 1 && e->window + 1 - np < e->n_tcrit)
		return e->tcrit_full[e->window + 1 - np];
	if (crit[np] == 0)
		crit[np] = grubbs_t_crit((double)np, e->alpha, e->sides);
	return crit[np];
}

/* lambda^2 np / (np - 1) for a sample of np points (lambda: the critical R). */
static double critical_lam(const struct esd *e, struct esd_scratch *sc, size_t np)
{
	if (np <= e->window + 1 && e->window + 1 - np < e->n_tcrit)
		return e->lam_full[e->window + 1 - np];
	if (sc->lam[np] == 0) {
		double lambda = g_from_t(critical_t(e, sc->crit, np), (double)np);

		sc->lam[np] = lambda * lambda * (double)np / ((double)np - 1);
	}
	return sc->lam[np];
}

/* Deviation of u from the mean in the watched direction (larger is more outlying). */
static double outlyingness(double u, double mean, enum direction dir)
{
	return dir == DIR_UP ? u - mean : dir == DIR_DOWN ? mean - u : fabs(u - mean);
}

static void sums_of(const double *w, size_t lo, size_t hi, double ref, double inv, double *s, double *ss)
{
	*s = *ss = 0;
	for (size_t j = lo; j < hi; j++) {
		double u = (w[j] - ref) * inv;

		*s += u;
		*ss += u * u;
	}
}

static void mean_sd(double s, double ss, double cnt, double *mean, double *sd)
{
	double var = cnt > 1 ? (ss - s * s / cnt) / (cnt - 1) : 0;

	*mean = s / cnt;
	*sd = var > 0 ? sqrt(var) : 0;
}

/*
 * Run the test for point value v (not finite: only the window) against the
 * sorted window w[0..c) with sums mo.  All arithmetic is in the moments'
 * units u = (value - ref) / scale, and each step is free of divisions and
 * square roots: with cnt values of sums s and ss, cnt |u - mean| = |cnt u - s|
 * and R > lambda <=> (cnt u - s)^2 > lambda^2 cnt / (cnt - 1) (cnt ss - s^2).
 */
static void esd_test(const struct esd *e, struct esd_scratch *sc, const double *w, size_t c,
                     const struct moments *mo, double v, struct esd_outcome *out)
{
	int xin0 = isfinite(v);
	double ux = xin0 ? (v - mo->ref) * mo->inv : 0;
	size_t n = c + (size_t)xin0, steps = n >= 4 ? n - 3 : 0, k = 0, jx = 0, nx = 0;
	double sw = mo->s, ssw = mo->ss, tx = 0, rx = 0;
	size_t lo = 0, hi = c, cw = c;
	int xin = xin0;
	struct step *st;

	if (steps > e->max_outliers)
		steps = e->max_outliers;
	for (size_t j = 1;; j++) {
		double cnt = (double)cw + xin, s = sw + (xin ? ux : 0), ss = ssw + (xin ? ux * ux : 0);
		double best = -INFINITY, u = 0, spread;
		int which = 0;   /* 1: lowest, 2: highest, 3: the point */

		sc->steps[j] = (struct step){ sw, ssw, cw, lo, hi, xin };
		if (j > steps)
			break;
		if (lo < hi) {
			double ulo = (w[lo] - mo->ref) * mo->inv, uhi = (w[hi - 1] - mo->ref) * mo->inv;
			double dlo = outlyingness(ulo * cnt, s, e->dir), dhi = outlyingness(uhi * cnt, s, e->dir);

			if (dlo > best) {
				best = dlo;
				u = ulo;
				which = 1;
			}
			if (dhi > best) {
				best = dhi;
				u = uhi;
				which = 2;
			}
		}
		if (xin && outlyingness(ux * cnt, s, e->dir) >= best) {
			best = outlyingness(ux * cnt, s, e->dir);
			u = ux;
			which = 3;
		}
		if (!which)
			break;   /* sums overflowed: no candidate compares */
		if (best < 0)
			best = 0;
		spread = ss * cnt - s * s;   /* cnt (cnt - 1) var */
		if (best * best > critical_lam(e, sc, (size_t)cnt) * spread)
			k = j;
		if (which == 3) {
			double mean, sd;

			mean_sd(s, ss, cnt, &mean, &sd);
			jx = j;
			nx = (size_t)cnt;
			rx = sd > 0 ? best / cnt / sd : best > 0 ? INFINITY : 0;
			tx = ux >= mean ? t_from_g(rx, cnt) : -t_from_g(rx, cnt);
			xin = 0;
		} else {
			double before = ssw;

			if (which == 1)
				lo++;
			else
				hi--;
			sw -= u;
			ssw -= u * u;
			cw--;
			if (ssw < before * 0x1p-20 || !isfinite(ssw))
				sums_of(w, lo, hi, mo->ref, mo->inv, &sw, &ssw);
		}
	}
	st = &sc->steps[k + 1];
	out->k = k;
	out->n = n;
	out->outlier = jx && jx <= k;
	if (out->outlier) {
		out->t = tx;
		out->nu = (double)nx - 2;
		out->r = rx;
		out->lambda = g_from_t(critical_t(e, sc->crit, nx), (double)nx);
	} else if (xin0) {
		double cnt = (double)st->cw + 1, mean, sd, g;

		mean_sd(st->sw + ux, st->ssw + ux * ux, cnt, &mean, &sd);
		g = sd > 0 ? fabs(ux - mean) / sd : ux == mean ? 0 : INFINITY;
		out->t = ux >= mean ? t_from_g(g, cnt) : -t_from_g(g, cnt);
		out->nu = cnt - 2;
	}
	{
		double mean, sd;

		mean_sd(st->sw, st->ssw, (double)st->cw, &mean, &sd);
		out->mean = mo->ref + mean * mo->scale;
		out->sd = sd * mo->scale;
		out->cw = (double)st->cw;
	}
}

static int esd_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                      struct vigil_diag *d)
{
	const struct esd *e = state;
	const double *x = s->values;
	double *score = r->score, *expected = r->expected, *lower = r->lower, *upper = r->upper;
	uint8_t *anomaly = r->anomaly;
	size_t n = s->n, w = e->window, since_rebuild = 0, warm = n;
	double nu_full = (double)w - 1;
	struct esd_scratch sc;
	struct sorted_window sw;
	struct moments mo;

	sc.crit = calloc(w + 2, sizeof(*sc.crit));
	sc.lam = calloc(w + 2, sizeof(*sc.lam));
	sc.steps = malloc((e->max_outliers + 2) * sizeof(*sc.steps));
	if (!sc.crit || !sc.lam || !sc.steps || sw_init(&sw, w)) {
		free(sc.crit);
		free(sc.lam);
		free(sc.steps);
		return host->error(d, "out of memory for a window of %zu points", w);
	}
	moments_rebuild(&mo, x, 0);
	for (size_t i = 0; i < n; i++) {
		double v = x[i];

		if (i >= e->min_history && sw.n >= e->min_finite) {
			struct esd_outcome o = { 0 };
			double tc, half;

			if (moments_suspect(&mo)) {
				moments_rebuild(&mo, sw.v, sw.n);
				since_rebuild = 0;
			}
			esd_test(e, &sc, sw.v, sw.n, &mo, v, &o);
			if (warm == n)
				warm = i;
			tc = critical_t(e, sc.crit, (size_t)o.cw + 1);
			half = tc * o.sd * sqrt(1 + 1 / o.cw);
			expected[i] = o.mean;
			lower[i] = o.mean - half;
			upper[i] = o.mean + half;
			if (isinf(v)) {
				if (score_from_p2(0, v, e->dir) > 0) {
					score[i] = 1;
					anomaly[i] = 1;
					host->set_reason(r, i, "infinite value (%g)", v);
				}
			} else if (!isnan(v)) {
				score[i] = score_from_p2(t_two_sided(e->table, nu_full, o.t, o.nu), o.t, e->dir);
				if (o.outlier) {
					anomaly[i] = 1;
					host->set_reason(r, i,
					                 "generalized ESD: one of %zu outliers among %zu points"
					                 " (R = %.3g above the critical value %.3g)",
					                 o.k, o.n, o.r, o.lambda);
				}
			}
		}
		sw_slide(&sw, v, i >= w ? x[i - w] : 0, i >= w);
		if (isfinite(v))
			moments_add(&mo, v);
		if (i >= w && isfinite(x[i - w]))
			moments_remove(&mo, x[i - w]);
		if (++since_rebuild >= w) {
			moments_rebuild(&mo, sw.v, sw.n);
			since_rebuild = 0;
		}
	}
	r->warmup = warm;
	sw_release(&sw);
	free(sc.crit);
	free(sc.lam);
	free(sc.steps);
	return 0;
}

static const struct vigil_detector esd_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "esd",
	.version = "1.0.0",
	.summary = "generalized ESD test (Rosner) of each point with the previous `window` points",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 100, \"min\": 5, \"max\": 1000000,"
		" \"doc\": \"points of history each point is tested with\"},"
		"\"max_outliers\": {\"type\": \"integer\", \"default\": 10, \"min\": 1, \"max\": 1000,"
		" \"doc\": \"upper bound on the outliers the test looks for in a window\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.05, \"exclusive_min\": 0, \"max\": 0.5,"
		" \"doc\": \"significance level of each step of the test\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count (one-sided tests for up and down)\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 0, \"min\": 0,"
		" \"doc\": \"points needed before scoring starts (0: a full window)\"}"
	"}",
	.check = esd_check,
	.create = esd_create,
	.destroy = esd_destroy,
	.detect = esd_detect,
};

static int esd_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &esd_detector);
}

VIGIL_PLUGIN_DEFINE("esd", "1.0.0", esd_init, NULL);

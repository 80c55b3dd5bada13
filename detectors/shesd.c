/*
 * shesd.c - Seasonal Hybrid ESD (Twitter's S-H-ESD), causal.
 *
 * Hochenbaum, Vallis and Kejariwal, "Automatic anomaly detection in the
 * cloud via statistical learning" (2017), and Twitter's AnomalyDetection R
 * package.  The batch method removes the seasonal component of robust STL
 * (s.window "periodic") and the median, then runs the generalized ESD test
 * (Rosner 1983) with the median and the MAD in place of the mean and the
 * standard deviation, flagging at most max_anoms of the points; for long
 * series the median is taken per `window` (two weeks: the piecewise median).
 *
 * This causal variant keeps that model and applies the test point by point:
 * at a refit (every `refit` points, or every max(period, window / 4)), STL
 * decomposes the last `window` points before the refit, and the median and
 * MAD of those deseasonalised points are kept.  Each later point gets the
 * hybrid ESD statistic R = (x - seasonal - median) / MAD and is flagged when
 * R exceeds the critical value lambda_(j+1) of the generalized ESD for a
 * sample of the window plus this point, j being the points already flagged
 * in the trailing window; once max_anoms of the window is flagged nothing
 * more is.  So a point is flagged when the batch test on the window ending
 * at it would flag it, given what it flagged before.  Scores are 1 - p, p
 * the tail probability of R among the last `calibration` values (tailprob.c).
 *
 * The period is resolved causally (period.c); until one is known (or with
 * period "none") the test runs on the raw values (hybrid ESD without the
 * seasonal part).  Missing values are interpolated for STL and never scored.
 * Cost: STL is O(iterations n_window) per refit, refits are every
 * max(period, window / 4) points, so O(n (robust + 1) 4 10) overall with a
 * small constant per point in between; O(window) memory.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <vigil/detector.h>

#include "common.h"
#include "kit.h"
#include "period.h"
#include "stl.h"
#include "tailprob.h"
#include "banned.h"

static const struct vigil_host *host;

#define SHESD_MIN_WINDOW 16
#define SHESD_MAX_WINDOW 10000000

struct shesd {
	double max_anoms, alpha;
	enum direction dir;
	struct period_spec period, window;
	size_t refit, robust, calibration, min_history;
};

static int read_spec(const struct vigil_params *p, const char *key, struct period_spec *ps, char *msg,
                     size_t len)
{
	const char *text = NULL;
	double num = 0;

	if (host->param_string(p, key, &text) != 1)
		host->param_number(p, key, &num);
	return period_spec_parse(ps, text, num, msg, len);
}

static int shesd_check(const struct vigil_params *p, struct vigil_diag *d)
{
	struct period_spec ps;
	char msg[160];
	int rc = 0;

	if (read_spec(p, "period", &ps, msg, sizeof(msg)))
		rc = host->param_error(d, "period", "%s", msg);
	if (read_spec(p, "window", &ps, msg, sizeof(msg)))
		rc = host->param_error(d, "window", "%s", msg);
	else if (ps.kind == PERIOD_AUTO || ps.kind == PERIOD_NONE ||
	         (ps.kind == PERIOD_FIXED && ps.points < SHESD_MIN_WINDOW))
		rc = host->param_error(d, "window", "must be a duration or at least %d points", SHESD_MIN_WINDOW);
	return rc;
}

static void *shesd_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct shesd *s = calloc(1, sizeof(*s));
	const char *dir = "both";
	double v;
	char msg[160];

	if (!s) {
		host->error(d, "out of memory");
		return NULL;
	}
	if (read_spec(p, "period", &s->period, msg, sizeof(msg)) ||
	    read_spec(p, "window", &s->window, msg, sizeof(msg))) {
		free(s);
		host->error(d, "%s", msg);
		return NULL;
	}
	host->param_number(p, "max_anoms", &s->max_anoms);
	host->param_number(p, "alpha", &s->alpha);
	host->param_string(p, "direction", &dir);
	s->dir = parse_direction(dir);
	v = 0;
	host->param_number(p, "refit", &v);
	s->refit = (size_t)v;
	v = 5;
	host->param_number(p, "robust_iterations", &v);
	s->robust = (size_t)v;
	v = 0;
	host->param_number(p, "calibration", &v);
	s->calibration = (size_t)v;
	v = 0;
	host->param_number(p, "min_history", &v);
	s->min_history = (size_t)v;
	return s;
}

/* 1 - p under a normal tail, in the watched direction (calibration 0). */
static double normal_score(double z, enum direction dir)
{
	if (isnan(z) || (dir == DIR_UP && z <= 0) || (dir == DIR_DOWN && z >= 0))
		return 0;
	if (dir == DIR_BOTH)
		return erf(fabs(z) * M_SQRT1_2);
	return 1 - 0.5 * erfc(fabs(z) * M_SQRT1_2);
}

/* The model fitted at the last refit. */
struct fit {
	double *season;      /* per phase i % p; NULL without seasonality */
	size_t p;
	double median, scale;
	size_t n;            /* points it was fitted on (the ESD sample size less one) */
	double *lambda;      /* critical values lambda_j, j = 1.., computed lazily (NaN: not yet) */
	size_t n_lambda;
};

/*
 * The upper q-quantile of Student's t with nu degrees of freedom, by the
 * Cornish-Fisher expansion around the normal quantile (Abramowitz and Stegun
 * 26.7.5), accurate to about 1e-4 for nu >= 10, which is all ESD needs here
 * (windows have at least 16 points).  GSL's inverse t can call the GSL
 * error handler, whose default aborts, and a plugin must not change the
 * process-wide handler.
 */
static double t_upper_quantile(double q, double nu)
{
	double z = gsl_cdf_ugaussian_Qinv(q), z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2;
	double z9 = z7 * z2;

	return z + (z3 + z) / (4 * nu) + (5 * z5 + 16 * z3 + 3 * z) / (96 * nu * nu) +
	       (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * nu * nu * nu) +
	       (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / (92160 * nu * nu * nu * nu);
}

/* Generalized ESD critical value lambda_j (j 1-based) for a sample of N points. */
static double esd_lambda(size_t N, size_t j, double alpha, int two_sided)
{
	double nj = (double)(N - j), q, t;

	if (N < j + 2)
		return INFINITY;
	q = two_sided ? alpha / (2 * (nj + 1)) : alpha / (nj + 1);
	t = t_upper_quantile(q, nj - 1);
	if (!isfinite(t))
		return INFINITY;
	return t * nj / sqrt((nj - 1 + t * t) * (nj + 1));
}

static double fit_lambda(const struct shesd *s, struct fit *f, size_t j)
{
	if (j > f->n_lambda)
		return INFINITY;
	if (isnan(f->lambda[j - 1]))
		f->lambda[j - 1] = esd_lambda(f->n + 1, j, s->alpha, s->dir == DIR_BOTH);
	return f->lambda[j - 1];
}

/*
 * The seasonal part: robust periodic STL of x[lo..hi) (gaps interpolated).
 * Without a period (or fewer than two cycles) there is none.  Returns 0, 1
 * with too few points, -1 when out of memory.
 */
static int fit_season(const struct shesd *s, struct fit *f, const double *x, size_t lo, size_t hi, size_t p)
{
	size_t len = hi - lo;
	double *y, *season = NULL, *trend = NULL;
	int rc = -1;

	if (!p || len < 2 * p) {
		free(f->season);
		f->season = NULL;
		f->p = 0;
		return 0;
	}
	y = malloc(len * sizeof(double));
	if (!y)
		return -1;
	if (period_fill_gaps(x + lo, len, y) < SHESD_MIN_WINDOW) {
		free(y);
		return 1;
	}
	season = malloc(len * sizeof(double));
	trend = malloc(len * sizeof(double));
	if (season && trend) {
		struct stl_params sp;

		stl_params_periodic_robust(&sp, p);
		sp.outer = s->robust;
		if (s->robust == 0)
			sp.inner = 2;   /* R's robust = FALSE */
		if (stl_decompose(y, len, &sp, season, trend, NULL) == 0) {
			free(f->season);
			f->season = malloc(p * sizeof(double));
			if (f->season) {
				for (size_t t = 0; t < p; t++)
					f->season[(lo + t) % p] = season[t];
				f->p = p;
				rc = 0;
			}
		}
	}
	free(y);
	free(season);
	free(trend);
	return rc;
}

/*
 * The piecewise median and the MAD of the deseasonalised finite points of
 * x[lo..hi), and the ESD critical values for a sample of them plus one.
 * Returns 0, 1 with too few points, -1 when out of memory.
 */
static int fit_stats(const struct shesd *s, struct fit *f, const double *x, size_t lo, size_t hi)
{
	size_t len = hi - lo, k = 0, max_flags;
	double *dev = malloc((len ? len : 1) * sizeof(double)), mad, big = 0;

	if (!dev)
		return -1;
	for (size_t t = lo; t < hi; t++)
		if (isfinite(x[t]))
			dev[k++] = x[t] - (f->p ? f->season[t % f->p] : 0);
	if (k < SHESD_MIN_WINDOW) {
		free(dev);
		return 1;
	}
	f->median = kit_median(dev, k);
	for (size_t t = 0; t < k; t++) {
		dev[t] = fabs(dev[t] - f->median);
		if (dev[t] > big)
			big = dev[t];
	}
	mad = kit_median(dev, k);
	/*
	 * A MAD at the rounding level of the decomposition (mostly-zero data:
	 * STL leaves 1e-10 where the data is 0) is a MAD of 0: fall back to the
	 * mean absolute deviation, as for a MAD that is exactly 0.
	 */
	if (mad > 0 && mad > 1e-9 * big) {
		f->scale = 1.4826 * mad;
	} else {
		double sum = 0;

		for (size_t t = 0; t < k; t++)
			sum += dev[t];
		f->scale = 1.2533 * sum / (double)k;
	}
	free(dev);
	if (f->p && len >= 2 * f->p) {
		/*
		 * The residuals of a fit are smaller than the errors of the next
		 * points: with c cycles each seasonal value is a mean of about c
		 * points, so the fit's residuals have variance s^2 (1 - 1/c) and a
		 * new point's deviation s^2 (1 + 1/c).
		 */
		double c = (double)len / (double)f->p;

		f->scale *= sqrt((c + 1) / (c - 1));
	}
	/* a deviation that is only the rounding of STL's arithmetic is no deviation */
	if (f->scale <= 1e-9 * fmax(fabs(f->median), big))
		f->scale = 0;
	if (k != f->n || !f->lambda) {
		f->n = k;
		max_flags = (size_t)floor(s->max_anoms * (double)(k + 1));
		free(f->lambda);
		f->lambda = malloc((max_flags ? max_flags : 1) * sizeof(double));
		if (!f->lambda)
			return -1;
		f->n_lambda = max_flags;
		for (size_t j = 0; j < max_flags; j++)
			f->lambda[j] = NAN;
	}
	return 0;
}

/* Points of the `window` param, resolved with the sampling interval of ts[0..at). */
static size_t window_points(const struct shesd *s, const int64_t *ts, size_t at, size_t p)
{
	size_t w = 0;

	if (s->window.kind == PERIOD_FIXED) {
		w = s->window.points;
	} else {
		int64_t step = period_median_step(ts, at);

		w = step > 0 ? (size_t)fmin((double)s->window.ms / (double)step, SHESD_MAX_WINDOW) : 0;
		if (!w)
			w = p ? 14 * p : 2016;
	}
	if (p && w < 2 * p)
		w = 2 * p;
	return w < SHESD_MIN_WINDOW ? SHESD_MIN_WINDOW : w;
}

static int shesd_detect(const void *state, const struct vigil_series *ser, struct vigil_result *r,
                        struct vigil_diag *d)
{
	const struct shesd *s = state;
	const double *x = ser->values;
	size_t n = ser->n, warm = n, next_period = period_first_check(&s->period), p = 0, next_refit, next_stats;
	size_t win = 0;   /* the window in points, resolved at each refit */
	size_t *flags = calloc(n + 1, sizeof(size_t));   /* flags[i]: flagged points before i */
	struct fit f;
	struct tailprob tp;
	int have_fit = 0;

	memset(&f, 0, sizeof(f));
	if (!flags || (s->calibration && tailprob_init(&tp, s->calibration, 0.1))) {
		free(flags);
		return host->error(d, "out of memory");
	}
	next_refit = next_stats = s->min_history > SHESD_MIN_WINDOW ? s->min_history : SHESD_MIN_WINDOW;
	for (size_t i = 0; i < n; i++) {
		double v = x[i], ref, stat, z, lam = INFINITY;
		size_t w, j;

		flags[i + 1] = flags[i];
		if (i == next_period) {
			size_t q;

			if (period_resolve(&s->period, x, ser->ts_ms, i, 0, &q))
				goto oom;
			next_period = period_next_check(&s->period, i);
			if (q != p) {
				/* a new period: decompose again now, or once there are two cycles */
				p = q;
				if (i >= 2 * p) {
					next_refit = i;
				} else {
					next_refit = next_stats = 2 * p;
					have_fit = 0;
				}
			}
		}
		if (i >= next_refit) {
			w = win = window_points(s, ser->ts_ms, i, p);
			if (fit_season(s, &f, x, i > w ? i - w : 0, i, p) < 0)
				goto oom;
			next_refit = i + (s->refit ? s->refit : (p > w / 2 ? p : w / 2 > 1 ? w / 2 : 1));
			next_stats = i;
		}
		if (i >= next_stats) {
			int rc;

			w = win ? win : window_points(s, ser->ts_ms, i, p);
			rc = fit_stats(s, &f, x, i > w ? i - w : 0, i);
			if (rc < 0)
				goto oom;
			if (rc == 0)
				have_fit = 1;
			next_stats = i + (w / 16 > 16 ? w / 16 : 16);
		}
		if (!have_fit)
			continue;
		if (warm == n)
			warm = i;
		ref = f.median + (f.p ? f.season[i % f.p] : 0);
		/* flagged points in the trailing window: the ESD tests already spent */
		j = flags[i] - flags[i > f.n ? i - f.n : 0];
		if (j < f.n_lambda)
			lam = fit_lambda(s, &f, j + 1);
		r->expected[i] = ref;
		{
			/* nothing more can be flagged in this window: no bound (and no inf * 0) */
			double half = isinf(lam) ? INFINITY : lam * f.scale;

			r->lower[i] = s->dir == DIR_UP ? -INFINITY : ref - half;
			r->upper[i] = s->dir == DIR_DOWN ? INFINITY : ref + half;
		}
		if (isnan(v))
			continue;
		z = kit_ratio(v - ref, f.scale, ref);
		stat = s->dir == DIR_UP ? (z > 0 ? z : 0) : s->dir == DIR_DOWN ? (z < 0 ? -z : 0) : fabs(z);
		if (s->calibration) {
			r->score[i] = 1 - tailprob_p(&tp, stat);
			tailprob_push(&tp, stat);
		} else {
			r->score[i] = normal_score(z, s->dir);
		}
		if (stat > lam) {
			r->anomaly[i] = 1;
			flags[i + 1]++;
			host->set_reason(r, i, "seasonal hybrid ESD: %.3g MADs from %.6g (critical value %.3g)", z, ref,
			                 lam);
		}
	}
	r->warmup = warm;
	free(flags);
	free(f.season);
	free(f.lambda);
	if (s->calibration)
		tailprob_release(&tp);
	return 0;
oom:
	free(flags);
	free(f.season);
	free(f.lambda);
	if (s->calibration)
		tailprob_release(&tp);
	return host->error(d, "out of memory");
}

static const struct vigil_detector shesd_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "shesd",
	.version = "1.0.0",
	.summary = "seasonal hybrid ESD (Twitter): robust STL, then generalized ESD on median/MAD residuals",
	.params_schema = "{"
		"\"period\": {\"type\": [\"integer\", \"string\"], \"default\": \"auto\","
		" \"doc\": \"seasonal period: points, a duration (\\\"1d\\\"), \\\"auto\\\" or \\\"none\\\"\"},"
		"\"max_anoms\": {\"type\": \"number\", \"default\": 0.1, \"exclusive_min\": 0, \"max\": 0.49,"
		" \"doc\": \"largest fraction of the window flagged\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.05, \"exclusive_min\": 0, \"exclusive_max\": 1,"
		" \"doc\": \"significance level of the ESD test\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count (Twitter's both, pos, neg)\"},"
		"\"window\": {\"type\": [\"integer\", \"string\"], \"default\": \"2w\","
		" \"doc\": \"history the model is fitted on: points or a duration (the piecewise median period)\"},"
		"\"refit\": {\"type\": \"integer\", \"default\": 0, \"min\": 0,"
		" \"doc\": \"points between STL decompositions (0: the larger of the period and half the window)\"},"
		"\"robust_iterations\": {\"type\": \"integer\", \"default\": 5, \"min\": 0, \"max\": 100,"
		" \"doc\": \"STL robustness iterations (R's robust STL runs 15)\"},"
		"\"calibration\": {\"type\": \"integer\", \"default\": 1000, \"min\": 0, \"max\": 1000000,"
		" \"doc\": \"past statistics the score is calibrated on (0: normal tail)\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 16, \"min\": 0,"
		" \"doc\": \"points before the first fit\"}"
	"}",
	.check = shesd_check,
	.create = shesd_create,
	.destroy = free,
	.detect = shesd_detect,
};

static int shesd_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &shesd_detector);
}

VIGIL_PLUGIN_DEFINE("shesd", "1.0.0", shesd_init, NULL);

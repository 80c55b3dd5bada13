/*
 * holt_winters.c - Holt-Winters exponential smoothing (level, damped trend,
 * additive or multiplicative seasonality) with prediction bands from the
 * one-step-ahead error scale.
 *
 * The forecast for point i is made from points 0..i-1 only:
 *   additive        f = l + phi b + s[i mod p]
 *   multiplicative  f = (l + phi b) s[i mod p]
 * The band is f +- threshold sigma (multiplicative: f (1 +- threshold
 * sigma), sigma then being the scale of the relative error).  The model is
 * the robust Holt-Winters of Gelper, Fried and Croux ("Robust forecasting
 * with exponential and Holt-Winters smoothing", J. Forecasting 29, 2010): an
 * observation enters the updates cleaned by Huber's psi,
 * y* = f + psi(e / sigma) sigma (k = 2), so a spike does not drag the
 * level, and sigma^2 is an exponentially weighted mean (rate 0.01, about
 * the last hundred points) of the squared errors clipped at 2 sigma (divided by E[min(Z^2, 4)] to be consistent for normal
 * errors), so after a level shift sigma grows, the band widens and the model
 * catches up within some dozens of points instead of flagging for ever.
 * Smoothing: Gardner's damped trend (phi), Hyndman et al.'s error-correction
 * form of the level, trend and seasonal updates.
 *
 * Warm-up and the period: with a fixed period p the model is initialised
 * from the first 2p points (level and trend from the two cycle means,
 * seasonal indices from the deviations from them) and scores from there.
 * With "auto" or a duration, the period is resolved causally (period.c) at
 * point 256 (duration: 16) and again every quarter more of the series;
 * until one is found the model runs without seasonality (Holt's linear
 * method), and when the period found changes the seasonal indices are
 * re-initialised from the last two cycles.  A missing point advances the
 * state without an observation.  Multiplicative seasonality needs positive
 * values: a series whose initialisation window holds a value <= 0 is
 * modelled additively.
 * Scores: 1 - p, p the tail probability of the standardised error among the
 * last `calibration` ones (tailprob.c: conformal with a peaks-over-threshold
 * tail), because forecast errors of real metrics are far from normal and a
 * normal tail saturates (score exactly 1) beyond 8 deviations; with
 * calibration 0 the normal tail is used.
 * O(1) per point (plus the period detections; O(calibration) memmove when
 * calibrating), O(p + calibration) memory.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"
#include "kit.h"
#include "period.h"
#include "tailprob.h"
#include "banned.h"

static const struct vigil_host *host;

#define HW_HUBER_K 2.0
#define HW_SIGMA_RATE 0.01
#define HW_MIN_HISTORY 10    /* points before a non-seasonal model scores */
#define HW_MAX_PERIOD 1000000

struct hw {
	double alpha, beta, gamma, phi, threshold;
	int multiplicative;
	enum direction dir;
	struct period_spec period;
	size_t min_history, calibration;
	double clip_consistency;     /* 1 / E[min(Z^2, k^2)] */
	struct normal_table *table;
};

static int read_period(const struct vigil_params *p, struct period_spec *ps, char *msg, size_t len)
{
	const char *text = NULL;
	double num = 0;

	if (host->param_string(p, "period", &text) != 1)
		host->param_number(p, "period", &num);
	return period_spec_parse(ps, text, num, msg, len);
}

static int hw_check(const struct vigil_params *p, struct vigil_diag *d)
{
	struct period_spec ps;
	char msg[160];

	if (read_period(p, &ps, msg, sizeof(msg)))
		return host->param_error(d, "period", "%s", msg);
	if (ps.kind == PERIOD_FIXED && ps.points > HW_MAX_PERIOD)
		return host->param_error(d, "period", "at most %d points", HW_MAX_PERIOD);
	return 0;
}

static void *hw_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct hw *h = calloc(1, sizeof(*h));
	const char *dir = "both", *season = "additive";
	double k = HW_HUBER_K, v = 0;
	char msg[160];

	if (!h || !(h->table = normal_table_new())) {
		free(h);
		host->error(d, "out of memory");
		return NULL;
	}
	if (read_period(p, &h->period, msg, sizeof(msg))) {
		free(h->table);
		free(h);
		host->param_error(d, "period", "%s", msg);
		return NULL;
	}
	host->param_number(p, "alpha", &h->alpha);
	host->param_number(p, "beta", &h->beta);
	host->param_number(p, "gamma", &h->gamma);
	host->param_number(p, "phi", &h->phi);
	host->param_number(p, "threshold", &h->threshold);
	host->param_string(p, "direction", &dir);
	host->param_string(p, "seasonality", &season);
	host->param_number(p, "min_history", &v);
	h->min_history = (size_t)v;
	v = 0;
	host->param_number(p, "calibration", &v);
	h->calibration = (size_t)v;
	h->dir = parse_direction(dir);
	h->multiplicative = !strcmp(season, "multiplicative");
	/* E[min(Z^2, k^2)] for a standard normal Z */
	h->clip_consistency = 1 / (erf(k * M_SQRT1_2) - 2 * k * exp(-0.5 * k * k) / sqrt(2 * M_PI) +
	                           k * k * erfc(k * M_SQRT1_2));
	return h;
}

static void hw_destroy(void *state)
{
	struct hw *h = state;

	free(h->table);
	free(h);
}

/* The model while scoring one series. */
struct hw_state {
	double level, trend, sigma;
	double *season;          /* p indices, by i mod p */
	size_t p;                /* 0: no seasonality */
	size_t phase;            /* (the next point) mod p, kept incrementally: no division per point */
	int mult;                /* multiplicative in effect */
	int ready;
};

/* Mean of the finite values of x[lo..hi); NaN if none. */
static double finite_mean(const double *x, size_t lo, size_t hi)
{
	double s = 0;
	size_t k = 0;

	for (size_t i = lo; i < hi; i++)
		if (isfinite(x[i])) {
			s += x[i];
			k++;
		}
	return k ? s / (double)k : NAN;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Robust scale (1.4826 MAD) of v[0..n), sorting v; 0 if n < 2. */
static double robust_scale(double *v, size_t n)
{
	double m;

	if (n < 2)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	m = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
	for (size_t i = 0; i < n; i++)
		v[i] = fabs(v[i] - m);
	qsort(v, n, sizeof(*v), cmp_double);
	return 1.4826 * (n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]));
}

/*
 * (Re)initialise at point `end` from the points before it: with period p
 * from the last two cycles, without from the last min_history points.
 * Keeps sigma when `keep_sigma`.  Returns 0, 1 when there is too little
 * finite data, -1 when out of memory.
 */
static int hw_init_state(const struct hw *h, struct hw_state *st, const double *x, size_t end, size_t p,
                         int keep_sigma)
{
	size_t span = p ? 2 * p : h->min_history, lo = end - span;
	double m1, m2, *res;
	size_t k = 0;

	if (end < span)
		return 1;
	m1 = p ? finite_mean(x, lo, lo + p) : finite_mean(x, lo, end);
	m2 = p ? finite_mean(x, lo + p, end) : m1;
	if (isnan(m1) || isnan(m2))
		return 1;
	free(st->season);
	st->season = NULL;
	st->p = p;
	st->mult = 0;
	if (p && h->multiplicative) {
		st->mult = 1;
		for (size_t i = lo; i < end; i++)
			if (isfinite(x[i]) && x[i] <= 0)
				st->mult = 0;
		if (!(m1 > 0 && m2 > 0))
			st->mult = 0;
	}
	if (p) {
		st->season = malloc(p * sizeof(double));
		if (!st->season)
			return -1;
		for (size_t j = 0; j < p; j++) {
			double acc = 0;
			int cnt = 0;

			for (size_t c = 0; c < 2; c++) {
				size_t i = lo + c * p + j;
				double mean = c ? m2 : m1;

				if (!isfinite(x[i]))
					continue;
				acc += st->mult ? x[i] / mean : x[i] - mean;
				cnt++;
			}
			st->season[(lo + j) % p] = cnt ? acc / cnt : st->mult ? 1 : 0;
		}
		/* the level at the end of the window, the trend per point */
		st->trend = (m2 - m1) / (double)p;
		st->level = m2 + st->trend * (double)(p - 1) / 2;
	} else {
		st->trend = 0;
		st->level = m1;
	}
	if (!keep_sigma || !st->ready) {
		/* sigma from the in-sample residuals of the initial fit */
		res = malloc(span * sizeof(double));
		if (!res)
			return -1;
		for (size_t i = lo; i < end; i++) {
			double fit;

			if (!isfinite(x[i]))
				continue;
			if (p) {
				double base = i < lo + p ? m1 : m2, s = st->season[i % p];

				fit = st->mult ? base * s : base + s;
				res[k++] = st->mult ? (x[i] - fit) / fit : x[i] - fit;
			} else {
				res[k++] = x[i] - m1;
			}
		}
		/*
		 * The in-sample residuals understate the error of the next
		 * forecasts: each initial value is a mean of c points (c = 2 cycles
		 * with a season, the window without), so the residual variance is
		 * s^2 (1 - 1/c) and the forecast error's s^2 (1 + 1/c).
		 */
		{
			double c = p ? 2 : (double)span;

			st->sigma = robust_scale(res, k) * sqrt((c + 1) / (c - 1));
		}
		free(res);
	}
	st->phase = p ? end % p : 0;
	st->ready = 1;
	return 0;
}

static int hw_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                     struct vigil_diag *d)
{
	const struct hw *h = state;
	const double *x = s->values;
	size_t n = s->n, warm = n, next_check = period_first_check(&h->period), per = 0;
	struct hw_state st;
	struct tailprob tp;
	double lam = HW_SIGMA_RATE;

	memset(&st, 0, sizeof(st));
	if (h->calibration && tailprob_init(&tp, h->calibration, 0.1))
		return host->error(d, "out of memory");
	for (size_t i = 0; i < n; i++) {
		double v = x[i], f, e, z, sig, psi, ystar, lprev, band;

		/* resolve the period (causally) and (re)initialise when it changes */
		if (i == next_check) {
			size_t p;

			if (period_resolve(&h->period, x, s->ts_ms, i, i / 2, &p)) {
				goto oom;
			}
			next_check = period_next_check(&h->period, i);
			if (p != per || !st.ready) {
				if (hw_init_state(h, &st, x, i, p, 1) < 0)
					goto oom;
				if (st.ready && st.p == p)
					per = p;
			}
		}
		if (!st.ready) {
			/* without seasonality yet: start from the first min_history points */
			if (h->period.kind != PERIOD_FIXED && i >= h->min_history) {
				if (hw_init_state(h, &st, x, i, 0, 0) < 0)
					goto oom;
			} else if (h->period.kind == PERIOD_FIXED && h->period.points && i >= 2 * h->period.points) {
				if (hw_init_state(h, &st, x, i, h->period.points, 0) < 0)
					goto oom;
				per = st.p;
			}
			if (!st.ready)
				continue;
		}
		if (warm == n)
			warm = i;
		/* the forecast from points before i */
		{
			double base = st.level + h->phi * st.trend, si = st.p ? st.season[st.phase] : (st.mult ? 1 : 0);

			f = st.mult ? base * si : base + si;
		}
		sig = st.mult ? st.sigma * fabs(f) : st.sigma;
		band = h->threshold * sig;
		r->expected[i] = f;
		r->lower[i] = h->dir == DIR_UP ? -INFINITY : f - band;
		r->upper[i] = h->dir == DIR_DOWN ? INFINITY : f + band;
		if (isnan(v)) {
			ystar = f;   /* no observation: the state moves on by the forecast */
		} else {
			e = v - f;
			z = kit_ratio(e, sig, f);
			if (h->calibration) {
				double stat = h->dir == DIR_UP ? (z > 0 ? z : 0) : h->dir == DIR_DOWN ? (z < 0 ? -z : 0) : fabs(z);

				r->score[i] = 1 - tailprob_p(&tp, stat);
				tailprob_push(&tp, stat);
			} else {
				r->score[i] = score_from_z_fast(h->table, z, h->dir);
			}
			if (crosses(z, h->threshold, h->dir)) {
				r->anomaly[i] = 1;
				host->set_reason(r, i, "%.3g standard deviations from the Holt-Winters forecast %.6g", z, f);
			}
			/* Gelper et al.: clean the observation with Huber's psi, update the scale */
			if (sig > 0) {
				psi = z > HW_HUBER_K ? HW_HUBER_K : z < -HW_HUBER_K ? -HW_HUBER_K : z;
				ystar = f + psi * sig;
				st.sigma *= sqrt((1 - lam) + lam * h->clip_consistency * psi * psi);
			} else if (z != 0) {
				/* a constant so far: any change is news; learn it unclipped */
				ystar = isfinite(v) ? v : f;
				if (isfinite(e))
					st.sigma = sqrt(lam) * fabs(st.mult && f != 0 ? e / f : e);
			} else {
				ystar = f;
			}
		}
		/* error-correction updates of level, trend and season */
		lprev = st.level;
		if (st.mult) {
			double si = st.season[st.phase], lvl;

			lvl = h->alpha * ystar / si + (1 - h->alpha) * (st.level + h->phi * st.trend);
			st.level = lvl > 0 ? lvl : st.level;
			st.trend = h->beta * (st.level - lprev) + (1 - h->beta) * h->phi * st.trend;
			if (ystar > 0 && st.level > 0)
				st.season[st.phase] = h->gamma * ystar / st.level + (1 - h->gamma) * si;
		} else {
			double si = st.p ? st.season[st.phase] : 0;

			st.level = h->alpha * (ystar - si) + (1 - h->alpha) * (st.level + h->phi * st.trend);
			st.trend = h->beta * (st.level - lprev) + (1 - h->beta) * h->phi * st.trend;
			if (st.p)
				st.season[st.phase] = h->gamma * (ystar - st.level) + (1 - h->gamma) * si;
		}
		if (st.p && ++st.phase == st.p)
			st.phase = 0;
		if (!isfinite(st.level) || !isfinite(st.trend)) {
			/* overflow on extreme values: restart from the recent points */
			st.ready = 0;
			if (hw_init_state(h, &st, x, i + 1, st.p, 0) < 0) {
				goto oom;
			}
		}
	}
	r->warmup = warm;
	free(st.season);
	if (h->calibration)
		tailprob_release(&tp);
	return 0;
oom:
	free(st.season);
	if (h->calibration)
		tailprob_release(&tp);
	return host->error(d, "out of memory");
}

static const struct vigil_detector hw_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "holt_winters",
	.version = "1.0.0",
	.summary = "robust Holt-Winters forecast (additive or multiplicative season) with error bands",
	.params_schema = "{"
		"\"period\": {\"type\": [\"integer\", \"string\"], \"default\": \"auto\","
		" \"doc\": \"seasonal period: points, a duration (\\\"1d\\\"), \\\"auto\\\" or \\\"none\\\"\"},"
		"\"seasonality\": {\"type\": \"string\", \"default\": \"additive\","
		" \"enum\": [\"additive\", \"multiplicative\"], \"doc\": \"how the season combines with the level\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.2, \"exclusive_min\": 0, \"max\": 1,"
		" \"doc\": \"level smoothing\"},"
		"\"beta\": {\"type\": \"number\", \"default\": 0.01, \"min\": 0, \"max\": 1,"
		" \"doc\": \"trend smoothing (0: no trend)\"},"
		"\"gamma\": {\"type\": \"number\", \"default\": 0.1, \"min\": 0, \"max\": 1,"
		" \"doc\": \"seasonal smoothing\"},"
		"\"phi\": {\"type\": \"number\", \"default\": 0.98, \"min\": 0, \"max\": 1,"
		" \"doc\": \"trend damping (1: undamped)\"},"
		"\"threshold\": {\"type\": \"number\", \"default\": 4, \"exclusive_min\": 0,"
		" \"doc\": \"flag points this many error deviations from the forecast\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count\"},"
		"\"calibration\": {\"type\": \"integer\", \"default\": 1000, \"min\": 0, \"max\": 1000000,"
		" \"doc\": \"past deviations the score's tail probability is calibrated on (0: normal tail)\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 10, \"min\": 3, \"max\": 1000000,"
		" \"doc\": \"points before the non-seasonal model scores (a fixed period needs 2 cycles)\"}"
	"}",
	.check = hw_check,
	.create = hw_create,
	.destroy = hw_destroy,
	.detect = hw_detect,
};

static int hw_init(const struct vigil_host *vh, struct vigil_plugin_ctx *ctx)
{
	host = vh;
	return vh->register_detector(ctx, &hw_detector);
}

VIGIL_PLUGIN_DEFINE("holt_winters", "1.0.0", hw_init, NULL);

/*
 * check_detectors_stat.c - the statistical detectors (iqr, grubbs, esd,
 * ewma, cusum, level_shift, variance_shift, ks, changepoint), loaded through
 * the plugin loader: synthetic series with known anomalies, what is found
 * and what is not, edge cases (NaN, constant, too short, huge, infinite),
 * causality, and reference checks against naive implementations and
 * published tables.
 */
#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdint.h>

#include "detect.h"
#include "series.h"
#include "detutil.h"
#include "../detectors/common.h"
#include "../detectors/dist.h"

/* The first flagged point in [from, to), or to. */
static size_t first_flag(const struct detection *d, size_t from, size_t to)
{
	for (size_t i = from; i < to && i < d->r.n; i++)
		if (d->r.anomaly[i])
			return i;
	return to;
}

/* 1.4826 MAD, or 1.2533 x mean absolute deviation when the MAD is 0 (sorted.h's robust sd). */
static double robust_sd_of(const double *w, size_t n)
{
	double *c = xcalloc(n, sizeof(*c)), *dev = xcalloc(n, sizeof(*dev)), m, mad, sd;

	memcpy(c, w, n * sizeof(*c));
	m = median_of(c, n);
	for (size_t j = 0; j < n; j++)
		dev[j] = fabs(w[j] - m);
	mad = median_of(dev, n);
	if (mad > 0) {
		sd = 1.482602218505602 * mad;
	} else {
		double sum = 0;

		for (size_t j = 0; j < n; j++)
			sum += dev[j];
		sd = 1.2533141373155 * sum / (double)n;
	}
	free(c);
	free(dev);
	return sd;
}

static int near(double a, double b, double tol)
{
	return fabs(a - b) <= tol * fmax(1, fmax(fabs(a), fabs(b)));
}

/*
 * Every detector with params for the generic tests (a warm-up of about 50
 * points), and what it is meant to catch.
 */
struct det_case {
	const char *name;
	const char *params;
	size_t warmup;          /* first scored point of a series without gaps */
	int point;              /* flags a single extreme point */
};

static const struct det_case cases[] = {
	{ "iqr", "{\"window\": 50}", 50, 1 },
	{ "grubbs", "{\"window\": 50}", 50, 1 },
	{ "esd", "{\"window\": 50}", 50, 1 },
	{ "ewma", "{\"warmup\": 50}", 50, 1 },
	{ "cusum", "{\"warmup\": 50}", 50, 1 },
	{ "level_shift", "{\"window\": 40, \"test_window\": 10}", 49, 0 },
	{ "variance_shift", "{\"window\": 40, \"test_window\": 10}", 50, 0 },
	{ "ks", "{\"window\": 40, \"test_window\": 10}", 49, 0 },
	{ "changepoint", "{\"warmup\": 50}", 50, 1 },
};
#define NCASES ((int)(sizeof(cases) / sizeof(cases[0])))

/* --- edge cases, every detector ------------------------------------------------- */

START_TEST(test_short_series_warms_up)
{
	const struct det_case *c = &cases[_i];
	double v[] = { 1, 1000, -1000, 5, 1e9 }, w[50];
	struct detection d = run(c->name, c->params, v, 5);

	ck_assert_int_eq(d.r.warmup, 5);
	ck_assert_int_eq(count_flags(&d, 0, 5), 0);
	for (size_t i = 0; i < 5; i++)
		ck_assert_msg(d.r.score[i] == 0 && isnan(d.r.expected[i]), "%s scores %zu in its warm-up", c->name, i);
	detection_release(&d);

	d = run(c->name, c->params, v, 0);
	ck_assert_int_eq(d.r.n, 0);
	detection_release(&d);
	d = run(c->name, c->params, v, 1);
	ck_assert_int_eq(count_flags(&d, 0, 1), 0);
	detection_release(&d);

	/* exactly the warm-up: still nothing */
	noise(w, 50, 0, 1);
	w[40] = 1e6;
	d = run(c->name, c->params, w, c->warmup);
	ck_assert_msg(d.r.warmup == c->warmup, "%s: warmup %zu, expected %zu", c->name, d.r.warmup, c->warmup);
	ck_assert_int_eq(count_flags(&d, 0, c->warmup), 0);
	detection_release(&d);
}
END_TEST

START_TEST(test_constant_series)
{
	const struct det_case *c = &cases[_i];
	double v[500];
	struct detection d;

	for (size_t i = 0; i < 500; i++)
		v[i] = 7;
	d = run(c->name, c->params, v, 500);
	ck_assert_msg(count_flags(&d, 0, 500) == 0, "%s flags a constant series", c->name);
	/* nothing to see; a posterior probability of a change is small, not 0 */
	for (size_t i = 0; i < 500; i++)
		ck_assert_msg(strcmp(c->name, "changepoint") ? d.r.score[i] == 0 : d.r.score[i] < 1e-3,
		              "%s: score[%zu] = %g on a constant series", c->name, i, d.r.score[i]);
	ck_assert_int_eq(d.r.warmup, c->warmup);
	detection_release(&d);

	/* a blip in a constant series */
	v[400] = 8;
	d = run(c->name, c->params, v, 500);
	if (c->point || !strcmp(c->name, "variance_shift")) {
		ck_assert_msg(d.r.anomaly[400] && d.r.score[400] == 1, "%s misses a blip in a constant series", c->name);
		ck_assert_msg(count_flags(&d, 0, 500) == 1, "%s: %zu flags for one blip", c->name,
		              count_flags(&d, 0, 500));
		ck_assert_ptr_nonnull(detection_reason(&d, 400));
	} else {
		ck_assert_msg(count_flags(&d, 0, 500) == 0, "%s flags a single blip", c->name);
	}
	detection_release(&d);
}
END_TEST

START_TEST(test_nan_inf_huge)
{
	const struct det_case *c = &cases[_i];
	double v[600];
	struct detection d;

	noise(v, 600, 1e300, 1e297);
	for (size_t i = 3; i < 600; i += 7)
		v[i] = NAN;
	v[200] = INFINITY;
	v[320] = -INFINITY;
	v[450] = 1e306;
	d = run(c->name, c->params, v, 600);
	for (size_t i = 0; i < 600; i++) {
		ck_assert_msg(d.r.score[i] >= 0 && d.r.score[i] <= 1, "%s: score[%zu] = %g", c->name, i, d.r.score[i]);
		if (isnan(v[i]))
			ck_assert_msg(!d.r.anomaly[i] && d.r.score[i] == 0, "%s flags a missing point", c->name);
	}
	ck_assert_msg(d.r.anomaly[200] && d.r.anomaly[320], "%s: infinite values not flagged", c->name);
	ck_assert(d.r.score[200] == 1 && d.r.score[320] == 1);
	ck_assert_ptr_nonnull(strstr(detection_reason(&d, 200), "infinite"));
	if (c->point)
		ck_assert_msg(d.r.anomaly[450], "%s: huge value not flagged", c->name);
	/* infinities do not poison what follows */
	if (strcmp(c->name, "variance_shift"))
		ck_assert_msg(isfinite(d.r.expected[440]), "%s: expected[440] = %g", c->name, d.r.expected[440]);
	ck_assert_msg(count_flags(&d, 400, 449) == 0, "%s: flags after the infinities", c->name);
	detection_release(&d);

	for (size_t i = 0; i < 600; i++)
		v[i] = NAN;
	d = run(c->name, c->params, v, 600);
	ck_assert_int_eq(count_flags(&d, 0, 600), 0);
	ck_assert_int_eq(d.r.warmup, 600);
	detection_release(&d);
}
END_TEST

/* Causal: scoring a prefix gives the same result as the full series, point for point. */
START_TEST(test_causal_prefixes)
{
	const struct det_case *c = &cases[_i];
	double v[400];
	struct detection full;

	noise(v, 400, 0, 1);
	for (size_t i = 0; i < 400; i += 37)
		v[i] = NAN;
	v[200] = 9;
	for (size_t i = 300; i < 400; i++)
		v[i] += 4;
	full = run(c->name, c->params, v, 400);
	for (size_t n = 1; n <= 400; n += 13) {
		struct detection pre = run(c->name, c->params, v, n);

		for (size_t i = 0; i < n; i++) {
			ck_assert_msg(pre.r.score[i] == full.r.score[i], "%s: prefix %zu changes score[%zu]", c->name, n, i);
			ck_assert(pre.r.anomaly[i] == full.r.anomaly[i]);
			ck_assert((isnan(pre.r.expected[i]) && isnan(full.r.expected[i])) ||
			          pre.r.expected[i] == full.r.expected[i]);
			ck_assert((isnan(pre.r.upper[i]) && isnan(full.r.upper[i])) || pre.r.upper[i] == full.r.upper[i]);
		}
		detection_release(&pre);
	}
	detection_release(&full);
}
END_TEST

/* Params are checked: cross-field rules and bounds. */
START_TEST(test_param_checks)
{
	static const struct {
		const char *name, *params, *key;
	} bad[] = {
		{ "iqr", "{\"window\": 10, \"min_history\": 20}", "min_history" },
		{ "grubbs", "{\"window\": 10, \"min_history\": 20}", "min_history" },
		{ "grubbs", "{\"alpha\": 0}", "alpha" },
		{ "esd", "{\"window\": 10, \"max_outliers\": 6}", "max_outliers" },
		{ "ewma", "{\"lambda\": 1.5}", "lambda" },
		{ "ewma", "{\"after_alarm\": \"forget\"}", "after_alarm" },
		{ "cusum", "{\"k\": 0}", "k" },
		{ "level_shift", "{\"window\": 10, \"test_window\": 20}", "test_window" },
		{ "variance_shift", "{\"window\": 10, \"test_window\": 20}", "test_window" },
		{ "ks", "{\"window\": 10, \"test_window\": 20}", "test_window" },
		{ "changepoint", "{\"warmup\": 10, \"max_lag\": 10}", "max_lag" },
		{ "changepoint", "{\"max_runs\": 5, \"max_lag\": 5}", "max_runs" },
	};

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		const struct detector_entry *e = registry_find(reg, bad[k].name);
		json_t *params = json_loads(bad[k].params, 0, NULL);
		struct diag d;

		diag_init(&d, "spec.json");
		ck_assert_msg(detector_check_params(e, params, &d, "$.detectors[0].params") != 0,
		              "%s accepts %s", bad[k].name, bad[k].params);
		ck_assert_msg(d.n >= 1 && strstr(d.msgs[0], bad[k].key), "%s %s: %s", bad[k].name, bad[k].params,
		              d.n ? d.msgs[0] : "(no message)");
		diag_release(&d);
		json_decref(params);
	}
}
END_TEST

/* --- what is found and what is not ------------------------------------------------ */

/*
 * Clean Gaussian noise raises no alarm, with params for about 0.05 false
 * alarms or fewer per 20000 points (measured on 1 M points of noise; the
 * defaults trade more false alarms for sensitivity, see docs/detectors.md).
 */
START_TEST(test_no_alarm_on_clean_noise)
{
	static const char *const params[] = {
		"{\"window\": 200, \"k\": 3.5}", "{\"window\": 200, \"alpha\": 0.0001}",
		"{\"window\": 200, \"alpha\": 0.0001}", "{\"warmup\": 300, \"threshold\": 4.5}",
		"{\"warmup\": 300, \"h\": 12}", "{\"threshold\": 6}", "{\"alpha\": 1e-6}", "{\"alpha\": 1e-6}",
		"{\"threshold\": 0.99}",
	};
	const struct det_case *c = &cases[_i];
	static double v[20000];
	struct detection d;

	/* (the default stream has a 4.6 sd excursion of a 20-point mean at 6470, which the charts rightly flag) */
	rng_state = 0x9e3779b97f4a7c15ull;
	noise(v, 20000, 50, 3);
	d = run(c->name, params[_i], v, 20000);
	ck_assert_msg(count_flags(&d, 0, 20000) == 0, "%s: %zu false alarms on clean noise (first at %zu)", c->name,
	              count_flags(&d, 0, 20000), first_flag(&d, 0, 20000));
	detection_release(&d);
}
END_TEST

static const char *const point_detectors[] = { "iqr", "grubbs", "esd", "ewma", "cusum", "changepoint" };

START_TEST(test_spike_and_dip)
{
	static const char *const params[] = {
		"{\"window\": 200, \"k\": 3.5}", "{\"window\": 200, \"alpha\": 0.0001}",
		"{\"window\": 200, \"alpha\": 0.0001}", "{\"warmup\": 100, \"threshold\": 4.5}",
		"{\"warmup\": 100, \"h\": 12}", "{\"threshold\": 0.99}",
	};
	static const char *const params_up[] = {
		"{\"window\": 200, \"k\": 3.5, \"direction\": \"up\"}",
		"{\"window\": 200, \"alpha\": 0.0001, \"direction\": \"up\"}",
		"{\"window\": 200, \"alpha\": 0.0001, \"direction\": \"up\"}",
		"{\"warmup\": 100, \"threshold\": 4.5, \"direction\": \"up\"}",
		"{\"warmup\": 100, \"h\": 12, \"direction\": \"up\"}", NULL,
	};
	const char *name = point_detectors[_i];
	double v[2000];
	struct detection d;

	noise(v, 2000, 100, 5);
	v[1500] = 180;   /* spike: 16 sigma */
	v[1700] = 20;    /* dip */
	d = run(name, params[_i], v, 2000);
	ck_assert_msg(d.r.anomaly[1500] && d.r.anomaly[1700], "%s missed the spike or the dip", name);
	ck_assert_msg(count_flags(&d, 1000, 2000) == 2, "%s: %zu flags in [1000, 2000), expected 2 (first %zu)", name,
	              count_flags(&d, 1000, 2000), first_flag(&d, 1000, 2000));
	ck_assert_msg(d.r.score[1500] > 0.9999, "%s: spike scores %g", name, d.r.score[1500]);
	ck_assert(d.r.score[1499] < d.r.score[1500]);
	ck_assert_msg(fabs(d.r.expected[1500] - 100) < 2, "%s: expected %g", name, d.r.expected[1500]);
	ck_assert_msg(d.r.lower[1500] < 100 && d.r.upper[1500] > 100 && d.r.upper[1500] < 180, "%s: band [%g, %g]", name,
	              d.r.lower[1500], d.r.upper[1500]);
	ck_assert_ptr_nonnull(detection_reason(&d, 1500));
	ck_assert_ptr_null(detection_reason(&d, 1499));
	detection_release(&d);

	if (params_up[_i]) {   /* a change point has no direction */
		d = run(name, params_up[_i], v, 2000);
		ck_assert_msg(d.r.anomaly[1500] && !d.r.anomaly[1700], "%s: direction up", name);
		ck_assert(d.r.score[1700] == 0);
		detection_release(&d);
	}
}
END_TEST

static const char *const shift_detectors[] = { "ewma", "cusum", "level_shift", "ks", "changepoint" };
static const char *const shift_params[] = {
	"{\"threshold\": 4.5}", "{\"h\": 12}", "{\"threshold\": 6}", "{\"alpha\": 1e-6}", "{\"threshold\": 0.99}",
};

/* A level shift of 3 sd is reported once, soon after it starts, and the new level becomes normal. */
START_TEST(test_level_shift)
{
	const char *name = shift_detectors[_i];
	double v[1200];
	struct detection d;
	size_t at;

	noise(v, 1200, 10, 1);
	for (size_t i = 600; i < 1200; i++)
		v[i] += 3;
	d = run(name, shift_params[_i], v, 1200);
	at = first_flag(&d, 0, 1200);
	ck_assert_msg(at >= 600 && at <= 620, "%s: first flag at %zu for a shift at 600", name, at);
	ck_assert_msg(count_flags(&d, 0, 1200) == 1, "%s: %zu flags for one shift", name, count_flags(&d, 0, 1200));
	ck_assert_ptr_nonnull(detection_reason(&d, at));
	detection_release(&d);
}
END_TEST

/* (ks is weak against a pure change of scale: the CDFs of N(0, 1) and N(0, 16) differ by at most 0.27) */
static const char *const variance_detectors[] = { "variance_shift", "changepoint" };
static const char *const variance_params[] = { "{\"alpha\": 1e-6}", "{}" };

/* The sd growing fourfold is reported once, soon after. */
START_TEST(test_variance_change)
{
	const char *name = variance_detectors[_i];
	double v[1200];
	struct detection d;
	size_t at;

	noise(v, 1200, 10, 1);
	for (size_t i = 600; i < 1200; i++)
		v[i] = 10 + 4 * (v[i] - 10);
	d = run(name, variance_params[_i], v, 1200);
	at = first_flag(&d, 0, 1200);
	ck_assert_msg(at >= 600 && at <= 640, "%s: first flag at %zu for a variance change at 600", name, at);
	ck_assert_msg(count_flags(&d, 0, 600) == 0, "%s: %zu flags before the change", name, count_flags(&d, 0, 600));
	if (strcmp(name, "changepoint"))   /* the Gaussian model may split the noisier segment again */
		ck_assert_msg(count_flags(&d, 0, 1200) == 1, "%s: %zu flags", name, count_flags(&d, 0, 1200));
	detection_release(&d);
}
END_TEST

/*
 * A slow daily cycle (period 1440 points, amplitude 5 sd) with noise: the
 * rolling outlier tests on a short window and variance_shift (which
 * measures spread on differences) see nothing; a spike on top is found.
 */
START_TEST(test_clean_seasonal)
{
	static const char *const names[] = { "iqr", "grubbs", "esd", "variance_shift" };
	static const char *const params[] = {
		"{\"window\": 60, \"k\": 3.5}", "{\"window\": 60, \"alpha\": 0.0001}",
		"{\"window\": 60, \"alpha\": 0.0001}", "{\"alpha\": 1e-6}",
	};
	static double v[10000];
	struct detection d;

	for (size_t i = 0; i < 10000; i++)
		v[i] = 100 + 5 * sin(2 * M_PI * (double)i / 1440) + gauss();
	d = run(names[_i], params[_i], v, 10000);
	ck_assert_msg(count_flags(&d, 0, 10000) == 0, "%s: %zu alarms on clean seasonal data (first at %zu)", names[_i],
	              count_flags(&d, 0, 10000), first_flag(&d, 0, 10000));
	detection_release(&d);
	if (_i < 3) {
		v[5000] += 10;
		d = run(names[_i], params[_i], v, 10000);
		ck_assert_msg(d.r.anomaly[5000] && count_flags(&d, 0, 10000) == 1, "%s: spike on seasonal data", names[_i]);
		detection_release(&d);
	}
}
END_TEST

/* ewma and cusum: "relearn" reports a persistent shift once, "restart" keeps alarming. */
START_TEST(test_chart_after_alarm)
{
	static const char *const names[] = { "ewma", "cusum" };
	double v[2000];
	struct detection d;

	noise(v, 2000, 0, 1);
	for (size_t i = 500; i < 2000; i++)
		v[i] += 5;
	d = run(names[_i], _i ? "{\"h\": 12}" : "{\"threshold\": 4.5}", v, 2000);
	ck_assert_int_eq(count_flags(&d, 0, 2000), 1);
	ck_assert(first_flag(&d, 0, 2000) >= 500 && first_flag(&d, 0, 2000) < 510);
	/* the warm-up after the alarm: unscored, no band */
	ck_assert(d.r.score[first_flag(&d, 0, 2000) + 1] == 0 && isnan(d.r.expected[first_flag(&d, 0, 2000) + 1]));
	ck_assert(fabs(d.r.expected[1999] - 5) < 0.5);
	detection_release(&d);

	d = run(names[_i], _i ? "{\"h\": 12, \"after_alarm\": \"restart\"}"
	                      : "{\"threshold\": 4.5, \"after_alarm\": \"restart\"}", v, 2000);
	ck_assert_msg(count_flags(&d, 500, 2000) > 50, "%s restart: %zu alarms", names[_i], count_flags(&d, 500, 2000));
	ck_assert(fabs(d.r.expected[1999]) < 0.5);
	detection_release(&d);
}
END_TEST

/* --- reference checks -------------------------------------------------------------- */

/* iqr: quartiles (type 7), fences and median equal a sort-from-scratch reference. */
START_TEST(test_iqr_matches_reference)
{
	static const size_t windows[] = { 4, 7, 50 };
	double v[2000], w[50];

	for (size_t i = 0; i < 2000; i++)   /* ties on purpose: integer values */
		v[i] = i % 13 == 0 ? NAN : floor(gauss() * 3);
	v[1000] = 40;
	for (size_t wi = 0; wi < 3; wi++) {
		size_t win = windows[wi];
		char *params = xasprintf("{\"window\": %zu, \"k\": 1.5}", win);
		struct detection d = run("iqr", params, v, 2000);

		for (size_t i = win; i < 2000; i++) {
			size_t n = 0;
			double q1, q3, h, m, sd, lo, hi;

			for (size_t j = i - win; j < i; j++)
				if (isfinite(v[j]))
					w[n++] = v[j];
			if (n < 4)
				continue;
			m = median_of(w, n);   /* sorts w */
			h = (double)(n - 1) * 0.25;
			q1 = w[(size_t)h] + (h - floor(h)) * (w[(size_t)h + 1] - w[(size_t)h]);
			h = (double)(n - 1) * 0.75;
			q3 = (size_t)h + 1 < n ? w[(size_t)h] + (h - floor(h)) * (w[(size_t)h + 1] - w[(size_t)h]) : w[n - 1];
			lo = q1 - 1.5 * (q3 - q1);
			hi = q3 + 1.5 * (q3 - q1);
			ck_assert_msg(d.r.expected[i] == m, "window %zu, i %zu: median", win, i);
			if (q3 > q1) {
				ck_assert_msg(near(d.r.lower[i], lo, 1e-12) && near(d.r.upper[i], hi, 1e-12),
				              "window %zu, i %zu: fences [%g, %g] vs [%g, %g]", win, i, d.r.lower[i],
				              d.r.upper[i], lo, hi);
				if (isfinite(v[i]) && (v[i] < lo - 1e-9 || v[i] > hi + 1e-9))
					ck_assert_msg(d.r.anomaly[i], "window %zu, i %zu: %g outside [%g, %g]", win, i, v[i], lo, hi);
				if (isfinite(v[i]) && v[i] > lo + 1e-9 && v[i] < hi - 1e-9)
					ck_assert(!d.r.anomaly[i]);
			}
			(void)sd;
		}
		ck_assert(d.r.anomaly[1000]);
		detection_release(&d);
		free(params);
	}
}
END_TEST

/* Grubbs critical values G_crit(n) from the band equal the published table (alpha 0.05). */
START_TEST(test_grubbs_critical_values)
{
	/* n, two-sided, one-sided (e.g. NIST/SEMATECH 1.3.5.17; ASTM E178 table 1) */
	static const double table[][3] = {
		{ 5, 1.715, 1.671 }, { 10, 2.290, 2.176 }, { 20, 2.708, 2.557 },
		{ 30, 2.908, 2.745 }, { 50, 3.128, 2.956 }, { 100, 3.384, NAN },
	};
	double v[300];

	noise(v, 300, 10, 2);
	for (size_t k = 0; k < sizeof(table) / sizeof(table[0]); k++) {
		size_t n = (size_t)table[k][0], w = n - 1, i = 200;

		for (int sides = 2; sides >= 1 && !isnan(table[k][sides == 2 ? 1 : 2]); sides--) {
			char *params = xasprintf("{\"window\": %zu, \"direction\": \"%s\"}", w, sides == 2 ? "both" : "up");
			struct detection d = run("grubbs", params, v, 300);
			double mean = 0, ss = 0, sd, t, g;

			for (size_t j = i - w; j < i; j++)
				mean += v[j];
			mean /= (double)w;
			for (size_t j = i - w; j < i; j++)
				ss += (v[j] - mean) * (v[j] - mean);
			sd = sqrt(ss / (double)(w - 1));
			ck_assert(near(d.r.expected[i], mean, 1e-12));
			t = (d.r.upper[i] - d.r.expected[i]) / (sd * sqrt(1 + 1.0 / (double)w));
			g = g_from_t(t, (double)n);
			ck_assert_msg(fabs(g - table[k][sides == 2 ? 1 : 2]) < 0.0015, "n %zu, %d-sided: G_crit %.4f, table %.3f",
			              n, sides, g, table[k][sides == 2 ? 1 : 2]);
			detection_release(&d);
			free(params);
		}
	}
}
END_TEST

/* Grubbs flags and scores equal a naive two-pass computation of G over the window plus the point. */
START_TEST(test_grubbs_matches_naive)
{
	static double v[3000];
	size_t w = 30;
	struct detection d;
	double s[31];

	noise(v, 3000, 5, 1);
	for (size_t i = 100; i < 3000; i += 97)
		v[i] += (i % 2 ? 1 : -1) * (2 + (double)(i % 7));
	d = run("grubbs", "{\"window\": 30, \"alpha\": 0.05}", v, 3000);
	for (size_t i = w; i < 3000; i++) {
		double mean = 0, ss = 0, sd, g, gc, tc, t, n = (double)w + 1;

		for (size_t j = 0; j <= w; j++)
			s[j] = v[i - w + j];
		for (size_t j = 0; j <= w; j++)
			mean += s[j];
		mean /= n;
		for (size_t j = 0; j <= w; j++)
			ss += (s[j] - mean) * (s[j] - mean);
		sd = sqrt(ss / (n - 1));
		g = fabs(v[i] - mean) / sd;
		tc = gsl_cdf_tdist_Qinv(0.05 / (2 * n), n - 2);
		gc = (n - 1) / sqrt(n) * sqrt(tc * tc / (n - 2 + tc * tc));
		if (fabs(g - gc) > 1e-9)
			ck_assert_msg(d.r.anomaly[i] == (g > gc), "i %zu: G %g, critical %g, flag %d", i, g, gc, d.r.anomaly[i]);
		t = t_from_g(g, n);
		ck_assert_msg(fabs(d.r.score[i] - (1 - 2 * gsl_cdf_tdist_Q(t, n - 2))) < 1e-9, "i %zu: score %.12g vs %.12g",
		              i, d.r.score[i], 1 - 2 * gsl_cdf_tdist_Q(t, n - 2));
	}
	ck_assert_int_gt(count_flags(&d, 0, 3000), 10);
	detection_release(&d);
}
END_TEST

/* Rosner's (1983) example, as worked in the NIST/SEMATECH e-Handbook 1.3.5.17.3: 54 values, r = 10. */
static const double rosner[54] = {
	-0.25, 0.68, 0.94, 1.15, 1.20, 1.26, 1.26, 1.34, 1.38, 1.43, 1.49, 1.49, 1.55, 1.56,
	1.58, 1.65, 1.69, 1.70, 1.76, 1.77, 1.81, 1.91, 1.94, 1.96, 1.99, 2.06, 2.09, 2.10,
	2.14, 2.15, 2.23, 2.24, 2.26, 2.35, 2.37, 2.40, 2.47, 2.54, 2.62, 2.64, 2.90, 2.92,
	2.92, 2.93, 3.21, 3.26, 3.30, 3.59, 3.68, 4.30, 4.64, 5.34, 5.42, 6.01,
};

/* Naive generalized ESD on x[0..n): the R_j and lambda_j of r steps, removed values in out[]. */
static size_t naive_esd(const double *x, size_t n, size_t r, double alpha, double *rr, double *lam, double *out)
{
	int used[64] = { 0 };
	size_t k = 0;

	for (size_t j = 1; j <= r; j++) {
		double mean = 0, ss = 0, sd, best = -1, np = (double)(n - j + 1), t;
		size_t c = 0, b = 0;

		for (size_t i = 0; i < n; i++)
			if (!used[i]) {
				mean += x[i];
				c++;
			}
		mean /= (double)c;
		for (size_t i = 0; i < n; i++)
			if (!used[i])
				ss += (x[i] - mean) * (x[i] - mean);
		sd = sqrt(ss / (double)(c - 1));
		for (size_t i = 0; i < n; i++)
			if (!used[i] && fabs(x[i] - mean) > best) {
				best = fabs(x[i] - mean);
				b = i;
			}
		used[b] = 1;
		out[j - 1] = x[b];
		rr[j - 1] = best / sd;
		t = gsl_cdf_tdist_Qinv(alpha / (2 * np), np - 2);
		lam[j - 1] = (np - 1) * t / sqrt((np - 2 + t * t) * np);
		if (rr[j - 1] > lam[j - 1])
			k = j;
	}
	return k;
}

START_TEST(test_esd_rosner_example)
{
	/* NIST's table: R_i and lambda_i, i = 1..10 (printed to 3 decimals) */
	static const double nist_r[10] = { 3.118, 2.942, 3.179, 2.810, 2.815, 2.848, 2.279, 2.310, 2.101, 2.067 };
	static const double nist_l[10] = { 3.158, 3.151, 3.143, 3.136, 3.128, 3.120, 3.111, 3.103, 3.094, 3.085 };
	static const struct {
		double last;
		int esd, grubbs;
	} probes[] = { { 6.01, 1, 0 }, { 5.42, 1, 0 }, { 5.34, 1, 0 }, { 4.64, 0, 0 }, { 2.10, 0, 0 } };
	double rr[10], lam[10], out[10], v[54];

	ck_assert_int_eq(naive_esd(rosner, 54, 10, 0.05, rr, lam, out), 3);
	for (int j = 0; j < 10; j++)
		ck_assert_msg(fabs(rr[j] - nist_r[j]) < 0.0015 && fabs(lam[j] - nist_l[j]) < 0.0015,
		              "step %d: R %.4f lambda %.4f vs NIST %.3f %.3f", j + 1, rr[j], lam[j], nist_r[j], nist_l[j]);
	/* causally: the probe value last, tested against the 53 others */
	for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
		struct detection e, g;
		size_t n = 0;
		int skipped = 0;

		for (size_t i = 0; i < 54; i++) {
			if (!skipped && rosner[i] == probes[p].last) {
				skipped = 1;
				continue;
			}
			v[n++] = rosner[i];
		}
		v[n++] = probes[p].last;
		e = run("esd", "{\"window\": 53, \"max_outliers\": 10, \"alpha\": 0.05}", v, 54);
		g = run("grubbs", "{\"window\": 53, \"alpha\": 0.05}", v, 54);
		ck_assert_msg(e.r.anomaly[53] == probes[p].esd, "esd on %g: %d", probes[p].last, e.r.anomaly[53]);
		ck_assert_msg(g.r.anomaly[53] == probes[p].grubbs, "grubbs on %g: %d (masking)", probes[p].last,
		              g.r.anomaly[53]);
		if (probes[p].esd)
			ck_assert_msg(strstr(detection_reason(&e, 53), "one of 3 outliers among 54 points"), "%s",
			              detection_reason(&e, 53));
		detection_release(&e);
		detection_release(&g);
	}
}
END_TEST

/* esd flags a point exactly when the naive test on its window plus itself removes it among the outliers. */
START_TEST(test_esd_matches_naive)
{
	static double v[1500];
	size_t w = 40;
	struct detection d;
	double s[41], rr[8], lam[8], out[8];

	noise(v, 1500, 0, 1);
	for (size_t i = 0; i < 1500; i++)   /* clusters of outliers: the masking ESD is for */
		if (urand() < 0.03)
			v[i] += 4 + 4 * urand();
	d = run("esd", "{\"window\": 40, \"max_outliers\": 8, \"alpha\": 0.05}", v, 1500);
	for (size_t i = w; i < 1500; i++) {
		size_t k, j;
		int outlier = 0;

		for (j = 0; j <= w; j++)
			s[j] = v[i - w + j];
		k = naive_esd(s, w + 1, 8, 0.05, rr, lam, out);
		for (j = 0; j < k; j++)
			outlier |= out[j] == v[i];
		ck_assert_msg(d.r.anomaly[i] == outlier, "i %zu: esd %d, naive %d (k %zu)", i, d.r.anomaly[i], outlier, k);
	}
	ck_assert_int_gt(count_flags(&d, 0, 1500), 10);
	detection_release(&d);
}
END_TEST

/* KS: the merge statistic against brute force, exact p against enumeration, asymptotics. */
START_TEST(test_ks_reference)
{
	double r[40], t[15], u[64];

	for (int trial = 0; trial < 200; trial++) {
		size_t a = 5 + (size_t)(urand() * 35), b = 3 + (size_t)(urand() * 12);
		uint64_t got, best = 0;

		for (size_t i = 0; i < a; i++)
			r[i] = floor(urand() * 10);   /* ties */
		for (size_t i = 0; i < b; i++)
			t[i] = floor(urand() * 10) + (trial % 2);
		qsort(r, a, sizeof(*r), cmp_double);
		qsort(t, b, sizeof(*t), cmp_double);
		r[a] = t[b] = INFINITY;   /* sentinels */
		got = ks_statistic(r, a, t, b);
		for (size_t k = 0; k < a + b; k++) {   /* every value of either sample */
			double x = k < a ? r[k] : t[k - a];

			int64_t cr = 0, ct = 0, diff;

			for (size_t i = 0; i < a; i++)
				cr += r[i] <= x;
			for (size_t i = 0; i < b; i++)
				ct += t[i] <= x;
			diff = cr * (int64_t)b - ct * (int64_t)a;
			if ((uint64_t)llabs(diff) > best)
				best = (uint64_t)llabs(diff);
		}
		ck_assert_msg(got == best, "trial %d: D a b %llu, brute force %llu", trial, (unsigned long long)got,
		              (unsigned long long)best);
	}

	/* exact null distribution for a = 6, b = 4 by enumerating the C(10, 4) = 210 splits of 1..10 */
	{
		size_t counts[25] = { 0 }, total = 0;

		for (unsigned mask = 0; mask < 1u << 10; mask++) {
			size_t a = 0, b = 0, k;

			if (__builtin_popcount(mask) != 4)
				continue;
			for (k = 0; k < 10; k++) {
				if (mask & (1u << k))
					t[b++] = (double)k;
				else
					r[a++] = (double)k;
			}
			r[6] = t[4] = INFINITY;
			counts[ks_statistic(r, 6, t, 4)]++;
			total++;
		}
		ck_assert_int_eq(total, 210);
		for (uint64_t k = 0; k <= 24; k++) {
			size_t ge = 0;

			for (uint64_t j = k; j <= 24; j++)
				ge += counts[j];
			ck_assert_msg(fabs(ks_p_exact(6, 4, k, u) - (double)ge / 210) < 1e-12, "k %llu: %.15g vs %.15g",
			              (unsigned long long)k, ks_p_exact(6, 4, k, u), (double)ge / 210);
		}
	}
	/* tiny p keep their precision: D = 1 needs all of one sample below the other, 2 / C(130, 30) */
	{
		double *uu = xcalloc(202, sizeof(*uu)), want = 2 * exp(lgamma(31) + lgamma(101) - lgamma(131));
		double got = ks_p_exact(30, 100, 3000, uu);

		ck_assert_msg(fabs(got / want - 1) < 1e-9, "%g vs %g", got, want);
		free(uu);
	}

	/* the Kolmogorov distribution (values from R's 1 - pkolmogorov1x / Marsaglia-Tsang-Wang) */
	ck_assert(fabs(kolmogorov_q(0.5) - 0.963945243664875) < 1e-12);
	ck_assert(fabs(kolmogorov_q(1.0) - 0.269999671677355) < 1e-12);
	ck_assert(fabs(kolmogorov_q(1.5) - 0.022217962616525) < 1e-12);
	ck_assert(kolmogorov_q(0) == 1 && kolmogorov_q(20) == 0);
	/* exact and asymptotic agree for moderate samples */
	for (uint64_t k = 600; k <= 2700; k += 300) {   /* p from 0.8 down to 2e-7 */
		double *uu = xcalloc(122, sizeof(*uu)), ex = ks_p_exact(100, 60, k, uu);
		double as = ks_p_asymptotic((double)k / 6000, 100, 60);

		ck_assert_msg(fabs(ex - as) < 0.1 * ex, "D %g: exact %g, asymptotic %g", (double)k / 6000, ex, as);
		free(uu);
	}
}
END_TEST

/*
 * The ks plugin's score is 1 - p of the exact test on the merge statistic
 * for full windows, with continuous and with tied (integer) values.
 */
START_TEST(test_ks_plugin_p)
{
	double v[300], rr[31], tt[11], u[22];
	struct detection d;

	noise(v, 300, 0, 1);
	for (size_t i = 200; i < 300; i++)
		v[i] += 1.5;
	if (_i)
		for (size_t i = 0; i < 300; i++)
			v[i] = floor(v[i] * 2);
	d = run("ks", "{\"window\": 30, \"test_window\": 10, \"alpha\": 0.001}", v, 300);
	for (size_t i = 39; i < 300; i++) {
		double p;

		memcpy(rr, v + i - 39, 30 * sizeof(double));
		memcpy(tt, v + i - 9, 10 * sizeof(double));
		qsort(rr, 30, sizeof(double), cmp_double);
		qsort(tt, 10, sizeof(double), cmp_double);
		rr[30] = tt[10] = INFINITY;
		p = ks_p_exact(30, 10, ks_statistic(rr, 30, tt, 10), u);
		ck_assert_msg(fabs(d.r.score[i] - (1 - p)) < 1e-12, "i %zu: score %.15g, 1 - p %.15g", i, d.r.score[i], 1 - p);
	}
	ck_assert_int_eq(count_flags(&d, 0, 200), 0);
	ck_assert_int_eq(count_flags(&d, 200, 300), 1);
	detection_release(&d);
}
END_TEST

/* The interpolated t and F tails equal GSL's. */
START_TEST(test_tail_tables)
{
	static const double nus[] = { 2, 3.5, 9, 30, 99, 999 };
	static const double dofs[][2] = { { 1.5, 3 }, { 2.6, 9.7 }, { 10.7, 36.4 }, { 36.4, 10.7 }, { 100, 400 } };

	for (size_t k = 0; k < sizeof(nus) / sizeof(nus[0]); k++) {
		struct normal_table *t = t_table_new(nus[k]);
		double worst = 0;

		for (double x = 0; x < 9; x += 0.00731) {
			double want = 2 * gsl_cdf_tdist_Q(x, nus[k]), got = t_two_sided(t, nus[k], x, nus[k]);
			double err = fabs(got - want) / fmax(want, 1e-300);

			if (want > 1e-250 && err > worst)
				worst = err;
		}
		ck_assert_msg(worst < 1e-7, "t(%g): relative error %g", nus[k], worst);
		ck_assert(t_two_sided(t, nus[k], 20, nus[k]) == 2 * gsl_cdf_tdist_Q(20, nus[k]));
		ck_assert(t_two_sided(t, nus[k], INFINITY, nus[k]) == 0 && t_two_sided(t, nus[k], NAN, nus[k]) == 1);
		free(t);
	}
	for (size_t k = 0; k < sizeof(dofs) / sizeof(dofs[0]); k++) {
		struct f_tables ft;
		double worst = 0, a = dofs[k][0], b = dofs[k][1];

		ck_assert_int_eq(f_tables_init(&ft, a, b), 0);
		for (double lf = -6; lf < 6; lf += 0.00917) {
			double f = exp(lf), want = f >= 1 ? gsl_cdf_fdist_Q(f, a, b) : gsl_cdf_fdist_P(f, a, b);
			double got = f_tail(&ft, f, a, b), err = fabs(got - want) / fmax(want, 1e-300);

			if (want > 1e-250 && err > worst)
				worst = err;
		}
		ck_assert_msg(worst < 1e-7, "F(%g, %g): relative error %g", a, b, worst);
		ck_assert(f_tail(&ft, INFINITY, a, b) == 0 && f_tail(&ft, 0, a, b) == 0);
		f_tables_release(&ft);
	}
}
END_TEST

/* Naive in-control baseline: median and robust sd of the first `warmup` finite values from `from`. */
static size_t naive_baseline(const double *v, size_t n, size_t from, size_t warmup, double *mu, double *sd)
{
	double *w = xcalloc(warmup, sizeof(*w));
	size_t k = 0, i;

	for (i = from; i < n && k < warmup; i++)
		if (isfinite(v[i]))
			w[k++] = v[i];
	if (k < warmup) {
		free(w);
		return n;
	}
	*sd = robust_sd_of(w, warmup);
	*mu = median_of(w, warmup);
	free(w);
	return i;   /* the first monitored point */
}

/* ewma and cusum against their textbook recursions, and the band: flagged exactly outside it. */
START_TEST(test_charts_match_naive)
{
	double v[3000];

	noise(v, 3000, 20, 2);
	for (size_t i = 0; i < 3000; i += 41)
		v[i] = NAN;
	for (size_t i = 1000; i < 1300; i++)
		v[i] += 3;
	for (size_t i = 2000; i < 3000; i++)
		v[i] -= 1.5;
	for (int chart = 0; chart < 2; chart++) {
		struct detection d = chart ? run("cusum", "{\"warmup\": 60, \"k\": 0.5, \"h\": 4}", v, 3000)
		                           : run("ewma", "{\"warmup\": 60, \"lambda\": 0.2, \"threshold\": 2.8}", v, 3000);
		double mu = 0, sd = 1, e = 0, q = 1, sp = 0, sm = 0;
		size_t i = naive_baseline(v, 3000, 0, 60, &mu, &sd), alarms = 0;

		ck_assert_int_eq(d.r.warmup, i);
		for (; i < 3000; i++) {
			double u, score;
			int alarm;

			if (isnan(v[i]))
				continue;
			u = (v[i] - mu) / sd;
			if (chart) {
				double np = fmax(0, sp + u - 0.5), nm = fmax(0, sm - u - 0.5);

				score = 1 - fmin(1, 2 * exp(-2 * 0.5 * fmax(np, nm)));
				alarm = np > 4 || nm > 4;
				sp = np;
				sm = nm;
			} else {
				double st = sqrt(0.2 / 1.8 * (1 - q * 0.64) + M_PI / 2 / 60), z;

				e = 0.2 * u + 0.8 * e;
				q *= 0.64;
				z = e / st;
				score = erf(fabs(z) / sqrt(2));
				alarm = fabs(z) >= 2.8;
			}
			ck_assert_msg(fabs(d.r.score[i] - score) < 1e-9, "chart %d, i %zu: score %.12g vs %.12g", chart, i,
			              d.r.score[i], score);
			ck_assert_msg(d.r.anomaly[i] == alarm, "chart %d, i %zu: flag %d vs %d", chart, i, d.r.anomaly[i], alarm);
			ck_assert(alarm == (v[i] < d.r.lower[i] || v[i] > d.r.upper[i]));
			if (alarm) {   /* relearn from the next point */
				alarms++;
				i = naive_baseline(v, 3000, i + 1, 60, &mu, &sd) - 1;
				e = sp = sm = 0;
				q = 1;
			}
		}
		ck_assert_int_ge(alarms, 3);
		detection_release(&d);
	}
}
END_TEST

/* level_shift and variance_shift against naive window statistics. */
START_TEST(test_two_window_match_naive)
{
	double v[800], rw[60], tw[20], dv[800];
	struct detection ls, vs;

	noise(v, 800, 3, 1);
	for (size_t i = 400; i < 800; i++)
		v[i] = 3 + 2.5 * (v[i] - 3) + (i >= 600 ? 8 : 0);
	ls = run("level_shift", "{\"window\": 60, \"test_window\": 20}", v, 800);
	vs = run("variance_shift", "{\"window\": 60, \"test_window\": 20, \"differences\": false, \"alpha\": 0.001}",
	         v, 800);
	for (size_t i = 79; i < 800; i++) {
		double mr, mt, sr, st, se, z, f, p;

		memcpy(rw, v + i - 79, sizeof(rw));
		memcpy(tw, v + i - 19, sizeof(tw));
		sr = robust_sd_of(rw, 60);
		st = robust_sd_of(tw, 20);
		mr = median_of(rw, 60);
		mt = median_of(tw, 20);
		se = 1.2533141373155 * sr * sqrt(1.0 / 20 + 1.0 / 60);
		z = (mt - mr) / se;
		ck_assert(near(ls.r.expected[i], mr, 1e-12));
		ck_assert(near(ls.r.upper[i], mr + 5 * se, 1e-9));
		ck_assert_msg(fabs(ls.r.score[i] - erf(fabs(z) / sqrt(2))) < 1e-9, "i %zu: level score", i);
		f = (st / sr) * (st / sr);
		p = f >= 1 ? gsl_cdf_fdist_Q(f, 0.3675 * 19, 0.3675 * 59) : gsl_cdf_fdist_P(f, 0.3675 * 19, 0.3675 * 59);
		ck_assert_msg(fabs(vs.r.score[i] - (1 - fmin(1, 2 * p))) < 1e-7, "i %zu: variance score %.10g vs %.10g", i,
		              vs.r.score[i], 1 - fmin(1, 2 * p));
	}
	ck_assert_msg(first_flag(&vs, 0, 800) >= 400 && first_flag(&vs, 0, 800) < 440, "variance flag at %zu",
	              first_flag(&vs, 0, 800));
	ck_assert_int_eq(count_flags(&ls, 600, 620), 1);   /* (earlier flags: the noisier segment's medians) */
	detection_release(&ls);
	detection_release(&vs);

	/* on differences a level shift leaves the spread alone: no variance flag at 600 */
	for (size_t i = 0; i < 800; i++)
		dv[i] = 3 + gauss() + (i >= 400 ? 6 : 0);
	vs = run("variance_shift", "{\"window\": 60, \"test_window\": 20}", dv, 800);
	ck_assert_int_eq(count_flags(&vs, 0, 800), 0);
	detection_release(&vs);
	vs = run("variance_shift", "{\"window\": 60, \"test_window\": 20, \"differences\": false}", dv, 800);
	ck_assert_int_gt(count_flags(&vs, 0, 800), 0);
	detection_release(&vs);
}
END_TEST

/*
 * changepoint against a plain Adams-MacKay recursion that keeps every run
 * length (no pruning), on the same model: scores agree.
 */
START_TEST(test_changepoint_matches_naive)
{
	enum { N = 400, W = 30, L = 10 };
	static double v[N], mass[N + 2], cnt[N + 2], sum[N + 2], sumsq[N + 2];
	static size_t start[N + 2];
	double h = 1.0 / 100, mu, sd;
	size_t k = 0, i;
	struct detection d;

	noise(v, N, 50, 2);
	for (i = 150; i < N; i++)
		v[i] += 5;
	for (i = 250; i < N; i++)
		v[i] = 55 + 3 * (v[i] - 55);
	v[100] = NAN;
	d = run("changepoint", "{\"expected_run\": 100, \"warmup\": 30, \"max_lag\": 10, \"max_runs\": 1000}", v, N);
	i = naive_baseline(v, N, 0, W, &mu, &sd);
	ck_assert_int_eq(d.r.warmup, i);
	/* the warm-up is the first run */
	start[0] = 0;
	cnt[0] = sum[0] = sumsq[0] = 0;
	for (size_t j = 0; j < i; j++) {
		double u = (v[j] - mu) / sd;

		cnt[0]++;
		sum[0] += u;
		sumsq[0] += u * u;
	}
	mass[0] = 1 - h;
	start[1] = i;
	cnt[1] = sum[1] = sumsq[1] = 0;
	mass[1] = h;
	k = 2;
	for (; i < N; i++) {
		double u, total = 0, recent = 0;

		if (isnan(v[i]))
			continue;
		u = (v[i] - mu) / sd;
		for (size_t j = 0; j < k; j++) {
			double n = cnt[j], mean = n ? sum[j] / n : 0, m2 = n ? sumsq[j] - sum[j] * sum[j] / n : 0;
			double kap = 0.01 + n, al = 1 + n / 2, be = 1 + m2 / 2 + 0.01 * n * mean * mean / (2 * kap);
			double loc = n * mean / kap, s2 = be * (kap + 1) / (al * kap), nu = 2 * al;
			double lp = lgamma((nu + 1) / 2) - lgamma(nu / 2) - 0.5 * log(nu * M_PI * s2) -
			            (nu + 1) / 2 * log1p((u - loc) * (u - loc) / (nu * s2));

			mass[j] *= exp(lp);
			total += mass[j];
			if (start[j] + L > i)
				recent += mass[j];
			cnt[j]++;
			sum[j] += u;
			sumsq[j] += u * u;
		}
		ck_assert_msg(fabs(d.r.score[i] - recent / total) < 1e-6, "i %zu: score %.9g, naive %.9g", i, d.r.score[i],
		              recent / total);
		for (size_t j = 0; j < k; j++)
			mass[j] *= (1 - h) / total;
		start[k] = i + 1;
		cnt[k] = sum[k] = sumsq[k] = 0;
		mass[k++] = h;
	}
	ck_assert_msg(first_flag(&d, 0, N) >= 150 && first_flag(&d, 0, N) < 160, "first flag %zu", first_flag(&d, 0, N));
	detection_release(&d);
}
END_TEST

static Suite *stat_suite(void)
{
	Suite *s = suite_create("detectors_stat");
	TCase *edge = tcase_create("edge"), *found = tcase_create("found"), *ref = tcase_create("reference");

	tcase_set_timeout(edge, 120);
	tcase_set_timeout(found, 120);
	tcase_set_timeout(ref, 120);
	tcase_add_loop_test(edge, test_short_series_warms_up, 0, NCASES);
	tcase_add_loop_test(edge, test_constant_series, 0, NCASES);
	tcase_add_loop_test(edge, test_nan_inf_huge, 0, NCASES);
	tcase_add_loop_test(edge, test_causal_prefixes, 0, NCASES);
	tcase_add_test(edge, test_param_checks);
	tcase_add_loop_test(found, test_no_alarm_on_clean_noise, 0, NCASES);
	tcase_add_loop_test(found, test_spike_and_dip, 0, 6);
	tcase_add_loop_test(found, test_level_shift, 0, 5);
	tcase_add_loop_test(found, test_variance_change, 0, 2);
	tcase_add_loop_test(found, test_clean_seasonal, 0, 4);
	tcase_add_loop_test(found, test_chart_after_alarm, 0, 2);
	tcase_add_test(ref, test_iqr_matches_reference);
	tcase_add_test(ref, test_grubbs_critical_values);
	tcase_add_test(ref, test_grubbs_matches_naive);
	tcase_add_test(ref, test_esd_rosner_example);
	tcase_add_test(ref, test_esd_matches_naive);
	tcase_add_test(ref, test_ks_reference);
	tcase_add_loop_test(ref, test_ks_plugin_p, 0, 2);
	tcase_add_test(ref, test_tail_tables);
	tcase_add_test(ref, test_charts_match_naive);
	tcase_add_test(ref, test_two_window_match_naive);
	tcase_add_test(ref, test_changepoint_matches_naive);
	suite_add_tcase(s, edge);
	suite_add_tcase(s, found);
	suite_add_tcase(s, ref);
	return s;
}

int main(void)
{
	int rc;

	reg = test_registry();
	rc = run_suite(stat_suite());
	registry_free(reg);
	return rc;
}

/*
 * check_detectors.c - the built-in detectors, loaded through the plugin
 * loader, on synthetic series with known anomalies, on edge cases, against
 * naive reference computations, and for causality.
 */
#include <math.h>
#include <stdint.h>

#include "detect.h"
#include "series.h"
#include "detutil.h"
#include "../detectors/common.h"

static const char *const rolling[] = { "zscore", "mad" };

START_TEST(test_spike_and_dip)
{
	const char *name = rolling[_i];
	double v[2000];
	struct detection d;

	noise(v, 2000, 100, 5);
	v[1500] = 180;   /* spike: 16 sigma */
	v[1700] = 20;    /* dip */
	d = run(name, "{\"window\": 200, \"threshold\": 5}", v, 2000);
	ck_assert_msg(d.r.anomaly[1500] && d.r.anomaly[1700], "%s missed the spike or the dip", name);
	ck_assert_msg(count_flags(&d, 0, 2000) == 2, "%s: %zu flags, expected exactly 2", name,
	              count_flags(&d, 0, 2000));
	ck_assert(d.r.score[1500] > 0.999999);
	ck_assert(d.r.score[1499] < d.r.score[1500]);
	ck_assert(fabs(d.r.expected[1500] - 100) < 2);
	ck_assert(d.r.lower[1500] < 100 && d.r.upper[1500] > 100 && d.r.upper[1500] < 180);
	ck_assert_ptr_nonnull(detection_reason(&d, 1500));
	ck_assert_ptr_null(detection_reason(&d, 1499));
	ck_assert_int_eq(d.r.warmup, 200);
	detection_release(&d);

	/* direction "up" ignores the dip */
	d = run(name, "{\"window\": 200, \"threshold\": 5, \"direction\": \"up\"}", v, 2000);
	ck_assert(d.r.anomaly[1500] && !d.r.anomaly[1700]);
	ck_assert(d.r.score[1700] == 0);
	detection_release(&d);
}
END_TEST

START_TEST(test_no_alarm_on_clean_noise)
{
	const char *name = rolling[_i];
	double v[20000];
	struct detection d;

	noise(v, 20000, 50, 3);
	d = run(name, "{\"window\": 500, \"threshold\": 5}", v, 20000);
	ck_assert_msg(count_flags(&d, 0, 20000) == 0, "%s: %zu false alarms on clean noise", name,
	              count_flags(&d, 0, 20000));
	detection_release(&d);
}
END_TEST

START_TEST(test_level_shift)
{
	const char *name = rolling[_i];
	double v[1000];
	struct detection d;

	noise(v, 1000, 10, 1);
	for (size_t i = 600; i < 1000; i++)
		v[i] += 30;
	d = run(name, "{\"window\": 100, \"threshold\": 5}", v, 1000);
	ck_assert_msg(d.r.anomaly[600], "%s missed the start of the level shift", name);
	ck_assert_int_eq(count_flags(&d, 0, 600), 0);
	/* once the window has moved on, the new level is normal */
	ck_assert_int_eq(count_flags(&d, 760, 1000), 0);
	detection_release(&d);
}
END_TEST

START_TEST(test_constant_series)
{
	const char *name = rolling[_i];
	double v[500];
	struct detection d;

	for (size_t i = 0; i < 500; i++)
		v[i] = 7;
	d = run(name, "{\"window\": 50}", v, 500);
	ck_assert_int_eq(count_flags(&d, 0, 500), 0);
	for (size_t i = 0; i < 500; i++)
		ck_assert(d.r.score[i] == 0);
	detection_release(&d);

	v[400] = 8;   /* any change from a constant is anomalous */
	d = run(name, "{\"window\": 50}", v, 500);
	ck_assert_int_eq(count_flags(&d, 0, 500), 1);
	ck_assert(d.r.anomaly[400] && d.r.score[400] == 1);
	detection_release(&d);
}
END_TEST

START_TEST(test_short_series_warms_up)
{
	const char *name = rolling[_i];
	double v[] = { 1, 1000, -1000, 5, 1e9 };
	struct detection d = run(name, "{\"window\": 100}", v, 5);

	ck_assert_int_eq(d.r.warmup, 5);
	ck_assert_int_eq(count_flags(&d, 0, 5), 0);
	for (size_t i = 0; i < 5; i++)
		ck_assert(d.r.score[i] == 0 && isnan(d.r.expected[i]));
	detection_release(&d);

	d = run(name, "{\"window\": 100}", v, 0);
	ck_assert_int_eq(d.r.n, 0);
	detection_release(&d);

	d = run(name, "{\"window\": 100}", v, 1);
	ck_assert_int_eq(count_flags(&d, 0, 1), 0);
	detection_release(&d);
}
END_TEST

START_TEST(test_nan_inf_huge)
{
	const char *name = rolling[_i];
	double v[600];
	struct detection d;

	noise(v, 600, 1e300, 1e297);
	for (size_t i = 0; i < 600; i += 7)
		v[i] = NAN;
	v[300] = INFINITY;
	v[301] = -INFINITY;
	v[450] = 1e306;
	d = run(name, "{\"window\": 60, \"threshold\": 5}", v, 600);
	for (size_t i = 0; i < 600; i++) {
		ck_assert_msg(d.r.score[i] >= 0 && d.r.score[i] <= 1, "%s: score[%zu] = %g", name, i, d.r.score[i]);
		if (isnan(v[i]))
			ck_assert_msg(!d.r.anomaly[i] && d.r.score[i] == 0, "%s flags a missing point", name);
	}
	ck_assert_msg(d.r.anomaly[300] && d.r.anomaly[301], "%s: infinite values not flagged", name);
	ck_assert_msg(d.r.anomaly[450], "%s: huge value not flagged", name);
	/* infinities do not poison the following windows */
	ck_assert(isfinite(d.r.expected[400]) && count_flags(&d, 302, 449) == 0);
	detection_release(&d);

	for (size_t i = 0; i < 600; i++)
		v[i] = NAN;
	d = run(name, "{\"window\": 60}", v, 600);
	ck_assert_int_eq(count_flags(&d, 0, 600), 0);
	ck_assert_int_eq(d.r.warmup, 600);
	detection_release(&d);
}
END_TEST

/* Causal: scoring a prefix gives the same result as the full series, point for point. */
START_TEST(test_causal_prefixes)
{
	static const char *const names[] = { "zscore", "mad", "threshold" };
	static const char *const params[] = {
		"{\"window\": 30, \"min_history\": 10}", "{\"window\": 30}", "{\"upper\": 3, \"lower\": -3}",
	};
	const char *name = names[_i];
	double v[400];
	struct detection full;

	noise(v, 400, 0, 1);
	for (size_t i = 0; i < 400; i += 37)
		v[i] = NAN;
	v[200] = 9;
	full = run(name, params[_i], v, 400);
	for (size_t n = 1; n <= 400; n += 13) {
		struct detection pre = run(name, params[_i], v, n);

		for (size_t i = 0; i < n; i++) {
			ck_assert_msg(pre.r.score[i] == full.r.score[i], "%s: prefix %zu changes score[%zu]", name, n, i);
			ck_assert(pre.r.anomaly[i] == full.r.anomaly[i]);
			ck_assert((isnan(pre.r.expected[i]) && isnan(full.r.expected[i])) ||
			          pre.r.expected[i] == full.r.expected[i]);
		}
		detection_release(&pre);
	}
	detection_release(&full);
}
END_TEST

/* mad's incremental median and MAD equal a sort-from-scratch reference. */
START_TEST(test_mad_matches_reference)
{
	static const size_t windows[] = { 3, 4, 17, 64 };
	double v[3000], w[64], dev[64];

	for (size_t i = 0; i < 3000; i++)   /* ties on purpose: integer values */
		v[i] = i % 11 == 0 ? NAN : floor(gauss() * 4);
	for (size_t wi = 0; wi < sizeof(windows) / sizeof(windows[0]); wi++) {
		size_t win = windows[wi];
		char *params = xasprintf("{\"window\": %zu, \"threshold\": 3}", win);
		struct detection d = run("mad", params, v, 3000);

		for (size_t i = win; i < 3000; i++) {
			size_t n = 0;
			double m, mad, scale;

			for (size_t j = i - win; j < i; j++)
				if (isfinite(v[j]))
					w[n++] = v[j];
			if (n < (win / 4 > 3 ? win / 4 : 3)) {   /* too few finite points to score */
				ck_assert(isnan(d.r.expected[i]));
				continue;
			}
			m = median_of(w, n);
			for (size_t j = 0; j < n; j++)
				dev[j] = fabs(w[j] - m);
			mad = median_of(dev, n);
			if (mad > 0) {
				scale = 1.482602218505602 * mad;
			} else {
				double sum = 0;

				for (size_t j = 0; j < n; j++)
					sum += dev[j];
				scale = 1.2533141373155 * sum / (double)n;
			}
			ck_assert_msg(fabs(d.r.expected[i] - m) <= 1e-12 * fmax(1, fabs(m)), "window %zu, i %zu: median %g, reference %g", win, i,
			              d.r.expected[i], m);
			ck_assert_msg(fabs(d.r.upper[i] - (m + 3 * scale)) < 1e-9, "window %zu, i %zu: band %g vs %g",
			              win, i, d.r.upper[i], m + 3 * scale);
		}
		detection_release(&d);
		free(params);
	}
}
END_TEST

/* zscore's running sums equal a two-pass reference, even far from zero. */
START_TEST(test_zscore_matches_reference)
{
	double v[5000];

	for (size_t i = 0; i < 5000; i++)
		v[i] = 1e9 + gauss() * (i < 2500 ? 0.001 : 1000);
	struct detection d = run("zscore", "{\"window\": 50, \"threshold\": 3}", v, 5000);

	for (size_t i = 50; i < 5000; i++) {
		double mean = 0, var = 0;

		for (size_t j = i - 50; j < i; j++)
			mean += v[j];
		mean /= 50;
		for (size_t j = i - 50; j < i; j++)
			var += (v[j] - mean) * (v[j] - mean);
		var /= 49;
		ck_assert_msg(fabs(d.r.expected[i] - mean) <= 1e-6 * fmax(1, sqrt(var)), "i %zu: mean %.17g vs %.17g",
		              i, d.r.expected[i], mean);
		ck_assert_msg(fabs((d.r.upper[i] - d.r.expected[i]) / 3 - sqrt(var)) <= 1e-3 * sqrt(var) + 1e-9,
		              "i %zu: sd %.10g vs %.10g", i, (d.r.upper[i] - d.r.expected[i]) / 3, sqrt(var));
	}
	detection_release(&d);
}
END_TEST

START_TEST(test_threshold)
{
	double v[] = { 1, 5, 11, NAN, -3, 10 };
	struct detection d = run("threshold", "{\"lower\": 0, \"upper\": 10}", v, 6);

	ck_assert_int_eq(d.r.warmup, 0);
	ck_assert(!d.r.anomaly[0] && !d.r.anomaly[1] && d.r.anomaly[2] && !d.r.anomaly[3] && d.r.anomaly[4] &&
	          !d.r.anomaly[5]);
	ck_assert(d.r.upper[0] == 10 && d.r.lower[0] == 0);
	ck_assert_str_eq(detection_reason(&d, 2), "11 is above the upper bound 10");
	ck_assert_str_eq(detection_reason(&d, 4), "-3 is below the lower bound 0");
	detection_release(&d);

	d = run("threshold", "{\"upper\": 2}", v, 6);
	ck_assert(!d.r.anomaly[4] && d.r.anomaly[1]);
	ck_assert(isinf(d.r.lower[0]));
	detection_release(&d);
}
END_TEST

/* The interpolated normal CDF used for scores is erf() to 1e-12, and monotone. */
START_TEST(test_normal_table)
{
	struct normal_table *t = normal_table_new();
	double prev = -1, worst = 0;

	for (double x = 0; x < 12; x += 0.000731) {
		double got = normal_two_sided(t, x), want = erf(x * M_SQRT1_2);

		if (fabs(got - want) > worst)
			worst = fabs(got - want);
		ck_assert_msg(got >= prev, "not monotone at %g", x);
		prev = got;
	}
	ck_assert_msg(worst < 1e-12, "max error %g", worst);
	ck_assert(normal_two_sided(t, -2) == normal_two_sided(t, 2));
	ck_assert(normal_two_sided(t, INFINITY) == 1);
	ck_assert(score_from_z_fast(t, NAN, DIR_BOTH) == 0);
	ck_assert(score_from_z_fast(t, -3, DIR_UP) == 0);
	ck_assert(fabs(score_from_z_fast(t, 3, DIR_UP) - (1 - 0.5 * erfc(3 * M_SQRT1_2))) < 1e-12);
	free(t);
}
END_TEST

static Suite *detectors_suite(void)
{
	Suite *s = suite_create("detectors");
	TCase *tc = tcase_create("detectors");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_spike_and_dip, 0, 2);
	tcase_add_loop_test(tc, test_no_alarm_on_clean_noise, 0, 2);
	tcase_add_loop_test(tc, test_level_shift, 0, 2);
	tcase_add_loop_test(tc, test_constant_series, 0, 2);
	tcase_add_loop_test(tc, test_short_series_warms_up, 0, 2);
	tcase_add_loop_test(tc, test_nan_inf_huge, 0, 2);
	tcase_add_loop_test(tc, test_causal_prefixes, 0, 3);
	tcase_add_test(tc, test_mad_matches_reference);
	tcase_add_test(tc, test_zscore_matches_reference);
	tcase_add_test(tc, test_threshold);
	tcase_add_test(tc, test_normal_table);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	reg = test_registry();
	rc = run_suite(detectors_suite());
	registry_free(reg);
	return rc;
}

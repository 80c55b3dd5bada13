/*
 * check_detectors_seasonal.c - the seasonal and learning detectors (auto,
 * holt_winters, shesd, spectral_residual, matrix_profile, knn_cad,
 * ensemble) loaded through the plugin loader, and the libdetkit pieces they
 * share (period detection, tail calibration, STL, the left matrix profile):
 * synthetic series with known anomalies, clean series without, edge cases,
 * causality, and references computed the slow way.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "detect.h"
#include "series.h"
#define DETUTIL_T0_MS 1700000000000
#define DETUTIL_STEP_MS 300000   /* 5-minute points */
#define STEP_MS DETUTIL_STEP_MS
#include "detutil.h"
#include "../detectors/kit.h"
#include "../detectors/leftmp.h"
#include "../detectors/period.h"
#include "../detectors/stl.h"
#include "../detectors/tailprob.h"

static size_t first_flag(const struct detection *d, size_t from, size_t to)
{
	for (size_t i = from; i < to && i < d->r.n; i++)
		if (d->r.anomaly[i])
			return i;
	return SIZE_MAX;
}

/* 100 + amp sin(2 pi i / period) + noise N(0, sd). */
static void seasonal(double *v, size_t n, size_t period, double amp, double sd)
{
	for (size_t i = 0; i < n; i++)
		v[i] = 100 + amp * sin(2 * M_PI * (double)(i % period) / (double)period) + sd * gauss();
}

/* ---------------------------------------------------------------------- */
/* Period detection                                                        */
/* ---------------------------------------------------------------------- */

static size_t detect_period(const double *v, size_t n)
{
	struct period_info info;

	ck_assert_int_eq(period_detect(v, n, PERIOD_MIN, 0, KIT_PERIOD_MIN_ACF, &info), 0);
	return info.period;
}

/*
 * Found the period p?  Exactly for short periods; within one point for long
 * ones, where a dozen noisy cycles cannot tell p from p + 1 (the hills of
 * the autocorrelation are p / 2 wide).
 */
static int period_ok(size_t found, size_t p)
{
	return p < 100 ? found == p : found + 1 >= p && found <= p + 1;
}

START_TEST(test_period_known)
{
	static const size_t periods[] = { 7, 24, 48, 168, 288 };
	size_t p = periods[_i], n = 12 * p > 2000 ? 12 * p : 2000;
	double *v = xcalloc(n, sizeof(double));

	rng_seed(7 + _i);
	/* noise as large as the seasonal amplitude */
	seasonal(v, n, p, 1, 0.7);
	ck_assert_msg(period_ok(detect_period(v, n), p), "period %zu: found %zu", p, detect_period(v, n));

	/* with gaps: every 5th point and a long stretch missing */
	for (size_t i = 0; i < n; i += 5)
		v[i] = NAN;
	for (size_t i = n / 3; i < n / 3 + p; i++)
		v[i] = NAN;
	ck_assert_msg(period_ok(detect_period(v, n), p), "period %zu with gaps: found %zu", p, detect_period(v, n));

	/* with a strong trend and a huge spike */
	seasonal(v, n, p, 1, 0.5);
	for (size_t i = 0; i < n; i++)
		v[i] += 0.01 * (double)i;
	v[n / 2] = 1e6;
	ck_assert_msg(period_ok(detect_period(v, n), p), "period %zu with trend: found %zu", p, detect_period(v, n));

	/* a non-sinusoidal shape: a short daily peak */
	for (size_t i = 0; i < n; i++)
		v[i] = (i % p < p / 6 ? 10 : 0) + gauss();
	ck_assert_msg(period_ok(detect_period(v, n), p), "pulse period %zu: found %zu", p, detect_period(v, n));
	free(v);
}
END_TEST

START_TEST(test_period_none)
{
	double v[3000], walk = 0;

	rng_seed(11);
	for (size_t i = 0; i < 3000; i++)
		v[i] = gauss();
	ck_assert_int_eq(detect_period(v, 3000), 0);
	for (size_t i = 0; i < 3000; i++) {
		walk += gauss();
		v[i] = walk;   /* a random walk: no period */
	}
	ck_assert_int_eq(detect_period(v, 3000), 0);
	for (size_t i = 0; i < 3000; i++)
		v[i] = 5;
	ck_assert_int_eq(detect_period(v, 3000), 0);
	for (size_t i = 0; i < 3000; i++)
		v[i] = NAN;
	ck_assert_int_eq(detect_period(v, 3000), 0);
	ck_assert_int_eq(detect_period(v, 3), 0);
	/* too few cycles to tell */
	seasonal(v, 100, 48, 10, 0.1);
	ck_assert_int_eq(detect_period(v, 100), 0);
}
END_TEST

/* A daily and a weekly pattern: the daily one is reported, not its multiple. */
START_TEST(test_period_prefers_shortest)
{
	size_t n = 24 * 7 * 6;
	double *v = xcalloc(n, sizeof(double));

	rng_seed(5);
	for (size_t i = 0; i < n; i++)
		v[i] = 10 * sin(2 * M_PI * (double)(i % 24) / 24) + 0.3 * gauss();
	ck_assert_int_eq(detect_period(v, n), 24);
	free(v);
}
END_TEST

START_TEST(test_period_spec)
{
	struct period_spec ps;
	char msg[160];
	int64_t ts[400];
	double v[400];
	size_t p = 0;

	ck_assert_int_eq(period_spec_parse(&ps, "auto", 0, msg, sizeof(msg)), 0);
	ck_assert_int_eq(ps.kind, PERIOD_AUTO);
	ck_assert_int_eq(period_spec_parse(&ps, "none", 0, msg, sizeof(msg)), 0);
	ck_assert_int_eq(ps.kind, PERIOD_NONE);
	ck_assert_int_eq(period_spec_parse(&ps, NULL, 0, msg, sizeof(msg)), 0);
	ck_assert_int_eq(ps.kind, PERIOD_NONE);
	ck_assert_int_eq(period_spec_parse(&ps, NULL, 288, msg, sizeof(msg)), 0);
	ck_assert(ps.kind == PERIOD_FIXED && ps.points == 288);
	ck_assert_int_eq(period_spec_parse(&ps, "1d", 0, msg, sizeof(msg)), 0);
	ck_assert(ps.kind == PERIOD_DURATION && ps.ms == 86400000);
	ck_assert_int_eq(period_spec_parse(&ps, "1h30m", 0, msg, sizeof(msg)), 0);
	ck_assert(ps.kind == PERIOD_DURATION && ps.ms == 5400000);
	ck_assert_int_eq(period_spec_parse(&ps, NULL, 1, msg, sizeof(msg)), -1);
	ck_assert_int_eq(period_spec_parse(&ps, NULL, 2.5, msg, sizeof(msg)), -1);
	ck_assert_int_eq(period_spec_parse(&ps, "daily", 0, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "'daily'"));
	ck_assert_int_eq(period_spec_parse(&ps, "5x", 0, msg, sizeof(msg)), -1);

	/* a duration becomes points with the median sampling interval, jitter and gaps included */
	for (size_t i = 0; i < 400; i++) {
		ts[i] = (int64_t)i * 300000 + (i % 3 == 0 ? 1000 : 0) + (i > 200 ? 3600000 : 0);
		v[i] = 0;
	}
	period_spec_parse(&ps, "1d", 0, msg, sizeof(msg));
	ck_assert_int_eq(period_resolve(&ps, v, ts, 400, 0, &p), 0);
	ck_assert_int_eq(p, 288);
	ck_assert_int_eq(period_resolve(&ps, v, ts, 400, 100, &p), 0);
	ck_assert_int_eq(p, 0);   /* above the cap */
	ck_assert_int_eq(period_median_step(ts, 1), 0);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Tail calibration                                                        */
/* ---------------------------------------------------------------------- */

START_TEST(test_tailprob)
{
	struct tailprob t;
	double prev = 2;

	ck_assert_int_eq(tailprob_init(&t, 100, 0.1), 0);
	ck_assert(tailprob_p(&t, 5) == 1);   /* no history */
	for (int i = 1; i <= 10; i++)
		tailprob_push(&t, i);
	/* conformal p-values while short: (#past >= v + 1) / (n + 1) */
	ck_assert_double_eq_tol(tailprob_p(&t, 10), 2.0 / 11, 1e-15);
	ck_assert_double_eq_tol(tailprob_p(&t, 5.5), 6.0 / 11, 1e-15);
	ck_assert_double_eq_tol(tailprob_p(&t, 11), 1.0 / 11, 1e-15);
	ck_assert_double_eq_tol(tailprob_p(&t, 0), 1, 1e-15);
	tailprob_push(&t, NAN);      /* ignored */
	tailprob_push(&t, INFINITY);
	ck_assert_int_eq(t.n, 10);
	tailprob_release(&t);

	/* with a tail: continuous, decreasing, and invertible */
	ck_assert_int_eq(tailprob_init(&t, 1000, 0.1), 0);
	rng_seed(3);
	for (int i = 0; i < 3000; i++)   /* oldest values leave the window */
		tailprob_push(&t, fabs(gauss()) * (i < 2000 ? 100 : 1));
	ck_assert_int_eq(t.n, 1000);
	for (double v = 0; v < 30; v += 0.01) {
		double p = tailprob_p(&t, v);

		ck_assert_msg(p <= prev && p > 0, "p(%g) = %g after %g", v, p, prev);
		prev = p;
	}
	ck_assert(tailprob_p(&t, 1e9) == 0 || tailprob_p(&t, 1e9) < 1e-300);
	ck_assert(tailprob_p(&t, INFINITY) == 0);
	ck_assert(tailprob_p(&t, NAN) == 1);
	/* about 5% of |N(0,1)| exceeds 1.96 */
	ck_assert_double_eq_tol(tailprob_p(&t, 1.96), 0.05, 0.02);
	for (double p = 0.5; p > 1e-12; p /= 3) {
		double v = tailprob_inverse(&t, p);

		ck_assert_msg(tailprob_p(&t, v) <= p * (1 + 1e-9), "inverse(%g) = %g has p %g", p, v,
		              tailprob_p(&t, v));
	}
	tailprob_release(&t);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* STL                                                                     */
/* ---------------------------------------------------------------------- */

START_TEST(test_stl)
{
	size_t p = 24, n = 24 * 20;
	double *y = xcalloc(n, sizeof(double)), *s = xcalloc(n, sizeof(double)), *t = xcalloc(n, sizeof(double));
	double *rw = xcalloc(n, sizeof(double)), worst = 0;
	struct stl_params sp;

	rng_seed(9);
	for (size_t i = 0; i < n; i++)
		y[i] = 50 + 0.05 * (double)i + 8 * sin(2 * M_PI * (double)(i % p) / (double)p) + 0.2 * gauss();
	/* outliers that robust STL must ignore */
	for (size_t i = 30; i < n; i += 97)
		y[i] += 60;
	stl_params_periodic_robust(&sp, p);
	ck_assert_int_eq(stl_decompose(y, n, &sp, s, t, rw), 0);
	for (size_t i = 0; i < n; i++) {
		double want = 8 * sin(2 * M_PI * (double)(i % p) / (double)p);

		if (fabs(s[i] - want) > worst)
			worst = fabs(s[i] - want);
		/* the seasonal is exactly periodic */
		if (i >= p)
			ck_assert(s[i] == s[i - p]);
	}
	ck_assert_msg(worst < 0.4, "seasonal off by %g", worst);
	for (size_t i = 0; i < n; i++)
		if ((i + 67) % 97 == 0 && i >= 30)
			ck_assert_msg(rw[i] < 0.01, "outlier %zu keeps robustness weight %g", i, rw[i]);
	ck_assert(fabs(t[n / 2] - (50 + 0.05 * (double)(n / 2))) < 0.5);

	/* without robustness the outliers leak into the seasonal */
	sp.outer = 0;
	sp.inner = 2;
	ck_assert_int_eq(stl_decompose(y, n, &sp, s, t, NULL), 0);
	worst = 0;
	for (size_t i = 0; i < n; i++)
		worst = fmax(worst, fabs(s[i] - 8 * sin(2 * M_PI * (double)(i % p) / (double)p)));
	ck_assert_msg(worst > 1, "non-robust STL unaffected by outliers (%g)", worst);

	/* a non-periodic seasonal window and degree 1 run too */
	stl_params_periodic_robust(&sp, p);
	sp.s_window = 7;
	sp.s_degree = 1;
	ck_assert_int_eq(stl_decompose(y, n, &sp, s, t, NULL), 0);
	ck_assert(fabs(s[6] - 8) < 1.5);
	free(y);
	free(s);
	free(t);
	free(rw);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Left matrix profile against brute force                                 */
/* ---------------------------------------------------------------------- */

/* The subsequence of x ending at i, missing values filled with the last finite one; 0 if invalid. */
static int subseq(const double *x, size_t i, size_t m, double *out)
{
	size_t bad = 0;
	double last = NAN;

	if (!isfinite(x[i]))
		return 0;
	for (size_t t = 0; t + m <= i; t++)   /* the last finite value before the subsequence */
		if (isfinite(x[t]))
			last = x[t];
	for (size_t j = 0; j < m; j++) {
		double v = x[i + 1 - m + j];

		if (isfinite(v))
			last = v;
		else
			bad++;
		out[j] = last;
	}
	if (isnan(out[0]))   /* before the first finite value */
		for (size_t j = 0; j < m && isnan(out[j]); j++)
			out[j] = 0;
	return 4 * bad <= m;
}

static double brute_nn(const double *x, size_t i, size_t m, size_t excl, size_t hist, int znorm)
{
	double best = INFINITY, a[64], b[64], mu_a = 0, sd_a = 0;

	if (!subseq(x, i, m, a))
		return NAN;
	for (size_t j = 0; j < m; j++)
		mu_a += a[j] / (double)m;
	for (size_t j = 0; j < m; j++)
		sd_a += (a[j] - mu_a) * (a[j] - mu_a) / (double)m;
	sd_a = sqrt(sd_a);
	for (size_t L = excl; L <= hist && L + m <= i + 1; L++) {
		double d2 = 0, mu_b = 0, sd_b = 0;

		if (!subseq(x, i - L, m, b))
			continue;
		for (size_t j = 0; j < m; j++)
			mu_b += b[j] / (double)m;
		for (size_t j = 0; j < m; j++)
			sd_b += (b[j] - mu_b) * (b[j] - mu_b) / (double)m;
		sd_b = sqrt(sd_b);
		for (size_t j = 0; j < m; j++) {
			double u = znorm ? (a[j] - mu_a) / sd_a : a[j];
			double w = znorm ? (b[j] - mu_b) / sd_b : b[j];

			d2 += (u - w) * (u - w);
		}
		if (d2 < best)
			best = d2;
	}
	return isinf(best) ? NAN : sqrt(best);
}

/*
 * The eight-lane AVX-512 and four-lane AVX2 steady steps (when the CPU has
 * them) give the same bits as the portable one: three profiles over the
 * same series, one on the widest path the CPU has, one held to AVX2, one
 * forced onto the portable path.  Several history lengths, so the runs of
 * lags end at every offset of the 16- and 32-wide loops and the ring wraps.
 */
START_TEST(test_leftmp_avx2_same_bits)
{
	size_t n = 3000, hists[] = { 150, 157, 1000, 1013, 1021, 1031 };
	double *x = xcalloc(n, sizeof(double));

	rng_seed(33);
	for (size_t i = 0; i < n; i++)
		x[i] = 50 + 3 * sin((double)i / 13) + gauss() + (i % 500 == 7 ? 40 : 0);
	x[900] = NAN;
	for (size_t h = 0; h < sizeof(hists) / sizeof(*hists); h++) {
		struct leftmp fast, mid, plain;
		size_t compared = 0;

		ck_assert_int_eq(leftmp_init(&fast, 10, hists[h], 1, 0), 0);
		ck_assert_int_eq(leftmp_init(&mid, 10, hists[h], 1, 0), 0);
		ck_assert_int_eq(leftmp_init(&plain, 10, hists[h], 1, 0), 0);
		mid.avx512 = 0;
		plain.avx2 = plain.avx512 = 0;
		for (size_t i = 0; i < n; i++) {
			double a = leftmp_step(&fast, x, i), c = leftmp_step(&mid, x, i), b = leftmp_step(&plain, x, i);

			if (isnan(b)) {
				ck_assert_msg(isnan(a) && isnan(c), "hist %zu, i %zu: %.17g, %.17g, portable none", hists[h], i,
				              a, c);
				continue;
			}
			ck_assert_msg(memcmp(&a, &b, sizeof(a)) == 0, "hist %zu, i %zu: %.17g vs portable %.17g",
			              hists[h], i, a, b);
			ck_assert_msg(memcmp(&c, &b, sizeof(c)) == 0, "hist %zu, i %zu: AVX2 %.17g vs portable %.17g",
			              hists[h], i, c, b);
			compared++;
		}
		ck_assert_uint_gt(compared, n - hists[h] - 20);
		leftmp_release(&fast);
		leftmp_release(&mid);
		leftmp_release(&plain);
	}
	free(x);
}
END_TEST

START_TEST(test_leftmp_matches_brute_force)
{
	size_t n = 700, m = 12, excl = 3, hist = 150;
	double *x = xcalloc(n, sizeof(double));

	for (int znorm = 0; znorm <= 1; znorm++) {
		struct leftmp mp;

		rng_seed(21 + (uint64_t)znorm);
		for (size_t i = 0; i < n; i++)
			x[i] = 1e4 + 10 * sin((double)i / 9) + gauss();
		x[100] = NAN;   /* a quarter of a subsequence missing at most: still valid */
		x[104] = NAN;
		x[110] = NAN;
		x[200] = NAN;
		for (size_t i = 300; i < 305; i++)
			x[i] = NAN;   /* too many: invalid */
		x[400] = INFINITY;
		ck_assert_int_eq(leftmp_init(&mp, m, hist, excl, znorm), 0);
		for (size_t i = 0; i < n; i++) {
			double got = leftmp_step(&mp, x, i), want;

			ck_assert_int_eq(leftmp_exponent(&mp), 13);   /* the values are near 1e4 = 1.22 2^13 */
			got = ldexp(got, znorm ? 0 : 13);
			want = i + 1 >= m ? brute_nn(x, i, m, excl, hist, znorm) : NAN;

			if (isnan(want)) {
				ck_assert_msg(isnan(got), "znorm %d, i %zu: %g, want none", znorm, i, got);
				continue;
			}
			ck_assert_msg(fabs(got - want) <= 1e-6 * fmax(1, want), "znorm %d, i %zu: %.10g vs %.10g",
			              znorm, i, got, want);
		}
		leftmp_release(&mp);
	}
	free(x);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* The detectors on known anomalies                                        */
/* ---------------------------------------------------------------------- */

struct det_case {
	const char *name;
	const char *params;
};

/* Every detector, with the period given where it takes one and flags strict enough for clean data. */
static const struct det_case cases[] = {
	{ "auto", "{\"alpha\": 0.0001}" },
	{ "holt_winters", "{\"period\": 48, \"threshold\": 5}" },
	{ "shesd", "{\"period\": 48, \"window\": 480, \"alpha\": 0.01}" },
	{ "spectral_residual", "{\"window\": 59, \"alpha\": 0.0002}" },
	{ "matrix_profile", "{\"length\": 16, \"alpha\": 0.00001}" },
	{ "knn_cad", "{\"alpha\": 0.00001}" },
	{ "ensemble", "{\"detectors\": [{\"detector\": \"holt_winters\", \"params\": {\"period\": 48,"
	              " \"threshold\": 5}}, {\"detector\": \"shesd\", \"params\": {\"period\": 48,"
	              " \"window\": 480, \"alpha\": 0.01}}], \"combine\": \"max\"}" },
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

enum anomaly { SPIKE, DIP, SHIFT, VARIANCE, BREAK, N_ANOMALIES };
static const char *const anomaly_names[] = { "spike", "dip", "level shift", "variance change",
                                             "seasonal break" };

/* Which detector must find which anomaly (1), by case index. */
static const int must_find[N_CASES][N_ANOMALIES] = {
	/*                 spike dip shift var break */
	/* auto */         { 1, 1, 1, 1, 1 },
	/* holt_winters */ { 1, 1, 1, 1, 1 },
	/* shesd */        { 1, 1, 1, 1, 1 },
	/* spectral_res. */{ 1, 0, 1, 0, 0 },
	/* matrix_prof. */ { 1, 1, 1, 1, 1 },
	/* knn_cad */      { 1, 1, 1, 1, 1 },
	/* ensemble */     { 1, 1, 1, 1, 1 },
};

#define SYN_P 48
#define SYN_N (48 * 36)
#define SYN_AT 1500

/*
 * A clean seasonal series (period 48, amplitude 10, noise 1; with this seed
 * no noise value is beyond 3.5 sd) with one anomaly from SYN_AT.
 */
static void synthetic(double *v, enum anomaly a)
{
	rng_seed(1234);
	seasonal(v, SYN_N, SYN_P, 10, 1);
	for (size_t i = 0; i < SYN_N; i++)
		ck_assert(fabs(v[i] - (100 + 10 * sin(2 * M_PI * (double)(i % SYN_P) / SYN_P))) < 3.5);
	switch (a) {
	case SPIKE:
		v[SYN_AT] += 15;
		break;
	case DIP:
		v[SYN_AT] -= 15;
		break;
	case SHIFT:
		for (size_t i = SYN_AT; i < SYN_N; i++)
			v[i] += 12;
		break;
	case VARIANCE:
		for (size_t i = SYN_AT; i < SYN_N; i++)
			v[i] += 6 * gauss();
		break;
	case BREAK:
		/* one cycle flat at the mean: every value is in the normal range, the pattern is not */
		for (size_t i = SYN_AT; i < SYN_AT + SYN_P; i++)
			v[i] = 100 + 0.5 * gauss();
		break;
	default:
		break;
	}
}

START_TEST(test_clean_seasonal_no_alarm)
{
	const struct det_case *c = &cases[_i];
	double v[SYN_N];
	struct detection d;

	synthetic(v, N_ANOMALIES);   /* no anomaly */
	d = run(c->name, c->params, v, SYN_N);
	ck_assert_msg(count_flags(&d, 0, SYN_N) == 0, "%s: %zu false alarms on clean seasonal data (first at %zu)",
	              c->name, count_flags(&d, 0, SYN_N), first_flag(&d, 0, SYN_N));
	ck_assert_msg(d.r.warmup < SYN_AT, "%s: warm-up %zu", c->name, d.r.warmup);
	for (size_t i = 0; i < SYN_N; i++)
		ck_assert(d.r.score[i] >= 0 && d.r.score[i] <= 1);
	detection_release(&d);
}
END_TEST

START_TEST(test_known_anomalies)
{
	const struct det_case *c = &cases[_i];
	double v[SYN_N];

	for (int a = 0; a < N_ANOMALIES; a++) {
		struct detection d;
		size_t f;

		if (!must_find[_i][a])
			continue;
		synthetic(v, (enum anomaly)a);
		d = run(c->name, c->params, v, SYN_N);
		f = first_flag(&d, SYN_AT, SYN_AT + SYN_P);
		ck_assert_msg(f != SIZE_MAX, "%s missed the %s at %d", c->name, anomaly_names[a], SYN_AT);
		ck_assert_msg(count_flags(&d, 0, SYN_AT) == 0, "%s: %zu false alarms before the %s", c->name,
		              count_flags(&d, 0, SYN_AT), anomaly_names[a]);
		ck_assert_msg(d.r.score[f] >= 0.99, "%s: the %s flagged with score %g", c->name, anomaly_names[a],
		              d.r.score[f]);
		ck_assert_ptr_nonnull(detection_reason(&d, f));
		if (a == SPIKE || a == DIP) {
			/* a single point: found exactly there, and the alarm does not go on */
			ck_assert_msg(d.r.anomaly[SYN_AT], "%s: the %s flagged late, at %zu", c->name,
			              anomaly_names[a], f);
			ck_assert_msg(count_flags(&d, SYN_AT + SYN_P, SYN_N) == 0, "%s: alarms after the %s",
			              c->name, anomaly_names[a]);
		}
		detection_release(&d);
	}
}
END_TEST

/* Detectors with a model give an expected value and a band around the clean series. */
START_TEST(test_expected_and_band)
{
	static const int has_model[N_CASES] = { 1, 1, 1, 0, 0, 0, 1 };
	const struct det_case *c = &cases[_i];
	double v[SYN_N];
	struct detection d;
	size_t inside = 0, counted = 0;

	if (!has_model[_i])
		return;
	synthetic(v, N_ANOMALIES);
	d = run(c->name, c->params, v, SYN_N);
	for (size_t i = SYN_N / 2; i < SYN_N; i++) {
		double truth = 100 + 10 * sin(2 * M_PI * (double)(i % SYN_P) / SYN_P);

		ck_assert_msg(isfinite(d.r.expected[i]), "%s: no expected value at %zu", c->name, i);
		ck_assert_msg(fabs(d.r.expected[i] - truth) < 4, "%s: expected %g at %zu, truth %g", c->name,
		              d.r.expected[i], i, truth);
		ck_assert(d.r.lower[i] <= d.r.expected[i] && d.r.expected[i] <= d.r.upper[i]);
		inside += v[i] >= d.r.lower[i] && v[i] <= d.r.upper[i];
		counted++;
	}
	ck_assert_msg(inside == counted, "%s: %zu of %zu clean points outside the band", c->name, counted - inside,
	              counted);
	detection_release(&d);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Edge cases                                                              */
/* ---------------------------------------------------------------------- */

START_TEST(test_constant_series)
{
	const struct det_case *c = &cases[_i];
	double v[800];
	struct detection d;

	for (size_t i = 0; i < 800; i++)
		v[i] = 7;
	d = run(c->name, c->params, v, 800);
	ck_assert_msg(count_flags(&d, 0, 800) == 0, "%s flags a constant series", c->name);
	for (size_t i = 0; i < 800; i++)
		ck_assert_msg(d.r.score[i] == 0, "%s: score %g at %zu of a constant series", c->name, d.r.score[i], i);
	detection_release(&d);

	v[700] = 8;   /* any change from a constant is anomalous */
	d = run(c->name, c->params, v, 800);
	ck_assert_msg(d.r.anomaly[700] && d.r.score[700] >= 0.99, "%s: change from a constant not flagged (%g)",
	              c->name, d.r.score[700]);
	ck_assert_int_eq(count_flags(&d, 0, 700), 0);
	detection_release(&d);
}
END_TEST

START_TEST(test_too_short)
{
	const struct det_case *c = &cases[_i];
	double v[] = { 1, 1000, -1000, 5, 1e9, NAN, 3 };
	struct detection d = run(c->name, c->params, v, 7);

	ck_assert_msg(d.r.warmup == 7, "%s: warm-up %zu on 7 points", c->name, d.r.warmup);
	ck_assert_int_eq(count_flags(&d, 0, 7), 0);
	for (size_t i = 0; i < 7; i++)
		ck_assert(d.r.score[i] == 0);
	detection_release(&d);

	d = run(c->name, c->params, v, 1);
	ck_assert_int_eq(count_flags(&d, 0, 1), 0);
	detection_release(&d);
	d = run(c->name, c->params, v, 0);
	ck_assert_int_eq(d.r.n, 0);
	detection_release(&d);
}
END_TEST

START_TEST(test_nan_inf_huge)
{
	const struct det_case *c = &cases[_i];
	double v[SYN_N];
	struct detection d;

	synthetic(v, N_ANOMALIES);
	for (size_t i = 0; i < SYN_N; i++)
		v[i] = (v[i] - 100) * 1e298;   /* near the top of the double range */
	for (size_t i = 3; i < SYN_N; i += 7)
		v[i] = NAN;
	for (size_t i = 800; i < 850; i++)
		v[i] = NAN;   /* a long gap */
	v[1501] = INFINITY;
	v[1600] = -INFINITY;
	d = run(c->name, c->params, v, SYN_N);
	for (size_t i = 0; i < SYN_N; i++) {
		ck_assert_msg(d.r.score[i] >= 0 && d.r.score[i] <= 1, "%s: score[%zu] = %g", c->name, i,
		              d.r.score[i]);
		if (isnan(v[i]))
			ck_assert_msg(!d.r.anomaly[i] && d.r.score[i] == 0, "%s flags a missing point %zu", c->name, i);
	}
	ck_assert_msg(d.r.anomaly[1501] && d.r.anomaly[1600], "%s: infinite values not flagged", c->name);
	ck_assert_msg(count_flags(&d, 0, 1500) == 0, "%s: %zu false alarms on scaled data (first %zu)", c->name,
	              count_flags(&d, 0, 1500), first_flag(&d, 0, 1500));
	detection_release(&d);

	for (size_t i = 0; i < SYN_N; i++)
		v[i] = NAN;
	d = run(c->name, c->params, v, SYN_N);
	ck_assert_int_eq(count_flags(&d, 0, SYN_N), 0);
	for (size_t i = 0; i < SYN_N; i++)
		ck_assert(d.r.score[i] == 0);
	detection_release(&d);
}
END_TEST

/* Causal: scoring prefixes gives the same result as the full series, point for point. */
static int same(double a, double b)
{
	return (isnan(a) && isnan(b)) || a == b;
}

START_TEST(test_causal_prefixes)
{
	const struct det_case *c = &cases[_i];
	size_t n = 700;
	double v[700];
	struct detection full;

	rng_seed(77);
	seasonal(v, n, 24, 5, 1);
	for (size_t i = 0; i < n; i += 41)
		v[i] = NAN;
	v[500] += 30;
	v[600] = INFINITY;
	full = run(c->name, strcmp(c->name, "auto") ? c->params : "{\"min_history\": 60}", v, n);
	for (size_t len = 1; len <= n; len += len < 300 ? 37 : 53) {
		struct detection pre = run(c->name, strcmp(c->name, "auto") ? c->params : "{\"min_history\": 60}",
		                           v, len);

		for (size_t i = 0; i < len; i++) {
			ck_assert_msg(pre.r.score[i] == full.r.score[i], "%s: prefix %zu changes score[%zu] (%g vs %g)",
			              c->name, len, i, pre.r.score[i], full.r.score[i]);
			ck_assert_msg(pre.r.anomaly[i] == full.r.anomaly[i], "%s: prefix %zu changes flag %zu", c->name,
			              len, i);
			ck_assert_msg(same(pre.r.expected[i], full.r.expected[i]) && same(pre.r.lower[i], full.r.lower[i]) &&
			              same(pre.r.upper[i], full.r.upper[i]), "%s: prefix %zu changes the band at %zu",
			              c->name, len, i);
		}
		ck_assert_msg(pre.r.warmup == (full.r.warmup < len ? full.r.warmup : len), "%s: warm-up %zu vs %zu",
		              c->name, pre.r.warmup, full.r.warmup);
		detection_release(&pre);
	}
	detection_release(&full);
}
END_TEST

/* With period "auto" the seasonal detectors find the period themselves. */
START_TEST(test_auto_period)
{
	static const char *const names[] = { "holt_winters", "shesd" };
	static const char *const params[] = { "{\"threshold\": 5}", "{\"window\": 720, \"alpha\": 0.01}" };
	size_t n = 48 * 40, at = 48 * 35;
	double v[48 * 40];
	struct detection d;

	rng_seed(99);
	seasonal(v, n, 48, 10, 1);
	for (size_t i = at; i < at + 48; i++)
		v[i] = 100;   /* a flat cycle */
	d = run(names[_i], params[_i], v, n);
	ck_assert_msg(first_flag(&d, at, at + 48) != SIZE_MAX, "%s with period auto missed the flat cycle",
	              names[_i]);
	/* once the period is known (a few cycles in) the clean part raises nothing */
	ck_assert_msg(count_flags(&d, 48 * 12, at) == 0, "%s with period auto: %zu false alarms", names[_i],
	              count_flags(&d, 48 * 12, at));
	/* the expected value follows the season */
	ck_assert(fabs(d.r.expected[at - 36] - (100 + 10 * sin(2 * M_PI * 12 / 48.0))) < 3);
	detection_release(&d);
}
END_TEST

START_TEST(test_multiplicative)
{
	size_t n = 48 * 30;
	double v[48 * 30];
	struct detection d;

	rng_seed(31);
	/* a season whose amplitude grows with the level */
	for (size_t i = 0; i < n; i++) {
		double level = 50 + 0.05 * (double)i;

		v[i] = level * (1 + 0.3 * sin(2 * M_PI * (double)(i % 48) / 48)) * (1 + 0.01 * gauss());
	}
	v[1300] *= 1.3;
	d = run("holt_winters", "{\"period\": 48, \"seasonality\": \"multiplicative\", \"threshold\": 5}", v, n);
	ck_assert(d.r.anomaly[1300]);
	ck_assert_int_eq(count_flags(&d, 0, 1300), 0);
	ck_assert(fabs(d.r.expected[1299] - v[1299]) < 0.05 * v[1299]);
	detection_release(&d);

	/* a non-positive value in the start-up window falls back to additive and still runs */
	v[10] = -1;
	d = run("holt_winters", "{\"period\": 48, \"seasonality\": \"multiplicative\", \"threshold\": 5}", v, n);
	ck_assert(d.r.anomaly[1300]);
	detection_release(&d);
}
END_TEST

/* S-H-ESD flags at most max_anoms of its window. */
START_TEST(test_shesd_max_anoms)
{
	size_t n = 48 * 20;
	double v[48 * 20];
	struct detection d;

	rng_seed(41);
	seasonal(v, n, 48, 10, 1);
	for (size_t i = 600; i < n; i += 10)
		v[i] += 40;   /* 10% outliers */
	d = run("shesd", "{\"period\": 48, \"window\": 480, \"max_anoms\": 0.02}", v, n);
	for (size_t i = 480; i < n; i++)
		ck_assert_msg(count_flags(&d, i - 480, i) <= 9, "more than 2%% of the window flagged before %zu", i);
	ck_assert_msg(count_flags(&d, 600, n) >= 9, "only %zu flags", count_flags(&d, 600, n));
	detection_release(&d);
	d = run("shesd", "{\"period\": 48, \"window\": 480, \"max_anoms\": 0.2}", v, n);
	ck_assert_msg(count_flags(&d, 600, n) >= 30, "only %zu flags with max_anoms 0.2", count_flags(&d, 600, n));
	detection_release(&d);
	/* direction: only dips */
	seasonal(v, n, 48, 10, 1);
	v[700] += 30;
	v[800] -= 30;
	d = run("shesd", "{\"period\": 48, \"window\": 480, \"direction\": \"down\"}", v, n);
	ck_assert(!d.r.anomaly[700] && d.r.anomaly[800]);
	ck_assert(d.r.score[700] == 0);
	detection_release(&d);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* The ensemble                                                            */
/* ---------------------------------------------------------------------- */

START_TEST(test_ensemble_combines)
{
	static const char *const members =
		"[{\"detector\": \"mad\", \"params\": {\"window\": 50, \"threshold\": 4}},"
		" {\"detector\": \"zscore\", \"params\": {\"window\": 50, \"threshold\": 4}},"
		" {\"detector\": \"threshold\", \"params\": {\"upper\": 20}}]";
	double v[400];
	struct detection m[3], e;
	char *params;

	rng_seed(2);
	for (size_t i = 0; i < 400; i++)
		v[i] = 10 + gauss();
	v[200] = 30;   /* all three flag */
	v[300] = 18;   /* mad and zscore, not the threshold */
	m[0] = run("mad", "{\"window\": 50, \"threshold\": 4}", v, 400);
	m[1] = run("zscore", "{\"window\": 50, \"threshold\": 4}", v, 400);
	m[2] = run("threshold", "{\"upper\": 20}", v, 400);

	params = xasprintf("{\"detectors\": %s, \"combine\": \"max\"}", members);
	e = run("ensemble", params, v, 400);
	for (size_t i = 0; i < 400; i++) {
		double mx = fmax(m[0].r.score[i], fmax(m[1].r.score[i], m[2].r.score[i]));

		ck_assert(e.r.score[i] == mx);
		ck_assert_int_eq(e.r.anomaly[i], m[0].r.anomaly[i] || m[1].r.anomaly[i] || m[2].r.anomaly[i]);
	}
	ck_assert_int_eq(e.r.warmup, 0);   /* the threshold member needs no history */
	ck_assert_ptr_nonnull(strstr(detection_reason(&e, 200), "3 of 3 detectors"));
	detection_release(&e);
	free(params);

	params = xasprintf("{\"detectors\": %s, \"combine\": \"mean\"}", members);
	e = run("ensemble", params, v, 400);
	for (size_t i = 0; i < 400; i++)
		ck_assert_double_eq_tol(e.r.score[i], (m[0].r.score[i] + m[1].r.score[i] + m[2].r.score[i]) / 3, 1e-12);
	ck_assert(e.r.anomaly[200] && e.r.anomaly[300]);
	detection_release(&e);
	free(params);

	/* vote: two of three by default; the score is the second highest */
	params = xasprintf("{\"detectors\": %s, \"combine\": \"vote\"}", members);
	e = run("ensemble", params, v, 400);
	for (size_t i = 50; i < 400; i++) {
		double s[3] = { m[0].r.score[i], m[1].r.score[i], m[2].r.score[i] }, t;
		int votes = m[0].r.anomaly[i] + m[1].r.anomaly[i] + m[2].r.anomaly[i];

		if (s[0] < s[1]) { t = s[0]; s[0] = s[1]; s[1] = t; }
		if (s[1] < s[2]) { t = s[1]; s[1] = s[2]; s[2] = t; }
		if (s[0] < s[1]) { t = s[0]; s[0] = s[1]; s[1] = t; }
		ck_assert(e.r.score[i] == s[1]);
		ck_assert_int_eq(e.r.anomaly[i], votes >= 2);
	}
	ck_assert(e.r.anomaly[200] && e.r.anomaly[300]);
	detection_release(&e);
	free(params);

	/* unanimity, and a weight that makes one member decide */
	params = xasprintf("{\"detectors\": %s, \"combine\": \"vote\", \"min_votes\": 3}", members);
	e = run("ensemble", params, v, 400);
	ck_assert(e.r.anomaly[200] && !e.r.anomaly[300]);
	detection_release(&e);
	free(params);
	e = run("ensemble", "{\"detectors\": [{\"detector\": \"threshold\", \"params\": {\"upper\": 20},"
	                    " \"weight\": 2}, {\"detector\": \"mad\", \"params\": {\"window\": 50}}],"
	                    " \"combine\": \"vote\", \"min_votes\": 2}", v, 400);
	ck_assert(e.r.anomaly[200] && !e.r.anomaly[300]);
	detection_release(&e);
	/* a score threshold instead of the members' flags */
	params = xasprintf("{\"detectors\": %s, \"combine\": \"max\", \"threshold\": 0.999999}", members);
	e = run("ensemble", params, v, 400);
	for (size_t i = 0; i < 400; i++)
		ck_assert_int_eq(e.r.anomaly[i], e.r.score[i] >= 0.999999);
	detection_release(&e);
	free(params);
	for (int k = 0; k < 3; k++)
		detection_release(&m[k]);
}
END_TEST

/* Member problems are reported at their JSON path, with suggestions. */
START_TEST(test_ensemble_validation)
{
	static const struct {
		const char *params;
		const char *want;
	} bad[] = {
		{ "{\"detectors\": [{\"detector\": \"mad\", \"params\": {\"windw\": 50}}]}",
		  "$.params.detectors[0].params.windw: unknown param (did you mean 'window'?)" },
		{ "{\"detectors\": [{\"detector\": \"mad\"}, {\"detector\": \"madd\"}]}",
		  "$.params.detectors[1].detector: unknown detector 'madd' (did you mean 'mad'?)" },
		{ "{\"detectors\": [{\"detector\": \"mad\", \"wieght\": 2}]}",
		  "$.params.detectors[0].wieght: unknown member" },
		{ "{\"detectors\": [{\"params\": {}}]}", "$.params.detectors[0].detector: must be the name of a detector" },
		{ "{\"detectors\": []}", "$.params.detectors: needs at least one detector entry" },
		{ "{\"detectors\": [{\"detector\": \"mad\", \"weight\": -1}]}", "\"weight\" must be a number > 0" },
		{ "{\"detectors\": [{\"detector\": \"mad\"}], \"min_votes\": 2}",
		  "$.params.min_votes: exceeds the members' total weight" },
		{ "{\"detectors\": [{\"detector\": \"ensemble\", \"params\": {\"detectors\": [{\"detector\": \"mad\","
		  " \"params\": {\"window\": 1}}]}}]}",
		  "$.params.detectors[0].params.detectors[0].params.window: must be >= 3" },
		{ "{\"detectors\": [{\"detector\": \"holt_winters\", \"params\": {\"period\": \"weekly\"}}]}",
		  "$.params.detectors[0].params.period: 'weekly' is not" },
	};
	const struct detector_entry *e = registry_find(reg, "ensemble");

	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		json_error_t jerr;
		json_t *p = json_loads(bad[k].params, 0, &jerr);
		struct diag d;
		int found = 0;

		ck_assert_msg(p != NULL, "test %zu: %s", k, jerr.text);
		diag_init(&d, "spec.json");
		ck_assert_int_ne(detector_check_params(e, p, &d, "$.params"), 0);
		for (size_t i = 0; i < d.n; i++)
			found |= strstr(d.msgs[i], bad[k].want) != NULL;
		ck_assert_msg(found, "case %zu: '%s' not in '%s'", k, bad[k].want, d.n ? d.msgs[0] : "(nothing)");
		diag_release(&d);
		json_decref(p);
	}
	/* and a valid one passes */
	{
		json_t *p = json_loads("{\"detectors\": [{\"detector\": \"mad\", \"weight\": 2},"
		                       " {\"detector\": \"auto\"}], \"combine\": \"vote\", \"min_votes\": 2}", 0, NULL);
		struct diag d;

		diag_init(&d, "spec.json");
		ck_assert_int_eq(detector_check_params(e, p, &d, "$.params"), 0);
		diag_release(&d);
		json_decref(p);
	}
}
END_TEST

/* A detector that fails on a series makes the ensemble fail on it, with the reason. */
START_TEST(test_ensemble_member_failure)
{
	struct registry *r2 = registry_new();
	const char *dirs[] = { getenv("VIGIL_TEST_PLUGINS") };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const struct detector_entry *e;
	struct detector_instance *inst;
	json_t *p;
	struct series *s;
	struct detection det;
	double v[10] = { 0 };

	ck_assert_ptr_nonnull(dirs[0]);
	registry_add_default(r2, dirs, 1);
	e = registry_find(r2, "ensemble");
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(registry_find(r2, "test-fail"));
	p = json_loads("{\"detectors\": [{\"detector\": \"mad\"}, {\"detector\": \"test-fail\"}]}", 0, NULL);
	inst = detector_instance_new(e, p, &err);
	ck_assert_msg(inst != NULL, "%s", err.msg);
	s = make_series(v, 10);
	ck_assert_int_eq(detection_run(inst, s, &det, &err), -1);
	ck_assert_msg(strstr(err.msg, "refusing series 'synthetic' on purpose") != NULL, "%s", err.msg);
	detection_release(&det);
	series_free(s);
	detector_instance_free(inst);
	json_decref(p);

	/* a batch (non-causal) member is refused: an ensemble is causal */
	p = json_loads("{\"detectors\": [{\"detector\": \"test-noncausal\"}]}", 0, NULL);
	err = (struct vigil_error)VIGIL_ERROR_INIT;
	ck_assert_ptr_null(detector_instance_new(e, p, &err));
	json_decref(p);
	registry_free(r2);
}
END_TEST

/* ---------------------------------------------------------------------- */

static Suite *seasonal_suite(void)
{
	Suite *s = suite_create("detectors_seasonal");
	TCase *kit = tcase_create("kit"), *dets = tcase_create("detectors"), *ens = tcase_create("ensemble");

	tcase_set_timeout(kit, 120);
	tcase_set_timeout(dets, 300);
	tcase_set_timeout(ens, 120);
	tcase_add_loop_test(kit, test_period_known, 0, 5);
	tcase_add_test(kit, test_period_none);
	tcase_add_test(kit, test_period_prefers_shortest);
	tcase_add_test(kit, test_period_spec);
	tcase_add_test(kit, test_tailprob);
	tcase_add_test(kit, test_stl);
	tcase_add_test(kit, test_leftmp_matches_brute_force);
	tcase_add_test(kit, test_leftmp_avx2_same_bits);
	tcase_add_loop_test(dets, test_clean_seasonal_no_alarm, 0, N_CASES);
	tcase_add_loop_test(dets, test_known_anomalies, 0, N_CASES);
	tcase_add_loop_test(dets, test_expected_and_band, 0, N_CASES);
	tcase_add_loop_test(dets, test_constant_series, 0, N_CASES);
	tcase_add_loop_test(dets, test_too_short, 0, N_CASES);
	tcase_add_loop_test(dets, test_nan_inf_huge, 0, N_CASES);
	tcase_add_loop_test(dets, test_causal_prefixes, 0, N_CASES);
	tcase_add_loop_test(dets, test_auto_period, 0, 2);
	tcase_add_test(dets, test_multiplicative);
	tcase_add_test(dets, test_shesd_max_anoms);
	tcase_add_test(ens, test_ensemble_combines);
	tcase_add_test(ens, test_ensemble_validation);
	tcase_add_test(ens, test_ensemble_member_failure);
	suite_add_tcase(s, kit);
	suite_add_tcase(s, dets);
	suite_add_tcase(s, ens);
	return s;
}

int main(void)
{
	int rc;

	reg = test_registry();
	rc = run_suite(seasonal_suite());
	registry_free(reg);
	return rc;
}

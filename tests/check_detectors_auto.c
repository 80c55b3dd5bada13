/*
 * check_detectors_auto.c - the default detector `auto` on minute-step data:
 * calendar periods (a daily cycle of 1440 points, not 1437), level shifts up
 * and down and dips found within minutes, periods reported as durations, a
 * rarity that ranks alerts, false alarms that fall as a series is learned,
 * and the one duration grammar of the `period` param; earlier cycles found
 * by time when rows are missing; shifts at any hour of a peaky day; a drop at a
 * quiet hour of counts whose noise grows with the level; the calibration's
 * incremental bookkeeping against a computation from scratch.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "detect.h"
#include "series.h"
#define DETUTIL_T0_MS 1700006400000   /* a midnight, UTC */
#define DETUTIL_STEP_MS 60000         /* minute points */
#include "detutil.h"
#include "../detectors/period.h"
#include "../detectors/tailprob.h"

#define DAY 1440

static size_t first_flag(const struct detection *d, size_t from, size_t to)
{
	for (size_t i = from; i < to && i < d->r.n; i++)
		if (d->r.anomaly[i])
			return i;
	return SIZE_MAX;
}

static const char *reason_at(const struct detection *d, size_t i)
{
	const char *text = NULL;

	for (size_t k = 0; k < d->n_reasons; k++)
		if (d->reasons[k].i == i)
			text = d->reasons[k].text;
	return text;
}

/* A daily cycle of minute points: 100 + 20 sin(2 pi t / 1 d) + N(0, 1). */
static void daily(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		v[i] = 100 + 20 * sin(2 * M_PI * (double)(i % DAY) / DAY) + gauss();
}

START_TEST(test_calendar_snap)
{
	size_t p;

	p = 1437;
	ck_assert_int_eq(period_snap_calendar(&p, 60000), PERIOD_DAY_MS);
	ck_assert_uint_eq(p, 1440);
	p = 290;
	ck_assert_int_eq(period_snap_calendar(&p, 300000), PERIOD_DAY_MS);
	ck_assert_uint_eq(p, 288);
	p = 2011;
	ck_assert_int_eq(period_snap_calendar(&p, 300000), PERIOD_WEEK_MS);
	ck_assert_uint_eq(p, 2016);
	p = 61;
	ck_assert_int_eq(period_snap_calendar(&p, 60000), PERIOD_HOUR_MS);
	ck_assert_uint_eq(p, 60);
	/* not near a calendar period, or a step that divides none: unchanged */
	p = 1300;
	ck_assert_int_eq(period_snap_calendar(&p, 60000), 0);
	ck_assert_uint_eq(p, 1300);
	p = 206;
	ck_assert_int_eq(period_snap_calendar(&p, 7 * 60000), 0);
	ck_assert_uint_eq(p, 206);
	p = 0;
	ck_assert_int_eq(period_snap_calendar(&p, 60000), 0);
	ck_assert_uint_eq(p, 0);
}
END_TEST

START_TEST(test_period_duration_grammar)
{
	struct period_spec ps;
	char msg[160];

	ck_assert_int_eq(period_spec_parse(&ps, "36h", 0, msg, sizeof(msg)), 0);
	ck_assert(ps.kind == PERIOD_DURATION && ps.ms == 36 * PERIOD_HOUR_MS);
	ck_assert_int_eq(period_spec_parse(&ps, "1w", 0, msg, sizeof(msg)), 0);
	ck_assert(ps.ms == PERIOD_WEEK_MS);
	/* the runner's grammar: whole numbers of units, as for every other duration */
	ck_assert_int_eq(period_spec_parse(&ps, "1.5d", 0, msg, sizeof(msg)), -1);
	ck_assert_ptr_nonnull(strstr(msg, "'1.5d'"));
	ck_assert_ptr_nonnull(strstr(msg, "whole numbers"));
	ck_assert_int_eq(period_spec_parse(&ps, "d", 0, msg, sizeof(msg)), -1);
	ck_assert_int_eq(period_spec_parse(&ps, "0h", 0, msg, sizeof(msg)), -1);
}
END_TEST

/* The period auto finds on minute-step daily data is the calendar day, reported as "1d". */
START_TEST(test_daily_period_is_a_day)
{
	size_t n = 6 * DAY;
	double *v = malloc(n * sizeof(*v));
	struct period_spec ps;
	int64_t *ts = malloc(n * sizeof(*ts));
	char msg[160];
	size_t p = 0;

	rng_seed(5);
	daily(v, n);
	for (size_t i = 0; i < n; i++)
		ts[i] = DETUTIL_T0_MS + (int64_t)i * DETUTIL_STEP_MS;
	period_spec_parse(&ps, "auto", 0, msg, sizeof(msg));
	ck_assert_int_eq(period_resolve(&ps, v, ts, n, 0, &p), 0);
	ck_assert_uint_eq(p, DAY);
	free(v);
	free(ts);
}
END_TEST

/*
 * A +5 sigma shift, a -5 sigma shift and a 30-minute -6 sigma dip on day 5,
 * 5 h in; and the +5 sigma shift again with a fifth of the points missing.
 */
enum planted { SHIFT_UP, SHIFT_DOWN, DIP, SHIFT_UP_GAPS, N_PLANTED };

START_TEST(test_shift_and_dip_minutes)
{
	static const char *const what[] = { "+5 sigma shift", "-5 sigma shift", "dip", "+5 sigma shift, gaps" };
	size_t n = 6 * DAY, at = 5 * DAY + 300, hit;
	double *v = malloc(n * sizeof(*v));
	struct detection d;
	const char *why;

	rng_seed(11 + (uint64_t)_i);
	daily(v, n);
	for (size_t i = at; i < n; i++) {
		if (_i == SHIFT_UP || _i == SHIFT_UP_GAPS)
			v[i] += 5;
		else if (_i == SHIFT_DOWN)
			v[i] -= 5;
		else if (i < at + 30)
			v[i] -= 6;
	}
	if (_i == SHIFT_UP_GAPS)
		for (size_t i = 0; i < n; i++)
			if (urand() < 0.2)
				v[i] = NAN;
	d = run("auto", NULL, v, n);
	hit = first_flag(&d, at, at + 16);
	ck_assert_msg(hit != SIZE_MAX, "%s at %zu not flagged within 15 min", what[_i], at);
	why = reason_at(&d, hit);
	ck_assert_ptr_nonnull(why);
	/* the event's reasons: each point flagged in its first hour says why; a period is said as "1d" */
	{
		int daily = 0;

		for (size_t i = at; i < at + 60; i++) {
			const char *r = d.r.anomaly[i] ? reason_at(&d, i) : NULL;

			if (!r)
				continue;
			daily |= strstr(r, "(period 1d)") != NULL;
			ck_assert_msg(!strstr(r, "(period ") || strstr(r, "(period 1d)") || strstr(r, "(period 1w)"),
			              "%s: reason '%s'", what[_i], r);
		}
		ck_assert_msg(daily, "%s: no reason of the first hour compares with the same time of the last days "
		              "(first: '%s')", what[_i], why);
	}
	/* the clean days before (once the day is known) raise at most one alarm */
	ck_assert_msg(count_flags(&d, 3 * DAY, at) <= 1, "%s: %zu false alarms", what[_i],
	              count_flags(&d, 3 * DAY, at));
	detection_release(&d);
	free(v);
}
END_TEST

/*
 * Rows missing (an exporter down for an hour, a scrape gap): the same time
 * yesterday is found by time, not by position, so neither the points after
 * a gap nor a +5 sigma shift a day later are compared with the wrong minute.
 * Here a daily cycle as wide as 50 sigma, three gaps of 61, 37 and 23
 * minutes on days 3 and 4, and the shift on day 5, 5 h in.
 */
START_TEST(test_shift_after_missing_rows)
{
	static const size_t gap_at[] = { 3 * DAY + 500, 4 * DAY + 100, 4 * DAY + 900 };
	static const size_t gap_len[] = { 61, 37, 23 };
	size_t n = 0, cap = 6 * DAY, at = SIZE_MAX, hit;
	double *v = malloc(cap * sizeof(*v));
	int64_t *ts = malloc(cap * sizeof(*ts));
	int64_t onset = DETUTIL_T0_MS + (5 * DAY + 300) * (int64_t)DETUTIL_STEP_MS;
	struct detection d;
	const char *why;

	rng_seed(23);
	for (size_t t = 0; t < cap; t++) {
		int skip = 0;

		for (size_t g = 0; g < 3; g++)
			skip |= t >= gap_at[g] && t < gap_at[g] + gap_len[g];
		if (skip)
			continue;
		ts[n] = DETUTIL_T0_MS + (int64_t)t * DETUTIL_STEP_MS;
		v[n] = 100 + 50 * sin(2 * M_PI * (double)(t % DAY) / DAY) + gauss() + (ts[n] >= onset ? 5 : 0);
		if (ts[n] == onset)
			at = n;
		n++;
	}
	ck_assert_uint_eq(n, cap - 121);
	d = run_ts("auto", NULL, ts, v, n);
	hit = first_flag(&d, at, at + 16);
	ck_assert_msg(hit != SIZE_MAX, "the +5 sigma shift at %zu is not flagged within 15 min", at);
	why = reason_at(&d, hit);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, "(period 1d)") != NULL, "reason '%s'", why);
	/* the day after each gap is compared with the right minutes: no alarm there */
	ck_assert_msg(count_flags(&d, 3 * DAY, at) <= 1, "%zu false alarms after the gaps", count_flags(&d, 3 * DAY, at));
	detection_release(&d);
	free(v);
	free(ts);
}
END_TEST

/*
 * A daily cycle with a tall afternoon peak, so the level view's spread over
 * its 1.4-day window swings several-fold through the day: a +5 sigma shift is
 * found within 15 min whatever the hour it starts (02:00, 08:00, 14:00 or
 * 20:00 on day 5), because the seasonal views divide by the level scale
 * averaged over two periods, not by its value of the moment.
 */
START_TEST(test_shift_any_hour)
{
	static const size_t hour[] = { 2, 8, 14, 20 };
	size_t n = 6 * DAY + 600, at = 5 * DAY + 60 * hour[_i], hit;
	double *v = malloc(n * sizeof(*v));
	struct detection d;

	rng_seed(31 + (uint64_t)_i);
	for (size_t i = 0; i < n; i++) {
		double h = (double)(i % DAY) / 60 - 14;

		v[i] = 100 + 150 * exp(-h * h / 8) + 4 * gauss() + (i >= at ? 20 : 0);
	}
	d = run("auto", NULL, v, n);
	hit = first_flag(&d, at, at + 16);
	ck_assert_msg(hit != SIZE_MAX, "the +5 sigma shift at %zu:00 is not flagged within 15 min", hour[_i]);
	ck_assert_msg(count_flags(&d, 3 * DAY, at) <= 1, "%zu false alarms before the shift", count_flags(&d, 3 * DAY, at));
	detection_release(&d);
	free(v);
}
END_TEST

/*
 * Counts whose noise grows with the level (10 % of it): 200 a minute at night,
 * 1 000 at the afternoon peak, a two-week history with weekends at 60 %.  A
 * drop of 90 % for two hours at 05:00 on a weekday, when the level is low, is
 * found (the weekly and shift views measure log ratios): against the noise
 * of the busy hours the 180 requests lost are not much.
 */
START_TEST(test_drop_at_quiet_hour)
{
	size_t n = 15 * DAY, at = 14 * DAY + 300, hit;
	double *v = malloc(n * sizeof(*v));
	struct detection d;

	rng_seed(41);
	for (size_t i = 0; i < n; i++) {
		double h = (double)(i % DAY) / 60 - 15, day = (double)(i / DAY % 7);
		double level = (200 + 800 * exp(-h * h / 18)) * (day >= 5 ? 0.6 : 1);

		v[i] = round(level * (1 + 0.1 * gauss()) * (i >= at && i < at + 120 ? 0.1 : 1));
	}
	d = run("auto", NULL, v, n);
	hit = first_flag(&d, at, at + 16);
	ck_assert_msg(hit != SIZE_MAX, "the 90 %% drop at 05:00 is not flagged within 15 min");
	ck_assert_msg(count_flags(&d, 7 * DAY, at) <= 2, "%zu false alarms in the week before", count_flags(&d, 7 * DAY, at));
	detection_release(&d);
	free(v);
}
END_TEST

/* A 5 sigma and a 50 sigma spike read differently: rarity does not saturate. */
START_TEST(test_rarity_ranks)
{
	size_t n = 3000, a = 1500, b = 2500;
	double v[3000];
	struct detection d;

	rng_seed(3);
	noise(v, n, 50, 1);
	v[a] = 50 + 5.5;
	v[b] = 50 + 50;
	d = run("auto", NULL, v, n);
	ck_assert(isfinite(d.r.rarity[a]) && isfinite(d.r.rarity[b]));
	ck_assert_msg(d.r.rarity[b] > d.r.rarity[a] + 2, "rarity %g (50 sigma) vs %g (5.5 sigma)", d.r.rarity[b],
	              d.r.rarity[a]);
	ck_assert_msg(d.r.rarity[a] > 3, "5.5 sigma: rarity %g", d.r.rarity[a]);
	/* an ordinary point is not rare, and rarity agrees with the score where it is below 1 */
	ck_assert(d.r.rarity[a - 10] < 3);
	ck_assert(fabs(pow(10, -d.r.rarity[a]) - (1 - d.r.score[a])) < 1e-9);
	ck_assert(d.r.anomaly[b]);
	detection_release(&d);
}
END_TEST

/* On noise, the points scoring above 0.99 get rarer as the series is learned. */
START_TEST(test_false_alarms_fall)
{
	size_t n = 40000, early = 0, late = 0;
	double *v = malloc(n * sizeof(*v));
	struct detection d;

	rng_seed(21);
	noise(v, n, 10, 1);
	d = run("auto", NULL, v, n);
	for (size_t i = 2000; i < 12000; i++)
		early += d.r.score[i] >= 0.99;
	for (size_t i = 30000; i < 40000; i++)
		late += d.r.score[i] >= 0.99;
	ck_assert_msg(early >= 4 && 4 * late <= early, "scores >= 0.99: %zu early, %zu late", early, late);
	detection_release(&d);
	free(v);
}
END_TEST

/*
 * Long hostile series, long enough that every view's history fills and
 * keeps only its top sorted (tailprob_sort_top()): a constant, zeros with
 * rare spikes (ties at the bottom of every history), a slow ramp up and
 * down, integers (ties everywhere), magnitudes near the
 * ends of the double range, each watched in both directions and upward only
 * (fewer views).  Scores stay in [0, 1] and flags only where a score is; the
 * constant is never flagged; and a +20 sigma spike late in the ramp and in
 * the integers is still found.
 */
START_TEST(test_hostile_long_series)
{
	size_t n = 14000, spike = 12500;
	double *v = malloc(n * sizeof(*v));
	const char *params[] = { NULL, "{\"direction\": \"up\"}" };

	for (int kind = 0; kind < 6; kind++) {
		rng_seed(40 + (uint64_t)kind);
		for (size_t i = 0; i < n; i++) {
			double g = gauss();

			v[i] = kind == 0 ? 7 : kind == 1 ? (i % 500 == 3 ? 100 : 0) :
			       kind == 2 ? (double)(i < n / 2 ? i : n - i) / 1000 + g :
			       kind == 3 ? round(2 * g) : kind == 4 ? 1e300 * (1 + 1e-3 * g) : 1e-300 * (1 + 1e-3 * g);
		}
		if (kind == 2 || kind == 3)
			v[spike] += 20;
		for (int p = 0; p < 2; p++) {
			struct detection d = run("auto", params[p], v, n);
			size_t flags = 0;

			for (size_t i = 0; i < n; i++) {
				ck_assert_msg(d.r.score[i] >= 0 && d.r.score[i] <= 1, "kind %d, %s: score %g at %zu", kind,
				              params[p] ? params[p] : "{}", d.r.score[i], i);
				ck_assert_msg(!d.r.anomaly[i] || d.r.score[i] > 0, "kind %d: a flag scoring 0 at %zu", kind, i);
				flags += d.r.anomaly[i];
			}
			if (kind == 0)
				ck_assert_msg(flags == 0, "a constant series: %zu flags", flags);
			if (kind == 2 || kind == 3)
				ck_assert_msg(d.r.anomaly[spike], "kind %d, %s: the +20 spike at %zu is not flagged (score %g)",
				              kind, params[p] ? params[p] : "{}", spike, d.r.score[spike]);
			detection_release(&d);
		}
	}
	free(v);
}
END_TEST

/*
 * The calibration from scratch: the last `cap` values sorted, the tail
 * threshold u refit at the same pushes as tailprob.c (every `refit`, and
 * at each of the first 80), with the count and excess
 * above it recomputed at every query.
 */
struct ref_tail {
	double *hist, *sorted, u, flat;
	size_t cap, n, head, since, refit;
	int precedent;   /* beyond u, p is at least the share of the history >= v */
};

static void ref_sort(struct ref_tail *r)
{
	memcpy(r->sorted, r->hist, r->n * sizeof(double));
	qsort(r->sorted, r->n, sizeof(double), cmp_double);
}

static void ref_push(struct ref_tail *r, double v)
{
	if (r->n == r->cap) {
		r->hist[r->head] = v;
		r->head = (r->head + 1) % r->cap;
	} else {
		r->hist[r->n++] = v;
	}
	if (++r->since >= r->refit || r->n <= 80) {
		size_t ku = (size_t)(0.9 * (double)r->n);
		double sum = 0;

		r->since = 0;
		ref_sort(r);
		r->u = r->n < 20 ? INFINITY : r->sorted[ku < r->n ? ku : r->n - 1];
		for (size_t j = 0; j < r->n; j++)
			sum += r->sorted[j] - r->sorted[0];
		r->flat = sum / (double)r->n;
	}
}

/* p of v under the reference, and whether it came from the exponential tail. */
static double ref_p(struct ref_tail *r, double v, int *tail)
{
	size_t ge = 0, above = 0;
	double excess = 0, me;

	ref_sort(r);
	for (size_t j = 0; j < r->n; j++) {
		ge += r->sorted[j] >= v;
		if (r->sorted[j] > r->u) {
			above++;
			excess += r->sorted[j] - r->u;
		}
	}
	*tail = v > r->u;
	if (!*tail)
		return ((double)ge + 1) / ((double)r->n + 1);
	me = above && excess > 0 ? excess / (double)above : r->flat;
	{
		double p = isinf(v) || !(me > 0) ? 0 : ((double)above + 1) / ((double)r->n + 1) * exp(-(v - r->u) / me);

		return r->precedent ? fmax(p, (double)ge / ((double)r->n + 1)) : p;
	}
}

/* tailprob_inverse() from scratch; *tail says whether the exponential tail gave it. */
static double ref_inverse(struct ref_tail *r, double p, int *tail)
{
	size_t n = r->n, above = 0;
	double excess = 0, me, p_u, ge = floor(p * ((double)n + 1) - 1);

	ref_sort(r);
	for (size_t j = 0; j < n; j++)
		if (r->sorted[j] > r->u) {
			above++;
			excess += r->sorted[j] - r->u;
		}
	p_u = ((double)above + 1) / ((double)n + 1);
	me = above && excess > 0 ? excess / (double)above : r->flat;
	*tail = !(isinf(r->u) || p >= p_u);
	if (!*tail) {
		if (ge < 0)
			return INFINITY;
		if (ge >= (double)n)
			return r->sorted[0];
		if (ge < 1)
			return nextafter(r->sorted[n - 1], INFINITY);
		return r->sorted[n - (size_t)ge];
	}
	{
		double q = me > 0 ? r->u + me * log(p_u / p) : nextafter(r->u, INFINITY), reach = floor(p * ((double)n + 1));

		if (r->precedent) {
			double c = reach < 1 ? nextafter(r->sorted[n - 1], INFINITY) : reach >= (double)n ? -INFINITY :
			           r->sorted[n - (size_t)reach];
			size_t at_or_above = 0;

			for (size_t j = 0; j < n; j++)
				at_or_above += r->sorted[j] >= c;
			if (reach >= 1 && reach < (double)n && (double)at_or_above > reach)
				c = nextafter(c, INFINITY);
			q = fmax(q, c);
		}
		return q;
	}
}

/*
 * tailprob's blocked history (block tops and sizes cached beside the block
 * order, counts summed from them, the tail refit from the blocks) gives the
 * p-values of the computation from scratch, over thousands of block splits
 * and merges: the conformal p-values and their inverse exactly, the tail
 * within rounding; and tailprob_p_push(), which inserts the new value where
 * its p-value search found it, keeps the same history.  Run three times:
 * with the counts in AVX2 when the CPU has it (_i 0), on the portable path
 * (_i 1), with the tail refit every 64 pushes (_i 2), and with the floor
 * of `precedent` as auto sets it (_i 3: beyond u, p is at least the share of
 * the history at or above v); the prefetch hints are called at every step
 * and change nothing.  _i 4 and 5 keep only the top 30 % of the history
 * sorted (tailprob_sort_top(); 5 also with the floor and with 7 refits
 * of every 8 moving the threshold incrementally, as auto does): every p
 * that the blocks give (the history's values at or above v are fewer than
 * lower_at) and the tail are the same, and a p in the bulk is within one
 * bin's count; the split must have moved both ways (a scale that grows and
 * then shrinks).
 */
START_TEST(test_tailprob_matches_reference)
{
	int top = _i >= 4;
	size_t cap = top ? 1500 : 700, n = 12000, raised = 0, lowered = 0;
	double last_split = -INFINITY;
	struct tailprob t;
	struct ref_tail r = { .cap = cap, .u = INFINITY, .refit = _i == 2 ? 64 : TAILPROB_REFIT,
	                      .precedent = _i == 3 || _i == 5 };
	double *vals = malloc(n * sizeof(double));

	r.hist = malloc(cap * sizeof(double));
	r.sorted = malloc(cap * sizeof(double));
	rng_seed(77);
	for (size_t i = 0; i < n; i++) {
		double g = fabs(gauss());

		if (i >= 3000 && i < 4500)
			g = i % 9 ? 0 : g;           /* mostly 0: a degenerate tail, many ties */
		else if (i >= 6000 && i < 7000)
			g = round(g * 4) / 4;        /* ties across block boundaries */
		else if (i >= 7000 && i < 9000)
			g *= 1 + (double)(i - 7000) / 500;   /* a drifting scale: the order keeps changing */
		else if (i >= 9000)
			g *= 5 * (double)(12000 - i) / 3000;    /* and shrinking */
		vals[i] = g;
	}
	ck_assert_int_eq(tailprob_init(&t, cap, 0.1), 0);
	if (_i == 1)
		t.avx2 = 0;
	t.refit = r.refit;
	t.precedent = r.precedent;
	if (top) {
		ck_assert_int_eq(tailprob_sort_top(&t, _i == 5 ? 0.2 : 0.3), 0);
		ck_assert(t.share > 0);
	}
	if (_i == 5)
		t.exact_every = 8;
	for (size_t i = 0; i < n; i++) {
		double q[4] = { vals[i / 2], 3.5, 0, vals[i] };
		int pushed = 0;

		tailprob_prefetch_oldest(&t);
		tailprob_prefetch(&t, vals[i]);

		for (int k = 0; k < 4; k++) {
			int tail;
			double want = ref_p(&r, q[k], &tail), got;

			/* the new value itself: every other time through the one-search path */
			if (k == 3 && i % 2) {
				got = tailprob_p_push(&t, q[k]);
				pushed = 1;
			} else {
				got = tailprob_p(&t, q[k]);
			}
			if (tail) {
				ck_assert_msg(fabs(got - want) <= 1e-9 * want, "i %zu, v %.17g: p %.17g, from scratch %.17g", i,
				              q[k], got, want);
			} else if (!top || want * (double)(r.n + 1) - 1 < (double)t.lower_at) {
				ck_assert_msg(got == want, "i %zu, v %.17g: p %.17g, from scratch %.17g", i, q[k], got, want);
			} else {
				uint32_t most = 0;

				for (size_t b = 0; b < TAILPROB_BINS; b++)
					most = t.bins[b] > most ? t.bins[b] : most;
				ck_assert_msg(fabs(got - want) * (double)(r.n + 1) <= (double)most + 1e-6,
				              "i %zu, v %.17g: p %.17g, from scratch %.17g, bins of %u", i, q[k], got, want, most);
			}
		}
		if (r.n > 0 && i % 7 == 0 && !pushed && (!top || 0.5 / (double)(1 + i % 400) < 0.1)) {
			int tail;
			double level = 0.5 / (double)(1 + i % 400), got = tailprob_inverse(&t, level);
			double want = ref_inverse(&r, level, &tail);

			if (tail)
				ck_assert_msg(fabs(got - want) <= 1e-9 * fabs(want), "i %zu: inverse(%g) = %.17g, from scratch "
				              "%.17g", i, level, got, want);
			else
				ck_assert_msg(got == want, "i %zu: inverse(%g) = %.17g, from scratch %.17g", i, level, got, want);
		}
		if (!pushed)
			tailprob_push(&t, vals[i]);
		ref_push(&r, vals[i]);
		raised += t.split > last_split;
		lowered += t.split < last_split;
		last_split = t.split;
		if (top && t.n == cap)
			ck_assert(t.ns >= t.lower_at);
	}
	if (top)
		ck_assert_msg(raised > 1 && lowered > 0, "the split rose %zu and fell %zu times", raised, lowered);
	tailprob_release(&t);
	free(r.hist);
	free(r.sorted);
	free(vals);
}
END_TEST

/*
 * A nightly job on a flat minute series: 02:00-02:10 every night, +6 sigma.
 * The first nights are news; after that a value the views have reached
 * before is no rarer than how often they did (tailprob's `precedent`), so
 * the second week raises at most two alert events (flags an hour or more
 * apart), where the exponential tail alone made every new nightly maximum
 * an alert.
 */
START_TEST(test_nightly_job_learned)
{
	size_t n = 14 * DAY, events = 0, last = 0;
	double *v = malloc(n * sizeof(*v));
	struct detection d;

	rng_seed(18);
	for (size_t i = 0; i < n; i++)
		v[i] = 1000 + gauss() + (i % DAY >= 120 && i % DAY < 130 ? 6 : 0);
	d = run("auto", NULL, v, n);
	for (size_t i = 7 * DAY; i < n; i++) {
		if (!d.r.anomaly[i])
			continue;
		events += !last || i - last > 60;
		last = i;
	}
	ck_assert_msg(events <= 2, "%zu alert events in the second week", events);
	detection_release(&d);
	free(v);
}
END_TEST

/*
 * A value the history reached k times is no rarer than k / (n + 1) with
 * `precedent`, however thin the exponential tail fitted to the rest: 41
 * copies of 9 among 5 000 values, the others |N(0, 1)|, give 9 a p below
 * 2 10^-4 from the tail alone, and 41 / 5 001 with the floor; a value above
 * everything keeps the tail's p.
 */
START_TEST(test_precedent_floor)
{
	struct tailprob t;
	double p9, p12, plain9, plain12;

	ck_assert_int_eq(tailprob_init(&t, 5000, 0.1), 0);
	rng_seed(5);
	for (size_t i = 0; i < 5000; i++)
		tailprob_push(&t, i % 124 == 0 ? 9 : fabs(gauss()));
	plain9 = tailprob_p(&t, 9);
	plain12 = tailprob_p(&t, 12);
	t.precedent = 1;
	p9 = tailprob_p(&t, 9);
	p12 = tailprob_p(&t, 12);
	ck_assert_msg(plain9 < 2e-4, "the tail alone: p(9) = %g", plain9);
	ck_assert_msg(p9 >= 41.0 / 5001 - 1e-12 && p9 <= 42.0 / 5001, "with the floor: p(9) = %g", p9);
	ck_assert_msg(p12 == plain12 && p12 < 2e-5, "above every past value: p(12) = %g, %g without the floor", p12,
	              plain12);
	/* the band's inverse agrees: the smallest value with p <= 0.001 is above every 9 */
	ck_assert_msg(tailprob_inverse(&t, 0.001) > 9, "inverse(0.001) = %g", tailprob_inverse(&t, 0.001));
	ck_assert_double_eq(tailprob_p_push(&t, 9), p9);
	tailprob_release(&t);
}
END_TEST

static Suite *auto_suite(void)
{
	Suite *s = suite_create("detectors_auto");
	TCase *tc = tcase_create("auto");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_calendar_snap);
	tcase_add_test(tc, test_period_duration_grammar);
	tcase_add_test(tc, test_daily_period_is_a_day);
	tcase_add_loop_test(tc, test_shift_and_dip_minutes, 0, N_PLANTED);
	tcase_add_test(tc, test_shift_after_missing_rows);
	tcase_add_loop_test(tc, test_shift_any_hour, 0, 4);
	tcase_add_test(tc, test_drop_at_quiet_hour);
	tcase_add_test(tc, test_rarity_ranks);
	tcase_add_test(tc, test_false_alarms_fall);
	tcase_add_loop_test(tc, test_tailprob_matches_reference, 0, 6);
	tcase_add_test(tc, test_hostile_long_series);
	tcase_add_test(tc, test_precedent_floor);
	tcase_add_test(tc, test_nightly_job_learned);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	reg = test_registry();
	rc = run_suite(auto_suite());
	registry_free(reg);
	return rc;
}

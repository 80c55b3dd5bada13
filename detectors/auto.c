/*
 * auto.c - the recommended general-purpose detector: needs no tuning.
 *
 * Three views of each point, each a causal statistic that is large when the
 * point is unusual:
 *   level     |x - median| / scale over the last `window` finite points
 *             (robust z-score: spikes, dips, level shifts);
 *   seasonal  |x - the median of x one, two and three periods earlier
 *             (found by time on regular series)| / the level scale averaged
 *             over two periods, the period detected from the data (period.c, snapped
 *             to 1 h / 1 d / 1 w when the step divides them) or given
 *             (seasonal breaks: a missing or changed daily pattern whose
 *             values are not unusual as such; the median keeps one odd cycle
 *             from echoing a period later);
 *   weekly    the same against the same time one, two and three weeks
 *             earlier, when the sampling step divides a week and a week
 *             has been seen (changes of the weekly pattern);
 *   pattern   the distance from the last `pattern` points to their nearest
 *             neighbour among the previous `pattern_history` subsequences,
 *             / scale (the left matrix profile, leftmp.c: shapes never seen).
 * Each statistic is calibrated into a tail probability p_v against its own
 * last `history` values (tailprob.c: conformal p-values with a
 * peaks-over-threshold tail; once the history is full only its top is kept
 * sorted, see AUTO_SORTED), so that the views are comparable on any
 * series; the point's p is min(1, V min p_v g) for V views (Bonferroni)
 * and g = max(1, t / AUTO_LEARN) for the t-th scored point (multiple
 * testing over the points looked at: the false-alarm rate per point falls
 * as 1/t once a series is learned, instead of staying at the calibrated
 * rate for ever), and its score is 1 - p; its rarity is -log10 p, which does
 * not saturate.  An alarm is reported once: for `refractory` points
 * after a score, a point scores 0 unless its evidence is stronger than every
 * score in that span (NAB's HTM and KNN-CAD detectors suppress repeats in
 * the same spirit).  A point is flagged when p <= alpha.
 *
 * Causal; O(window + history / 128 + pattern_history) per point (the
 * memmove of the level window, the calibrations' counts over their block
 * maxima, the matrix-profile loop), O(window + 10 history +
 * pattern_history + pattern + refractory) memory whatever the length of the
 * series (the matrix profile keeps its cleaned values in a ring), plus
 * O(m log m) for each period re-detection (at points 256, 320, 400, ...: every quarter more of the
 * series, from 16 384 points on every doubling).
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "common.h"
#include "kit.h"
#include "leftmp.h"
#include "duration.h"
#include "period.h"
#include "sortwin.h"
#include "tailprob.h"
#include "banned.h"

static const struct vigil_host *host;

enum { VIEW_LEVEL, VIEW_SEASONAL, VIEW_WEEKLY, VIEW_SHIFT, VIEW_PATTERN, N_VIEWS };

struct autod {
	size_t window, history, pattern, pattern_history, refractory, min_history;
	double alpha;
	enum direction dir;
	struct period_spec period;
};

#define AUTO_TAIL 0.1
/* Earlier cycles the seasonal view takes the median of: one odd cycle (a spike) does not echo. */
#define AUTO_CYCLES 3
/*
 * Points after which each further point looked at raises the bar: p is
 * multiplied by t / AUTO_LEARN at the t-th scored point.
 */
#define AUTO_LEARN 2000.0
/*
 * Sampling is regular when at least this fraction of the intervals are the
 * median step: the earlier cycles are then found by time, so that a gap
 * does not shift "the same time yesterday"; on irregular sampling a time
 * rarely has a point within half a step, and position is the better guess.
 */
#define AUTO_REGULAR 0.9
/*
 * Pushes between refits of a view's tail threshold (tailprob.c; the count
 * and excess above it stay exact at every push).  64 would save about 9 % of
 * the time but lowered every validation figure (NAB 71.7 -> 71.3, the ops
 * corpus at the NAB threshold 66.3 -> 64.7): docs/detectors.md.
 */
#define AUTO_REFIT 16
/*
 * Of every AUTO_EXACT_FITS refits, one sums the tail's excess afresh and the
 * others update it from the values the threshold passes (tailprob.h): the
 * same figures to rounding, and about 4 % of the time saved.
 */
#define AUTO_EXACT_FITS 8
/*
 * The share of each view's history kept sorted once it is full
 * (tailprob_sort_top()): p below about 0.15 (every score that can reach
 * 0.85) is exactly what a fully sorted history gives, and a push into the
 * bulk below it, most pushes, costs a bin instead of a search and a move.
 */
#define AUTO_SORTED 0.2
/* The shift view: the mean deviation of the last AUTO_SHIFT points from their expected values. */
#define AUTO_SHIFT 16

static int auto_check(const struct vigil_params *p, struct vigil_diag *d)
{
	struct period_spec ps;
	const char *text = NULL;
	double num = 0;
	char msg[160];

	if (host->param_string(p, "period", &text) != 1)
		host->param_number(p, "period", &num);
	if (period_spec_parse(&ps, text, num, msg, sizeof(msg)))
		return host->param_error(d, "period", "%s", msg);
	return 0;
}

static size_t get_size(const struct vigil_params *p, const char *key)
{
	double v = 0;

	host->param_number(p, key, &v);
	return (size_t)v;
}

static void *auto_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct autod *a = calloc(1, sizeof(*a));
	const char *text = NULL, *dir = "both";
	double num = 0;
	char msg[160];

	if (!a) {
		host->error(d, "out of memory");
		return NULL;
	}
	a->window = get_size(p, "window");
	a->history = get_size(p, "history");
	a->pattern = get_size(p, "pattern");
	a->pattern_history = get_size(p, "pattern_history");
	a->refractory = get_size(p, "refractory");
	a->min_history = get_size(p, "min_history");
	host->param_number(p, "alpha", &a->alpha);
	host->param_string(p, "direction", &dir);
	a->dir = parse_direction(dir);
	if (host->param_string(p, "period", &text) != 1)
		host->param_number(p, "period", &num);
	if (period_spec_parse(&a->period, text, num, msg, sizeof(msg))) {
		free(a);
		host->param_error(d, "period", "%s", msg);
		return NULL;
	}
	return a;
}

/* The deviation in the watched direction, as a nonnegative statistic. */
static double directed(double dev, enum direction dir)
{
	if (isnan(dev))
		return NAN;
	if (dir == DIR_UP)
		return dev > 0 ? dev : 0;
	if (dir == DIR_DOWN)
		return dev < 0 ? -dev : 0;
	return fabs(dev);
}

struct auto_run {
	struct sortwin level;
	struct tailprob tp[N_VIEWS];
	struct leftmp mp;
	/*
	 * The points of the last `refractory` whose 1 - p (before the
	 * refractory rule) is larger than every later one's: a ring of
	 * descending values, so the span's largest is the first (a sliding
	 * maximum, O(1) a point).
	 */
	size_t *peak_at;
	double *peak;
	size_t peak_first, peak_n;
	size_t period, week, next_check, scored;
	int64_t step;        /* the median sampling step at the last period check (ms) */
	int64_t step_by_time; /* step when earlier cycles are found by time (regular sampling), else 0 */
	double cur;          /* the value being explained */
	double shift[AUTO_SHIFT];   /* the last deviations from the expected value (a ring) */
	double shift_sum;
	size_t shift_n, shift_w;
	size_t shift_period; /* the period whose seasonal reference the shift view follows (0: the median) */
	size_t cyc[2][AUTO_CYCLES];
	double sscale;       /* the level scale, exponentially averaged over AUTO_SPAN_PERIODS periods */
	double logc;         /* the offset of the log ratios at this point (0: differences) */
	int negative;        /* a negative value was seen: weekly and shift deviations are differences, not log ratios */ /* where the seasonal and weekly views last found each earlier cycle */
};

static void run_release(struct auto_run *ar)
{
	sortwin_release(&ar->level);
	for (int v = 0; v < N_VIEWS; v++)
		tailprob_release(&ar->tp[v]);
	leftmp_release(&ar->mp);
	free(ar->peak_at);
	free(ar->peak);
}

/* A view's calibration over the last `history` statistics. */
static int view_init(struct tailprob *t, size_t history)
{
	if (tailprob_init(t, history, AUTO_TAIL))
		return -1;
	t->refit = AUTO_REFIT;
	t->exact_every = AUTO_EXACT_FITS;
	/* a value the view has reached before is no rarer than how often it did (tailprob.h) */
	t->precedent = 1;
	/* only the top of a full history sorted: a push into the bulk costs a bin (see AUTO_SORTED) */
	return tailprob_sort_top(t, AUTO_SORTED);
}

static int run_init(const struct autod *a, struct auto_run *ar)
{
	int rc = 0;

	memset(ar, 0, sizeof(*ar));
	rc |= sortwin_init(&ar->level, a->window);
	for (int v = 0; v < N_VIEWS; v++)
		rc |= view_init(&ar->tp[v], a->history);
	if (a->pattern)
		rc |= leftmp_init(&ar->mp, a->pattern, a->pattern_history, 1, 0);
	ar->peak_at = malloc((a->refractory + 1) * sizeof(*ar->peak_at));
	ar->peak = malloc((a->refractory + 1) * sizeof(*ar->peak));
	rc |= !ar->peak_at || !ar->peak;
	ar->next_check = period_first_check(&a->period);
	ar->sscale = NAN;
	if (rc)
		run_release(ar);
	return rc ? -1 : 0;
}

/*
 * The value of the point `back` ms before point i, found by time (within
 * half a step), not by position: a gap in the data (missing rows, not NaN
 * values) must not make "the same time yesterday" a point 40 minutes off.
 * *j is where the last search of this cycle ended: the target time only
 * grows with i, so the walk is O(1) a point.  NaN when no point is there.
 * On a regular series this is x[i - back / step], bit for bit the
 * positional lookup.
 */
static double value_back(const struct vigil_series *s, size_t i, int64_t back, int64_t step, size_t *j)
{
	const int64_t *ts = s->ts_ms;
	int64_t target = ts[i] - back, half = step / 2;

	if (*j >= i || ts[*j] > target + half)
		*j = 0;   /* the period or the step changed: look again from the start */
	if (ts[0] > target + half)
		return NAN;
	/* the last point at or before target + half (binary search the first time, then a walk) */
	if (*j == 0) {
		size_t lo = 0, hi = i;

		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (ts[mid] <= target + half)
				lo = mid;
			else
				hi = mid;
		}
		*j = lo;
	}
	while (*j + 1 < i && ts[*j + 1] <= target + half)
		(*j)++;
	return ts[*j] > target - half || (half == 0 && ts[*j] == target) ? s->values[*j] : NAN;
}

/*
 * The seasonal and weekly views (and the shift view once it follows the
 * seasonal reference) divide by the level scale averaged over about
 * AUTO_SPAN_PERIODS periods: the spread of the raw values over `window`
 * points swings with the part of the cycle the window holds (four-fold on
 * a minute series with a daily swing, whose window is 1.4 days), so a
 * deviation of the same size would read four times larger at one hour
 * than at another, and the calibration would learn the swing.
 */
/*
 * The weekly and shift views measure a deviation from the seasonal
 * reference as a log ratio on a series never negative: log((v + c) /
 * (ref + c)), c = AUTO_LOGC times the seasonal scale (so zeros are fine and
 * the ratio does not change when the series is multiplied by a constant).
 * A drop of 90 % then reads the same at a quiet hour as at the busy one,
 * where counts and latencies are noisier; the seasonal view keeps
 * differences, so a spike on additive noise keeps its full size there.
 */
#define AUTO_LOGC 0.3
#ifndef AUTO_SPAN_PERIODS
#define AUTO_SPAN_PERIODS 2.0
#endif

/*
 * A deviation from a seasonal reference: with logc > 0 (a series never
 * negative, see AUTO_LOGC) the log of the ratio of v + logc to ref + logc,
 * measured against the level it happens at; else (v - ref) / scale.
 */
static double seasonal_dev(double v, double ref, double scale, double logc)
{
	if (logc > 0 && v >= 0 && ref >= 0)
		return log((v + logc) / (ref + logc));
	return kit_ratio(v - ref, scale, ref);
}

static double median3(double a, double b, double c)
{
	double lo = a < b ? a : b, hi = a < b ? b : a;

	return c < lo ? lo : c > hi ? hi : c;
}

/*
 * |v - the median of the same phase in up to AUTO_CYCLES earlier cycles of
 * `per` points| / scale.  With a known step the earlier cycles are found by
 * time (value_back), else by position.  cyc holds the walks' positions.
 */
static double cycle_dev(const struct vigil_series *s, size_t i, size_t per, int64_t step, size_t *cyc, double v,
                        double scale, double logc, double *ref)
{
	const double *x = s->values;
	double c[AUTO_CYCLES];
	size_t nc = 0;

	for (size_t k = 1; k <= AUTO_CYCLES && k * per <= i; k++) {
		double y = step > 0 ? value_back(s, i, (int64_t)(k * per) * step, step, &cyc[k - 1]) : x[i - k * per];

		if (isfinite(y))
			c[nc++] = y;
	}
	if (!nc)
		return NAN;
	/* the median of three without a selection (kit_median() gives the same value) */
	*ref = nc == 3 ? median3(c[0], c[1], c[2]) : kit_median(c, nc);
	return seasonal_dev(v, *ref, scale, logc);
}

/* A period of `points` as a duration ("1d") when the step is known, else as points. */
static void format_period(char *buf, size_t len, size_t points, int64_t step)
{
	if (step > 0 && (double)points * (double)step < 1e15)
		duration_format((int64_t)points * step, buf, len);
	else
		snprintf(buf, len, "%zu points", points);
}

/*
 * Re-resolve the period from the points before i, and the week: a weekly
 * view runs beside a daily period when the step divides a week.
 */
static int check_period(const struct autod *a, struct auto_run *ar, const struct vigil_series *s, size_t i)
{
	size_t per = 0;

	ar->step = period_median_step(s->ts_ms, i);
	/* earlier cycles by time when the sampling is regular (gaps aside), else by position */
	ar->step_by_time = ar->step > 0 && period_regular_fraction(s->ts_ms, i, ar->step) >= AUTO_REGULAR ? ar->step : 0;
	if (period_resolve_timed(&a->period, s->values, s->ts_ms, i, ar->step_by_time, &per))
		return -1;
	ar->period = per;
	ar->week = 0;
	if (per && ar->step > 0 && (int64_t)per * ar->step == PERIOD_DAY_MS && PERIOD_WEEK_MS % ar->step == 0)
		ar->week = (size_t)(PERIOD_WEEK_MS / ar->step);
	ar->next_check = period_next_check(&a->period, i);
	return 0;
}

/* A log ratio as the percentage by which a value is above (r > 0) or below the reference, both offset by c. */
static double percent_off(double r)
{
	return 100 * (r >= 0 ? expm1(r) : -expm1(r));
}

static void set_reason(const struct autod *a, const struct auto_run *ar, struct vigil_result *r, size_t i,
                       int best, const double *stat, double med, double ref, double pmin)
{
	char per[48];

	if (best == VIEW_LEVEL) {
		host->set_reason(r, i, "%.6g is %.3g robust deviations from the median %.6g of the last %zu "
		                 "points (p = %.2g)", ar->cur, stat[best], med, ar->level.n, pmin);
	} else if (best == VIEW_SHIFT) {
		const char *side = ar->shift_sum > 0 ? "above" : "below";

		if (ar->shift_period && ar->logc > 0) {
			format_period(per, sizeof(per), ar->period, ar->step);
			host->set_reason(r, i, "the last %zu points are %.3g%% %s the same time of the last cycles (period %s) "
			                 "on average (p = %.2g)", ar->shift_w, percent_off(ar->shift_sum / (double)ar->shift_w),
			                 side, per, pmin);
		} else if (ar->shift_period) {
			format_period(per, sizeof(per), ar->period, ar->step);
			host->set_reason(r, i, "the last %zu points are %.3g robust deviations %s the same time of the "
			                 "last cycles (period %s) on average (p = %.2g)", ar->shift_w, stat[best], side, per,
			                 pmin);
		} else {
			host->set_reason(r, i, "the last %zu points are %.3g robust deviations %s the median on average "
			                 "(p = %.2g)", ar->shift_w, stat[best], side, pmin);
		}
	} else if (best == VIEW_WEEKLY && ar->logc > 0) {
		format_period(per, sizeof(per), ar->week, ar->step);
		host->set_reason(r, i, "%.6g against %.6g at the same time of the last cycles (period %s): %.3g%% %s "
		                 "(p = %.2g)", ar->cur, ref, per, percent_off(ar->cur >= ref ? stat[best] : -stat[best]),
		                 ar->cur >= ref ? "above" : "below", pmin);
	} else if (best == VIEW_SEASONAL || best == VIEW_WEEKLY) {
		format_period(per, sizeof(per), best == VIEW_WEEKLY ? ar->week : ar->period, ar->step);
		host->set_reason(r, i, "%.6g against %.6g at the same time of the last cycles (period %s): "
		                 "%.3g times the series' robust spread (p = %.2g)", ar->cur, ref, per,
		                 stat[best], pmin);
	} else {
		host->set_reason(r, i, "the last %zu points match nothing in the previous %zu (p = %.2g)",
		                 a->pattern, a->pattern_history, pmin);
	}
}

/* The largest 1 - p of the `span` points before i (0 if none), dropping the points before them. */
static double peak_in_span(struct auto_run *ar, size_t i, size_t span)
{
	size_t cap = span + 1;

	while (ar->peak_n > 0 && ar->peak_at[ar->peak_first] + span < i) {
		ar->peak_first = ar->peak_first + 1 == cap ? 0 : ar->peak_first + 1;
		ar->peak_n--;
	}
	return ar->peak_n > 0 ? ar->peak[ar->peak_first] : 0;
}

/* Point i's 1 - p joins the span: the earlier points it is at least as large as can never be its largest. */
static void peak_add(struct auto_run *ar, size_t i, double raw, size_t cap)
{
	while (ar->peak_n > 0) {
		size_t last = (ar->peak_first + ar->peak_n - 1) % cap;

		if (ar->peak[last] > raw)
			break;
		ar->peak_n--;
	}
	{
		size_t at = (ar->peak_first + ar->peak_n) % cap;

		ar->peak_at[at] = i;
		ar->peak[at] = raw;
		ar->peak_n++;
	}
}

static int auto_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *d)
{
	const struct autod *a = state;
	const double *x = s->values;
	size_t n = s->n, warm = n;
	struct auto_run ar;
	size_t sw = AUTO_SHIFT;
	int has_rarity = r->struct_size >= VIGIL_RESULT_HAS_RARITY && r->rarity;

	if (run_init(a, &ar))
		return host->error(d, "out of memory");
	ar.shift_w = sw;
	for (size_t i = 0; i < n; i++) {
		double v = x[i], p[N_VIEWS], stat[N_VIEWS], refs[N_VIEWS];
		double med = NAN, scale = NAN, rscale, logc, ref = NAN, pmin = 1, score;
		int views = 0, best = -1;

		for (int k = 0; k < N_VIEWS; k++) {
			p[k] = 1;
			stat[k] = refs[k] = NAN;
		}
		if (i == ar.next_check && check_period(a, &ar, s, i)) {
			run_release(&ar);
			return host->error(d, "out of memory");
		}
		/* where each view's oldest value leaves its history: fetched while the statistics are computed */
		for (int k = 0; k < N_VIEWS; k++)
			tailprob_prefetch_oldest(&ar.tp[k]);
		if (ar.level.n >= 3)
			sortwin_stats(&ar.level, &med, &scale);
		/* the seasonal views' scale: the level scale averaged over two periods (see AUTO_SPAN_PERIODS) */
		if (isfinite(scale)) {
			double span = ar.period ? AUTO_SPAN_PERIODS * (double)ar.period : 1;

			ar.sscale = isnan(ar.sscale) ? scale : ar.sscale + (scale - ar.sscale) / span;
		}
		rscale = ar.sscale;
		if (isfinite(v) && v < 0)
			ar.negative = 1;
		logc = !ar.negative && isfinite(rscale) && rscale > 0 ? AUTO_LOGC * rscale : 0;
		ar.logc = logc;

		if (!isnan(med) && !isnan(v)) {
			stat[VIEW_LEVEL] = directed(kit_ratio(v - med, scale, med), a->dir);
			refs[VIEW_LEVEL] = med;
			if (ar.period && i >= ar.period)
				stat[VIEW_SEASONAL] = directed(cycle_dev(s, i, ar.period, ar.step_by_time, ar.cyc[0], v, rscale, 0,
				                                         &refs[VIEW_SEASONAL]), a->dir);
			if (ar.week && i >= ar.week)
				stat[VIEW_WEEKLY] = directed(cycle_dev(s, i, ar.week, ar.step_by_time, ar.cyc[1], v, rscale, logc,
				                                       &refs[VIEW_WEEKLY]), a->dir);
		}
		for (int k = VIEW_LEVEL; k <= VIEW_WEEKLY; k++)
			tailprob_prefetch(&ar.tp[k], stat[k]);
		if (a->pattern) {
			double dist = leftmp_step(&ar.mp, x, i);

			if (!isnan(dist) && !isnan(scale) && a->dir == DIR_BOTH)
				stat[VIEW_PATTERN] = kit_ratio(ldexp(dist, leftmp_exponent(&ar.mp)), scale, med);
		}
		{
			/*
			 * the mean signed deviation from the expected value over the
			 * last sw points that have one: the seasonal reference once a
			 * period is in effect (a point whose earlier cycles are all
			 * missing is skipped, not compared with the median)
			 */
			int k = ar.period && i >= ar.period ? VIEW_SEASONAL : VIEW_LEVEL;
			double e = isnan(stat[k]) ? NAN : k == VIEW_SEASONAL ? seasonal_dev(v, refs[k], rscale, logc) :
			           kit_ratio(v - refs[k], scale, refs[k]);

			if ((k == VIEW_SEASONAL ? ar.period : 0) != ar.shift_period && !isnan(med)) {
				/* deviations from another expectation: start the view afresh */
				ar.shift_period = k == VIEW_SEASONAL ? ar.period : 0;
				ar.shift_n = 0;
				ar.shift_sum = 0;
				tailprob_release(&ar.tp[VIEW_SHIFT]);
				if (view_init(&ar.tp[VIEW_SHIFT], a->history)) {
					run_release(&ar);
					return host->error(d, "out of memory");
				}
			}

			if (isfinite(e)) {
				if (ar.shift_n >= sw)
					ar.shift_sum -= ar.shift[ar.shift_n % sw];
				ar.shift[ar.shift_n % sw] = e;
				ar.shift_sum += e;
				ar.shift_n++;
				if (ar.shift_n % sw == 0) {
					/* exactly, now and then: no rounding drift over millions of points */
					ar.shift_sum = 0;
					for (size_t j = 0; j < sw; j++)
						ar.shift_sum += ar.shift[j];
				}
				if (ar.shift_n >= sw)
					stat[VIEW_SHIFT] = directed(ar.shift_sum / (double)sw, a->dir);
			}
		}
		/* the pattern and shift statistics are known only now */
		tailprob_prefetch(&ar.tp[VIEW_PATTERN], stat[VIEW_PATTERN]);
		tailprob_prefetch(&ar.tp[VIEW_SHIFT], stat[VIEW_SHIFT]);
		for (int k = 0; k < N_VIEWS; k++)
			views += !isnan(stat[k]);
		if (!isnan(med) && i >= a->min_history) {
			/*
			 * The band: where the view behind the expected value reaches
			 * alpha, from the history before this point.
			 */
			int k = !isnan(stat[VIEW_SEASONAL]) ? VIEW_SEASONAL : VIEW_LEVEL;
			double q = tailprob_inverse(&ar.tp[k], a->alpha / (double)(views ? views : 1));
			double sc = k == VIEW_SEASONAL ? rscale : scale;
			double w = isfinite(q) && isfinite(sc) ? q * sc : INFINITY;

			ref = refs[k];
			r->expected[i] = ref;
			r->lower[i] = a->dir == DIR_UP ? -INFINITY : ref - w;
			r->upper[i] = a->dir == DIR_DOWN ? INFINITY : ref + w;
		}
		for (int k = 0; k < N_VIEWS; k++) {
			if (isnan(stat[k]))
				continue;
			p[k] = tailprob_p_push(&ar.tp[k], stat[k]);
			if (p[k] < pmin) {
				pmin = p[k];
				best = k;
			}
		}
		if (isfinite(v))
			sortwin_push(&ar.level, v);
		if (i < a->min_history || isnan(v) || !views)
			continue;
		if (warm == n)
			warm = i;
		ar.scored++;
		/* Bonferroni over the views, and over the points looked at once the series is learned */
		pmin *= (double)views;
		if ((double)ar.scored > AUTO_LEARN)
			pmin *= (double)ar.scored / AUTO_LEARN;
		if (has_rarity)
			r->rarity[i] = pmin >= 1 ? 0 : -log10(pmin);
		pmin = fmin(1, pmin);
		score = 1 - pmin;
		/*
		 * report an alarm once: within the refractory span, only stronger
		 * evidence scores (an infinite value, a broken source, always does)
		 */
		if (score > 0) {
			double raw = score;

			if (peak_in_span(&ar, i, a->refractory) >= score && !isinf(v))
				score = 0;
			peak_add(&ar, i, raw, a->refractory + 1);
		}
		r->score[i] = score;
		if (score > 0 && pmin <= a->alpha) {
			r->anomaly[i] = 1;
			ar.cur = v;
			set_reason(a, &ar, r, i, best, stat, med, refs[best], pmin);
		}
	}
	r->warmup = warm;
	run_release(&ar);
	return 0;
}

static const struct vigil_detector auto_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "auto",
	.version = "1.2.1",
	.summary = "recommended default: level, seasonal, weekly and pattern views, calibrated and combined",
	.params_schema = "{"
		"\"window\": {\"type\": \"integer\", \"default\": 2000, \"min\": 10, \"max\": 1000000,"
		" \"doc\": \"points of history for the median and scale of the level view\"},"
		"\"history\": {\"type\": \"integer\", \"default\": 5000, \"min\": 50, \"max\": 1000000,"
		" \"doc\": \"past statistics each view's tail probability is calibrated on\"},"
		"\"period\": {\"type\": [\"integer\", \"string\"], \"default\": \"auto\","
		" \"doc\": \"seasonal period: points, a duration (\\\"1d\\\"), \\\"auto\\\" or \\\"none\\\"\"},"
		"\"pattern\": {\"type\": \"integer\", \"default\": 10, \"min\": 0, \"max\": 1000,"
		" \"doc\": \"length of the subsequences of the pattern view (0: no pattern view)\"},"
		"\"pattern_history\": {\"type\": \"integer\", \"default\": 1000, \"min\": 1, \"max\": 100000,"
		" \"doc\": \"earlier subsequences the pattern view compares with\"},"
		"\"refractory\": {\"type\": \"integer\", \"default\": 100, \"min\": 0, \"max\": 1000000,"
		" \"doc\": \"points after an alarm in which only stronger evidence scores\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.001, \"exclusive_min\": 0, \"max\": 1,"
		" \"doc\": \"flag points whose combined tail probability is at most this\"},"
		"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"],"
		" \"doc\": \"which deviations count (the pattern view only runs for both)\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 150, \"min\": 1,"
		" \"doc\": \"points before scoring starts\"}"
	"}",
	.check = auto_check,
	.create = auto_create,
	.destroy = free,
	.detect = auto_detect,
};

static int auto_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &auto_detector);
}

VIGIL_PLUGIN_DEFINE("auto", "1.0.0", auto_init, NULL);

/*
 * gen-ops-plan.c - the plan of a generated corpus: which series exist, their
 * shapes, which anomalies each gets (dealt from a shuffled deck) and where,
 * and where rows go missing.  Everything depends on the seed only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gen-ops.h"
#include "xmalloc.h"
#include "banned.h"

const struct genops_metric genops_metrics[NMETRICS] = {
	[LATENCY] = { "opsLatency", "latency" },
	[COUNTS] = { "opsCounts", "requests" },
	[PERCENT] = { "opsPercent", "cpu" },
	[QUEUE] = { "opsQueues", "queue" },
	[KPI] = { "opsKpi", "orders" },
	[SHIFT] = { "opsShift", "shift5sd" },
};

const char *const genops_kind_names[NKINDS] = {
	[SPIKE] = "spike",
	[DIP] = "dip",
	[VARIANCE] = "variance_burst",
	[MISSING_PEAK] = "missing_daily_peak",
	[FLATLINE] = "flatline",
	[LEVEL_UP] = "level_shift_up",
	[LEVEL_DOWN] = "level_shift_down",
	[RAMP] = "ramp",
	[SEASON_BREAK] = "seasonality_break",
	[WEEKLY] = "weekly_change",
	[LEVEL_UP_5SD] = "level_shift_5sd",
};

/* How many of each kind the 25 mixed series share (45 anomalies). */
static const int deck_counts[NKINDS] = {
	[SPIKE] = 7, [DIP] = 7, [VARIANCE] = 5, [MISSING_PEAK] = 4, [FLATLINE] = 4,
	[LEVEL_UP] = 4, [LEVEL_DOWN] = 4, [RAMP] = 4, [SEASON_BREAK] = 3, [WEEKLY] = 3,
};

static const int64_t steps[] = { 60, 300, 600, 900, 3600 };

/* Hours after the trough at which the daily shape (gen-ops-values.c) rises above 0.5, and for how long. */
static void peak_span(const struct series *s, double *from_h, double *len_h)
{
	double theta = acos(1 - 2 * pow(0.5, 1 / s->sharp));

	*from_h = 24 * theta / (2 * M_PI);
	*len_h = 24 - 2 * *from_h;
}

static size_t points_of(const struct series *s, double seconds)
{
	double p = round(seconds / (double)s->step);

	return p < 1 ? 1 : (size_t)p;
}

/* The first grid index >= i at second-of-week `sow` (Monday 00:00 = 0), or n. */
static size_t align_week(const struct series *s, size_t i, int64_t sow)
{
	for (; i < s->n; i++) {
		int64_t t = s->start + (int64_t)i * s->step;
		/* 1970-01-01 was a Thursday: Monday 00:00 is 4 days later */
		int64_t w = ((t - 4 * DAY) % WEEK + WEEK) % WEEK;

		if (w == sow)
			return i;
	}
	return s->n;
}

/* The first grid index >= i where the daily peak starts. */
static size_t align_peak(const struct series *s, size_t i)
{
	double from_h, len_h;
	int64_t at;

	peak_span(s, &from_h, &len_h);
	at = (int64_t)round(fmod(s->trough_h + from_h, 24) * 3600);
	for (; i < s->n; i++) {
		int64_t sod = (s->start + (int64_t)i * s->step) % DAY;

		if (sod <= at && at < sod + s->step)
			return i;
	}
	return s->n;
}

static void plan_shape(struct series *s, struct rng *r, int weekly)
{
	s->n = 10000 + genops_pick(r, 30001);
	s->step = weekly ? steps[2 + genops_pick(r, 3)] : steps[genops_pick(r, 5)];
	s->start = (int64_t)1704067200 + (int64_t)genops_pick(r, 60) * DAY; /* 2024-01-01 + up to 60 days */
	s->start -= s->start % s->step;
	s->trend = genops_unif_in(r, -0.25, 0.5);
	s->amp = genops_unif_in(r, 0.8, 2.5);
	s->sharp = genops_unif_in(r, 1, 2.5);
	s->trough_h = genops_unif_in(r, 2, 6);
	s->weekend = genops_unif_in(r, 0.55, 0.85);
	s->heavy = 0;
	s->batch_at = 2 * 3600 + (int64_t)genops_pick(r, 4) * 15 * 60;
	s->batch_len = 600 + (int64_t)genops_pick(r, 3) * 300;
	switch (s->metric) {
	case LATENCY:
		s->base = genops_unif_in(r, 60, 250);
		s->amp *= 0.3;
		s->noise = genops_unif_in(r, 0.08, 0.18);
		s->heavy = genops_unif_in(r, 0.002, 0.006);
		s->batch_size = genops_unif_in(r, 0.6, 1.5); /* relative rise */
		break;
	case COUNTS:
		s->base = genops_unif_in(r, 3, 120); /* per minute */
		s->noise = genops_unif_in(r, 0.05, 0.15);
		s->batch_size = genops_unif_in(r, 1.5, 3);
		break;
	case PERCENT:
		s->base = genops_unif_in(r, 0.08, 0.25);
		s->noise = genops_unif_in(r, 0.015, 0.04);
		s->batch_size = genops_unif_in(r, 0.2, 0.4); /* absolute fraction */
		break;
	case QUEUE:
		s->base = genops_unif_in(r, 20, 400);
		s->noise = genops_unif_in(r, 0.12, 0.25);
		s->batch_size = genops_unif_in(r, 2, 4);
		break;
	case KPI:
		s->base = genops_unif_in(r, 0.5, 15); /* orders per minute */
		s->amp = genops_unif_in(r, 2, 5);
		s->weekend = genops_unif_in(r, 0.4, 0.65);
		s->trend = genops_unif_in(r, 0.1, 0.6);
		s->noise = genops_unif_in(r, 0.05, 0.12);
		s->batch_size = 0;
		break;
	case SHIFT:
	case NMETRICS:
		s->n = 10000 + genops_pick(r, 10001);
		s->step = 60;
		s->base = 100;
		s->trend = 0;
		s->amp = genops_unif_in(r, 0.5, 1.5);
		s->weekend = 1;
		s->noise = genops_unif_in(r, 0.02, 0.05); /* sd relative to base */
		s->batch_size = 0;
		break;
	}
}

/* Duration in grid points of a transient anomaly, and its size. */
static void plan_effect(struct series *s, struct anomaly *a, struct rng *r)
{
	double from_h, len_h;

	switch (a->kind) {
	case SPIKE:
		a->dur = 1 + genops_pick(r, 3);
		a->size = genops_unif_in(r, 7, 12); /* sd */
		break;
	case DIP:
		a->dur = points_of(s, genops_unif_in(r, 20, 180) * 60);
		a->size = genops_unif_in(r, 0.05, 0.35); /* factor */
		break;
	case VARIANCE:
		a->dur = points_of(s, genops_unif_in(r, 2, 8) * 3600);
		a->dur = a->dur < 6 ? 6 : a->dur;
		a->size = genops_unif_in(r, 3, 5); /* factor on the noise */
		break;
	case MISSING_PEAK:
		peak_span(s, &from_h, &len_h);
		a->dur = points_of(s, len_h * 3600);
		a->size = len_h;
		break;
	case FLATLINE:
		a->dur = points_of(s, genops_unif_in(r, 3, 12) * 3600);
		a->dur = a->dur < 6 ? 6 : a->dur;
		a->size = (double)a->dur * (double)s->step / 3600; /* hours */
		break;
	case LEVEL_UP:
	case LEVEL_DOWN:
		a->size = genops_unif_in(r, 4, 7);
		break;
	case RAMP:
		a->dur = points_of(s, genops_unif_in(r, 6, 48) * 3600);
		a->dur = a->dur < 12 ? 12 : a->dur;
		a->size = genops_unif_in(r, 6, 10);
		break;
	case SEASON_BREAK:
		a->size = genops_unif_in(r, 5, 9); /* hours the daily cycle moves */
		break;
	case WEEKLY:
		a->size = 1; /* weekends become weekdays */
		break;
	case LEVEL_UP_5SD:
		a->size = 5;
		break;
	case NKINDS:
		break;
	}
}

static int cmp_anomaly(const void *a, const void *b)
{
	const struct anomaly *x = a, *y = b;

	return (x->onset > y->onset) - (x->onset < y->onset);
}

/*
 * Place the anomalies (the persistent one last, in 55-85 % of the series,
 * transients spread over the span before it) and the gaps (never near a
 * window).  NAB's window length is 10 % of the rows over the number of
 * anomalies; an anomaly's effect is cut to fit in the second half of its
 * window.  Returns -1 if this draw does not fit (the caller redraws).
 */
static int plan_places(struct series *s, struct rng *r)
{
	size_t half = (size_t)(0.1 * (double)s->n / (double)s->nanom) / 2, ntrans = 0, lo, hi;
	size_t start_min = PROBATION + half + 10, days3 = (size_t)(3 * DAY / s->step);

	if (start_min < days3)
		start_min = days3;
	hi = s->n - half - 10 - MAX_GAPS * 90; /* rows may be cut after the window */
	for (size_t i = 0; i < s->nanom; i++) {
		struct anomaly *a = &s->anom[i];

		if (!genops_persistent(a->kind) && a->kind != LEVEL_UP_5SD) {
			ntrans++;
			continue;
		}
		a->onset = (size_t)(genops_unif_in(r, 0.55, 0.85) * (double)s->n);
		if (a->kind == WEEKLY)
			a->onset = align_week(s, a->onset, 5 * DAY); /* a Saturday 00:00 */
		if (a->onset >= hi)
			return -1;
		hi = a->onset - 2 * half - 10;
	}
	lo = start_min;
	if (ntrans && hi < lo + ntrans * (2 * half + 10))
		return -1;
	for (size_t i = 0, t = 0; i < s->nanom; i++) {
		struct anomaly *a = &s->anom[i];
		size_t seg = (hi - lo) / (ntrans ? ntrans : 1), from = lo + t * seg;

		if (genops_persistent(a->kind) || a->kind == LEVEL_UP_5SD)
			continue;
		/* the window [onset - half, onset + half] stays inside the segment */
		a->onset = from + half + 5 + (size_t)(genops_unif_in(r, 0, 0.5) * (double)(seg - 2 * half - 10));
		if (a->kind == MISSING_PEAK)
			a->onset = align_peak(s, a->onset);
		if (a->onset + half + 5 > from + seg)
			return -1;
		t++;
	}
	for (size_t i = 0; i < s->nanom; i++) {
		struct anomaly *a = &s->anom[i];

		if (a->dur > half * 4 / 5 && !genops_persistent(a->kind))
			a->dur = half * 4 / 5 ? half * 4 / 5 : 1;
		if (a->kind == RAMP && a->dur > half * 4 / 5)
			a->dur = half * 4 / 5;
	}
	qsort(s->anom, s->nanom, sizeof(*s->anom), cmp_anomaly);
	s->ngaps = genops_pick(r, MAX_GAPS + 1);
	for (size_t g = 0; g < s->ngaps; g++) {
		struct gap *gp = &s->gaps[g];
		int clash;
		int tries = 0;

		do {
			gp->len = 2 + genops_pick(r, 89);
			gp->from = PROBATION + genops_pick(r, s->n - PROBATION - gp->len - 1);
			clash = 0;
			for (size_t i = 0; i < s->nanom; i++)
				clash |= gp->from + gp->len + 2 * half + 20 > s->anom[i].onset &&
					 gp->from < s->anom[i].onset + 2 * half + 20;
			for (size_t h = 0; h < g; h++)
				clash |= gp->from <= s->gaps[h].from + s->gaps[h].len + 1 &&
					 s->gaps[h].from <= gp->from + gp->len + 1;
		} while (clash && ++tries < 100);
		if (clash)
			s->ngaps = g;
	}
	return 0;
}

/*
 * The plan of every series: kinds dealt from a shuffled deck (one
 * persistent kind at most per series, 1-3 anomalies each), then shapes and
 * places.  Depends on the seed only.
 */
struct series *genops_plan(uint64_t seed, size_t *np)
{
	size_t nmixed = 5 * SERIES_PER_CATEGORY, n = 0;
	struct series *all = xcalloc(NMETRICS * SERIES_PER_CATEGORY, sizeof(*all));
	int order[5 * SERIES_PER_CATEGORY], pers[32], trans[32];
	size_t npers = 0, ntrans = 0;
	struct rng r;

	genops_rng_seed(&r, seed, 0);
	for (int k = 0; k < NKINDS; k++)
		for (int i = 0; i < deck_counts[k]; i++) {
			if (genops_persistent((enum kind)k))
				pers[npers++] = k;
			else
				trans[ntrans++] = k;
		}
	genops_shuffle(&r, pers, npers);
	genops_shuffle(&r, trans, ntrans);
	for (size_t i = 0; i < nmixed; i++)
		order[i] = (int)i;
	genops_shuffle(&r, order, nmixed);
	for (int m = 0; m < NMETRICS; m++)
		for (int i = 0; i < SERIES_PER_CATEGORY; i++) {
			struct series *s = &all[n++];

			s->metric = (enum metric)m;
			s->stream = n;
			snprintf(s->name, sizeof(s->name), "%s/%s_%02d.csv", genops_metrics[m].category, genops_metrics[m].file,
				 i + 1);
		}
	/* persistent kinds to the first npers series of a shuffled order, one transient each, the rest spread */
	for (size_t i = 0; i < npers; i++) {
		struct series *s = &all[order[i]];

		s->anom[s->nanom++].kind = (enum kind)pers[i];
	}
	for (size_t i = 0; i < ntrans; i++) {
		struct series *s = &all[i < nmixed ? (size_t)order[i] : (size_t)order[genops_pick(&r, nmixed)]];

		while (s->nanom >= 3)
			s = &all[order[genops_pick(&r, nmixed)]];
		s->anom[s->nanom++].kind = (enum kind)trans[i];
	}
	for (size_t i = nmixed; i < n; i++)
		all[i].anom[all[i].nanom++].kind = LEVEL_UP_5SD;
	for (size_t i = 0; i < n; i++) {
		struct series *s = &all[i];
		int weekly = 0;
		struct rng sr;

		for (size_t a = 0; a < s->nanom; a++)
			weekly |= s->anom[a].kind == WEEKLY;
		genops_rng_seed(&sr, seed, s->stream);
		do {
			plan_shape(s, &sr, weekly);
			for (size_t a = 0; a < s->nanom; a++)
				plan_effect(s, &s->anom[a], &sr);
		} while (plan_places(s, &sr)); /* a draw fits often: a few tries at most */
	}
	*np = n;
	return all;
}

/*
 * gen-ops.c - a deterministic generator of realistic ops metrics with
 * planted anomalies, written in NAB's layout so bench/nab scores detectors
 * on data nobody tuned them to:
 *
 *	OUT/data/<category>/<file>.csv        timestamp,value
 *	OUT/labels/combined_windows.json      one NAB-sized window per anomaly
 *	OUT/labels/kinds.json                 the kind and onset of each anomaly
 *
 * Series of 10 000-40 000 points at 1 min ... 1 h steps: latency (heavy-
 * tailed), request counts (overdispersed Poisson), bounded percentages,
 * queue depths, business KPIs, and minute-step series with one +5 sd level
 * shift (for detection delay).  Daily and weekly cycles, trends, a harmless
 * batch spike at the same time every night, gaps (missing rows).  The same
 * seed gives the same bytes; each series has its own random stream, so
 * --categories picks a subset without changing any file.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "nabscore.h"
#include "paths.h"
#include "xmalloc.h"
#include "banned.h"

#define DAY 86400
#define WEEK (7 * DAY)
#define PROBATION 750 /* NAB's probationary rows for files of >= 5000 rows */
#define MAX_ANOMALIES 4
#define MAX_GAPS 3
#define SERIES_PER_CATEGORY 5

static const char usage_text[] =
	"usage: gen-ops [--seed N] [--out DIR] [--categories LIST]\n"
	"\n"
	"  --seed N          the corpus (default 1); another seed is another corpus\n"
	"  --out DIR         where to write data/ and labels/ (default ops-corpus)\n"
	"  --categories LIST comma-separated subset of opsLatency, opsCounts, opsPercent,\n"
	"                    opsQueues, opsKpi, opsShift (default: all; same files either way)\n";

/* --- random numbers: splitmix64 seeding, xoshiro256** ------------------- */

struct rng {
	uint64_t s[4];
	int have_spare;
	double spare;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed * 0x100000001b3ULL ^ (stream + 1) * 0xcbf29ce484222325ULL;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->have_spare = 0;
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double unif(struct rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static double unif_in(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * unif(r);
}

/* Uniform integer in [0, n). */
static size_t pick(struct rng *r, size_t n)
{
	return (size_t)(unif(r) * (double)n);
}

static double gauss(struct rng *r)
{
	double u, v;

	if (r->have_spare) {
		r->have_spare = 0;
		return r->spare;
	}
	u = 1.0 - unif(r);
	v = unif(r);
	r->spare = sqrt(-2 * log(u)) * sin(2 * M_PI * v);
	r->have_spare = 1;
	return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static double poisson(struct rng *r, double m)
{
	double l, p = 1;
	int k = 0;

	if (m <= 0)
		return 0;
	if (m > 30)
		return fmax(0, round(m + sqrt(m) * gauss(r)));
	l = exp(-m);
	do {
		k++;
		p *= unif(r);
	} while (p > l);
	return k - 1;
}

static void shuffle(struct rng *r, int *v, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = pick(r, i);
		int t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

/* --- the corpus plan ----------------------------------------------------- */

enum metric { LATENCY, COUNTS, PERCENT, QUEUE, KPI, SHIFT, NMETRICS };

static const struct {
	const char *category;
	const char *file;
} metrics[NMETRICS] = {
	[LATENCY] = { "opsLatency", "latency" },
	[COUNTS] = { "opsCounts", "requests" },
	[PERCENT] = { "opsPercent", "cpu" },
	[QUEUE] = { "opsQueues", "queue" },
	[KPI] = { "opsKpi", "orders" },
	[SHIFT] = { "opsShift", "shift5sd" },
};

enum kind {
	SPIKE, DIP, VARIANCE, MISSING_PEAK, FLATLINE,      /* transient */
	LEVEL_UP, LEVEL_DOWN, RAMP, SEASON_BREAK, WEEKLY,  /* persistent: the last of a series */
	LEVEL_UP_5SD,                                      /* opsShift's only anomaly */
	NKINDS
};

static const char *const kind_names[NKINDS] = {
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

static int persistent(enum kind k)
{
	return k >= LEVEL_UP;
}

struct anomaly {
	enum kind kind;
	size_t onset;   /* grid index */
	size_t dur;     /* grid points it lasts (persistent: to the end) */
	double size;    /* sd multiple, factor or hours, per kind */
	size_t row;     /* onset's row once gaps are cut */
	size_t first, last; /* its window, rows */
};

struct gap {
	size_t from, len; /* grid indices removed */
};

/* The shape parameters of one series. */
struct series {
	enum metric metric;
	char name[64];         /* "<category>/<file>.csv" */
	uint64_t stream;
	int64_t start;         /* seconds since the epoch, a multiple of step */
	int64_t step;
	size_t n;              /* grid points */
	double base;           /* mean level (or rate per minute for counts) */
	double trend;          /* relative change over the whole series */
	double amp;            /* daily peak over trough, minus 1 */
	double sharp;          /* daily shape exponent */
	double trough_h;       /* hour of the daily trough */
	double weekend;        /* weekend factor */
	double noise;          /* relative noise (sd for percent and shift) */
	double heavy;          /* probability of a heavy-tailed outlier */
	int64_t batch_at;      /* the nightly batch: second of day it starts */
	int64_t batch_len;     /* seconds */
	double batch_size;
	size_t nanom;
	struct anomaly anom[MAX_ANOMALIES];
	size_t ngaps;
	struct gap gaps[MAX_GAPS];
};

static const int64_t steps[] = { 60, 300, 600, 900, 3600 };

static double daily(const struct series *s, double hour)
{
	return pow(0.5 - 0.5 * cos(2 * M_PI * (hour - s->trough_h) / 24), s->sharp);
}

/* Hours after the trough at which daily() rises above 0.5, and how long it stays there. */
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
	s->n = 10000 + pick(r, 30001);
	s->step = weekly ? steps[2 + pick(r, 3)] : steps[pick(r, 5)];
	s->start = (int64_t)1704067200 + (int64_t)pick(r, 60) * DAY; /* 2024-01-01 + up to 60 days */
	s->start -= s->start % s->step;
	s->trend = unif_in(r, -0.25, 0.5);
	s->amp = unif_in(r, 0.8, 2.5);
	s->sharp = unif_in(r, 1, 2.5);
	s->trough_h = unif_in(r, 2, 6);
	s->weekend = unif_in(r, 0.55, 0.85);
	s->heavy = 0;
	s->batch_at = 2 * 3600 + (int64_t)pick(r, 4) * 15 * 60;
	s->batch_len = 600 + (int64_t)pick(r, 3) * 300;
	switch (s->metric) {
	case LATENCY:
		s->base = unif_in(r, 60, 250);
		s->amp *= 0.3;
		s->noise = unif_in(r, 0.08, 0.18);
		s->heavy = unif_in(r, 0.002, 0.006);
		s->batch_size = unif_in(r, 0.6, 1.5); /* relative rise */
		break;
	case COUNTS:
		s->base = unif_in(r, 3, 120); /* per minute */
		s->noise = unif_in(r, 0.05, 0.15);
		s->batch_size = unif_in(r, 1.5, 3);
		break;
	case PERCENT:
		s->base = unif_in(r, 0.08, 0.25);
		s->noise = unif_in(r, 0.015, 0.04);
		s->batch_size = unif_in(r, 0.2, 0.4); /* absolute fraction */
		break;
	case QUEUE:
		s->base = unif_in(r, 20, 400);
		s->noise = unif_in(r, 0.12, 0.25);
		s->batch_size = unif_in(r, 2, 4);
		break;
	case KPI:
		s->base = unif_in(r, 0.5, 15); /* orders per minute */
		s->amp = unif_in(r, 2, 5);
		s->weekend = unif_in(r, 0.4, 0.65);
		s->trend = unif_in(r, 0.1, 0.6);
		s->noise = unif_in(r, 0.05, 0.12);
		s->batch_size = 0;
		break;
	case SHIFT:
	case NMETRICS:
		s->n = 10000 + pick(r, 10001);
		s->step = 60;
		s->base = 100;
		s->trend = 0;
		s->amp = unif_in(r, 0.5, 1.5);
		s->weekend = 1;
		s->noise = unif_in(r, 0.02, 0.05); /* sd relative to base */
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
		a->dur = 1 + pick(r, 3);
		a->size = unif_in(r, 7, 12); /* sd */
		break;
	case DIP:
		a->dur = points_of(s, unif_in(r, 20, 180) * 60);
		a->size = unif_in(r, 0.05, 0.35); /* factor */
		break;
	case VARIANCE:
		a->dur = points_of(s, unif_in(r, 2, 8) * 3600);
		a->dur = a->dur < 6 ? 6 : a->dur;
		a->size = unif_in(r, 3, 5); /* factor on the noise */
		break;
	case MISSING_PEAK:
		peak_span(s, &from_h, &len_h);
		a->dur = points_of(s, len_h * 3600);
		a->size = len_h;
		break;
	case FLATLINE:
		a->dur = points_of(s, unif_in(r, 3, 12) * 3600);
		a->dur = a->dur < 6 ? 6 : a->dur;
		a->size = (double)a->dur * (double)s->step / 3600; /* hours */
		break;
	case LEVEL_UP:
	case LEVEL_DOWN:
		a->size = unif_in(r, 4, 7);
		break;
	case RAMP:
		a->dur = points_of(s, unif_in(r, 6, 48) * 3600);
		a->dur = a->dur < 12 ? 12 : a->dur;
		a->size = unif_in(r, 6, 10);
		break;
	case SEASON_BREAK:
		a->size = unif_in(r, 5, 9); /* hours the daily cycle moves */
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

		if (!persistent(a->kind) && a->kind != LEVEL_UP_5SD) {
			ntrans++;
			continue;
		}
		a->onset = (size_t)(unif_in(r, 0.55, 0.85) * (double)s->n);
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

		if (persistent(a->kind) || a->kind == LEVEL_UP_5SD)
			continue;
		/* the window [onset - half, onset + half] stays inside the segment */
		a->onset = from + half + 5 + (size_t)(unif_in(r, 0, 0.5) * (double)(seg - 2 * half - 10));
		if (a->kind == MISSING_PEAK)
			a->onset = align_peak(s, a->onset);
		if (a->onset + half + 5 > from + seg)
			return -1;
		t++;
	}
	for (size_t i = 0; i < s->nanom; i++) {
		struct anomaly *a = &s->anom[i];

		if (a->dur > half * 4 / 5 && !persistent(a->kind))
			a->dur = half * 4 / 5 ? half * 4 / 5 : 1;
		if (a->kind == RAMP && a->dur > half * 4 / 5)
			a->dur = half * 4 / 5;
	}
	qsort(s->anom, s->nanom, sizeof(*s->anom), cmp_anomaly);
	s->ngaps = pick(r, MAX_GAPS + 1);
	for (size_t g = 0; g < s->ngaps; g++) {
		struct gap *gp = &s->gaps[g];
		int clash;
		int tries = 0;

		do {
			gp->len = 2 + pick(r, 89);
			gp->from = PROBATION + pick(r, s->n - PROBATION - gp->len - 1);
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
static struct series *plan_corpus(uint64_t seed, size_t *np)
{
	size_t nmixed = 5 * SERIES_PER_CATEGORY, n = 0;
	struct series *all = xcalloc(NMETRICS * SERIES_PER_CATEGORY, sizeof(*all));
	int order[5 * SERIES_PER_CATEGORY], pers[32], trans[32];
	size_t npers = 0, ntrans = 0;
	struct rng r;

	rng_seed(&r, seed, 0);
	for (int k = 0; k < NKINDS; k++)
		for (int i = 0; i < deck_counts[k]; i++) {
			if (persistent((enum kind)k))
				pers[npers++] = k;
			else
				trans[ntrans++] = k;
		}
	shuffle(&r, pers, npers);
	shuffle(&r, trans, ntrans);
	for (size_t i = 0; i < nmixed; i++)
		order[i] = (int)i;
	shuffle(&r, order, nmixed);
	for (int m = 0; m < NMETRICS; m++)
		for (int i = 0; i < SERIES_PER_CATEGORY; i++) {
			struct series *s = &all[n++];

			s->metric = (enum metric)m;
			s->stream = n;
			snprintf(s->name, sizeof(s->name), "%s/%s_%02d.csv", metrics[m].category, metrics[m].file,
				 i + 1);
		}
	/* persistent kinds to the first npers series of a shuffled order, one transient each, the rest spread */
	for (size_t i = 0; i < npers; i++) {
		struct series *s = &all[order[i]];

		s->anom[s->nanom++].kind = (enum kind)pers[i];
	}
	for (size_t i = 0; i < ntrans; i++) {
		struct series *s = &all[i < nmixed ? (size_t)order[i] : (size_t)order[pick(&r, nmixed)]];

		while (s->nanom >= 3)
			s = &all[order[pick(&r, nmixed)]];
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
		rng_seed(&sr, seed, s->stream);
		do {
			plan_shape(s, &sr, weekly);
			for (size_t a = 0; a < s->nanom; a++)
				plan_effect(s, &s->anom[a], &sr);
		} while (plan_places(s, &sr)); /* a draw fits often: a few tries at most */
	}
	*np = n;
	return all;
}

/* --- generating the values ----------------------------------------------- */

static int active(const struct anomaly *a, enum kind k, size_t i)
{
	return a->kind == k && i >= a->onset && (persistent(k) || k == LEVEL_UP_5SD || i < a->onset + a->dur);
}

/* The noise-free level at grid index i, anomalies of the level included. */
static double level(const struct series *s, size_t i, double *sd)
{
	int64_t t = s->start + (int64_t)i * s->step;
	int64_t sod = t % DAY, dow = ((t / DAY) + 3) % 7; /* 0 = Monday */
	double trough = s->trough_h, weekend = s->weekend, d, m, mbar, mean_d = 0.3;
	double hour = (double)sod / 3600;
	const double scale = s->metric == COUNTS || s->metric == KPI ? (double)s->step / 60 : 1;
	double trend = 1 + s->trend * (double)i / (double)s->n;

	for (size_t a = 0; a < s->nanom; a++) {
		if (active(&s->anom[a], SEASON_BREAK, i))
			trough += s->anom[a].size;
		if (active(&s->anom[a], WEEKLY, i))
			weekend = 1;
	}
	{
		struct series moved = *s;

		moved.trough_h = trough;
		d = daily(&moved, hour);
	}
	for (size_t a = 0; a < s->nanom; a++)
		if (active(&s->anom[a], MISSING_PEAK, i))
			d = 0.05;
	m = s->base * scale * trend * (dow >= 5 ? weekend : 1) * (1 + s->amp * d);
	mbar = s->base * scale * trend * (1 + s->amp * mean_d);
	*sd = 0;
	switch (s->metric) {
	case COUNTS:
	case KPI:
		*sd = sqrt(mbar + mbar * mbar * s->noise * s->noise);
		break;
	case PERCENT:
	case SHIFT:
	case NMETRICS:
		*sd = s->noise * (s->metric == SHIFT ? s->base : 1);
		break;
	case LATENCY:
	case QUEUE:
		*sd = mbar * s->noise;
		break;
	}
	for (size_t a = 0; a < s->nanom; a++) {
		const struct anomaly *an = &s->anom[a];

		if (active(an, LEVEL_UP, i) || active(an, LEVEL_UP_5SD, i))
			m += an->size * *sd;
		if (active(an, LEVEL_DOWN, i))
			m = fmax(m - an->size * *sd, 0.1 * m);
		if (active(an, RAMP, i))
			m += an->size * *sd * fmin(1, (double)(i - an->onset + 1) / (double)an->dur);
		if (active(an, DIP, i))
			m *= an->size;
	}
	return m;
}

static int in_batch(const struct series *s, size_t i)
{
	int64_t sod = (s->start + (int64_t)i * s->step) % DAY;

	return s->batch_size > 0 && sod < s->batch_at + s->batch_len && s->batch_at < sod + s->step;
}

/* One observation around level m; `ar` carries the AR(1) noise state. */
static double observe(const struct series *s, struct rng *r, size_t i, double m, double sd, double *ar)
{
	double v;

	*ar = 0.7 * *ar + sqrt(1 - 0.49) * gauss(r);
	switch (s->metric) {
	case LATENCY:
		v = m * exp(s->noise * gauss(r) - s->noise * s->noise / 2);
		if (unif(r) < s->heavy)
			v *= 1 + 0.5 / pow(1 - unif(r), 1 / 1.8); /* Pareto tail */
		if (in_batch(s, i))
			v *= 1 + s->batch_size;
		return v;
	case COUNTS:
	case KPI:
		v = poisson(r, m * exp(s->noise * gauss(r) - s->noise * s->noise / 2) *
				       (in_batch(s, i) ? 1 + s->batch_size : 1));
		return v;
	case PERCENT:
		v = m + s->noise * *ar + (in_batch(s, i) ? s->batch_size : 0);
		if (unif(r) < 0.003)
			v += 4 * s->noise * fabs(gauss(r)); /* a busy moment */
		return 100 * fmin(1, fmax(0, v));
	case QUEUE:
		v = m * exp(1.5 * s->noise * *ar - s->noise * s->noise);
		if (in_batch(s, i))
			v += m * s->batch_size;
		return round(v);
	case SHIFT:
	case NMETRICS:
		break;
	}
	return m + sd * gauss(r);
}

static double clamp_metric(const struct series *s, double v)
{
	v = fmax(0, v);
	if (s->metric == PERCENT)
		v = fmin(100, v);
	if (s->metric == COUNTS || s->metric == KPI || s->metric == QUEUE)
		v = round(v);
	return v;
}

/* Every grid value, observation-level anomalies (spike, variance, flatline) applied. */
static double *generate(const struct series *s, uint64_t seed)
{
	double *v = XNEWARRAY(double, s->n), ar = 0;
	struct rng r;

	rng_seed(&r, seed, s->stream + 1000);
	for (size_t i = 0; i < s->n; i++) {
		double sd, m = level(s, i, &sd), x = observe(s, &r, i, m, sd, &ar);

		for (size_t a = 0; a < s->nanom; a++) {
			const struct anomaly *an = &s->anom[a];
			double unit = s->metric == PERCENT ? 100 : 1;

			if (active(an, VARIANCE, i) && (s->metric == LATENCY || s->metric == QUEUE))
				x = x > 0 ? m * pow(x / m, an->size) : x; /* multiplicative noise grows in logs */
			else if (active(an, VARIANCE, i))
				x = m * unit + (x - m * unit) * an->size + an->size * sd * unit * 0.5 * gauss(&r);
			if (active(an, SPIKE, i))
				x += an->size * sd * unit;
			if (active(an, FLATLINE, i) && i > 0)
				x = v[an->onset - 1];
		}
		v[i] = clamp_metric(s, x);
	}
	return v;
}

/* --- writing ------------------------------------------------------------- */

static int cut(const struct series *s, size_t i)
{
	for (size_t g = 0; g < s->ngaps; g++)
		if (i >= s->gaps[g].from && i < s->gaps[g].from + s->gaps[g].len)
			return 1;
	return 0;
}

/* Write the series' CSV; fill in the anomalies' rows and windows; *times gets each row's time. */
static int write_series(const char *out, struct series *s, uint64_t seed, int64_t **times, size_t *nrows)
{
	double *v = generate(s, seed);
	char *path = xasprintf("%s/data/%s", out, s->name), *slash = strrchr(path, '/');
	const char *fmt = s->metric == LATENCY || s->metric == PERCENT ? "%s,%.2f\n" :
			  s->metric == SHIFT ? "%s,%.3f\n" : "%s,%.0f\n";
	size_t rows = 0, len;
	struct vigil_error err = VIGIL_ERROR_INIT;
	FILE *fp;
	int rc = -1;

	*times = XNEWARRAY(int64_t, s->n);
	*slash = '\0';
	if (paths_mkdir_p(path, 0777, &err)) {
		fprintf(stderr, "gen-ops: %s\n", err.msg);
		goto out;
	}
	*slash = '/';
	fp = fopen(path, "w");
	if (!fp) {
		fprintf(stderr, "gen-ops: cannot write '%s': %s\n", path, strerror(errno));
		goto out;
	}
	fputs("timestamp,value\n", fp);
	for (size_t i = 0; i < s->n; i++) {
		char ts[32];

		if (cut(s, i))
			continue;
		for (size_t a = 0; a < s->nanom; a++)
			if (s->anom[a].onset == i)
				s->anom[a].row = rows;
		(*times)[rows] = s->start + (int64_t)i * s->step;
		nab_format_timestamp(ts, sizeof(ts), 1000 * (*times)[rows++]);
		fprintf(fp, fmt, ts, v[i]);
	}
	if (fclose(fp)) {
		fprintf(stderr, "gen-ops: cannot write '%s': %s\n", path, strerror(errno));
		goto out;
	}
	len = (size_t)(0.1 * (double)rows / (double)s->nanom);
	for (size_t a = 0; a < s->nanom; a++) {
		s->anom[a].first = s->anom[a].row - len / 2;
		s->anom[a].last = s->anom[a].row + len / 2;
	}
	*nrows = rows;
	rc = 0;
out:
	free(v);
	free(path);
	return rc;
}

static json_t *time_json(int64_t t, int nab_suffix)
{
	char ts[40];

	nab_format_timestamp(ts, sizeof(ts), 1000 * t);
	if (nab_suffix)
		return json_sprintf("%s.000000", ts);
	return json_string(ts);
}

static json_t *describe(const struct series *s, const struct anomaly *a, const int64_t *times)
{
	json_t *o = json_object(), *win = json_array();

	json_array_append_new(win, time_json(times[a->first], 1));
	json_array_append_new(win, time_json(times[a->last], 1));
	json_object_set_new(o, "kind", json_string(kind_names[a->kind]));
	json_object_set_new(o, "onset", time_json(times[a->row], 0));
	json_object_set_new(o, "window", win);
	json_object_set_new(o, "size", json_real(round(a->size * 100) / 100));
	if (!persistent(a->kind) && a->kind != LEVEL_UP_5SD)
		json_object_set_new(o, "minutes", json_integer((json_int_t)(a->dur * (size_t)s->step / 60)));
	return o;
}

static int wanted(const char *list, const char *category)
{
	size_t len = strlen(category);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n == len && !strncmp(p, category, len))
			return 1;
		p = end ? end + 1 : NULL;
	}
	return !list;
}

static int check_categories(const char *list)
{
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		int found = 0;

		for (int m = 0; m < NMETRICS; m++)
			found |= strlen(metrics[m].category) == n && !strncmp(p, metrics[m].category, n);
		if (!found) {
			fprintf(stderr, "gen-ops: --categories: unknown category '%.*s'\n", (int)n, p);
			return -1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

static int write_json(json_t *j, const char *out, const char *file)
{
	char *path = xasprintf("%s/labels/%s", out, file);
	int rc = json_dump_file(j, path, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(6));

	if (rc)
		fprintf(stderr, "gen-ops: cannot write '%s'\n", path);
	free(path);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "categories", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = "ops-corpus", *cats = NULL;
	uint64_t seed = 1;
	json_t *windows = json_object(), *kinds = json_object();
	size_t n, files = 0, anomalies = 0, points = 0;
	struct series *all;
	char *labels;
	struct vigil_error err = VIGIL_ERROR_INIT;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 's':
			errno = 0;
			seed = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || *optarg == '-') {
				fprintf(stderr, "gen-ops: --seed: '%s' is not a non-negative integer\n", optarg);
				goto usage;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'c':
			cats = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			json_decref(windows);
			json_decref(kinds);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind != argc || check_categories(cats))
		goto usage;
	labels = xasprintf("%s/labels", out);
	if (paths_mkdir_p(labels, 0777, &err)) {
		fprintf(stderr, "gen-ops: %s\n", err.msg);
		free(labels);
		goto out;
	}
	free(labels);
	all = plan_corpus(seed, &n);
	for (size_t i = 0; i < n; i++) {
		struct series *s = &all[i];
		json_t *wl = json_array(), *kl = json_array();
		int64_t *times = NULL;
		size_t rows;

		if (!wanted(cats, metrics[s->metric].category)) {
			json_decref(wl);
			json_decref(kl);
			continue;
		}
		if (write_series(out, s, seed, &times, &rows)) {
			free(times);
			free(all);
			json_decref(wl);
			json_decref(kl);
			goto out;
		}
		for (size_t a = 0; a < s->nanom; a++) {
			json_t *w = json_array();

			json_array_append_new(w, time_json(times[s->anom[a].first], 1));
			json_array_append_new(w, time_json(times[s->anom[a].last], 1));
			json_array_append_new(wl, w);
			json_array_append_new(kl, describe(s, &s->anom[a], times));
		}
		json_object_set_new(windows, s->name, wl);
		json_object_set_new(kinds, s->name, kl);
		files++;
		anomalies += s->nanom;
		points += rows;
		free(times);
	}
	free(all);
	if (write_json(windows, out, "combined_windows.json") || write_json(kinds, out, "kinds.json"))
		goto out;
	printf("gen-ops: seed %llu: %zu series, %zu points, %zu anomalies in %s/\n", (unsigned long long)seed, files,
	       points, anomalies, out);
	rc = 0;
	goto out;
usage:
	fputs(usage_text, stderr);
	rc = 2;
out:
	json_decref(windows);
	json_decref(kinds);
	return rc;
}

/*
 * gen-ops-values.c - the values of a planned series: a level with daily and
 * weekly cycles, trend and level anomalies, observed through each metric's
 * noise (heavy-tailed, Poisson, bounded, AR(1)), plus the nightly batch.
 */
#include <math.h>

#include "gen-ops.h"
#include "xmalloc.h"
#include "banned.h"

static double daily(const struct series *s, double hour)
{
	return pow(0.5 - 0.5 * cos(2 * M_PI * (hour - s->trough_h) / 24), s->sharp);
}

static int active(const struct anomaly *a, enum kind k, size_t i)
{
	return a->kind == k && i >= a->onset && (genops_persistent(k) || k == LEVEL_UP_5SD || i < a->onset + a->dur);
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

	*ar = 0.7 * *ar + sqrt(1 - 0.49) * genops_gauss(r);
	switch (s->metric) {
	case LATENCY:
		v = m * exp(s->noise * genops_gauss(r) - s->noise * s->noise / 2);
		if (genops_unif(r) < s->heavy)
			v *= 1 + 0.5 / pow(1 - genops_unif(r), 1 / 1.8); /* Pareto tail */
		if (in_batch(s, i))
			v *= 1 + s->batch_size;
		return v;
	case COUNTS:
	case KPI:
		v = genops_poisson(r, m * exp(s->noise * genops_gauss(r) - s->noise * s->noise / 2) *
				       (in_batch(s, i) ? 1 + s->batch_size : 1));
		return v;
	case PERCENT:
		v = m + s->noise * *ar + (in_batch(s, i) ? s->batch_size : 0);
		if (genops_unif(r) < 0.003)
			v += 4 * s->noise * fabs(genops_gauss(r)); /* a busy moment */
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
	return m + sd * genops_gauss(r);
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

/* Observation-level anomalies (spike, variance, flatline) applied here, level ones in level(). */
double *genops_values(const struct series *s, uint64_t seed)
{
	double *v = XNEWARRAY(double, s->n), ar = 0;
	struct rng r;

	genops_rng_seed(&r, seed, s->stream + 1000);
	for (size_t i = 0; i < s->n; i++) {
		double sd, m = level(s, i, &sd), x = observe(s, &r, i, m, sd, &ar);

		for (size_t a = 0; a < s->nanom; a++) {
			const struct anomaly *an = &s->anom[a];
			double unit = s->metric == PERCENT ? 100 : 1;

			if (active(an, VARIANCE, i) && (s->metric == LATENCY || s->metric == QUEUE))
				x = x > 0 ? m * pow(x / m, an->size) : x; /* multiplicative noise grows in logs */
			else if (active(an, VARIANCE, i))
				x = m * unit + (x - m * unit) * an->size + an->size * sd * unit * 0.5 * genops_gauss(&r);
			if (active(an, SPIKE, i))
				x += an->size * sd * unit;
			if (active(an, FLATLINE, i) && i > 0)
				x = v[an->onset - 1];
		}
		v[i] = clamp_metric(s, x);
	}
	return v;
}

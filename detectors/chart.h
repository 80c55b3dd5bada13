/*
 * chart.h - the in-control baseline of the control charts (ewma, cusum):
 * the median and robust sd (sorted.h) of the first `need` finite values of
 * a warm-up, and standardisation against it.  After an alarm a chart either
 * learns a new baseline from a new warm-up ("relearn") or keeps it and
 * restarts its statistic ("restart").  Header-only, like common.h.
 */
#ifndef VIGIL_DETECTORS_CHART_H
#define VIGIL_DETECTORS_CHART_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sorted.h"

#define CHART_PARAMS_SCHEMA \
	"\"warmup\": {\"type\": \"integer\", \"default\": 100, \"min\": 5, \"max\": 1000000," \
	" \"doc\": \"finite points the in-control median and robust sd are estimated from\"}," \
	"\"after_alarm\": {\"type\": \"string\", \"default\": \"relearn\", \"enum\": [\"relearn\", \"restart\"]," \
	" \"doc\": \"after an alarm, learn a new baseline from a new warm-up, or keep it and restart the statistic\"}," \
	"\"direction\": {\"type\": \"string\", \"default\": \"both\", \"enum\": [\"both\", \"up\", \"down\"]," \
	" \"doc\": \"which shifts count\"}"

struct chart_baseline {
	size_t need, have;
	double *buf;            /* the warm-up's finite values */
	double mu, sd, inv_sd;   /* inv_sd 0 for a constant baseline */
	int ready;
};

static inline int baseline_init(struct chart_baseline *b, size_t need)
{
	memset(b, 0, sizeof(*b));
	b->need = need;
	b->buf = malloc(need * sizeof(*b->buf));
	return b->buf ? 0 : -1;
}

static inline void baseline_release(struct chart_baseline *b)
{
	free(b->buf);
	b->buf = NULL;
}

/* Start a new warm-up. */
static inline void baseline_reset(struct chart_baseline *b)
{
	b->have = 0;
	b->ready = 0;
}

/* Feed a warm-up value (only finite ones count); returns 1 when the baseline just became ready. */
static inline int baseline_feed(struct chart_baseline *b, double v)
{
	if (!isfinite(v))
		return 0;
	b->buf[b->have++] = v;
	if (b->have < b->need)
		return 0;
	robust_location_scale(b->buf, b->have, &b->mu, &b->sd);
	b->inv_sd = b->sd > 0 ? 1 / b->sd : 0;
	b->ready = 1;
	return 1;
}

/* (v - mu) / sd; infinite for any other value when the baseline is constant. */
static inline double baseline_standardise(const struct chart_baseline *b, double v)
{
	double dev = v - b->mu;

	if (b->sd > 0)
		return dev * b->inv_sd;
	return dev == 0 ? 0 : dev > 0 ? INFINITY : -INFINITY;
}

/* The value whose standardised deviation is u (the band edges; mu for a constant baseline). */
static inline double baseline_value(const struct chart_baseline *b, double u)
{
	return b->mu + u * b->sd;
}

#endif

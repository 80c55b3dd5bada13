/*
 * likelihood.h - the anomaly likelihood of Numenta's NAB detectors (part of
 * libdetkit).  Ahmad, Lavin, Purdy and Agha, "Unsupervised real-time anomaly
 * detection for streaming data", Neurocomputing 262 (2017), section 4.3.
 *
 * A detector's raw score r_t in [0, 1] (how unexpected point t was) is noisy
 * and its level differs from series to series.  The likelihood compares the
 * short-term mean of the raw scores (the last `short_window`) with the
 * distribution of that mean over the last `long_window` points, modelled as
 * a normal with floors on its mean and variance, and returns the upper tail
 * probability p of the current short-term mean: sustained or sharp increases
 * of surprise give a small p, whatever the series' usual level of surprise.
 * Numenta's floors (mean >= 0.03, variance >= 0.0003) keep a perfectly
 * predictable series from turning the smallest surprise into an alarm.
 * O(1) per point.
 */
#ifndef VIGIL_DETECTORS_LIKELIHOOD_H
#define VIGIL_DETECTORS_LIKELIHOOD_H

#include <stddef.h>

struct likelihood {
	size_t short_window, long_window, min_history;
	double mean_floor, var_floor;
	double *raw;          /* ring of the last short_window raw scores */
	double *avg;          /* ring of the last long_window short-term means */
	size_t n_raw, n_avg, head_raw, head_avg, since_refresh;
	double sum_raw, sum_avg, sumsq_avg;
};

/*
 * short_window >= 1; long_window >= 2; min_history: short-term means needed
 * before p can be < 1.  Returns 0, or -1 when out of memory.
 */
int likelihood_init(struct likelihood *l, size_t short_window, size_t long_window, size_t min_history);
void likelihood_release(struct likelihood *l);

/*
 * Feed the raw score of the next point (NaN: a missing point, which adds
 * nothing) and return the tail probability of the short-term mean including
 * it, under the history before it (1 while learning).
 */
double likelihood_step(struct likelihood *l, double raw);

#endif

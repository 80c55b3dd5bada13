/*
 * tailprob.h - calibrated tail probabilities for raw anomaly statistics
 * (part of libdetkit).
 *
 * Many detectors compute a statistic with no known distribution (a nearest-
 * neighbour distance, a saliency ratio, a forecast error on heavy-tailed
 * data).  A tailprob turns it into p = P(V >= v) under the statistic's own
 * recent history, so that score = 1 - p follows the convention of
 * <vigil/detector.h> and means the same across detectors and series:
 *   - inside the bulk, p is the conformal p-value (#{past >= v} + 1) / (n + 1);
 *   - beyond the (1 - tail) quantile u, p continues with an exponential tail
 *     fitted to the excesses over u (the peaks-over-threshold method, as in
 *     Siffer et al., "Anomaly detection in streams with extreme value
 *     theory", KDD 2017, with the GPD shape fixed at 0), so unprecedented
 *     values keep getting smaller p instead of tying at 1 / (n + 1); when
 *     the top of the history is a single value (a statistic that is mostly
 *     0) the scale is the mean excess of the whole history over its
 *     minimum, and only a constant history gives p = 0 above it.
 * The history is the last `cap` pushed values, kept sorted: O(log cap) to
 * query, O(cap) memmove to push.  The tail (u and the mean excess) is refit
 * whenever a value enters or leaves it, and otherwise every TAILPROB_REFIT
 * pushes (u drifts with the bulk): O(tail * cap) each time.
 */
#ifndef VIGIL_DETECTORS_TAILPROB_H
#define VIGIL_DETECTORS_TAILPROB_H

#include <stddef.h>

#define TAILPROB_REFIT 16

struct tailprob {
	size_t cap, n, head;
	double tail;
	double *ring;     /* values in arrival order (a ring of cap) */
	double *sorted;   /* the same values, ascending */
	/* the tail fit (refreshed by push): threshold u, values above it, their mean excess */
	double u, mean_excess, p_u;
	size_t since_fit;
};

/* Returns 0, or -1 when out of memory.  tail in (0, 0.5]. */
int tailprob_init(struct tailprob *t, size_t cap, double tail);
void tailprob_release(struct tailprob *t);

/* P(V >= v) under the history; 1 with no history, 0 for v = +Inf. */
double tailprob_p(const struct tailprob *t, double v);

/*
 * The smallest statistic whose tail probability is at most p (the inverse of
 * tailprob_p(), for bands): +Inf with no history.
 */
double tailprob_inverse(const struct tailprob *t, double p);

/* Add v (finite) to the history, dropping the oldest value when full. */
void tailprob_push(struct tailprob *t, double v);

#endif

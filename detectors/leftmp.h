/*
 * leftmp.h - the causal left matrix profile (part of libdetkit): for each
 * point i, the distance from the subsequence x[i-m+1..i] to its nearest
 * neighbour among the earlier subsequences that end `excl` to `hist` points
 * before it.  Yeh et al., "Matrix Profile I" (ICDM 2016) and Zhu et al.,
 * "Matrix Profile II: STOMP" (ICDM 2016); the left profile and its use for
 * streaming discords as in Zhu et al., "Matrix Profile IX" (ICDM 2017).
 *
 * STOMP's recurrence is kept per lag L: the dot product of the subsequences
 * ending at i and i - L is updated from the one ending at i - 1 and i - 1 - L
 * in O(1), so each point costs O(hist) (a loop the compiler vectorises), and
 * the dot products are recomputed exactly every `hist` points so rounding
 * cannot accumulate (O(m) per point amortised).  Values are taken relative
 * to the first finite value, which leaves every distance unchanged and keeps
 * the sums small.  A subsequence with a missing or infinite value has no
 * distance and is nobody's neighbour.
 *
 * Distances are z-normalised Euclidean (the matrix profile's; 0 between two
 * constant subsequences, sqrt(m) between a constant and a varying one), or
 * plain Euclidean when `znorm` is 0 (level matters).
 */
#ifndef VIGIL_DETECTORS_LEFTMP_H
#define VIGIL_DETECTORS_LEFTMP_H

#include <stddef.h>

struct leftmp {
	size_t m, hist, excl;
	int znorm;
	size_t next;         /* the next index step() expects */
	size_t last_bad;     /* 1 + index of the last non-finite value (0: none yet) */
	size_t since_exact;
	double *qt;          /* qt[L], L in [excl, hist]: dot product of the subsequences ending at i and i - L */
	double *mu, *sig, *ss;   /* per subsequence end, a ring of hist + 1: mean, std, sum of squares */
	unsigned char *ok;       /* per subsequence end: valid */
	double sum, sumsq;   /* over the current window, relative to ref */
};

/* m >= 2, excl >= 1, hist >= excl.  Returns 0 or -1 when out of memory. */
int leftmp_init(struct leftmp *mp, size_t m, size_t hist, size_t excl, int znorm);
void leftmp_release(struct leftmp *mp);

/*
 * The values the profile works on: c[t] = x[t] - x[f] for finite x[t], f
 * the first finite point, and 0 for missing or infinite values (causal:
 * c[t] depends on x[0..t]).
 */
void leftmp_clean(const double *x, size_t n, double *c);

/*
 * Advance to point i (call with i = 0, 1, 2, ... of the same series x and
 * its cleaned values c) and return the nearest-neighbour distance of the
 * subsequence ending at i, or NaN when it is not valid or has no valid
 * neighbour yet.
 */
double leftmp_step(struct leftmp *mp, const double *x, const double *c, size_t i);

#endif

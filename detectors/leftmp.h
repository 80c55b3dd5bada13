/*
 * leftmp.h - the causal left matrix profile (part of libdetkit): for each
 * point i, the distance from the subsequence x[i-m+1..i] to its nearest
 * neighbour among the earlier subsequences that end `excl` to `hist` points
 * before it.  Yeh et al., "Matrix Profile I" (ICDM 2016) and Zhu et al.,
 * "Matrix Profile II: STOMP" (ICDM 2016); the left profile as in Zhu et
 * al., "Matrix Profile VII: Time Series Chains" (ICDM 2017).
 *
 * STOMP's recurrence is kept per lag L: the dot product of the subsequences
 * ending at i and i - L is updated from the one ending at i - 1 and i - 1 - L
 * in O(1), so each point costs O(hist) (loops running forwards over memory),
 * and the dot products are recomputed exactly every `hist` points so
 * rounding cannot accumulate (O(m) per point amortised).  Values are taken relative
 * to the first finite value, which leaves every distance unchanged and keeps
 * the sums small.  Memory is O(hist + m) whatever the length of the series:
 * the profile keeps its own cleaned copy of the last hist + m + 1 values.  A subsequence with a missing or infinite value has no
 * distance and is nobody's neighbour.
 *
 * Distances are z-normalised Euclidean (the matrix profile's; 0 between two
 * constant subsequences, sqrt(m) between a constant and a varying one), or
 * plain Euclidean when `znorm` is 0 (level matters).
 *
 * Missing and infinite values: a subsequence is valid when its last value
 * is finite and at most a quarter of its values are not; the missing ones
 * take the last finite value before them (a causal fill), so scattered gaps
 * do not blind the profile.  An invalid subsequence has no distance and is
 * nobody's neighbour.
 */
#ifndef VIGIL_DETECTORS_LEFTMP_H
#define VIGIL_DETECTORS_LEFTMP_H

#include <stddef.h>

struct leftmp {
	size_t m, hist, excl;
	int znorm;
	size_t next;         /* the next index step() expects */
	size_t bad;          /* non-finite values among the last m */
	size_t since_exact;
	double *qt;          /* qt[L], L in [excl, hist]: dot product of the subsequences ending at i and i - L */
	double *mu, *sig, *ss;   /* per subsequence end, a ring of hist + 1: mean, std, sum of squares */
	double *ssv;             /* ss, or +Inf for an invalid subsequence (a branch-free minimum) */
	unsigned char *ok;       /* per subsequence end: valid */
	double sum, sumsq;   /* over the current window, relative to ref */
	/*
	 * The cleaned values (below) of the last `span` = hist + m + 1 points,
	 * each stored twice (at t mod span and span later) so that any run of
	 * them is contiguous; the cleaning state: the reference value, its
	 * binary exponent, the last cleaned value.
	 */
	double *cring;
	size_t span;
	double ref, last;
	int e, have;
	/*
	 * 1 when the CPU has AVX2 (x86-64, found at init): the steady step then
	 * runs four lanes wide, with the same bits as the portable path.  A test
	 * may set it to 0 to run the portable path.  avx512: the same, eight
	 * lanes wide, when the CPU also has AVX-512F.
	 */
	int avx2, avx512;
};

/* m >= 2, excl >= 1, hist >= excl.  Returns 0 or -1 when out of memory. */
int leftmp_init(struct leftmp *mp, size_t m, size_t hist, size_t excl, int znorm);
void leftmp_release(struct leftmp *mp);

/*
 * Advance to point i (call with i = 0, 1, 2, ... of the same series x) and
 * return the nearest-neighbour distance of the subsequence ending at i, or
 * NaN when it is not valid or has no valid neighbour yet.  Reads x[i] and
 * x[i - m] only.
 *
 * The profile works on cleaned values: c[t] = (y[t] - x[f]) 2^-e, y[t] the
 * last finite value at or before t, f the first finite point and e the
 * binary exponent of x[f] (so values near 1e300 cannot overflow their
 * squares; scaling by a power of two is exact); 0 before the first finite
 * value.  Causal: c[t] depends on x[0..t].  The distances returned are in
 * those units: in the series' units a distance d is ldexp(d,
 * leftmp_exponent()).
 */
double leftmp_step(struct leftmp *mp, const double *x, size_t i);

/* e above (fixed at the first finite value; 0 before it). */
int leftmp_exponent(const struct leftmp *mp);

#endif

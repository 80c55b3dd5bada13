/* leftmp.c - the causal left matrix profile, STOMP's recurrence per lag. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LEFTMP_AVX2 1
#endif

#include "leftmp.h"
#include "banned.h"

int leftmp_init(struct leftmp *mp, size_t m, size_t hist, size_t excl, int znorm)
{
	memset(mp, 0, sizeof(*mp));
	mp->m = m < 2 ? 2 : m;
	mp->excl = excl < 1 ? 1 : excl;
	mp->hist = hist < mp->excl ? mp->excl : hist;
	mp->znorm = znorm;
#ifdef LEFTMP_AVX2
	__builtin_cpu_init();
	mp->avx2 = __builtin_cpu_supports("avx2");
	mp->avx512 = mp->avx2 && __builtin_cpu_supports("avx512f");
#endif
	mp->qt = calloc(mp->hist + 1, sizeof(double));
	mp->mu = calloc(mp->hist + 1, sizeof(double));
	mp->sig = calloc(mp->hist + 1, sizeof(double));
	mp->ss = calloc(mp->hist + 1, sizeof(double));
	mp->ssv = calloc(mp->hist + 1, sizeof(double));
	mp->ok = calloc(mp->hist + 1, 1);
	/* the cleaned values of the last hist + m + 1 points, twice (see cv()) */
	mp->span = mp->hist + mp->m + 1;
	mp->cring = calloc(2 * mp->span, sizeof(double));
	if (!mp->qt || !mp->mu || !mp->sig || !mp->ss || !mp->ssv || !mp->ok || !mp->cring) {
		leftmp_release(mp);
		return -1;
	}
	return 0;
}

void leftmp_release(struct leftmp *mp)
{
	free(mp->qt);
	free(mp->mu);
	free(mp->sig);
	free(mp->ss);
	free(mp->ssv);
	free(mp->ok);
	free(mp->cring);
	mp->qt = mp->mu = mp->sig = mp->ss = mp->ssv = mp->cring = NULL;
	mp->ok = NULL;
}

int leftmp_exponent(const struct leftmp *mp)
{
	return mp->e;
}

/*
 * The cleaned values from point t on, contiguous: value t + k is cv(t)[k]
 * for t + k <= the current point, as long as t is one of the last span
 * points.  Each value is stored at t mod span and again span later, so
 * every window of up to span values is one run of memory.
 */
static const double *cv(const struct leftmp *mp, size_t t)
{
	return mp->cring + t % mp->span;
}

/* Clean x (see leftmp.h) into the ring, and return the cleaned value. */
static double clean_push(struct leftmp *mp, double x, size_t i)
{
	size_t k = i % mp->span;

	if (isfinite(x)) {
		if (!mp->have) {
			mp->ref = x;
			mp->e = x != 0 ? ilogb(x) : 0;
			mp->have = 1;
		}
		mp->last = ldexp(x - mp->ref, -mp->e);
	}
	mp->cring[k] = mp->cring[k + mp->span] = mp->last;
	return mp->last;
}

/*
 * STOMP's update over consecutive lags, stored by reverse lag r = hist - L
 * so every array runs forwards (the compiler vectorises it):
 * qt[r] += v a[r] - old b[r].
 */
static void qt_update(double *restrict qt, const double *restrict a, const double *restrict b, size_t len,
                      double v, double old)
{
	for (size_t r = 0; r < len; r++)
		qt[r] += v * a[r] - old * b[r];
}

/*
 * Two lanes of doubles (GCC and clang vector extensions: one SSE2 register
 * on x86-64, one NEON register on arm64).  Each lane does exactly the scalar
 * arithmetic, so results are the same bits as a scalar loop.
 */
typedef double lanes __attribute__((vector_size(2 * sizeof(double))));
typedef long long lane_mask __attribute__((vector_size(2 * sizeof(double))));

static inline lanes lanes_load(const double *p)
{
	lanes v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The lane-wise minimum (no NaN among the values): one instruction on x86-64. */
static inline lanes lanes_min(lanes a, lanes b)
{
#ifdef __SSE2__
	return (lanes)_mm_min_pd((__m128d)a, (__m128d)b);
#else
	lane_mask lt = a < b;

	return (lanes)(((lane_mask)a & lt) | ((lane_mask)b & ~lt));
#endif
}

/* The steady step's lags r..len - 1 one at a time (what the vector loops leave over); their smallest value. */
static double update_min_rest(double *restrict qt, const double *restrict a, const double *restrict b,
                              const double *restrict ssv, size_t r, size_t len, double v, double old)
{
	double best = INFINITY;

	for (; r < len; r++) {
		double d;

		qt[r] += v * a[r] - old * b[r];
		d = ssv[r] - 2 * qt[r];
		best = d < best ? d : best;
	}
	return best;
}

/*
 * The steady step in one pass over the lags of a run: qt[r] += v a[r] -
 * old b[r] (STOMP's update, as qt_update()), then the smallest ssv[r] - 2
 * qt[r] (as min_plain()).  The minimum of a set does not depend on the order
 * it is taken in (no value is NaN: ssv is finite or +Inf, qt finite).
 */
static double update_min_plain(double *restrict qt, const double *restrict a, const double *restrict b,
                               const double *restrict ssv, size_t len, double v, double old)
{
	lanes lv = { v, v }, lold = { old, old }, two = { 2, 2 };
	lanes m[4] = { { INFINITY, INFINITY }, { INFINITY, INFINITY }, { INFINITY, INFINITY }, { INFINITY, INFINITY } };
	double best;
	size_t r = 0;

	/* four independent minima, so the loop is not one long dependency chain */
	for (; r + 8 <= len; r += 8) {
		for (int k = 0; k < 4; k++) {
			size_t j = r + 2 * (size_t)k;
			lanes q = lanes_load(qt + j) + (lv * lanes_load(a + j) - lold * lanes_load(b + j));

			memcpy(qt + j, &q, sizeof(q));
			m[k] = lanes_min(lanes_load(ssv + j) - two * q, m[k]);
		}
	}
	m[0] = lanes_min(lanes_min(m[0], m[1]), lanes_min(m[2], m[3]));
	best = update_min_rest(qt, a, b, ssv, r, len, v, old);
	for (int k = 0; k < 2; k++)
		best = m[0][k] < best ? m[0][k] : best;
	return best;
}

#ifdef LEFTMP_AVX2
/*
 * update_min_plain() LANES wide with the W-bit intrinsics of x86-64, for
 * CPUs with AVX2 (four lanes) or AVX-512F (eight), chosen at run time: the
 * binary still runs without them.  AVX-512F has fused multiply-adds, so
 * contraction is turned off: each lane does exactly the scalar arithmetic,
 * the same bits as the portable path (a test compares the three).  Four
 * running minima over 4 * LANES lags an iteration, then LANES at a time,
 * then one at a time.  Defined once per width: the macro's body is the same
 * code for both.
 */
#define LEFTMP_STEP(W, j, m) \
	do { \
		__m##W##d q_ = _mm##W##_add_pd(_mm##W##_loadu_pd(qt + (j)), \
		                              _mm##W##_sub_pd(_mm##W##_mul_pd(lv, _mm##W##_loadu_pd(a + (j))), \
		                                              _mm##W##_mul_pd(lold, _mm##W##_loadu_pd(b + (j))))); \
		_mm##W##_storeu_pd(qt + (j), q_); \
		m = _mm##W##_min_pd(_mm##W##_sub_pd(_mm##W##_loadu_pd(ssv + (j)), _mm##W##_mul_pd(two, q_)), m); \
	} while (0)

#define LEFTMP_WIDE(SUFFIX, W, LANES, ATTR) \
ATTR static double update_min_plain_##SUFFIX(double *restrict qt, const double *restrict a, \
                                             const double *restrict b, const double *restrict ssv, size_t len, \
                                             double v, double old) \
{ \
	__m##W##d lv = _mm##W##_set1_pd(v), lold = _mm##W##_set1_pd(old), two = _mm##W##_set1_pd(2); \
	__m##W##d m0 = _mm##W##_set1_pd(INFINITY), m1 = m0, m2 = m0, m3 = m0; \
	double best, mins[LANES]; \
	size_t r = 0; \
\
	for (; r + 4 * LANES <= len; r += 4 * LANES) { \
		LEFTMP_STEP(W, r, m0); \
		LEFTMP_STEP(W, r + LANES, m1); \
		LEFTMP_STEP(W, r + 2 * LANES, m2); \
		LEFTMP_STEP(W, r + 3 * LANES, m3); \
	} \
	for (; r + LANES <= len; r += LANES) \
		LEFTMP_STEP(W, r, m1); \
	m0 = _mm##W##_min_pd(_mm##W##_min_pd(m0, m1), _mm##W##_min_pd(m2, m3)); \
	_mm##W##_storeu_pd(mins, m0); \
	best = update_min_rest(qt, a, b, ssv, r, len, v, old); \
	for (int k = 0; k < LANES; k++) \
		best = mins[k] < best ? mins[k] : best; \
	return best; \
}

LEFTMP_WIDE(avx2, 256, 4, __attribute__((target("avx2"), optimize("fp-contract=off"))))
LEFTMP_WIDE(avx512, 512, 8, __attribute__((target("avx512f"), optimize("fp-contract=off"))))
#endif

/* Exact dot product of the subsequences ending at a and b, summed from their ends back. */
static double dot(const struct leftmp *mp, size_t a, size_t b)
{
	size_t m = mp->m;
	const double *ca = cv(mp, a + 1 - m), *cb = cv(mp, b + 1 - m);
	double s = 0;

	for (size_t j = m; j-- > 0;)
		s += ca[j] * cb[j];
	return s;
}

/*
 * The smallest squared plain distance over reverse lags r0..r1, ring slots
 * off + r: ss_i + ss_o - 2 qt, with invalid subsequences at +Inf; four
 * running minima so the loop is not one long dependency chain.
 */
static double min_plain(const struct leftmp *mp, size_t slot, size_t off, size_t r0, size_t r1)
{
	/* off + r wraps around in unsigned arithmetic to the right slot; no pointer goes out of the array */
	const double *qt = mp->qt, *ssv = mp->ssv;
	double m0 = INFINITY, m1 = INFINITY, m2 = INFINITY, m3 = INFINITY;
	size_t r = r0;

	for (; r + 3 <= r1; r += 4) {
		double d0 = ssv[off + r] - 2 * qt[r], d1 = ssv[off + r + 1] - 2 * qt[r + 1];
		double d2 = ssv[off + r + 2] - 2 * qt[r + 2], d3 = ssv[off + r + 3] - 2 * qt[r + 3];

		m0 = d0 < m0 ? d0 : m0;
		m1 = d1 < m1 ? d1 : m1;
		m2 = d2 < m2 ? d2 : m2;
		m3 = d3 < m3 ? d3 : m3;
	}
	for (; r <= r1; r++) {
		double d = ssv[off + r] - 2 * qt[r];

		m0 = d < m0 ? d : m0;
	}
	m0 = fmin(fmin(m0, m1), fmin(m2, m3));
	return mp->ss[slot] + m0;
}

/* The smallest squared z-normalised distance over reverse lags r0..r1 (ring slots off + r). */
static double min_znorm(const struct leftmp *mp, size_t slot, size_t off, size_t r0, size_t r1)
{
	const double *qt = mp->qt, *mu = mp->mu, *sig = mp->sig;
	const unsigned char *ok = mp->ok;
	double mi = mu[slot], si = sig[slot], dm = (double)mp->m, best = INFINITY;

	for (size_t r = r0; r <= r1; r++) {
		size_t o = off + r;
		double d2;

		if (!ok[o])
			continue;
		if (si > 0 && sig[o] > 0)
			d2 = 2 * dm * (1 - (qt[r] - dm * mi * mu[o]) / (dm * si * sig[o]));
		else
			d2 = si > 0 || sig[o] > 0 ? dm : 0;
		if (d2 < best)
			best = d2;
	}
	return best;
}

/*
 * The ring slots of the subsequences at lags excl..lmax, as at most two runs
 * of consecutive slots (slot of lag L = (i - L) mod (H + 1)) walked without a
 * division per lag: runs[k] = {L0, L1, off}, the slot of lag L in the run being
 * off + (H - L) (unsigned wrap-around: off + r is always in the array).
 */
static size_t lag_runs(const struct leftmp *mp, size_t slot, size_t lmax, size_t runs[2][3])
{
	size_t H = mp->hist, nruns = 0, cand[2][2], nc = 0;

	if (mp->excl <= slot && mp->excl <= lmax)
		cand[nc][0] = mp->excl, cand[nc++][1] = slot < lmax ? slot : lmax;
	if (lmax > slot)
		cand[nc][0] = slot + 1 > mp->excl ? slot + 1 : mp->excl, cand[nc++][1] = lmax;
	for (size_t k = 0; k < nc; k++) {
		size_t L0 = cand[k][0], L1 = cand[k][1];
		size_t base = L0 <= slot ? slot : slot + H + 1;

		if (L0 > L1)
			continue;
		runs[nruns][0] = L0;
		runs[nruns][1] = L1;
		runs[nruns++][2] = base - H;
	}
	return nruns;
}

/* A valid step of plain distances with every lag already present: update and search in one pass per run. */
static double fused_step(struct leftmp *mp, size_t i, size_t slot, size_t lmax, double v, double old)
{
	size_t H = mp->hist, m = mp->m, runs[2][3], nruns = lag_runs(mp, slot, lmax, runs);
	double best = INFINITY;

	for (size_t k = 0; k < nruns; k++) {
		size_t r0 = H - runs[k][1], len = runs[k][1] - runs[k][0] + 1;

		double *qt = mp->qt + r0;
		const double *a = cv(mp, i - runs[k][1]), *b = cv(mp, i - m - runs[k][1]);
		const double *ssv = mp->ssv + (runs[k][2] + r0);

#ifdef LEFTMP_AVX2
		if (mp->avx512) {
			best = fmin(best, update_min_plain_avx512(qt, a, b, ssv, len, v, old));
			continue;
		}
		if (mp->avx2) {
			best = fmin(best, update_min_plain_avx2(qt, a, b, ssv, len, v, old));
			continue;
		}
#endif
		best = fmin(best, update_min_plain(qt, a, b, ssv, len, v, old));
	}
	best = mp->ss[slot] + best;
	return isinf(best) ? NAN : sqrt(best > 0 ? best : 0);
}

double leftmp_step(struct leftmp *mp, const double *x, size_t i)
{
	size_t m = mp->m, H = mp->hist, slot = i % (H + 1), lmax;
	double best = INFINITY, v, old = 0;
	int valid, exact;

	if (i != mp->next)
		return NAN;   /* misuse: steps must be consecutive */
	mp->next = i + 1;
	mp->bad += !isfinite(x[i]);
	if (i >= m)
		mp->bad -= !isfinite(x[i - m]);
	/* the window sums (of cleaned values) */
	v = clean_push(mp, x[i], i);
	mp->sum += v;
	mp->sumsq += v * v;
	if (i >= m) {
		old = cv(mp, i - m)[0];
		mp->sum -= old;
		mp->sumsq -= old * old;
	}
	if (i + 1 < m) {
		mp->ok[slot] = 0;
		mp->ssv[slot] = INFINITY;
		return NAN;
	}
	exact = ++mp->since_exact >= H || i + 1 == m;
	if (exact) {
		/* refresh the sums and every dot product from scratch */
		mp->since_exact = 0;
		const double *w = cv(mp, i + 1 - m);

		mp->sum = mp->sumsq = 0;
		for (size_t j = m; j-- > 0;) {
			mp->sum += w[j];
			mp->sumsq += w[j] * w[j];
		}
	}
	valid = isfinite(x[i]) && 4 * mp->bad <= m;
	{
		double mu = mp->sum / (double)m, var = mp->sumsq / (double)m - mu * mu;

		mp->mu[slot] = mu;
		mp->sig[slot] = var > 1e-12 * (mp->sumsq / (double)m) && var > 0 ? sqrt(var) : 0;
		mp->ss[slot] = mp->sumsq;
		mp->ssv[slot] = valid ? mp->sumsq : INFINITY;
		mp->ok[slot] = (unsigned char)valid;
	}
	/* lags whose other subsequence exists: i - L >= m - 1 */
	lmax = i + 1 - m < H ? i + 1 - m : H;
	/* qt[H - L] is the dot product at lag L */
	if (exact) {
		for (size_t L = mp->excl; L <= lmax; L++)
			mp->qt[H - L] = dot(mp, i, i - L);
	} else if (valid && !mp->znorm && lmax + m <= i) {
		/* the steady step (no new lag): update and search in one pass */
		return fused_step(mp, i, slot, lmax, v, old);
	} else {
		size_t top = lmax == i + 1 - m ? lmax - 1 : lmax;   /* a lag that is new this step */

		if (mp->excl <= top)
			qt_update(mp->qt + (H - top), cv(mp, i - top), cv(mp, i - m - top), top - mp->excl + 1, v, old);
		if (top < lmax)
			mp->qt[H - lmax] = dot(mp, i, i - lmax);
	}
	if (!valid)
		return NAN;
	{
		size_t runs[2][3], nruns = lag_runs(mp, slot, lmax, runs);

		for (size_t k = 0; k < nruns; k++) {
			size_t L0 = runs[k][0], L1 = runs[k][1], off = runs[k][2];

			best = fmin(best, mp->znorm ? min_znorm(mp, slot, off, H - L1, H - L0)
			                            : min_plain(mp, slot, off, H - L1, H - L0));
		}
	}
	return isinf(best) ? NAN : sqrt(best > 0 ? best : 0);
}

/* leftmp.c - the causal left matrix profile, STOMP's recurrence per lag. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "leftmp.h"
#include "banned.h"

int leftmp_init(struct leftmp *mp, size_t m, size_t hist, size_t excl, int znorm)
{
	memset(mp, 0, sizeof(*mp));
	mp->m = m < 2 ? 2 : m;
	mp->excl = excl < 1 ? 1 : excl;
	mp->hist = hist < mp->excl ? mp->excl : hist;
	mp->znorm = znorm;
	mp->qt = calloc(mp->hist + 1, sizeof(double));
	mp->mu = calloc(mp->hist + 1, sizeof(double));
	mp->sig = calloc(mp->hist + 1, sizeof(double));
	mp->ss = calloc(mp->hist + 1, sizeof(double));
	mp->ok = calloc(mp->hist + 1, 1);
	if (!mp->qt || !mp->mu || !mp->sig || !mp->ss || !mp->ok) {
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
	free(mp->ok);
	mp->qt = mp->mu = mp->sig = mp->ss = NULL;
	mp->ok = NULL;
}

int leftmp_clean(const double *x, size_t n, double *c)
{
	double ref = 0, last = 0;
	int have = 0, e = 0;

	for (size_t t = 0; t < n; t++) {
		if (!isfinite(x[t])) {
			c[t] = last;
			continue;
		}
		if (!have) {
			ref = x[t];
			e = ref != 0 ? ilogb(ref) : 0;
			have = 1;
		}
		c[t] = last = ldexp(x[t] - ref, -e);
	}
	return e;
}

/* Exact dot product of the subsequences ending at a and b. */
static double dot(const double *c, size_t m, size_t a, size_t b)
{
	double s = 0;

	for (size_t j = 0; j < m; j++)
		s += c[a - j] * c[b - j];
	return s;
}

double leftmp_step(struct leftmp *mp, const double *x, const double *c, size_t i)
{
	size_t m = mp->m, H = mp->hist, slot = i % (H + 1), lmax;
	double best = INFINITY, v;
	int valid, exact;

	if (i != mp->next)
		return NAN;   /* misuse: steps must be consecutive */
	mp->next = i + 1;
	mp->bad += !isfinite(x[i]);
	if (i >= m)
		mp->bad -= !isfinite(x[i - m]);
	/* the window sums (of cleaned values) */
	v = c[i];
	mp->sum += v;
	mp->sumsq += v * v;
	if (i >= m) {
		double o = c[i - m];

		mp->sum -= o;
		mp->sumsq -= o * o;
	}
	if (i + 1 < m) {
		mp->ok[slot] = 0;
		return NAN;
	}
	exact = ++mp->since_exact >= H || i + 1 == m;
	if (exact) {
		/* refresh the sums and every dot product from scratch */
		mp->since_exact = 0;
		mp->sum = mp->sumsq = 0;
		for (size_t j = 0; j < m; j++) {
			double cj = c[i - j];

			mp->sum += cj;
			mp->sumsq += cj * cj;
		}
	}
	valid = isfinite(x[i]) && 4 * mp->bad <= m;
	{
		double mu = mp->sum / (double)m, var = mp->sumsq / (double)m - mu * mu;

		mp->mu[slot] = mu;
		mp->sig[slot] = var > 1e-12 * (mp->sumsq / (double)m) && var > 0 ? sqrt(var) : 0;
		mp->ss[slot] = mp->sumsq;
		mp->ok[slot] = (unsigned char)valid;
	}
	/* lags whose other subsequence exists: i - L >= m - 1 */
	lmax = i + 1 - m < H ? i + 1 - m : H;
	if (exact) {
		for (size_t L = mp->excl; L <= lmax; L++)
			mp->qt[L] = dot(c, m, i, i - L);
	} else {
		double *qt = mp->qt, old = c[i - m];
		size_t top = lmax == i + 1 - m ? lmax - 1 : lmax;   /* a lag that is new this step */

		for (size_t L = mp->excl; L <= top; L++)
			qt[L] += v * c[i - L] - old * c[i - m - L];
		if (top < lmax)
			qt[lmax] = dot(c, m, i, i - lmax);
	}
	if (!valid)
		return NAN;
	{
		const double *qt = mp->qt, *mu = mp->mu, *sig = mp->sig, *ss = mp->ss;
		const unsigned char *ok = mp->ok;
		double mi = mu[slot], si = sig[slot], ssi = ss[slot], dm = (double)m;

		for (size_t L = mp->excl; L <= lmax; L++) {
			size_t o = (i - L) % (H + 1);
			double d2;

			if (!ok[o])
				continue;
			if (!mp->znorm) {
				d2 = ssi + ss[o] - 2 * qt[L];
			} else if (si > 0 && sig[o] > 0) {
				double corr = (qt[L] - dm * mi * mu[o]) / (dm * si * sig[o]);

				d2 = 2 * dm * (1 - corr);
			} else {
				d2 = si > 0 || sig[o] > 0 ? dm : 0;
			}
			if (d2 < best)
				best = d2;
		}
	}
	return isinf(best) ? NAN : sqrt(best > 0 ? best : 0);
}

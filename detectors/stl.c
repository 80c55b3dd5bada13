/*
 * stl.c - STL decomposition, after the reference Fortran (netlib "stl").
 * Indices are 0-based here; the loess abscissae stay 1-based as in the
 * Fortran so the arithmetic (and the results) match it.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "kit.h"
#include "stl.h"
#include "banned.h"

static size_t next_odd(size_t x)
{
	return x % 2 ? x : x + 1;
}

void stl_params_periodic_robust(struct stl_params *sp, size_t period)
{
	memset(sp, 0, sizeof(*sp));
	sp->period = period;
	sp->s_window = 0;
	sp->s_degree = 0;
	sp->t_degree = 1;
	sp->l_degree = 1;
	sp->inner = 1;
	sp->outer = 15;
}

/*
 * Tricube weights for the half-width h of interior loess windows, by
 * distance r = 0..h: the same values est() computes, looked up.
 */
struct tricube {
	double h;
	size_t n;
	double *w;
};

static double tricube_weight(double r, double h)
{
	double q;

	if (r > 0.999 * h)
		return 0;
	if (r <= 0.001 * h)
		return 1;
	q = r / h;
	q = 1 - q * q * q;
	return q * q * q;
}

static int tricube_init(struct tricube *t, size_t len)
{
	t->h = (double)((len - 1) / 2);
	t->n = (len - 1) / 2 + 1;
	t->w = malloc(t->n * sizeof(double));
	if (!t->w)
		return -1;
	for (size_t r = 0; r < t->n; r++)
		t->w[r] = tricube_weight((double)r, t->h);
	return 0;
}

/*
 * Local weighted regression at abscissa xs (1-based) over y[nleft-1 ..
 * nright-1] (the Fortran stlest).  One pass accumulates the weighted sums;
 * the degree-1 fit is then the closed form of the Fortran's reweighting:
 * with normalised weights, a = sum w j, c = sum w (j - a)^2 and
 * ys = sum w y + (xs - a) / c * sum w (j - a) y.  tab (may be NULL) holds
 * the tricube weights when h equals tab->h.  Returns 0 when no weight.
 */
static int est(const double *y, size_t n, size_t len, int ideg, double xs, double *ys, size_t nleft,
               size_t nright, int userw, const double *rw, const struct tricube *tab)
{
	double range = (double)n - 1, h, s0 = 0, s1 = 0, s2 = 0, sy = 0, s1y = 0;

	h = fmax(xs - (double)nleft, (double)nright - xs);
	if (len > n)
		h += (double)((len - n) / 2);
	if (tab && h == tab->h && xs == floor(xs) && xs >= (double)nleft && xs <= (double)nright) {
		/* interior window: weights by distance from the table, two branch-free halves */
		size_t ix = (size_t)xs;
		const double *tw = tab->w, *yy = y + ix - 1, *rr = userw ? rw + ix - 1 : NULL;
		size_t left = ix - nleft, right = nright - ix;
		double a0 = 0, a1 = 0, a2 = 0, ay = 0, a1y = 0;

		for (size_t r = 1; r <= left; r++) {
			double wj = tw[r] * (rr ? rr[-(ptrdiff_t)r] : 1), u = (double)r, yv = yy[-(ptrdiff_t)r];

			a0 += wj;
			a1 -= wj * u;
			a2 += wj * u * u;
			ay += wj * yv;
			a1y -= wj * u * yv;
		}
		for (size_t r = 0; r <= right; r++) {
			double wj = tw[r] * (rr ? rr[r] : 1), u = (double)r, yv = yy[r];

			s0 += wj;
			s1 += wj * u;
			s2 += wj * u * u;
			sy += wj * yv;
			s1y += wj * u * yv;
		}
		s0 += a0;
		s1 += a1;
		s2 += a2;
		sy += ay;
		s1y += a1y;
	} else {
		for (size_t j = nleft; j <= nright; j++) {
			double u = (double)j - xs, wj = tricube_weight(fabs(u), h) * (userw ? rw[j - 1] : 1);

			s0 += wj;
			s1 += wj * u;
			s2 += wj * u * u;
			sy += wj * y[j - 1];
			s1y += wj * u * y[j - 1];
		}
	}
	if (s0 <= 0)
		return 0;
	*ys = sy / s0;
	if (h > 0 && ideg > 0) {
		double m1 = s1 / s0, c = s2 / s0 - m1 * m1;   /* a - xs = m1 */

		if (c > 0 && sqrt(c) > 0.001 * range)
			*ys += -m1 / c * (s1y / s0 - m1 * sy / s0);
	}
	return 1;
}

/*
 * Loess smoothing of y[0..n) into ys with span len (the Fortran stless):
 * evaluated every njump points and interpolated linearly in between.
 * Returns 0, or -1 when out of memory.
 */
static int ess(const double *y, size_t n, size_t len, int ideg, size_t njump, int userw, const double *rw,
               double *ys)
{
	size_t newnj, nleft = 1, nright = n, nsh, k;
	struct tricube tab = { 0, 0, NULL }, *tp = NULL;

	if (n < 2) {
		ys[0] = y[0];
		return 0;
	}
	if (len < n) {
		if (tricube_init(&tab, len))
			return -1;
		tp = &tab;
	}
	newnj = njump < n - 1 ? njump : n - 1;
	if (newnj < 1)
		newnj = 1;
	if (len >= n) {
		nleft = 1;
		nright = n;
		for (size_t i = 1; i <= n; i += newnj)
			if (!est(y, n, len, ideg, (double)i, &ys[i - 1], nleft, nright, userw, rw, tp))
				ys[i - 1] = y[i - 1];
	} else if (newnj == 1) {
		nsh = (len + 1) / 2;
		nleft = 1;
		nright = len;
		for (size_t i = 1; i <= n; i++) {
			if (i > nsh && nright != n) {
				nleft++;
				nright++;
			}
			if (!est(y, n, len, ideg, (double)i, &ys[i - 1], nleft, nright, userw, rw, tp))
				ys[i - 1] = y[i - 1];
		}
	} else {
		nsh = (len + 1) / 2;
		for (size_t i = 1; i <= n; i += newnj) {
			if (i < nsh) {
				nleft = 1;
				nright = len;
			} else if (i >= n - nsh + 1) {
				nleft = n - len + 1;
				nright = n;
			} else {
				nleft = i - nsh + 1;
				nright = len + i - nsh;
			}
			if (!est(y, n, len, ideg, (double)i, &ys[i - 1], nleft, nright, userw, rw, tp))
				ys[i - 1] = y[i - 1];
		}
	}
	if (newnj != 1) {
		for (size_t i = 1; i + newnj <= n; i += newnj) {
			double delta = (ys[i + newnj - 1] - ys[i - 1]) / (double)newnj;

			for (size_t j = i + 1; j < i + newnj; j++)
				ys[j - 1] = ys[i - 1] + delta * (double)(j - i);
		}
		k = ((n - 1) / newnj) * newnj + 1;
		if (k != n) {
			if (!est(y, n, len, ideg, (double)n, &ys[n - 1], nleft, nright, userw, rw, tp))
				ys[n - 1] = y[n - 1];
			if (k != n - 1) {
				double delta = (ys[n - 1] - ys[k - 1]) / (double)(n - k);

				for (size_t j = k + 1; j < n; j++)
					ys[j - 1] = ys[k - 1] + delta * (double)(j - k);
			}
		}
	}
	free(tab.w);
	return 0;
}

/* Moving average of length len: ave[0 .. n-len]. */
static void ma(const double *x, size_t n, size_t len, double *ave)
{
	size_t newn = n - len + 1;
	double flen = (double)len, v = 0;

	for (size_t i = 0; i < len; i++)
		v += x[i];
	ave[0] = v / flen;
	for (size_t j = 1; j < newn; j++) {
		v = v - x[j - 1] + x[len + j - 1];
		ave[j] = v / flen;
	}
}

/* The low-pass filter: moving averages of np, np and 3 over x[0..n), n-2np+2 results. */
static void fts(const double *x, size_t n, size_t np, double *trend, double *work)
{
	ma(x, n, np, trend);
	ma(trend, n - np + 1, np, work);
	ma(work, n - 2 * np + 2, 3, trend);
}

/* Cycle-subseries smoothing: y[0..n) into season[0..n+2np) (one extra cycle each side). */
static int ss(const double *y, size_t n, size_t np, size_t ns, int isdeg, size_t nsjump, int userw,
              const double *rw, double *season, double *work1, double *work2, double *work3)
{
	for (size_t j = 1; j <= np; j++) {
		size_t k = (n - j) / np + 1, nright, nleft;

		for (size_t i = 1; i <= k; i++)
			work1[i - 1] = y[(i - 1) * np + j - 1];
		if (userw)
			for (size_t i = 1; i <= k; i++)
				work3[i - 1] = rw[(i - 1) * np + j - 1];
		if (ess(work1, k, ns, isdeg, nsjump, userw, work3, work2 + 1))
			return -1;
		nright = ns < k ? ns : k;
		if (!est(work1, k, ns, isdeg, 0, &work2[0], 1, nright, userw, work3, NULL))
			work2[0] = work2[1];
		nleft = k >= ns ? k - ns + 1 : 1;
		if (!est(work1, k, ns, isdeg, (double)(k + 1), &work2[k + 1], nleft, k, userw, work3, NULL))
			work2[k + 1] = work2[k];
		for (size_t m = 1; m <= k + 2; m++)
			season[(m - 1) * np + j - 1] = work2[m - 1];
	}
	return 0;
}

/* Bisquare robustness weights from the remainder y - fit. */
static void rwt(const double *y, size_t n, const double *fit, double *rw, double *scratch)
{
	double cmad, c9, c1;
	size_t mid1 = n / 2 + 1, mid2 = n - mid1 + 1;

	for (size_t i = 0; i < n; i++)
		scratch[i] = fabs(y[i] - fit[i]);
	/* 6 * the median absolute remainder */
	{
		double a = kit_select(scratch, n, mid1 - 1), b = kit_select(scratch, n, mid2 - 1);

		cmad = 3 * (a + b);
	}
	c9 = 0.999 * cmad;
	c1 = 0.001 * cmad;
	for (size_t i = 0; i < n; i++) {
		double r = fabs(y[i] - fit[i]);

		if (r <= c1) {
			rw[i] = 1;
		} else if (r <= c9) {
			double q = r / cmad;

			q = 1 - q * q;
			rw[i] = q * q;
		} else {
			rw[i] = 0;
		}
	}
}

/* One pass of the inner loop (the Fortran stlstp); work holds 4 arrays of n + 2np. */
static int step(const double *y, size_t n, size_t np, size_t ns, size_t nt, size_t nl, int isdeg, int itdeg,
                int ildeg, size_t nsjump, size_t ntjump, size_t nljump, size_t ni, int userw,
                const double *rw, double *season, double *trend, double *work, size_t stride)
{
	double *w1 = work, *w2 = work + stride, *w3 = work + 2 * stride, *w4 = work + 3 * stride;

	for (size_t it = 0; it < ni; it++) {
		for (size_t i = 0; i < n; i++)
			w1[i] = y[i] - trend[i];
		if (ss(w1, n, np, ns, isdeg, nsjump, userw, rw, w2, w3, w4, season))
			return -1;
		fts(w2, n + 2 * np, np, w3, w1);
		if (ess(w3, n, nl, ildeg, nljump, 0, NULL, w1))
			return -1;
		for (size_t i = 0; i < n; i++)
			season[i] = w2[np + i] - w1[i];
		for (size_t i = 0; i < n; i++)
			w1[i] = y[i] - season[i];
		if (ess(w1, n, nt, itdeg, ntjump, userw, rw, trend))
			return -1;
	}
	return 0;
}

int stl_decompose(const double *y, size_t n, const struct stl_params *sp, double *seasonal, double *trend,
                  double *robustness)
{
	size_t np = sp->period < 2 ? 2 : sp->period, stride = n + 2 * np, ns, nt, nl;
	int periodic = sp->s_window == 0, isdeg = periodic ? 0 : sp->s_degree;
	double *work = malloc(4 * stride * sizeof(double)), *rw = malloc(n * sizeof(double));
	int userw = 0;

	if (!work || !rw) {
		free(work);
		free(rw);
		return -1;
	}
	ns = periodic ? 10 * n + 1 : next_odd(sp->s_window < 3 ? 3 : sp->s_window);
	nt = sp->t_window ? next_odd(sp->t_window)
	                  : next_odd((size_t)ceil(1.5 * (double)np / (1 - 1.5 / (double)ns)));
	nl = sp->l_window ? next_odd(sp->l_window) : next_odd(np);
	if (nt < 3)
		nt = 3;
	if (nl < 3)
		nl = 3;
	for (size_t i = 0; i < n; i++)
		trend[i] = 0;
	for (size_t k = 0;; k++) {
		if (step(y, n, np, ns, nt, nl, isdeg, sp->t_degree, sp->l_degree, (ns + 9) / 10, (nt + 9) / 10,
		         (nl + 9) / 10, sp->inner ? sp->inner : 1, userw, rw, seasonal, trend, work, stride)) {
			free(work);
			free(rw);
			return -1;
		}
		if (k + 1 > sp->outer)
			break;
		for (size_t i = 0; i < n; i++)
			work[i] = trend[i] + seasonal[i];
		rwt(y, n, work, rw, work + stride);
		userw = 1;
	}
	if (periodic) {
		/* make the seasonal exactly periodic: the mean of each cycle position */
		for (size_t j = 0; j < np && j < n; j++) {
			double s = 0;
			size_t c = 0;

			for (size_t i = j; i < n; i += np) {
				s += seasonal[i];
				c++;
			}
			for (size_t i = j; i < n; i += np)
				seasonal[i] = s / (double)c;
		}
	}
	if (robustness)
		for (size_t i = 0; i < n; i++)
			robustness[i] = sp->outer ? rw[i] : 1;
	free(work);
	free(rw);
	return 0;
}

/*
 * dist.h - tail probabilities for the detectors' tests.  Student's t and
 * Fisher's F come from GSL, through interpolated tables for the degrees of
 * freedom a full window has (built once in create(), read-only after, so
 * scoring a point costs a table lookup instead of an incomplete beta
 * function); the Kolmogorov distribution and the exact two-sample
 * Kolmogorov-Smirnov distribution are computed here.  Header-only, like
 * common.h.
 */
#ifndef VIGIL_DETECTORS_DIST_H
#define VIGIL_DETECTORS_DIST_H

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common.h"

/*
 * A tail table has the layout of struct normal_table: at x = i / STEPS,
 * k[i].f = p(x) and k[i].df = p'(x) / STEPS, for a smooth decreasing p.
 * table_eval() interpolates p at x in [0, NORMAL_TABLE_MAX) (cubic Hermite,
 * the scheme of normal_two_sided()).
 */
static inline double table_eval(const struct normal_table *t, double x)
{
	double u = x * NORMAL_TABLE_STEPS, u2, u3, p;
	size_t i = (size_t)u;

	u -= (double)i;
	u2 = u * u;
	u3 = u2 * u;
	p = (2 * u3 - 3 * u2 + 1) * t->k[i].f + (u3 - 2 * u2 + u) * t->k[i].df +
	    (-2 * u3 + 3 * u2) * t->k[i + 1].f + (u3 - u2) * t->k[i + 1].df;
	return p < 0 ? 0 : p > 1 ? 1 : p;
}

/*
 * Score from a two-sided tail probability p2 of a statistic `stat` whose
 * sign gives the direction: 1 - p2 for DIR_BOTH, 1 - p2 / 2 on the watched
 * side of a one-sided test, 0 on the other side.
 */
static inline double score_from_p2(double p2, double stat, enum direction dir)
{
	if (isnan(stat) || isnan(p2))
		return 0;
	if (dir == DIR_BOTH)
		return 1 - p2;
	if ((dir == DIR_UP && stat <= 0) || (dir == DIR_DOWN && stat >= 0))
		return 0;
	return 1 - 0.5 * p2;
}

/* --- Student's t ----------------------------------------------------------- */

/* A table of the two-sided tail P(|T| > x) of Student's t with nu degrees of freedom. */
static inline struct normal_table *t_table_new(double nu)
{
	struct normal_table *t = malloc(sizeof(*t));
	size_t n = sizeof(t->k) / sizeof(t->k[0]);

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / NORMAL_TABLE_STEPS;

		t->k[i].f = 2 * gsl_cdf_tdist_Q(x, nu);
		t->k[i].df = -2 * gsl_ran_tdist_pdf(x, nu) / NORMAL_TABLE_STEPS;
	}
	return t;
}

/*
 * P(|T_nu| >= |x|), through `table` (a t_table_new(table_nu), may be NULL)
 * when nu is table_nu and |x| is inside it, else from GSL.
 */
static inline double t_two_sided(const struct normal_table *table, double table_nu, double x, double nu)
{
	x = fabs(x);
	if (isnan(x))
		return 1;
	if (table && nu == table_nu && x < NORMAL_TABLE_MAX)
		return table_eval(table, x);
	if (isinf(x))
		return 0;
	return 2 * gsl_cdf_tdist_Q(x, nu);
}

/*
 * The Grubbs critical value, as the t statistic: a point of a sample of n
 * is an outlier at level alpha when its externally studentised deviation
 * exceeds t_{alpha / (sides * n), n - 2} (sides 2 for a two-sided test).
 */
static inline double grubbs_t_crit(double n, double alpha, int sides)
{
	return gsl_cdf_tdist_Qinv(alpha / (sides * n), n - 2);
}

/*
 * The externally studentised deviation t of a point from its internally
 * studentised one g = |x - mean| / sd over a sample of n containing it:
 * t = g sqrt(n (n - 2) / ((n - 1)^2 - n g^2)), distributed as Student's t
 * with n - 2 degrees of freedom for normal data.  Infinite when g reaches
 * its bound (n - 1) / sqrt(n).
 */
static inline double t_from_g(double g, double n)
{
	double den = (n - 1) * (n - 1) - n * g * g;

	return den > 0 ? g * sqrt(n * (n - 2) / den) : INFINITY;
}

/* The inverse: the Grubbs statistic G of a point whose t is given. */
static inline double g_from_t(double t, double n)
{
	if (isinf(t))
		return (n - 1) / sqrt(n);
	return (n - 1) / sqrt(n) * sqrt(t * t / (n - 2 + t * t));
}

/* --- Fisher's F -------------------------------------------------------------- */

/*
 * Tables of both tails of F(nu1, nu2), in x = |ln f| / s with
 * s = sqrt(2 / nu1 + 2 / nu2) (about the standard deviation of ln F, so the
 * table spans the useful range): up(x) = P(F > e^(s x)), lo(x) = P(F < e^(-s x)).
 */
struct f_tables {
	double nu1, nu2, s;
	struct normal_table *up, *lo;
};

static inline int f_tables_init(struct f_tables *ft, double nu1, double nu2)
{
	size_t n = sizeof(ft->up->k) / sizeof(ft->up->k[0]);

	ft->nu1 = nu1;
	ft->nu2 = nu2;
	ft->s = sqrt(2 / nu1 + 2 / nu2);
	ft->up = malloc(sizeof(*ft->up));
	ft->lo = malloc(sizeof(*ft->lo));
	if (!ft->up || !ft->lo) {
		free(ft->up);
		free(ft->lo);
		ft->up = ft->lo = NULL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / NORMAL_TABLE_STEPS, e = exp(ft->s * x), ie = 1 / e;

		ft->up->k[i].f = gsl_cdf_fdist_Q(e, nu1, nu2);
		ft->up->k[i].df = -gsl_ran_fdist_pdf(e, nu1, nu2) * e * ft->s / NORMAL_TABLE_STEPS;
		ft->lo->k[i].f = gsl_cdf_fdist_P(ie, nu1, nu2);
		ft->lo->k[i].df = -gsl_ran_fdist_pdf(ie, nu1, nu2) * ie * ft->s / NORMAL_TABLE_STEPS;
	}
	return 0;
}

static inline void f_tables_release(struct f_tables *ft)
{
	free(ft->up);
	free(ft->lo);
	ft->up = ft->lo = NULL;
}

/*
 * The tail of F(nu1, nu2) beyond the ratio f on f's side of 1: P(F >= f) for
 * f >= 1, P(F <= f) for f < 1.  Through the tables when the dof are theirs
 * (ft may be NULL), else GSL.
 */
static inline double f_tail(const struct f_tables *ft, double f, double nu1, double nu2)
{
	if (isnan(f))
		return 1;
	if (f >= 1) {
		if (isinf(f))
			return 0;
		if (ft && ft->up && nu1 == ft->nu1 && nu2 == ft->nu2) {
			double x = log(f) / ft->s;

			if (x < NORMAL_TABLE_MAX)
				return table_eval(ft->up, x);
		}
		return gsl_cdf_fdist_Q(f, nu1, nu2);
	}
	if (!(f > 0))
		return 0;
	if (ft && ft->lo && nu1 == ft->nu1 && nu2 == ft->nu2) {
		double x = -log(f) / ft->s;

		if (x < NORMAL_TABLE_MAX)
			return table_eval(ft->lo, x);
	}
	return gsl_cdf_fdist_P(f, nu1, nu2);
}

/* --- Kolmogorov-Smirnov ------------------------------------------------------- */

/*
 * P(K > z) for the Kolmogorov distribution, from its two series (each
 * converges to double precision in four terms on its side of 1.18).
 */
static inline double kolmogorov_q(double z)
{
	if (!(z > 0.04))
		return 1;
	if (z < 1.18) {
		double y = exp(-M_PI * M_PI / (8 * z * z)), y8 = pow(y, 8);
		double p = sqrt(2 * M_PI) / z * y * (1 + y8 * (1 + y8 * y8 * (1 + y8 * y8 * y8)));

		return p < 1 ? 1 - p : 0;
	} else {
		double x = exp(-2 * z * z), x3 = x * x * x;

		return 2 * x * (1 - x3 * (1 - x3 * x * x * (1 - x3 * x3 * x)));
	}
}

/*
 * Asymptotic p-value of the two-sample statistic D for samples of a and b
 * points, with Stephens' (1970) small-sample correction:
 * P(D >= d) ~ Q_K((sqrt(ne) + 0.12 + 0.11 / sqrt(ne)) d), ne = a b / (a + b).
 */
static inline double ks_p_asymptotic(double d, size_t a, size_t b)
{
	double ne = (double)a * (double)b / (double)(a + b), sq = sqrt(ne);

	return kolmogorov_q((sq + 0.12 + 0.11 / sq) * d);
}

/*
 * Exact P(D >= k / (a b)) for two samples of a and b distinct values under
 * the null (both from one continuous distribution): the share of the
 * C(a + b, a) monotone lattice paths from (0, 0) to (a, b) that touch
 * |i b - j a| >= k (Hodges 1957).  Counts are normalised as in R's
 * psmirnov2x (t(i, j) = C(i + j, i) / C(i + b, i), so nothing overflows),
 * and the paths that touched the boundary are counted directly rather than
 * as 1 - the others, so small p keep their relative precision.  u is
 * scratch of 2 (b + 1) doubles.  O(a b).
 */
static inline double ks_p_exact(size_t a, size_t b, uint64_t k, double *u)
{
	int64_t ia = (int64_t)a, ib = (int64_t)b, kk = (int64_t)k;
	double *t = u, *v = u + b + 1;   /* all paths; paths that touched */

	if (k == 0)
		return 1;
	for (int64_t j = 0; j <= ib; j++) {
		t[j] = 1;
		v[j] = j * ia >= kk || (j > 0 && v[j - 1] > 0) ? 1 : 0;
	}
	for (int64_t i = 1; i <= ia; i++) {
		double w = (double)i / (double)(i + ib);

		t[0] *= w;
		v[0] = i * ib >= kk ? t[0] : w * v[0];
		for (int64_t j = 1; j <= ib; j++) {
			int64_t diff = i * ib - j * ia;

			t[j] = w * t[j] + t[j - 1];
			v[j] = diff >= kk || -diff >= kk ? t[j] : w * v[j] + v[j - 1];
		}
	}
	return v[b] < 1 ? v[b] : 1;
}

/*
 * The two-sample statistic of sorted ra[0..a) and tb[0..b) as the integer
 * max |i b - j a| over the points where both empirical CDFs are evaluated
 * after every value (ties counted in both samples), i.e. D * a * b.  Both
 * arrays must hold a sentinel +Inf after their last value (ra[a], tb[b]):
 * the merge then needs no bounds checks and no branch but the loop's.
 */
static inline uint64_t ks_statistic(const double *ra, size_t a, const double *tb, size_t b)
{
	size_t i = 0, j = 0;
	int64_t best = 0, ia = (int64_t)a, ib = (int64_t)b;

	for (;;) {
		double x = ra[i], y = tb[j], v = x <= y ? x : y;
		int64_t d;

		if (v == INFINITY)
			break;
		i += x == v;
		j += y == v;
		d = (int64_t)i * ib - (int64_t)j * ia;
		d = d < 0 ? -d : d;
		/* evaluate only once every copy of v is counted */
		best = d > best && ra[i] != v && tb[j] != v ? d : best;
	}
	return (uint64_t)best;
}

#endif

/*
 * stl.h - Seasonal-Trend decomposition by Loess (part of libdetkit).
 * Cleveland, Cleveland, McRae and Terpenning, "STL: A seasonal-trend
 * decomposition procedure based on loess", J. Official Statistics 6 (1990);
 * a C rendering of the reference Fortran (netlib stl: stlstp, stlss, stless,
 * stlest, stlfts, stlrwt), with R's stl() defaults and its "periodic" case.
 */
#ifndef VIGIL_DETECTORS_STL_H
#define VIGIL_DETECTORS_STL_H

#include <stddef.h>

struct stl_params {
	size_t period;          /* np >= 2 */
	size_t s_window;        /* odd >= 3, or 0 for "periodic" (R's s.window = "periodic") */
	size_t t_window;        /* 0: R's default nextodd(ceil(1.5 np / (1 - 1.5 / ns))) */
	size_t l_window;        /* 0: nextodd(np) */
	int s_degree, t_degree, l_degree;   /* 0 or 1; R: 0 for periodic, 1, 1 */
	size_t inner, outer;    /* R: robust = TRUE is inner 1, outer 15; FALSE is 2, 0 */
};

/* R's stl(x, s.window = "periodic", robust = TRUE) for a period. */
void stl_params_periodic_robust(struct stl_params *sp, size_t period);

/*
 * Decompose y[0..n) (all finite; n >= 2 period) into seasonal, trend and
 * (implicitly) remainder y - seasonal - trend.  With a periodic seasonal
 * window the seasonal is made exactly periodic by averaging each cycle
 * position, as R does.  `robustness` receives the final robustness weights
 * when not NULL.  O((inner + 1) (outer + 1) n (10 + jumps)) time, O(n) memory.
 * Returns 0, or -1 when out of memory.
 */
int stl_decompose(const double *y, size_t n, const struct stl_params *sp, double *seasonal, double *trend,
                  double *robustness);

#endif

/*
 * common.h - small helpers shared by the built-in detectors.
 * Header-only on purpose: every detector is its own plugin and must not
 * depend on another .so.
 */
#ifndef VIGIL_DETECTORS_COMMON_H
#define VIGIL_DETECTORS_COMMON_H

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

enum direction {
	DIR_BOTH,
	DIR_UP,
	DIR_DOWN,
};

static inline enum direction parse_direction(const char *s)
{
	return !strcmp(s, "up") ? DIR_UP : !strcmp(s, "down") ? DIR_DOWN : DIR_BOTH;
}


/*
 * erf(x / sqrt 2) for x >= 0 as 1 - erfc(x / sqrt 2), the tail interpolated
 * (cubic Hermite) on a table of exact values and derivatives, step 1/256:
 * the error is below h^4/384 * max|f''''| ~ 1e-12, and the tail keeps its
 * relative precision so scores stay ordered near 1.  Several times faster
 * than erf().  Past the
 * table's end erf(x / sqrt 2) rounds to 1 in double precision anyway.
 * A table belongs to a detector's state (built in create(), read-only after).
 */
#define NORMAL_TABLE_STEPS 256
#define NORMAL_TABLE_MAX 9
#define NORMAL_TABLE_SIZE (NORMAL_TABLE_MAX * NORMAL_TABLE_STEPS + 2)

struct normal_table {
	struct { double f, df; } k[NORMAL_TABLE_SIZE];   /* value and slope side by side: one cache line */
};

static inline struct normal_table *normal_table_new(void)
{
	struct normal_table *t = malloc(sizeof(*t));
	size_t n = sizeof(t->k) / sizeof(t->k[0]);

	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		double x = (double)i / NORMAL_TABLE_STEPS;

		t->k[i].f = erfc(x * M_SQRT1_2);
		t->k[i].df = -sqrt(2 / M_PI) * exp(-0.5 * x * x) / NORMAL_TABLE_STEPS;
	}
	return t;
}

/* erf(|x| / sqrt 2), i.e. P(|Z| < |x|) for a standard normal Z. */
static inline double normal_two_sided(const struct normal_table *t, double x)
{
	double u, u2, u3;
	size_t i;

	x = fabs(x);
	if (!(x < NORMAL_TABLE_MAX))
		return isnan(x) ? 0 : erf(x * M_SQRT1_2);
	u = x * NORMAL_TABLE_STEPS;
	i = (size_t)u;
	u -= (double)i;
	u2 = u * u;
	u3 = u2 * u;
	/* interpolate the tail erfc, which keeps its relative precision near 1 */
	return 1 - ((2 * u3 - 3 * u2 + 1) * t->k[i].f + (u3 - 2 * u2 + u) * t->k[i].df +
	            (-2 * u3 + 3 * u2) * t->k[i + 1].f + (u3 - u2) * t->k[i + 1].df);
}

/*
 * Score of a standardised deviation z under a normal model: 1 - p, with p
 * the tail probability in the watched direction (two-sided for DIR_BOTH).
 * A deviation in the unwatched direction scores 0.
 */
static inline double score_from_z_fast(const struct normal_table *t, double z, enum direction dir)
{
	if (isnan(z))
		return 0;
	if (dir == DIR_UP && z <= 0)
		return 0;
	if (dir == DIR_DOWN && z >= 0)
		return 0;
	if (dir == DIR_BOTH)
		return normal_two_sided(t, z);
	return 0.5 + 0.5 * normal_two_sided(t, z);
}

/*
 * The params of a rolling-window detector: window, threshold, direction,
 * min_history (0: a full window).  Scoring starts once min_history points
 * (present or not) have passed and the window holds at least min_finite
 * present values (a quarter of min_history, at least floor_finite).
 */
struct rolling_params {
	size_t window;
	size_t min_history;
	size_t min_finite;
	double threshold;
	enum direction dir;
};

static inline void rolling_params_read(const struct vigil_host *host, const struct vigil_params *p,
                                       size_t floor_finite, struct rolling_params *rp)
{
	const char *dir = "both";
	double v = 0;

	host->param_number(p, "window", &v);
	rp->window = (size_t)v;
	host->param_number(p, "threshold", &rp->threshold);
	host->param_string(p, "direction", &dir);
	rp->dir = parse_direction(dir);
	rp->min_history = rp->window;
	if (host->param_number(p, "min_history", &v) == 1 && v > 0)
		rp->min_history = (size_t)v < rp->window ? (size_t)v : rp->window;
	rp->min_finite = rp->min_history / 4 > floor_finite ? rp->min_history / 4 : floor_finite;
}

/* check(): min_history must not exceed window. */
static inline int rolling_params_check(const struct vigil_host *host, const struct vigil_params *p,
                                       struct vigil_diag *d)
{
	double w, m;

	if (host->param_number(p, "window", &w) == 1 && host->param_number(p, "min_history", &m) == 1 &&
	    m > w)
		return host->param_error(d, "min_history", "must not exceed window (%g > %g)", m, w);
	return 0;
}

/* Does z cross the threshold in the watched direction? */
static inline int crosses(double z, double threshold, enum direction dir)
{
	if (dir == DIR_UP)
		return z >= threshold;
	if (dir == DIR_DOWN)
		return z <= -threshold;
	return fabs(z) >= threshold;
}

/*
 * One flag per episode, for detectors whose evidence persists over many
 * points (two-window tests, change points): a rejection is flagged only
 * when the `rearm` evaluated points before it were all quiet, so evidence
 * that hovers around the threshold does not flag again and again.
 */
struct onset {
	size_t rearm, quiet;
};

static inline void onset_init(struct onset *o, size_t rearm)
{
	o->rearm = rearm;
	o->quiet = rearm;
}

/* Record whether the test rejects at this point; returns 1 when the point is to be flagged. */
static inline int onset_step(struct onset *o, int reject)
{
	int flag;

	if (!reject) {
		o->quiet++;
		return 0;
	}
	flag = o->quiet >= o->rearm;
	o->quiet = 0;
	return flag;
}

#endif

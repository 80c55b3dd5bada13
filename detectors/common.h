/*
 * common.h - small helpers shared by the built-in detectors.
 * Header-only on purpose: every detector is its own plugin and must not
 * depend on another .so.
 */
#ifndef VIGIL_DETECTORS_COMMON_H
#define VIGIL_DETECTORS_COMMON_H

#include <math.h>
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
 * Score of a standardised deviation z under a normal model: 1 - p, with p
 * the tail probability in the watched direction (two-sided for DIR_BOTH).
 * A deviation in the unwatched direction scores 0.
 */
static inline double score_from_z(double z, enum direction dir)
{
	if (isnan(z))
		return 0;
	if (dir == DIR_UP && z <= 0)
		return 0;
	if (dir == DIR_DOWN && z >= 0)
		return 0;
	if (dir == DIR_BOTH)
		return erf(fabs(z) * M_SQRT1_2);
	return 1.0 - 0.5 * erfc(fabs(z) * M_SQRT1_2);
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

#endif

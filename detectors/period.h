/*
 * period.h - seasonal period detection and the `period` param shared by the
 * seasonal detectors.  Part of libdetkit, a convenience library linked into
 * each plugin that needs it (plugins never depend on another .so).
 *
 * A period is a whole number of points.  The `period` param of a seasonal
 * detector is one of
 *   an integer >= 2     that many points;
 *   0 or "none"         no seasonality;
 *   "auto"              detected from the data (period_detect());
 *   a duration ("1d", "12h", "1w", "1h30m": duration.h's grammar, whole
 *                       numbers of units) converted to points with the
 *                       median sampling interval.
 * A detected period near a calendar period (1 h, 1 d, 1 w) whose length is a
 * whole number of sampling steps snaps to it (period_snap_calendar()).
 * Detection and conversion are causal: period_resolve() looks only at the
 * points before the index it is asked about.
 */
#ifndef VIGIL_DETECTORS_PERIOD_H
#define VIGIL_DETECTORS_PERIOD_H

#include <stddef.h>
#include <stdint.h>

/* Do not look for periods shorter than this (points). */
#define PERIOD_MIN 4
/* Analyse at most this many trailing points (bounds the FFT: O(m log m)). */
#define PERIOD_MAX_ANALYSED 65536

enum period_kind {
	PERIOD_NONE,
	PERIOD_FIXED,      /* `points` */
	PERIOD_AUTO,
	PERIOD_DURATION,   /* `ms`, converted with the sampling interval */
};

struct period_spec {
	enum period_kind kind;
	size_t points;
	int64_t ms;
};

/*
 * What detect found: the period (0 for none), its autocorrelation and the
 * peak's prominence over the trough before it.
 */
struct period_info {
	size_t period;
	double acf;
	double prominence;
};

/*
 * Parse the param: `text` is the string value or NULL, `number` the numeric
 * value when text is NULL.  Returns 0, or -1 with a message in msg.
 */
int period_spec_parse(struct period_spec *ps, const char *text, double number, char *msg, size_t msglen);

/*
 * Detect the dominant period of x[0..n) (NaN and infinite values are gaps)
 * among periods in [min_period, max_period] (max_period is cut to n / 2.5,
 * so at least 2.5 cycles are seen).  The series is detrended by a
 * least-squares line; the autocorrelation is computed with FFTs (GSL) on the
 * series with gaps set to 0 and normalised per lag by the number of pairs of
 * present points, so gaps neither bias nor shift it.  A candidate is a local
 * maximum r(p) of the autocorrelation with r(p) >= min_acf and a prominence
 * (r(p) minus the lowest r between p/2 and p) of at least min_acf / 2; the
 * highest candidate wins, but the shortest candidate within 10% of its height
 * is preferred to it, or within 30% when the winner is a multiple of it, so
 * a multiple of the period is not reported.  The period is then refined from
 * the centres of the autocorrelation hills at it and its harmonics (up to
 * 8: a least-squares fit), which is steadier than the arg max of a broad,
 * noisy peak.
 * O(m log m) with m = min(n, PERIOD_MAX_ANALYSED) (the last m points).
 * Returns 0 (info->period 0 when nothing qualifies) or -1 if out of memory.
 */
int period_detect(const double *x, size_t n, size_t min_period, size_t max_period, double min_acf,
                  struct period_info *info);

/*
 * Calendar periods.  When the sampling step divides one of them and the
 * detected period is within PERIOD_SNAP (relative) of its number of points,
 * the period becomes exactly that number: a dozen noisy minute-step days
 * cannot tell 1437 points from 1440 by autocorrelation, but the clock can.
 * Returns the calendar period in ms that *period snapped to, or 0.
 */
#define PERIOD_HOUR_MS ((int64_t)3600 * 1000)
#define PERIOD_DAY_MS (24 * PERIOD_HOUR_MS)
#define PERIOD_WEEK_MS (7 * PERIOD_DAY_MS)
#define PERIOD_SNAP 0.03
int64_t period_snap_calendar(size_t *period, int64_t step_ms);

/* The median positive interval of ts[0..n), or 0 if there is none. */
int64_t period_median_step(const int64_t *ts, size_t n);

/*
 * The fraction of the last (up to 4 096) intervals of ts[0..n) that are
 * `step` long: near 1 for regular sampling, gaps (missing rows) aside; low
 * for irregular sampling.  0 when there is no interval.
 */
double period_regular_fraction(const int64_t *ts, size_t n, int64_t step);

/*
 * The period to use for point `at` of a series, from points 0..at-1 only:
 * the fixed value, the duration over the median step of ts[0..at), or the
 * detected period of x[0..at) (0 if none or too short), snapped to a
 * calendar period by the median step of ts[0..at).  max_period caps the
 * result (0: no cap).  Returns 0 or -1 when out of memory.
 */
int period_resolve(const struct period_spec *ps, const double *x, const int64_t *ts, size_t at,
                   size_t max_period, size_t *out);

/*
 * period_resolve() for a detector that finds earlier cycles by time on a
 * regular series (step > 0): a detected period is looked for on the values
 * placed on the time grid of that step, missing rows as gaps, so that rows
 * missing do not blur or shorten it (1 394 points instead of the 1 440 of a
 * day after two hours of missing minutes).  Without missing rows this is
 * period_resolve() exactly; with step 0, or when gaps would make the grid
 * more than twice as long as the points, too.
 */
int period_resolve_timed(const struct period_spec *ps, const double *x, const int64_t *ts, size_t at, int64_t step,
                         size_t *out);

/*
 * When a detector resolves its period: first at period_first_check() (0 for
 * a fixed period, after a few intervals for a duration, after
 * PERIOD_FIRST_AUTO points for "auto", SIZE_MAX for none), then, after a
 * resolution at point i, again at period_next_check(): never for a fixed
 * period, else once a quarter more points have been seen (at least 64
 * later), and from PERIOD_DOUBLING_FROM points on when the series has
 * doubled, so a series of n points costs O(log n) detections of O(m log m).
 */
#define PERIOD_FIRST_AUTO 256
#define PERIOD_FIRST_DURATION 16
#define PERIOD_DOUBLING_FROM 16384
size_t period_first_check(const struct period_spec *ps);
size_t period_next_check(const struct period_spec *ps, size_t i);

/*
 * Fill the gaps of x[0..n) into y by linear interpolation between finite
 * neighbours (the nearest finite value at the ends; 0 if none).  Returns the
 * number of finite points.
 */
size_t period_fill_gaps(const double *x, size_t n, double *y);

#endif

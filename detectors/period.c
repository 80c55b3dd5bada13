/*
 * period.c - seasonal period detection (gap-aware autocorrelation through
 * GSL's FFT) and the `period` param of the seasonal detectors.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_fft_halfcomplex.h>
#include <gsl/gsl_fft_real.h>

#include "period.h"
#include "duration.h"
#include "kit.h"
#include "banned.h"

int period_spec_parse(struct period_spec *ps, const char *text, double number, char *msg, size_t msglen)
{
	memset(ps, 0, sizeof(*ps));
	if (!text) {
		if (!(number >= 0) || number > 1e7 || number != floor(number) || number == 1) {
			snprintf(msg, msglen, "must be 0 (none), an integer >= 2, \"auto\", \"none\" or a duration");
			return -1;
		}
		ps->kind = number == 0 ? PERIOD_NONE : PERIOD_FIXED;
		ps->points = (size_t)number;
		return 0;
	}
	if (!strcmp(text, "auto")) {
		ps->kind = PERIOD_AUTO;
		return 0;
	}
	if (!strcmp(text, "none")) {
		ps->kind = PERIOD_NONE;
		return 0;
	}
	if (duration_parse(text, &ps->ms) == 0 && ps->ms <= (int64_t)1e15) {
		ps->kind = PERIOD_DURATION;
		return 0;
	}
	snprintf(msg, msglen, "'%s' is not \"auto\", \"none\" or a duration like \"1d\", \"12h\", \"1h30m\" "
		 "(whole numbers of units)", text);
	return -1;
}

size_t period_fill_gaps(const double *x, size_t n, double *y)
{
	size_t last = n, finite = 0;   /* index of the last finite value, n if none yet */

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]))
			continue;
		finite++;
		y[i] = x[i];
		if (last == n) {
			for (size_t j = 0; j < i; j++)
				y[j] = x[i];
		} else {
			for (size_t j = last + 1; j < i; j++)
				y[j] = x[last] + (x[i] - x[last]) * (double)(j - last) / (double)(i - last);
		}
		last = i;
	}
	for (size_t j = last == n ? 0 : last + 1; j < n; j++)
		y[j] = last == n ? 0 : x[last];
	return finite;
}

int64_t period_median_step(const int64_t *ts, size_t n)
{
	size_t k = 0, lim = n > 4097 ? 4097 : n;
	int64_t *d, med;

	if (n < 2)
		return 0;
	d = malloc((lim - 1) * sizeof(*d));
	if (!d)
		return 0;
	/* the last intervals: the sampling the detector sees now */
	for (size_t i = n - lim + 1; i < n; i++)
		if (ts[i] > ts[i - 1])
			d[k++] = ts[i] - ts[i - 1];
	med = k ? kit_select_i64(d, k, k / 2) : 0;
	free(d);
	return med;
}

double period_regular_fraction(const int64_t *ts, size_t n, int64_t step)
{
	size_t lim = n > 4097 ? 4097 : n, same = 0;

	if (n < 2)
		return 0;
	for (size_t i = n - lim + 1; i < n; i++)
		same += ts[i] - ts[i - 1] == step;
	return (double)same / (double)(lim - 1);
}

static size_t next_pow2(size_t n)
{
	size_t p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* In place: data (length len, a power of 2) becomes its circular autocorrelation (unnormalised). */
static void autocorrelate(double *data, size_t len)
{
	gsl_fft_real_radix2_transform(data, 1, len);
	data[0] = data[0] * data[0];
	data[len / 2] = data[len / 2] * data[len / 2];
	for (size_t k = 1; k < len / 2; k++) {
		data[k] = data[k] * data[k] + data[len - k] * data[len - k];
		data[len - k] = 0;
	}
	gsl_fft_halfcomplex_radix2_inverse(data, 1, len);
}

/*
 * The centre of the autocorrelation hill around the local maximum k: the
 * midpoint of where r crosses half-way between the peak and `base` on
 * either side.  On a broad, noisy peak this is much steadier than the
 * arg max.  NaN when the hill reaches the end of r.
 */
static double hill_centre(const double *r, size_t nr, size_t k, double base)
{
	double half = 0.5 * (r[k] + base), left, right;
	size_t lo = k, hi = k;

	while (lo > 1 && r[lo - 1] >= half)
		lo--;
	while (hi + 1 < nr && r[hi + 1] >= half)
		hi++;
	if (hi + 1 >= nr || lo <= 1)
		return NAN;
	/* the crossings, interpolated between the lags on either side */
	left = (double)lo - (r[lo] - half) / (r[lo] - r[lo - 1]);
	right = (double)hi + (r[hi] - half) / (r[hi] - r[hi + 1]);
	return 0.5 * (left + right);
}

/*
 * The period from the hill at lag k and its harmonics 2k, 3k, ... (up to 8,
 * those the autocorrelation reaches and that stand at least half as high):
 * the least-squares slope of the hill centres over the harmonic numbers.
 */
static size_t refine(const double *r, size_t nr, size_t k, double base)
{
	double c1 = hill_centre(r, nr, k, base), num, den, p;

	if (isnan(c1))
		return k;
	num = c1;
	den = 1;
	p = c1;
	for (size_t h = 2; h <= 8; h++) {
		double want = (double)h * p, c;
		size_t lo = (size_t)(want - p / 4), hi = (size_t)(want + p / 4), top = lo, tlo;
		double low = INFINITY;

		if (hi + 1 >= nr || lo < 2)
			break;
		for (size_t j = lo; j <= hi; j++)
			if (r[j] > r[top])
				top = j;
		if (r[top] < 0.5 * r[k])
			break;
		for (tlo = (size_t)(want - p / 2); tlo <= top; tlo++)
			if (r[tlo] < low)
				low = r[tlo];
		c = hill_centre(r, nr, top, low);
		if (isnan(c))
			break;
		num += (double)h * c;
		den += (double)h * (double)h;
		p = num / den;
	}
	return (size_t)llround(p);
}

int period_detect(const double *x, size_t n, size_t min_period, size_t max_period, double min_acf,
                  struct period_info *info)
{
	size_t m = n > PERIOD_MAX_ANALYSED ? PERIOD_MAX_ANALYSED : n, len, nr, cnt = 0, best = 0;
	const double *xs = x + (n - m);
	double *y, *mask, *dev, *r, *trough;
	size_t *dq;
	double st = 0, sy = 0, stt = 0, sty = 0, a, b, med, scale, mean = 0, best_r = -1;

	memset(info, 0, sizeof(*info));
	if (min_period < PERIOD_MIN)
		min_period = PERIOD_MIN;
	if (max_period == 0 || (double)max_period > (double)m / 2.5)
		max_period = (size_t)((double)m / 2.5);
	if (max_period < min_period)
		return 0;
	/* lags up to m / 2 refine the period with its harmonics; candidates stop at max_period */
	nr = m / 2 + 1;
	if (nr < max_period + 2)
		nr = max_period + 2;
	/* zero padding to m + nr: no wrap-around at the lags looked at */
	len = next_pow2(m + nr + 1);
	y = calloc(len, sizeof(*y));
	mask = calloc(len, sizeof(*mask));
	dev = malloc(m * sizeof(*dev));
	r = malloc(nr * sizeof(*r));
	trough = malloc((max_period + 2) * sizeof(*trough));
	dq = malloc((max_period + 2) * sizeof(*dq));
	if (!y || !mask || !dev || !r || !trough || !dq) {
		free(y);
		free(mask);
		free(dev);
		free(r);
		free(trough);
		free(dq);
		return -1;
	}
	/* least-squares line through the finite points */
	for (size_t i = 0; i < m; i++) {
		if (!isfinite(xs[i]))
			continue;
		st += (double)i;
		sy += xs[i];
		stt += (double)i * (double)i;
		sty += (double)i * xs[i];
		cnt++;
	}
	if (cnt < 2 * min_period + 2)
		goto done;
	{
		double nn = (double)cnt, den = nn * stt - st * st;

		b = den != 0 ? (nn * sty - st * sy) / den : 0;
		a = (sy - b * st) / nn;
		if (!isfinite(a) || !isfinite(b)) {
			a = 0;
			b = 0;
		}
	}
	/* residuals, clipped at 5 robust deviations so one spike cannot make a period */
	cnt = 0;
	for (size_t i = 0; i < m; i++)
		if (isfinite(xs[i]))
			dev[cnt++] = xs[i] - (a + b * (double)i);
	med = kit_select(dev, cnt, cnt / 2);
	for (size_t i = 0; i < cnt; i++)
		dev[i] = fabs(dev[i] - med);
	scale = 1.4826 * kit_select(dev, cnt, cnt / 2);
	if (!(scale > 0)) {
		double s = 0;

		for (size_t i = 0; i < cnt; i++)
			s += dev[i];
		scale = 1.2533 * s / (double)cnt;
	}
	if (!(scale > 0) || !isfinite(scale))
		goto done;   /* constant after detrending: no seasonality */
	for (size_t i = 0; i < m; i++) {
		double e;

		if (!isfinite(xs[i]))
			continue;
		e = (xs[i] - (a + b * (double)i) - med) / scale;
		y[i] = e > 5 ? 5 : e < -5 ? -5 : e;
		mask[i] = 1;
		mean += y[i];
	}
	mean /= (double)cnt;
	for (size_t i = 0; i < m; i++)
		if (mask[i] != 0)
			y[i] -= mean;

	/* len is a power of two, the one thing GSL's radix-2 transform could refuse */
	autocorrelate(y, len);
	if (cnt < m) {
		autocorrelate(mask, len);
	} else {
		for (size_t k = 0; k < nr && k < m; k++)
			mask[k] = (double)(m - k);   /* no gaps: the pairs at lag k */
	}
	{
		double c0 = y[0] / round(mask[0]);

		if (!(c0 > 0))
			goto done;
		for (size_t k = 0; k < nr; k++) {
			double pairs = k < m ? round(mask[k]) : 0;

			r[k] = pairs >= 2 ? y[k] / pairs / c0 : 0;
		}
	}
	/*
	 * trough[k] = min r[j] for j in [k/2, k]: both ends move right as k
	 * grows, so a monotonic deque of indices gives it in O(max_period).
	 */
	{
		size_t head = 0, tail = 0;

		for (size_t k = 0; k <= max_period; k++) {
			while (tail > head && r[dq[tail - 1]] >= r[k])
				tail--;
			dq[tail++] = k;
			while (dq[head] < k / 2)
				head++;
			trough[k] = r[dq[head]];
		}
	}
	/* candidates: prominent local maxima; keep the highest */
	for (size_t k = min_period; k <= max_period; k++) {
		double pairs = round(mask[k]);

		if (!(r[k] > r[k - 1] && r[k] >= r[k + 1]) || r[k] < min_acf || r[k] * sqrt(pairs) < 3)
			continue;
		if (r[k] - trough[k] < min_acf / 2)
			continue;
		if (r[k] > best_r) {
			best_r = r[k];
			best = k;
		}
	}
	if (best) {
		/*
		 * Prefer a shorter candidate on another hill (at most 3/4 of the
		 * best lag) when it is nearly as high, or when the best is one of
		 * its multiples and it is not much lower: the highest hill is often
		 * a multiple of the period (noise, or a weekly peak over daily ones).
		 */
		for (size_t k = min_period; 4 * k <= 3 * best; k++) {
			double mult = (double)best / (double)k, frac = fabs(mult - round(mult));
			int multiple = frac * (double)k <= 1 + 0.02 * (double)best;

			if (!(r[k] > r[k - 1] && r[k] >= r[k + 1]) || r[k] < (multiple ? 0.7 : 0.9) * best_r)
				continue;
			if (r[k] - trough[k] < min_acf / 2)
				continue;
			best = k;
			break;
		}
		info->acf = r[best];
		info->prominence = r[best] - trough[best];
		info->period = refine(r, nr, best, trough[best]);
		if (info->period < min_period || info->period > max_period)
			info->period = best;
	}
done:
	free(y);
	free(mask);
	free(dev);
	free(r);
	free(trough);
	free(dq);
	return 0;
}

int period_resolve(const struct period_spec *ps, const double *x, const int64_t *ts, size_t at,
                   size_t max_period, size_t *out)
{
	size_t p = 0;

	switch (ps->kind) {
	case PERIOD_NONE:
		break;
	case PERIOD_FIXED:
		p = ps->points;
		break;
	case PERIOD_DURATION: {
		int64_t step = period_median_step(ts, at);

		if (step > 0) {
			double pts = (double)ps->ms / (double)step;

			p = pts >= 2 && pts < 1e7 ? (size_t)llround(pts) : 0;
		}
		break;
	}
	case PERIOD_AUTO: {
		struct period_info info;

		if (period_detect(x, at, PERIOD_MIN, max_period, KIT_PERIOD_MIN_ACF, &info))
			return -1;
		p = info.period;
		period_snap_calendar(&p, period_median_step(ts, at));
		break;
	}
	}
	if (max_period && p > max_period)
		p = 0;
	*out = p;
	return 0;
}

int period_resolve_timed(const struct period_spec *ps, const double *x, const int64_t *ts, size_t at, int64_t step,
                         size_t *out)
{
	size_t from = at > PERIOD_MAX_ANALYSED ? at - PERIOD_MAX_ANALYSED : 0, m;
	struct period_info info;
	double *grid;

	if (ps->kind != PERIOD_AUTO || step <= 0 || at < 2 || ts[at - 1] <= ts[from])
		return period_resolve(ps, x, ts, at, 0, out);
	m = (size_t)((ts[at - 1] - ts[from]) / step) + 1;
	if (m <= at - from || m > 2 * (at - from) + 16)
		return period_resolve(ps, x, ts, at, 0, out);
	grid = malloc(m * sizeof(*grid));
	if (!grid)
		return -1;
	for (size_t k = 0; k < m; k++)
		grid[k] = NAN;
	for (size_t j = from; j < at; j++) {
		size_t slot = (size_t)llround((double)(ts[j] - ts[from]) / (double)step);

		if (slot < m)
			grid[slot] = x[j];
	}
	if (period_detect(grid, m, PERIOD_MIN, 0, KIT_PERIOD_MIN_ACF, &info)) {
		free(grid);
		return -1;
	}
	free(grid);
	*out = info.period;
	period_snap_calendar(out, step);
	return 0;
}

int64_t period_snap_calendar(size_t *period, int64_t step_ms)
{
	static const int64_t calendar[] = { PERIOD_HOUR_MS, PERIOD_DAY_MS, PERIOD_WEEK_MS };

	if (!*period || step_ms <= 0)
		return 0;
	for (size_t k = 0; k < sizeof(calendar) / sizeof(calendar[0]); k++) {
		double pts, off;

		if (calendar[k] % step_ms)
			continue;
		pts = (double)(calendar[k] / step_ms);
		off = fabs((double)*period - pts);
		if (pts >= PERIOD_MIN && off <= PERIOD_SNAP * pts) {
			*period = (size_t)pts;
			return calendar[k];
		}
	}
	return 0;
}

size_t period_first_check(const struct period_spec *ps)
{
	switch (ps->kind) {
	case PERIOD_FIXED:
		return 0;
	case PERIOD_DURATION:
		return PERIOD_FIRST_DURATION;
	case PERIOD_AUTO:
		return PERIOD_FIRST_AUTO;
	default:
		return SIZE_MAX;
	}
}

size_t period_next_check(const struct period_spec *ps, size_t i)
{
	if (ps->kind == PERIOD_FIXED || ps->kind == PERIOD_NONE)
		return SIZE_MAX;
	if (i >= PERIOD_DOUBLING_FROM)
		return 2 * i;
	return i + (i / 4 > 64 ? i / 4 : 64);
}

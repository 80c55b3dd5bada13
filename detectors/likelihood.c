/* likelihood.c - Numenta's anomaly likelihood over a detector's raw scores. */
#include <math.h>
#include <stdlib.h>

#include "likelihood.h"
#include "banned.h"

int likelihood_init(struct likelihood *l, size_t short_window, size_t long_window, size_t min_history)
{
	l->short_window = short_window ? short_window : 1;
	l->long_window = long_window > 2 ? long_window : 2;
	l->min_history = min_history > 2 ? min_history : 2;
	l->mean_floor = 0.03;
	l->var_floor = 0.0003;
	l->raw = calloc(l->short_window, sizeof(double));
	l->avg = calloc(l->long_window, sizeof(double));
	l->n_raw = l->n_avg = l->head_raw = l->head_avg = l->since_refresh = 0;
	l->sum_raw = l->sum_avg = l->sumsq_avg = 0;
	if (!l->raw || !l->avg) {
		likelihood_release(l);
		return -1;
	}
	return 0;
}

void likelihood_release(struct likelihood *l)
{
	free(l->raw);
	free(l->avg);
	l->raw = l->avg = NULL;
}

double likelihood_step(struct likelihood *l, double raw)
{
	double m, p = 1;

	if (isnan(raw))
		return 1;
	raw = raw < 0 ? 0 : raw > 1 ? 1 : raw;
	/* short-term mean including this point */
	if (l->n_raw == l->short_window) {
		l->sum_raw -= l->raw[l->head_raw];
	} else {
		l->n_raw++;
	}
	l->raw[l->head_raw] = raw;
	l->head_raw = (l->head_raw + 1) % l->short_window;
	l->sum_raw += raw;
	m = l->sum_raw / (double)l->n_raw;

	if (l->n_avg >= l->min_history) {
		double mu = l->sum_avg / (double)l->n_avg;
		double var = (l->sumsq_avg - mu * l->sum_avg) / (double)(l->n_avg - 1);

		if (mu < l->mean_floor)
			mu = l->mean_floor;
		if (!(var >= l->var_floor))
			var = l->var_floor;
		p = m > mu ? 0.5 * erfc((m - mu) / sqrt(var) * M_SQRT1_2) : 1;
	}
	/* then m joins the history */
	if (l->n_avg == l->long_window) {
		double old = l->avg[l->head_avg];

		l->sum_avg -= old;
		l->sumsq_avg -= old * old;
	} else {
		l->n_avg++;
	}
	l->avg[l->head_avg] = m;
	l->head_avg = (l->head_avg + 1) % l->long_window;
	l->sum_avg += m;
	l->sumsq_avg += m * m;
	/* recompute the sums now and then so rounding cannot accumulate */
	if (++l->since_refresh >= l->long_window) {
		l->since_refresh = 0;
		l->sum_avg = l->sumsq_avg = 0;
		for (size_t k = 0; k < l->n_avg; k++) {
			l->sum_avg += l->avg[k];
			l->sumsq_avg += l->avg[k] * l->avg[k];
		}
		l->sum_raw = 0;
		for (size_t k = 0; k < l->n_raw; k++)
			l->sum_raw += l->raw[k];
	}
	return p;
}

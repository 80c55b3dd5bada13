/*
 * matrix_profile.c - matrix profile discords, causal.
 *
 * The matrix profile (Yeh et al., "Matrix Profile I", ICDM 2016) gives each
 * subsequence of length m the distance to its nearest neighbour; a discord,
 * a subsequence far from every other, is an anomaly.  Scoring causally
 * means the left matrix profile (Zhu et al., "Matrix Profile VII: Time
 * Series Chains", ICDM 2017): the subsequence ending at point i is compared
 * with the earlier ones only, here the last `history` of them outside the
 * trivial-match exclusion zone (ceil(m / 4) points, as STUMPY).  The dot products follow STOMP's
 * recurrence incrementally (leftmp.c): O(history) per point.
 *
 * The statistic is that nearest-neighbour distance (z-normalised Euclidean,
 * so shape matters and level does not; with `normalize` false, plain
 * Euclidean).  Point i's score is 1 - p, p the distance's tail probability
 * among the last `calibration` distances (tailprob.c), and it is flagged
 * when p <= alpha.  A subsequence with a missing or infinite value has no
 * distance and is nobody's neighbour; an infinite value itself scores 1 and
 * is flagged.  No model value, so no expected value or
 * band.  O(n history) time, O(history + calibration) memory.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

#include "leftmp.h"
#include "tailprob.h"
#include "banned.h"

static const struct vigil_host *host;

struct mp {
	size_t m, history, calibration, min_history;
	double alpha;
	int znorm;
};

static void *mp_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct mp *s = calloc(1, sizeof(*s));
	double v;

	if (!s) {
		host->error(d, "out of memory");
		return NULL;
	}
	host->param_number(p, "length", &v);
	s->m = (size_t)v;
	host->param_number(p, "history", &v);
	s->history = (size_t)v;
	host->param_number(p, "calibration", &v);
	s->calibration = (size_t)v;
	host->param_number(p, "min_history", &v);
	s->min_history = (size_t)v;
	host->param_number(p, "alpha", &s->alpha);
	host->param_bool(p, "normalize", &s->znorm);
	return s;
}

static int mp_detect(const void *state, const struct vigil_series *ser, struct vigil_result *r,
                     struct vigil_diag *d)
{
	const struct mp *s = state;
	const double *x = ser->values;
	size_t n = ser->n, excl = (s->m + 3) / 4, warm = n;
	struct leftmp lmp;
	struct tailprob tp;

	if (leftmp_init(&lmp, s->m, s->history < excl ? excl : s->history, excl, s->znorm))
		return host->error(d, "out of memory");
	if (tailprob_init(&tp, s->calibration, 0.1)) {
		leftmp_release(&lmp);
		return host->error(d, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		double dist = leftmp_step(&lmp, x, i), p;

		/* scoring starts once the first subsequence could have min_history neighbours */
		if (i + 1 >= s->m + excl + s->min_history && warm == n)
			warm = i;
		if (isinf(x[i]) && i >= warm) {
			r->score[i] = 1;
			r->anomaly[i] = 1;
			host->set_reason(r, i, "infinite value");
			continue;
		}
		if (isnan(dist))
			continue;
		if (i < warm) {
			tailprob_push(&tp, dist);
			continue;
		}
		p = tailprob_p_push(&tp, dist);
		r->score[i] = 1 - p;
		if (p <= s->alpha) {
			r->anomaly[i] = 1;
			host->set_reason(r, i, "the last %zu points match nothing in the previous %zu (distance %.3g)",
			                 s->m, s->history, ldexp(dist, leftmp_exponent(&lmp)));
		}
	}
	r->warmup = warm;
	tailprob_release(&tp);
	leftmp_release(&lmp);
	return 0;
}

static const struct vigil_detector mp_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "matrix_profile",
	.version = "1.0.0",
	.summary = "matrix profile discords: distance of the last subsequence to its nearest earlier one",
	.params_schema = "{"
		"\"length\": {\"type\": \"integer\", \"default\": 16, \"min\": 3, \"max\": 10000,"
		" \"doc\": \"m: points per subsequence\"},"
		"\"history\": {\"type\": \"integer\", \"default\": 2000, \"min\": 1, \"max\": 1000000,"
		" \"doc\": \"earlier subsequences each one is compared with\"},"
		"\"normalize\": {\"type\": \"boolean\", \"default\": false,"
		" \"doc\": \"z-normalise subsequences (shape only) or compare raw values\"},"
		"\"alpha\": {\"type\": \"number\", \"default\": 0.0001, \"exclusive_min\": 0, \"max\": 1,"
		" \"doc\": \"flag when the distance's tail probability is at most this\"},"
		"\"calibration\": {\"type\": \"integer\", \"default\": 1000, \"min\": 1, \"max\": 1000000,"
		" \"doc\": \"past distances the tail probability is calibrated on\"},"
		"\"min_history\": {\"type\": \"integer\", \"default\": 100, \"min\": 1,"
		" \"doc\": \"subsequences seen before scoring starts\"}"
	"}",
	.create = mp_create,
	.destroy = free,
	.detect = mp_detect,
};

static int mp_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &mp_detector);
}

VIGIL_PLUGIN_DEFINE("matrix_profile", "1.0.0", mp_init, NULL);

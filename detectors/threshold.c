/*
 * threshold.c - static bounds: a point is anomalous when it is above
 * `upper` or below `lower`.  No history needed; stateless and causal.
 */
#include <math.h>
#include <stdlib.h>
#include <vigil/detector.h>

static const struct vigil_host *host;

struct threshold {
	double lower;
	double upper;
};

static int threshold_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double lo, hi;
	int has_lo = host->param_number(p, "lower", &lo) == 1;
	int has_hi = host->param_number(p, "upper", &hi) == 1;

	if (!has_lo && !has_hi)
		return host->param_error(d, "upper", "set \"upper\", \"lower\" or both");
	if (has_lo && has_hi && !(lo < hi))
		return host->param_error(d, "lower", "must be below upper (%g >= %g)", lo, hi);
	return 0;
}

static void *threshold_create(const struct vigil_params *p, struct vigil_diag *d)
{
	struct threshold *t = malloc(sizeof(*t));

	if (!t) {
		host->error(d, "out of memory");
		return NULL;
	}
	if (host->param_number(p, "lower", &t->lower) != 1)
		t->lower = -INFINITY;
	if (host->param_number(p, "upper", &t->upper) != 1)
		t->upper = INFINITY;
	return t;
}

static int threshold_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                            struct vigil_diag *d)
{
	const struct threshold *t = state;

	(void)d;
	for (size_t i = 0; i < s->n; i++) {
		double v = s->values[i];

		r->lower[i] = t->lower;
		r->upper[i] = t->upper;
		if (isnan(v))
			continue;
		if (v > t->upper) {
			r->score[i] = 1;
			r->anomaly[i] = 1;
			host->set_reason(r, i, "%g is above the upper bound %g", v, t->upper);
		} else if (v < t->lower) {
			r->score[i] = 1;
			r->anomaly[i] = 1;
			host->set_reason(r, i, "%g is below the lower bound %g", v, t->lower);
		}
	}
	r->warmup = 0;
	return 0;
}

static const struct vigil_detector threshold_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "threshold",
	.version = "1.0.0",
	.summary = "static bounds: flags values above `upper` or below `lower`",
	.params_schema = "{"
		"\"lower\": {\"type\": \"number\", \"default\": null, \"doc\": \"values below this are anomalous\"},"
		"\"upper\": {\"type\": \"number\", \"default\": null, \"doc\": \"values above this are anomalous\"}"
	"}",
	.check = threshold_check,
	.create = threshold_create,
	.destroy = free,
	.detect = threshold_detect,
};

static int threshold_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &threshold_detector);
}

VIGIL_PLUGIN_DEFINE("threshold", "1.0.0", threshold_init, NULL);

/*
 * step.c - an example vigil detector plugin, built out of tree against the
 * installed header:
 *
 *     cc -shared -fPIC $(pkg-config --cflags vigil) -o step.so step.c
 *
 * Detector "step": flags a point whose change from the previous finite
 * value is larger than `max_step` (a required param).  Its score grows with
 * the jump: min(1, |jump| / (2 max_step)), so the threshold scores 0.5.
 */
#include <math.h>
#include <stdlib.h>
#include <vigil/detector.h>

static const struct vigil_host *host;

struct step {
	double max_step;
};

static void *step_create(const struct vigil_params *params, struct vigil_diag *diag)
{
	struct step *st = malloc(sizeof(*st));

	if (!st) {
		host->error(diag, "out of memory");
		return NULL;
	}
	host->param_number(params, "max_step", &st->max_step);
	return st;
}

static int step_detect(const void *state, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *diag)
{
	const struct step *st = state;
	double prev = NAN;
	size_t i;

	(void)diag;
	r->warmup = 0;
	for (i = 0; i < s->n; i++) {
		double v = s->values[i];

		if (!isfinite(v))
			continue;
		if (isfinite(prev)) {
			double jump = v - prev;

			r->expected[i] = prev;
			r->lower[i] = prev - st->max_step;
			r->upper[i] = prev + st->max_step;
			r->score[i] = fmin(1.0, fabs(jump) / (2 * st->max_step));
			if (fabs(jump) > st->max_step) {
				r->anomaly[i] = 1;
				host->set_reason(r, i, "jumped by %g (more than %g)", jump, st->max_step);
			}
		}
		prev = v;
	}
	return 0;
}

static const struct vigil_detector step_detector = {
	VIGIL_DETECTOR_HEADER,
	.name = "step",
	.version = "1.0.0",
	.summary = "flags a change from the previous value larger than max_step",
	.params_schema = "{\"max_step\": {\"type\": \"number\", \"exclusive_min\": 0,"
	                 " \"doc\": \"largest normal change between consecutive values\"}}",
	.create = step_create,
	.destroy = free,
	.detect = step_detect,
};

static int step_init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &step_detector);
}

VIGIL_PLUGIN_DEFINE("example-step", "1.0.0", step_init, NULL);

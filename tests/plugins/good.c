/* good.c - a well-behaved test plugin with two detectors, one with a check(). */
#include <stdlib.h>
#include <vigil/detector.h>

static const struct vigil_host *host;

static void *mk(const struct vigil_params *p, struct vigil_diag *d)
{
	static const int dummy;

	(void)p;
	(void)d;
	return (void *)&dummy;
}

/* Flags every point whose value is exactly `magic`. */
static int magic_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                        struct vigil_diag *d)
{
	(void)st;
	(void)d;
	for (size_t i = 0; i < s->n; i++) {
		if (s->values[i] == 42) {
			r->score[i] = 1;
			r->anomaly[i] = 1;
			host->set_reason(r, i, "the answer");
		}
	}
	return 0;
}

static int fail_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *d)
{
	(void)st;
	(void)r;
	return host->error(d, "refusing series '%s' on purpose", s->name);
}

static int strict_check(const struct vigil_params *p, struct vigil_diag *d)
{
	double a, b;

	host->param_number(p, "a", &a);
	host->param_number(p, "b", &b);
	if (a >= b)
		return host->param_error(d, "a", "must be below b");
	return 0;
}

static const struct vigil_detector magic = {
	VIGIL_DETECTOR_HEADER,
	.name = "test-magic",
	.version = "0.1",
	.summary = "flags 42",
	.params_schema = "{\"a\": {\"type\": \"number\", \"default\": 0}, \"b\": {\"type\": \"number\", \"default\": 1}}",
	.check = strict_check,
	.create = mk,
	.detect = magic_detect,
};

static const struct vigil_detector failing = {
	VIGIL_DETECTOR_HEADER,
	.name = "test-fail",
	.version = "0.1",
	.summary = "always fails",
	.params_schema = "{}",
	.create = mk,
	.detect = fail_detect,
};

static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	if (h->register_detector(ctx, &magic) || h->register_detector(ctx, &failing))
		return -1;
	return 0;
}

VIGIL_PLUGIN_DEFINE("test-good", "0.1", init, NULL);

/* failing_init.c - registers a detector, then fails init: all of it must be unwound. */
#include <vigil/detector.h>

static void *mk(const struct vigil_params *p, struct vigil_diag *d)
{
	(void)p;
	(void)d;
	return (void *)"x";
}

static int det(const void *s, const struct vigil_series *se, struct vigil_result *r, struct vigil_diag *d)
{
	(void)s; (void)se; (void)r; (void)d;
	return 0;
}

static const struct vigil_detector half = {
	VIGIL_DETECTOR_HEADER,
	.name = "failing_init",
	.version = "0",
	.params_schema = "{}",
	.create = mk,
	.detect = det,
};

static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	h->register_detector(ctx, &half);
	h->log(VIGIL_LOG_ERROR, "cannot initialise: no licence server (on purpose)");
	return -1;
}

VIGIL_PLUGIN_DEFINE("failing-init", "0", init, NULL);

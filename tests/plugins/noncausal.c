/* noncausal.c - a test plugin: a batch detector (VIGIL_DETECTOR_NONCAUSAL) that ensembles must refuse. */
#include <vigil/detector.h>

static const struct vigil_host *host;

static void *mk(const struct vigil_params *p, struct vigil_diag *d)
{
	static const int stateless;

	(void)p;
	(void)d;
	return (void *)&stateless;
}

static int batch_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                        struct vigil_diag *d)
{
	(void)st;
	(void)d;
	/* flags the largest value: it needs the whole series */
	for (size_t i = 0, best = 0; i < s->n; i++) {
		if (s->values[i] > s->values[best])
			best = i;
		if (i + 1 == s->n)
			r->anomaly[best] = 1;
	}
	return 0;
}

static const struct vigil_detector batch = {
	VIGIL_DETECTOR_HEADER,
	.name = "test-noncausal",
	.version = "0.1",
	.summary = "flags the maximum of the whole series",
	.params_schema = "{}",
	.flags = VIGIL_DETECTOR_NONCAUSAL,
	.create = mk,
	.detect = batch_detect,
};

static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &batch);
}

VIGIL_PLUGIN_DEFINE("test-noncausal", "0.1", init, NULL);

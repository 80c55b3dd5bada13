/* slow.c - a test detector that takes its time: "test-slow" sleeps `ms` per series. */
#include <time.h>
#include <vigil/detector.h>

static const struct vigil_host *host;

static void *mk(const struct vigil_params *p, struct vigil_diag *d)
{
	static double ms;

	(void)d;
	host->param_number(p, "ms", &ms);
	return &ms;
}

static int slow_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *d)
{
	double ms = *(const double *)st;
	struct timespec ts = { (time_t)(ms / 1000), (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6) };

	(void)s;
	(void)r;
	(void)d;
	while (nanosleep(&ts, &ts) != 0)
		;
	return 0;
}

static const struct vigil_detector slow = {
	VIGIL_DETECTOR_HEADER,
	.name = "test-slow",
	.version = "0.1",
	.summary = "sleeps ms milliseconds per series, scores nothing",
	.params_schema = "{\"ms\": {\"type\": \"number\", \"default\": 1000, \"min\": 0, \"max\": 600000}}",
	.create = mk,
	.detect = slow_detect,
};

static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &slow);
}

VIGIL_PLUGIN_DEFINE("test-slow", "0.1", init, NULL);

/*
 * crashy.c - a test plugin whose detectors misbehave on the series named
 * "b": crash-segv dereferences NULL, crash-abort calls abort(), crash-spin
 * loops forever, crash-leak allocates 64 MiB per call and never frees it.
 * On every other series they flag values equal to 42 ("the answer").
 */
#include <stdlib.h>
#include <string.h>
#include <vigil/detector.h>

static const struct vigil_host *host;

static void *mk(const struct vigil_params *p, struct vigil_diag *d)
{
	static const int dummy;

	(void)p;
	(void)d;
	return (void *)&dummy;
}

static int magic(const struct vigil_series *s, struct vigil_result *r)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->values[i] == 42) {
			r->score[i] = 1;
			r->anomaly[i] = 1;
			host->set_reason(r, i, "the answer");
		}
	}
	return 0;
}

static int is_b(const struct vigil_series *s)
{
	return !strcmp(s->name, "b");
}

/* A real segfault, not UBSan's report of the null store in a sanitizer build. */
__attribute__((no_sanitize("undefined")))
static int segv_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *d)
{
	(void)st;
	(void)d;
	if (is_b(s)) {
		volatile int *volatile p = NULL;

		*p = 1;
	}
	return magic(s, r);
}

static int abort_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                        struct vigil_diag *d)
{
	(void)st;
	(void)d;
	if (is_b(s))
		abort();
	return magic(s, r);
}

static int spin_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *d)
{
	(void)st;
	(void)d;
	if (is_b(s)) {
		volatile unsigned long x = 0;

		for (;;)
			x++;
	}
	return magic(s, r);
}

static int leak_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                       struct vigil_diag *d)
{
	(void)st;
	if (is_b(s)) {
		for (;;) {
			char *p = malloc(64 << 20);

			if (!p)
				return host->error(d, "out of memory");
			memset(p, 1, 64 << 20);
		}
	}
	return magic(s, r);
}

#define CRASHY(name_, fn_) { VIGIL_DETECTOR_HEADER, .name = (name_), .version = "0.1", \
	.summary = "misbehaves on series b", .params_schema = "{}", .create = mk, .detect = (fn_) }

static const struct vigil_detector dets[] = {
	CRASHY("crash-segv", segv_detect),
	CRASHY("crash-abort", abort_detect),
	CRASHY("crash-spin", spin_detect),
	CRASHY("crash-leak", leak_detect),
};

static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	for (size_t i = 0; i < sizeof(dets) / sizeof(dets[0]); i++)
		if (h->register_detector(ctx, &dets[i]))
			return -1;
	return 0;
}

VIGIL_PLUGIN_DEFINE("test-crashy", "0.1", init, NULL);

/*
 * marker.c - a test plugin that shows when it is loaded: its constructor
 * appends a line to the file $VIGIL_TEST_MARKER, before vigil calls anything.
 * Its detector "marker" flags the values above `above`.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <vigil/detector.h>

static const struct vigil_host *host;

__attribute__((constructor)) static void loaded(void)
{
	const char *path = getenv("VIGIL_TEST_MARKER");
	int fd;

	if (!path || (fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0)
		return;
	if (write(fd, "loaded\n", 7) != 7)
		_exit(99);
	close(fd);
}

static void *mk(const struct vigil_params *p, struct vigil_diag *d)
{
	double *above = malloc(sizeof(*above));

	if (!above)
		return host->error(d, "out of memory"), NULL;
	host->param_number(p, "above", above);
	return above;
}

static void drop(void *st)
{
	free(st);
}

static int marker_detect(const void *st, const struct vigil_series *s, struct vigil_result *r,
                         struct vigil_diag *d)
{
	double above = *(const double *)st;

	(void)d;
	for (size_t i = 0; i < s->n; i++)
		if (s->values[i] > above) {
			r->anomaly[i] = 1;
			r->score[i] = 1;
			host->set_reason(r, i, "above %g", above);
		}
	return 0;
}

static const struct vigil_detector marker = {
	VIGIL_DETECTOR_HEADER,
	.name = "marker",
	.version = "0.1",
	.summary = "flags values above `above`; its file leaves a mark when loaded",
	.params_schema = "{\"above\": {\"type\": \"number\", \"default\": 100}}",
	.create = mk,
	.destroy = drop,
	.detect = marker_detect,
};

static int init(const struct vigil_host *h, struct vigil_plugin_ctx *ctx)
{
	host = h;
	return h->register_detector(ctx, &marker);
}

VIGIL_PLUGIN_DEFINE("marker", "0.1", init, NULL);

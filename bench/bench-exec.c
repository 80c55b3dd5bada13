/*
 * bench-exec.c - what running a detector out of process costs per series.
 *
 *  - the external protocol, persistent and one-shot, against bench/exec-echo
 *    (a C detector that does nothing but answer), for series of 100, 1 000
 *    and 10 000 points; plus vigil's own share of it (encoding the request,
 *    decoding the response), and the same against a Python detector that
 *    does nothing (bench/exec-echo.py, through plugins/python/vigil_detector.py);
 *  - plugin isolation: zscore in-process vs in a vigil-plugin-host worker.
 *
 * Each figure is the median over many series of the time per series.
 * Usage: bench-exec ECHO_BINARY ECHO_PY PYTHON_DIR   (bench/run.sh runs it)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "detect.h"
#include "exec-detector.h"
#include "exec-proto.h"
#include "series.h"
#include "xmalloc.h"

static struct series *make_series(size_t n)
{
	struct series *s = series_new("bench");
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Metric-like values: two decimals, as a CSV or Prometheus source gives them. */
		series_append(s, 1700000000000 + (int64_t)i * 60000,
		              round((100 + (double)(x >> 11) / 9007199254740992.0 * 20) * 100) / 100);
	}
	return s;
}

/* Median microseconds per series of `reps` detection_run calls. */
static double time_runs(struct detector_instance *inst, const struct series *s, int reps)
{
	double *t = xcalloc((size_t)reps, sizeof(double)), med;
	struct vigil_error err = VIGIL_ERROR_INIT;

	for (int r = 0; r < reps; r++) {
		struct detection det;
		int64_t t0 = time_mono_ns();

		if (detection_run(inst, s, &det, &err)) {
			fprintf(stderr, "bench-exec: %s\n", err.msg);
			exit(1);
		}
		t[r] = seconds_since(t0) * 1e6;
		detection_release(&det);
	}
	med = median(t, (size_t)reps);
	free(t);
	return med;
}

/* Decode resp (a response for n points) into det, initialised here; exits on error. */
static void decode_or_die(const struct strbuf *resp, size_t n, struct detection *det)
{
	struct vigil_error err = VIGIL_ERROR_INIT;

	detection_init(det, n);
	if (exec_proto_detect_response(resp->buf, resp->len, 1, n, 0, det, &err)) {
		fprintf(stderr, "bench-exec: %s\n", err.msg);
		exit(1);
	}
}

/* vigil's share of one exchange: encode the request, decode an echo response (median; *best: fastest). */
static double time_codec(const struct series *s, int reps, double *best)
{
	struct strbuf req = STRBUF_INIT, resp = STRBUF_INIT;
	double *t = xcalloc((size_t)reps, sizeof(double)), med;
	struct exec_context ctx = { .job = "bench", .run_id = 1, .entry_id = "echo" };

	strbuf_addstr(&resp, "{\"id\":1,\"scores\":[");
	for (size_t i = 0; i < s->n; i++)
		strbuf_addstr(&resp, i ? ",0.25" : "0.25");
	strbuf_addstr(&resp, "],\"anomalies\":[]}\n");
	for (int r = 0; r < reps; r++) {
		struct detection det;
		int64_t t0 = time_mono_ns();

		strbuf_reset(&req);
		exec_proto_detect_request(&req, 1, "echo", "{}", &ctx, s);
		decode_or_die(&resp, s->n, &det);
		t[r] = seconds_since(t0) * 1e6;
		detection_release(&det);
	}
	med = median(t, (size_t)reps);
	*best = t[0];
	free(t);
	strbuf_release(&req);
	strbuf_release(&resp);
	return med;
}

/* Decoding alone: a response of n scores of 6 significant digits and an anomaly (median). */
static double time_decode(size_t n, int reps)
{
	struct strbuf resp = STRBUF_INIT;
	double *t = xcalloc((size_t)reps, sizeof(double)), med;

	strbuf_addstr(&resp, "{\"id\":1,\"scores\":[");
	for (size_t i = 0; i < n; i++)
		strbuf_addf(&resp, "%s%.6g", i ? "," : "", (double)(i % 997) / 997.0);
	strbuf_addstr(&resp, "],\"anomalies\":[{\"index\":0,\"reason\":\"x\",\"expected\":1.5}]}\n");
	for (int r = 0; r < reps; r++) {
		struct detection det;
		int64_t t0 = time_mono_ns();

		decode_or_die(&resp, n, &det);   /* detection_init included, as in time_codec */
		t[r] = seconds_since(t0) * 1e6;
		detection_release(&det);
	}
	med = median(t, (size_t)reps);
	free(t);
	strbuf_release(&resp);
	return med;
}

static struct detector_instance *exec_instance(struct registry *reg, const char *path, const char *pydir,
                                               const char *lifecycle)
{
	json_t *exec = json_pack("{s:s, s:s, s:{s:s}}", "path", path, "lifecycle", lifecycle, "env",
	                         "PYTHONPATH", pydir);
	struct detect_context ctx = { .job = "bench", .run_id = 1, .entry_id = "echo", .isolate = -1 };
	struct vigil_error err = VIGIL_ERROR_INIT;
	const struct detector_entry *e;
	struct detector_instance *inst;
	struct diag d;

	diag_init(&d, path);
	e = exec_spec_entry(reg, exec, "echo", ".", &d, "$.exec");
	if (!e) {
		fprintf(stderr, "bench-exec: %s\n", d.n ? d.msgs[0] : "describe failed");
		exit(1);
	}
	inst = detector_instance_new_ctx(e, NULL, &ctx, &err);
	diag_release(&d);
	json_decref(exec);
	return inst;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 100, 1000, 10000 };
	struct registry *reg = registry_new();
	const struct detector_entry *z;

	if (argc != 4) {
		fprintf(stderr, "usage: bench-exec ECHO_BINARY ECHO_PY PYTHON_DIR\n");
		return 2;
	}
	registry_add_default(reg, NULL, 0);
	z = registry_find(reg, "zscore");
	if (!z) {
		fprintf(stderr, "bench-exec: zscore not found (set VIGIL_PLUGIN_PATH)\n");
		return 1;
	}
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		struct series *s = make_series(n);
		int reps = n >= 10000 ? 300 : 2000;
		struct detector_instance *pers = exec_instance(reg, argv[1], argv[3], "persistent");
		struct detector_instance *one = exec_instance(reg, argv[1], argv[3], "oneshot");
		struct detector_instance *py = exec_instance(reg, argv[2], argv[3], "persistent");
		json_t *zp = json_pack("{s:i}", "window", 100);
		struct detect_context in_ctx = { .job = "bench", .isolate = 0 }, iso_ctx = { .job = "bench", .isolate = 1 };
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct detector_instance *zin = detector_instance_new_ctx(z, zp, &in_ctx, &err);
		struct detector_instance *ziso = detector_instance_new_ctx(z, zp, &iso_ctx, &err);
		double codec, best, tp, to, tpy, tin, tiso;

		if (!zin || !ziso) {
			fprintf(stderr, "bench-exec: %s\n", err.msg);
			return 1;
		}
		codec = time_codec(s, reps, &best);
		printf("n=%-6zu decoding a detect response %8.1f us\n", n, time_decode(n, reps));
		tp = time_runs(pers, s, reps);
		to = time_runs(one, s, n >= 10000 ? 100 : 300);
		tpy = time_runs(py, s, n >= 10000 ? 100 : 500);
		tin = time_runs(zin, s, reps);
		tiso = time_runs(ziso, s, reps);
		printf("n=%-6zu protocol persistent %8.1f us/series (%5.1f us per 1000 points; vigil's codec %6.1f us,"
		       " fastest %6.1f us)  one-shot %8.1f us  Python persistent %8.1f us\n", n, tp,
		       tp * 1000.0 / (double)n, codec, best, to, tpy);
		printf("n=%-6zu zscore in-process %8.1f us/series  isolated %8.1f us  overhead %8.1f us (x%.1f)\n", n, tin,
		       tiso, tiso - tin, tiso / tin);
		detector_instance_free(pers);
		detector_instance_free(one);
		detector_instance_free(py);
		detector_instance_free(zin);
		detector_instance_free(ziso);
		json_decref(zp);
		series_free(s);
	}
	registry_free(reg);
	return 0;
}

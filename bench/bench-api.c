/*
 * bench-api.c - latency of GET /api/series on a stored series of N points
 * (default 100 000, two detectors), through the real HTTP API
 * (libmicrohttpd) and libcurl on loopback: the whole series, and a range of
 * a tenth of it.  Prints the median and p99 over REPS requests and the
 * answer's size.
 *
 * Usage: bench-api [POINTS] [REPS]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "benchutil.h"
#include "store.h"
#include "strbuf.h"
#include "xmalloc.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	*(size_t *)arg += size * nmemb;
	(void)data;
	return size * nmemb;
}

static void measure(const char *url, int reps, const char *what)
{
	CURL *h = curl_easy_init();
	double *t = xcalloc((size_t)reps, sizeof(double));
	size_t bytes = 0;
	long code = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &bytes);
	for (int i = 0; i < reps; i++) {
		int64_t t0 = time_mono_ns();

		bytes = 0;
		curl_easy_perform(h);
		t[i] = seconds_since(t0) * 1e3;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	qsort(t, (size_t)reps, sizeof(double), cmp_dbl);
	printf("api: GET /api/series, %s: HTTP %ld, %.1f MB, median %.1f ms, p99 %.1f ms\n", what, code,
	       (double)bytes / 1e6, t[reps / 2], t[(size_t)((reps - 1) * 0.99)]);
	curl_easy_cleanup(h);
	free(t);
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? (size_t)atol(argv[1]) : 100000;
	int reps = argc > 2 ? atoi(argv[2]) : 30;
	char dir[] = "/tmp/vigil-bench-api-XXXXXX", url[256];
	struct stored_series s = { 0 };
	struct api_config cfg = { .listen = "127.0.0.1:0" };
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct api *api;
	struct store *st;
	char *path, *cmd;
	int64_t t0 = 1700000000000;

	if (!mkdtemp(dir))
		return 1;
	path = xasprintf("%s/vigil.db", dir);
	st = store_open(path, &err);
	if (!st) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	s.series = xstrdup("cpu");
	s.labels_json = xstrdup("{\"host\":\"web-1\"}");
	s.n = n;
	s.ts = xcalloc(n, sizeof(int64_t));
	s.value = xcalloc(n, sizeof(double));
	s.n_detectors = 2;
	s.det = xcalloc(2, sizeof(*s.det));
	for (size_t k = 0; k < 2; k++) {
		s.det[k].id = xstrdup(k ? "zscore" : "mad");
		s.det[k].score = xcalloc(n, sizeof(double));
		s.det[k].expected = xcalloc(n, sizeof(double));
		s.det[k].lower = xcalloc(n, sizeof(double));
		s.det[k].upper = xcalloc(n, sizeof(double));
		s.det[k].flags = xcalloc(n, 1);
	}
	for (size_t i = 0; i < n; i++) {
		s.ts[i] = t0 + (int64_t)i * 60000;
		s.value[i] = 40 + 10 * ((double)(i % 97) / 97.0) + (i % 1000 == 0 ? 50 : 0);
		for (size_t k = 0; k < 2; k++) {
			s.det[k].score[i] = (double)(i % 1000) / 1000.0;
			s.det[k].expected[i] = 45.123456789;
			s.det[k].lower[i] = 35.5 + (double)k / 3;
			s.det[k].upper[i] = 55.25 + (double)k / 7;
			s.det[k].flags[i] = i % 1000 == 0 ? STORED_FLAGGED | STORED_ALERTED : 0;
		}
	}
	if (st->backend->series_put(st, "bench", 1, t0, &s, 1, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	store_close(st);
	cfg.store_path = path;
	api = api_start(&cfg, NULL, &err);
	if (!api) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(url, sizeof(url), "http://%s/api/series/bench/cpu", api_address(api));
	printf("api: a stored series of %zu points, 2 detectors\n", n);
	measure(url, reps, "all points");
	snprintf(url, sizeof(url), "http://%s/api/series/bench/cpu?from=%lld&to=%lld", api_address(api),
	         (long long)(t0 + (int64_t)(n / 2) * 60000), (long long)(t0 + (int64_t)(n / 2 + n / 10 - 1) * 60000));
	measure(url, reps, "a tenth of them");
	api_stop(api);
	curl_global_cleanup();
	stored_series_release(&s);
	cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
	free(cmd);
	free(path);
	return 0;
}

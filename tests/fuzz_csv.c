/*
 * fuzz_csv.c - fuzzing the CSV source.  Byte 0 picks the options (long or
 * wide format, delimiter, duplicate policy, bad rows, time format, a small
 * max_series); the rest is the file, written to a temporary file and read
 * by the real fetch.  A read either fails with a message or returns series
 * sorted by time (duplicates resolved unless kept) within the limits.
 */
#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

#include "series.h"
#include "source.h"
#include "fuzzutil.h"
#include "banned.h"

static char path[] = "/tmp/vigil-fuzz-csv.XXXXXX";

static void remove_temp(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const dups[] = { "last", "first", "keep", "error" };
	static int fd = -1;
	struct fetch_ctx ctx = { .job = "fuzz", .from_ms = INT64_MIN, .to_ms = INT64_MAX, .max_series = 50 };
	struct series_set set = SERIES_SET_INIT;
	struct vigil_error err = VIGIL_ERROR_INIT;
	unsigned opt;
	json_t *cfg;
	int rc;

	if (size < 1 || size > 65536)
		return 0;
	if (fd < 0) {
		if ((fd = mkstemp(path)) < 0)
			abort();
		atexit(remove_temp);
	}
	opt = data[0];
	if (ftruncate(fd, 0) || pwrite(fd, data + 1, size - 1, 0) != (ssize_t)(size - 1))
		abort();
	cfg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i}", "type", "csv", "path", path,
	                "duplicates", dups[(opt >> 2) & 3], "on_bad_row", opt & 16 ? "skip" : "error",
	                "time_format", opt & 32 ? "unix" : "auto", "max_points", 1000);
	if (opt & 1)
		json_object_set_new(cfg, "series_column", json_string("name"));
	if (opt & 2)
		json_object_set_new(cfg, "delimiter", json_string(";"));
	if (opt & 64)
		json_object_set_new(cfg, "time_column", json_string("t"));
	rc = source_csv.fetch(cfg, &ctx, &set, &err);
	if (rc) {
		fuzz_check_message(err.msg, "csv fetch");
	} else {
		if (set.n > ctx.max_series)
			abort();
		for (size_t i = 0; i < set.n; i++) {
			const struct series *s = set.items[i];

			if (s->n > 1000)
				abort();
			for (size_t k = 1; k < s->n; k++)
				if (s->ts[k] < s->ts[k - 1] || (s->ts[k] == s->ts[k - 1] && ((opt >> 2) & 3) != 2))
					abort();
		}
	}
	series_set_release(&set);
	json_decref(cfg);
	return 0;
}

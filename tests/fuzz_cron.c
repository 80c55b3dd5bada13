/*
 * fuzz_cron.c - fuzzing cron_parse() and cron_next().
 *
 * A libFuzzer target (./configure --enable-fuzzing; make fuzz), and, linked
 * with tests/fuzz-main.c instead of libFuzzer, a replayer of its corpus in
 * tests/data/fuzz/cron/ that `make check` runs (tests/fuzz-replay.sh).
 *
 * Input layout: byte 0 picks the zone, bytes 1-8 the instant (big-endian),
 * the rest is the expression.  Shorter inputs are all expression.  Besides
 * "no crash, no hang, no leak" the target checks that fire times increase
 * and that error messages are printable, and aborts if not.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "error.h"
#include "tz.h"
#include "banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, as in cron.c */
#define TIME_MIN (-62135596800LL)
#define TIME_MAX 253402300799LL

static const char *const zone_names[] = {
	"UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin",
};
#define NZONES (sizeof(zone_names) / sizeof(zone_names[0]))

static void check_message(const struct vigil_error *err, const char *what)
{
	const char *p;

	if (!err->msg[0]) {
		fprintf(stderr, "%s failed without a message\n", what);
		abort();
	}
	for (p = err->msg; *p; p++) {
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) {
			fprintf(stderr, "%s: unprintable message '%s'\n", what, err->msg);
			abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tz *zones[NZONES];
	static int loaded;
	struct vigil_error err = VIGIL_ERROR_INIT;
	const struct tz *tz = NULL;
	int64_t after = 1700000000, next;
	uint64_t raw = 0;
	struct cron *c;
	char *expr;
	size_t i;

	if (!loaded) {
		/* a missing zone is skipped: the fuzzer then runs those cases in UTC */
		for (i = 0; i < NZONES; i++)
			zones[i] = tz_load(zone_names[i], NULL);
		loaded = 1;
	}
	if (size > 9) {
		tz = zones[data[0] % NZONES];
		for (i = 1; i < 9; i++)
			raw = raw << 8 | data[i];
		/* mostly valid instants; sometimes any int64, which must be refused */
		if (data[0] & 0x80)
			after = (int64_t)raw;
		else
			after = TIME_MIN + (int64_t)(raw % (uint64_t)(TIME_MAX - TIME_MIN + 1));
		data += 9;
		size -= 9;
	}
	expr = malloc(size + 1);
	if (!expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';

	c = cron_parse(expr, &err);
	if (!c) {
		check_message(&err, "cron_parse");
		free(expr);
		return 0;
	}
	for (i = 0; i < 8; i++) {
		vigil_error_clear(&err);
		if (cron_next(c, tz, after, &next, &err) < 0) {
			check_message(&err, "cron_next");
			break;
		}
		if (next <= after) {
			fprintf(stderr, "'%s' in %s: %lld is not after %lld\n", expr,
				tz_name(tz), (long long)next, (long long)after);
			abort();
		}
		after = next;
	}
	cron_free(c);
	free(expr);
	return 0;
}

/*
 * check_cron.c - unit tests for runner/civil.h, runner/tz.c and runner/cron.c.
 *
 * Tables of expressions with the instants they must fire at (month ends,
 * leap years, DST in Paris and New York), error messages, zone offsets
 * checked against glibc, hand-made TZif files, and a property test that
 * compares cron_next() with a minute-by-minute brute force.
 *
 * VIGIL_CRON_CASES sets the number of property-test cases (default 3000),
 * VIGIL_CRON_SEED their random seed; VIGIL_CRON_VERBOSE=1 prints how many
 * cases the brute force could check.
 */
#define _GNU_SOURCE
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "civil.h"
#include "cron.h"
#include "error.h"
#include "tz.h"
#include "banned.h"

/* ---- helpers ------------------------------------------------------------- */

/* "2024-03-31T02:30:00+02:00", "2024-03-31T02:30Z", seconds optional. */
static int64_t ts(const char *s)
{
	int y, mo, d, h, mi, sec = 0, oh = 0, om = 0, n = 0;
	char sign = 'Z';

	if (sscanf(s, "%d-%d-%dT%d:%d%n", &y, &mo, &d, &h, &mi, &n) != 5)
		ck_abort_msg("bad test time '%s'", s);
	s += n;
	if (*s == ':' && sscanf(s, ":%d%n", &sec, &n) == 1)
		s += n;
	if (*s == '+' || *s == '-') {
		sign = *s;
		if (sscanf(s + 1, "%d:%d", &oh, &om) != 2)
			ck_abort_msg("bad test offset '%s'", s);
	} else if (*s != 'Z') {
		ck_abort_msg("bad test time suffix '%s'", s);
	}
	return days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
		sec - (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
}

/* An instant as local ISO time with its offset, for failure messages. */
static const char *fmt(const struct tz *tz, int64_t t, char *buf, size_t size)
{
	long off = tz_offset_at(tz, t);
	struct civil_time ct;

	civil_from_seconds(t + off, &ct);
	snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u%c%02ld:%02ld (%lld)",
		 (long long)ct.year, ct.mon, ct.mday, ct.hour, ct.min, ct.sec,
		 off < 0 ? '-' : '+', labs(off) / 3600, labs(off) % 3600 / 60, (long long)t);
	return buf;
}

static struct tz *load(const char *name)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct tz *tz = tz_load(name, &err);

	ck_assert_msg(tz != NULL, "tz_load('%s'): %s", name, err.msg);
	return tz;
}

/* ---- civil.h ------------------------------------------------------------- */

START_TEST(test_civil_roundtrip)
{
	int64_t day, y;
	unsigned m, d, wd = weekday_from_days(days_from_civil(-400, 1, 1));

	ck_assert_int_eq(days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(days_from_civil(2000, 3, 1), 11017);
	ck_assert_int_eq(days_from_civil(1, 1, 1), -719162);
	ck_assert_int_eq(weekday_from_days(0), 4);	/* a Thursday */
	ck_assert_int_eq(weekday_from_days(-1), 3);
	ck_assert_int_eq(days_from_nth_weekday(2024, 3, 5, 0), days_from_civil(2024, 3, 31));
	ck_assert_int_eq(days_from_nth_weekday(2024, 11, 1, 0), days_from_civil(2024, 11, 3));
	ck_assert_int_eq(days_from_nth_weekday(2024, 3, 2, 0), days_from_civil(2024, 3, 10));
	/* every day of eight 400-year cycles, then a sample of a million years */
	for (day = days_from_civil(-400, 1, 1); day < days_from_civil(2800, 1, 1); day++) {
		civil_from_days(day, &y, &m, &d);
		if (days_from_civil(y, m, d) != day || m < 1 || m > 12 || d < 1 ||
		    d > days_in_month(y, m) || weekday_from_days(day) != wd)
			ck_abort_msg("day %lld -> %lld-%u-%u", (long long)day, (long long)y, m, d);
		wd = (wd + 1) % 7;
	}
	for (day = -365250000; day < 365250000; day += 9973) {
		civil_from_days(day, &y, &m, &d);
		if (days_from_civil(y, m, d) != day || m < 1 || m > 12 || d < 1 ||
		    d > days_in_month(y, m) ||
		    weekday_from_days(day) != (unsigned)(((day + 4) % 7 + 7) % 7))
			ck_abort_msg("day %lld -> %lld-%u-%u", (long long)day, (long long)y, m, d);
	}
}
END_TEST

/* ---- tz ------------------------------------------------------------------ */

struct offset_case {
	const char *zone, *when;
	long offset;
};

static void check_offset(const struct offset_case *c)
{
	struct tz *tz = load(c->zone);
	int64_t t = ts(c->when);

	ck_assert_msg(tz_offset_at(tz, t) == c->offset, "%s at %s: got %ld, want %ld", c->zone,
		      c->when, tz_offset_at(tz, t), c->offset);
	tz_free(tz);
}

static const struct offset_case offset_cases[] = {
	{ "UTC", "2024-06-01T00:00Z", 0 },
	{ "Etc/UTC", "1900-01-01T00:00Z", 0 },
	{ "Europe/Paris", "2024-01-15T12:00Z", 3600 },
	{ "Europe/Paris", "2024-07-15T12:00Z", 7200 },
	{ "Europe/Paris", "2024-03-31T00:59:59Z", 3600 },
	{ "Europe/Paris", "2024-03-31T01:00:00Z", 7200 },
	{ "Europe/Paris", "2024-10-27T00:59:59Z", 7200 },
	{ "Europe/Paris", "2024-10-27T01:00:00Z", 3600 },
	{ "Europe/Paris", "1850-01-01T00:00Z", 561 },	/* LMT, before any transition */
	{ "Europe/Paris", "2060-01-01T00:00Z", 3600 },	/* the footer's rule */
	{ "Europe/Paris", "2060-07-01T00:00Z", 7200 },
	{ "Europe/Paris", "2060-03-28T00:59:59Z", 3600 },
	{ "Europe/Paris", "2060-03-28T01:00:00Z", 7200 },
	{ "America/New_York", "2024-01-01T00:00Z", -18000 },
	{ "America/New_York", "2024-07-01T00:00Z", -14400 },
	{ "America/New_York", "2024-03-10T06:59:59Z", -18000 },
	{ "America/New_York", "2024-03-10T07:00:00Z", -14400 },
	{ "America/New_York", "2024-11-03T05:59:59Z", -14400 },
	{ "America/New_York", "2024-11-03T06:00:00Z", -18000 },
	{ "America/New_York", "2100-07-01T00:00Z", -14400 },
	{ "Australia/Sydney", "2024-01-01T00:00Z", 39600 },
	{ "Australia/Sydney", "2024-07-01T00:00Z", 36000 },
	{ "Australia/Sydney", "2080-01-01T00:00Z", 39600 },
	{ "Australia/Sydney", "2080-07-01T00:00Z", 36000 },
	{ "Europe/Dublin", "2080-01-01T00:00Z", 0 },	/* negative DST in winter */
	{ "Europe/Dublin", "2080-07-01T00:00Z", 3600 },
	{ "Australia/Lord_Howe", "2080-01-01T00:00Z", 39600 },	/* 30-minute DST */
	{ "Australia/Lord_Howe", "2080-07-01T00:00Z", 37800 },
	{ "Asia/Kolkata", "2024-01-01T00:00Z", 19800 },
	{ "Asia/Kathmandu", "2024-01-01T00:00Z", 20700 },
	{ "America/Sao_Paulo", "2024-01-01T00:00Z", -10800 },
};

START_TEST(test_tz_offsets)
{
	check_offset(&offset_cases[_i]);
}
END_TEST

/* glibc reads the same files: our offsets must agree with its localtime_r(). */
START_TEST(test_tz_offsets_match_glibc)
{
	static const char *const zones[] = {
		"Europe/Paris", "America/New_York", "Australia/Sydney", "Europe/Dublin",
		"Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Tehran", "Pacific/Chatham",
		"Africa/Casablanca", "America/Santiago", "Antarctica/Troll", "Pacific/Apia",
		"America/St_Johns", "Europe/London", "Asia/Gaza", "America/Godthab",
	};
	uint64_t seed = 42;
	size_t z;
	int i;

	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct tz *tz = load(zones[z]);

		setenv("TZ", zones[z], 1);
		tzset();
		for (i = 0; i < 2000; i++) {
			struct tm tm;
			time_t t;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			/* 1901 to 2200: before 1901 glibc's and RFC 8536's rules differ */
			t = (time_t)(-2145916800LL + (int64_t)((seed >> 11) % 9467280000ULL));
			if (i % 4 == 0)	/* close to a transition, where mistakes hide */
				t -= t % 3600;
			ck_assert(localtime_r(&t, &tm) != NULL);
			ck_assert_msg(tz_offset_at(tz, t) == tm.tm_gmtoff,
				      "%s at %lld: got %ld, glibc says %ld", zones[z],
				      (long long)t, tz_offset_at(tz, t), (long)tm.tm_gmtoff);
		}
		tz_free(tz);
	}
}
END_TEST

static const struct local_case {
	const char *zone, *local, *utc;
	int kind;
} tz_local_to_utc_cases[] = {
	{ "Europe/Paris", "2024-06-01T12:00Z", "2024-06-01T10:00Z", TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2024-03-31T02:00Z", "2024-03-31T01:00Z", TZ_LOCAL_GAP },
	{ "Europe/Paris", "2024-03-31T02:30Z", "2024-03-31T01:00Z", TZ_LOCAL_GAP },
	{ "Europe/Paris", "2024-03-31T03:00Z", "2024-03-31T01:00Z", TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2024-03-31T01:59Z", "2024-03-31T00:59Z", TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2024-10-27T02:00Z", "2024-10-27T00:00Z", TZ_LOCAL_AMBIGUOUS },
	{ "Europe/Paris", "2024-10-27T02:30Z", "2024-10-27T00:30Z", TZ_LOCAL_AMBIGUOUS },
	{ "Europe/Paris", "2024-10-27T03:00Z", "2024-10-27T02:00Z", TZ_LOCAL_UNIQUE },
	{ "Europe/Paris", "2060-03-28T02:30Z", "2060-03-28T01:00Z", TZ_LOCAL_GAP },
	{ "Europe/Paris", "2060-10-31T02:30Z", "2060-10-31T00:30Z", TZ_LOCAL_AMBIGUOUS },
	{ "America/New_York", "2024-03-10T02:30Z", "2024-03-10T07:00Z", TZ_LOCAL_GAP },
	{ "America/New_York", "2024-11-03T01:30Z", "2024-11-03T05:30Z", TZ_LOCAL_AMBIGUOUS },
	{ "America/New_York", "2024-11-03T02:30Z", "2024-11-03T07:30Z", TZ_LOCAL_UNIQUE },
	{ "Australia/Lord_Howe", "2024-10-06T02:15Z", "2024-10-05T15:30Z", TZ_LOCAL_GAP },
	{ "UTC", "2024-03-31T02:30Z", "2024-03-31T02:30Z", TZ_LOCAL_UNIQUE },
};

START_TEST(test_tz_local_to_utc)
{
	const struct local_case *c = &tz_local_to_utc_cases[_i];
	struct tz *tz = load(c->zone);
	int64_t utc = 0;
	int kind = -1;

	ck_assert_int_eq(tz_local_to_utc(tz, ts(c->local), &utc, &kind), 0);
	ck_assert_msg(utc == ts(c->utc) && kind == c->kind,
		      "%s %s: got %lld kind %d, want %s kind %d", c->zone, c->local,
		      (long long)utc, kind, c->utc, c->kind);
	ck_assert_int_eq(tz_local_to_utc(NULL, 12345, &utc, NULL), 0);
	ck_assert_int_eq(utc, 12345);
	ck_assert_int_eq(tz_local_to_utc(tz, INT64_MAX, &utc, &kind), -1);
	ck_assert_int_eq(tz_local_to_utc(tz, INT64_MIN, &utc, &kind), -1);
	tz_free(tz);
}
END_TEST

START_TEST(test_tz_extremes)
{
	struct tz *tz = load("Europe/Paris");

	ck_assert_int_eq(tz_offset_at(tz, INT64_MAX), tz_offset_at(tz, 1000000000000000LL));
	ck_assert_int_eq(tz_offset_at(tz, INT64_MIN), 561);
	ck_assert_int_eq(tz_offset_at(NULL, 123), 0);
	ck_assert_str_eq(tz_name(tz), "Europe/Paris");
	ck_assert_str_eq(tz_name(NULL), "UTC");
	tz_free(tz);
	tz_free(NULL);
}
END_TEST

static const struct {
	const char *name, *msg;
} tz_bad_names_cases[] = {
	{ "", "invalid time zone name ''" },
	{ "../etc/passwd", "invalid time zone name '../etc/passwd'" },
	{ "Europe/../../etc/passwd", "invalid time zone name 'Europe/../../etc/passwd'" },
	{ "/etc/localtime", "invalid time zone name '/etc/localtime'" },
	{ "Europe/Paris\n", "invalid time zone name 'Europe/Paris?'" },
	{ "Europe//Paris", "invalid time zone name 'Europe//Paris'" },
	{ "Europe/", "invalid time zone name 'Europe/'" },
	{ "Europe/Pa ris", "invalid time zone name 'Europe/Pa ris'" },
	{ "Europe/Paris;rm", "invalid time zone name 'Europe/Paris;rm'" },
};

START_TEST(test_tz_bad_names)
{
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_ptr_null(tz_load(tz_bad_names_cases[_i].name, &err));
	ck_assert_str_eq(err.msg, tz_bad_names_cases[_i].msg);
	ck_assert_int_eq(err.code, VIGIL_E_SPEC);
}
END_TEST

START_TEST(test_tz_unknown)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char long_name[400];

	ck_assert_ptr_null(tz_load("No/Such_Zone", &err));
	ck_assert_msg(strstr(err.msg, "unknown time zone 'No/Such_Zone' (cannot read '") == err.msg,
		      "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "No such file or directory"), "%s", err.msg);
	vigil_error_clear(&err);
	ck_assert_ptr_null(tz_load("Europe", &err));
	ck_assert_msg(strstr(err.msg, "Is a directory"), "%s", err.msg);
	vigil_error_clear(&err);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	ck_assert_ptr_null(tz_load(long_name, &err));
	ck_assert_msg(strstr(err.msg, "invalid time zone name 'aaa") && strstr(err.msg, "...'"),
		      "%s", err.msg);
	ck_assert_ptr_null(tz_load(NULL, NULL));
}
END_TEST

/* Hand-made TZif files in a private $TZDIR. */
static char tzdir[64];

struct tzif {
	unsigned char d[4096];
	size_t n;
};

static void put(struct tzif *b, const void *p, size_t n)
{
	ck_assert(b->n + n <= sizeof(b->d));
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put32(struct tzif *b, uint32_t v)
{
	unsigned char c[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, c, 4);
}

static void put64(struct tzif *b, int64_t v)
{
	put32(b, (uint32_t)((uint64_t)v >> 32));
	put32(b, (uint32_t)v);
}

static void put_header(struct tzif *b, char version, uint32_t timecnt, uint32_t typecnt,
		       uint32_t leapcnt)
{
	static const unsigned char zero[15];

	put(b, "TZif", 4);
	put(b, &version, 1);
	put(b, zero, 15);
	put32(b, 0);		/* isutcnt */
	put32(b, 0);		/* isstdcnt */
	put32(b, leapcnt);
	put32(b, timecnt);
	put32(b, typecnt);
	put32(b, 4);		/* charcnt: "XXX\0" */
}

/* A zone with `n` transitions alternating between offsets a and b. */
static void put_block(struct tzif *b, int big, const int64_t *trans, size_t n,
		      int32_t a, int32_t bo, uint32_t leapcnt)
{
	size_t i;

	for (i = 0; i < n; i++)
		big ? put64(b, trans[i]) : put32(b, (uint32_t)trans[i]);
	for (i = 0; i < n; i++)
		put(b, &(unsigned char){ (unsigned char)((i + 1) % 2) }, 1);
	put32(b, (uint32_t)a);
	put(b, "\0\0", 2);
	put32(b, (uint32_t)bo);
	put(b, "\1\0", 2);
	put(b, "XXX", 4);
	for (i = 0; i < leapcnt; i++) {
		big ? put64(b, 78796800) : put32(b, 78796800);
		put32(b, 1);
	}
}

static void write_zone(const char *name, const struct tzif *b)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tzdir, name);
	ck_assert((f = fopen(path, "wb")) != NULL);
	ck_assert_uint_eq(fwrite(b->d, 1, b->n, f), b->n);
	ck_assert_int_eq(fclose(f), 0);
}

/* A version 2 zone: an empty v1 block, then the 64-bit data and the footer. */
static void write_v2(const char *name, const int64_t *trans, size_t n, int32_t a, int32_t bo,
		     const char *footer)
{
	struct tzif b = { .n = 0 };

	put_header(&b, '2', 0, 1, 0);
	put32(&b, 0);
	put(&b, "\0\0XXX", 6);
	put_header(&b, '2', (uint32_t)n, 2, 0);
	put_block(&b, 1, trans, n, a, bo, 0);
	if (footer) {
		put(&b, "\n", 1);
		put(&b, footer, strlen(footer));
		put(&b, "\n", 1);
	}
	write_zone(name, &b);
}

static void tzdir_setup(void)
{
	static const int64_t trans[] = { 1000000000, 1100000000 };
	struct tzif b = { .n = 0 };

	snprintf(tzdir, sizeof(tzdir), "/tmp/check_cron_tz.XXXXXX");
	ck_assert(mkdtemp(tzdir) != NULL);
	setenv("TZDIR", tzdir, 1);

	put_header(&b, '\0', 2, 2, 0);		/* version 1 only */
	put_block(&b, 0, trans, 2, 3600, 7200, 0);
	write_zone("v1", &b);
	write_v2("v2", trans, 2, 3600, 7200, "XXX-1");
	write_v2("footer_only", NULL, 0, -18000, -14400, "EST5EDT,M3.2.0,M11.1.0");
	write_v2("default_rule", NULL, 0, -18000, -14400, "EST5EDT");
	write_v2("always_dst", NULL, 0, -18000, -14400, "EST5EDT,0/0,J365/25");
	write_v2("julian", NULL, 0, 0, 3600, "AAA0BBB,J60/0,J300/0");
	write_v2("quoted", NULL, 0, 0, 3600, "<+0330>-3:30");
	write_v2("no_footer", trans, 2, 3600, 7200, NULL);
	write_v2("empty_footer", trans, 2, 3600, 7200, "");
	write_v2("bad_footer", trans, 2, 3600, 7200, "CET-1CEST,M13.5.0,M10.5.0/3");
	write_v2("bad_footer2", trans, 2, 3600, 7200, "C-1");
	write_v2("unordered", (const int64_t[]){ 1100000000, 1000000000 }, 2, 3600, 7200, "");

	b.n = 0;
	put_header(&b, '3', 0, 1, 0);
	write_zone("truncated", &b);
	b.n = 0;
	put(&b, "TZxf", 4);
	write_zone("not_tzif", &b);
	b.n = 0;
	put_header(&b, '2', 0, 1, 0);
	put32(&b, 0);
	put(&b, "\0\0XXX", 6);
	put_header(&b, '2', 2, 2, 1);
	put_block(&b, 1, trans, 2, 0, 3600, 1);
	put(&b, "\nXXX0\n", 6);
	write_zone("leaps", &b);
	b.n = 0;
	put_header(&b, '\0', 2, 2, 0);
	put_block(&b, 0, trans, 2, 3600, 100000, 0);
	write_zone("bad_offset", &b);
}

static void tzdir_teardown(void)
{
	static const char *const names[] = {
		"v1", "v2", "footer_only", "default_rule", "always_dst", "julian", "quoted",
		"no_footer", "empty_footer", "bad_footer", "bad_footer2", "unordered",
		"truncated", "not_tzif", "leaps", "bad_offset",
	};
	char path[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", tzdir, names[i]);
		unlink(path);
	}
	rmdir(tzdir);
	unsetenv("TZDIR");
}

static const struct offset_case tzif_files_cases[] = {
	{ "v1", "2000-01-01T00:00Z", 3600 },	/* type 0 before the first */
	{ "v1", "2001-09-09T01:46:40Z", 7200 },	/* at the first transition */
	{ "v1", "2004-11-09T11:33:20Z", 3600 },	/* at the second */
	{ "v1", "2030-01-01T00:00Z", 3600 },	/* no footer: the last type */
	{ "v2", "2030-01-01T00:00Z", 3600 },
	{ "v2", "2002-01-01T00:00Z", 7200 },
	{ "no_footer", "2030-01-01T00:00Z", 3600 },
	{ "empty_footer", "2030-01-01T00:00Z", 3600 },
	{ "footer_only", "2024-03-10T06:59:59Z", -18000 },
	{ "footer_only", "2024-03-10T07:00:00Z", -14400 },
	{ "footer_only", "1950-07-01T00:00Z", -14400 },
	{ "footer_only", "2024-11-03T06:00:00Z", -18000 },
	{ "default_rule", "2024-07-01T00:00Z", -14400 },
	{ "default_rule", "2024-11-03T06:00:00Z", -18000 },
	{ "always_dst", "2024-01-01T05:00Z", -14400 },
	{ "always_dst", "2024-12-31T23:59Z", -14400 },
	{ "always_dst", "2025-07-01T00:00Z", -14400 },
	{ "julian", "2024-02-29T00:00Z", 0 },	/* J60 is Mar 1, leap or not */
	{ "julian", "2024-03-01T00:00Z", 3600 },
	{ "julian", "2023-03-01T00:00Z", 3600 },
	{ "julian", "2023-10-26T22:59:59Z", 3600 },	/* J300: Oct 27, 00:00 DST */
	{ "julian", "2023-10-26T23:00:00Z", 0 },
	{ "julian", "2024-10-26T22:59:59Z", 3600 },
	{ "julian", "2024-10-26T23:00:00Z", 0 },
	{ "quoted", "2024-01-01T00:00Z", 12600 },
};

START_TEST(test_tzif_files)
{
	check_offset(&tzif_files_cases[_i]);
}
END_TEST

static const struct {
	const char *zone, *msg;
} tzif_bad_files_cases[] = {
	{ "bad_footer", "bad TZ string footer" },
	{ "bad_footer2", "bad TZ string footer" },
	{ "unordered", "transitions are not in order" },
	{ "truncated", "truncated TZif file" },
	{ "not_tzif", "not a TZif file" },
	{ "leaps", "zones with leap seconds are not supported" },
	{ "bad_offset", "bad UTC offset 100000" },
};

START_TEST(test_tzif_bad_files)
{
	const char *zone = tzif_bad_files_cases[_i].zone;
	struct vigil_error err = VIGIL_ERROR_INIT;
	char want[512];

	ck_assert_ptr_null(tz_load(zone, &err));
	snprintf(want, sizeof(want), "time zone '%s': '%s/%s': %s", zone, tzdir, zone,
		 tzif_bad_files_cases[_i].msg);
	ck_assert_str_eq(err.msg, want);
	ck_assert_int_eq(err.code, VIGIL_E_DATA);
}
END_TEST

START_TEST(test_tz_utc_builtin)
{
	struct tz *tz;

	setenv("TZDIR", "/nonexistent", 1);
	tz = load("UTC");
	ck_assert_int_eq(tz_offset_at(tz, 1700000000), 0);
	tz_free(tz);
	tz = load("Etc/UTC");
	ck_assert_int_eq(tz_offset_at(tz, -1700000000), 0);
	tz_free(tz);
	unsetenv("TZDIR");
}
END_TEST

/* ---- cron: next fire times ----------------------------------------------- */

struct next_case {
	const char *zone, *expr, *after, *next;
};

static void check_next(const struct next_case *c)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct tz *tz = load(c->zone);
	struct cron *cron = cron_parse(c->expr, &err);
	char got[96], want[96];
	int64_t next = 0;

	ck_assert_msg(cron != NULL, "cron_parse('%s'): %s", c->expr, err.msg);
	ck_assert_msg(cron_next(cron, tz, ts(c->after), &next, &err) == 0,
		      "cron_next('%s', %s): %s", c->expr, c->after, err.msg);
	ck_assert_msg(next == ts(c->next), "'%s' in %s after %s: got %s, want %s", c->expr,
		      c->zone, c->after, fmt(tz, next, got, sizeof(got)),
		      fmt(tz, ts(c->next), want, sizeof(want)));
	cron_free(cron);
	tz_free(tz);
}

static const struct next_case utc_cases[] = {
	{ "UTC", "* * * * *", "2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z" },
	{ "UTC", "* * * * *", "2024-01-01T00:00:59Z", "2024-01-01T00:01:00Z" },
	{ "UTC", "* * * * *", "2024-12-31T23:59:30Z", "2025-01-01T00:00:00Z" },
	{ "UTC", "*/15 * * * *", "2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z" },
	{ "UTC", "1-30/2 * * * *", "2024-01-01T00:29:00Z", "2024-01-01T01:01:00Z" },
	{ "UTC", "5/15 * * * *", "2024-01-01T00:51:00Z", "2024-01-01T01:05:00Z" },
	{ "UTC", "5,10,50-52 * * * *", "2024-01-01T00:50:00Z", "2024-01-01T00:51:00Z" },
	{ "UTC", "0 0 1 * *", "2024-01-31T12:00Z", "2024-02-01T00:00Z" },
	{ "UTC", "0 0 31 * *", "2024-04-01T00:00Z", "2024-05-31T00:00Z" },
	{ "UTC", "0 12 30 * *", "2024-01-31T00:00Z", "2024-03-30T12:00Z" },
	{ "UTC", "59 23 31 12 *", "2024-06-01T00:00Z", "2024-12-31T23:59Z" },
	{ "UTC", "0 0 1 1 *", "2024-12-31T23:59:59Z", "2025-01-01T00:00Z" },
	{ "UTC", "0 0 29 2 *", "2023-03-01T00:00Z", "2024-02-29T00:00Z" },
	{ "UTC", "0 0 29 2 *", "2024-02-29T00:00Z", "2028-02-29T00:00Z" },
	{ "UTC", "0 0 29 2 *", "2096-03-01T00:00Z", "2104-02-29T00:00Z" },	/* 2100 */
	{ "UTC", "0 0 28 2 *", "2024-02-28T00:00Z", "2025-02-28T00:00Z" },
	{ "UTC", "0 0 1 3 *", "2024-02-28T12:00Z", "2024-03-01T00:00Z" },
	{ "UTC", "0 0 * * 0", "2024-09-02T00:00Z", "2024-09-08T00:00Z" },
	{ "UTC", "0 0 * * 7", "2024-09-02T00:00Z", "2024-09-08T00:00Z" },
	{ "UTC", "0 0 * * sun", "2024-09-02T00:00Z", "2024-09-08T00:00Z" },
	{ "UTC", "0 9 * * mon-fri", "2024-09-06T10:00Z", "2024-09-09T09:00Z" },
	{ "UTC", "0 9 * * MON-Fri", "2024-09-06T08:00Z", "2024-09-06T09:00Z" },
	{ "UTC", "0 9 * * fri-sun", "2024-09-09T10:00Z", "2024-09-13T09:00Z" },
	{ "UTC", "0 9 * * 5-7", "2024-09-08T10:00Z", "2024-09-13T09:00Z" },
	{ "UTC", "0 9 * * 6-0", "2024-09-08T08:00Z", "2024-09-08T09:00Z" },
	{ "UTC", "0 0 1 jan,JUL *", "2024-02-01T00:00Z", "2024-07-01T00:00Z" },
	{ "UTC", "0 0 1 mar-may/2 *", "2024-03-01T00:00Z", "2024-05-01T00:00Z" },
	{ "UTC", "0 0 13 * fri", "2024-09-01T00:00Z", "2024-09-06T00:00Z" },	/* OR */
	{ "UTC", "0 0 13 * fri", "2024-09-06T00:00Z", "2024-09-13T00:00Z" },
	{ "UTC", "0 0 13 * fri", "2024-09-27T00:00Z", "2024-10-04T00:00Z" },
	{ "UTC", "0 0 13 * fri", "2024-10-04T00:00Z", "2024-10-11T00:00Z" },
	{ "UTC", "0 0 13 * fri", "2024-10-11T00:00Z", "2024-10-13T00:00Z" },
	{ "UTC", "0 0 */2 * fri", "2024-09-01T00:00Z", "2024-09-13T00:00Z" },	/* AND */
	{ "UTC", "0 0 1 * */2", "2024-09-01T00:00Z", "2024-10-01T00:00Z" },	/* AND */
	{ "UTC", "0 0 * 2 mon", "2024-02-26T00:00Z", "2025-02-03T00:00Z" },
	{ "UTC", "0 0 1 1 *", "1969-06-01T00:00Z", "1970-01-01T00:00Z" },
	{ "UTC", "30 4 * * *", "1900-01-01T00:00Z", "1900-01-01T04:30Z" },
	{ "UTC", "0 0 1 1 *", "0001-01-01T00:00Z", "0002-01-01T00:00Z" },
	{ "UTC", "0 0 31 12 *", "9999-01-01T00:00Z", "9999-12-31T00:00Z" },
	{ "UTC", "0 0 * * 1", "2024-01-01T00:00Z", "2024-01-08T00:00Z" },
	{ "UTC", "  0   0  *\t* 1  ", "2024-01-01T00:00Z", "2024-01-08T00:00Z" },
	{ "UTC", "0 0 */31 3 mon", "2024-01-01T00:00Z", "2027-03-01T00:00Z" },
	{ "UTC", "0 0 */31 1 sun", "2017-01-01T00:00Z", "2023-01-01T00:00Z" },
	{ "UTC", "@yearly", "2024-06-01T00:00Z", "2025-01-01T00:00Z" },
	{ "UTC", "@annually", "2024-06-01T00:00Z", "2025-01-01T00:00Z" },
	{ "UTC", "@monthly", "2024-06-15T00:00Z", "2024-07-01T00:00Z" },
	{ "UTC", "@weekly", "2024-09-02T00:00Z", "2024-09-08T00:00Z" },
	{ "UTC", "@daily", "2024-06-15T13:00Z", "2024-06-16T00:00Z" },
	{ "UTC", "@midnight", "2024-06-15T13:00Z", "2024-06-16T00:00Z" },
	{ "UTC", "@hourly", "2024-06-15T13:00Z", "2024-06-15T14:00Z" },
	{ "UTC", "@DAILY", "2024-06-15T13:00Z", "2024-06-16T00:00Z" },
	{ "UTC", "@every 30s", "2024-06-15T13:00:00Z", "2024-06-15T13:00:30Z" },
	{ "UTC", "@every 30s", "2024-06-15T13:00:29Z", "2024-06-15T13:00:30Z" },
	{ "UTC", "@every 5m", "2024-06-15T13:02:00Z", "2024-06-15T13:05:00Z" },
	{ "UTC", "@every 1h30m", "2024-06-15T13:00:00Z", "2024-06-15T13:30:00Z" },
	{ "UTC", "@every 2d", "2024-06-15T13:00:00Z", "2024-06-16T00:00:00Z" },
	{ "UTC", "@every 1s", "2024-06-15T13:00:00Z", "2024-06-15T13:00:01Z" },
	{ "UTC", "@every 7s", "1970-01-01T00:00:00Z", "1970-01-01T00:00:07Z" },
	{ "UTC", "@every 7s", "1969-12-31T23:59:59Z", "1970-01-01T00:00:00Z" },
	{ "UTC", "@every 1d1h1m1s", "1970-01-01T00:00:00Z", "1970-01-02T01:01:01Z" },
	{ "UTC", "@every   90m  ", "2024-06-15T13:00:00Z", "2024-06-15T13:30:00Z" },
};

START_TEST(test_next_utc)
{
	check_next(&utc_cases[_i]);
}
END_TEST

static const struct next_case dst_cases[] = {
	/* Paris, spring: 02:00 CET becomes 03:00 CEST on 2024-03-31 */
	{ "Europe/Paris", "30 2 * * *", "2024-03-30T12:00+01:00", "2024-03-31T03:00+02:00" },
	{ "Europe/Paris", "30 2 * * *", "2024-03-31T03:00+02:00", "2024-04-01T02:30+02:00" },
	{ "Europe/Paris", "0 2 * * *", "2024-03-30T12:00+01:00", "2024-03-31T03:00+02:00" },
	{ "Europe/Paris", "0 3 * * *", "2024-03-30T12:00+01:00", "2024-03-31T03:00+02:00" },
	{ "Europe/Paris", "59 1 * * *", "2024-03-30T12:00+01:00", "2024-03-31T01:59+01:00" },
	{ "Europe/Paris", "*/15 * * * *", "2024-03-31T01:50+01:00", "2024-03-31T03:00+02:00" },
	{ "Europe/Paris", "*/15 * * * *", "2024-03-31T03:00+02:00", "2024-03-31T03:15+02:00" },
	{ "Europe/Paris", "0 9 * * *", "2024-03-30T09:00+01:00", "2024-03-31T09:00+02:00" },
	{ "Europe/Paris", "30 2 31 3 *", "2024-01-01T00:00+01:00", "2024-03-31T03:00+02:00" },
	/* Paris, autumn: 03:00 CEST becomes 02:00 CET on 2024-10-27 */
	{ "Europe/Paris", "30 2 * * *", "2024-10-26T12:00+02:00", "2024-10-27T02:30+02:00" },
	{ "Europe/Paris", "30 2 * * *", "2024-10-27T02:30+02:00", "2024-10-28T02:30+01:00" },
	{ "Europe/Paris", "30 2 * * *", "2024-10-27T02:10+01:00", "2024-10-28T02:30+01:00" },
	{ "Europe/Paris", "*/30 * * * *", "2024-10-27T02:45+02:00", "2024-10-27T02:00+01:00" },
	/* frequent jobs run on both passes of the repeated hour */
	{ "Europe/Paris", "*/30 * * * *", "2024-10-27T02:00+01:00", "2024-10-27T02:30+01:00" },
	{ "Europe/Paris", "*/30 * * * *", "2024-10-27T02:30+01:00", "2024-10-27T03:00+01:00" },
	{ "Europe/Paris", "0 * * * *", "2024-10-27T01:30+02:00", "2024-10-27T02:00+02:00" },
	{ "Europe/Paris", "0 * * * *", "2024-10-27T02:00+02:00", "2024-10-27T02:00+01:00" },
	{ "Europe/Paris", "0 * * * *", "2024-10-27T02:00+01:00", "2024-10-27T03:00+01:00" },
	{ "Europe/Paris", "0 3 * * *", "2024-10-27T02:30+01:00", "2024-10-27T03:00+01:00" },
	/* Paris after 2037: from the TZ string footer */
	{ "Europe/Paris", "30 2 * * *", "2050-03-26T12:00+01:00", "2050-03-27T03:00+02:00" },
	{ "Europe/Paris", "30 2 * * *", "2050-10-29T12:00+02:00", "2050-10-30T02:30+02:00" },
	{ "Europe/Paris", "30 2 * * *", "2050-10-30T02:30+02:00", "2050-10-31T02:30+01:00" },
	/* New York, spring: 02:00 EST becomes 03:00 EDT on 2024-03-10 */
	{ "America/New_York", "30 2 * * *", "2024-03-09T12:00-05:00", "2024-03-10T03:00-04:00" },
	{ "America/New_York", "30 2 * * *", "2024-03-10T03:00-04:00", "2024-03-11T02:30-04:00" },
	{ "America/New_York", "0 9 * * *", "2024-03-09T09:00-05:00", "2024-03-10T09:00-04:00" },
	{ "America/New_York", "*/20 * * * *", "2024-03-10T01:40-05:00", "2024-03-10T03:00-04:00" },
	/* New York, autumn: 02:00 EDT becomes 01:00 EST on 2024-11-03 */
	{ "America/New_York", "30 1 * * *", "2024-11-02T12:00-04:00", "2024-11-03T01:30-04:00" },
	{ "America/New_York", "30 1 * * *", "2024-11-03T01:30-04:00", "2024-11-04T01:30-05:00" },
	{ "America/New_York", "30 1 * * *", "2024-11-03T01:00-05:00", "2024-11-04T01:30-05:00" },
	{ "America/New_York", "*/20 * * * *", "2024-11-03T01:40-04:00", "2024-11-03T01:00-05:00" },
	{ "America/New_York", "*/20 * * * *", "2024-11-03T01:40-05:00", "2024-11-03T02:00-05:00" },
	/* ... and skip the times of the spring gap */
	{ "America/New_York", "*/20 * * * *", "2024-03-10T01:59-05:00", "2024-03-10T03:00-04:00" },
	{ "America/New_York", "0 0 * * *", "2024-11-02T12:00-04:00", "2024-11-03T00:00-04:00" },
	{ "America/New_York", "0 12 * * *", "2040-07-01T13:00-04:00", "2040-07-02T12:00-04:00" },
	/* Lord Howe moves by 30 minutes */
	{ "Australia/Lord_Howe", "15 2 * * *", "2024-10-05T12:00+10:30",
	  "2024-10-06T02:30+11:00" },
	/* @every ignores the zone */
	{ "Europe/Paris", "@every 1h", "2024-03-31T01:30+01:00", "2024-03-31T03:00+02:00" },
	{ "Europe/Paris", "@every 1h", "2024-10-27T02:30+02:00", "2024-10-27T02:00+01:00" },
	{ "Asia/Kolkata", "@every 1h", "2024-01-01T00:00+05:30", "2024-01-01T00:30+05:30" },
	{ "Asia/Kolkata", "0 * * * *", "2024-01-01T00:00+05:30", "2024-01-01T01:00+05:30" },
};

START_TEST(test_next_dst)
{
	check_next(&dst_cases[_i]);
}
END_TEST

/* ---- cron: errors -------------------------------------------------------- */

static const struct {
	const char *expr, *msg;
} parse_errors[] = {
	{ "", "empty cron expression" },
	{ " \t ", "empty cron expression" },
	{ "* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 4" },
	{ "* * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), got 6" },
	{ "61 * * * *", "minute field: '61' is out of range 0-59" },
	{ "1-61 * * * *", "minute field: '61' is out of range 0-59" },
	{ "1,2,99999999999999999999 * * * *",
	  "minute field: '99999999999999999999' is out of range 0-59" },
	{ "* 24 * * *", "hour field: '24' is out of range 0-23" },
	{ "* * 0 * *", "day-of-month field: '0' is out of range 1-31" },
	{ "* * 32 * *", "day-of-month field: '32' is out of range 1-31" },
	{ "* * * 0 *", "month field: '0' is out of range 1-12" },
	{ "* * * 13 *", "month field: '13' is out of range 1-12" },
	{ "* * * * 8", "day-of-week field: '8' is out of range 0-7" },
	{ "* * * foo *", "month field: 'foo' is not a number or a month name" },
	{ "* * * janu *", "month field: 'janu' is not a number or a month name" },
	{ "* * * * funday", "day-of-week field: 'funday' is not a number or a day name" },
	{ "* * * * jan", "day-of-week field: 'jan' is not a number or a day name" },
	{ "* * * mon *", "month field: 'mon' is not a number or a month name" },
	{ "x * * * *", "minute field: 'x' is not a number" },
	{ "jan * * * *", "minute field: 'jan' is not a number" },
	{ "5x * * * *", "minute field: '5x' is not a number" },
	{ "5-1 * * * *", "minute field: '5-1' is a reversed range" },
	{ "* * * dec-jan *", "month field: 'dec-jan' is a reversed range" },
	{ "* * * * sat-mon", "day-of-week field: 'sat-mon' is a reversed range" },
	{ "*/0 * * * *", "minute field: step '0' in '*/0' is out of range 1-60" },
	{ "*/61 * * * *", "minute field: step '61' in '*/61' is out of range 1-60" },
	{ "* 1-5/25 * * *", "hour field: step '25' in '1-5/25' is out of range 1-24" },
	{ "*/ * * * *", "minute field: '*/' is missing a step" },
	{ "*/x * * * *", "minute field: '*/x' is missing a step" },
	{ "1,,2 * * * *", "minute field: empty list item in '1,,2'" },
	{ "1, * * * *", "minute field: empty list item in '1,'" },
	{ ",1 * * * *", "minute field: empty list item in ',1'" },
	{ "1- * * * *", "minute field: '1-' is missing a value" },
	{ "-1 * * * *", "minute field: unexpected '-' in '-1'" },
	{ "1-2-3 * * * *", "minute field: unexpected '-' in '1-2-3'" },
	{ "*5 * * * *", "minute field: unexpected '5' in '*5'" },
	{ "*-5 * * * *", "minute field: unexpected '-' in '*-5'" },
	{ "1/2/3 * * * *", "minute field: unexpected '/' in '1/2/3'" },
	{ "? * * * *", "minute field: unexpected '?' in '?'" },
	{ "L * * * *", "minute field: 'L' is not a number" },
	{ "\x01 * * * *", "minute field: unexpected '\\x01' in '\\x01'" },
	{ "6'1 * * * *", "minute field: unexpected '\\x27' in '6\\x271'" },
	{ "\xc3\xa9 * * * *", "minute field: unexpected '\\xc3' in '\\xc3\\xa9'" },
	{ "1111111111111111111111111111111111111111111111111 * * * *",
	  "minute field: '1111111111111111111111111111111111111111...' is out of range 0-59" },
	{ "@foo", "unknown schedule '@foo' (expected @yearly, @annually, @monthly, @weekly, "
		  "@daily, @midnight, @hourly or @every <duration>)" },
	{ "@", "unknown schedule '@' (expected @yearly, @annually, @monthly, @weekly, "
	       "@daily, @midnight, @hourly or @every <duration>)" },
	{ "@reboot", "'@reboot' is not supported" },
	{ "@daily 5", "unexpected '5' after '@daily'" },
	{ "@every", "@every: missing duration (e.g. 30s, 5m, 1h30m, 2d)" },
	{ "@every 0s", "@every: '0s' is shorter than 1s" },
	{ "@every 0d0h", "@every: '0d0h' is shorter than 1s" },
	{ "@every 10", "@every: '10' is not a duration (e.g. 30s, 5m, 1h30m, 2d)" },
	{ "@every 5x", "@every: '5x' is not a duration (e.g. 30s, 5m, 1h30m, 2d)" },
	{ "@every 500ms", "@every: '500ms' is not a duration (e.g. 30s, 5m, 1h30m, 2d)" },
	{ "@every h", "@every: 'h' is not a duration (e.g. 30s, 5m, 1h30m, 2d)" },
	{ "@every 1h 30m", "@every: '1h 30m' is not a duration (e.g. 30s, 5m, 1h30m, 2d)" },
	{ "@every -5m", "@every: '-5m' is not a duration (e.g. 30s, 5m, 1h30m, 2d)" },
	{ "@every 367d", "@every: '367d' is longer than 366d" },
	{ "@every 366d1s", "@every: '366d1s' is longer than 366d" },
	{ "@every 99999999999999999999999d",
	  "@every: '99999999999999999999999d' is longer than 366d" },
};

START_TEST(test_parse_errors)
{
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_ptr_null(cron_parse(parse_errors[_i].expr, &err));
	ck_assert_str_eq(err.msg, parse_errors[_i].msg);
	ck_assert_int_eq(err.code, VIGIL_E_SPEC);
}
END_TEST

START_TEST(test_parse_misc_errors)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char big[CRON_MAX_EXPR + 2];
	struct cron *c;

	memset(big, ' ', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_ptr_null(cron_parse(big, &err));
	ck_assert_str_eq(err.msg, "cron expression is longer than 1024 bytes");
	vigil_error_clear(&err);
	ck_assert_ptr_null(cron_parse(NULL, &err));
	ck_assert_str_eq(err.msg, "missing cron expression");
	ck_assert_ptr_null(cron_parse("61 * * * *", NULL));
	/* the first error wins */
	ck_assert_ptr_null(cron_parse("x", &err));
	ck_assert_str_eq(err.msg, "missing cron expression");
	cron_free(NULL);
	/* the longest accepted expression */
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, "* * * * *", 9);
	big[CRON_MAX_EXPR] = '\0';
	ck_assert_ptr_nonnull(c = cron_parse(big, NULL));
	cron_free(c);
}
END_TEST

static const struct {
	const char *expr, *after, *msg;
} next_errors_cases[] = {
	{ "0 0 30 2 *", "2024-01-01T00:00Z", "'0 0 30 2 *' matches no time within 13 years" },
	{ "0 0 31 4,6,9,11 *", "2024-01-01T00:00Z",
	  "'0 0 31 4,6,9,11 *' matches no time within 13 years" },
	{ "0 0 31 2 *", "2024-01-01T00:00Z", "'0 0 31 2 *' matches no time within 13 years" },
	{ "0 0 1 1 *", "9999-06-01T00:00Z", "'0 0 1 1 *' matches no time before the year 10000" },
};

START_TEST(test_next_errors)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct cron *c = cron_parse(next_errors_cases[_i].expr, &err);
	int64_t next = 42;

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(cron_next(c, NULL, ts(next_errors_cases[_i].after), &next, &err), -1);
	ck_assert_str_eq(err.msg, next_errors_cases[_i].msg);
	ck_assert_int_eq(next, 42);
	cron_free(c);
}
END_TEST

START_TEST(test_next_range)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct cron *c = cron_parse("* * * * *", &err);
	struct cron *e = cron_parse("@every 1s", &err);
	int64_t next;

	ck_assert_int_eq(cron_next(c, NULL, INT64_MAX, &next, &err), -1);
	ck_assert_str_eq(err.msg, "time 9223372036854775807 is outside the years 1-9999");
	vigil_error_clear(&err);
	ck_assert_int_eq(cron_next(e, NULL, INT64_MIN, &next, &err), -1);
	ck_assert_str_eq(err.msg, "time -9223372036854775808 is outside the years 1-9999");
	ck_assert_int_eq(cron_next(c, NULL, ts("9999-12-31T23:58:59Z"), &next, NULL), 0);
	ck_assert_int_eq(next, ts("9999-12-31T23:59:00Z"));
	ck_assert_int_eq(cron_next(c, NULL, ts("9999-12-31T23:59:00Z"), &next, NULL), -1);
	ck_assert_int_eq(cron_next(e, NULL, ts("9999-12-31T23:59:59Z"), &next, NULL), 0);
	ck_assert_int_eq(cron_next(c, NULL, ts("0001-01-01T00:00:00Z"), &next, NULL), 0);
	ck_assert_int_eq(cron_next(NULL, NULL, 0, &next, NULL), -1);
	cron_free(c);
	cron_free(e);
}
END_TEST

/* ---- property test: cron_next() against a brute force -------------------- */

enum { MIN, HOUR, MDAY, MON, WDAY };

struct spec {
	uint64_t bits[5];
	int mday_star, wday_star;
	int clock_star;		/* minute or hour starts with '*': follows the running clock */
	char expr[512];
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void append(char *buf, size_t size, const char *s)
{
	size_t len = strlen(buf);

	snprintf(buf + len, size - len, "%s", s);
}

/* A value as a number or, sometimes, a name. */
static void value_text(int f, int v, char *out, size_t size)
{
	static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun", "jul",
					      "aug", "sep", "oct", "nov", "dec" };
	static const char *const days[] = { "sun", "MON", "Tue", "wed", "thu", "fri", "sat" };

	if (f == MON && rnd(3) == 0)
		snprintf(out, size, "%s", months[v - 1]);
	else if (f == WDAY && v < 7 && rnd(3) == 0)
		snprintf(out, size, "%s", days[v]);
	else
		snprintf(out, size, "%d", v);
}

/* One random field; the bits it should give are worked out independently. */
static void gen_field(struct spec *sp, int f, char *out, size_t size)
{
	static const int lo_of[] = { 0, 0, 1, 1, 0 }, hi_of[] = { 59, 23, 31, 12, 7 };
	/* percent of "*" fields: high for the day fields, so most schedules fire soon */
	static const unsigned star_pct[] = { 30, 30, 65, 85, 65 };
	int lo = lo_of[f], hi = hi_of[f], items = 1 + (rnd(4) == 0) + (rnd(6) == 0), i, v;
	char a[16], b[16], item[48];

	out[0] = '\0';
	sp->bits[f] = 0;
	for (i = 0; i < items; i++) {
		int from, to, step = 1;

		switch (i == 0 && rnd(100) < star_pct[f] ? 0 : 1 + rnd(4)) {
		case 0:		/* "*" or "*\/n" */
			from = lo;
			to = hi;
			if (rnd(f <= HOUR ? 3 : 8) == 0) {
				step = 1 + rnd((unsigned)(hi - lo + 1));
				snprintf(item, sizeof(item), "*/%d", step);
			} else {
				snprintf(item, sizeof(item), "*");
			}
			break;
		case 1:		/* "a" */
		case 2:
			from = to = lo + (int)rnd((unsigned)(hi - lo + 1));
			value_text(f, from, a, sizeof(a));
			snprintf(item, sizeof(item), "%s", a);
			break;
		case 3:		/* "a-b" or "a-b/n" */
			from = lo + (int)rnd((unsigned)(hi - lo + 1));
			to = from + (int)rnd((unsigned)(hi - from + 1));
			value_text(f, from, a, sizeof(a));
			value_text(f, to, b, sizeof(b));
			if (rnd(2)) {
				step = 1 + rnd((unsigned)(hi - lo + 1));
				snprintf(item, sizeof(item), "%s-%s/%d", a, b, step);
			} else {
				snprintf(item, sizeof(item), "%s-%s", a, b);
			}
			break;
		default:	/* "a/n" means a-max/n */
			from = lo + (int)rnd((unsigned)(hi - lo + 1));
			to = hi;
			step = 1 + rnd((unsigned)(hi - lo + 1));
			value_text(f, from, a, sizeof(a));
			snprintf(item, sizeof(item), "%s/%d", a, step);
			break;
		}
		for (v = from; v <= to; v += step)
			sp->bits[f] |= 1ULL << (f == WDAY && v == 7 ? 0 : v);
		if (i)
			append(out, size, ",");
		append(out, size, item);
	}
}

static void gen_spec(struct spec *sp)
{
	static const struct {
		const char *name;
		int minute, hour, mday, mon, wday;	/* -1: every value */
	} aliases[] = {
		{ "@yearly", 0, 0, 1, 1, -1 }, { "@monthly", 0, 0, 1, -1, -1 },
		{ "@weekly", 0, 0, -1, -1, 0 }, { "@daily", 0, 0, -1, -1, -1 },
		{ "@hourly", 0, -1, -1, -1, -1 },
	};
	char field[5][96];
	int f;

	memset(sp, 0, sizeof(*sp));
	if (rnd(40) == 0) {
		unsigned k = rnd(sizeof(aliases) / sizeof(aliases[0]));
		int vals[5] = { aliases[k].minute, aliases[k].hour, aliases[k].mday,
				aliases[k].mon, aliases[k].wday };

		for (f = 0; f < 5; f++)
			sp->bits[f] = vals[f] >= 0 ? 1ULL << vals[f] : ~0ULL;
		sp->mday_star = vals[MDAY] < 0;
		sp->wday_star = vals[WDAY] < 0;
		sp->clock_star = vals[MIN] < 0 || vals[HOUR] < 0;
		snprintf(sp->expr, sizeof(sp->expr), "%s", aliases[k].name);
		return;
	}
	for (f = 0; f < 5; f++)
		gen_field(sp, f, field[f], sizeof(field[f]));
	sp->mday_star = field[MDAY][0] == '*';
	sp->wday_star = field[WDAY][0] == '*';
	sp->clock_star = field[MIN][0] == '*' || field[HOUR][0] == '*';
	snprintf(sp->expr, sizeof(sp->expr), "%s %s %s %s %s", field[0], field[1], field[2],
		 field[3], field[4]);
}

/* Does the day (days since the epoch, wall clock) match? */
static int spec_day_matches(const struct spec *sp, int64_t day)
{
	struct civil_time ct;
	int dom, dow;

	civil_from_seconds(day * 86400, &ct);
	dom = sp->bits[MDAY] >> ct.mday & 1;
	dow = sp->bits[WDAY] >> ct.wday & 1;
	return (sp->bits[MON] >> ct.mon & 1) &&
		(sp->mday_star || sp->wday_star ? dom && dow : dom || dow);
}

/*
 * The DST policy, stated in the most literal way: walk UTC minute by minute
 * and fire at instant u for every matching wall-clock minute that the clock
 * reaches for the first time at u (skipped minutes are reached when the gap
 * ends; repeated ones were reached the first time).  Returns 0 and sets
 * *next, or -1 if nothing fires within `horizon` seconds.
 */
static int brute_next(const struct spec *sp, const struct tz *tz, int64_t after,
		      int64_t horizon, int64_t *next)
{
	int64_t u = floor_div64(after, 60) * 60 - 86400;
	int64_t high = u - 60 + tz_offset_at(tz, u - 60), local, l, day = INT64_MIN, sec;
	int day_ok = 0;

	if (sp->clock_star) {
		/* every instant at which the running wall clock shows a matching minute */
		for (u = after + 1; u <= after + horizon;) {
			int64_t rem;

			local = u + tz_offset_at(tz, u);
			rem = local - floor_div64(local, 60) * 60;
			if (rem) {
				u += 60 - rem;
				continue;
			}
			day = floor_div64(local, 86400);
			sec = local - day * 86400;
			if (spec_day_matches(sp, day) && (sp->bits[HOUR] >> (sec / 3600) & 1) &&
			    (sp->bits[MIN] >> (sec % 3600 / 60) & 1)) {
				*next = u;
				return 0;
			}
			u += 60;
		}
		return -1;
	}

	for (; u <= after + horizon; u += 60) {
		local = u + tz_offset_at(tz, u);
		if (local <= high)
			continue;
		for (l = high + 60; l <= local; l += 60) {
			if (floor_div64(l, 86400) != day) {
				day = floor_div64(l, 86400);
				day_ok = spec_day_matches(sp, day);
			}
			sec = l - day * 86400;
			if (u > after && day_ok && (sp->bits[HOUR] >> (sec / 3600) & 1) &&
			    (sp->bits[MIN] >> (sec % 3600 / 60) & 1)) {
				*next = u;
				return 0;
			}
		}
		high = local;
	}
	return -1;
}

/* A random instant, half the time within a day and a half of a DST change. */
static int64_t random_instant(const char *zone)
{
	int64_t y = 1950 + rnd(150), day;

	if (!strcmp(zone, "UTC") || rnd(2))
		return days_from_civil(y, 1, 1) * 86400 + (int64_t)rnd(366 * 86400);
	if (!strcmp(zone, "Europe/Paris"))
		day = days_from_nth_weekday(1980 + rnd(110), rnd(2) ? 3 : 10, 5, 0);
	else
		day = rnd(2) ? days_from_nth_weekday(2007 + rnd(90), 3, 2, 0) :
			days_from_nth_weekday(2007 + rnd(90), 11, 1, 0);
	return day * 86400 + (int64_t)rnd(3 * 86400) - 86400;
}

START_TEST(test_property_brute_force)
{
	static const char *const zones[] = { "UTC", "Europe/Paris", "America/New_York" };
	const int64_t horizon = 40 * 86400;
	const char *env = getenv("VIGIL_CRON_CASES");
	int cases = env ? (int)strtol(env, NULL, 10) : 3000, i, checked = 0;
	struct tz *tz[3];
	struct spec sp;
	size_t z;

	if (getenv("VIGIL_CRON_SEED"))
		rng = strtoull(getenv("VIGIL_CRON_SEED"), NULL, 0) | 1;
	for (z = 0; z < 3; z++)
		tz[z] = load(zones[z]);
	for (i = 0; i < cases; i++) {
		struct vigil_error err = VIGIL_ERROR_INIT;
		int64_t after, want, got = 0;
		struct cron *c;
		char g[96], w[96], a[96];
		int rc;

		z = rnd(3);
		gen_spec(&sp);
		after = random_instant(zones[z]);
		c = cron_parse(sp.expr, &err);
		ck_assert_msg(c != NULL, "cron_parse('%s'): %s", sp.expr, err.msg);
		rc = cron_next(c, tz[z], after, &got, &err);
		if (brute_next(&sp, tz[z], after, horizon, &want) == 0) {
			ck_assert_msg(rc == 0 && got == want,
				      "case %d: '%s' in %s after %s: got %s (%s), want %s", i,
				      sp.expr, zones[z], fmt(tz[z], after, a, sizeof(a)),
				      rc ? "error" : fmt(tz[z], got, g, sizeof(g)),
				      rc ? err.msg : "ok", fmt(tz[z], want, w, sizeof(w)));
			checked++;
		} else {
			/* nothing within the horizon: cron_next must agree */
			ck_assert_msg(rc < 0 || got > after + horizon,
				      "case %d: '%s' in %s after %s: got %s, brute force found none",
				      i, sp.expr, zones[z], fmt(tz[z], after, a, sizeof(a)),
				      fmt(tz[z], got, g, sizeof(g)));
		}
		cron_free(c);
	}
	/* the generator must mostly produce schedules that fire soon */
	if (getenv("VIGIL_CRON_VERBOSE"))
		fprintf(stderr, "%d of %d cases checked against the brute force\n", checked, cases);
	ck_assert_msg(checked >= cases * 3 / 4, "only %d of %d cases checked", checked, cases);
	for (z = 0; z < 3; z++)
		tz_free(tz[z]);
}
END_TEST

/* Every fire time is a match and consecutive calls never go backwards. */
START_TEST(test_property_sequence)
{
	struct tz *tz = load("Europe/Paris");
	struct spec sp;
	int i, k;

	for (i = 0; i < 300; i++) {
		struct cron *c;
		int64_t t, prev;

		gen_spec(&sp);
		c = cron_parse(sp.expr, NULL);
		ck_assert_ptr_nonnull(c);
		t = prev = random_instant("Europe/Paris");
		for (k = 0; k < 20 && cron_next(c, tz, t, &t, NULL) == 0; k++) {
			ck_assert_msg(t > prev, "'%s': %lld after %lld", sp.expr, (long long)t,
				      (long long)prev);
			prev = t;
		}
		cron_free(c);
	}
	tz_free(tz);
}
END_TEST

/* Junk must be refused cleanly, never crash or hang (ASan/valgrind watch). */
START_TEST(test_junk)
{
	static const char alphabet[] = "0123456789*/-, \t@everyjanfebsunmonLW?#smhdx\x01\xff";
	struct tz *tz = load("Europe/Paris");
	char expr[64];
	int i, j, len;

	for (i = 0; i < 20000; i++) {
		struct cron *c;
		int64_t next;

		len = (int)rnd(sizeof(expr));
		for (j = 0; j < len; j++)
			expr[j] = alphabet[rnd(sizeof(alphabet) - 1)];
		expr[len] = '\0';
		c = cron_parse(expr, NULL);
		if (c)
			cron_next(c, tz, (int64_t)rnd(4000000000U) - 2000000000, &next, NULL);
		cron_free(c);
	}
	tz_free(tz);
}
END_TEST

static Suite *cron_suite(void)
{
	Suite *s = suite_create("cron");
	TCase *tc;

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
	tc = tcase_create("civil");
	tcase_add_test(tc, test_civil_roundtrip);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("tz");
	tcase_add_loop_test(tc, test_tz_offsets, 0, N(offset_cases));
	tcase_add_test(tc, test_tz_offsets_match_glibc);
	tcase_add_loop_test(tc, test_tz_local_to_utc, 0, N(tz_local_to_utc_cases));
	tcase_add_test(tc, test_tz_extremes);
	tcase_add_loop_test(tc, test_tz_bad_names, 0, N(tz_bad_names_cases));
	tcase_add_test(tc, test_tz_unknown);
	tcase_add_test(tc, test_tz_utc_builtin);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("tzif");
	tcase_add_checked_fixture(tc, tzdir_setup, tzdir_teardown);
	tcase_add_loop_test(tc, test_tzif_files, 0, N(tzif_files_cases));
	tcase_add_loop_test(tc, test_tzif_bad_files, 0, N(tzif_bad_files_cases));
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("next");
	tcase_add_loop_test(tc, test_next_utc, 0, N(utc_cases));
	tcase_add_loop_test(tc, test_next_dst, 0, N(dst_cases));
	tcase_add_loop_test(tc, test_next_errors, 0, N(next_errors_cases));
	tcase_add_test(tc, test_next_range);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_loop_test(tc, test_parse_errors, 0, N(parse_errors));
	tcase_add_test(tc, test_parse_misc_errors);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("property");
	tcase_add_test(tc, test_property_brute_force);
	tcase_add_test(tc, test_property_sequence);
	tcase_add_test(tc, test_junk);
	tcase_set_timeout(tc, 600);
	suite_add_tcase(s, tc);
#undef N
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(cron_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

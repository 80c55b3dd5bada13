/* check_timefmt.c - timestamps, durations, suggestions, escaping, JSON paths. */
#include <math.h>
#include <stdint.h>

#include "diag.h"
#include "log.h"
#include "suggest.h"
#include "testutil.h"
#include "timefmt.h"

static int64_t parse(const char *s, enum time_format f)
{
	int64_t ms = 0;

	ck_assert_msg(time_parse(s, strlen(s), f, &ms) == 0, "'%s' rejected", s);
	return ms;
}

static int rejects(const char *s, enum time_format f)
{
	int64_t ms;

	return time_parse(s, strlen(s), f, &ms) == -1;
}

START_TEST(test_time_parse)
{
	ck_assert_int_eq(parse("1970-01-01T00:00:00Z", TIME_AUTO), 0);
	ck_assert_int_eq(parse("2026-11-22 10:30:00", TIME_AUTO), 1795343400000LL);
	ck_assert_int_eq(parse("2026-11-22T12:30:00+02:00", TIME_AUTO), 1795343400000LL);
	ck_assert_int_eq(parse("2026-11-22T05:00:00-0530", TIME_AUTO), 1795343400000LL);
	ck_assert_int_eq(parse("2026-11-22T10:30:00.5Z", TIME_AUTO), 1795343400500LL);
	ck_assert_int_eq(parse("2026-11-22", TIME_AUTO), 1795305600000LL);
	ck_assert_int_eq(parse("2024-02-29T00:00:00Z", TIME_AUTO), 1709164800000LL);
	ck_assert_int_eq(parse("1969-12-31T23:59:59Z", TIME_AUTO), -1000);
	ck_assert_int_eq(parse("1795343400", TIME_AUTO), 1795343400000LL);
	ck_assert_int_eq(parse("1795343400.25", TIME_UNIX), 1795343400250LL);
	ck_assert_int_eq(parse("1795343400000", TIME_AUTO), 1795343400000LL);
	ck_assert_int_eq(parse("17", TIME_UNIX_MS), 17);
	ck_assert_int_eq(parse(" 5 \r", TIME_AUTO), 5000);
	ck_assert(rejects("2023-02-29T00:00:00Z", TIME_AUTO));
	ck_assert(rejects("2026-13-01", TIME_AUTO));
	ck_assert(rejects("2026-11-22T24:00:00Z", TIME_AUTO));
	ck_assert(rejects("2026-11-22T10:30:00Zjunk", TIME_AUTO));
	ck_assert(rejects("2026-11-22T10", TIME_AUTO));
	ck_assert(rejects("", TIME_AUTO));
	ck_assert(rejects("nan", TIME_AUTO));
	ck_assert(rejects("1e300", TIME_AUTO));
	ck_assert(rejects("12abc", TIME_AUTO));
	ck_assert(rejects("1795343400", TIME_ISO8601));
}
END_TEST

/* The integer fast path for unix times agrees with strtod + llround. */
START_TEST(test_unix_fast_path)
{
	static const char *const cases[] = {
		"0", "1", "-1", "1700000000", "1700000000.4", "1700000000.5", "1700000000.0005", "-12.5",
		"1700000000.123456", "99999999999", "-99999999999.9994", "1700000000.9996",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = parse(cases[i], TIME_UNIX);
		int64_t want = (int64_t)llround(strtod(cases[i], NULL) * 1000.0);

		ck_assert_msg(got == want, "%s: %lld, strtod says %lld", cases[i], (long long)got, (long long)want);
		ck_assert_int_eq(parse(cases[i], TIME_AUTO), want);
	}
}
END_TEST

START_TEST(test_time_format)
{
	char buf[40];

	time_format_iso(1795343400000LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-22T10:30:00Z");
	time_format_iso(1795343400123LL, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-22T10:30:00.123Z");
	time_format_iso(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.999Z");
	/* round trip over a range of instants */
	for (int64_t t = -86400000LL * 800; t < 86400000LL * 40000; t += 86400000LL * 7 + 3601234) {
		time_format_iso(t, buf, sizeof(buf));
		ck_assert_int_eq(parse(buf, TIME_AUTO), t);
	}
}
END_TEST

START_TEST(test_durations)
{
	int64_t ms;
	char buf[32];

	ck_assert_int_eq(duration_parse("90s", &ms), 0);
	ck_assert_int_eq(ms, 90000);
	ck_assert_int_eq(duration_parse("1h30m", &ms), 0);
	ck_assert_int_eq(ms, 5400000);
	ck_assert_int_eq(duration_parse("2w1d", &ms), 0);
	ck_assert_int_eq(ms, 15 * 86400000LL);
	ck_assert_int_eq(duration_parse("250ms", &ms), 0);
	ck_assert_int_eq(ms, 250);
	ck_assert_int_eq(duration_parse("10", &ms), -1);
	ck_assert_int_eq(duration_parse("5 minutes", &ms), -1);
	ck_assert_int_eq(duration_parse("0s", &ms), -1);
	ck_assert_int_eq(duration_parse("m", &ms), -1);
	ck_assert_int_eq(duration_parse("", &ms), -1);
	ck_assert_int_eq(duration_parse("99999999999999999999d", &ms), -1);
	duration_format(5400000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1h30m");
	duration_format(15 * 86400000LL + 250, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2w1d250ms");
}
END_TEST

START_TEST(test_suggest)
{
	static const char *const keys[] = { "detectors", "source", "schedule", "notify", "window" };

	ck_assert_str_eq(suggest_closest("detectros", keys, 5), "detectors");
	ck_assert_str_eq(suggest_closest("sorce", keys, 5), "source");
	ck_assert_str_eq(suggest_closest("windw", keys, 5), "window");
	ck_assert_ptr_null(suggest_closest("completely-different", keys, 5));
	ck_assert_ptr_null(suggest_closest("x", keys, 5));
	ck_assert_uint_eq(suggest_distance("ab", "ba"), 1);
	ck_assert_uint_eq(suggest_distance("", "abc"), 3);
}
END_TEST

START_TEST(test_escape_and_paths)
{
	char buf[64], path[JPATH_MAX];

	log_escape(buf, sizeof(buf), "a\nb\x1b[31m");
	ck_assert_str_eq(buf, "a\\x0ab\\x1b[31m");
	log_escape(buf, 10, "abcdefghijklmnop");
	ck_assert_str_eq(buf, "abcdef...");
	jpath_key(path, sizeof(path), "$.a", "b_c-d");
	ck_assert_str_eq(path, "$.a.b_c-d");
	jpath_key(path, sizeof(path), "$.a", "odd \"key\"");
	ck_assert_str_eq(path, "$.a[\"odd \\\"key\\\"\"]");
	jpath_index(path, sizeof(path), "$.detectors", 3);
	ck_assert_str_eq(path, "$.detectors[3]");
}
END_TEST

static Suite *timefmt_suite(void)
{
	Suite *s = suite_create("timefmt");
	TCase *tc = tcase_create("timefmt");

	tcase_add_test(tc, test_time_parse);
	tcase_add_test(tc, test_unix_fast_path);
	tcase_add_test(tc, test_time_format);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_suggest);
	tcase_add_test(tc, test_escape_and_paths);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(timefmt_suite());
}

/* check_csv.c - the CSV source: formats, missing values, order, duplicates, errors. */
#include <math.h>
#include <stdint.h>

#include "series.h"
#include "source.h"
#include "testutil.h"
#include "timefmt.h"

struct fetched {
	struct series_set set;
	struct vigil_error err;
	int rc;
};

/* Fetch csv_text with the source object cfg_json ("path" is filled in). */
static struct fetched fetch(const char *csv_text, const char *cfg_json)
{
	struct fetched f = { SERIES_SET_INIT, VIGIL_ERROR_INIT, 0 };
	char *path = write_temp(csv_text, ".csv");
	json_error_t jerr;
	json_t *cfg = json_loads(cfg_json ? cfg_json : "{}", 0, &jerr);
	char *dir = xstrdup(path);   /* the "spec's directory": a source file must lie under it */
	struct fetch_ctx ctx = { .job = "t", .spec_dir = dir, .from_ms = INT64_MIN, .to_ms = INT64_MAX };

	*strrchr(dir, '/') = '\0';
	ck_assert_ptr_nonnull(cfg);
	json_object_set_new(cfg, "type", json_string("csv"));
	json_object_set_new(cfg, "path", json_string(path));
	f.rc = source_csv.fetch(cfg, &ctx, &f.set, &f.err);
	json_decref(cfg);
	unlink(path);
	free(path);
	free(dir);
	return f;
}

static void release(struct fetched *f)
{
	series_set_release(&f->set);
}

START_TEST(test_wide_iso)
{
	struct fetched f = fetch("timestamp,cpu,mem\n"
	                         "2026-01-01T00:00:00Z,1.5,10\n"
	                         "2026-01-01 00:01:00,,11\n"
	                         "2026-01-01T00:02:00+01:00,NaN,12\r\n"
	                         "2026-01-01T00:03:00.250Z,-2e3,null\n", NULL);

	ck_assert_int_eq(f.rc, 0);
	ck_assert_int_eq(f.set.n, 2);
	ck_assert_str_eq(f.set.items[0]->name, "cpu");
	ck_assert_str_eq(f.set.items[1]->name, "mem");
	ck_assert_int_eq(f.set.items[0]->n, 4);
	/* 00:02+01:00 is 23:02 the day before: it sorts first. */
	ck_assert_int_eq(f.set.items[0]->ts[0], 1767222120000LL);
	ck_assert(isnan(f.set.items[0]->v[0]));
	ck_assert_int_eq(f.set.items[0]->ts[1], 1767225600000LL);
	ck_assert(f.set.items[0]->v[1] == 1.5);
	ck_assert(isnan(f.set.items[0]->v[2]));
	ck_assert_int_eq(f.set.items[0]->ts[3], 1767225780250LL);
	ck_assert(f.set.items[0]->v[3] == -2000);
	ck_assert(isnan(f.set.items[1]->v[3]));
	release(&f);
}
END_TEST

START_TEST(test_unix_and_columns)
{
	struct fetched f = fetch("host;t;value;other\n"
	                         "a;1700000000;1;x\n"
	                         "b;1700000000;2;x\n"
	                         "a;1700000060.5;3;x\n",
	                         "{\"delimiter\": \";\", \"time_column\": \"t\", \"series_column\": \"host\","
	                         " \"value_columns\": [\"value\"], \"time_format\": \"unix\"}");

	ck_assert_int_eq(f.rc, 0);
	ck_assert_int_eq(f.set.n, 2);
	ck_assert_str_eq(f.set.items[0]->name, "a");
	ck_assert_int_eq(f.set.items[0]->n, 2);
	ck_assert_int_eq(f.set.items[0]->ts[1], 1700000060500LL);
	ck_assert_str_eq(f.set.items[0]->labels[0].key, "host");
	ck_assert_str_eq(f.set.items[0]->labels[0].value, "a");
	ck_assert_int_eq(f.set.items[1]->n, 1);
	ck_assert(f.set.items[1]->v[0] == 2);
	release(&f);
}
END_TEST

START_TEST(test_quoted_header_bom)
{
	struct fetched f = fetch("\xef\xbb\xbf\"time\",\"req, per s\"\n1700000000000,\"7\"\n", NULL);

	ck_assert_int_eq(f.rc, 0);
	ck_assert_int_eq(f.set.n, 1);
	ck_assert_str_eq(f.set.items[0]->name, "req, per s");
	ck_assert_int_eq(f.set.items[0]->ts[0], 1700000000000LL);   /* ms detected */
	ck_assert(f.set.items[0]->v[0] == 7);
	release(&f);
}
END_TEST

START_TEST(test_duplicates)
{
	const char *csv = "timestamp,v\n100,1\n200,2\n100,3\n300,4\n200,5\n";
	struct fetched f = fetch(csv, NULL);

	ck_assert_int_eq(f.rc, 0);
	ck_assert_int_eq(f.set.items[0]->n, 3);
	ck_assert(f.set.items[0]->v[0] == 3);   /* last wins */
	ck_assert(f.set.items[0]->v[1] == 5);
	release(&f);

	f = fetch(csv, "{\"duplicates\": \"first\"}");
	ck_assert(f.set.items[0]->v[0] == 1 && f.set.items[0]->v[1] == 2);
	release(&f);

	f = fetch(csv, "{\"duplicates\": \"keep\"}");
	ck_assert_int_eq(f.set.items[0]->n, 5);
	ck_assert(f.set.items[0]->v[0] == 1 && f.set.items[0]->v[1] == 3);   /* stable */
	release(&f);

	f = fetch(csv, "{\"duplicates\": \"error\"}");
	ck_assert_int_eq(f.rc, -1);
	ck_assert_ptr_nonnull(strstr(f.err.msg, "duplicate timestamp"));
	release(&f);
}
END_TEST

/* A missing value never replaces a present one, whatever the policy; header names are trimmed. */
START_TEST(test_duplicates_with_missing)
{
	const char *csv = "timestamp, v \n100,1\n100,\n200,\n200,2\n";
	struct fetched f = fetch(csv, NULL);

	ck_assert_int_eq(f.rc, 0);
	ck_assert_str_eq(f.set.items[0]->name, "v");
	ck_assert_int_eq(f.set.items[0]->n, 2);
	ck_assert(f.set.items[0]->v[0] == 1 && f.set.items[0]->v[1] == 2);
	release(&f);
	f = fetch(csv, "{\"duplicates\": \"first\"}");
	ck_assert(f.set.items[0]->v[0] == 1 && f.set.items[0]->v[1] == 2);
	release(&f);
}
END_TEST

START_TEST(test_errors_name_file_and_line)
{
	struct fetched f = fetch("timestamp,v\n100,1\n\n200,abc\n", NULL);

	ck_assert_int_eq(f.rc, -1);
	ck_assert_msg(strstr(f.err.msg, ".csv:4: column 'v': 'abc' is not a number"), "got %s", f.err.msg);
	release(&f);

	f = fetch("timestamp,v\n100,1\nyesterday,2\n", NULL);
	ck_assert_msg(strstr(f.err.msg, ".csv:3: 'yesterday' is not a timestamp"), "got %s", f.err.msg);
	release(&f);

	f = fetch("timestamp,v\n100,1,3\n", NULL);
	ck_assert_msg(strstr(f.err.msg, ".csv:2: expected 2 fields, found 3"), "got %s", f.err.msg);
	release(&f);

	f = fetch("timestamp,v\n100,\x01\x02\n", NULL);
	ck_assert_msg(strstr(f.err.msg, "'\\x01\\x02' is not a number"), "control bytes escaped: %s", f.err.msg);
	release(&f);

	f = fetch("a,b\n1,2\n", "{\"time_column\": \"when\"}");
	ck_assert_msg(strstr(f.err.msg, ".csv:1: no column 'when' among the 2 of the header row"), "got %s", f.err.msg);
	ck_assert_msg(!strstr(f.err.msg, "'a'"), "the header is not quoted: %s", f.err.msg);
	release(&f);

	f = fetch("timestamp,v\n1,2\n", "{\"time_column\": \"timestmp\"}");
	ck_assert_msg(strstr(f.err.msg, "(did you mean 'timestamp'?)"), "got %s", f.err.msg);
	release(&f);

	f = fetch("\n\n", NULL);
	ck_assert_msg(strstr(f.err.msg, "empty file"), "got %s", f.err.msg);
	release(&f);

	f = fetch("timestamp,v\n2026-02-30T00:00:00Z,1\n", NULL);
	ck_assert_msg(strstr(f.err.msg, "is not a timestamp"), "Feb 30 accepted: %s", f.err.msg);
	release(&f);
}
END_TEST

START_TEST(test_skip_bad_rows)
{
	struct fetched f = fetch("timestamp,v\n100,1\nbad,2\n300,x\n400,4,5\n500,5\n", "{\"on_bad_row\": \"skip\"}");

	ck_assert_int_eq(f.rc, 0);
	ck_assert_int_eq(f.set.items[0]->n, 3);   /* the unparsable value becomes missing */
	ck_assert(isnan(f.set.items[0]->v[1]));
	ck_assert(f.set.items[0]->v[2] == 5);
	release(&f);
}
END_TEST

START_TEST(test_max_points)
{
	struct fetched f = fetch("timestamp,v\n1,1\n2,2\n3,3\n", "{\"max_points\": 2}");

	ck_assert_int_eq(f.rc, -1);
	ck_assert_msg(strstr(f.err.msg, "more than 2 points"), "got %s", f.err.msg);
	release(&f);
}
END_TEST

START_TEST(test_header_only_and_missing_file)
{
	struct fetched f = fetch("timestamp,v\n", NULL);
	struct series_set set = SERIES_SET_INIT;
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *cfg = json_pack("{s:s, s:s}", "type", "csv", "path", "/nonexistent/x.csv");
	struct fetch_ctx ctx = { .from_ms = INT64_MIN, .to_ms = INT64_MAX };

	ck_assert_int_eq(f.rc, 0);
	ck_assert_int_eq(f.set.n, 1);
	ck_assert_int_eq(f.set.items[0]->n, 0);   /* no data, not an error */
	release(&f);

	ck_assert_int_eq(source_csv.fetch(cfg, &ctx, &set, &err), -1);
	ck_assert_msg(strstr(err.msg, "/nonexistent/x.csv: cannot open: No such file"), "got %s", err.msg);
	json_decref(cfg);
	series_set_release(&set);
}
END_TEST

START_TEST(test_window_filter)
{
	struct fetched f;
	char *path = write_temp("timestamp,v\n1000,1\n2000,2\n3000,3\n", ".csv");
	json_t *cfg = json_pack("{s:s, s:s}", "type", "csv", "path", path);
	struct fetch_ctx ctx = { .spec_dir = "/", .from_ms = 1500 * 1000, .to_ms = 3000 * 1000 };

	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(source_csv.fetch(cfg, &ctx, &f.set, &f.err), 0);
	ck_assert_int_eq(f.set.items[0]->n, 2);
	ck_assert_int_eq(f.set.items[0]->ts[0], 2000 * 1000);
	release(&f);
	json_decref(cfg);
	unlink(path);
	free(path);
}
END_TEST

START_TEST(test_number_parsing_exact)
{
	/* The fast path must agree with strtod bit for bit. */
	static const char *nums[] = {
		"0.1", "0.3", "123.456", "-0.000001", "9007199254740993", "1.7976931348623157e308",
		"4.9e-324", "2.2250738585072014e-308", "0.1000000000000000055511151231257827",
		"1e22", "1e23", "123456789012345678901234567890", "  42  ", "+7", "-0", "3.",
		".5", "1e-400", "1e400",
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		char *csv = xasprintf("timestamp,v\n1,%s\n", nums[i]);
		struct fetched f = fetch(csv, NULL);
		double want = strtod(nums[i], NULL);

		ck_assert_msg(f.rc == 0, "%s: %s", nums[i], f.err.msg);
		ck_assert_msg(memcmp(&f.set.items[0]->v[0], &want, sizeof(want)) == 0, "%s: got %.17g want %.17g",
		              nums[i], f.set.items[0]->v[0], want);
		release(&f);
		free(csv);
	}
}
END_TEST

static Suite *csv_suite(void)
{
	Suite *s = suite_create("csv");
	TCase *tc = tcase_create("csv");

	tcase_add_test(tc, test_wide_iso);
	tcase_add_test(tc, test_unix_and_columns);
	tcase_add_test(tc, test_quoted_header_bom);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_duplicates_with_missing);
	tcase_add_test(tc, test_errors_name_file_and_line);
	tcase_add_test(tc, test_skip_bad_rows);
	tcase_add_test(tc, test_max_points);
	tcase_add_test(tc, test_header_only_and_missing_file);
	tcase_add_test(tc, test_window_filter);
	tcase_add_test(tc, test_number_parsing_exact);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(csv_suite());
}

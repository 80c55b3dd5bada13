/*
 * check_sources.c - the pieces under the network sources: the JSON pull
 * scanner (valid and broken input), exact number and time conversion, the
 * series map, and spec checking of each source type.
 */
#include <math.h>
#include <stdint.h>

#include "diag.h"
#include "jsonscan.h"
#include "series-map.h"
#include "source.h"
#include "spec.h"
#include "strbuf.h"
#include "testutil.h"

/* Scan a whole text with jscan_skip; 0 if it is one valid JSON value. */
static int scan_all(const char *text, char *msg, size_t len)
{
	struct jscan s;
	int rc;

	jscan_init(&s, text, strlen(text));
	rc = jscan_skip(&s);
	if (!rc)
		rc = jscan_finish(&s);
	if (msg)
		snprintf(msg, len, "%s", s.msg);
	jscan_release(&s);
	return rc;
}

START_TEST(test_scan_valid)
{
	static const char *const ok[] = {
		"{}", "[]", "0", "-0.5e+3", "\"a\\u00e9\\ud83d\\ude00\\n\"", "true", "null",
		" {\"a\": [1, 2, {\"b\": [], \"c\": {}}], \"d\": \"\\\"\"} ",
		"[[[[[[[[[[1]]]]]]]]]]", "{\"k\":\"\xc3\xa9\"}",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char msg[256];

		ck_assert_msg(scan_all(ok[i], msg, sizeof(msg)) == 0, "%s: %s", ok[i], msg);
	}
}
END_TEST

START_TEST(test_scan_invalid)
{
	static const struct { const char *text, *msg; } bad[] = {
		{ "{\"a\": 1", "unexpected end of input where ',' or '}' was expected (truncated?)" },
		{ "[1, 2,]", "']' where a value was expected" },
		{ "[1 2]", "'2' where ',' or ']' was expected" },
		{ "{\"a\" 1}", "'1' where ':' was expected" },
		{ "{1: 2}", "'1' where a member name was expected" },
		{ "\"abc", "unterminated string (truncated?)" },
		{ "\"a\\qb\"", "bad escape '\\q' in a string" },
		{ "\"a\tb\"", "control character 0x09 in a string" },
		{ "\"\xff\"", "invalid UTF-8 in a string" },
		{ "\"\\ud800x\"", "unpaired surrogate" },
		{ "01", "unexpected data after the JSON value" },
		{ "1.", "where a digit was expected" },
		{ "-", "where a number was expected" },
		{ "tru", "where a value was expected" },
		{ "<html>", "'<' where a value was expected" },
		{ "{} {}", "unexpected data after the JSON value" },
		{ "[}", "'}' where a value was expected" },
		{ "", "unexpected end of input where a value was expected" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char msg[256];

		ck_assert_msg(scan_all(bad[i].text, msg, sizeof(msg)) == -1, "'%s' was accepted", bad[i].text);
		ck_assert_msg(strstr(msg, bad[i].msg), "'%s': got '%s', expected '%s'", bad[i].text, msg, bad[i].msg);
		ck_assert_msg(strstr(msg, "invalid JSON at byte "), "%s: no offset", msg);
	}
}
END_TEST

START_TEST(test_scan_deep)
{
	/* deep nesting is refused, not a stack overflow */
	size_t n = 200000;
	char *text = xmalloc(n + 1), msg[256];

	memset(text, '[', n);
	text[n] = '\0';
	ck_assert_int_eq(scan_all(text, msg, sizeof(msg)), -1);
	ck_assert_msg(strstr(msg, "nested deeper than 10000 levels"), "%s", msg);
	free(text);
}
END_TEST

START_TEST(test_scan_pull)
{
	const char *text = "{\"status\":\"success\",\"skip\":{\"x\":[1,{\"y\":null}]},"
	                   "\"values\":[[1795299300.5,\"NaN\"],[1795299360,\"+Inf\"],[1,\"-1.25e2\"]],"
	                   "\"esc\":\"a\\\"b\"}";
	struct jscan s;
	const char *k, *v;
	size_t kl, vl, n = 0;
	int r;
	double vals[3];
	int64_t ts[3];

	jscan_init(&s, text, strlen(text));
	ck_assert_int_eq(jscan_object(&s), 0);
	while ((r = jscan_key(&s, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "status")) {
			ck_assert_int_eq(jscan_peek(&s), JT_STRING);
			ck_assert_int_eq(jscan_string(&s, &v, &vl), 0);
			ck_assert_int_eq(vl, 7);
			ck_assert(!memcmp(v, "success", 7));
		} else if (jscan_key_is(k, kl, "values")) {
			ck_assert_int_eq(jscan_array(&s), 0);
			while ((r = jscan_next(&s)) == 1) {
				const char *t;
				size_t tl;

				ck_assert_int_eq(jscan_array(&s), 0);
				ck_assert_int_eq(jscan_next(&s), 1);
				ck_assert_int_eq(jscan_number_text(&s, &t, &tl), 0);
				ck_assert_int_eq(json_decimal_to_ms(t, tl, 1000, &ts[n]), 0);
				ck_assert_int_eq(jscan_next(&s), 1);
				ck_assert_int_eq(jscan_string(&s, &v, &vl), 0);
				ck_assert_int_eq(json_parse_double(v, vl, &vals[n]), 0);
				ck_assert_int_eq(jscan_next(&s), 0);
				n++;
			}
			ck_assert_int_eq(r, 0);
		} else if (jscan_key_is(k, kl, "esc")) {
			ck_assert_int_eq(jscan_string(&s, &v, &vl), 0);
			ck_assert_int_eq(vl, 3);
			ck_assert(!memcmp(v, "a\"b", 3));
		} else {
			ck_assert_int_eq(jscan_skip(&s), 0);
		}
	}
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(jscan_finish(&s), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(ts[0], 1795299300500LL);
	ck_assert_int_eq(ts[1], 1795299360000LL);
	ck_assert(isnan(vals[0]));
	ck_assert(isinf(vals[1]) && vals[1] > 0);
	ck_assert(vals[2] == -125.0);
	jscan_release(&s);
}
END_TEST

START_TEST(test_decimal_ms)
{
	static const struct { const char *s; int64_t unit, ms; } cases[] = {
		{ "1795299300", 1000, 1795299300000LL },
		{ "1795299300.5", 1000, 1795299300500LL },
		{ "1795299300.123456", 1000, 1795299300123LL },
		{ "1.7952993005e9", 1000, 1795299300500LL },
		{ "-1.5", 1000, -1500 },
		{ "0.0004", 1000, 0 },
		{ "-0.0004", 1000, -1 },
		{ "1795299300000", 1, 1795299300000LL },
		{ "17952993e2", 1000, 1795299300000LL },
	};
	int64_t ms;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(json_decimal_to_ms(cases[i].s, strlen(cases[i].s), cases[i].unit, &ms) == 0, "%s", cases[i].s);
		ck_assert_msg(ms == cases[i].ms, "%s: %lld", cases[i].s, (long long)ms);
	}
	ck_assert_int_eq(json_decimal_to_ms("1e30", 4, 1000, &ms), -1);
	ck_assert_int_eq(json_decimal_to_ms("abc", 3, 1000, &ms), -1);
	ck_assert_int_eq(json_decimal_to_ms("1.5x", 4, 1000, &ms), -1);
}
END_TEST

START_TEST(test_parse_double_exact)
{
	static const char *const nums[] = {
		"87.424", "0.1", "1e-300", "123456789012345678901234", "2.2250738585072014e-308", "-0", "3.14159",
	};

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double v;

		ck_assert_int_eq(json_parse_double(nums[i], strlen(nums[i]), &v), 0);
		ck_assert_msg(v == strtod(nums[i], NULL), "%s", nums[i]);
	}
	{
		double v;

		ck_assert_int_eq(json_parse_double("nan", 3, &v), 0);
		ck_assert(isnan(v));
		ck_assert_int_eq(json_parse_double("-Infinity", 9, &v), 0);
		ck_assert(isinf(v) && v < 0);
		ck_assert_int_eq(json_parse_double("12abc", 5, &v), -1);
		ck_assert_int_eq(json_parse_double("", 0, &v), -1);
	}
}
END_TEST

START_TEST(test_series_map)
{
	struct series_set set = SERIES_SET_INIT;
	struct series_map m;
	struct vigil_label a[] = { { "job", "node" }, { "instance", "web-1" } };
	struct vigil_label b[] = { { "instance", "web-1" }, { "job", "node" } };
	struct vigil_label q[] = { { "msg", "say \"hi\"\\" } };
	struct series *s1, *s2, *s3;

	series_map_init(&m, &set);
	s1 = series_map_get(&m, "cpu", a, 2);
	s2 = series_map_get(&m, "cpu", b, 2);
	ck_assert_ptr_eq(s1, s2);
	ck_assert_str_eq(s1->name, "cpu{instance=\"web-1\",job=\"node\"}");
	ck_assert_int_eq(s1->n_labels, 2);
	ck_assert_str_eq(s1->labels[0].key, "instance");
	s3 = series_map_get(&m, NULL, q, 1);
	ck_assert_str_eq(s3->name, "{msg=\"say \\\"hi\\\"\\\\\"}");
	ck_assert_ptr_eq(series_map_get(&m, "cpu", NULL, 0), series_map_get(&m, "cpu", NULL, 0));
	ck_assert_int_eq(set.n, 3);
	/* many distinct series: the table grows and keeps them apart */
	for (int i = 0; i < 5000; i++) {
		char v[16];
		struct vigil_label l = { "id", v };

		snprintf(v, sizeof(v), "%d", i);
		series_append(series_map_get(&m, "x", &l, 1), i, i);
	}
	ck_assert_int_eq(set.n, 5003);
	for (int i = 0; i < 5000; i++)
		ck_assert_int_eq(set.items[3 + i]->n, 1);
	series_map_release(&m);
	series_set_release(&set);
}
END_TEST

/* Validate a spec with the given source object; returns the diag's messages joined. */
static char *check_source(const char *source_json)
{
	struct registry *reg = test_registry();
	struct diag d;
	char *text = xasprintf("{\"version\": 1, \"name\": \"t\", \"source\": %s, "
	                       "\"detectors\": [{\"detector\": \"zscore\"}]}", source_json);
	struct job_spec *spec;
	struct strbuf out = STRBUF_INIT;

	diag_init(&d, "spec.json");
	spec = spec_parse(text, NULL, reg, &d);
	for (size_t i = 0; i < d.n; i++)
		strbuf_addf(&out, "%s\n", d.msgs[i]);
	ck_assert(spec ? d.n == 0 : d.n > 0);
	spec_free(spec);
	diag_release(&d);
	registry_free(reg);
	free(text);
	text = xstrdup(strbuf_str(&out));
	strbuf_release(&out);
	return text;
}

#define ASSERT_HAS(all, s) ck_assert_msg(strstr((all), (s)), "'%s' not in:\n%s", (s), (all))

START_TEST(test_check_specs)
{
	char *m;

	m = check_source("{\"type\": \"sqlite\", \"query\": 5, \"window_format\": \"iso\", \"max_rows\": 0}");
	ASSERT_HAS(m, "spec.json: $.source.path: is required");
	ASSERT_HAS(m, "$.source.query: must be a non-empty SQL query");
	ASSERT_HAS(m, "$.source.window_format: must be one of iso8601, unix, unix_ms");
	ASSERT_HAS(m, "$.source.max_rows: must be an integer in [1, 1000000000]");
	free(m);
	m = check_source("{\"type\": \"postgresql\", \"connection\": \"postgresql://u:pw@db/x\", \"query\": \"SELECT 1\","
	                 " \"timeout\": \"5\"}");
	ASSERT_HAS(m, "$.source.connection: holds a password");
	ASSERT_HAS(m, "$.source.timeout: must be a duration");
	free(m);
	m = check_source("{\"type\": \"postgresql\", \"connection\": \"${env:PG}\", \"query\": \"SELECT 1\"}");
	ck_assert_str_eq(m, "");
	free(m);
	m = check_source("{\"type\": \"prometheus\", \"url\": \"http://x\", \"query\": \"up\", "
	                 "\"range\": {\"start\": \"2026-11-02T00:00:00Z\", \"end\": \"2026-11-01T00:00:00Z\"}, "
	                 "\"username\": \"u\", \"headers\": {\"bad header\": \"x\", \"X-Ok\": 5}}");
	ASSERT_HAS(m, "$.source.range: \"end\" must be after \"start\"");
	ASSERT_HAS(m, "$.source: \"username\" and \"password\" go together");
	ASSERT_HAS(m, "$.source.headers[\"bad header\"]: is not a valid header name");
	ASSERT_HAS(m, "$.source.headers.X-Ok: must be a non-empty string");
	free(m);
	m = check_source("{\"type\": \"prometheus\", \"url\": \"https://${env:PROM_HOST}/\", \"query\": \"up\", "
	                 "\"range\": \"7d\", \"step\": \"30s\", \"bearer_token\": \"${file:token}\", \"tls_verify\": true}");
	ck_assert_str_eq(m, "");
	free(m);
	m = check_source("{\"type\": \"influxdb\", \"url\": \"http://x\", \"database\": \"d\", \"query\": \"SELECT 1\","
	                 " \"max_response_bytes\": 10, \"tls_verify\": \"no\", \"password\": \"${env:P}\"}");
	ASSERT_HAS(m, "$.source.max_response_bytes: must be an integer in [1024");
	ASSERT_HAS(m, "$.source.tls_verify: must be true or false");
	ASSERT_HAS(m, "\"username\" and \"password\" go together");
	free(m);
	m = check_source("{\"type\": \"promethus\"}");
	ASSERT_HAS(m, "unknown source type 'promethus' (did you mean 'prometheus'?)");
	free(m);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sources");
	TCase *tc = tcase_create("sources");

	tcase_add_test(tc, test_scan_valid);
	tcase_add_test(tc, test_scan_invalid);
	tcase_add_test(tc, test_scan_deep);
	tcase_add_test(tc, test_scan_pull);
	tcase_add_test(tc, test_decimal_ms);
	tcase_add_test(tc, test_parse_double_exact);
	tcase_add_test(tc, test_series_map);
	tcase_add_test(tc, test_check_specs);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

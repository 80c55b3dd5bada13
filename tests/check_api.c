/*
 * check_api.c - the pieces of the daemon that need no server: the API's
 * token comparison, spec redaction and --listen parsing, the Prometheus
 * exposition of the metrics, and the fire times used by backfill/replay.
 */
#include "config.h"

#include <math.h>

#include "vigil/detector.h"
#include "api.h"
#include "api-request.h"
#include "cron.h"
#include "metrics.h"
#include "sched.h"
#include "testutil.h"
#include "timefmt.h"
#include "tz.h"

START_TEST(test_token_equal)
{
	ck_assert(api_token_equal("abc", "abc"));
	ck_assert(!api_token_equal("abd", "abc"));
	ck_assert(!api_token_equal("ab", "abc"));
	ck_assert(!api_token_equal("abcd", "abc"));
	ck_assert(!api_token_equal("", "abc"));
	ck_assert(api_token_equal("", ""));
	/* a string with an embedded difference after a common prefix */
	ck_assert(!api_token_equal("abc\x01", "abc"));
}
END_TEST

static const char *target_error(const char *t)
{
	static char msg[200];

	msg[0] = '\0';
	return api_target_check(t, strlen(t), msg, sizeof(msg)) ? msg : NULL;
}

START_TEST(test_target_check)
{
	ck_assert_ptr_null(target_error("/api/jobs/cpu"));
	ck_assert_ptr_null(target_error("/api/runs?job=cpu&limit=5&before=3"));
	ck_assert_ptr_null(target_error("/api/jobs/c%70u?x=a+b&&y"));
	ck_assert_str_eq(target_error("/api/jobs/cpu%00"), "control character in the path");
	ck_assert_str_eq(target_error("/api/jobs/cpu%7F"), "control character in the path");
	ck_assert_str_eq(target_error("/api/jobs/cpu\x01"), "control character in the path");
	ck_assert_str_eq(target_error("/api/jobs/cpu%zz"), "malformed %-escape in the path");
	ck_assert_str_eq(target_error("/api/jobs/cpu%4"), "malformed %-escape in the path");
	ck_assert_str_eq(target_error("/x?job=a%0d"), "control character in the query");
	ck_assert_str_eq(target_error("/x?limit=1&limit=2"), "query parameter 'limit' given more than once");
	ck_assert_str_eq(target_error("/x?limit=1&l%69mit=2"), "query parameter 'limit' given more than once");
	ck_assert_str_eq(target_error("/x?a&a"), "query parameter 'a' given more than once");
	ck_assert_str_eq(target_error("*"), "the request target must be a path starting with '/'");
	ck_assert_str_eq(target_error("/x?a=1&b=1&c=1&d=1&e=1&f=1&g=1&h=1&i=1&j=1&k=1&l=1&m=1&n=1&o=1&p=1&q=1"),
	                 "more than 16 query parameters");
}
END_TEST

START_TEST(test_parse_int)
{
	long long v = 0;

	ck_assert_int_eq(api_parse_int("42", 1, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(api_parse_int("9223372036854775807", 1, INT64_MAX, &v), 0);
	ck_assert(v == INT64_MAX);
	ck_assert_int_eq(api_parse_int("-9223372036854775808", INT64_MIN, 0, &v), 0);
	ck_assert(v == INT64_MIN);
	/* out of range is refused, never clamped */
	ck_assert_int_eq(api_parse_int("9223372036854775808", 1, INT64_MAX, &v), -1);
	ck_assert_int_eq(api_parse_int("99999999999999999999", 1, INT64_MAX, &v), -1);
	ck_assert_int_eq(api_parse_int("101", 1, 100, &v), -1);
	ck_assert_int_eq(api_parse_int("0", 1, 100, &v), -1);
	ck_assert_int_eq(api_parse_int("+5", 1, 100, &v), -1);
	ck_assert_int_eq(api_parse_int(" 5", 1, 100, &v), -1);
	ck_assert_int_eq(api_parse_int("5 ", 1, 100, &v), -1);
	ck_assert_int_eq(api_parse_int("", 1, 100, &v), -1);
	ck_assert_int_eq(api_parse_int("-", -5, 100, &v), -1);
	ck_assert_int_eq(api_parse_int("0x10", 1, 100, &v), -1);
}
END_TEST

START_TEST(test_bearer)
{
	static const char with_nul[] = "Bearer tok\0junk";

	ck_assert(api_bearer_matches("Bearer tok", 10, "tok"));
	ck_assert(api_bearer_matches("bearer tok", 10, "tok"));
	ck_assert(!api_bearer_matches(with_nul, sizeof(with_nul) - 1, "tok"));
	ck_assert(!api_bearer_matches("Bearer to", 9, "tok"));
	ck_assert(!api_bearer_matches("Basic tok", 9, "tok"));
	ck_assert(!api_bearer_matches("Bearer", 6, "tok"));
}
END_TEST

START_TEST(test_redact)
{
	json_t *spec = json_loads("{\"name\": \"j\", \"source\": {\"type\": \"http\", \"url\": "
	                          "\"https://user:pw@example.invalid/x\", \"api_key\": \"k\", \"headers\": "
	                          "{\"Authorization\": \"Bearer t\", \"Accept\": \"json\"}}, \"notify\": "
	                          "[{\"type\": \"slack\", \"webhook_url\": \"${env:HOOK}\", \"channel\": \"#a\"}], "
	                          "\"detectors\": [{\"detector\": \"mad\", \"params\": {\"window\": 5}}]}", 0, NULL);
	json_t *r = api_redact(spec);
	char *text = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);

	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "pw@"));
	ck_assert_ptr_nonnull(strstr(text, "\"url\":\"https://[redacted]@example.invalid/x\""));
	ck_assert_ptr_nonnull(strstr(text, "\"api_key\":\"[redacted]\""));
	ck_assert_ptr_nonnull(strstr(text, "\"Authorization\":\"[redacted]\""));
	ck_assert_ptr_nonnull(strstr(text, "\"Accept\":\"json\""));
	ck_assert_ptr_nonnull(strstr(text, "\"webhook_url\":\"[redacted]\""));
	ck_assert_ptr_nonnull(strstr(text, "\"channel\":\"#a\""));
	ck_assert_ptr_nonnull(strstr(text, "\"window\":5"));
	/* the original is untouched */
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(spec, "source"), "api_key")), "k");
	free(text);
	json_decref(r);
	json_decref(spec);
}
END_TEST

START_TEST(test_parse_listen)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char host[64];
	unsigned port = 0;
	int lo = -1;

	ck_assert_int_eq(api_parse_listen("127.0.0.1:7460", host, sizeof(host), &port, &lo, &err), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 7460);
	ck_assert_int_eq(lo, 1);
	ck_assert_int_eq(api_parse_listen("127.8.9.10:0", host, sizeof(host), &port, &lo, &err), 0);
	ck_assert_int_eq(lo, 1);
	ck_assert_int_eq(api_parse_listen("localhost:80", host, sizeof(host), &port, &lo, &err), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_eq(api_parse_listen("0.0.0.0:80", host, sizeof(host), &port, &lo, &err), 0);
	ck_assert_int_eq(lo, 0);
	ck_assert_int_eq(api_parse_listen("10.1.2.3:80", host, sizeof(host), &port, &lo, &err), 0);
	ck_assert_int_eq(lo, 0);
	ck_assert_int_eq(api_parse_listen("[::1]:8080", host, sizeof(host), &port, &lo, &err), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(lo, 1);
	ck_assert_int_eq(api_parse_listen("[::]:8080", host, sizeof(host), &port, &lo, &err), 0);
	ck_assert_int_eq(lo, 0);
	ck_assert_int_eq(api_parse_listen("127.0.0.1", host, sizeof(host), &port, &lo, &err), -1);
	ck_assert_str_eq(err.msg, "--listen: '127.0.0.1' is not HOST:PORT");
	vigil_error_clear(&err);
	ck_assert_int_eq(api_parse_listen("127.0.0.1:70000", host, sizeof(host), &port, &lo, &err), -1);
	ck_assert_str_eq(err.msg, "--listen: bad port in '127.0.0.1:70000'");
	vigil_error_clear(&err);
	ck_assert_int_eq(api_parse_listen("example.org:80", host, sizeof(host), &port, &lo, &err), -1);
	ck_assert_str_eq(err.msg, "--listen: 'example.org' is not an IPv4 address");
	vigil_error_clear(&err);
	ck_assert_int_eq(api_parse_listen("[::1:80", host, sizeof(host), &port, &lo, &err), -1);
	ck_assert_int_eq(api_parse_listen(":80", host, sizeof(host), &port, &lo, NULL), -1);
	ck_assert_int_eq(api_parse_listen("1.2.3.4:", host, sizeof(host), &port, &lo, NULL), -1);
}
END_TEST

START_TEST(test_metrics_render)
{
	struct metrics *m = metrics_new();
	struct strbuf sb = STRBUF_INIT;
	char name[32];

	metrics_run(m, "b", "succeeded", 0.02);
	metrics_run(m, "a", "failed", 2);
	metrics_run(m, "a", "failed", 7200);
	metrics_run(m, "we\"ird\\\n", "succeeded", 0);
	metrics_detector_time(m, "mad", 0.25);
	metrics_detector_time(m, "mad", 0.5);
	metrics_source_error(m, "csv");
	metrics_sched_lag(m, 0.003);
	metrics_notifications(m, 3, 1);
	/* enough distinct jobs to grow the table */
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof(name), "job%03d", i);
		metrics_run(m, name, "succeeded", 1);
	}
	metrics_render(m, &sb);
	snprintf(name, sizeof(name), "\",abi=\"%d.%d\"} 1\n", VIGIL_ABI_MAJOR, VIGIL_ABI_MINOR);
	ck_assert_ptr_nonnull(strstr(sb.buf, "# TYPE vigil_build_info gauge\nvigil_build_info{version=\"" PACKAGE_VERSION));
	ck_assert_ptr_nonnull(strstr(sb.buf, name));
	ck_assert_ptr_nonnull(strstr(sb.buf, "# TYPE vigil_runs_total counter\nvigil_runs_total{job=\"a\",status=\"failed\"} 2\n"
	                                     "vigil_runs_total{job=\"b\",status=\"succeeded\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_runs_total{job=\"we\\\"ird\\\\\\n\",status=\"succeeded\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_runs_total{job=\"job599\",status=\"succeeded\"} 1\n"));
	/* buckets are cumulative; 7200 s lands only in +Inf */
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_run_duration_seconds_bucket{le=\"0.01\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_run_duration_seconds_bucket{le=\"0.05\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_run_duration_seconds_bucket{le=\"3600\"} 603\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_run_duration_seconds_bucket{le=\"+Inf\"} 604\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_run_duration_seconds_count 604\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_detector_seconds_total{detector=\"mad\"} 0.750000\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_source_errors_total{source=\"csv\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_scheduler_lag_seconds_bucket{le=\"0.001\"} 0\n"
	                                     "vigil_scheduler_lag_seconds_bucket{le=\"0.005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_notifications_sent_total 3\n"));
	ck_assert_ptr_nonnull(strstr(sb.buf, "vigil_notifications_failed_total 1\n"));
	strbuf_release(&sb);
	metrics_free(m);
}
END_TEST

static const char *num(double v)
{
	static struct strbuf sb = STRBUF_INIT;

	strbuf_reset(&sb);
	api_format_number(&sb, v);
	return sb.buf;
}

START_TEST(test_format_number)
{
	uint64_t x = 88172645463325252ULL;

	ck_assert_str_eq(num(0), "0");
	ck_assert_str_eq(num(500), "500");
	ck_assert_str_eq(num(-42), "-42");
	ck_assert_str_eq(num(0.5), "0.5");
	ck_assert_str_eq(num(45.123456789), "45.1234568");
	ck_assert_str_eq(num(-0.05), "-0.05");
	ck_assert_str_eq(num(0.0012345678912), "0.00123456789");
	ck_assert_str_eq(num(9.99999999996), "10");
	ck_assert_str_eq(num(1.5e-7), "1.5e-07");
	ck_assert_str_eq(num(2.5e12 + 0.5), "2.5e+12");
	ck_assert_str_eq(num(NAN), "null");
	ck_assert_str_eq(num(INFINITY), "null");
	/* random magnitudes: within the ninth significant digit of the value */
	for (int i = 0; i < 200000; i++) {
		double v, back;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = ((double)(x >> 11) / 9007199254740992.0 - 0.5) * pow(10, (double)(x % 24) - 6);
		back = strtod(num(v), NULL);
		ck_assert_msg(fabs(back - v) <= fabs(v) * 6e-9, "%.17g printed as %s", v, num(v));
	}
}
END_TEST

START_TEST(test_fire_times)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct cron *c = cron_parse("30 2 * * *", &err);
	struct tz *paris = tz_load("Europe/Paris", &err);
	int64_t *t = NULL, from, to;
	size_t n = 0;

	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(paris);
	ck_assert_int_eq(time_parse("2024-03-30T02:30:00+01:00", 25, TIME_ISO8601, &from), 0);
	ck_assert_int_eq(time_parse("2024-04-01T02:30:00+02:00", 25, TIME_ISO8601, &to), 0);
	/* both ends inclusive; the skipped 02:30 of the spring-forward day fires at 03:00 */
	ck_assert_int_eq(sched_fire_times(c, paris, from, to, 10, &t, &n, &err), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(t[0], from);
	ck_assert_int_eq(t[1], from + 86400000 - 3600000 + 1800000);
	ck_assert_int_eq(t[2], to);
	free(t);
	ck_assert_int_eq(sched_fire_times(c, paris, from + 1, to - 1, 10, &t, &n, &err), 0);
	ck_assert_uint_eq(n, 1);
	free(t);
	ck_assert_int_eq(sched_fire_times(c, paris, from, to, 2, &t, &n, &err), -1);
	ck_assert_str_eq(err.msg, "more than 2 fire times in the range");
	ck_assert_ptr_null(t);
	cron_free(c);
	tz_free(paris);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");

	tcase_add_test(tc, test_token_equal);
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_target_check);
	tcase_add_test(tc, test_parse_int);
	tcase_add_test(tc, test_bearer);
	tcase_add_test(tc, test_parse_listen);
	tcase_add_test(tc, test_metrics_render);
	tcase_add_test(tc, test_format_number);
	tcase_add_test(tc, test_fire_times);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/*
 * check_scrub.c - the registry of resolved secrets (scrub.h) and the
 * credential policy of redaction (redact.h).
 */
#include <stdarg.h>

#include "error.h"
#include "redact.h"
#include "scrub.h"
#include "secret.h"
#include "testutil.h"

static int name_secret(const char *n)
{
	return redact_name_is_secret(n, strlen(n));
}

START_TEST(test_policy)
{
	static const char *const secret[] = {
		"Authorization", "X-Api-Key", "Api-Key", "access_token", "client_secret", "password", "PASSWD",
		"pwd", "session_id", "X-Amz-Signature", "sig", "X-Amz-Credential", "Cookie", "private_key",
		"bearer_token", "webhook_url", "x-csrf-token", "pw", "sid", "apikey", NULL,
	};
	static const char *const plain[] = {
		"Accept", "Content-Type", "page", "query", "time_column", "signal", "design", "limit",
		"Accept-Language", "from", "step", NULL,
	};

	for (const char *const *p = secret; *p; p++)
		ck_assert_msg(name_secret(*p), "%s should look like a credential", *p);
	for (const char *const *p = plain; *p; p++)
		ck_assert_msg(!name_secret(*p), "%s should not look like a credential", *p);
}
END_TEST

START_TEST(test_redact_url)
{
	char *s = redact_url("see https://u:p@h.example/x?access_token=abc&page=2&sig=zz#frag and ftp://h/?a=1");

	ck_assert_str_eq(s, "see https://[redacted]@h.example/x?access_token=[redacted]&page=2&sig=[redacted]#frag"
	                    " and ftp://h/?a=1");
	free(s);
	s = redact_url("no url :// here");
	ck_assert_str_eq(s, "no url :// here");
	free(s);
}
END_TEST

START_TEST(test_scrub_resolved)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *v, *s;

	scrub_reset();
	setenv("CK_TOKEN", "tok/en+42\"x", 1);
	setenv("CK_SHORT", "abc", 1);
	setenv("CK_URL", "https://user:hunter22@h.example/services/T0/B0/abcdefgh12345678XYZ?api_key=k3y9&page=3", 1);
	v = secret_resolve("Bearer ${env:CK_TOKEN} ${env:CK_SHORT} ${env:CK_URL}", NULL, &err);
	ck_assert_ptr_nonnull(v);
	free(v);
	/* the value, percent-encoded and JSON-escaped */
	s = scrub_dup("a tok/en+42\"x b tok%2Fen%2B42%22x c tok/en+42\\\"x d");
	ck_assert_str_eq(s, "a ${env:CK_TOKEN} b ${env:CK_TOKEN} c ${env:CK_TOKEN} d");
	free(s);
	/* too short to tell from text */
	s = scrub_dup("abc");
	ck_assert_str_eq(s, "abc");
	free(s);
	/* the parts of a URL, as an upstream echoing the request would show them */
	s = scrub_dup("GET /services/T0/B0/abcdefgh12345678XYZ?api_key=k3y9&page=3 pw hunter22");
	ck_assert_str_eq(s, "GET /services/T0/B0/${env:CK_URL}?api_key=${env:CK_URL}&page=3 pw ${env:CK_URL}");
	free(s);
	/* errors and their prefixes are scrubbed, even past the size of the message */
	vigil_error_set(&err, VIGIL_E_IO, "%1015s tok/en+42\"x", "");
	ck_assert_ptr_null(strstr(err.msg, "tok/"));
	ck_assert_ptr_nonnull(strstr(err.msg, "${env:"));
	vigil_error_clear(&err);
	vigil_error_set(&err, VIGIL_E_IO, "inner");
	vigil_error_prefix(&err, "outer tok/en+42\"x");
	ck_assert_str_eq(err.msg, "outer ${env:CK_TOKEN}: inner");
	scrub_reset();
}
END_TEST

START_TEST(test_scrub_quote)
{
	char buf[256], body[300];

	scrub_reset();
	scrub_register("s3cr3t-value", "${env:S}");
	/* the secret straddles the cut: scrubbed before cutting, so no half of it shows */
	memset(body, 'x', sizeof(body));
	memcpy(body + 95, "s3cr3t-value", 12);
	memcpy(body + 10, "\n\n\x01", 3);
	scrub_quote(buf, sizeof(buf), body, sizeof(body), 100);
	ck_assert_ptr_null(strstr(buf, "s3cr"));
	ck_assert_ptr_nonnull(strstr(buf, " \\x01"));
	ck_assert_ptr_nonnull(strstr(buf, "${env:"));
	ck_assert_ptr_nonnull(strstr(buf, "..."));
	scrub_reset();
}
END_TEST

START_TEST(test_scrub_json)
{
	json_t *o = json_pack("{s:s, s:[s, i]}", "a", "x s3cr3t-value y", "b", "s3cr3t-value", 1234);
	char *text;

	scrub_reset();
	scrub_register("s3cr3t-value", "${env:S}");
	scrub_register("1234", "${env:N}");   /* numbers are left alone: only strings are text */
	scrub_json(o);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(text, "{\"a\":\"x ${env:S} y\",\"b\":[\"${env:S}\",1234]}");
	free(text);
	json_decref(o);
	scrub_reset();
}
END_TEST

START_TEST(test_scrub_basic)
{
	char *s;

	scrub_reset();
	scrub_register_basic("bob", "pw-basic-5e6f77", "${env:PW}");
	s = scrub_dup("Authorization: Basic Ym9iOnB3LWJhc2ljLTVlNmY3Nw==");
	ck_assert_str_eq(s, "Authorization: Basic ${env:PW}");
	free(s);
	scrub_reset();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("scrub");
	TCase *tc = tcase_create("scrub");

	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_redact_url);
	tcase_add_test(tc, test_scrub_resolved);
	tcase_add_test(tc, test_scrub_quote);
	tcase_add_test(tc, test_scrub_json);
	tcase_add_test(tc, test_scrub_basic);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

/*
 * check_spec.c - spec parsing and validation, driven by tests/data/spec/<case>/:
 * spec.json is loaded; expect.txt holds "ok" or one expected fragment per
 * error, in order.  Every error must also start with the file's name.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "notify.h"
#include "secret.h"
#include "spec.h"
#include "testutil.h"

static struct registry *reg;

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = xmalloc((size_t)len + 1);
	ck_assert_int_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void check_case(const char *name)
{
	char *dir = xasprintf("%s/tests/data/spec/%s", srcdir(), name);
	char *spec_path = xasprintf("%s/spec.json", dir);
	char *expect_path = xasprintf("%s/expect.txt", dir);
	char *expect = read_file(expect_path);
	struct diag d;
	struct job_spec *spec;
	size_t n_expected = 0;
	char *save = NULL;

	diag_init(&d, spec_path);
	spec = spec_load(spec_path, reg, &d);
	if (!strcmp(expect, "ok\n")) {
		ck_assert_msg(spec != NULL, "%s: expected valid, got %zu errors, first: %s", name, d.n,
		              d.n ? d.msgs[0] : "");
		ck_assert_int_eq(d.n, 0);
	} else {
		ck_assert_msg(spec == NULL, "%s: expected errors, spec was accepted", name);
		for (char *line = strtok_r(expect, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			ck_assert_msg(n_expected < d.n, "%s: expected error '%s' missing (only %zu errors)", name,
			              line, d.n);
			ck_assert_msg(strstr(d.msgs[n_expected], line) != NULL,
			              "%s: error %zu is '%s', expected it to contain '%s'", name, n_expected,
			              d.msgs[n_expected], line);
			ck_assert_msg(!strncmp(d.msgs[n_expected], spec_path, strlen(spec_path)),
			              "%s: error does not start with the file name: %s", name, d.msgs[n_expected]);
			n_expected++;
		}
		ck_assert_msg(d.n == n_expected, "%s: %zu errors, expected %zu; extra: %s", name, d.n, n_expected,
		              d.n > n_expected ? d.msgs[n_expected] : "");
	}
	spec_free(spec);
	diag_release(&d);
	free(expect);
	free(expect_path);
	free(spec_path);
	free(dir);
}

START_TEST(test_cases)
{
	char *path = xasprintf("%s/tests/data/spec", srcdir());
	DIR *dh = opendir(path);
	struct dirent *de;
	int n = 0;

	ck_assert_msg(dh != NULL, "no %s", path);
	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.')
			continue;
		check_case(de->d_name);
		n++;
	}
	closedir(dh);
	free(path);
	ck_assert_int_ge(n, 15);
}
END_TEST

/* The daemon's keys of "schedule": parsed values and defaults. */
START_TEST(test_schedule_runtime)
{
	char *path = xasprintf("%s/tests/data/spec/schedule-runtime/spec.json", srcdir());
	struct diag d;
	struct job_spec *spec;

	diag_init(&d, path);
	spec = spec_load(path, reg, &d);
	ck_assert_ptr_nonnull(spec);
	ck_assert_int_eq(spec->misfire, MISFIRE_SKIP);
	ck_assert_int_eq(spec->max_catchup_ms, 2 * 3600 * 1000);
	ck_assert_int_eq(spec->timeout_ms, 90 * 1000);
	spec_free(spec);
	diag_release(&d);
	free(path);

	diag_init(&d, "inline.json");
	spec = spec_parse("{\"name\": \"a\", \"source\": {\"type\": \"csv\", \"path\": \"x.csv\"}, "
	                  "\"detectors\": [{\"detector\": \"mad\"}], \"schedule\": \"@hourly\"}", ".", reg, &d);
	ck_assert_ptr_nonnull(spec);
	ck_assert_int_eq(spec->misfire, MISFIRE_RUN_ONCE);
	ck_assert_int_eq(spec->max_catchup_ms, SPEC_DEFAULT_MAX_CATCHUP_MS);
	ck_assert_int_eq(spec->timeout_ms, SPEC_DEFAULT_TIMEOUT_MS);
	spec_free(spec);
	diag_release(&d);
}
END_TEST

START_TEST(test_parsed_values)
{
	char *path = xasprintf("%s/tests/data/spec/valid-full/spec.json", srcdir());
	struct diag d;
	struct job_spec *spec;

	diag_init(&d, path);
	spec = spec_load(path, reg, &d);
	ck_assert_ptr_nonnull(spec);
	ck_assert_str_eq(spec->name, "checkout.latency-p99");
	ck_assert_int_eq(spec->n_detectors, 4);
	ck_assert_str_eq(spec->detectors[0].id, "mad-fast");
	ck_assert_str_eq(spec->detectors[2].id, "zscore");
	ck_assert_int_eq(spec->detectors[2].mode, MODE_SHADOW);
	ck_assert_int_eq(spec->alert.agree, AGREE_AT_LEAST);
	ck_assert_uint_eq(spec->alert.agree_k, 2);
	ck_assert_int_eq(spec->alert.recent_ms, 90 * 60 * 1000);
	ck_assert(spec->alert.min_score == 0.9);
	ck_assert_int_eq(spec->window_ms, 7LL * 86400 * 1000);
	ck_assert_str_eq(spec->timezone, "Europe/Paris");
	ck_assert_int_eq(spec->n_notify, 1);
	ck_assert_str_eq(json_string_value(json_object_get(spec->labels, "severity")), "page");
	ck_assert_str_eq(json_string_value(json_object_get(spec->labels, "team")), "payments");
	ck_assert_str_eq(json_string_value(json_object_get(spec->annotations, "runbook_url")),
	                 "https://wiki.example.com/runbooks/checkout");
	ck_assert_int_eq(json_object_size(spec->annotations), 2);
	spec_free(spec);
	diag_release(&d);
	free(path);
}
END_TEST

START_TEST(test_defaults)
{
	struct diag d;
	struct job_spec *spec;

	diag_init(&d, "inline.json");
	spec = spec_parse("{\"name\": \"j\", \"source\": {\"type\": \"csv\", \"path\": \"a.csv\"},"
	                  " \"detectors\": [{\"detector\": \"zscore\"}]}", "/tmp", reg, &d);
	ck_assert_ptr_nonnull(spec);
	ck_assert_int_eq(spec->alert.agree, AGREE_ANY);
	ck_assert(json_is_object(spec->labels) && json_object_size(spec->labels) == 0);
	ck_assert(json_is_object(spec->annotations) && json_object_size(spec->annotations) == 0);
	ck_assert(spec->alert.min_score == 0);
	ck_assert_int_eq(spec->n_notify, 1);
	ck_assert_str_eq(spec->notify[0].type->name, "stdout");
	ck_assert_ptr_null(spec->schedule_expr);
	ck_assert_int_eq(spec->window_ms, 0);
	spec_free(spec);
	diag_release(&d);
}
END_TEST

START_TEST(test_missing_file)
{
	struct diag d;

	diag_init(&d, "/nonexistent/spec.json");
	ck_assert_ptr_null(spec_load("/nonexistent/spec.json", reg, &d));
	ck_assert_int_eq(d.n, 1);
	ck_assert_msg(strstr(d.msgs[0], "/nonexistent/spec.json: ") && strstr(d.msgs[0], "No such file"),
	              "got %s", d.msgs[0]);
	diag_release(&d);
}
END_TEST

START_TEST(test_secrets)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *file = write_temp("s3cr3t-token\n", ".txt");
	char *text = xasprintf("Bearer ${file:%s} for ${env:VIGIL_TEST_USER} costs $${env:X}", file);
	char *out;

	setenv("VIGIL_TEST_USER", "alice", 1);
	out = secret_resolve(text, NULL, &err);
	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, "Bearer s3cr3t-token for alice costs ${env:X}");
	free(out);

	unsetenv("VIGIL_TEST_USER");
	ck_assert_ptr_null(secret_resolve(text, NULL, &err));
	ck_assert_str_eq(err.msg, "environment variable 'VIGIL_TEST_USER' is not set");

	vigil_error_clear(&err);
	ck_assert_int_eq(secret_check("${env:1BAD}", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a valid environment variable name"));
	vigil_error_clear(&err);
	ck_assert_int_eq(secret_check("${env:OK", &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "unterminated"));
	ck_assert(secret_has_ref("x${env:A}"));
	ck_assert(!secret_has_ref("x$${env:A}"));

	/* An unreadable file names the path, never a value. */
	vigil_error_clear(&err);
	ck_assert_ptr_null(secret_resolve("${file:/nonexistent/token}", NULL, &err));
	ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/token"));
	unlink(file);
	free(file);
	free(text);
}
END_TEST

static Suite *spec_suite(void)
{
	Suite *s = suite_create("spec");
	TCase *tc = tcase_create("spec");

	tcase_add_test(tc, test_cases);
	tcase_add_test(tc, test_parsed_values);
	tcase_add_test(tc, test_schedule_runtime);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_secrets);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;

	reg = test_registry();
	rc = run_suite(spec_suite());
	registry_free(reg);
	return rc;
}

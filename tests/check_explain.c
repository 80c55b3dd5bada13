/*
 * check_explain.c - the built-in root-cause ranking: which label values the
 * anomalous series share and the normal ones don't, by a one-sided Fisher
 * exact test, and which series moved first.
 */
#include <math.h>

#include "explain.h"
#include "spec.h"
#include "testutil.h"
#include "timefmt.h"

/* A group of series built label by label (each series has up to 4 labels). */
struct group {
	struct explain_series *s;
	struct vigil_label (*labels)[4];
	char (*names)[48];
	char (*vals)[4][24];
	size_t n;
};

static void group_init(struct group *g, size_t max)
{
	g->s = xcalloc(max, sizeof(*g->s));
	g->labels = xcalloc(max, sizeof(*g->labels));
	g->names = xcalloc(max, sizeof(*g->names));
	g->vals = xcalloc(max, sizeof(*g->vals));
	g->n = 0;
}

static void group_release(struct group *g)
{
	free(g->s);
	free(g->labels);
	free(g->names);
	free(g->vals);
}

/* Add a series host=h<i>, dc=dc, plus an optional third label. */
static void add(struct group *g, const char *dc, const char *k3, const char *v3, int anomalous, int64_t onset)
{
	size_t i = g->n++;
	struct explain_series *s = &g->s[i];

	snprintf(g->vals[i][0], sizeof(g->vals[i][0]), "h%zu", i);
	snprintf(g->vals[i][1], sizeof(g->vals[i][1]), "%s", dc);
	g->labels[i][0] = (struct vigil_label){ "host", g->vals[i][0] };
	g->labels[i][1] = (struct vigil_label){ "dc", g->vals[i][1] };
	s->n_labels = 2;
	if (k3) {
		snprintf(g->vals[i][2], sizeof(g->vals[i][2]), "%s", v3);
		g->labels[i][2] = (struct vigil_label){ k3, g->vals[i][2] };
		s->n_labels = 3;
	}
	snprintf(g->names[i], sizeof(g->names[i]), "cpu{host=\"h%zu\"}", i);
	s->name = g->names[i];
	s->labels = g->labels[i];
	s->anomalous = anomalous;
	s->onset_ms = onset;
}

static json_t *run(struct group *g)
{
	struct explain_input in = { .job = "cpu", .series = g->s, .n = g->n };
	struct vigil_error err = VIGIL_ERROR_INIT;
	json_t *hints = NULL;

	ck_assert_int_eq(explain_group(NULL, &in, &hints, &err), 0);
	ck_assert_ptr_nonnull(hints);
	return hints;
}

static json_t *contributor(json_t *hints, size_t i)
{
	return json_array_get(json_object_get(hints, "contributors"), i);
}

static double num(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_number(v), "'%s' is not a number", key);
	return json_number_value(v);
}

static const char *str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	ck_assert_msg(json_is_string(v), "'%s' is not a string", key);
	return json_string_value(v);
}

/* The example: 7 of 8 anomalous in dc=fra, none of 40 normal ones. */
START_TEST(test_shared_dc_ranks_first)
{
	struct group g;
	json_t *hints, *c;
	struct strbuf sb = STRBUF_INIT;

	group_init(&g, 48);
	for (int i = 0; i < 7; i++)
		add(&g, "fra", NULL, NULL, 1, 1000 + i * 60000);
	add(&g, "ams", NULL, NULL, 1, 500);
	for (int i = 0; i < 40; i++)
		add(&g, i % 2 ? "ams" : "lon", NULL, NULL, 0, EXPLAIN_NO_ONSET);
	hints = run(&g);
	ck_assert_str_eq(str(hints, "method"), "builtin");
	ck_assert_str_eq(str(hints, "statistic"), "fisher-exact-one-sided");
	ck_assert_int_eq((int)num(hints, "anomalous"), 8);
	ck_assert_int_eq((int)num(hints, "normal"), 40);
	c = contributor(hints, 0);
	ck_assert_str_eq(str(c, "label"), "dc");
	ck_assert_str_eq(str(c, "value"), "fra");
	ck_assert_int_eq((int)num(c, "anomalous"), 7);
	ck_assert_int_eq((int)num(c, "normal"), 0);
	ck_assert_str_eq(str(c, "text"), "7 of 8 anomalous series have dc=\"fra\"; 0 of 40 normal ones");
	/* P(X >= 7) = [C(7,7) C(41,1) + C(7,8)...] / C(48,8): only X = 7 is possible (K = 7). */
	{
		double p = 41.0 / 377348994.0;   /* C(48, 8) = 377 348 994 */

		ck_assert_msg(fabs(num(c, "p_value") - p) < p * 1e-9, "p %g, expected %g", num(c, "p_value"), p);
		ck_assert_msg(fabs(num(c, "score") + log10(p)) < 1e-9, "score %g", num(c, "score"));
	}
	/* Each host is held by one series: never a contributor.  dc=ams is under-represented. */
	ck_assert_int_eq((int)json_array_size(json_object_get(hints, "contributors")), 1);
	/* The first to move: the ams series at 500, then fra's at 1000 and 61000. */
	ck_assert_str_eq(str(json_array_get(json_object_get(hints, "first_moved"), 0), "series"), "cpu{host=\"h7\"}");
	ck_assert_int_eq((int)num(json_array_get(json_object_get(hints, "first_moved"), 0), "onset"), 500);
	ck_assert_str_eq(str(json_array_get(json_object_get(hints, "first_moved"), 1), "series"), "cpu{host=\"h0\"}");
	ck_assert_int_eq((int)json_array_size(json_object_get(hints, "first_moved")), EXPLAIN_FIRST_MOVED);
	explain_summary(hints, &sb);
	ck_assert_str_eq(strbuf_str(&sb), "7 of 8 anomalous series have dc=\"fra\"; 0 of 40 normal ones; "
	                 "first to move: cpu{host=\"h7\"} at 1970-01-01T00:00:00.500Z");
	strbuf_release(&sb);
	json_decref(hints);
	group_release(&g);
}
END_TEST

/* A value the normal series hold as often is no hint; a stronger one ranks above a weaker one. */
START_TEST(test_ranking_order)
{
	struct group g;
	json_t *hints;

	group_init(&g, 120);
	/* 10 anomalous: all rack=r1; 6 of them dc=fra.  Normal: rack=r1 rare, fra common. */
	for (int i = 0; i < 10; i++)
		add(&g, i < 6 ? "fra" : "ams", "rack", "r1", 1, EXPLAIN_NO_ONSET);
	for (int i = 0; i < 100; i++)
		add(&g, i < 25 ? "fra" : "ams", "rack", i < 2 ? "r1" : "r2", 0, EXPLAIN_NO_ONSET);
	hints = run(&g);
	ck_assert_str_eq(str(contributor(hints, 0), "label"), "rack");
	ck_assert_int_eq((int)num(contributor(hints, 0), "anomalous"), 10);
	ck_assert_int_eq((int)num(contributor(hints, 0), "normal"), 2);
	ck_assert(num(contributor(hints, 0), "score") > 5);
	/* fra: 6/10 vs 25/100: over-represented, P(X >= 6) summed over five terms -- reported second. */
	ck_assert_str_eq(str(contributor(hints, 1), "value"), "fra");
	ck_assert_msg(fabs(num(contributor(hints, 1), "p_value") - 0.028576051086883932) < 1e-12,
	              "p %.17g", num(contributor(hints, 1), "p_value"));
	ck_assert_ptr_null(contributor(hints, 2));
	/* No onsets given: nobody moved first. */
	ck_assert_int_eq((int)json_array_size(json_object_get(hints, "first_moved")), 0);
	json_decref(hints);
	group_release(&g);
}
END_TEST

/* Nothing to say: one anomalous series, or no normal ones, or a value everyone has. */
START_TEST(test_no_contributors)
{
	struct group g;
	json_t *hints;
	struct strbuf sb = STRBUF_INIT;

	group_init(&g, 20);
	add(&g, "fra", NULL, NULL, 1, EXPLAIN_NO_ONSET);
	for (int i = 0; i < 10; i++)
		add(&g, "ams", NULL, NULL, 0, EXPLAIN_NO_ONSET);
	hints = run(&g);
	ck_assert_int_eq((int)json_array_size(json_object_get(hints, "contributors")), 0);
	explain_summary(hints, &sb);
	ck_assert_str_eq(strbuf_str(&sb), "");
	json_decref(hints);
	group_release(&g);

	group_init(&g, 20);
	for (int i = 0; i < 5; i++)
		add(&g, "fra", NULL, NULL, 1, EXPLAIN_NO_ONSET);
	hints = run(&g);
	ck_assert_int_eq((int)num(hints, "normal"), 0);
	ck_assert_int_eq((int)json_array_size(json_object_get(hints, "contributors")), 0);
	json_decref(hints);
	group_release(&g);

	group_init(&g, 20);
	for (int i = 0; i < 5; i++)
		add(&g, "fra", NULL, NULL, 1, EXPLAIN_NO_ONSET);
	for (int i = 0; i < 10; i++)
		add(&g, "fra", NULL, NULL, 0, EXPLAIN_NO_ONSET);
	hints = run(&g);
	ck_assert_int_eq((int)json_array_size(json_object_get(hints, "contributors")), 0);
	json_decref(hints);
	group_release(&g);
	strbuf_release(&sb);
}
END_TEST

/* 500 anomalous / 50 000 normal: the shared value is found, the p-value does not underflow to 0. */
START_TEST(test_large_group)
{
	size_t n = 50500;
	struct group g;
	json_t *hints, *c;
	int64_t t0 = time_mono_ns();

	group_init(&g, n);
	for (size_t i = 0; i < 500; i++)
		add(&g, i < 480 ? "fra" : "ams", "az", i % 2 ? "a" : "b", 1, (int64_t)(1000 - i));
	for (size_t i = 500; i < n; i++)
		add(&g, i % 50 ? "ams" : "fra", "az", i % 2 ? "a" : "b", 0, EXPLAIN_NO_ONSET);
	hints = run(&g);
	c = contributor(hints, 0);
	ck_assert_str_eq(str(c, "value"), "fra");
	ck_assert_int_eq((int)num(c, "anomalous"), 480);
	ck_assert_int_eq((int)num(c, "normal"), 1000);
	/* The true p-value is far below DBL_MIN: the score stays finite and large. */
	ck_assert_msg(isfinite(num(c, "score")) && num(c, "score") > 300, "score %g", num(c, "score"));
	ck_assert_int_eq((int)json_array_size(json_object_get(hints, "contributors")), 1);
	ck_assert_str_eq(str(json_array_get(json_object_get(hints, "first_moved"), 0), "series"),
	                 "cpu{host=\"h499\"}");
	/* Not a timing assertion: printed for the report (see bench/ for figures). */
	fprintf(stderr, "explain: 500 anomalous / 50000 normal in %.1f ms\n", (double)(time_mono_ns() - t0) / 1e6);
	json_decref(hints);
	group_release(&g);
}
END_TEST

/* The example group, for the exec tests. */
static void example_group(struct group *g)
{
	group_init(g, 48);
	for (int i = 0; i < 7; i++)
		add(g, "fra", NULL, NULL, 1, 1000 + i * 60000);
	add(g, "ams", NULL, NULL, 1, 500);
	for (int i = 0; i < 40; i++)
		add(g, i % 2 ? "ams" : "lon", NULL, NULL, 0, EXPLAIN_NO_ONSET);
}

/* A spec whose "explain" is explain_json; NULL with the first error in err_out. */
static struct job_spec *explain_spec(struct registry *reg, const char *explain_json, char *err_out, size_t len)
{
	char *text = xasprintf("{\"name\": \"cpu\", \"source\": {\"type\": \"csv\", \"path\": \"x.csv\"}, "
	                       "\"detectors\": [{\"detector\": \"zscore\"}], \"explain\": %s}", explain_json);
	struct diag d;
	struct job_spec *spec;

	diag_init(&d, "job.json");
	spec = spec_parse(text, srcdir(), reg, &d);
	snprintf(err_out, len, "%s", d.n ? d.msgs[0] : "");
	diag_release(&d);
	free(text);
	return spec;
}

static char *explainer(const char *mode)
{
	return xasprintf("{\"exec\": {\"path\": \"%s/tests/exec/explain.py\", \"args\": [\"%s\"]}}", srcdir(), mode);
}

/* A job's own explain executable ranks instead of the built-in one. */
START_TEST(test_exec_explain)
{
	struct registry *reg = test_registry();
	char msg[1024], *ex = explainer("good");
	struct job_spec *spec = explain_spec(reg, ex, msg, sizeof(msg));
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct explain_input in;
	struct group g;
	json_t *hints = NULL, *c;

	ck_assert_msg(spec != NULL, "%s", msg);
	ck_assert_ptr_nonnull(spec->explain_exec);
	example_group(&g);
	in = (struct explain_input){ .job = "cpu", .run_id = 9, .series = g.s, .n = g.n };
	ck_assert_msg(explain_group(spec, &in, &hints, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(str(hints, "method"), "exec");
	ck_assert_ptr_nonnull(strstr(str(hints, "program"), "tests/exec/explain.py"));
	ck_assert_str_eq(str(hints, "statistic"), "count");
	ck_assert_int_eq((int)num(hints, "anomalous"), 8);
	ck_assert_int_eq((int)num(hints, "normal"), 40);
	c = contributor(hints, 0);
	ck_assert_str_eq(str(c, "label"), "dc");
	ck_assert_str_eq(str(c, "value"), "fra");
	ck_assert_int_eq((int)num(c, "score"), 7);
	ck_assert_int_eq((int)num(c, "anomalous"), 7);
	ck_assert_ptr_null(json_object_get(c, "normal"));
	ck_assert_str_eq(str(c, "text"), "most common: dc=fra");
	ck_assert_str_eq(str(json_array_get(json_object_get(hints, "first_moved"), 0), "series"), "cpu{host=\"h7\"}");
	ck_assert_int_eq((int)num(json_array_get(json_object_get(hints, "first_moved"), 0), "onset"), 500);
	json_decref(hints);
	spec_free(spec);
	free(ex);
	group_release(&g);
	registry_free(reg);
}
END_TEST

/* An executable that answers garbage fails the explanation with the reason; the caller goes on without hints. */
START_TEST(test_exec_explain_bad_answers)
{
	static const struct { const char *mode, *want; } cases[] = {
		{ "garbage", "malformed explain response: '[' or '{' expected near 'this'" },
		{ "bad-score", "malformed explain response: contributors[0] needs a finite \"score\" (larger is stronger)" },
		{ "stranger", "malformed explain response: first_moved[0] is not the name of an anomalous series of "
		              "the request" },
		{ "error", "no model for job cpu" },
	};
	struct registry *reg = test_registry();
	struct group g;

	example_group(&g);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char msg[1024], *ex = explainer(cases[i].mode);
		struct job_spec *spec = explain_spec(reg, ex, msg, sizeof(msg));
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct explain_input in = { .job = "cpu", .series = g.s, .n = g.n };
		json_t *hints = json_object();

		ck_assert_msg(spec != NULL, "%s", msg);
		ck_assert_int_eq(explain_group(spec, &in, &hints, &err), -1);
		ck_assert_ptr_null(hints);
		ck_assert_msg(!strncmp(err.msg, "explain: '", 10) && strstr(err.msg, "tests/exec/explain.py': "),
		              "%s: %s", cases[i].mode, err.msg);
		ck_assert_msg(strstr(err.msg, cases[i].want) != NULL, "%s: '%s' has no '%s'", cases[i].mode, err.msg,
		              cases[i].want);
		spec_free(spec);
		free(ex);
	}
	group_release(&g);
	registry_free(reg);
}
END_TEST

/* The spec's explain object is validated; a version-1 executable (no explain in describe) is refused. */
START_TEST(test_explain_spec_errors)
{
	struct registry *reg = test_registry();
	char msg[1024], *ex;

	ck_assert_ptr_null(explain_spec(reg, "5", msg, sizeof(msg)));
	ck_assert_msg(strstr(msg, "job.json: $.explain: must be an object like {\"exec\""), "%s", msg);
	ck_assert_ptr_null(explain_spec(reg, "{\"exec\": {\"path\": \"tests/exec/explain.py\"}, \"exce\": 1}", msg,
	                                sizeof(msg)));
	ck_assert_msg(strstr(msg, "$.explain.exce: unknown key in explain (did you mean 'exec'?)"), "%s", msg);
	ck_assert_ptr_null(explain_spec(reg, "{\"exec\": {\"path\": \"tests/exec/nope.py\"}}", msg, sizeof(msg)));
	ck_assert_msg(strstr(msg, "$.explain.exec.path: "), "%s", msg);
	ex = xasprintf("{\"exec\": {\"path\": \"%s/tests/exec/good.sh\"}}", srcdir());
	ck_assert_ptr_null(explain_spec(reg, ex, msg, sizeof(msg)));
	ck_assert_msg(strstr(msg, "$.explain.exec: '") && strstr(msg, "good.sh' does not answer explain requests"),
	              "%s", msg);
	free(ex);
	registry_free(reg);
}
END_TEST

int main(void)
{
	if (geteuid() == 0)
		setenv("VIGIL_EXEC_ALLOW_ROOT", "1", 1);
	Suite *s = suite_create("explain");
	TCase *tc = tcase_create("builtin");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_shared_dc_ranks_first);
	tcase_add_test(tc, test_ranking_order);
	tcase_add_test(tc, test_no_contributors);
	tcase_add_test(tc, test_large_group);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("exec");
	tcase_add_test(tc, test_exec_explain);
	tcase_add_test(tc, test_exec_explain_bad_answers);
	tcase_add_test(tc, test_explain_spec_errors);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

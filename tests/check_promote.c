/*
 * check_promote.c - promoting a shadow detector on the spec's text, the
 * unified diff shown for it, the redaction of that diff, and the detector
 * stats (precision, shadow vs alerting, time to detect) on a real store.
 */
#include <sys/stat.h>

#include "dbutil.h"
#include "plugin.h"
#include "detector-stats.h"
#include "promote.h"
#include "store.h"
#include "testutil.h"

static const char spec[] =
	"{\n"
	"  \"name\": \"j\",\n"
	"  \"detectors\": [\n"
	"    {\"detector\": \"mad\", \"params\": {\"window\": 30}},\n"
	"    {\"detector\": \"zscore\", \"mode\": \"shadow\", \"params\": {\"window\": 60}},\n"
	"    {\"mode\": \"shadow\", \"detector\": \"ewma\", \"id\": \"e2\"}\n"
	"  ],\n"
	"  \"source\": {\"type\": \"csv\", \"path\": \"d.csv\"}\n"
	"}\n";

static char *edit(const char *text, const char *id, const char *replace)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *out = promote_edit(text, id, replace, &err);

	ck_assert_msg(out, "%s", err.msg);
	return out;
}

START_TEST(test_edit_text)
{
	char *out;

	/* "mode" in the middle of the entry: it goes with the comma before it */
	out = edit(spec, "zscore", NULL);
	ck_assert_ptr_nonnull(strstr(out, "{\"detector\": \"zscore\", \"params\": {\"window\": 60}},\n"));
	ck_assert_ptr_null(strstr(out, "\"zscore\", \"mode\""));
	ck_assert_ptr_nonnull(strstr(out, "{\"mode\": \"shadow\", \"detector\": \"ewma\""));   /* the other stays */
	ck_assert_uint_eq(strlen(out), strlen(spec) - strlen(", \"mode\": \"shadow\""));
	free(out);
	/* first member: it goes up to the next member */
	out = edit(spec, "e2", NULL);
	ck_assert_ptr_nonnull(strstr(out, "    {\"detector\": \"ewma\", \"id\": \"e2\"}\n"));
	free(out);
	/* replacing the first entry, the last one, one in the middle */
	out = edit(spec, "zscore", "mad");
	ck_assert_ptr_nonnull(strstr(out, "\"detectors\": [\n    {\"detector\": \"zscore\", \"params\": {\"window\": 60}},\n"
	                                  "    {\"mode\": \"shadow\""));
	ck_assert_ptr_null(strstr(out, "mad"));
	free(out);
	out = edit(spec, "zscore", "e2");
	ck_assert_ptr_nonnull(strstr(out, "{\"detector\": \"zscore\", \"params\": {\"window\": 60}}\n  ],"));
	ck_assert_ptr_null(strstr(out, "ewma"));
	free(out);
	out = edit(spec, "e2", "zscore");
	ck_assert_ptr_nonnull(strstr(out, "{\"window\": 30}},\n    {\"detector\": \"ewma\", \"id\": \"e2\"}\n  ]"));
	free(out);
	/* compact text, the only member after "detector" */
	out = edit("{\"detectors\":[{\"detector\":\"a\",\"mode\":\"shadow\"}]}", "a", NULL);
	ck_assert_str_eq(out, "{\"detectors\":[{\"detector\":\"a\"}]}");
	free(out);
}
END_TEST

START_TEST(test_edit_refused)
{
	static const struct { const char *text, *id, *replace, *msg; int code; } cases[] = {
		{ spec, "mad", NULL, "detector 'mad' is not a shadow detector", VIGIL_E_USAGE },
		{ spec, "nope", NULL, "the job has no detector 'nope'", VIGIL_E_USAGE },
		{ spec, "zscore", "zscore", "cannot replace itself", VIGIL_E_USAGE },
		{ spec, "zscore", "gone", "no detector 'gone' to replace", VIGIL_E_USAGE },
		{ "{\"name\": \"x\"}", "a", NULL, "no \"detectors\" array", VIGIL_E_SPEC },
		{ "{\"detectors\": [", "a", NULL, "not a valid spec", VIGIL_E_SPEC },
		{ "[1]", "a", NULL, "not a valid spec", VIGIL_E_SPEC },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vigil_error err = VIGIL_ERROR_INIT;

		ck_assert_ptr_null(promote_edit(cases[i].text, cases[i].id, cases[i].replace, &err));
		ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
		ck_assert_int_eq(err.code, cases[i].code);
	}
}
END_TEST

START_TEST(test_diff)
{
	struct strbuf sb = STRBUF_INIT;
	char *out = edit(spec, "zscore", "mad");
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;

	promote_diff("j.json", spec, spec, &sb);
	ck_assert_uint_eq(sb.len, 0);
	promote_diff("j.json", spec, out, &sb);
	ck_assert_str_eq(strbuf_str(&sb),
	                 "--- a/j.json\n+++ b/j.json\n"
	                 "@@ -1,8 +1,7 @@\n"
	                 " {\n"
	                 "   \"name\": \"j\",\n"
	                 "   \"detectors\": [\n"
	                 "-    {\"detector\": \"mad\", \"params\": {\"window\": 30}},\n"
	                 "-    {\"detector\": \"zscore\", \"mode\": \"shadow\", \"params\": {\"window\": 60}},\n"
	                 "+    {\"detector\": \"zscore\", \"params\": {\"window\": 60}},\n"
	                 "     {\"mode\": \"shadow\", \"detector\": \"ewma\", \"id\": \"e2\"}\n"
	                 "   ],\n"
	                 "   \"source\": {\"type\": \"csv\", \"path\": \"d.csv\"}\n");
	free(out);
	/* two changes far apart: two hunks with 3 lines of context; a last line without newline */
	for (int i = 1; i <= 30; i++) {
		strbuf_addf(&a, "line %d\n", i);
		strbuf_addf(&b, i == 5 ? "five\n" : "line %d\n", i);
	}
	strbuf_addstr(&a, "end");
	strbuf_addstr(&b, "END");
	strbuf_reset(&sb);
	promote_diff("f", strbuf_str(&a), strbuf_str(&b), &sb);
	ck_assert_str_eq(strbuf_str(&sb),
	                 "--- a/f\n+++ b/f\n"
	                 "@@ -2,7 +2,7 @@\n line 2\n line 3\n line 4\n-line 5\n+five\n line 6\n line 7\n line 8\n"
	                 "@@ -28,4 +28,4 @@\n line 28\n line 29\n line 30\n-end\n\\ No newline at end of file\n"
	                 "+END\n\\ No newline at end of file\n");
	strbuf_release(&a);
	strbuf_release(&b);
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_redact)
{
	struct strbuf sb = STRBUF_INIT;

	promote_redact("+ \"webhook_url\": \"https://hooks.example/T0/B0/abcdefabcdef1234\", \"x\": \"y\"\n"
	               "-  \"url\": \"http://user:pw@db.example/q?token=s3cr3t&a=1\"\n"
	               "   \"name\": \"j\"", &sb);
	ck_assert_str_eq(strbuf_str(&sb),
	                 "+ \"webhook_url\": \"[redacted]\", \"x\": \"y\"\n"
	                 "-  \"url\": \"http://[redacted]@db.example/q?token=[redacted]&a=1\"\n"
	                 "   \"name\": \"j\"");
	strbuf_release(&sb);
}
END_TEST

START_TEST(test_write_atomic)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct registry *reg = registry_new();
	char dir[] = "/tmp/vigil-promote-XXXXXX", *path, *bad, *good, *back;
	struct stat st;
	FILE *f;

	registry_add_default(reg, NULL, 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/j.json", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs("old\n", f);
	fclose(f);
	chmod(path, 0640);
	ck_assert(promote_writable(path));
	bad = xasprintf("%s", "{\"name\": \"j\", \"source\": {\"type\": \"csv\", \"path\": \"d.csv\"}, "
	                "\"detectors\": [{\"detector\": \"nosuch\"}]}\n");
	ck_assert_int_eq(promote_write(path, bad, reg, &err), -1);   /* unknown detector: nothing written */
	ck_assert_int_eq(err.code, VIGIL_E_SPEC);
	ck_assert_msg(strstr(err.msg, "j.json: $.detectors[0].detector: unknown detector 'nosuch'"), "%s", err.msg);
	ck_assert_str_eq(back = promote_read(path, &err), "old\n");
	free(back);
	good = xasprintf("%s", "{\"name\": \"j\", \"source\": {\"type\": \"csv\", \"path\": \"d.csv\"},\n"
	                 " \"detectors\": [{\"detector\": \"mad\"}]}\n");
	ck_assert_msg(promote_write(path, good, reg, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(back = promote_read(path, &err), good);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0640);   /* the file keeps its mode */
	free(back);
	/* no temporary file is left beside it */
	back = xasprintf("ls -A %s | wc -l | grep -qx 1", dir);
	ck_assert_int_eq(system(back), 0);
	free(back);
	unlink(path);
	vigil_error_clear(&err);
	ck_assert_ptr_null(promote_read(path, &err));
	ck_assert_int_eq(err.code, VIGIL_E_IO);
	free(bad);
	free(good);
	free(path);
	rmdir(dir);
	registry_free(reg);
}
END_TEST

/* ---- detector stats on a store -------------------------------------------------------- */

#define MIN_MS 60000LL
#define HOUR_MS (60 * MIN_MS)

static void add_incident(const char *db, int id, const char *series, int64_t start, int64_t end, int64_t opened,
                         const char *dets)
{
	char *sql = xasprintf("INSERT INTO incidents (id, job, series, kind, labels, state, start_ts, end_ts, last_seen, "
	                      "last_alert_ts, n_alerts, peak_ts, peak_value, detectors, evidence, opened_run) VALUES "
	                      "(%d, 'j', '%s', 'anomaly', '{}', 'resolved', %lld, %lld, %lld, %lld, 1, %lld, 9, '%s', "
	                      "'x', %lld)", id, series, (long long)start, (long long)end, (long long)end,
	                      (long long)start, (long long)start, dets, (long long)opened);

	db_exec(db, sql);
	free(sql);
}

static void add_flag(const char *db, const char *series, int64_t ts, const char *det, int shadow)
{
	char *sql = xasprintf("INSERT INTO anomalies (run_id, job, series, labels, ts, value, score, detector, shadow, "
	                      "alerted) VALUES (1, 'j', '%s', '{}', %lld, 9, 1, '%s', %d, %d)", series, (long long)ts,
	                      det, shadow, !shadow);

	db_exec(db, sql);
	free(sql);
}

static json_t *det_of(json_t *stats, const char *id)
{
	json_t *d;
	size_t i;

	json_array_foreach(json_object_get(stats, "detectors"), i, d)
		if (!strcmp(json_string_value(json_object_get(d, "id")), id))
			return d;
	ck_abort_msg("no detector %s", id);
	return NULL;
}

static json_int_t geti(json_t *o, const char *a, const char *b)
{
	json_t *v = json_object_get(o, a);

	return json_integer_value(b ? json_object_get(v, b) : v);
}

START_TEST(test_stats)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err);
	int64_t now = 1800000000000LL, t = now - 2 * 24 * HOUR_MS, fid;
	json_t *dets = json_loads("[{\"detector\": \"mad\"}, {\"detector\": \"ewma\", \"id\": \"ew\", \"mode\": \"shadow\"}]",
	                          0, NULL), *stats = NULL, *mad, *ew;
	int found;

	ck_assert_msg(st, "%s", err.msg);
	db_exec(path, "INSERT INTO jobs (name, first_seen) VALUES ('j', 0)");
	db_exec(path, "INSERT INTO runs (id, job, scheduled_for, state) VALUES (1, 'j', 0, 'succeeded')");
	/* A (real): ew flagged 5 min before the onset; B (false), C (expected): ew missed them */
	add_incident(path, 1, "s1", t, t + 10 * MIN_MS, t + 5 * MIN_MS, "mad");
	add_incident(path, 2, "s2", t + 24 * HOUR_MS, t + 24 * HOUR_MS + 5 * MIN_MS, t + 24 * HOUR_MS + MIN_MS, "mad");
	add_incident(path, 3, "s1", t + 3 * HOUR_MS, t + 3 * HOUR_MS + 5 * MIN_MS, t + 3 * HOUR_MS + 3 * MIN_MS, "mad");
	/* an incident older than the period: not counted */
	add_incident(path, 4, "s1", now - 40 * 24 * HOUR_MS, now - 40 * 24 * HOUR_MS + MIN_MS, 0, "mad");
	add_flag(path, "s1", t, "mad", 0);
	add_flag(path, "s2", t + 24 * HOUR_MS + 2 * MIN_MS, "mad", 0);
	add_flag(path, "s1", t + 3 * HOUR_MS, "mad", 0);
	add_flag(path, "s1", t - 5 * MIN_MS, "ew", 1);
	add_flag(path, "s3", t + 10 * HOUR_MS, "ew", 1);   /* one episode of two flags, touching no incident */
	add_flag(path, "s3", t + 10 * HOUR_MS + 10 * MIN_MS, "ew", 1);
	ck_assert_int_eq(st->backend->feedback_add(st, 1, "real", NULL, "a", now, &fid, &found, &err), 0);
	ck_assert_int_eq(st->backend->feedback_add(st, 2, "real", NULL, "a", now, &fid, &found, &err), 0);
	ck_assert_int_eq(st->backend->feedback_add(st, 2, "false", NULL, "b", now + 1, &fid, &found, &err), 0);
	ck_assert_int_eq(st->backend->feedback_add(st, 3, "expected", "deploy", "a", now, &fid, &found, &err), 0);

	ck_assert_int_eq(detector_stats_job(st, "j", dets, now - 30 * 24 * HOUR_MS, now, &stats, &err), 0);
	ck_assert_int_eq(geti(stats, "incidents", NULL), 3);
	ck_assert_int_eq(geti(stats, "days", NULL), 30);
	ck_assert_int_eq(geti(stats, "notice_delay", "median_ms"), 3 * MIN_MS);
	mad = det_of(stats, "mad");
	ck_assert_str_eq(json_string_value(json_object_get(mad, "mode")), "alert");
	ck_assert_int_eq(geti(mad, "incidents", NULL), 3);
	ck_assert_int_eq(geti(mad, "feedback", "real"), 1);
	ck_assert_int_eq(geti(mad, "feedback", "false"), 1);   /* the newest verdict of incident 2 */
	ck_assert_int_eq(geti(mad, "feedback", "expected"), 1);
	ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(mad, "feedback"), "precision")), 0.5, 1e-9);
	ck_assert_double_eq_tol(json_real_value(json_object_get(mad, "alerts_per_day")), 0.1, 1e-9);
	ck_assert_int_eq(geti(mad, "time_to_detect", "median_ms"), 0);   /* 0, 2 min, 0 */
	ck_assert_int_eq(geti(mad, "time_to_detect", "n"), 3);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(mad, "per_day"), 28)), 2);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(mad, "per_day"), 29)), 1);
	ck_assert_ptr_null(json_object_get(mad, "shadow"));
	ew = det_of(stats, "ew");
	ck_assert_int_eq(geti(ew, "incidents", NULL), 1);
	ck_assert_int_eq(geti(ew, "time_to_detect", "median_ms"), -5 * MIN_MS);
	ck_assert_double_eq_tol(json_real_value(json_object_get(json_object_get(ew, "feedback"), "precision")), 1.0, 1e-9);
	ck_assert_int_eq(geti(json_object_get(ew, "shadow"), "would_have_alerted", NULL), 2);
	ck_assert_int_eq(geti(json_object_get(ew, "shadow"), "agreed", NULL), 1);
	ck_assert_int_eq(geti(json_object_get(ew, "shadow"), "missed", NULL), 2);
	ck_assert_int_eq(geti(json_object_get(ew, "shadow"), "alone", NULL), 1);
	ck_assert_int_eq(geti(json_object_get(ew, "shadow"), "missed_feedback", "false"), 1);
	ck_assert_int_eq(geti(json_object_get(ew, "shadow"), "missed_feedback", "expected"), 1);
	json_decref(stats);
	/* a period without incidents: no precision, no time to detect */
	ck_assert_int_eq(detector_stats_job(st, "j", dets, now - HOUR_MS, now, &stats, &err), 0);
	mad = det_of(stats, "mad");
	ck_assert(json_is_null(json_object_get(json_object_get(mad, "feedback"), "precision")));
	ck_assert(json_is_null(json_object_get(json_object_get(mad, "time_to_detect"), "median_ms")));
	json_decref(stats);
	json_decref(dets);
	store_close(st);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("promote");
	TCase *tc = tcase_create("promote");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_edit_text);
	tcase_add_test(tc, test_edit_refused);
	tcase_add_test(tc, test_diff);
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_write_atomic);
	tcase_add_test(tc, test_stats);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

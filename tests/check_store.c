/*
 * check_store.c - the store (migrations, runs, anomalies, refusing a newer
 * schema), whole job runs recorded in it, including failed ones, and
 * ad-hoc runs (queued, claimed once, fenced results, purged); on
 * SQLite, and on PostgreSQL when tests/store-pg.sh runs it (dbutil.h).
 */

#include "job.h"
#include "spec.h"
#include "store.h"
#include "testutil.h"
#include "dbutil.h"

static struct registry *reg;

START_TEST(test_migrations)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err);
	int version = 0;

	ck_assert_msg(st != NULL, "%s", err.msg);
	ck_assert_int_eq(st->backend->schema_version(st, &version, &err), 0);
	ck_assert_int_eq(version, STORE_SCHEMA_VERSION);
	store_close(st);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM schema_version"), 1);
	if (test_pg()) {
		ck_assert_int_eq(scalar(path, "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
		                              "('jobs', 'runs', 'anomalies', 'run_failures', 'outbox', 'nodes', "
		                              "'series_history', 'incident_feedback', 'adhoc_runs')"), 9);
	} else {
		char *mode = text(path, "PRAGMA journal_mode");

		ck_assert_int_eq(scalar(path, "SELECT count(*) FROM sqlite_master WHERE name IN "
		                              "('jobs', 'runs', 'anomalies', 'run_failures')"), 4);
		ck_assert_str_eq(mode, "wal");
		free(mode);
	}
	/* Reopening migrates nothing again. */
	st = store_open(path, &err);
	ck_assert_ptr_nonnull(st);
	store_close(st);
	ck_assert_int_eq(scalar(path, "SELECT version FROM schema_version"), STORE_SCHEMA_VERSION);

	/* A store from a newer vigil is refused, untouched. */
	db_exec(path, "UPDATE schema_version SET version = 99");
	ck_assert_ptr_null(store_open(path, &err));
	ck_assert_msg(strstr(err.msg, "schema version 99, newer than this vigil understands"), "got %s", err.msg);
	ck_assert_int_eq(scalar(path, "SELECT version FROM schema_version"), 99);
	free(path);
}
END_TEST

START_TEST(test_run_lifecycle)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err);
	struct anomaly_row rows[2] = {
		{ .series = "a", .labels_json = "{\"host\":\"x\"}", .ts_ms = 1000, .value = 5, .score = 0.99,
		  .detector = "mad", .expected = 1, .lower = 0, .upper = 2, .reason = "high", .alerted = 1 },
		{ .series = "a", .labels_json = "{}", .ts_ms = 2000, .value = NAN, .score = 0.5,
		  .detector = "z", .expected = NAN, .lower = NAN, .upper = NAN, .shadow = 1 },
	};
	struct run_outcome o = { .state = "succeeded", .outcome = "anomalies", .n_series = 1, .n_points = 10,
	                         .n_anomalies = 2, .n_alerts = 1 };
	int64_t id, id2;
	json_t *runs = NULL;

	ck_assert_int_eq(st->backend->run_begin(st, "job1", 5000, 6000, &id, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs WHERE state = 'running'"), 1);
	ck_assert_int_eq(st->backend->run_finish(st, id, 7000, &o, rows, 2, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM anomalies WHERE job = 'job1'"), 2);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM anomalies WHERE value IS NULL AND shadow = 1"), 1);
	ck_assert_int_eq(scalar(path, "SELECT finished_at FROM runs"), 7000);
	ck_assert_int_eq(scalar(path, "SELECT last_run_id FROM jobs WHERE name = 'job1'"), id);

	/* Finishing twice is refused and writes nothing (one transaction). */
	ck_assert_int_eq(st->backend->run_finish(st, id, 8000, &o, rows, 2, &err), -1);
	ck_assert_msg(strstr(err.msg, "is not running"), "got %s", err.msg);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM anomalies"), 2);

	/* One run per (job, scheduled time). */
	vigil_error_clear(&err);
	ck_assert_int_eq(st->backend->run_begin(st, "job1", 5000, 9000, &id2, &err), -1);
	ck_assert_msg(strstr(err.msg, "already has a run scheduled for 5000 ms"), "got %s", err.msg);
	ck_assert_int_eq(st->backend->list_runs(st, "job1", 10, &runs, &err), 0);
	ck_assert_int_eq(json_array_size(runs), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(runs, 0), "outcome")), "anomalies");
	json_decref(runs);
	store_close(st);
	free(path);
}
END_TEST

static struct job_spec *inline_spec(const char *json, const char *dir)
{
	struct diag d;
	struct job_spec *spec;

	diag_init(&d, "inline.json");
	spec = spec_parse(json, dir, reg, &d);
	ck_assert_msg(spec != NULL, "%s", d.n ? d.msgs[0] : "?");
	diag_release(&d);
	return spec;
}

/* A job whose source fails is recorded as failed, with its reason, and nothing else. */
START_TEST(test_failed_run_recorded)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err);
	struct job_spec *spec = inline_spec("{\"name\": \"broken\", \"source\": {\"type\": \"csv\", \"path\": "
	                                    "\"/nonexistent/data.csv\"}, \"detectors\": [{\"detector\": \"mad\"}]}",
	                                    "/tmp");
	struct job_options opt = { .scheduled_ms = 1000, .store = st };
	struct run_report rep;
	char *error;

	ck_assert_int_eq(job_run(spec, &opt, &rep, &err), -1);
	ck_assert(rep.failed);
	ck_assert_msg(strstr(err.msg, "source: /nonexistent/data.csv: cannot open"), "got %s", err.msg);
	run_report_release(&rep);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs WHERE state = 'failed'"), 1);
	error = text(path, "SELECT error FROM runs");
	ck_assert_ptr_nonnull(strstr(error, "cannot open"));
	free(error);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM anomalies"), 0);
	spec_free(spec);
	store_close(st);
	free(path);
}
END_TEST

/* A detector failing on a series fails that series only; others are stored. */
START_TEST(test_series_failure_contained)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err);
	char *csv = write_temp("timestamp,a,b\n1,1,2\n2,42,2\n3,1,42\n", ".csv");
	char *json = xasprintf("{\"name\": \"mixed\", \"source\": {\"type\": \"csv\", \"path\": \"%s\"},"
	                       " \"detectors\": [{\"detector\": \"test-fail\"}, {\"detector\": \"test-magic\"}]}",
	                       csv);
	struct job_spec *spec = inline_spec(json, "/tmp");
	struct job_options opt = { .scheduled_ms = 1000, .store = st };
	struct run_report rep;

	ck_assert_msg(job_run(spec, &opt, &rep, &err) == 0, "%s", err.msg);
	ck_assert(!rep.failed);
	ck_assert_int_eq(rep.n_series, 2);
	ck_assert_int_eq(rep.n_failures, 2);
	ck_assert_int_eq(rep.n_alerts, 2);
	ck_assert_str_eq(rep.alerts[0].detectors, "test-magic");
	run_report_release(&rep);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM run_failures"), 2);
	ck_assert_int_eq(scalar(path, "SELECT n_failed_series FROM runs"), 2);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM anomalies WHERE detector = 'test-magic' AND alerted = 1"), 2);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs WHERE state = 'succeeded' AND outcome = 'anomalies'"), 1);
	spec_free(spec);
	store_close(st);
	unlink(csv);
	free(csv);
	free(json);
	free(path);
}
END_TEST

/* Agreement, shadow mode and the recent window decide what alerts. */
START_TEST(test_alert_rules)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *csv = write_temp("timestamp,v\n1,1\n2,42\n3,1\n4,1\n5,42\n6,500\n", ".csv");
	static const struct { const char *alert; const char *modes; int upper; size_t alerts; } cases[] = {
		{ "{}", "alert", 100, 3 },                              /* any: 42, 42, 500 */
		{ "{\"agree\": \"all\"}", "alert", 100, 0 },           /* never both */
		{ "{\"agree\": \"all\"}", "alert", 10, 2 },            /* both flag the 42s */
		{ "{\"agree\": 1}", "shadow", 100, 1 },                 /* magic in shadow: 500 only */
		{ "{\"agree\": \"all\"}", "shadow", 100, 1 },          /* shadow does not count for "all" */
		{ "{\"recent_points\": 2}", "alert", 100, 2 },
		{ "{\"recent\": \"2s\"}", "alert", 100, 2 },            /* points after 6 s - 2 s */
		{ "{\"min_score\": 1, \"agree\": \"all\"}", "alert", 10, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *json = xasprintf("{\"name\": \"rules\", \"source\": {\"type\": \"csv\", \"path\": \"%s\"},"
		                       " \"detectors\": [{\"detector\": \"test-magic\", \"mode\": \"%s\"},"
		                       " {\"detector\": \"threshold\", \"params\": {\"upper\": %d}}], \"alert\": %s}",
		                       csv, cases[i].modes, cases[i].upper, cases[i].alert);
		struct job_spec *spec = inline_spec(json, "/tmp");
		struct job_options opt = { .scheduled_ms = 1000 };
		struct run_report rep;

		ck_assert_msg(job_run(spec, &opt, &rep, &err) == 0, "%s", err.msg);
		ck_assert_msg(rep.n_alerts == cases[i].alerts, "case %zu: %zu alerts, expected %zu", i,
		              rep.n_alerts, cases[i].alerts);
		run_report_release(&rep);
		spec_free(spec);
		free(json);
	}
	unlink(csv);
	free(csv);
}
END_TEST

START_TEST(test_no_data)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *csv = write_temp("timestamp,v\n", ".csv");
	char *json = xasprintf("{\"name\": \"empty\", \"source\": {\"type\": \"csv\", \"path\": \"%s\"},"
	                       " \"detectors\": [{\"detector\": \"mad\"}]}", csv);
	struct job_spec *spec = inline_spec(json, "/tmp");
	struct job_options opt = { .scheduled_ms = 1000 };
	struct run_report rep;
	json_t *j;

	ck_assert_msg(job_run(spec, &opt, &rep, &err) == 0, "%s", err.msg);
	ck_assert(rep.no_data && !rep.failed && rep.n_alerts == 0);
	j = run_report_json(&rep);
	ck_assert_str_eq(json_string_value(json_object_get(j, "outcome")), "no_data");
	json_decref(j);
	run_report_release(&rep);
	spec_free(spec);
	unlink(csv);
	free(csv);
	free(json);
}
END_TEST

/* Incidents: open, natural-key upsert, update, resolve, listings, latest per series, health, run transaction. */
START_TEST(test_incidents)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err);
	const struct store_incident_ops *ops = st->backend->incidents;
	struct incident a = {
		.job = "j", .series = "cpu{host=\"a\"}", .kind = "anomaly", .labels_json = "{\"host\":\"a\"}",
		.state = "open", .start_ms = 1000, .last_seen_ms = 1000, .last_alert_ms = 1000, .n_alerts = 1,
		.peak_ms = 1000, .peak_value = 97.5, .peak_expected = 40, .peak_score = 1, .peak_rarity = 6.5,
		.onset_expected = 40, .onset_lower = 30, .onset_upper = 50, .accepted_lower = NAN, .accepted_upper = NAN,
		.detectors = "mad", .evidence = "7.1 MADs above the median", .opened_run_ms = 1500, .updated_run_ms = 1500,
	};
	struct incident b, got, *list = NULL;
	struct incident_filter f = { .job = "j" };
	struct job_health h = { .job = "j", .failed_runs = 2, .last_success_ms = 500, .updated_run_ms = 3000,
	                        .last_error = "source: connection refused" }, hr;
	size_t n = 0;
	int found = 0;
	int64_t first_id, run_id;
	json_t *sum = NULL;

	ck_assert_int_eq(scalar(path, test_pg() ? "SELECT count(*) FROM information_schema.tables WHERE table_name IN "
	                                          "('incidents', 'job_health')" :
	                              "SELECT count(*) FROM sqlite_master WHERE name IN ('incidents', 'job_health')"), 2);
	ck_assert_int_eq(ops->open(st, &a, &err), 0);
	ck_assert_int_gt(a.id, 0);
	first_id = a.id;
	/* the same onset again (a re-run) is the same incident */
	a.id = 0;
	a.n_alerts = 3;
	ck_assert_int_eq(ops->open(st, &a, &err), 0);
	ck_assert_int_eq(a.id, first_id);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM incidents"), 1);
	ck_assert_int_eq(scalar(path, "SELECT n_alerts FROM incidents"), 3);
	/* update by id keeps NaN as NULL and reads back NaN */
	a.peak_value = 99;
	a.last_seen_ms = 2000;
	ck_assert_int_eq(ops->update(st, &a, &err), 0);
	ck_assert_int_eq(ops->get(st, a.id, &got, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_str_eq(got.series, "cpu{host=\"a\"}");
	ck_assert_str_eq(got.state, "open");
	ck_assert_double_eq(got.peak_value, 99);
	ck_assert_double_eq(got.peak_rarity, 6.5);
	ck_assert(isnan(got.accepted_lower));
	ck_assert_int_eq(got.last_seen_ms, 2000);
	ck_assert_int_eq(got.opened_run_ms, 1500);
	ck_assert_str_eq(got.evidence, "7.1 MADs above the median");
	incident_release(&got);
	ck_assert_int_eq(ops->get(st, 424242, &got, &found, &err), 0);
	ck_assert_int_eq(found, 0);

	/* a second, later incident of the same series: latest() gives the open one first */
	b = a;
	b.id = 0;
	b.start_ms = 90000;
	ck_assert_int_eq(ops->resolve(st, a.id, "resolved", 5000, 6000, &err), 0);
	ck_assert_int_eq(ops->open(st, &b, &err), 0);
	ck_assert_int_ne(b.id, a.id);
	ck_assert_int_eq(ops->latest(st, "j", &list, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(list[0].id, b.id);
	incidents_free(list, n);
	ck_assert_int_eq(ops->resolve(st, b.id, "accepted", 95000, 96000, &err), 0);
	ck_assert_int_eq(ops->latest(st, "j", &list, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(list[0].id, b.id);
	ck_assert_str_eq(list[0].state, "accepted");
	ck_assert_int_eq(list[0].end_ms, 95000);
	incidents_free(list, n);
	ck_assert_int_eq(ops->resolve(st, b.id, "bogus", 1, 1, &err), -1);

	/* listings: open and recent by default, all with all */
	f.since_ms = 10000;
	ck_assert_int_eq(ops->list(st, &f, &list, &n, &err), 0);
	ck_assert_int_eq(n, 1);   /* the first ended at 5000 */
	ck_assert_int_eq(list[0].id, b.id);
	incidents_free(list, n);
	f.all = 1;
	ck_assert_int_eq(ops->list(st, &f, &list, &n, &err), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(list[0].id, b.id);   /* newest start first */
	incidents_free(list, n);
	f.job = "other";
	ck_assert_int_eq(ops->list(st, &f, &list, &n, &err), 0);
	ck_assert_int_eq(n, 0);
	incidents_free(list, n);

	/* health */
	ck_assert_int_eq(ops->health_get(st, "j", &hr, &found, &err), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(ops->put(st, NULL, 0, &h, &err), 0);
	ck_assert_int_eq(ops->health_get(st, "j", &hr, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(hr.failed_runs, 2);
	ck_assert_int_eq(hr.last_success_ms, 500);
	ck_assert_str_eq(hr.last_error, "source: connection refused");
	job_health_release(&hr);

	/* a run writes its incidents and health in its own transaction: a refused finish writes neither */
	{
		struct incident c = a;
		struct run_outcome o = { .state = "succeeded", .outcome = "anomalies", .incidents = &c, .n_incidents = 1,
		                         .health = &h };

		c.id = 0;
		c.series = "mem";
		c.start_ms = 7000;
		h.failed_runs = 0;
		ck_assert_int_eq(st->backend->run_begin(st, "j", 7000, 7000, &run_id, &err), 0);
		ck_assert_int_eq(st->backend->run_finish(st, run_id, 7100, &o, NULL, 0, &err), 0);
		ck_assert_int_eq(scalar(path, "SELECT count(*) FROM incidents WHERE series = 'mem'"), 1);
		ck_assert_int_eq(scalar(path, "SELECT failed_runs FROM job_health"), 0);
		c.series = "disk";
		h.failed_runs = 7;
		ck_assert_int_eq(st->backend->run_finish(st, run_id, 7200, &o, NULL, 0, &err), -1);
		ck_assert_int_eq(scalar(path, "SELECT count(*) FROM incidents WHERE series = 'disk'"), 0);
		ck_assert_int_eq(scalar(path, "SELECT failed_runs FROM job_health"), 0);
	}
	ck_assert_int_eq(ops->job_summary(st, &sum, &err), 0);
	ck_assert_int_eq(json_array_size(sum), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(sum, 0), "open")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(sum, 0), "last_success")), 500);
	json_decref(sum);
	store_close(st);
	free(path);
}
END_TEST

/* Verdicts on incidents: one row per verdict, oldest first, none for an incident that does not exist. */
START_TEST(test_feedback)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err);
	struct incident a = {
		.job = "j", .series = "cpu", .kind = "anomaly", .labels_json = "{}", .state = "open", .start_ms = 1000,
		.peak_value = NAN, .peak_expected = NAN, .peak_score = NAN, .peak_rarity = NAN, .onset_expected = NAN,
		.onset_lower = NAN, .onset_upper = NAN, .accepted_lower = NAN, .accepted_upper = NAN,
	};
	int64_t first = 0, second = 0, none = -7;
	int found = -1;
	json_t *rows = NULL, *r;

	ck_assert_msg(st != NULL, "%s", err.msg);
	ck_assert_ptr_nonnull(st->backend->feedback_add);
	ck_assert_int_eq(st->backend->incidents->open(st, &a, &err), 0);
	ck_assert_int_eq(st->backend->feedback_add(st, a.id, "false", NULL, "ann", 5000, &first, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(st->backend->feedback_add(st, a.id, "real", "it's 'real'", "bob", 6000, &second, &found, &err),
	                 0);
	ck_assert_int_gt(second, first);
	/* no such incident: nothing stored */
	ck_assert_int_eq(st->backend->feedback_add(st, a.id + 100, "real", NULL, "ann", 7000, &none, &found, &err), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(none, -7);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM incident_feedback"), 2);

	ck_assert_int_eq(st->backend->feedback_list(st, a.id, &rows, &err), 0);
	ck_assert_int_eq(json_array_size(rows), 2);
	r = json_array_get(rows, 0);
	ck_assert_int_eq(json_object_size(r), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), first);
	ck_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "false");
	ck_assert(json_is_null(json_object_get(r, "note")));
	ck_assert_str_eq(json_string_value(json_object_get(r, "who")), "ann");
	ck_assert(json_is_integer(json_object_get(r, "at")));
	ck_assert_int_eq(json_integer_value(json_object_get(r, "at")), 5000);
	r = json_array_get(rows, 1);
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), second);
	ck_assert_str_eq(json_string_value(json_object_get(r, "verdict")), "real");
	ck_assert_str_eq(json_string_value(json_object_get(r, "note")), "it's 'real'");
	ck_assert_str_eq(json_string_value(json_object_get(r, "who")), "bob");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "at")), 6000);
	json_decref(rows);
	ck_assert_int_eq(st->backend->feedback_list(st, a.id + 100, &rows, &err), 0);
	ck_assert_int_eq(json_array_size(rows), 0);
	json_decref(rows);
	store_close(st);
	free(path);
}
END_TEST


/* Ad-hoc runs: queued with their spec, claimed by one node only, results land with the fenced completion. */
START_TEST(test_adhoc)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = store_open(path, &err), *other;
	const struct store_adhoc_ops *a;
	struct run_claim claim;
	struct run_outcome o = { .state = "succeeded", .outcome = "clean", .adhoc_results = "{\"series\":[]}" };
	int64_t id1, id2, t1, t2, n = 0;
	char *job = NULL, *spec = NULL, *results = NULL;
	int claimed = 0, found = 0, done = 0;
	json_t *run = NULL;

	ck_assert_msg(st != NULL, "%s", err.msg);
	a = st->backend->adhoc;
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->submit(st, "adhoc:nb", "{\"name\": \"nb\"}", &id1, &t1, &err), 0);
	/* the same job twice at once: two runs, at different times (one run per job and time) */
	ck_assert_int_eq(a->submit(st, "adhoc:nb", "{\"name\": \"nb\", \"v\": 2}", &id2, &t2, &err), 0);
	ck_assert_int_gt(id2, id1);
	ck_assert_int_ne(t1, t2);
	ck_assert_int_eq(st->backend->run_get(st, id1, &run, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(run, "state")), "pending");
	ck_assert_str_eq(json_string_value(json_object_get(run, "trigger")), "adhoc");
	json_decref(run);

	/* the oldest first, with its spec; node b finds the second; nothing is left for a third claim */
	ck_assert_int_eq(a->claim(st, "a", 60000, &claim, &job, &spec, &claimed, &err), 0);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(claim.id, id1);
	ck_assert_int_eq(claim.attempts, 1);
	ck_assert_str_eq(job, "adhoc:nb");
	ck_assert_str_eq(spec, "{\"name\": \"nb\"}");
	free(job);
	free(spec);
	other = store_open(path, &err);
	ck_assert_ptr_nonnull(other);
	ck_assert_int_eq(other->backend->adhoc->claim(other, "b", 60000, &claim, &job, &spec, &claimed, &err), 0);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(claim.id, id2);
	free(job);
	free(spec);
	ck_assert_int_eq(a->claim(st, "a", 60000, &claim, &job, &spec, &claimed, &err), 0);
	ck_assert_int_eq(claimed, 0);
	/* a scheduled run's recovery does not take ad-hoc runs: they are listed, and skipped by the daemon */

	/* fencing: b's results do not land on a's run; a's do */
	other->node = "b";
	ck_assert_int_eq(other->backend->run_finish(other, id1, t1 + 5, &o, NULL, 0, &err), -1);
	ck_assert_int_eq(a->get(st, id1, &spec, &results, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_ptr_null(results);
	free(spec);
	vigil_error_clear(&err);
	st->node = "a";
	ck_assert_int_eq(st->backend->run_finish(st, id1, t1 + 5, &o, NULL, 0, &err), 0);
	ck_assert_int_eq(a->get(st, id1, &spec, &results, &found, &err), 0);
	ck_assert_str_eq(results, "{\"series\":[]}");
	free(spec);
	free(results);
	/* a scheduled run is not an ad-hoc one */
	ck_assert_int_eq(a->get(st, 999999, &spec, &results, &found, &err), 0);
	ck_assert_int_eq(found, 0);

	/* b gives its run up; purging removes finished ones only, spec and results with them */
	ck_assert_int_eq(other->backend->run_release(other, id2, "b", "interrupted", "stopped", &done, &err), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(a->purge(st, t1 + 6, &n, &err), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(a->get(st, id1, &spec, &results, &found, &err), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(st->backend->run_get(st, id1, &run, &err), 0);
	ck_assert_ptr_null(run);
	ck_assert_int_eq(a->get(st, id2, &spec, &results, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	free(spec);
	free(results);
	/* the interrupted run is claimable again, attempt 2 */
	ck_assert_int_eq(a->claim(st, "a", 60000, &claim, &job, &spec, &claimed, &err), 0);
	ck_assert_int_eq(claimed, 1);
	ck_assert_int_eq(claim.id, id2);
	ck_assert_int_eq(claim.attempts, 2);
	free(job);
	free(spec);
	store_close(other);
	store_close(st);
	free(path);
}
END_TEST

static Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_add_test(tc, test_migrations);
	tcase_add_test(tc, test_run_lifecycle);
	tcase_add_test(tc, test_failed_run_recorded);
	tcase_add_test(tc, test_series_failure_contained);
	tcase_add_test(tc, test_alert_rules);
	tcase_add_test(tc, test_no_data);
	tcase_add_test(tc, test_incidents);
	tcase_add_test(tc, test_feedback);
	tcase_add_test(tc, test_adhoc);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	int rc;
	char *good = xasprintf("%s/test.so", getenv("VIGIL_TEST_PLUGINS") ? getenv("VIGIL_TEST_PLUGINS")
	                                                                  : "tests/plugins/.libs");
	struct vigil_error err = VIGIL_ERROR_INIT;

	reg = test_registry();
	if (registry_load_file(reg, good, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		return EXIT_FAILURE;
	}
	free(good);
	rc = run_suite(store_suite());
	registry_free(reg);
	return rc;
}

/*
 * check_claim.c - the store's side of the daemon: runs created once per
 * (job, scheduled time), claimed with a lease, heartbeats, fenced
 * completion and release, recovery at start, several processes racing for
 * the same runs, paging, and the stored series behind /api/series.
 */
#include <math.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include "job.h"
#include "store.h"
#include "testutil.h"
#include "dbutil.h"

static struct store *open_store(const char *path)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct store *st = store_open(path, &err);

	ck_assert_msg(st != NULL, "%s", err.msg);
	return st;
}

static int claim(struct store *st, const char *job, int64_t t, const char *node, int64_t lease,
                 struct run_claim *c)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	int claimed = -1;

	ck_assert_msg(st->backend->run_claim(st, job, t, 0, "schedule", node, lease, c, &claimed, &err) == 0,
	              "%s", err.msg);
	return claimed;
}

static const struct run_outcome ok_outcome = { .state = "succeeded", .outcome = "clean", .n_series = 1,
                                               .n_points = 3 };

START_TEST(test_claim_once_and_lease)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *a = open_store(path), *b = open_store(path);
	struct run_claim c, c2;
	int held = -1, done = -1;
	int64_t now0, now1;

	ck_assert_int_eq(a->backend->now(a, &now0, &err), 0);
	ck_assert_int_eq(claim(a, "j", 60000, "node-a", 60000, &c), 1);
	ck_assert_int_eq(c.attempts, 1);
	ck_assert_int_eq(c.scheduled_ms, 60000);
	ck_assert_str_eq(c.trigger, "schedule");
	ck_assert_int_eq(a->backend->now(a, &now1, &err), 0);
	/* the lease is on the store's clock */
	ck_assert_int_ge(scalar(path, "SELECT lease_until FROM runs"), now0 + 60000);
	ck_assert_int_le(scalar(path, "SELECT lease_until FROM runs"), now1 + 60000);
	/* the same run can't be created or claimed twice while the lease lives */
	ck_assert_int_eq(claim(b, "j", 60000, "node-b", 60000, &c2), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs"), 1);
	ck_assert_int_eq(a->backend->run_heartbeat(a, c.id, "node-a", 60000, &held, &err), 0);
	ck_assert_int_eq(held, 1);
	ck_assert_int_eq(a->backend->run_heartbeat(a, c.id, "node-b", 60000, &held, &err), 0);
	ck_assert_int_eq(held, 0);

	/* a lease that ran out is taken over; the first holder is fenced off */
	ck_assert_int_eq(a->backend->run_heartbeat(a, c.id, "node-a", -1000, &held, &err), 0);
	ck_assert_int_eq(claim(b, "j", 60000, "node-b", 60000, &c2), 1);
	ck_assert_int_eq(c2.id, c.id);
	ck_assert_int_eq(c2.attempts, 2);
	ck_assert_int_eq(a->backend->run_heartbeat(a, c.id, "node-a", 60000, &held, &err), 0);
	ck_assert_int_eq(held, 0);
	a->node = "node-a";
	ck_assert_int_eq(a->backend->run_finish(a, c.id, 1, &ok_outcome, NULL, 0, &err), -1);
	ck_assert_msg(strstr(err.msg, "lost its lease"), "got %s", err.msg);
	ck_assert_int_eq(a->backend->run_release(a, c.id, "node-a", "failed", "x", &done, NULL), 0);
	ck_assert_int_eq(done, 0);
	b->node = "node-b";
	vigil_error_clear(&err);
	ck_assert_int_eq(b->backend->run_finish(b, c.id, 2, &ok_outcome, NULL, 0, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs WHERE state = 'succeeded' AND locked_by = 'node-b'"),
	                 1);
	/* finished: never claimed again */
	ck_assert_int_eq(claim(a, "j", 60000, "node-a", 60000, &c), 0);
	ck_assert_int_eq(scalar(path, "SELECT attempts FROM runs"), 2);
	store_close(a);
	store_close(b);
	free(path);
}
END_TEST

START_TEST(test_release_and_recover)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = open_store(path);
	struct run_claim c1, c2, c3;
	json_t *list = NULL, *run = NULL;
	int done = -1;

	ck_assert_int_eq(claim(st, "a", 1000, "n1", 60000, &c1), 1);
	ck_assert_int_eq(claim(st, "b", 2000, "n1", 60000, &c2), 1);
	ck_assert_int_eq(claim(st, "c", 3000, "n2", 60000, &c3), 1);
	/* SIGTERM past the grace period: the run is marked interrupted */
	ck_assert_int_eq(st->backend->run_release(st, c1.id, "n1", "interrupted", NULL, &done, &err), 0);
	ck_assert_int_eq(done, 1);
	ck_assert_int_eq(st->backend->run_release(st, c1.id, "n1", "interrupted", NULL, &done, &err), 0);
	ck_assert_int_eq(done, 0);
	ck_assert_int_eq(st->backend->run_release(st, c1.id, "n1", "done", NULL, &done, &err), -1);
	/* n1 restarts: b was running under n1 (killed -9): interrupted too; n2's c is left alone */
	vigil_error_clear(&err);
	ck_assert_int_eq(st->backend->runs_recover(st, "n1", &list, &err), 0);
	ck_assert_int_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "job")), "a");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "job")), "b");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "state")), "interrupted");
	json_decref(list);
	ck_assert_int_eq(st->backend->run_get(st, c2.id, &run, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(run, "state")), "interrupted");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(run, "error")), "interrupted"));
	json_decref(run);
	ck_assert_int_eq(st->backend->run_get(st, 999, &run, &err), 0);
	ck_assert_ptr_null(run);
	/* re-run: claimed again, a second attempt */
	ck_assert_int_eq(claim(st, "b", 2000, "n1", 60000, &c2), 1);
	ck_assert_int_eq(c2.attempts, 2);
	/* a failed release records the error and the end */
	ck_assert_int_eq(st->backend->run_release(st, c2.id, "n1", "failed", "timed out after 1s", &done, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs WHERE state = 'failed' AND error = 'timed out after 1s' "
	                              "AND finished_at IS NOT NULL"), 1);
	store_close(st);
	free(path);
}
END_TEST

/* Several processes race for the same 30 runs: each is run exactly once. */
START_TEST(test_claim_race)
{
	enum { WORKERS = 4, RUNS = 30 };
	char *path = tmp_db();
	struct store *st = open_store(path);
	pid_t pids[WORKERS];

	store_close(st);
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		ck_assert_int_ge(pids[w], 0);
		if (pids[w] == 0) {
			struct store *s = store_open(path, NULL);
			char node[16];
			int rc = 0;

			if (!s) {
				free(path);
				_exit(3);
			}
			snprintf(node, sizeof(node), "w%d", w);
			s->node = node;
			for (int i = 0; i < RUNS; i++) {
				struct run_claim c;
				int claimed = 0;

				if (s->backend->run_claim(s, "race", (i + 1) * 1000LL, 0, "schedule", node, 60000, &c,
				                          &claimed, NULL)) {
					rc = 1;
					break;
				}
				if (claimed && s->backend->run_finish(s, c.id, 1, &ok_outcome, NULL, 0, NULL)) {
					rc = 2;
					break;
				}
			}
			store_close(s);
			free(path);   /* the child's copy: valgrind checks the child too */
			_exit(rc);
		}
	}
	for (int w = 0; w < WORKERS; w++) {
		int status;

		ck_assert_int_eq(waitpid(pids[w], &status, 0), pids[w]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker %d: status %d", w, status);
	}
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs"), RUNS);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM runs WHERE state = 'succeeded' AND attempts = 1"), RUNS);
	free(path);
}
END_TEST

START_TEST(test_paging_and_listings)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = open_store(path);
	struct anomaly_row row = { .series = "s", .labels_json = "{}", .value = 9, .score = 1, .detector = "mad",
	                           .expected = 1, .lower = 0, .upper = 2, .alerted = 1 };
	struct run_claim c;
	json_t *page = NULL, *state = NULL;
	int64_t ids[5];

	st->node = "n";
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(st->backend->run_claim(st, i % 2 ? "odd" : "even", (i + 1) * 60000, 0,
		                                        i == 4 ? "manual" : "schedule", "n", 60000, &c, &(int){ 0 },
		                                        &err), 0);
		ids[i] = c.id;
		row.ts_ms = (i + 1) * 1000;
		ck_assert_int_eq(st->backend->run_finish(st, c.id, 10 + i, &ok_outcome, &row, 1, &err), 0);
	}
	ck_assert_int_eq(st->backend->runs_page(st, NULL, 0, 2, &page, &err), 0);
	ck_assert_int_eq(json_array_size(page), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(page, 0), "id")), ids[4]);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(page, 1), "id")), ids[3]);
	json_decref(page);
	ck_assert_int_eq(st->backend->runs_page(st, NULL, ids[3], 2, &page, &err), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(page, 0), "id")), ids[2]);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(page, 1), "id")), ids[1]);
	json_decref(page);
	ck_assert_int_eq(st->backend->runs_page(st, "even", ids[2], 10, &page, &err), 0);
	ck_assert_int_eq(json_array_size(page), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(page, 0), "trigger")), "schedule");
	json_decref(page);
	ck_assert_int_eq(st->backend->anomalies_since(st, NULL, 3000, 10, &page, &err), 0);
	ck_assert_int_eq(json_array_size(page), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(page, 0), "ts")), 5000);
	json_decref(page);
	ck_assert_int_eq(st->backend->anomalies_since(st, "odd", 0, 10, &page, &err), 0);
	ck_assert_int_eq(json_array_size(page), 2);
	json_decref(page);
	/* last_fire counts scheduled runs only: the manual run at 300000 does not move the schedule */
	ck_assert_int_eq(st->backend->job_state(st, "even", &state, &err), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(state, "last_fire")), 180000);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(state, "last_run"), "id")), ids[4]);
	json_decref(state);
	ck_assert_int_eq(st->backend->job_state(st, "none", &state, &err), 0);
	ck_assert(json_is_null(json_object_get(state, "last_run")));
	ck_assert(json_is_null(json_object_get(state, "last_fire")));
	json_decref(state);
	store_close(st);
	free(path);
}
END_TEST

static void fill_series(struct stored_series *s, const char *name, size_t n, int64_t t0)
{
	memset(s, 0, sizeof(*s));
	s->series = xstrdup(name);
	s->labels_json = xstrdup("{\"host\":\"a\"}");
	s->n = n;
	s->ts = xcalloc(n + 1, sizeof(int64_t));
	s->value = xcalloc(n + 1, sizeof(double));
	s->n_detectors = 2;
	s->det = xcalloc(2, sizeof(*s->det));
	for (size_t k = 0; k < 2; k++) {
		s->det[k].id = xstrdup(k ? "zscore" : "mad");
		s->det[k].score = xcalloc(n + 1, sizeof(double));
		s->det[k].expected = xcalloc(n + 1, sizeof(double));
		s->det[k].lower = xcalloc(n + 1, sizeof(double));
		s->det[k].upper = xcalloc(n + 1, sizeof(double));
		s->det[k].flags = xcalloc(n + 1, 1);
	}
	for (size_t i = 0; i < n; i++) {
		s->ts[i] = t0 + (int64_t)i * 1000;
		s->value[i] = (double)i / 4;
		for (size_t k = 0; k < 2; k++) {
			s->det[k].score[i] = (double)(i % 100) / 100;
			s->det[k].expected[i] = k ? NAN : (double)i;
			s->det[k].lower[i] = (double)i - 1;
			s->det[k].upper[i] = (double)i + 1;
			s->det[k].flags[i] = i % 10 == 0 ? STORED_FLAGGED | (k ? 0 : STORED_ALERTED) : 0;
		}
	}
}

START_TEST(test_stored_series)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = open_store(path);
	struct stored_series in[2], out;
	json_t *list = NULL;
	int found = -1;

	fill_series(&in[0], "cpu", 1000, 100000);
	fill_series(&in[1], "mem", 0, 0);
	ck_assert_msg(st->backend->series_put(st, "j", 7, 5000, in, 2, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(st->backend->series_get(st, "j", "cpu", 110000, 119500, &out, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(out.run_id, 7);
	ck_assert_int_eq(out.n_total, 1000);
	ck_assert_uint_eq(out.n, 10);
	ck_assert_int_eq(out.ts[0], 110000);
	ck_assert_int_eq(out.ts[9], 119000);
	ck_assert(out.value[3] == 13.0 / 4);
	ck_assert_uint_eq(out.n_detectors, 2);
	ck_assert_str_eq(out.det[1].id, "zscore");
	ck_assert(isnan(out.det[1].expected[0]));
	ck_assert(out.det[0].expected[0] == 10);
	ck_assert_int_eq(out.det[0].flags[0], STORED_FLAGGED | STORED_ALERTED);
	ck_assert_int_eq(out.det[1].flags[0], STORED_FLAGGED);
	ck_assert_int_eq(out.det[0].flags[1], 0);
	ck_assert_str_eq(out.labels_json, "{\"host\":\"a\"}");
	stored_series_release(&out);
	/* an empty range, an empty series, an unknown one */
	ck_assert_int_eq(st->backend->series_get(st, "j", "cpu", 0, 99999, &out, &found, &err), 0);
	ck_assert_uint_eq(out.n, 0);
	stored_series_release(&out);
	ck_assert_int_eq(st->backend->series_get(st, "j", "mem", INT64_MIN, INT64_MAX, &out, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_uint_eq(out.n, 0);
	stored_series_release(&out);
	ck_assert_int_eq(st->backend->series_get(st, "j", "disk", INT64_MIN, INT64_MAX, &out, &found, &err), 0);
	ck_assert_int_eq(found, 0);
	ck_assert_int_eq(st->backend->series_list(st, "j", &list, &err), 0);
	ck_assert_int_eq(json_array_size(list), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "n_points")), 1000);
	json_decref(list);

	/* an older run (a backfill) does not replace a newer run's series; a newer one replaces all */
	ck_assert_int_eq(st->backend->series_put(st, "j", 3, 1000, &in[1], 1, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM series_latest WHERE run_id = 7"), 2);
	ck_assert_int_eq(st->backend->series_put(st, "j", 9, 9000, &in[1], 1, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM series_latest"), 1);
	ck_assert_int_eq(scalar(path, "SELECT run_id FROM series_latest"), 9);
	stored_series_release(&in[0]);
	stored_series_release(&in[1]);
	store_close(st);
	free(path);
}
END_TEST

/* The windows around alerts outlive the latest run's series, until purged. */
START_TEST(test_kept_series)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = tmp_db();
	struct store *st = open_store(path);
	struct stored_series in[2], out, view;
	struct stored_detector *dets = NULL;
	int64_t purged = -1;
	int found = -1;

	fill_series(&in[0], "cpu", 1000, 100000);
	fill_series(&in[1], "cpu", 50, 10000000);
	for (size_t i = 0; i < 50; i++)
		in[1].det[0].flags[i] = in[1].det[1].flags[i] = 0;
	ck_assert_int_eq(st->backend->series_put(st, "j", 7, 5000, &in[0], 1, &err), 0);
	ck_assert_int_eq(st->backend->series_put(st, "j", 9, 9000, &in[1], 1, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM series_history"), 1);   /* run 9 had no alert */
	/* the range of run 7's alerts: the latest run has nothing there, the kept window has */
	ck_assert_int_eq(st->backend->series_get(st, "j", "cpu", 110000, 119000, &out, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(out.kept, 1);
	ck_assert_int_eq(out.run_id, 7);
	ck_assert_uint_eq(out.n, 10);
	ck_assert_int_eq(out.det[0].flags[0], STORED_FLAGGED | STORED_ALERTED);
	stored_series_release(&out);
	/* no range: the latest */
	ck_assert_int_eq(st->backend->series_get(st, "j", "cpu", INT64_MIN, INT64_MAX, &out, &found, &err), 0);
	ck_assert_int_eq(out.kept, 0);
	ck_assert_int_eq(out.run_id, 9);
	stored_series_release(&out);
	/* purged: the range finds the latest run's series, with no point in it */
	ck_assert_int_eq(st->backend->series_purge(st, 6000, &purged, &err), 0);
	ck_assert_int_eq(purged, 1);
	ck_assert_int_eq(st->backend->series_get(st, "j", "cpu", 110000, 119000, &out, &found, &err), 0);
	ck_assert_int_eq(found, 1);
	ck_assert_int_eq(out.kept, 0);
	ck_assert_uint_eq(out.n, 0);
	stored_series_release(&out);
	/* a backfill of older times keeps its window even though the latest series stay those of run 9 */
	ck_assert_int_eq(st->backend->series_put(st, "j", 5, 3000, &in[0], 1, &err), 0);
	ck_assert_int_eq(scalar(path, "SELECT count(*) FROM series_history WHERE run_id = 5"), 1);
	ck_assert_int_eq(scalar(path, "SELECT run_id FROM series_latest WHERE job = 'j'"), 9);
	ck_assert_int_eq(st->backend->series_get(st, "j", "cpu", 110000, 119000, &out, &found, &err), 0);
	ck_assert_int_eq(out.kept, 1);
	ck_assert_int_eq(out.run_id, 5);
	stored_series_release(&out);

	/* the window starts STORE_HISTORY_BEFORE_MS before the first alerting point */
	for (size_t i = 0; i < 1000; i++) {
		in[0].ts[i] = (int64_t)i * 60000;
		in[0].det[0].flags[i] = in[0].det[1].flags[i] = 0;
	}
	ck_assert_int_eq(stored_series_alert_window(&in[0], STORE_HISTORY_BEFORE_MS, &view, &dets), 0);
	in[0].det[1].flags[900] = STORED_FLAGGED;
	ck_assert_int_eq(stored_series_alert_window(&in[0], STORE_HISTORY_BEFORE_MS, &view, &dets), 0);
	in[0].det[0].flags[900] = STORED_FLAGGED | STORED_ALERTED;
	ck_assert_int_eq(stored_series_alert_window(&in[0], STORE_HISTORY_BEFORE_MS, &view, &dets), 1);
	ck_assert_uint_eq(view.n, 460);
	ck_assert_int_eq(view.ts[0], 540 * 60000);
	ck_assert(view.det[0].flags[360] == (STORED_FLAGGED | STORED_ALERTED));
	ck_assert(view.value[0] == in[0].value[540]);
	free(dets);
	stored_series_release(&in[0]);
	stored_series_release(&in[1]);
	store_close(st);
	free(path);
}
END_TEST

START_TEST(test_blob_corrupt)
{
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct stored_series in, out = { 0 };
	size_t len;
	unsigned char *blob;

	fill_series(&in, "x", 5, 0);
	blob = stored_series_encode(&in, &len);
	ck_assert_int_eq(stored_series_decode(&out, blob, len - 1, INT64_MIN, INT64_MAX, &err), -1);
	ck_assert_str_eq(err.msg, "stored series: corrupt blob");
	stored_series_release(&out);
	vigil_error_clear(&err);
	ck_assert_int_eq(stored_series_decode(&out, "VGS0", 4, INT64_MIN, INT64_MAX, &err), -1);
	ck_assert_str_eq(err.msg, "stored series: not a series blob");
	stored_series_release(&out);
	blob[4] ^= 1;
	vigil_error_clear(&err);
	ck_assert_int_eq(stored_series_decode(&out, blob, len, INT64_MIN, INT64_MAX, &err), -1);
	ck_assert_str_eq(err.msg, "stored series: written on a machine of another byte order");
	stored_series_release(&out);
	free(blob);
	stored_series_release(&in);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("claim");
	TCase *tc = tcase_create("claim");

	tcase_add_test(tc, test_claim_once_and_lease);
	tcase_add_test(tc, test_release_and_recover);
	tcase_add_test(tc, test_claim_race);
	tcase_add_test(tc, test_paging_and_listings);
	tcase_add_test(tc, test_stored_series);
	tcase_add_test(tc, test_kept_series);
	tcase_add_test(tc, test_blob_corrupt);
	suite_add_tcase(s, tc);
	return run_suite(s);
}

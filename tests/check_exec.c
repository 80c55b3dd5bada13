/*
 * check_exec.c - external detectors and plugin isolation against real
 * executables (tests/exec/) and real plugins (tests/plugins/crashy.c).
 *
 * Each misbehaving case runs a job of three series a, b, c where only b
 * triggers the misbehaviour, and checks: the recorded reason for b; a and c
 * scored (each has one 42, flagged "the answer"); no child left (waitpid
 * says ECHILD, no process runs the executable); no fd leaked.
 */
#include <dirent.h>
#include <math.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "detect.h"
#include "exec-detector.h"
#include "exec-proto.h"
#include "job.h"
#include "spec.h"
#include "testutil.h"
#include "timefmt.h"
#include "worker.h"

static char *csv_path;

static void setup(void)
{
	char *py = xasprintf("%s/plugins/python", srcdir());

	csv_path = write_temp("timestamp,a,b,c\n1,1,1,1\n2,42,42,2\n3,3,3,3\n4,4,4,42\n5,5,5,5\n", ".csv");
	setenv("VIGIL_PYTHON_DIR", py, 1);
	if (geteuid() == 0)
		setenv("VIGIL_EXEC_ALLOW_ROOT", "1", 1);
	free(py);
}

static void teardown(void)
{
	unlink(csv_path);
	free(csv_path);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* the directory's own fd */
}

/* Processes whose command line contains marker (zombies have none). */
static int count_procs(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d))) {
		char path[300], buf[4096];
		FILE *f;
		size_t len;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (size_t i = 0; i < len; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[len] = '\0';
		n += strstr(buf, marker) != NULL;
	}
	closedir(d);
	return n;
}

static void assert_no_children(const char *marker)
{
	int st;

	errno = 0;
	ck_assert_msg(waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD, "a child of the runner is left");
	/* Grandchildren killed with their group are reaped by init: give it a moment. */
	for (int i = 0; i < 100 && count_procs(marker); i++)
		usleep(10000);
	ck_assert_int_eq(count_procs(marker), 0);
}

static pid_t atoi_pid(const char *s)
{
	return (pid_t)strtol(s, NULL, 10);
}

static char *behave(void)
{
	return xasprintf("%s/tests/exec/behave.py", srcdir());
}

struct outcome {
	size_t n_failures;
	char reason[1024];
	char failed_series[64];
	size_t n_flagged;
	size_t n_alerts;
	int job_rc;
	char job_err[1024];
	double seconds;
};

/* Run a job of series a, b, c with one detector entry (JSON text) against reg. */
static void run_job(struct registry *reg, const char *entry, struct outcome *o)
{
	char *text = xasprintf("{\"name\": \"t\", \"source\": {\"type\": \"csv\", \"path\": \"%s\"}, "
	                       "\"detectors\": [%s]}", csv_path, entry);
	struct diag d;
	struct job_spec *spec;
	struct job_options opt = { .scheduled_ms = 0 };
	struct run_report rep;
	struct vigil_error err = VIGIL_ERROR_INIT;
	int64_t t0 = time_mono_ns();

	memset(o, 0, sizeof(*o));
	diag_init(&d, "spec.json");
	spec = spec_parse(text, "/tmp", reg, &d);
	ck_assert_msg(spec != NULL, "spec invalid: %s", d.n ? d.msgs[0] : "?");
	diag_release(&d);
	o->job_rc = job_run(spec, &opt, &rep, &err);
	snprintf(o->job_err, sizeof(o->job_err), "%s", err.msg);
	o->n_failures = rep.n_failures;
	if (rep.n_failures) {
		snprintf(o->reason, sizeof(o->reason), "%s", rep.failures[0].reason);
		snprintf(o->failed_series, sizeof(o->failed_series), "%s", rep.failures[0].series);
	}
	o->n_flagged = rep.n_flagged;
	o->n_alerts = rep.n_alerts;
	o->seconds = (double)(time_mono_ns() - t0) / 1e9;
	run_report_release(&rep);
	spec_free(spec);
	free(text);
}

/* A misbehaviour on b: the reason is recorded, a and c are scored, nothing is left. */
static void check_mode(const char *mode, const char *limits, const char *lifecycle, const char *want)
{
	char *exe = behave();
	int fds = count_fds();
	struct registry *reg = registry_new();
	char *entry = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\", \"args\": [\"%s\"], "
	                        "\"lifecycle\": \"%s\", \"env\": {\"PYTHONPATH\": \"${env:VIGIL_PYTHON_DIR}\"}, "
	                        "\"limits\": %s}}", exe, mode, lifecycle, limits);
	struct outcome o;

	run_job(reg, entry, &o);
	ck_assert_int_eq(o.job_rc, 0);
	if (want) {
		ck_assert_msg(o.n_failures == 1, "mode %s: %zu failures", mode, o.n_failures);
		ck_assert_str_eq(o.failed_series, "b");
		ck_assert_msg(strstr(o.reason, want), "mode %s: reason '%s', expected '%s'", mode, o.reason, want);
		ck_assert_msg(!strncmp(o.reason, "detector 'magic': ", 18), "reason '%s'", o.reason);
		ck_assert_int_eq(o.n_flagged, 2);
	} else {
		ck_assert_msg(o.n_failures == 0, "mode %s: %s", mode, o.reason);
		ck_assert_int_eq(o.n_flagged, 3);
	}
	registry_free(reg);
	assert_no_children(exe);
	ck_assert_int_eq(count_fds(), fds);
	free(entry);
	free(exe);
}

#define FAST "{\"timeout\": \"1s\", \"grace\": \"300ms\"}"
/* For the modes where the timeout is not the point: a loaded machine (or valgrind) may take seconds. */
#define CALM "{\"timeout\": \"60s\", \"grace\": \"300ms\"}"

START_TEST(test_good_python) { check_mode("good", CALM, "persistent", NULL); } END_TEST
START_TEST(test_good_python_oneshot) { check_mode("good", CALM, "oneshot", NULL); } END_TEST
START_TEST(test_slow_start) { check_mode("slow-start", "{\"timeout\": \"5s\"}", "persistent", NULL); } END_TEST
START_TEST(test_hang) { check_mode("hang", FAST, "persistent", "timed out after 1s; stopped with SIGTERM"); } END_TEST
START_TEST(test_sleep) { check_mode("sleep", FAST, "persistent", "timed out after 1s; stopped with SIGTERM"); } END_TEST
START_TEST(test_crash_mid)
{
	check_mode("crash-mid", CALM, "persistent", "crashed: killed by signal 11 (SIGSEGV)");
}
END_TEST
START_TEST(test_garbage) { check_mode("garbage", CALM, "persistent", "malformed response: not a JSON object"); } END_TEST
/* One-shot: a garbage answer is the reason, at once; the process is not awaited until the timeout. */
START_TEST(test_garbage_oneshot)
{
	/* 5 s: a process per series, and Python starts slowly on a loaded machine. */
	check_mode("garbage", "{\"timeout\": \"5s\", \"grace\": \"300ms\"}", "oneshot",
	           "malformed response: not a JSON object");
	check_mode("garbage-stay", "{\"timeout\": \"5s\", \"grace\": \"300ms\"}", "oneshot",
	           "malformed response: not a JSON object");
}
END_TEST
START_TEST(test_huge)
{
	check_mode("huge", CALM, "persistent", "response larger than 1049856 bytes (the output limit)");
}
END_TEST
START_TEST(test_close_stdout)
{
	check_mode("close-stdout", CALM, "persistent",
	           "closed its stdout without a complete response; stopped with SIGTERM");
}
END_TEST
START_TEST(test_exit_nonzero)
{
	check_mode("exit-nonzero", CALM, "persistent", "without a complete response; exited with status 3");
	check_mode("exit-nonzero", CALM, "oneshot", "without a complete response; exited with status 3");
}
END_TEST
START_TEST(test_fork_child)
{
	check_mode("fork-child", CALM, "persistent", "ended without a complete response; exited with status 0");
	check_mode("fork-child", CALM, "oneshot", "ended without a complete response; exited with status 0");
}
END_TEST
START_TEST(test_wrong_id) { check_mode("wrong-id", CALM, "persistent", "response has id 1002, expected 2"); } END_TEST
START_TEST(test_ignore_term)
{
	check_mode("ignore-term", FAST, "persistent",
	           "timed out after 1s; killed with SIGKILL after ignoring SIGTERM for 300 ms");
}
END_TEST
START_TEST(test_detector_error) { check_mode("error", CALM, "persistent", "detector 'magic': cannot score series b"); } END_TEST

START_TEST(test_shell_detector)
{
	char *exe = xasprintf("%s/tests/exec/good.sh", srcdir());
	char *entry = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\"}}", exe);
	struct registry *reg = registry_new();
	struct outcome o;

	run_job(reg, entry, &o);
	ck_assert_int_eq(o.n_failures, 0);
	ck_assert_int_eq(o.n_flagged, 3);
	registry_free(reg);
	assert_no_children(exe);
	free(entry);
	free(exe);
}
END_TEST

/* A persistent worker serves every series: one process, started once. */
START_TEST(test_persistent_reuse)
{
	char *exe = behave();
	struct diag d;
	struct registry *reg = registry_new();
	json_t *exec = json_pack("{s:s, s:[s], s:{s:s}}", "path", exe, "args", "good", "env", "PYTHONPATH",
	                         getenv("VIGIL_PYTHON_DIR"));
	const struct detector_entry *e;
	struct detect_context ctx = { .job = "j", .run_id = 7, .entry_id = "m", .isolate = -1 };
	struct detector_instance *inst;
	struct vigil_error err = VIGIL_ERROR_INIT;
	struct series *s = series_new("s");
	struct detection det;

	diag_init(&d, "x");
	e = exec_spec_entry(reg, exec, "magic", "/tmp", &d, "$.exec");
	ck_assert_msg(e != NULL, "%s", d.n ? d.msgs[0] : "");
	ck_assert_str_eq(e->d.summary, "flags 42");
	ck_assert_ptr_nonnull(json_object_get(e->schema, "a"));
	inst = detector_instance_new_ctx(e, NULL, &ctx, &err);
	ck_assert_ptr_nonnull(inst);
	ck_assert_str_eq(inst->params_json, "{\"a\":0}");
	series_append(s, 1000, 42);
	series_append(s, 2000, NAN);
	series_append(s, 3000, INFINITY);
	for (int i = 0; i < 20; i++) {
		ck_assert_msg(detection_run(inst, s, &det, &err) == 0, "%s", err.msg);
		ck_assert(det.r.anomaly[0] && !det.r.anomaly[1] && !det.r.anomaly[2]);
		ck_assert_str_eq(detection_reason(&det, 0), "the answer");
		detection_release(&det);
	}
	ck_assert_int_eq(count_procs(exe), 1);
	detector_instance_free(inst);
	series_free(s);
	json_decref(exec);
	diag_release(&d);
	registry_free(reg);
	assert_no_children(exe);
	free(exe);
}
END_TEST

/* Replacing the executable with rename() takes effect for the next request; the old worker is retired. */
START_TEST(test_hot_replace)
{
	char *dir = xasprintf("%s/vigil-hot-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	char *exe, *tmp, *entry;
	struct registry *reg = registry_new();
	struct outcome o;
	FILE *f;
	static const char *const script =
		"#!/bin/sh\nwhile IFS= read -r l; do id=$(printf '%%s' \"$l\" | sed -n 's/.*\"id\":\\([0-9]*\\).*/\\1/p');"
		" case $l in *describe*) echo '{\"id\":'$id',\"detectors\":[{\"name\":\"magic\"}]}';;"
		" *) echo '{\"id\":'$id',\"scores\":[0,0,0,0,0],\"anomalies\":[{\"index\":0,\"reason\":\"%s\"}]}';; esac; done\n";

	ck_assert_ptr_nonnull(mkdtemp(dir));
	exe = xasprintf("%s/det.sh", dir);
	tmp = xasprintf("%s/.det.sh.tmp", dir);
	f = fopen(exe, "w");
	fprintf(f, script, "version one");
	fclose(f);
	chmod(exe, 0755);
	entry = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\"}}", exe);
	run_job(reg, entry, &o);
	ck_assert_int_eq(o.n_flagged, 3);
	ck_assert_int_eq(count_procs(exe), 1);    /* the persistent worker waits for the next run */

	/* Deploy the new version atomically: write aside, then rename over. */
	f = fopen(tmp, "w");
	fprintf(f, script, "version two");
	fclose(f);
	chmod(tmp, 0755);
	ck_assert_int_eq(rename(tmp, exe), 0);
	usleep(150000);
	{
		struct detector_instance *inst;
		struct detect_context ctx = { .job = "t", .isolate = -1 };
		struct vigil_error err = VIGIL_ERROR_INIT;
		struct series *s = series_new("a");
		struct detection det;
		struct diag d;
		json_t *exec = json_pack("{s:s}", "path", exe);
		const struct detector_entry *e;

		diag_init(&d, "x");
		e = exec_spec_entry(reg, exec, "magic", "/tmp", &d, "$.exec");
		ck_assert_ptr_nonnull(e);
		inst = detector_instance_new_ctx(e, NULL, &ctx, &err);
		for (int i = 0; i < 5; i++)
			series_append(s, i, i);
		ck_assert_msg(detection_run(inst, s, &det, &err) == 0, "%s", err.msg);
		ck_assert_str_eq(detection_reason(&det, 0), "version two");
		detection_release(&det);
		detector_instance_free(inst);
		series_free(s);
		json_decref(exec);
		diag_release(&d);
	}
	registry_free(reg);
	assert_no_children(exe);
	unlink(exe);
	rmdir(dir);
	free(entry);
	free(tmp);
	free(exe);
	free(dir);
}
END_TEST

/* A persistent worker found dead between requests is replaced without failing a series. */
START_TEST(test_dead_worker_restarted)
{
	struct worker_recipe r;
	struct worker_pool *pool;
	struct vigil_error err = VIGIL_ERROR_INIT;
	pid_t pids[4];

	memset(&r, 0, sizeof(r));
	r.path = xstrdup("/bin/sh");
	r.argv = xcalloc(4, sizeof(char *));
	r.argv[0] = xstrdup("sh");
	r.argv[1] = xstrdup("-c");
	r.argv[2] = xstrdup("while read l; do echo \"$$ $l\"; done");
	r.child_flags = CHILD_ALLOW_ROOT;
	r.lifecycle = WORKER_PERSISTENT;
	r.grace_ms = 100;
	r.err_max = 1024;
	r.done = worker_done_line;
	pool = worker_pool_new(&r);
	for (int i = 0; i < 3; i++) {
		struct worker_call call = WORKER_CALL_INIT;

		ck_assert_msg(worker_pool_call(pool, "x\n", 2, 2000, 1000, &call, &err) == 0, "%s", err.msg);
		ck_assert_int_eq(worker_pool_pids(pool, pids, 4), 1);
		ck_assert_int_eq(call.started, i != 2);   /* started for the first call, and after the kill */
		ck_assert_int_eq(atoi_pid(call.out.buf), pids[0]);
		worker_call_release(&call);
		if (i == 0) {
			kill(pids[0], SIGKILL);
			usleep(50000);
		}
		if (i == 1)
			ck_assert_int_eq(worker_pool_size(pool), 1);
	}
	worker_pool_free(pool);
	errno = 0;
	ck_assert(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
}
END_TEST

/* registry_stale: a plugin replaced in a searched directory is noticed. */
START_TEST(test_registry_stale)
{
	char *dir = xasprintf("%s/vigil-stale-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	char *src = xasprintf("%s/crash.so", getenv("VIGIL_TEST_PLUGINS") ? getenv("VIGIL_TEST_PLUGINS")
	                      : "tests/plugins/.libs");
	char *dst, *tmp, *cmd;
	struct registry *reg = registry_new();

	ck_assert_ptr_nonnull(mkdtemp(dir));
	dst = xasprintf("%s/crash.so", dir);
	tmp = xasprintf("%s/.crash.so.tmp", dir);
	cmd = xasprintf("cp '%s' '%s' && cp '%s' '%s'", src, dst, src, tmp);
	ck_assert_int_eq(system(cmd), 0);
	registry_load_dir(reg, dir);
	ck_assert_ptr_nonnull(registry_find(reg, "crash-segv"));
	ck_assert_int_eq(registry_stale(reg), 0);
	ck_assert_int_eq(rename(tmp, dst), 0);      /* the atomic deploy of a new build */
	ck_assert_int_eq(registry_stale(reg), 1);
	registry_free(reg);
	unlink(dst);
	rmdir(dir);
	free(cmd);
	free(tmp);
	free(dst);
	free(src);
	free(dir);
}
END_TEST

static void spec_errors(const char *entry, struct diag *d)
{
	char *text = xasprintf("{\"name\": \"t\", \"source\": {\"type\": \"csv\", \"path\": \"x.csv\"}, "
	                       "\"detectors\": [%s]}", entry);
	struct registry *reg = registry_new();
	struct job_spec *spec;

	diag_init(d, "spec.json");
	spec = spec_parse(text, "/tmp", reg, d);
	ck_assert_ptr_null(spec);
	registry_free(reg);
	free(text);
}

static void expect_msg(const struct diag *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->msgs[i], want))
			return;
	ck_abort_msg("no message '%s' among %zu: %s", want, d->n, d->n ? d->msgs[0] : "");
}

START_TEST(test_spec_errors)
{
	char *exe = behave();
	char *e;
	struct diag d;

	spec_errors("{\"detector\": \"magic\", \"exec\": {\"paht\": \"x\"}}", &d);
	expect_msg(&d, "spec.json: $.detectors[0].exec.paht: unknown key in an exec object (did you mean 'path'?)");
	expect_msg(&d, "spec.json: $.detectors[0].exec.path: is required");
	diag_release(&d);

	spec_errors("{\"detector\": \"magic\", \"exec\": {\"path\": \"no-such-detector\", \"lifecycle\": \"forever\", "
	            "\"limits\": {\"timeout\": 5, \"memroy_mb\": 1}}}", &d);
	expect_msg(&d, "$.detectors[0].exec.path: executable 'no-such-detector' not found in the detector directories");
	expect_msg(&d, "$.detectors[0].exec.lifecycle: must be \"persistent\" (default) or \"oneshot\"");
	expect_msg(&d, "$.detectors[0].exec.limits.timeout: must be a duration");
	expect_msg(&d, "$.detectors[0].exec.limits.memroy_mb: unknown key in limits (did you mean 'memory_mb'?)");
	diag_release(&d);

	e = xasprintf("{\"detector\": \"magik\", \"exec\": {\"path\": \"%s\", \"args\": [\"plain\"]}}", exe);
	spec_errors(e, &d);
	expect_msg(&d, "$.detectors[0].detector: '");
	expect_msg(&d, "does not offer detector 'magik' (did you mean 'magic'?); it offers: magic");
	diag_release(&d);
	free(e);

	/* Params are checked against the schema from describe, before any run. */
	e = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\", \"args\": [\"plain\"]}, "
	              "\"params\": {\"a\": \"x\", \"b\": 1}}", exe);
	spec_errors(e, &d);
	expect_msg(&d, "$.detectors[0].params.a: must be a number");
	expect_msg(&d, "$.detectors[0].params.b: unknown param");
	diag_release(&d);
	free(e);

	/* A describe that times out is reported at the exec object. */
	e = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\", \"args\": [\"slow-start\"], "
	              "\"limits\": {\"timeout\": \"500ms\", \"grace\": \"100ms\"}}}", exe);
	spec_errors(e, &d);
	expect_msg(&d, "$.detectors[0].exec: '");
	expect_msg(&d, "describe: timed out after 500ms; stopped with SIGTERM");
	diag_release(&d);
	free(e);

	e = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\", \"args\": [\"plain\"]}, \"isolation\": \"process\"}", exe);
	spec_errors(e, &d);
	expect_msg(&d, "$.detectors[0].isolation: an executable always runs in its own processes");
	diag_release(&d);
	free(e);
	assert_no_children(exe);
	free(exe);
}
END_TEST

/* As root, an executable runs only as another user or when root is explicitly allowed. */
/* Copy a file, giving the copy mode. */
static void copy_file(const char *from, const char *to, mode_t mode)
{
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	char buf[8192];
	size_t n;

	ck_assert_msg(in && out, "cannot copy '%s' to '%s'", from, to);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_int_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	ck_assert_int_eq(chmod(to, mode), 0);
}

START_TEST(test_root_policy)
{
	char *exe = behave();
	char *e, *shared_dir, *copy;
	struct diag d;
	struct registry *reg;
	struct outcome o;

	if (geteuid() != 0) {
		free(exe);
		return;     /* the policy is about root: nothing to check as another user */
	}
	unsetenv("VIGIL_EXEC_ALLOW_ROOT");
	e = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\", \"args\": [\"plain\"]}}", exe);
	spec_errors(e, &d);
	expect_msg(&d, "refusing to run '");
	expect_msg(&d, "as root: set a user for it");
	diag_release(&d);
	free(e);

	/*
	 * As nobody, from a copy nobody can reach: the checkout itself may sit
	 * in a directory only its owner can enter (a mktemp -d clone).
	 */
	shared_dir = xstrdup("/tmp/vigil-nobody-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(shared_dir));
	ck_assert_int_eq(chmod(shared_dir, 0755), 0);
	copy = xasprintf("%s/behave.py", shared_dir);
	copy_file(exe, copy, 0755);
	e = xasprintf("{\"detector\": \"magic\", \"exec\": {\"path\": \"%s\", \"args\": [\"whoami\"], "
	              "\"user\": \"nobody\"}}", copy);
	reg = registry_new();
	run_job(reg, e, &o);
	ck_assert_msg(o.n_failures == 0, "as nobody: %s", o.reason);
	ck_assert_int_eq(o.n_flagged, 3);
	registry_free(reg);
	free(e);
	assert_no_children(copy);
	unlink(copy);
	rmdir(shared_dir);
	free(copy);
	free(shared_dir);
	free(exe);
}
END_TEST

/* --- plugin isolation ---------------------------------------------------- */

static struct registry *crashy_registry(void)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = xasprintf("%s/crash.so", getenv("VIGIL_TEST_PLUGINS") ? getenv("VIGIL_TEST_PLUGINS")
	                       : "tests/plugins/.libs");

	ck_assert_msg(registry_load_file(reg, path, &err) == 0, "%s", err.msg);
	free(path);
	return reg;
}

static void check_plugin(const char *detector, const char *extra, const char *want)
{
	struct registry *reg = crashy_registry();
	int fds = count_fds();
	char *entry = xasprintf("{\"detector\": \"%s\"%s}", detector, extra);
	struct outcome o;

	ck_assert(registry_isolate_by_default(registry_find(reg, detector)));
	run_job(reg, entry, &o);
	ck_assert_msg(o.job_rc == 0, "%s", o.job_err);
	ck_assert_msg(o.n_failures == 1, "%s: %zu failures", detector, o.n_failures);
	ck_assert_str_eq(o.failed_series, "b");
	ck_assert_msg(strstr(o.reason, want) && !strncmp(o.reason, "detector '", 10), "%s: reason '%s'", detector,
	              o.reason);
	ck_assert_int_eq(o.n_flagged, 2);
	registry_free(reg);
	assert_no_children(getenv("VIGIL_PLUGIN_HOST") ? getenv("VIGIL_PLUGIN_HOST") : "vigil-plugin-host");
	ck_assert_int_eq(count_fds(), fds - 0);
	free(entry);
}

START_TEST(test_isolated_segv) { check_plugin("crash-segv", "", "crashed: killed by signal 11 (SIGSEGV)"); } END_TEST
START_TEST(test_isolated_abort) { check_plugin("crash-abort", "", "crashed: killed by signal 6 (SIGABRT)"); } END_TEST
START_TEST(test_isolated_spin)
{
	check_plugin("crash-spin", ", \"limits\": {\"timeout\": \"1s\", \"grace\": \"200ms\"}",
	             "timed out after 1s; stopped with SIGTERM");
}
END_TEST
START_TEST(test_isolated_leak)
{
#ifdef __SANITIZE_ADDRESS__
	/* ASan cannot run under RLIMIT_AS, so this build's workers have no memory limit to hit. */
	fprintf(stderr, "test_isolated_leak: not applicable to an ASan build (no RLIMIT_AS)\n");
	return;
#endif
	check_plugin("crash-leak", ", \"limits\": {\"memory_mb\": 256}", "detector 'crash-leak': out of memory");
}
END_TEST

/* Isolated and in-process runs of the same plugin give the same results. */
START_TEST(test_isolation_same_results)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	const struct detector_entry *e;
	struct detector_instance *in, *iso;
	struct detect_context c_in = { .job = "j", .isolate = 0 }, c_iso = { .job = "j", .isolate = 1 };
	struct series *s = series_new("s");
	struct detection d1, d2;
	json_t *params = json_pack("{s:i}", "window", 10);

	registry_add_default(reg, NULL, 0);
	e = registry_find(reg, "zscore");
	ck_assert_ptr_nonnull(e);
	ck_assert(!registry_isolate_by_default(e));
	for (int i = 0; i < 500; i++)
		series_append(s, i * 1000, i == 300 ? 90 : 10 + (i * 7919 % 13) * 0.5);
	series_add_label(s, "host", "web-1");
	in = detector_instance_new_ctx(e, params, &c_in, &err);
	iso = detector_instance_new_ctx(e, params, &c_iso, &err);
	ck_assert_msg(in && iso, "%s", err.msg);
	ck_assert_ptr_null(in->isolated);
	ck_assert_ptr_nonnull(iso->isolated);
	ck_assert_int_eq(detection_run(in, s, &d1, &err), 0);
	ck_assert_msg(detection_run(iso, s, &d2, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(d1.r.warmup, d2.r.warmup);
	ck_assert(d2.r.anomaly[300]);
	for (size_t i = 0; i < s->n; i++) {
		ck_assert(d1.r.score[i] == d2.r.score[i] && d1.r.anomaly[i] == d2.r.anomaly[i]);
		ck_assert(d1.r.expected[i] == d2.r.expected[i] || (isnan(d1.r.expected[i]) && isnan(d2.r.expected[i])));
	}
	ck_assert_str_eq(detection_reason(&d1, 300), detection_reason(&d2, 300));
	detection_release(&d1);
	detection_release(&d2);
	detector_instance_free(in);
	detector_instance_free(iso);
	json_decref(params);
	series_free(s);
	registry_free(reg);
	assert_no_children(getenv("VIGIL_PLUGIN_HOST") ? getenv("VIGIL_PLUGIN_HOST") : "vigil-plugin-host");
}
END_TEST

/* --- the protocol codec --------------------------------------------------- */

START_TEST(test_proto_numbers)
{
	static const double vals_[] = { 0, 1, -1, 40.9, 0.1, 1e-7, 123456.789, 3.141592653589793, 1e300,
	                                -2.5e-300, 9007199254740993.0, 0.30000000000000004, -0.05, 99.99 };
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < sizeof(vals_) / sizeof(vals_[0]); i++) {
		strbuf_reset(&sb);
		exec_proto_put_double(&sb, vals_[i]);
		ck_assert_msg(strtod(sb.buf, NULL) == vals_[i], "%.17g printed as %s", vals_[i], sb.buf);
	}
	strbuf_reset(&sb);
	exec_proto_put_double(&sb, 40.9);
	ck_assert_str_eq(sb.buf, "40.9");
	strbuf_reset(&sb);
	exec_proto_put_double(&sb, NAN);
	exec_proto_put_double(&sb, -INFINITY);
	ck_assert_str_eq(sb.buf, "null\"-inf\"");
	{
		/* A whole request is valid JSON that reads back to the series. */
		struct series *s = series_new("web \"1\"");
		struct exec_context ctx = { .job = "j", .run_id = 3, .entry_id = "e" };
		json_error_t jerr;
		json_t *req, *vals;

		series_add_label(s, "host", "w\x01");
		for (size_t i = 0; i < sizeof(vals_) / sizeof(vals_[0]); i++)
			series_append(s, (int64_t)i * 1000 - 5000, vals_[i]);
		series_append(s, 99000, NAN);
		strbuf_reset(&sb);
		exec_proto_detect_request(&sb, 42, "det", "{\"w\":3}", &ctx, s);
		ck_assert(sb.len && sb.buf[sb.len - 1] == '\n' && !memchr(sb.buf, '\n', sb.len - 1));
		req = json_loads(sb.buf, 0, &jerr);
		ck_assert_msg(req != NULL, "%s: %s", jerr.text, sb.buf);
		ck_assert_int_eq(json_integer_value(json_object_get(req, "id")), 42);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(req, "series"), "name")), "web \"1\"");
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(req, "context"), "run_id")), 3);
		vals = json_object_get(json_object_get(req, "series"), "values");
		ck_assert_int_eq(json_array_size(vals), s->n);
		for (size_t i = 0; i < sizeof(vals_) / sizeof(vals_[0]); i++)
			ck_assert(json_number_value(json_array_get(vals, i)) == vals_[i]);
		ck_assert(json_is_null(json_array_get(vals, s->n - 1)));
		ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(json_object_get(req, "series"), "ts"), 0)),
		                 -5000);
		json_decref(req);
		series_free(s);
	}
	strbuf_reset(&sb);
	exec_proto_put_string(&sb, "a\"b\\c\n\x01\xff\xc3\xa9");
	ck_assert_str_eq(sb.buf, "\"a\\\"b\\\\c\\u000a\\u0001\\ufffd\xc3\xa9\"");
	strbuf_release(&sb);
}
END_TEST

static int decode(const char *line, size_t n, struct detection *det, struct vigil_error *err)
{
	detection_init(det, n);
	return exec_proto_detect_response(line, strlen(line), 5, n, 1, det, err);
}

START_TEST(test_proto_responses)
{
	struct detection det;
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_int_eq(decode("{\"x\": {\"y\": [1, {\"z\": null}]}, \"id\": 5, \"scores\": [0.5, null, \"inf\"], "
	                        "\"anomalies\": [2, {\"index\": 1, \"reason\": \"caf\\u00e9 \\ud83d\\ude00\", "
	                        "\"expected\": 3.25, \"lower\": -1e2, \"upper\": 1E+2}], \"lower\": null}",
	                        3, &det, &err), 0);
	ck_assert(det.r.score[0] == 0.5 && isnan(det.r.score[1]) && isinf(det.r.score[2]));  /* NaN: policed to 0 later */
	ck_assert(det.r.anomaly[1] && det.r.anomaly[2] && !det.r.anomaly[0]);
	ck_assert(det.r.expected[1] == 3.25 && det.r.lower[1] == -100 && det.r.upper[1] == 100);
	ck_assert_str_eq(detection_reason(&det, 1), "caf\xc3\xa9 \xf0\x9f\x98\x80");
	ck_assert_int_eq(det.r.warmup, 1);          /* min_history when the response has none */
	ck_assert(isnan(det.r.rarity[1]));           /* no rarity: derived from the score later */
	detection_release(&det);
	/* the optional rarity: an array, overridden by an anomaly's own */
	ck_assert_int_eq(decode("{\"id\": 5, \"scores\": [0.1, 1, 1], \"rarity\": [0.05, 6.5, null], "
	                        "\"anomalies\": [1, {\"index\": 2, \"rarity\": 543.2}]}", 3, &det, &err), 0);
	ck_assert(det.r.rarity[0] == 0.05 && det.r.rarity[1] == 6.5 && det.r.rarity[2] == 543.2);
	ck_assert(detection_rarity(&det, 1) < detection_rarity(&det, 2));   /* a 5-sigma and a 50-sigma point differ */
	detection_release(&det);

#define BAD(line, n, want) do { \
		vigil_error_clear(&err); \
		ck_assert_int_eq(decode(line, n, &det, &err), -1); \
		ck_assert_msg(strstr(err.msg, want), "'%s': got '%s'", line, err.msg); \
		detection_release(&det); \
	} while (0)
	BAD("{\"id\": 5, \"scores\": [1, 2]}", 3, "'scores' has 2 values for a series of 3 points");
	BAD("{\"id\": 4, \"scores\": [1, 2, 3]}", 3, "response has id 4, expected 5");
	BAD("{\"scores\": [1, 2, 3]}", 3, "no \"id\"");
	BAD("{\"id\": 5, \"anomalies\": [3]}", 3, "anomaly index 3 is not a point of the series (0..2)");
	BAD("{\"id\": 5, \"anomalies\": [{\"reason\": \"x\"}]}", 3, "an anomaly has no \"index\"");
	BAD("{\"id\": 5, \"scores\": [1, 2, 3]} x", 3, "text after the JSON object");
	BAD("{\"id\": 5, \"scores\": [1, 2, tru]}", 3, "malformed response");
	BAD("{\"id\": 5, \"error\": {\"message\": \"bad\\nthing\", \"code\": 7}}", 3, "bad\\x0athing");
	BAD("[]", 3, "not a JSON object");
	BAD("{\"id\": 5, \"warmup\": -1}", 3, "\"warmup\" must be an integer >= 0");
	/* The numbers of an array, then a string that is not a number, then broken JSON: each names its place. */
	BAD("{\"id\": 5, \"scores\": [1, \"inf\", \"many\"]}", 3, "'scores'[2]: malformed response: a number was expected");
	BAD("{\"id\": 5, \"scores\": [1, 2 3]}", 3, "'scores'[2]: malformed response: invalid JSON at byte 26: '3' where "
	    "',' or ']' was expected");
	BAD("{\"id\": 5, \"scores\": [1, 2, 3], \"x\": [1e}", 3,
	    "malformed response: invalid JSON at byte 39: '}' where a digit was expected");
	BAD("{\"id\": 5, \"rarity\": [1, 2]}", 3, "'rarity' has 2 values for a series of 3 points");
#undef BAD
}
END_TEST

/* The pool itself: a one-shot worker must exit 0 after answering. */
START_TEST(test_worker_oneshot_exit)
{
	struct worker_recipe r;
	struct worker_pool *pool;
	struct worker_call call = WORKER_CALL_INIT;
	struct vigil_error err = VIGIL_ERROR_INIT;
	int fds = count_fds();

	memset(&r, 0, sizeof(r));
	r.path = xstrdup("/bin/sh");
	r.argv = xcalloc(4, sizeof(char *));
	r.argv[0] = xstrdup("sh");
	r.argv[1] = xstrdup("-c");
	r.argv[2] = xstrdup("read l; echo \"got $l\"; echo oops >&2; exit 4");
	r.child_flags = CHILD_ALLOW_ROOT;
	r.lifecycle = WORKER_ONESHOT;
	r.grace_ms = 100;
	r.err_max = 3;
	r.done = worker_done_line;
	pool = worker_pool_new(&r);
	ck_assert_int_eq(worker_pool_call(pool, "hi\n", 3, 2000, 1000, &call, &err), -1);
	ck_assert_str_eq(call.out.buf, "got hi\n");
	ck_assert_str_eq(err.msg, "answered but then exited with status 4");
	ck_assert_str_eq(strbuf_str(&call.err), "oop");   /* stderr is capped at err_max, the rest counted */
	ck_assert_int_eq(call.err_dropped, 2);
	worker_call_release(&call);
	worker_pool_free(pool);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/*
 * A worker that exits without reading a request larger than a pipe: the
 * write fails with EPIPE, and what it said on stderr before exiting is
 * still captured (it says why).  Repeated: the stderr and the failed write
 * race, in both lifecycles.
 */
START_TEST(test_worker_stderr_on_epipe)
{
	size_t len = 256 * 1024;
	char *req = xmalloc(len);
	int fds = count_fds();

	memset(req, 'x', len - 1);
	req[len - 1] = '\n';
	for (int lc = 0; lc < 2; lc++) {
		struct worker_recipe r;
		struct worker_pool *pool;

		memset(&r, 0, sizeof(r));
		r.path = xstrdup("/bin/sh");
		r.argv = xcalloc(4, sizeof(char *));
		r.argv[0] = xstrdup("sh");
		r.argv[1] = xstrdup("-c");
		r.argv[2] = xstrdup("echo 'refusing: no model loaded' >&2; exit 3");
		r.child_flags = CHILD_ALLOW_ROOT;
		r.lifecycle = lc ? WORKER_ONESHOT : WORKER_PERSISTENT;
		r.grace_ms = 100;
		r.err_max = 1024;
		r.done = worker_done_line;
		pool = worker_pool_new(&r);
		for (int i = 0; i < 20; i++) {
			struct worker_call call = WORKER_CALL_INIT;
			struct vigil_error err = VIGIL_ERROR_INIT;

			ck_assert_int_eq(worker_pool_call(pool, req, len, 5000, 1000, &call, &err), -1);
			ck_assert_msg(strstr(err.msg, "without reading the request; exited with status 3") ||
			              strstr(err.msg, "without a complete response; exited with status 3"), "%s", err.msg);
			ck_assert_msg(!strcmp(strbuf_str(&call.err), "refusing: no model loaded\n"),
			              "call %d (%s): stderr '%s' (%s)", i, lc ? "oneshot" : "persistent",
			              strbuf_str(&call.err), err.msg);
			worker_call_release(&call);
		}
		worker_pool_free(pool);
	}
	free(req);
	errno = 0;
	ck_assert(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_cannot_exec)
{
	struct child c = CHILD_INIT;
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *argv[] = { "x", NULL }, *env[] = { NULL };
	char *path = write_temp("not a program", ".bin");
	int fds = count_fds();

	chmod(path, 0755);
	c.path = path;
	c.argv = argv;
	c.env = env;
	c.flags = CHILD_ALLOW_ROOT;
	ck_assert_int_eq(child_start(&c, &err), -1);
	ck_assert_msg(strstr(err.msg, "cannot execute it: Exec format error"), "%s", err.msg);
	ck_assert_int_eq(c.pid, 0);
	ck_assert_int_eq(count_fds(), fds);
	errno = 0;
	ck_assert(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD);
	unlink(path);
	free(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("exec");
	TCase *tc = tcase_create("executables");
	TCase *ti = tcase_create("isolation");
	TCase *tp = tcase_create("protocol");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_good_python);
	tcase_add_test(tc, test_good_python_oneshot);
	tcase_add_test(tc, test_shell_detector);
	tcase_add_test(tc, test_slow_start);
	tcase_add_test(tc, test_hang);
	tcase_add_test(tc, test_sleep);
	tcase_add_test(tc, test_crash_mid);
	tcase_add_test(tc, test_garbage);
	tcase_add_test(tc, test_garbage_oneshot);
	tcase_add_test(tc, test_huge);
	tcase_add_test(tc, test_close_stdout);
	tcase_add_test(tc, test_exit_nonzero);
	tcase_add_test(tc, test_fork_child);
	tcase_add_test(tc, test_wrong_id);
	tcase_add_test(tc, test_ignore_term);
	tcase_add_test(tc, test_detector_error);
	tcase_add_test(tc, test_persistent_reuse);
	tcase_add_test(tc, test_hot_replace);
	tcase_add_test(tc, test_spec_errors);
	tcase_add_test(tc, test_root_policy);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ti, setup, teardown);
	tcase_set_timeout(ti, 60);
	tcase_add_test(ti, test_isolated_segv);
	tcase_add_test(ti, test_isolated_abort);
	tcase_add_test(ti, test_isolated_spin);
	tcase_add_test(ti, test_isolated_leak);
	tcase_add_test(ti, test_isolation_same_results);
	suite_add_tcase(s, ti);

	tcase_add_test(tp, test_proto_numbers);
	tcase_add_test(tp, test_proto_responses);
	tcase_add_test(tp, test_worker_oneshot_exit);
	tcase_add_test(tp, test_worker_stderr_on_epipe);
	tcase_add_test(tp, test_cannot_exec);
	tcase_add_test(tp, test_dead_worker_restarted);
	tcase_add_test(tp, test_registry_stale);
	suite_add_tcase(s, tp);
	return run_suite(s);
}

/*
 * check_plugin.c - the plugin loader against real tiny plugins
 * (tests/plugins/): good, wrong ABI, missing symbol, failing init, files
 * that are not regular files, garbage, duplicates.
 */
#include <errno.h>
#include <sys/stat.h>

#include "detect.h"
#include "diag.h"
#include "testutil.h"

static char *test_plugin(const char *name)
{
	const char *dir = getenv("VIGIL_TEST_PLUGINS");

	return xasprintf("%s/%s.so", dir ? dir : "tests/plugins/.libs", name);
}

static char *tmp_dir(void)
{
	char *dir = xasprintf("%s/vigil-plugins-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");

	ck_assert_ptr_nonnull(mkdtemp(dir));
	return dir;
}

static int load(struct registry *reg, const char *name, struct vigil_error *err)
{
	char *path = test_plugin(name);
	int rc = registry_load_file(reg, path, err);

	free(path);
	return rc;
}

START_TEST(test_good_plugin)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	const struct detector_entry *e;

	ck_assert_msg(load(reg, "test", &err) == 0, "%s", err.msg);
	ck_assert_int_eq(reg->n_plugins, 1);
	ck_assert_int_eq(reg->n_detectors, 2);
	e = registry_find(reg, "test-magic");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->d.version, "0.1");
	ck_assert_str_eq(reg->plugins[0]->desc.name, "test-good");
	ck_assert_ptr_nonnull(registry_find(reg, "test-fail"));
	ck_assert_ptr_null(registry_find(reg, "nope"));
	registry_free(reg);
}
END_TEST

START_TEST(test_plugin_check_and_detect)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	const struct detector_entry *e;
	struct detector_instance *inst;
	struct series *s = series_new("s");
	struct detection det;
	json_t *params = json_pack("{s:i, s:i}", "a", 5, "b", 1);
	struct diag d;

	ck_assert_int_eq(load(reg, "test", &err), 0);
	e = registry_find(reg, "test-magic");

	/* The detector's own check() reports through the host with a JSON path. */
	diag_init(&d, "job.json");
	ck_assert_int_eq(detector_check_params(e, params, &d, "$.detectors[0].params"), -1);
	ck_assert_int_eq(d.n, 1);
	ck_assert_str_eq(d.msgs[0], "job.json: $.detectors[0].params.a: must be below b");
	diag_release(&d);
	json_decref(params);

	inst = detector_instance_new(e, NULL, &err);
	ck_assert_ptr_nonnull(inst);
	series_append(s, 0, 1);
	series_append(s, 1000, 42);
	series_append(s, 2000, 3);
	ck_assert_int_eq(detection_run(inst, s, &det, &err), 0);
	ck_assert(det.r.anomaly[1] && !det.r.anomaly[0] && !det.r.anomaly[2]);
	ck_assert_str_eq(detection_reason(&det, 1), "the answer");
	detection_release(&det);
	detector_instance_free(inst);

	inst = detector_instance_new(registry_find(reg, "test-fail"), NULL, &err);
	ck_assert_int_eq(detection_run(inst, s, &det, &err), -1);
	ck_assert_str_eq(err.msg, "detector 'test-fail': refusing series 's' on purpose");
	detection_release(&det);
	detector_instance_free(inst);
	series_free(s);
	registry_free(reg);
}
END_TEST

START_TEST(test_wrong_abi)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *path = test_plugin("wrong_abi");
	char want[80];

	snprintf(want, sizeof(want), "built for ABI 2.0, this vigil has ABI %d.%d", VIGIL_ABI_MAJOR,
	         VIGIL_ABI_MINOR);
	ck_assert_int_eq(registry_load_file(reg, path, &err), -1);
	ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, want), "got %s", err.msg);
	ck_assert_int_eq(reg->n_plugins, 0);
	free(path);
	registry_free(reg);
}
END_TEST

START_TEST(test_missing_symbol)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_int_eq(load(reg, "no_symbol", &err), -1);
	ck_assert_msg(strstr(err.msg, "no_symbol.so': no 'vigil_plugin' symbol"), "got %s", err.msg);
	registry_free(reg);
}
END_TEST

START_TEST(test_failing_init_is_unwound)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;

	ck_assert_int_eq(load(reg, "failing_init", &err), -1);
	ck_assert_msg(strstr(err.msg, "failing_init.so': init failed"), "got %s", err.msg);
	ck_assert_int_eq(reg->n_detectors, 0);
	ck_assert_ptr_null(registry_find(reg, "failing_init"));
	ck_assert_int_eq(reg->n_plugins, 0);
	registry_free(reg);
}
END_TEST

START_TEST(test_not_regular_files)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *dir = tmp_dir();
	char *sub = xasprintf("%s/dir.so", dir), *fifo = xasprintf("%s/fifo.so", dir);
	char *dangling = xasprintf("%s/dangling.so", dir), *garbage = xasprintf("%s/garbage.so", dir);
	char *link = xasprintf("%s/test.so", dir), *good = test_plugin("test");
	FILE *f;

	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(registry_load_file(reg, sub, &err), -1);
	ck_assert_msg(strstr(err.msg, "dir.so': not a regular file"), "got %s", err.msg);

	vigil_error_clear(&err);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	ck_assert_int_eq(registry_load_file(reg, fifo, &err), -1);
	ck_assert_msg(strstr(err.msg, "fifo.so': not a regular file"), "got %s", err.msg);

	vigil_error_clear(&err);
	ck_assert_int_eq(symlink("/nonexistent/x.so", dangling), 0);
	ck_assert_int_eq(registry_load_file(reg, dangling, &err), -1);
	ck_assert_msg(strstr(err.msg, "dangling symlink"), "got %s", err.msg);

	vigil_error_clear(&err);
	f = fopen(garbage, "w");
	fputs("this is not an ELF file\n", f);
	fclose(f);
	ck_assert_int_eq(registry_load_file(reg, garbage, &err), -1);
	ck_assert_msg(strstr(err.msg, "garbage.so': cannot load"), "got %s", err.msg);

	/* A symlink to a good plugin is fine. */
	vigil_error_clear(&err);
	ck_assert_int_eq(symlink(good, link), 0);
	ck_assert_msg(registry_load_file(reg, link, &err) == 0, "%s", err.msg);
	ck_assert_ptr_nonnull(registry_find(reg, "test-magic"));

	unlink(link);
	unlink(garbage);
	unlink(dangling);
	unlink(fifo);
	rmdir(sub);
	rmdir(dir);
	free(link);
	free(good);
	free(garbage);
	free(dangling);
	free(fifo);
	free(sub);
	free(dir);
	registry_free(reg);
}
END_TEST

/* A directory mixing good and bad plugins: the good ones load, each bad one is listed. */
START_TEST(test_load_dir_keeps_going)
{
	struct registry *reg = registry_new();
	char *dir = tmp_dir();
	static const char *const names[] = { "test", "wrong_abi", "no_symbol", "failing_init" };
	char *paths[4];

	for (int i = 0; i < 4; i++) {
		char *src = test_plugin(names[i]);

		paths[i] = xasprintf("%s/%s.so", dir, names[i]);
		ck_assert_int_eq(symlink(src, paths[i]), 0);
		free(src);
	}
	registry_load_dir(reg, dir);
	ck_assert_int_eq(reg->n_plugins, 1);
	ck_assert_int_eq(reg->n_detectors, 2);
	ck_assert_int_eq(reg->n_refused, 3);
	/* Loading the same directory again: the detectors are not duplicated. */
	registry_load_dir(reg, dir);
	ck_assert_int_eq(reg->n_detectors, 2);
	for (int i = 0; i < 4; i++) {
		unlink(paths[i]);
		free(paths[i]);
	}
	rmdir(dir);
	free(dir);
	registry_free(reg);
}
END_TEST

START_TEST(test_search_path_order)
{
	struct registry *reg = registry_new();
	const char *dirs[] = { "/nonexistent-a" };

	/* The built-ins come from VIGIL_PLUGIN_PATH; a missing --plugin-dir is not an error. */
	registry_add_default(reg, dirs, 1);
	ck_assert_ptr_nonnull(registry_find(reg, "mad"));
	ck_assert_ptr_nonnull(registry_find(reg, "zscore"));
	ck_assert_ptr_nonnull(registry_find(reg, "threshold"));
	ck_assert_int_eq(reg->n_refused, 0);
	registry_free(reg);
}
END_TEST

/* link NAME.so in dir to the test plugin file src; returns the link's path. */
static char *link_as(const char *dir, const char *name, const char *src)
{
	char *from = test_plugin(src), *path = xasprintf("%s/%s.so", dir, name);

	ck_assert_int_eq(symlink(from, path), 0);
	free(from);
	return path;
}

/* Lazy loading (issue 14, item 7): a name loads its own file only; listing names loads all. */
START_TEST(test_loaded_on_demand)
{
	struct registry *reg = registry_new();
	char *dir = tmp_dir();
	char *a = link_as(dir, "test", "test"), *b = link_as(dir, "wrong_abi", "wrong_abi");
	char *c = link_as(dir, "test-slow", "test-slow");
	const char **names;
	size_t n;

	registry_add_dir(reg, dir);
	ck_assert_int_eq(reg->n_plugins, 0);
	ck_assert_ptr_null(registry_find(reg, "test"));         /* test.so is tried, has no "test" */
	ck_assert_int_eq(reg->n_plugins, 1);
	ck_assert_ptr_nonnull(registry_find(reg, "test-fail")); /* test-fail.so does not exist: test.so has it */
	ck_assert_ptr_nonnull(registry_find(reg, "test-slow")); /* its own file, before test.so */
	ck_assert_str_eq(registry_find(reg, "test-slow")->plugin->path, c);
	ck_assert_int_eq(reg->n_plugins, 2);
	ck_assert_ptr_null(registry_find(reg, "nope"));
	ck_assert_ptr_null(registry_find(reg, "../test"));       /* not a name: no file is looked for */
	ck_assert_int_eq(reg->n_plugins, 2);
	ck_assert_int_eq(reg->n_refused, 0);                     /* wrong_abi.so was never opened */
	names = registry_names(reg, &n);                         /* every file, for an unknown name's message */
	ck_assert_int_eq(reg->n_refused, 1);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(names[0], "test-fail");
	ck_assert_str_eq(names[1], "test-magic");
	ck_assert_str_eq(names[2], "test-slow");
	free(names);
	registry_load_all(reg);                                  /* each file is tried once */
	ck_assert_int_eq(reg->n_refused, 1);
	unlink(a);
	unlink(b);
	unlink(c);
	free(a);
	free(b);
	free(c);
	rmdir(dir);
	free(dir);
	registry_free(reg);
}
END_TEST

/* A file may register only names that fit its own: others could never be found. */
START_TEST(test_name_must_fit_file)
{
	struct registry *reg = registry_new();
	struct vigil_error err = VIGIL_ERROR_INIT;
	char *dir = tmp_dir();
	char *a = link_as(dir, "other", "test"), *b = link_as(dir, "test-magic", "test");

	ck_assert_int_eq(registry_load_file(reg, a, &err), -1);  /* test-magic, test-fail in other.so */
	ck_assert_msg(strstr(err.msg, "other.so': init failed"), "got %s", err.msg);
	vigil_error_clear(&err);
	ck_assert_int_eq(registry_load_file(reg, b, &err), -1);  /* test-fail in test-magic.so */
	ck_assert_int_eq(reg->n_detectors, 0);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
	rmdir(dir);
	free(dir);
	registry_free(reg);
}
END_TEST

static Suite *plugin_suite(void)
{
	Suite *s = suite_create("plugin");
	TCase *tc = tcase_create("plugin");

	tcase_add_test(tc, test_good_plugin);
	tcase_add_test(tc, test_plugin_check_and_detect);
	tcase_add_test(tc, test_wrong_abi);
	tcase_add_test(tc, test_missing_symbol);
	tcase_add_test(tc, test_failing_init_is_unwound);
	tcase_add_test(tc, test_not_regular_files);
	tcase_add_test(tc, test_load_dir_keeps_going);
	tcase_add_test(tc, test_search_path_order);
	tcase_add_test(tc, test_loaded_on_demand);
	tcase_add_test(tc, test_name_must_fit_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(plugin_suite());
}

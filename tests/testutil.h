/* testutil.h - helpers shared by the Check unit tests. */
#ifndef VIGIL_TESTUTIL_H
#define VIGIL_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugin.h"
#include "xmalloc.h"

/* The source tree (tests run from the build tree). */
static inline const char *srcdir(void)
{
	const char *s = getenv("top_srcdir");

	return s ? s : ".";
}

/* A registry with the built-in detectors (VIGIL_PLUGIN_PATH is set by make check). */
static inline struct registry *test_registry(void)
{
	struct registry *reg = registry_new();

	registry_add_default(reg, NULL, 0);
	if (!registry_find(reg, "zscore") || !registry_find(reg, "mad")) {
		fprintf(stderr, "built-in detectors not found; is VIGIL_PLUGIN_PATH set?\n");
		exit(EXIT_FAILURE);
	}
	return reg;
}

/* Write text to a new temp file; returns its path (free it, unlink it). */
static inline char *write_temp(const char *text, const char *suffix)
{
	char *path = xasprintf("%s/vigil-test-XXXXXX%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	size_t len = strlen(text);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

/* Run a suite; the exit status for automake. */
static inline int run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

/*
 * dbutil.h - looking into an SQLite store from the tests: a fresh store path
 * and one-value queries run on their own connection (what another process
 * would see).
 */
#ifndef VIGIL_TESTS_DBUTIL_H
#define VIGIL_TESTS_DBUTIL_H

#include <sqlite3.h>
#include <stdlib.h>

#include "testutil.h"

/* A new empty directory's vigil.db (free the path). */
static inline char *tmp_db(void)
{
	char *dir = xasprintf("%s/vigil-db-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	char *path;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/vigil.db", dir);
	free(dir);
	return path;
}

/* The first column of the first row of sql as an integer, or -1 when there is no row. */
static inline long long scalar(const char *db_path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long v = -1;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* The same as text (free it), or NULL when there is no row or it is NULL. */
static inline char *text(const char *db_path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *v = NULL;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		v = xstrdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

#endif

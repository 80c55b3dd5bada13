/*
 * dbutil.h - looking into a store from the tests: a fresh store and
 * one-value queries run on their own connection (what another process would
 * see).  The store is an SQLite file, or, when VIGIL_TEST_PG holds a
 * PostgreSQL URI (tests/store-pg.sh sets it after starting a throwaway
 * server), a new database on that server: the same tests then check the
 * PostgreSQL backend.  Queries used here must be valid in both dialects.
 */
#ifndef VIGIL_TESTS_DBUTIL_H
#define VIGIL_TESTS_DBUTIL_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "testutil.h"

/* 1 when the tests run against PostgreSQL. */
static inline int test_pg(void)
{
	const char *url = getenv("VIGIL_TEST_PG");

	return url && *url;
}

static inline int is_pg_target(const char *target)
{
	return !strncmp(target, "postgresql://", 13);
}

/* Run sql on its own connection to the store; no result expected. */
static inline void db_exec(const char *target, const char *sql)
{
	if (is_pg_target(target)) {
		PGconn *c = PQconnectdb(target);
		PGresult *r;

		ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
		r = PQexec(c, sql);
		ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql,
		              PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;

		ck_assert_int_eq(sqlite3_open(target, &db), SQLITE_OK);
		ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
		sqlite3_close(db);
	}
}

/* A new empty store: an SQLite file in a new directory, or a new PostgreSQL database (free the string). */
static inline char *tmp_db(void)
{
	static int n;
	char *dir, *path;

	if (test_pg()) {
		const char *base = getenv("VIGIL_TEST_PG");
		char *name = xasprintf("vt_%ld_%d", (long)getpid(), ++n), *sql = xasprintf("CREATE DATABASE %s", name);
		const char *slash = strrchr(base, '/');

		db_exec(base, sql);
		path = xasprintf("%.*s/%s", (int)(slash - base), base, name);
		free(sql);
		free(name);
		return path;
	}
	dir = xasprintf("%s/vigil-db-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	path = xasprintf("%s/vigil.db", dir);
	free(dir);
	return path;
}

/* The first column of the first row of sql as text (free it), or NULL when there is no row or it is NULL. */
static inline char *text(const char *target, const char *sql)
{
	char *v = NULL;

	if (is_pg_target(target)) {
		PGconn *c = PQconnectdb(target);
		PGresult *r;

		ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
		r = PQexec(c, sql);
		ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
		if (PQntuples(r) && !PQgetisnull(r, 0, 0))
			v = xstrdup(PQgetvalue(r, 0, 0));
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;
		sqlite3_stmt *st;

		ck_assert_int_eq(sqlite3_open(target, &db), SQLITE_OK);
		ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
			v = xstrdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	return v;
}

/* The same as an integer, or -1 when there is no row (NULL reads as 0). */
static inline long long scalar(const char *target, const char *sql)
{
	long long v = -1;

	if (is_pg_target(target)) {
		char *t = text(target, sql);
		PGconn *c;
		PGresult *r;

		if (t) {
			v = strtoll(t, NULL, 10);
			free(t);
			return v;
		}
		/* no row, or NULL: tell them apart */
		c = PQconnectdb(target);
		r = PQexec(c, sql);
		v = PQntuples(r) ? 0 : -1;
		PQclear(r);
		PQfinish(c);
	} else {
		sqlite3 *db;
		sqlite3_stmt *st;

		ck_assert_int_eq(sqlite3_open(target, &db), SQLITE_OK);
		ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
	return v;
}

#endif

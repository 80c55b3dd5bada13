/*
 * source-sql.c - series from SQL: SQLite files and PostgreSQL (libpq).
 *
 * The user's query returns rows of (time, value[, label columns...]); the
 * job's window reaches it as bound parameters only ($1/$2 in PostgreSQL,
 * ?1/?2 or :from/:to in SQLite), never spliced into the text.  Time may be
 * a timestamp, ISO-8601 text, or unix seconds/milliseconds as a number; a
 * NULL value is a missing point.  Each distinct set of label values is a
 * series.  PostgreSQL rows are streamed (single-row mode), so a large
 * answer is never held twice; connection strings may be secret references.
 */
#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "log.h"
#include "secret.h"
#include "srcpath.h"
#include "series-map.h"
#include "source.h"
#include "strbuf.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define SQL_DEFAULT_MAX_ROWS 50000000LL
#define SQL_DEFAULT_TIMEOUT_MS 60000
#define SQL_MAX_LABEL_COLUMNS 64

static const char *const sqlite_keys[] = {
	"path", "query", "time_format", "window_format", "max_rows", "timeout", NULL,
};
static const char *const pg_keys[] = {
	"connection", "query", "time_format", "window_format", "max_rows", "timeout", NULL,
};
static const char *const time_formats[] = { "auto", "iso8601", "unix", "unix_ms", NULL };
static const char *const window_formats[] = { "iso8601", "unix", "unix_ms", NULL };

enum window_format { WIN_ISO, WIN_UNIX, WIN_UNIX_MS };

static int enum_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static void check_enum(const json_t *cfg, const char *key, const char *const *names, struct diag *d,
                       const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX];
	struct strbuf list = STRBUF_INIT;

	if (!v || (json_is_string(v) && enum_index(names, json_string_value(v)) >= 0))
		return;
	jpath_key(sub, sizeof(sub), path, key);
	for (int i = 0; names[i]; i++)
		strbuf_addf(&list, "%s%s", i ? ", " : "", names[i]);
	diag_add(d, sub, "must be one of %s", list.buf);
	strbuf_release(&list);
}

static void check_common(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v;
	char sub[JPATH_MAX];
	int64_t ms;

	jpath_key(sub, sizeof(sub), path, "query");
	v = json_object_get(cfg, "query");
	if (!v)
		diag_add(d, sub, "is required: a SELECT returning time, value and optional label columns");
	else if (!json_is_string(v) || !*json_string_value(v))
		diag_add(d, sub, "must be a non-empty SQL query");
	check_enum(cfg, "time_format", time_formats, d, path);
	check_enum(cfg, "window_format", window_formats, d, path);
	if ((v = json_object_get(cfg, "max_rows"))) {
		jpath_key(sub, sizeof(sub), path, "max_rows");
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000000)
			diag_add(d, sub, "must be an integer in [1, 1000000000]");
	}
	if ((v = json_object_get(cfg, "timeout"))) {
		jpath_key(sub, sizeof(sub), path, "timeout");
		if (!json_is_string(v) || duration_parse(json_string_value(v), &ms))
			diag_add(d, sub, "must be a duration like \"30s\"");
	}
}

static void check_ref(const json_t *cfg, const char *key, const char *what, struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX];
	struct vigil_error err = VIGIL_ERROR_INIT;

	jpath_key(sub, sizeof(sub), path, key);
	if (!v)
		diag_add(d, sub, "is required: %s", what);
	else if (!json_is_string(v) || !*json_string_value(v))
		diag_add(d, sub, "must be a non-empty string");
	else if (secret_check(json_string_value(v), &err))
		diag_add(d, sub, "%s", err.msg);
}

static void sqlite_check(const json_t *cfg, struct diag *d, const char *path)
{
	check_ref(cfg, "path", "the SQLite database file", d, path);
	check_common(cfg, d, path);
}

static void pg_check(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, "connection");

	check_ref(cfg, "connection", "a libpq connection string or URI, e.g. \"${env:PG_URL}\"", d, path);
	if (json_is_string(v) && !secret_has_ref(json_string_value(v))) {
		const char *s = json_string_value(v), *scheme = strstr(s, "://");
		const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
		const char *colon = scheme && at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
		char sub[JPATH_MAX];

		jpath_key(sub, sizeof(sub), path, "connection");
		if (strstr(s, "password=") || colon)
			diag_add(d, sub, "holds a password: use a ${env:NAME} or ${file:PATH} reference for the "
			         "connection string (or a .pgpass file)");
	}
	check_common(cfg, d, path);
}

/* --- rows into series --------------------------------------------------- */

struct sql_rows {
	const char *who;                /* for messages */
	struct series_map map;
	struct series_set *out;
	enum time_format tfmt;
	long long max_rows, n_rows;
	size_t n_labels;
	char **label_keys;
	char *value_name;
	char **last_values;             /* the label values of the previous row's series */
	struct series *last;
	struct strbuf tmp;
};

static void rows_init(struct sql_rows *r, const json_t *cfg, const char *who, struct series_set *out)
{
	json_t *v;

	memset(r, 0, sizeof(*r));
	r->who = who;
	r->out = out;
	series_map_init(&r->map, out);
	v = json_object_get(cfg, "time_format");
	r->tfmt = json_is_string(v) ? (enum time_format)enum_index(time_formats, json_string_value(v)) : TIME_AUTO;
	v = json_object_get(cfg, "max_rows");
	r->max_rows = json_is_integer(v) ? (long long)json_integer_value(v) : SQL_DEFAULT_MAX_ROWS;
}

static void rows_release(struct sql_rows *r)
{
	for (size_t i = 0; i < r->n_labels; i++) {
		free(r->label_keys[i]);
		free(r->last_values ? r->last_values[i] : NULL);
	}
	free(r->label_keys);
	free(r->last_values);
	free(r->value_name);
	series_map_release(&r->map);
	strbuf_release(&r->tmp);
}

/* The result's columns: names[0] time, names[1] value, the rest labels. */
static int rows_columns(struct sql_rows *r, const char *const *names, size_t n, struct vigil_error *err)
{
	if (n < 2)
		return vigil_error_set(err, VIGIL_E_DATA, "%s: the query returns %zu column%s; it must return "
		                       "time, value, then optional label columns", r->who, n, n == 1 ? "" : "s");
	if (n - 2 > SQL_MAX_LABEL_COLUMNS)
		return vigil_error_set(err, VIGIL_E_LIMIT, "%s: more than %d label columns", r->who,
		                       SQL_MAX_LABEL_COLUMNS);
	r->value_name = xstrdup(names[1]);
	r->n_labels = n - 2;
	r->label_keys = xcalloc(r->n_labels + 1, sizeof(char *));
	r->last_values = xcalloc(r->n_labels + 1, sizeof(char *));
	for (size_t i = 0; i < r->n_labels; i++)
		r->label_keys[i] = xstrdup(names[i + 2]);
	return 0;
}

/* The series of a row's label values (NULL label values read as ""). */
static struct series *rows_series(struct sql_rows *r, const char *const *values)
{
	struct vigil_label l[SQL_MAX_LABEL_COLUMNS];
	size_t i;

	if (r->last) {
		for (i = 0; i < r->n_labels; i++)
			if (strcmp(r->last_values[i], values[i] ? values[i] : ""))
				break;
		if (i == r->n_labels)
			return r->last;
	}
	for (i = 0; i < r->n_labels; i++) {
		l[i].key = r->label_keys[i];
		l[i].value = values[i] ? values[i] : "";
		free(r->last_values[i]);
		r->last_values[i] = xstrdup(l[i].value);
	}
	r->last = series_map_get(&r->map, r->value_name, l, r->n_labels);
	return r->last;
}

static int bad_time(struct sql_rows *r, const char *text, struct vigil_error *err)
{
	char esc[80], raw[64];

	snprintf(raw, sizeof(raw), "%s", text);
	return vigil_error_set(err, VIGIL_E_DATA, "%s: row %lld: time '%s' is not a timestamp (the query must "
	                       "return time, value, then optional label columns)", r->who, r->n_rows,
	                       log_escape(esc, sizeof(esc), raw));
}

static int time_from_int(const struct sql_rows *r, long long v, int64_t *ms)
{
	switch (r->tfmt) {
	case TIME_UNIX_MS:
		*ms = v;
		return 0;
	case TIME_ISO8601:
		return -1;
	case TIME_AUTO:
		if (v >= 100000000000LL || v <= -100000000000LL) {
			*ms = v;
			return 0;
		}
		/* fallthrough */
	default:
		if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
			return -1;
		*ms = v * 1000;
		return 0;
	}
}

static int time_from_double(const struct sql_rows *r, double v, int64_t *ms)
{
	double m;

	if (!isfinite(v) || r->tfmt == TIME_ISO8601)
		return -1;
	m = (r->tfmt == TIME_UNIX_MS || (r->tfmt == TIME_AUTO && fabs(v) >= 1e11)) ? v : v * 1000.0;
	if (!(m > -9e18 && m < 9e18))
		return -1;
	*ms = (int64_t)llround(m);
	return 0;
}

static int rows_count(struct sql_rows *r, struct vigil_error *err)
{
	if (++r->n_rows > r->max_rows)
		return vigil_error_set(err, VIGIL_E_LIMIT, "%s: more than %lld rows (raise source.max_rows, or "
		                       "narrow the job's window)", r->who, r->max_rows);
	return 0;
}

static int bad_value(struct sql_rows *r, const char *text, struct vigil_error *err)
{
	char esc[80], raw[64];

	snprintf(raw, sizeof(raw), "%s", text);
	return vigil_error_set(err, VIGIL_E_DATA, "%s: row %lld: value '%s' in column '%s' is not a number",
	                       r->who, r->n_rows, log_escape(esc, sizeof(esc), raw), r->value_name);
}

static void rows_finish(struct sql_rows *r, const struct fetch_ctx *ctx)
{
	for (size_t i = 0; i < r->out->n; i++) {
		size_t unordered = 0, merged = 0;

		series_normalize(r->out->items[i], DUP_LAST, &unordered, &merged, NULL);
		series_clip(r->out->items[i], ctx->from_ms, ctx->to_ms);   /* the query may ignore the window */
		if (merged)
			log_warn("sql", "%s: series '%s': %zu duplicate timestamps merged (the last value kept)",
			         r->who, r->out->items[i]->name, merged);
		else if (unordered)
			log_debug("sql", "%s: series '%s': %zu rows out of time order; sorted", r->who,
			          r->out->items[i]->name, unordered);
	}
}

/* The window bound as text: ISO-8601 or a unix number; unbounded ends as extremes. */
static void window_text(enum window_format wf, int64_t ms, int is_end, int infinity_words, char *buf,
                        size_t len)
{
	if (ms == INT64_MIN || ms == INT64_MAX) {
		if (wf == WIN_ISO)
			snprintf(buf, len, "%s", infinity_words ? (is_end ? "infinity" : "-infinity")
			                                         : (is_end ? "9999-12-31T23:59:59Z" : "0001-01-01T00:00:00Z"));
		else
			snprintf(buf, len, "%lld", is_end ? (long long)INT64_MAX : (long long)INT64_MIN);
		return;
	}
	if (wf == WIN_ISO)
		time_format_iso(ms, buf, len);
	else if (wf == WIN_UNIX_MS)
		snprintf(buf, len, "%lld", (long long)ms);
	else
		snprintf(buf, len, "%lld", (long long)(ms >= 0 || ms % 1000 == 0 ? ms / 1000 : ms / 1000 - 1));
}

static enum window_format opt_window(const json_t *cfg, enum window_format dflt)
{
	json_t *v = json_object_get(cfg, "window_format");

	return json_is_string(v) ? (enum window_format)enum_index(window_formats, json_string_value(v)) : dflt;
}

static int64_t opt_timeout(const json_t *cfg)
{
	json_t *v = json_object_get(cfg, "timeout");
	int64_t ms;

	if (json_is_string(v) && !duration_parse(json_string_value(v), &ms))
		return ms;
	return SQL_DEFAULT_TIMEOUT_MS;
}

/* --- SQLite ------------------------------------------------------------- */

struct deadline {
	int64_t end_ns;
};

static int sqlite_progress(void *arg)
{
	const struct deadline *dl = arg;

	return time_mono_ns() > dl->end_ns;
}

/* Bind ?1/?2, :from/:to (also @ and $), or anonymous ?s in order. */
static int sqlite_bind_window(sqlite3_stmt *st, const struct fetch_ctx *ctx, enum window_format wf,
                              const char *who, struct vigil_error *err)
{
	int n = sqlite3_bind_parameter_count(st);

	for (int i = 1; i <= n; i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);
		int which;

		if (!name)
			which = i;
		else if (!strcmp(name, "?1") || !strcmp(name + 1, "from"))
			which = 1;
		else if (!strcmp(name, "?2") || !strcmp(name + 1, "to"))
			which = 2;
		else
			which = 0;
		if (which != 1 && which != 2)
			return vigil_error_set(err, VIGIL_E_SPEC, "%s: query parameter '%s': only the window can be "
			                       "bound (?1 or :from for its start, ?2 or :to for its end)", who,
			                       name ? name : "?");
		{
			int64_t ms = which == 1 ? ctx->from_ms : ctx->to_ms;

			if (wf == WIN_ISO) {
				char buf[40];

				window_text(wf, ms, which == 2, 0, buf, sizeof(buf));
				sqlite3_bind_text(st, i, buf, -1, SQLITE_TRANSIENT);
			} else if (ms == INT64_MIN || ms == INT64_MAX) {
				sqlite3_bind_int64(st, i, ms);
			} else {
				sqlite3_bind_int64(st, i, wf == WIN_UNIX_MS ? ms : (ms >= 0 || ms % 1000 == 0 ? ms / 1000 : ms / 1000 - 1));
			}
		}
	}
	return 0;
}

static int sqlite_fetch(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
                        struct vigil_error *err)
{
	const char *raw_path = json_string_value(json_object_get(cfg, "path"));
	const char *query = json_string_value(json_object_get(cfg, "query"));
	char *resolved, *path, *who;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct sql_rows r;
	struct deadline dl;
	const char *names[SQL_MAX_LABEL_COLUMNS + 2], *labels[SQL_MAX_LABEL_COLUMNS];
	sqlite3_int64 last_int[SQL_MAX_LABEL_COLUMNS];
	unsigned char last_int_ok[SQL_MAX_LABEL_COLUMNS] = { 0 };
	int rc = -1, step, ncol;

	resolved = secret_resolve(raw_path, ctx->spec_dir, err);
	if (!resolved)
		return vigil_error_prefix(err, "sqlite source: path");
	path = srcpath_resolve(resolved, ctx->spec_dir, "$.source.path",
	                       secret_has_ref(raw_path) ? "the file" : raw_path, err);
	free(resolved);
	if (!path)
		return -1;
	who = secret_has_ref(raw_path) ? xstrdup("sqlite source") : xasprintf("sqlite %s", raw_path);
	rows_init(&r, cfg, who, out);

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		vigil_error_set(err, VIGIL_E_IO, "%s: cannot open: %s", who, db ? sqlite3_errmsg(db) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	dl.end_ns = time_mono_ns() + opt_timeout(cfg) * 1000000LL;
	sqlite3_progress_handler(db, 10000, sqlite_progress, &dl);
	if (sqlite3_prepare_v2(db, query, -1, &st, NULL) != SQLITE_OK) {
		vigil_error_set(err, VIGIL_E_DATA, "%s: query: %s", who, sqlite3_errmsg(db));
		goto out;
	}
	if (!st) {
		vigil_error_set(err, VIGIL_E_SPEC, "%s: the query is empty", who);
		goto out;
	}
	if (sqlite_bind_window(st, ctx, opt_window(cfg, WIN_UNIX), who, err))
		goto out;
	ncol = sqlite3_column_count(st);
	if (ncol > SQL_MAX_LABEL_COLUMNS + 2)
		ncol = SQL_MAX_LABEL_COLUMNS + 3;   /* rows_columns reports it */
	for (int i = 0; i < ncol && i < SQL_MAX_LABEL_COLUMNS + 2; i++)
		names[i] = sqlite3_column_name(st, i);
	if (rows_columns(&r, names, (size_t)ncol, err))
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t ts;
		double v;
		struct series *s;

		if (rows_count(&r, err))
			goto out;
		switch (sqlite3_column_type(st, 0)) {
		case SQLITE_INTEGER:
			if (time_from_int(&r, sqlite3_column_int64(st, 0), &ts)) {
				bad_time(&r, (const char *)sqlite3_column_text(st, 0), err);
				goto out;
			}
			break;
		case SQLITE_FLOAT:
			if (time_from_double(&r, sqlite3_column_double(st, 0), &ts)) {
				bad_time(&r, (const char *)sqlite3_column_text(st, 0), err);
				goto out;
			}
			break;
		case SQLITE_NULL:
			bad_time(&r, "NULL", err);
			goto out;
		default: {
			const char *t = (const char *)sqlite3_column_text(st, 0);

			if (!t || time_parse(t, (size_t)sqlite3_column_bytes(st, 0), r.tfmt, &ts)) {
				bad_time(&r, t ? t : "", err);
				goto out;
			}
		}
		}
		switch (sqlite3_column_type(st, 1)) {
		case SQLITE_INTEGER:
		case SQLITE_FLOAT:
			v = sqlite3_column_double(st, 1);
			break;
		case SQLITE_NULL:
			v = NAN;
			break;
		default: {
			const char *t = (const char *)sqlite3_column_text(st, 1);

			if (!t || json_parse_double(t, (size_t)sqlite3_column_bytes(st, 1), &v)) {
				bad_value(&r, t ? t : "(blob)", err);
				goto out;
			}
		}
		}
		/* integer labels (ids) unchanged since the last row: the same series, no text conversion */
		{
			int same = r.last != NULL;

			for (size_t i = 0; i < r.n_labels; i++) {
				int is_int = sqlite3_column_type(st, (int)i + 2) == SQLITE_INTEGER;
				sqlite3_int64 x = is_int ? sqlite3_column_int64(st, (int)i + 2) : 0;

				if (!is_int || !last_int_ok[i] || last_int[i] != x)
					same = 0;
				last_int_ok[i] = is_int;
				last_int[i] = x;
			}
			if (same) {
				s = r.last;
			} else {
				for (size_t i = 0; i < r.n_labels; i++)
					labels[i] = (const char *)sqlite3_column_text(st, (int)i + 2);
				s = rows_series(&r, labels);
			}
		}
		series_append(s, ts, v);
	}
	if (step != SQLITE_DONE) {
		if (step == SQLITE_INTERRUPT)
			vigil_error_set(err, VIGIL_E_IO, "%s: the query took longer than the timeout", who);
		else
			vigil_error_set(err, VIGIL_E_DATA, "%s: query: %s", who, sqlite3_errmsg(db));
		goto out;
	}
	rows_finish(&r, ctx);
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	rows_release(&r);
	free(path);
	free(who);
	return rc;
}

/* --- PostgreSQL --------------------------------------------------------- */

static void pg_notice(void *arg, const char *msg)
{
	char esc[512];

	log_info("postgresql", "%s: %s", (const char *)arg, log_escape(esc, sizeof(esc), msg));
}

/* The first line of a libpq message (the rest is context and a caret), blanks collapsed, escaped. */
static const char *pg_msg(const char *m, char *buf, size_t len)
{
	char raw[600];
	size_t o = 0;

	for (m = m ? m : "unknown error"; *m && *m != '\n' && o < sizeof(raw) - 1; m++) {
		char ch = *m == '\t' ? ' ' : *m;

		if (ch == ' ' && (!o || raw[o - 1] == ' '))
			continue;
		raw[o++] = ch;
	}
	while (o && raw[o - 1] == ' ')
		o--;
	raw[o] = '\0';
	return log_escape(buf, len, raw);
}

static int pg_exec_simple(PGconn *conn, const char *sql, const char *who, struct vigil_error *err)
{
	PGresult *res = PQexec(conn, sql);
	char esc[700];
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK;

	if (!ok)
		vigil_error_set(err, VIGIL_E_IO, "%s: %s: %s", who, sql, pg_msg(PQerrorMessage(conn), esc, sizeof(esc)));
	PQclear(res);
	return ok ? 0 : -1;
}

static int pg_fetch(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
                    struct vigil_error *err)
{
	const char *query = json_string_value(json_object_get(cfg, "query"));
	char *conninfo, *who = NULL, timeout_sql[64], esc[700], from[40], to[40];
	const char *keys[] = { "connect_timeout", "fallback_application_name", "dbname", NULL };
	const char *vals[4];
	const char *params[2], *names[SQL_MAX_LABEL_COLUMNS + 2], *labels[SQL_MAX_LABEL_COLUMNS];
	PGconn *conn = NULL;
	PGresult *res = NULL;
	struct sql_rows r;
	int rc = -1, nparams, ncol = -1, ok_done = 0;
	enum window_format wf = opt_window(cfg, WIN_ISO);
	int64_t timeout = opt_timeout(cfg);
	char ctimeout[24];

	conninfo = secret_resolve(json_string_value(json_object_get(cfg, "connection")), ctx->spec_dir, err);
	if (!conninfo)
		return vigil_error_prefix(err, "postgresql source: connection");
	snprintf(ctimeout, sizeof(ctimeout), "%lld", (long long)(timeout / 1000 > 0 ? (timeout + 999) / 1000 : 1));
	vals[0] = ctimeout;
	vals[1] = "vigil";
	vals[2] = conninfo;
	vals[3] = NULL;
	rows_init(&r, cfg, "postgresql", out);
	conn = PQconnectdbParams(keys, vals, 1);
	explicit_bzero(conninfo, strlen(conninfo));
	free(conninfo);
	if (!conn || PQstatus(conn) != CONNECTION_OK) {
		vigil_error_set(err, VIGIL_E_IO, "postgresql: %s",
		                pg_msg(conn ? PQerrorMessage(conn) : "out of memory", esc, sizeof(esc)));
		goto out;
	}
	/* name the server without credentials: host:port/db */
	who = xasprintf("postgresql %s:%s/%s", PQhost(conn) && PQhost(conn)[0] == '/' ? "(socket)" : PQhost(conn),
	                PQport(conn), PQdb(conn));
	r.who = who;
	PQsetNoticeProcessor(conn, pg_notice, who);
	snprintf(timeout_sql, sizeof(timeout_sql), "SET statement_timeout = %lld", (long long)timeout);
	if (pg_exec_simple(conn, "SET TimeZone = 'UTC'", who, err) ||
	    pg_exec_simple(conn, "SET DateStyle = 'ISO'", who, err) ||
	    pg_exec_simple(conn, "SET IntervalStyle = 'iso_8601'", who, err) ||
	    pg_exec_simple(conn, timeout_sql, who, err))
		goto out;
	res = PQprepare(conn, "", query, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		vigil_error_set(err, VIGIL_E_DATA, "%s: query: %s", who, pg_msg(PQerrorMessage(conn), esc, sizeof(esc)));
		goto out;
	}
	PQclear(res);
	res = PQdescribePrepared(conn, "");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		vigil_error_set(err, VIGIL_E_DATA, "%s: query: %s", who, pg_msg(PQerrorMessage(conn), esc, sizeof(esc)));
		goto out;
	}
	nparams = PQnparams(res);
	PQclear(res);
	res = NULL;
	if (nparams > 2) {
		vigil_error_set(err, VIGIL_E_SPEC, "%s: the query has %d parameters; only the window can be bound "
		                "($1 its start, $2 its end)", who, nparams);
		goto out;
	}
	window_text(wf, ctx->from_ms, 0, 1, from, sizeof(from));
	window_text(wf, ctx->to_ms, 1, 1, to, sizeof(to));
	params[0] = from;
	params[1] = to;
	if (!PQsendQueryPrepared(conn, "", nparams, params, NULL, NULL, 0) || !PQsetSingleRowMode(conn)) {
		vigil_error_set(err, VIGIL_E_IO, "%s: %s", who, pg_msg(PQerrorMessage(conn), esc, sizeof(esc)));
		goto out;
	}
	while ((res = PQgetResult(conn))) {
		ExecStatusType status = PQresultStatus(res);

		if (status == PGRES_SINGLE_TUPLE) {
			int64_t ts;
			double v;
			const char *t;

			if (ncol < 0) {
				ncol = PQnfields(res);
				for (int i = 0; i < ncol && i < SQL_MAX_LABEL_COLUMNS + 2; i++)
					names[i] = PQfname(res, i);
				if (rows_columns(&r, names, (size_t)ncol, err))
					goto drain;
			}
			if (rows_count(&r, err))
				goto drain;
			if (PQgetisnull(res, 0, 0)) {
				bad_time(&r, "NULL", err);
				goto drain;
			}
			t = PQgetvalue(res, 0, 0);
			if (time_parse(t, (size_t)PQgetlength(res, 0, 0), r.tfmt, &ts)) {
				bad_time(&r, t, err);
				goto drain;
			}
			if (PQgetisnull(res, 0, 1)) {
				v = NAN;
			} else if (json_parse_double(PQgetvalue(res, 0, 1), (size_t)PQgetlength(res, 0, 1), &v)) {
				bad_value(&r, PQgetvalue(res, 0, 1), err);
				goto drain;
			}
			for (size_t i = 0; i < r.n_labels; i++)
				labels[i] = PQgetisnull(res, 0, (int)i + 2) ? NULL : PQgetvalue(res, 0, (int)i + 2);
			series_append(rows_series(&r, labels), ts, v);
		} else if (status == PGRES_TUPLES_OK) {
			if (ncol < 0) {
				ncol = PQnfields(res);
				for (int i = 0; i < ncol && i < SQL_MAX_LABEL_COLUMNS + 2; i++)
					names[i] = PQfname(res, i);
				if (rows_columns(&r, names, (size_t)ncol, err))
					goto drain;
			}
			ok_done = 1;
		} else {
			vigil_error_set(err, VIGIL_E_DATA, "%s: query: %s", who,
			                pg_msg(PQresultErrorMessage(res), esc, sizeof(esc)));
			goto drain;
		}
		PQclear(res);
	}
	if (!ok_done) {
		vigil_error_set(err, VIGIL_E_DATA, "%s: the query returned no rows result (is it a SELECT?)", who);
		goto out;
	}
	rows_finish(&r, ctx);
	rc = 0;
	goto out;
drain:
	/* stop the server sending the rest, then read what is in flight */
	PQclear(res);
	res = NULL;
	{
		PGcancel *cancel = PQgetCancel(conn);
		char buf[256];

		if (cancel) {
			PQcancel(cancel, buf, sizeof(buf));
			PQfreeCancel(cancel);
		}
	}
	while ((res = PQgetResult(conn)))
		PQclear(res);
out:
	PQclear(res);
	PQfinish(conn);
	rows_release(&r);
	free(who);
	return rc;
}

const struct source_type source_sqlite = {
	.name = "sqlite",
	.summary = "a query on an SQLite file returning time, value and label columns (window as ?1, ?2)",
	.keys = sqlite_keys,
	.check = sqlite_check,
	.fetch = sqlite_fetch,
};

const struct source_type source_postgresql = {
	.name = "postgresql",
	.summary = "a query on PostgreSQL returning time, value and label columns (window as $1, $2)",
	.keys = pg_keys,
	.check = pg_check,
	.fetch = pg_fetch,
};

/*
 * source-influxdb.c - series from an InfluxDB 1.x /query (InfluxQL).
 *
 * The job's window reaches the query as bound parameters ($from, $to: integer
 * nanoseconds), never spliced into the text.  Responses are asked for in
 * chunks (chunked=true: one JSON document per line, a series may continue
 * across documents) with epoch=ms times.  InfluxDB answers some errors with
 * HTTP 200 and an "error" inside a statement's result: those fail the fetch.
 * Tags become labels; null values (empty GROUP BY buckets) are missing.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jsonscan.h"
#include "log.h"
#include "series-map.h"
#include "source.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

#define INFLUX_DEFAULT_CHUNK 10000
#define INFLUX_MAX_COLUMNS 1024
/* InfluxDB's representable time range, in ns */
#define INFLUX_MIN_NS (-9223372036854775806LL)
#define INFLUX_MAX_NS 9223372036854775806LL

static const char *const influx_keys[] = {
	HTTP_CONFIG_KEYS, "database", "query", "retention_policy", "chunk_size", NULL,
};

static void influx_check(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v;
	char sub[JPATH_MAX];

	http_check_config(cfg, d, path);
	jpath_key(sub, sizeof(sub), path, "database");
	v = json_object_get(cfg, "database");
	if (!v)
		diag_add(d, sub, "is required: the database to query");
	else if (!json_is_string(v) || !*json_string_value(v))
		diag_add(d, sub, "must be a non-empty string");
	jpath_key(sub, sizeof(sub), path, "query");
	v = json_object_get(cfg, "query");
	if (!v)
		diag_add(d, sub, "is required: an InfluxQL SELECT, with $from and $to for the window");
	else if (!json_is_string(v) || !*json_string_value(v))
		diag_add(d, sub, "must be a non-empty InfluxQL statement");
	if ((v = json_object_get(cfg, "retention_policy"))) {
		jpath_key(sub, sizeof(sub), path, "retention_policy");
		if (!json_is_string(v) || !*json_string_value(v))
			diag_add(d, sub, "must be a non-empty string");
	}
	if ((v = json_object_get(cfg, "chunk_size"))) {
		jpath_key(sub, sizeof(sub), path, "chunk_size");
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000)
			diag_add(d, sub, "must be an integer in [1, 1000000]");
	}
}

/* --- response scanning ------------------------------------------------- */

struct influx_scan {
	struct jscan js;
	struct series_map map;
	struct label_list tags;
	struct strbuf name;
	char **columns;
	size_t n_columns;
	int time_col;
	struct series **targets;     /* per column, for the current series object */
	struct strbuf error;         /* first error found in the answer */
	size_t n_points;
	size_t doc;
};

static void columns_clear(struct influx_scan *is)
{
	for (size_t i = 0; i < is->n_columns; i++)
		free(is->columns[i]);
	free(is->columns);
	free(is->targets);
	is->columns = NULL;
	is->targets = NULL;
	is->n_columns = 0;
}

static int scan_tags(struct influx_scan *is, const char *where)
{
	char what[256];

	if (jscan_peek(&is->js) == JT_NULL)
		return jscan_null(&is->js);
	snprintf(what, sizeof(what), "%s.tags", where);
	return label_list_scan(&is->tags, &is->js, what, "tag");
}

static int scan_columns(struct influx_scan *is, const char *where)
{
	struct jscan *js = &is->js;
	const char *v;
	size_t vl;
	int r;

	columns_clear(is);
	is->time_col = -1;
	if (jscan_array(js))
		return -1;
	while ((r = jscan_next(js)) == 1) {
		if (is->n_columns == INFLUX_MAX_COLUMNS)
			return jscan_fail(js, "%s.columns: more than %d columns", where, INFLUX_MAX_COLUMNS);
		if (jscan_peek(js) != JT_STRING)
			return jscan_fail(js, "%s.columns: column names must be strings", where);
		if (jscan_string(js, &v, &vl))
			return -1;
		is->columns = xreallocarray(is->columns, is->n_columns + 1, sizeof(*is->columns));
		is->columns[is->n_columns] = xstrndup(v, vl);
		if (!strcmp(is->columns[is->n_columns], "time") && is->time_col < 0)
			is->time_col = (int)is->n_columns;
		is->n_columns++;
	}
	if (r < 0)
		return -1;
	if (is->time_col < 0)
		return jscan_fail(js, "%s: no \"time\" column", where);
	if (is->n_columns < 2)
		return jscan_fail(js, "%s: no value column besides \"time\"", where);
	return 0;
}

/* The series of every value column, once name, tags and columns are known. */
static void resolve_targets(struct influx_scan *is)
{
	size_t n_values = is->n_columns - 1;
	struct strbuf base = STRBUF_INIT;

	is->targets = xcalloc(is->n_columns, sizeof(*is->targets));
	for (size_t c = 0; c < is->n_columns; c++) {
		if ((int)c == is->time_col)
			continue;
		strbuf_reset(&base);
		strbuf_addstr(&base, strbuf_str(&is->name));
		if (n_values > 1)
			strbuf_addf(&base, "%s%s", base.len ? "." : "", is->columns[c]);
		is->targets[c] = series_map_get(&is->map, base.len ? base.buf : NULL, is->tags.l, is->tags.n);
	}
	strbuf_release(&base);
}

static int scan_row(struct influx_scan *is, const char *where, size_t row)
{
	struct jscan *js = &is->js;
	int64_t ts = 0;
	size_t c = 0;
	int r;

	if (jscan_peek(js) != JT_ARRAY)
		return jscan_fail(js, "%s.values[%zu]: a row must be an array", where, row);
	if (jscan_array(js))
		return -1;
	/* the time first: rows are short, so read them twice rather than buffer */
	{
		const char *save_p = js->p;
		const char *t;
		size_t tl;

		for (c = 0; (r = jscan_next(js)) == 1; c++) {
			if ((int)c == is->time_col) {
				if (jscan_peek(js) != JT_NUMBER)
					return jscan_fail(js, "%s.values[%zu]: time must be a number (epoch ms), found %s",
					                  where, row, jscan_type_name(jscan_peek(js)));
				if (jscan_number_text(js, &t, &tl) || json_decimal_to_ms(t, tl, 1, &ts))
					return jscan_fail(js, "%s.values[%zu]: bad time", where, row);
			} else if (jscan_skip(js)) {
				return -1;
			}
		}
		if (r < 0)
			return -1;
		if (c != is->n_columns)
			return jscan_fail(js, "%s.values[%zu]: %zu values for %zu columns", where, row, c, is->n_columns);
		js->p = save_p;
		js->last = '[';
	}
	for (c = 0; (r = jscan_next(js)) == 1; c++) {
		enum jtype t = jscan_peek(js);
		double v;

		if ((int)c == is->time_col) {
			if (jscan_skip(js))
				return -1;
			continue;
		}
		switch (t) {
		case JT_NUMBER:
			if (jscan_double(js, &v))
				return -1;
			break;
		case JT_NULL:
			jscan_null(js);
			v = NAN;
			break;
		case JT_TRUE:
		case JT_FALSE:
			if (jscan_skip(js))
				return -1;
			v = t == JT_TRUE;
			break;
		default:
			return jscan_fail(js, "%s.values[%zu]: column '%s' holds %s, not a number (select numeric "
			                  "fields; put tags in GROUP BY)", where, row, is->columns[c], jscan_type_name(t));
		}
		series_append(is->targets[c], ts, v);
		is->n_points++;
	}
	return r;
}

static int scan_series(struct influx_scan *is, size_t stmt, size_t index)
{
	struct jscan *js = &is->js;
	char where[96];
	const char *k, *v;
	size_t kl, vl;
	int r, have_columns = 0;

	snprintf(where, sizeof(where), "results[%zu].series[%zu]", stmt, index);
	label_list_clear(&is->tags);
	strbuf_reset(&is->name);
	columns_clear(is);
	if (jscan_peek(js) != JT_OBJECT)
		return jscan_fail(js, "%s: expected an object", where);
	if (jscan_object(js))
		return -1;
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "name")) {
			if (jscan_string(js, &v, &vl))
				return -1;
			strbuf_add(&is->name, v, vl);
		} else if (jscan_key_is(k, kl, "tags")) {
			if (scan_tags(is, where))
				return -1;
		} else if (jscan_key_is(k, kl, "columns")) {
			if (scan_columns(is, where))
				return -1;
			have_columns = 1;
		} else if (jscan_key_is(k, kl, "values")) {
			size_t row = 0;

			if (!have_columns)
				return jscan_fail(js, "%s: \"values\" before \"columns\"", where);
			resolve_targets(is);
			if (jscan_array(js))
				return -1;
			while ((r = jscan_next(js)) == 1)
				if (scan_row(is, where, row++))
					return -1;
			if (r < 0)
				return -1;
		} else if (jscan_skip(js)) {
			return -1;
		}
	}
	return r;
}

static void keep_error(struct influx_scan *is, const char *prefix, const char *v, size_t vl)
{
	if (is->error.len)
		return;
	strbuf_addstr(&is->error, prefix);
	strbuf_add(&is->error, v, vl > 2000 ? 2000 : vl);
}

static int scan_result(struct influx_scan *is, size_t index)
{
	struct jscan *js = &is->js;
	const char *k, *v;
	size_t kl, vl, stmt = index;
	int r;

	if (jscan_object(js))
		return -1;
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "statement_id") && jscan_peek(js) == JT_NUMBER) {
			double id;

			if (jscan_double(js, &id))
				return -1;
			if (id >= 0 && id < 1e6)
				stmt = (size_t)id;
		} else if (jscan_key_is(k, kl, "error") && jscan_peek(js) == JT_STRING) {
			char prefix[48];

			if (jscan_string(js, &v, &vl))
				return -1;
			snprintf(prefix, sizeof(prefix), "statement %zu: ", stmt);
			keep_error(is, prefix, v, vl);
		} else if (jscan_key_is(k, kl, "series") && jscan_peek(js) == JT_ARRAY) {
			size_t i = 0;

			if (jscan_array(js))
				return -1;
			while ((r = jscan_next(js)) == 1)
				if (scan_series(is, stmt, i++))
					return -1;
			if (r < 0)
				return -1;
		} else if (jscan_key_is(k, kl, "messages") && jscan_peek(js) == JT_ARRAY) {
			if (jscan_skip(js))
				return -1;
		} else if (jscan_skip(js)) {
			return -1;
		}
	}
	return r;
}

/* One document: {"results": [...]} or {"error": "..."}. */
static int scan_document(struct influx_scan *is)
{
	struct jscan *js = &is->js;
	const char *k, *v;
	size_t kl, vl;
	int r, known = 0;

	if (jscan_peek(js) != JT_OBJECT)
		return jscan_fail(js, "expected an object, found %s", jscan_type_name(jscan_peek(js)));
	if (jscan_object(js))
		return -1;
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "error") && jscan_peek(js) == JT_STRING) {
			if (jscan_string(js, &v, &vl))
				return -1;
			keep_error(is, "", v, vl);
			known = 1;
		} else if (jscan_key_is(k, kl, "results") && jscan_peek(js) == JT_ARRAY) {
			size_t i = 0;

			if (jscan_array(js))
				return -1;
			while ((r = jscan_next(js)) == 1) {
				if (jscan_peek(js) != JT_OBJECT)
					return jscan_fail(js, "results[%zu]: expected an object", i);
				if (scan_result(is, i++))
					return -1;
			}
			if (r < 0)
				return -1;
			known = 1;
		} else if (jscan_skip(js)) {
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (!known)
		return jscan_fail(js, "no \"results\" in the response (is this an InfluxDB 1.x /query?)");
	return 0;
}

static int scan_answer(struct influx_scan *is)
{
	enum jtype t;

	is->doc = 0;
	while ((t = jscan_peek(&is->js)) != JT_END) {
		if (t == JT_ERROR)
			return -1;
		if (scan_document(is))
			return -1;
		is->doc++;
	}
	if (!is->doc)
		return jscan_fail(&is->js, "empty response");
	return 0;
}

/* --- fetch -------------------------------------------------------------- */

static long long clamp_ns(int64_t ms, long long dflt)
{
	if (ms == INT64_MIN || ms == INT64_MAX)
		return dflt;
	if (ms < INFLUX_MIN_NS / 1000000)
		return INFLUX_MIN_NS;
	if (ms > INFLUX_MAX_NS / 1000000)
		return INFLUX_MAX_NS;
	return (long long)ms * 1000000LL;
}

static int influx_fetch(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
                        struct vigil_error *err)
{
	struct http_client *c;
	struct influx_scan is;
	struct strbuf url = STRBUF_INIT;
	struct http_response resp;
	json_t *v;
	char params[96], chunk[24];
	int rc = -1;

	c = http_client_new("influxdb", cfg, ctx->spec_dir, err);
	if (!c)
		return -1;
	memset(&is, 0, sizeof(is));
	series_map_init(&is.map, out);
	snprintf(params, sizeof(params), "{\"from\":%lld,\"to\":%lld}", clamp_ns(ctx->from_ms, INFLUX_MIN_NS),
	         clamp_ns(ctx->to_ms, INFLUX_MAX_NS));
	v = json_object_get(cfg, "chunk_size");
	snprintf(chunk, sizeof(chunk), "%lld", json_is_integer(v) ? (long long)json_integer_value(v)
	                                                          : (long long)INFLUX_DEFAULT_CHUNK);
	strbuf_addf(&url, "%s/query", http_client_url(c));
	http_add_param(&url, "db", json_string_value(json_object_get(cfg, "database")));
	if (json_is_string(v = json_object_get(cfg, "retention_policy")))
		http_add_param(&url, "rp", json_string_value(v));
	http_add_param(&url, "q", json_string_value(json_object_get(cfg, "query")));
	http_add_param(&url, "params", params);
	http_add_param(&url, "epoch", "ms");
	http_add_param(&url, "chunked", "true");
	http_add_param(&url, "chunk_size", chunk);
	if (http_get(c, url.buf, &resp, err))
		goto out;
	jscan_init(&is.js, resp.body, resp.len);
	if (scan_answer(&is)) {
		if (resp.status != 200)
			http_fail_status(c, &resp, NULL, err);
		else
			http_fail_json(c, &resp, is.js.msg, err);
		goto out;
	}
	if (is.error.len || resp.status != 200) {
		char esc[1200];

		if (!is.error.len) {
			http_fail_status(c, &resp, NULL, err);
			goto out;
		}
		log_escape(esc, sizeof(esc), is.error.buf);
		if (resp.status != 200)
			vigil_error_set(err, VIGIL_E_IO, "%s: HTTP %ld: %s", http_client_name(c), resp.status, esc);
		else
			vigil_error_set(err, VIGIL_E_IO, "%s: %s", http_client_name(c), esc);
		goto out;
	}
	for (size_t i = 0; i < out->n; i++) {
		size_t unordered = 0, merged = 0;

		series_normalize(out->items[i], DUP_LAST, &unordered, &merged, NULL);
		series_clip(out->items[i], ctx->from_ms, ctx->to_ms);   /* a query may ignore $from/$to */
		if (unordered || merged)
			log_warn("influxdb", "%s: series '%s': %zu points out of order, %zu duplicates merged",
			         http_client_name(c), out->items[i]->name, unordered, merged);
	}
	log_debug("influxdb", "%s: %zu points in %zu series from %zu documents", http_client_name(c),
	          is.n_points, out->n, is.doc);
	rc = 0;
out:
	jscan_release(&is.js);
	series_map_release(&is.map);
	label_list_release(&is.tags);
	strbuf_release(&is.name);
	strbuf_release(&is.error);
	columns_clear(&is);
	strbuf_release(&url);
	http_client_free(c);
	return rc;
}

const struct source_type source_influxdb = {
	.name = "influxdb",
	.summary = "an InfluxQL query on InfluxDB 1.x (/query), the window bound as $from and $to",
	.keys = influx_keys,
	.check = influx_check,
	.fetch = influx_fetch,
};

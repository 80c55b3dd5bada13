/*
 * source-prometheus.c - series from Prometheus's /api/v1/query_range.
 *
 * Prometheus answers at most 11 000 points per series per query, so a long
 * range is cut into chunks of consecutive, non-overlapping step grids
 * ([start, start + (K-1) step], [start + K step, ...]) and the pieces of each
 * labelled series are stitched in order.  Responses are scanned in place
 * (jsonscan), never built into a tree: a chunk of 1 000 series is 250 MB.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "jsonscan.h"
#include "log.h"
#include "scrub.h"
#include "series-map.h"
#include "source.h"
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define PROM_MAX_POINTS_PER_QUERY 11000
#define PROM_MAX_STEPS 50000000LL      /* points per series in one fetch */
#define PROM_DEFAULT_STEP_MS 60000

static const char *const prom_keys[] = {
	HTTP_CONFIG_KEYS, "query", "range", "step", "max_points_per_query", NULL,
};

static void prom_check(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v;
	char sub[JPATH_MAX];
	int64_t ms;

	http_check_config(cfg, d, path);
	jpath_key(sub, sizeof(sub), path, "query");
	v = json_object_get(cfg, "query");
	if (!v)
		diag_add(d, sub, "is required: a PromQL expression");
	else if (!json_is_string(v) || !*json_string_value(v))
		diag_add(d, sub, "must be a non-empty PromQL expression");
	if ((v = json_object_get(cfg, "step"))) {
		jpath_key(sub, sizeof(sub), path, "step");
		if (!json_is_string(v) || duration_parse(json_string_value(v), &ms))
			diag_add(d, sub, "must be a duration like \"15s\" or \"1m\"");
	}
	if ((v = json_object_get(cfg, "max_points_per_query"))) {
		jpath_key(sub, sizeof(sub), path, "max_points_per_query");
		if (!json_is_integer(v) || json_integer_value(v) < 2 ||
		    json_integer_value(v) > PROM_MAX_POINTS_PER_QUERY)
			diag_add(d, sub, "must be an integer in [2, %d]", PROM_MAX_POINTS_PER_QUERY);
	}
	if ((v = json_object_get(cfg, "range"))) {
		jpath_key(sub, sizeof(sub), path, "range");
		if (json_is_string(v)) {
			if (duration_parse(json_string_value(v), &ms))
				diag_add(d, sub, "must be a duration like \"7d\", or {\"start\": TIME, \"end\": TIME}");
		} else if (json_is_object(v)) {
			const char *key;
			json_t *t;
			int64_t start = 0, end = 0;
			int have_start = 0, have_end = 0;

			json_object_foreach(v, key, t) {
				char item[JPATH_MAX];
				int64_t when;

				jpath_key(item, sizeof(item), sub, key);
				if (strcmp(key, "start") && strcmp(key, "end")) {
					diag_add(d, item, "unknown key in range (expected \"start\" and \"end\")");
					continue;
				}
				if (!json_is_string(t) ||
				    time_parse(json_string_value(t), strlen(json_string_value(t)), TIME_AUTO, &when)) {
					diag_add(d, item, "must be a timestamp like \"2026-11-01T00:00:00Z\"");
					continue;
				}
				if (!strcmp(key, "start"))
					start = when, have_start = 1;
				else
					end = when, have_end = 1;
			}
			if (!json_object_get(v, "start"))
				diag_add(d, sub, "needs a \"start\"");
			else if (have_start && have_end && end <= start)
				diag_add(d, sub, "\"end\" must be after \"start\"");
		} else {
			diag_add(d, sub, "must be a duration like \"7d\", or {\"start\": TIME, \"end\": TIME}");
		}
	}
}

/* --- response scanning ------------------------------------------------- */

struct prom_scan {
	struct jscan js;
	struct series_map map;
	struct label_list labels;
	int64_t *pts_ts;          /* points read before the series' labels */
	double *pts_v;
	size_t n_pts, alloc_pts;
	size_t n_points;          /* this response */
	char status[16];
	char error_type[64];
	struct strbuf error;
	char result_type[16];
	const char *query;        /* names a series that has no name and no labels */
};

static int scan_metric(struct prom_scan *ps, const char *where)
{
	char what[256];

	label_list_clear(&ps->labels);
	snprintf(what, sizeof(what), "%s.metric", where);
	return label_list_scan(&ps->labels, &ps->js, what, "label");
}

/* The series for the labels just read: __name__ is its base name, not a label. */
static struct series *series_for_labels(struct prom_scan *ps)
{
	const char *base = NULL;
	struct vigil_label tmp[64], *l = ps->labels.n <= 64 ? tmp : XNEWARRAY(struct vigil_label, ps->labels.n);
	size_t n = 0;
	struct series *s;

	for (size_t i = 0; i < ps->labels.n; i++) {
		if (!strcmp(ps->labels.l[i].key, "__name__"))
			base = ps->labels.l[i].value;
		else
			l[n++] = ps->labels.l[i];
	}
	if (!base && !n)
		base = ps->query;   /* sum(x): the expression is the best name */
	s = series_map_get(&ps->map, base, l, n);
	if (l != tmp)
		free(l);
	return s;
}

/* One [time, "value"] pair. */
static int scan_point(struct prom_scan *ps, const char *where, size_t idx, int64_t *ts, double *v)
{
	struct jscan *js = &ps->js;
	const char *t, *sv;
	size_t tl, svl;
	enum jtype ty;

	if (jscan_peek(js) != JT_ARRAY)
		return jscan_fail(js, "%s[%zu]: a point must be [time, \"value\"], found %s", where, idx,
		                  jscan_type_name(jscan_peek(js)));
	if (jscan_array(js) || jscan_next(js) != 1)
		return jscan_fail(js, "%s[%zu]: a point must be [time, \"value\"]", where, idx);
	if ((ty = jscan_peek(js)) != JT_NUMBER)
		return jscan_fail(js, "%s[%zu]: the time must be a number, found %s", where, idx, jscan_type_name(ty));
	if (jscan_number_text(js, &t, &tl))
		return -1;
	if (json_decimal_to_ms(t, tl, 1000, ts))
		return jscan_fail(js, "%s[%zu]: time '%.*s' is out of range", where, idx, (int)(tl > 40 ? 40 : tl), t);
	if (jscan_next(js) != 1)
		return jscan_fail(js, "%s[%zu]: a point must be [time, \"value\"]", where, idx);
	if ((ty = jscan_peek(js)) != JT_STRING)
		return jscan_fail(js, "%s[%zu]: the value must be a string like \"1.5\", found %s", where, idx,
		                  jscan_type_name(ty));
	if (jscan_string(js, &sv, &svl))
		return -1;
	if (json_parse_double(sv, svl, v))
		return jscan_fail(js, "%s[%zu]: value '%.*s' is not a number", where, idx, (int)(svl > 40 ? 40 : svl), sv);
	if (jscan_next(js) != 0)
		return jscan_fail(js, "%s[%zu]: a point must be [time, \"value\"]", where, idx);
	return 0;
}

/* A point goes to its series, or waits for the labels when they come after the values. */
static void add_point(struct prom_scan *ps, struct series *s, int64_t ts, double v)
{
	if (s) {
		series_append(s, ts, v);
		ps->n_points++;
		return;
	}
	if (ps->n_pts == ps->alloc_pts) {
		ps->alloc_pts = ps->alloc_pts ? ps->alloc_pts * 2 : 1024;
		ps->pts_ts = xreallocarray(ps->pts_ts, ps->alloc_pts, sizeof(*ps->pts_ts));
		ps->pts_v = xreallocarray(ps->pts_v, ps->alloc_pts, sizeof(*ps->pts_v));
	}
	ps->pts_ts[ps->n_pts] = ts;
	ps->pts_v[ps->n_pts++] = v;
}

/* One element of data.result: {"metric": {...}, "values": [[t, "v"], ...]} (or "value": [t, "v"]). */
static int scan_result(struct prom_scan *ps, size_t index)
{
	struct jscan *js = &ps->js;
	struct series *s = NULL;
	char where[64];
	const char *k;
	size_t kl;
	int r, have_metric = 0;

	ps->n_pts = 0;
	snprintf(where, sizeof(where), "data.result[%zu]", index);
	if (jscan_peek(js) != JT_OBJECT)
		return jscan_fail(js, "%s: expected an object, found %s", where, jscan_type_name(jscan_peek(js)));
	if (jscan_object(js))
		return -1;
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "metric")) {
			if (jscan_peek(js) != JT_OBJECT)
				return jscan_fail(js, "%s.metric: expected an object", where);
			if (scan_metric(ps, where))
				return -1;
			have_metric = 1;
			s = series_for_labels(ps);
			for (size_t i = 0; i < ps->n_pts; i++)
				series_append(s, ps->pts_ts[i], ps->pts_v[i]);
			ps->n_points += ps->n_pts;
			ps->n_pts = 0;
		} else if (jscan_key_is(k, kl, "values") || jscan_key_is(k, kl, "value")) {
			int single = kl == 5;
			char w[80];
			size_t i = 0;
			int64_t ts;
			double v;

			snprintf(w, sizeof(w), "%s.%s", where, single ? "value" : "values");
			if (single) {
				if (scan_point(ps, w, 0, &ts, &v))
					return -1;
				add_point(ps, s, ts, v);
				continue;
			}
			if (jscan_peek(js) != JT_ARRAY)
				return jscan_fail(js, "%s: expected an array of points, found %s", w,
				                  jscan_type_name(jscan_peek(js)));
			if (jscan_array(js))
				return -1;
			while ((r = jscan_next(js)) == 1) {
				if (scan_point(ps, w, i++, &ts, &v))
					return -1;
				add_point(ps, s, ts, v);
			}
			if (r < 0)
				return -1;
		} else if (jscan_key_is(k, kl, "histograms") || jscan_key_is(k, kl, "histogram")) {
			return jscan_fail(js, "%s: native histograms are not supported (query a float series, "
			                  "e.g. histogram_quantile(...))", where);
		} else if (jscan_skip(js)) {
			return -1;
		}
	}
	if (r < 0)
		return -1;
	if (!have_metric)
		return jscan_fail(js, "%s: no \"metric\"", where);
	return 0;
}

static int scan_data(struct prom_scan *ps)
{
	struct jscan *js = &ps->js;
	const char *k, *v;
	size_t kl, vl;
	int r;

	if (jscan_peek(js) != JT_OBJECT)
		return jscan_fail(js, "\"data\" must be an object");
	if (jscan_object(js))
		return -1;
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "resultType")) {
			if (jscan_string(js, &v, &vl))
				return -1;
			snprintf(ps->result_type, sizeof(ps->result_type), "%.*s", (int)vl, v);
			if (strcmp(ps->result_type, "matrix") && strcmp(ps->result_type, "vector"))
				return jscan_fail(js, "resultType '%s': expected a matrix", ps->result_type);
		} else if (jscan_key_is(k, kl, "result")) {
			size_t i = 0;

			if (jscan_peek(js) != JT_ARRAY)
				return jscan_fail(js, "data.result: expected an array, found %s (resultType '%s')",
				                  jscan_type_name(jscan_peek(js)), ps->result_type);
			if (jscan_array(js))
				return -1;
			while ((r = jscan_next(js)) == 1)
				if (scan_result(ps, i++))
					return -1;
			if (r < 0)
				return -1;
		} else if (jscan_skip(js)) {
			return -1;
		}
	}
	return r;
}

/* The whole response; status, errorType and error are kept for the caller. */
static int scan_response(struct prom_scan *ps, const char *who)
{
	struct jscan *js = &ps->js;
	const char *k, *v;
	size_t kl, vl;
	int r, have_data = 0;

	ps->status[0] = ps->error_type[0] = ps->result_type[0] = '\0';
	strbuf_reset(&ps->error);
	if (jscan_peek(js) != JT_OBJECT)
		return jscan_fail(js, "expected an object, found %s", jscan_type_name(jscan_peek(js)));
	if (jscan_object(js))
		return -1;
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "status") || jscan_key_is(k, kl, "errorType") ||
		    jscan_key_is(k, kl, "error")) {
			char key = k[0] == 's' ? 's' : kl == 5 ? 'e' : 't';

			if (jscan_peek(js) != JT_STRING) {
				if (jscan_skip(js))
					return -1;
				continue;
			}
			if (jscan_string(js, &v, &vl))
				return -1;
			if (key == 's')
				snprintf(ps->status, sizeof(ps->status), "%.*s", (int)vl, v);
			else if (key == 't')
				snprintf(ps->error_type, sizeof(ps->error_type), "%.*s", (int)vl, v);
			else
				strbuf_add(&ps->error, v, vl > 2000 ? 2000 : vl);
		} else if (jscan_key_is(k, kl, "data") && jscan_peek(js) == JT_OBJECT) {
			if (scan_data(ps))
				return -1;
			have_data = 1;
		} else if (jscan_key_is(k, kl, "warnings") && jscan_peek(js) == JT_ARRAY) {
			if (jscan_array(js))
				return -1;
			while ((r = jscan_next(js)) == 1) {
				char esc[512], raw[400];

				if (jscan_peek(js) != JT_STRING) {
					if (jscan_skip(js))
						return -1;
					continue;
				}
				if (jscan_string(js, &v, &vl))
					return -1;
				snprintf(raw, sizeof(raw), "%.*s", (int)(vl > 399 ? 399 : vl), v);
				log_warn("prometheus", "%s: warning from the server: %s", who,
				         log_escape(esc, sizeof(esc), raw));
			}
			if (r < 0)
				return -1;
		} else if (jscan_skip(js)) {
			return -1;
		}
	}
	if (r < 0 || jscan_finish(js))
		return -1;
	if (!ps->status[0])
		return jscan_fail(js, "no \"status\" in the response (is this a Prometheus API?)");
	if (!strcmp(ps->status, "success") && !have_data)
		return jscan_fail(js, "no \"data\" in a successful response");
	return 0;
}

/* --- fetch -------------------------------------------------------------- */

static void fmt_seconds(char *buf, size_t len, int64_t ms)
{
	int64_t s = ms / 1000, frac = ms % 1000;

	if (frac < 0) {
		frac += 1000;
		s--;
	}
	if (frac)
		snprintf(buf, len, "%lld.%03lld", (long long)s, (long long)frac);
	else
		snprintf(buf, len, "%lld", (long long)s);
}

/* The [start, end] to query, from the source's range or the job's window. */
static int prom_range(const json_t *cfg, const struct fetch_ctx *ctx, const char *who, int64_t *start,
                      int64_t *end, struct vigil_error *err)
{
	json_t *r = json_object_get(cfg, "range");
	int64_t now_end = ctx->to_ms != INT64_MAX ? ctx->to_ms : ctx->run_ms ? ctx->run_ms : time_now_ms(), dur;

	if (json_is_string(r) && !duration_parse(json_string_value(r), &dur)) {
		*end = now_end;
		*start = now_end - dur;
		return 0;
	}
	if (json_is_object(r)) {
		json_t *s = json_object_get(r, "start"), *e = json_object_get(r, "end");

		if (!json_is_string(s) ||
		    time_parse(json_string_value(s), strlen(json_string_value(s)), TIME_AUTO, start))
			return vigil_error_set(err, VIGIL_E_SPEC, "%s: range.start is not a timestamp", who);
		*end = now_end;
		if (json_is_string(e) &&
		    time_parse(json_string_value(e), strlen(json_string_value(e)), TIME_AUTO, end))
			return vigil_error_set(err, VIGIL_E_SPEC, "%s: range.end is not a timestamp", who);
		return 0;
	}
	if (ctx->from_ms == INT64_MIN || ctx->to_ms == INT64_MAX)
		return vigil_error_set(err, VIGIL_E_SPEC, "%s: no time range: give the job a \"window\" "
		                       "or the source a \"range\"", who);
	*start = ctx->from_ms;
	*end = ctx->to_ms;
	return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* The error a non-success response carries: "HTTP 400 bad_data: ...". */
static int prom_fail(struct http_client *c, const struct http_response *resp, struct prom_scan *ps,
                     struct vigil_error *err)
{
	char esc[1200];

	scrub_quote(esc, sizeof(esc), strbuf_str(&ps->error), ps->error.len, 1000);
	if (resp->status != 200)
		return vigil_error_set(err, VIGIL_E_IO, "%s: HTTP %ld %s: %s", http_client_name(c), resp->status,
		                       ps->error_type[0] ? ps->error_type : "error", esc[0] ? esc : "(no message)");
	return vigil_error_set(err, VIGIL_E_IO, "%s: status '%s' %s: %s", http_client_name(c), ps->status,
	                       ps->error_type, esc[0] ? esc : "(no message)");
}

static int prom_fetch(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
                      struct vigil_error *err)
{
	const char *query = json_string_value(json_object_get(cfg, "query"));
	json_t *v;
	int64_t step = PROM_DEFAULT_STEP_MS, start, end, k = PROM_MAX_POINTS_PER_QUERY, n_steps, n_chunks;
	struct http_client *c;
	struct prom_scan ps;
	struct strbuf url = STRBUF_INIT;
	int rc = -1;

	c = http_client_new("prometheus", cfg, ctx->spec_dir, err);
	if (!c)
		return -1;
	if (json_is_string(v = json_object_get(cfg, "step")))
		duration_parse(json_string_value(v), &step);
	if (json_is_integer(v = json_object_get(cfg, "max_points_per_query")))
		k = json_integer_value(v);
	if (prom_range(cfg, ctx, http_client_name(c), &start, &end, err))
		goto out_client;
	/* evaluate on multiples of the step, so successive runs see the same grid */
	start = floor_div(start + step - 1, step) * step;
	end = floor_div(end, step) * step;
	if (end < start) {
		log_info("prometheus", "%s: the range holds no step; nothing to fetch", http_client_name(c));
		rc = 0;
		goto out_client;
	}
	n_steps = (end - start) / step + 1;
	if (n_steps > PROM_MAX_STEPS) {
		char sbuf[32];

		duration_format(step, sbuf, sizeof(sbuf));
		vigil_error_set(err, VIGIL_E_LIMIT, "%s: %lld points per series at step %s is more than %lld "
		                "(use a larger step or a shorter range)", http_client_name(c),
		                (long long)n_steps, sbuf, PROM_MAX_STEPS);
		goto out_client;
	}
	n_chunks = (n_steps + k - 1) / k;

	memset(&ps, 0, sizeof(ps));
	ps.query = query;
	series_map_init(&ps.map, out);
	for (int64_t i = 0; i < n_chunks; i++) {
		int64_t cs = start + i * k * step, ce = cs + (k - 1) * step;
		struct http_response resp;
		char a[32], b[32], st[32];

		if (ce > end)
			ce = end;
		fmt_seconds(a, sizeof(a), cs);
		fmt_seconds(b, sizeof(b), ce);
		fmt_seconds(st, sizeof(st), step);
		strbuf_reset(&url);
		strbuf_addf(&url, "%s/api/v1/query_range", http_client_url(c));
		http_add_param(&url, "query", query);
		http_add_param(&url, "start", a);
		http_add_param(&url, "end", b);
		http_add_param(&url, "step", st);
		if (n_chunks > 1)
			http_client_set_note(c, "chunk %lld of %lld", (long long)i + 1, (long long)n_chunks);
		if (http_get(c, url.buf, &resp, err))
			goto out;
		jscan_init(&ps.js, resp.body, resp.len);
		ps.n_points = 0;
		if (scan_response(&ps, http_client_name(c))) {
			/* an error answer that is not JSON (a proxy's page) says more by its status */
			if (resp.status != 200 && !ps.status[0]) {
				jscan_release(&ps.js);
				http_fail_status(c, &resp, NULL, err);
				goto out;
			}
			http_fail_json(c, &resp, ps.js.msg, err);
			jscan_release(&ps.js);
			goto out;
		}
		jscan_release(&ps.js);
		if (strcmp(ps.status, "success") || resp.status != 200) {
			prom_fail(c, &resp, &ps, err);
			goto out;
		}
		log_debug("prometheus", "%s: %zu points", http_client_name(c), ps.n_points);
	}
	http_client_set_note(c, NULL);
	for (size_t i = 0; i < out->n; i++) {
		size_t unordered = 0, merged = 0;

		series_normalize(out->items[i], DUP_LAST, &unordered, &merged, NULL);
		if (unordered || merged)
			log_warn("prometheus", "%s: series '%s': %zu points out of order, %zu duplicates merged",
			         http_client_name(c), out->items[i]->name, unordered, merged);
	}
	rc = 0;
out:
	series_map_release(&ps.map);
	label_list_release(&ps.labels);
	free(ps.pts_ts);
	free(ps.pts_v);
	strbuf_release(&ps.error);
out_client:
	strbuf_release(&url);
	http_client_free(c);
	return rc;
}

const struct source_type source_prometheus = {
	.name = "prometheus",
	.summary = "a PromQL query over /api/v1/query_range, split into chunks of <= 11000 points per series",
	.keys = prom_keys,
	.check = prom_check,
	.fetch = prom_fetch,
};

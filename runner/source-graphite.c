/*
 * source-graphite.c - series from Graphite's render API (format=json).
 *
 * The answer is [{"target": ..., "tags": {...}, "datapoints": [[value, ts],
 * ...]}] - value first, then the timestamp, the reverse of Prometheus - with
 * null for empty slots.  Graphite answers [] with HTTP 200 both when nothing
 * matches and when a target does not parse: vigil cannot tell them apart and
 * reports no data (with a note in the log).
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
#include "timefmt.h"
#include "xmalloc.h"
#include "banned.h"

#define GRAPHITE_MAX_TARGETS 64

static const char *const graphite_keys[] = { HTTP_CONFIG_KEYS, "target", NULL };

static void graphite_check(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, "target"), *t;
	char sub[JPATH_MAX];
	size_t i;

	http_check_config(cfg, d, path);
	jpath_key(sub, sizeof(sub), path, "target");
	if (!v) {
		diag_add(d, sub, "is required: a Graphite target like \"app.*.requests\", or a list of them");
	} else if (json_is_string(v)) {
		if (!*json_string_value(v))
			diag_add(d, sub, "must be a non-empty target");
	} else if (json_is_array(v) && json_array_size(v) && json_array_size(v) <= GRAPHITE_MAX_TARGETS) {
		json_array_foreach(v, i, t) {
			char item[JPATH_MAX];

			jpath_index(item, sizeof(item), sub, i);
			if (!json_is_string(t) || !*json_string_value(t))
				diag_add(d, item, "must be a non-empty target");
		}
	} else {
		diag_add(d, sub, "must be a target or a list of 1 to %d targets", GRAPHITE_MAX_TARGETS);
	}
}

struct graphite_scan {
	struct jscan js;
	struct series_map map;
	struct label_list tags;
	struct strbuf target;
	int64_t *ts;
	double *v;
	size_t n, alloc;
	size_t n_points;
};

static int scan_point(struct graphite_scan *gs, size_t si, size_t pi)
{
	struct jscan *js = &gs->js;
	const char *t;
	size_t tl;
	double v;
	int64_t ts;
	enum jtype ty;

	if (jscan_peek(js) != JT_ARRAY || jscan_array(js) || jscan_next(js) != 1)
		return jscan_fail(js, "[%zu].datapoints[%zu]: a point must be [value, timestamp]", si, pi);
	ty = jscan_peek(js);
	if (ty == JT_NULL) {
		jscan_null(js);
		v = NAN;
	} else if (ty == JT_NUMBER) {
		if (jscan_double(js, &v))
			return -1;
	} else {
		return jscan_fail(js, "[%zu].datapoints[%zu]: the value must be a number or null, found %s", si, pi,
		                  jscan_type_name(ty));
	}
	if (jscan_next(js) != 1 || jscan_peek(js) != JT_NUMBER)
		return jscan_fail(js, "[%zu].datapoints[%zu]: the timestamp must be a number (unix seconds)", si, pi);
	if (jscan_number_text(js, &t, &tl) || json_decimal_to_ms(t, tl, 1000, &ts))
		return jscan_fail(js, "[%zu].datapoints[%zu]: bad timestamp", si, pi);
	if (jscan_next(js) != 0)
		return jscan_fail(js, "[%zu].datapoints[%zu]: a point must be [value, timestamp]", si, pi);
	if (gs->n == gs->alloc) {
		gs->alloc = gs->alloc ? gs->alloc * 2 : 1024;
		gs->ts = xreallocarray(gs->ts, gs->alloc, sizeof(*gs->ts));
		gs->v = xreallocarray(gs->v, gs->alloc, sizeof(*gs->v));
	}
	gs->ts[gs->n] = ts;
	gs->v[gs->n++] = v;
	return 0;
}

static int scan_series(struct graphite_scan *gs, size_t si)
{
	struct jscan *js = &gs->js;
	const char *k, *v, *base;
	size_t kl, vl, pi = 0;
	int r;
	struct series *s;
	struct vigil_label l[64];
	size_t nl = 0;

	label_list_clear(&gs->tags);
	strbuf_reset(&gs->target);
	gs->n = 0;
	if (jscan_peek(js) != JT_OBJECT)
		return jscan_fail(js, "[%zu]: expected an object", si);
	jscan_object(js);
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		if (jscan_key_is(k, kl, "target") && jscan_peek(js) == JT_STRING) {
			if (jscan_string(js, &v, &vl))
				return -1;
			strbuf_add(&gs->target, v, vl);
		} else if (jscan_key_is(k, kl, "tags") && jscan_peek(js) == JT_OBJECT) {
			jscan_object(js);
			while ((r = jscan_key(js, &k, &kl)) == 1) {
				char *key = xstrndup(k, kl);

				if (jscan_peek(js) != JT_STRING) {
					free(key);
					if (jscan_skip(js))
						return -1;
					continue;
				}
				if (jscan_string(js, &v, &vl)) {
					free(key);
					return -1;
				}
				label_list_add(&gs->tags, key, kl, v, vl);
				free(key);
			}
			if (r < 0)
				return -1;
		} else if (jscan_key_is(k, kl, "datapoints")) {
			if (jscan_peek(js) != JT_ARRAY)
				return jscan_fail(js, "[%zu].datapoints: expected an array", si);
			jscan_array(js);
			while ((r = jscan_next(js)) == 1)
				if (scan_point(gs, si, pi++))
					return -1;
			if (r < 0)
				return -1;
		} else if (jscan_skip(js)) {
			return -1;
		}
	}
	if (r < 0)
		return -1;
	/* tags carry the series' identity (name is the metric path); without tags, the target */
	base = gs->target.len ? gs->target.buf : "graphite";
	for (size_t i = 0; i < gs->tags.n && nl < 64; i++) {
		if (!strcmp(gs->tags.l[i].key, "name"))
			base = gs->tags.l[i].value;
		else
			l[nl++] = gs->tags.l[i];
	}
	s = series_map_get(&gs->map, base, l, nl);
	for (size_t i = 0; i < gs->n; i++)
		series_append(s, gs->ts[i], gs->v[i]);
	gs->n_points += gs->n;
	return 0;
}

static int graphite_fetch(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
                          struct vigil_error *err)
{
	struct http_client *c;
	struct graphite_scan gs;
	struct strbuf url = STRBUF_INIT;
	struct http_response resp;
	json_t *t = json_object_get(cfg, "target"), *item;
	char buf[32];
	size_t i, si = 0;
	int rc = -1, r;

	c = http_client_new("graphite", cfg, ctx->spec_dir, err);
	if (!c)
		return -1;
	memset(&gs, 0, sizeof(gs));
	series_map_init(&gs.map, out);
	strbuf_addf(&url, "%s/render", http_client_url(c));
	if (json_is_string(t))
		http_add_param(&url, "target", json_string_value(t));
	json_array_foreach(json_is_array(t) ? t : NULL, i, item)
		http_add_param(&url, "target", json_string_value(item));
	/* Graphite's from is exclusive, until inclusive; without a window it uses its default (24h) */
	if (ctx->from_ms != INT64_MIN) {
		snprintf(buf, sizeof(buf), "%lld", (long long)(ctx->from_ms / 1000 - 1));
		http_add_param(&url, "from", buf);
	}
	if (ctx->to_ms != INT64_MAX) {
		snprintf(buf, sizeof(buf), "%lld", (long long)(ctx->to_ms / 1000));
		http_add_param(&url, "until", buf);
	}
	http_add_param(&url, "format", "json");
	if (http_get(c, url.buf, &resp, err))
		goto out;
	if (resp.status != 200) {
		http_fail_status(c, &resp, NULL, err);
		goto out;
	}
	jscan_init(&gs.js, resp.body, resp.len);
	if (jscan_peek(&gs.js) != JT_ARRAY) {
		if (!gs.js.failed)
			jscan_fail(&gs.js, "expected an array of series, found %s", jscan_type_name(jscan_peek(&gs.js)));
		http_fail_json(c, &resp, gs.js.msg, err);
		goto out;
	}
	jscan_array(&gs.js);
	while ((r = jscan_next(&gs.js)) == 1)
		if (scan_series(&gs, si++))
			break;
	if (gs.js.failed || jscan_finish(&gs.js)) {
		http_fail_json(c, &resp, gs.js.msg, err);
		goto out;
	}
	if (!si)
		log_info("graphite", "%s: the answer is [] (Graphite says so both when nothing matches and when a "
		         "target is invalid)", http_client_name(c));
	for (i = 0; i < out->n; i++) {
		series_normalize(out->items[i], DUP_LAST, NULL, NULL, NULL);
		series_clip(out->items[i], ctx->from_ms, ctx->to_ms);
	}
	rc = 0;
out:
	jscan_release(&gs.js);
	series_map_release(&gs.map);
	label_list_release(&gs.tags);
	strbuf_release(&gs.target);
	free(gs.ts);
	free(gs.v);
	strbuf_release(&url);
	http_client_free(c);
	return rc;
}

const struct source_type source_graphite = {
	.name = "graphite",
	.summary = "Graphite's render API (format=json): targets over the job's window",
	.keys = graphite_keys,
	.check = graphite_check,
	.fetch = graphite_fetch,
};

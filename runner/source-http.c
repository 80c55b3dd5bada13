/*
 * source-http.c - series from any HTTP API that answers JSON.
 *
 * A declarative mapping says where things are, as JSON pointers (RFC 6901):
 * the array of series objects ("series", optional), the array of points in
 * each ("points"), the time and value in a point, the series' name and
 * labels.  Pages are followed by a cursor sent back as a query parameter or
 * by a next-page URL, up to a page cap; the window reaches the URL through
 * the placeholders {from}, {to} (unix seconds), {from_ms}, {to_ms},
 * {from_iso} and {to_iso}.  Internal APIs are small next to a TSDB, so pages
 * are parsed with jansson rather than scanned.
 */
#include <curl/curl.h>
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

#define HTTPJ_DEFAULT_MAX_PAGES 100
#define HTTPJ_MAX_PAGES 100000

static const char *const httpj_keys[] = {
	HTTP_CONFIG_KEYS, "series", "points", "time", "value", "name", "labels", "label_object",
	"time_format", "next_cursor", "cursor_param", "next_url", "max_pages", NULL,
};
static const char *const time_formats[] = { "auto", "iso8601", "unix", "unix_ms", NULL };

static int enum_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int valid_pointer(const json_t *v)
{
	const char *p;

	if (!json_is_string(v))
		return 0;
	p = json_string_value(v);
	if (*p && *p != '/')
		return 0;
	for (; *p; p++)
		if (*p == '~' && p[1] != '0' && p[1] != '1')
			return 0;
	return 1;
}

static void check_pointer(const json_t *cfg, const char *key, int required, struct diag *d, const char *path)
{
	json_t *v = json_object_get(cfg, key);
	char sub[JPATH_MAX];

	jpath_key(sub, sizeof(sub), path, key);
	if (!v) {
		if (required)
			diag_add(d, sub, "is required: a JSON pointer like \"/data/points\"");
		return;
	}
	if (!valid_pointer(v))
		diag_add(d, sub, "must be a JSON pointer: \"\" or \"/a/b/0\" (~0 for '~', ~1 for '/')");
}

/* The placeholders the URL may use; set *uses_window when it uses one. */
static int check_placeholders(const char *url, int *uses_window, char *bad, size_t badlen)
{
	static const char *const names[] = { "from", "to", "from_ms", "to_ms", "from_iso", "to_iso", NULL };

	*uses_window = 0;
	for (const char *p = strchr(url, '{'); p; p = strchr(p + 1, '{')) {
		const char *e = strchr(p, '}');
		size_t n;
		int ok = 0;

		if (p > url && p[-1] == '$')
			continue;   /* a ${env:...} reference */
		if (!e)
			break;
		n = (size_t)(e - p - 1);
		for (int i = 0; names[i]; i++)
			ok |= strlen(names[i]) == n && !strncmp(p + 1, names[i], n);
		if (!ok) {
			snprintf(bad, badlen, "%.*s", (int)(n > 40 ? 40 : n), p + 1);
			return -1;
		}
		*uses_window = 1;
	}
	return 0;
}

static void httpj_check(const json_t *cfg, struct diag *d, const char *path)
{
	json_t *v;
	char sub[JPATH_MAX];

	http_check_config(cfg, d, path);
	v = json_object_get(cfg, "url");
	if (json_is_string(v)) {
		int uses;
		char bad[48];

		jpath_key(sub, sizeof(sub), path, "url");
		if (check_placeholders(json_string_value(v), &uses, bad, sizeof(bad)))
			diag_add(d, sub, "unknown placeholder '{%s}' (known: {from}, {to}, {from_ms}, {to_ms}, "
			         "{from_iso}, {to_iso})", bad);
	}
	check_pointer(cfg, "series", 0, d, path);
	check_pointer(cfg, "points", 1, d, path);
	check_pointer(cfg, "time", 1, d, path);
	check_pointer(cfg, "value", 1, d, path);
	check_pointer(cfg, "name", 0, d, path);
	check_pointer(cfg, "label_object", 0, d, path);
	check_pointer(cfg, "next_cursor", 0, d, path);
	check_pointer(cfg, "next_url", 0, d, path);
	if ((v = json_object_get(cfg, "labels"))) {
		const char *key;
		json_t *p;

		jpath_key(sub, sizeof(sub), path, "labels");
		if (!json_is_object(v))
			diag_add(d, sub, "must be an object of label names and JSON pointers");
		json_object_foreach(json_is_object(v) ? v : NULL, key, p) {
			char item[JPATH_MAX];

			jpath_key(item, sizeof(item), sub, key);
			if (!valid_pointer(p))
				diag_add(d, item, "must be a JSON pointer like \"/host\"");
		}
	}
	if ((v = json_object_get(cfg, "time_format"))) {
		jpath_key(sub, sizeof(sub), path, "time_format");
		if (!json_is_string(v) || enum_index(time_formats, json_string_value(v)) < 0)
			diag_add(d, sub, "must be one of auto, iso8601, unix, unix_ms");
	}
	if ((v = json_object_get(cfg, "cursor_param"))) {
		jpath_key(sub, sizeof(sub), path, "cursor_param");
		if (!json_is_string(v) || !*json_string_value(v))
			diag_add(d, sub, "must be a non-empty query parameter name");
		if (!json_object_get(cfg, "next_cursor"))
			diag_add(d, sub, "only makes sense with \"next_cursor\"");
	}
	if (json_object_get(cfg, "next_cursor") && json_object_get(cfg, "next_url"))
		diag_add(d, path, "use either \"next_cursor\" or \"next_url\" for pagination, not both");
	if ((v = json_object_get(cfg, "max_pages"))) {
		jpath_key(sub, sizeof(sub), path, "max_pages");
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > HTTPJ_MAX_PAGES)
			diag_add(d, sub, "must be an integer in [1, %d]", HTTPJ_MAX_PAGES);
	}
}

/* --- mapping -------------------------------------------------------------- */

/* RFC 6901: the value at ptr in root, or NULL. */
static json_t *pointer_get(json_t *root, const char *ptr)
{
	json_t *cur = root;
	char tok[256];

	while (cur && *ptr == '/') {
		size_t o = 0;

		for (ptr++; *ptr && *ptr != '/'; ptr++) {
			char ch = *ptr;

			if (ch == '~') {
				ch = ptr[1] == '1' ? '/' : '~';
				ptr++;
			}
			if (o < sizeof(tok) - 1)
				tok[o++] = ch;
		}
		tok[o] = '\0';
		if (json_is_object(cur)) {
			cur = json_object_get(cur, tok);
		} else if (json_is_array(cur)) {
			char *end;
			unsigned long i = strtoul(tok, &end, 10);

			if (!o || *end || (o > 1 && tok[0] == '0'))
				return NULL;
			cur = json_array_get(cur, i);
		} else {
			return NULL;
		}
	}
	return cur;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: case JSON_REAL: return "a number";
	case JSON_TRUE: case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

struct httpj {
	const json_t *cfg;
	const char *p_series, *p_points, *p_time, *p_value, *p_name, *p_label_obj;
	const json_t *labels;
	enum time_format tfmt;
	struct series_map map;
	struct label_list ll;
	size_t n_points;
};

static int map_time(const struct httpj *h, const json_t *t, int64_t *ms)
{
	if (json_is_integer(t)) {
		json_int_t v = json_integer_value(t);

		if (h->tfmt == TIME_UNIX_MS || (h->tfmt == TIME_AUTO && (v >= 100000000000LL || v <= -100000000000LL))) {
			*ms = v;
			return 0;
		}
		if (h->tfmt == TIME_ISO8601 || v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
			return -1;
		*ms = v * 1000;
		return 0;
	}
	if (json_is_real(t)) {
		double v = json_real_value(t), m;

		if (h->tfmt == TIME_ISO8601)
			return -1;
		m = (h->tfmt == TIME_UNIX_MS || (h->tfmt == TIME_AUTO && fabs(v) >= 1e11)) ? v : v * 1000;
		if (!(m > -9e18 && m < 9e18))
			return -1;
		*ms = (int64_t)llround(m);
		return 0;
	}
	if (json_is_string(t))
		return time_parse(json_string_value(t), json_string_length(t), h->tfmt, ms);
	return -1;
}

static int map_series(struct httpj *h, struct http_client *c, json_t *sobj, const char *where,
                      struct vigil_error *err)
{
	json_t *points = pointer_get(sobj, h->p_points), *pt, *nm = NULL;
	const char *key, *base = NULL;
	json_t *ptr;
	struct series *s;
	size_t i;

	if (!points)
		return vigil_error_set(err, VIGIL_E_DATA, "%s: %s: no points at '%s'", http_client_name(c), where,
		                       h->p_points);
	if (!json_is_array(points))
		return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s: expected an array of points, found %s",
		                       http_client_name(c), where, h->p_points, type_name(points));
	label_list_clear(&h->ll);
	if (h->p_name) {
		nm = pointer_get(sobj, h->p_name);
		if (!json_is_string(nm))
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s: the series name must be a string, found %s",
			                       http_client_name(c), where, h->p_name, nm ? type_name(nm) : "nothing");
		base = json_string_value(nm);
	}
	json_object_foreach((json_t *)h->labels, key, ptr) {
		json_t *lv = pointer_get(sobj, json_string_value(ptr));
		char num[32];

		if (json_is_string(lv)) {
			label_list_add(&h->ll, key, strlen(key), json_string_value(lv), json_string_length(lv));
		} else if (json_is_integer(lv)) {
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(lv));
			label_list_add(&h->ll, key, strlen(key), num, strlen(num));
		} else {
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s: label '%s' must be a string, found %s",
			                       http_client_name(c), where, json_string_value(ptr), key,
			                       lv ? type_name(lv) : "nothing");
		}
	}
	if (h->p_label_obj) {
		json_t *lo = pointer_get(sobj, h->p_label_obj), *lv;

		if (lo && !json_is_object(lo) && !json_is_null(lo))
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s: expected an object of labels, found %s",
			                       http_client_name(c), where, h->p_label_obj, type_name(lo));
		json_object_foreach(json_is_object(lo) ? lo : NULL, key, lv) {
			if (!json_is_string(lv))
				return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s: label '%s' must be a string, found %s",
				                       http_client_name(c), where, h->p_label_obj, key, type_name(lv));
			label_list_add(&h->ll, key, strlen(key), json_string_value(lv), json_string_length(lv));
		}
	}
	if (!base && !h->ll.n)
		base = "value";
	s = series_map_get(&h->map, base, h->ll.l, h->ll.n);
	json_array_foreach(points, i, pt) {
		json_t *t = pointer_get(pt, h->p_time), *v = pointer_get(pt, h->p_value);
		int64_t ts;
		double val;

		if (!t)
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s/%zu: no time at '%s'", http_client_name(c),
			                       where, h->p_points, i, h->p_time);
		if (map_time(h, t, &ts)) {
			char esc[80], raw[64];

			if (json_is_string(t)) {
				snprintf(raw, sizeof(raw), "%s", json_string_value(t));
				return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s/%zu%s: '%s' is not a timestamp",
				                       http_client_name(c), where, h->p_points, i, h->p_time,
				                       log_escape(esc, sizeof(esc), raw));
			}
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s/%zu%s: the time must be a number or a "
			                       "string, found %s", http_client_name(c), where, h->p_points, i, h->p_time,
			                       type_name(t));
		}
		if (!v)
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s/%zu: no value at '%s' (null is a missing "
			                       "value; an absent one is a mapping error)", http_client_name(c), where,
			                       h->p_points, i, h->p_value);
		if (json_is_number(v)) {
			val = json_number_value(v);
		} else if (json_is_null(v)) {
			val = NAN;
		} else if (json_is_string(v) && !json_parse_double(json_string_value(v), json_string_length(v), &val)) {
			;
		} else {
			char esc[80], raw[64];

			if (json_is_string(v)) {
				snprintf(raw, sizeof(raw), "%s", json_string_value(v));
				return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s/%zu%s: '%s' is not a number",
				                       http_client_name(c), where, h->p_points, i, h->p_value,
				                       log_escape(esc, sizeof(esc), raw));
			}
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s%s/%zu%s: the value must be a number, found %s",
			                       http_client_name(c), where, h->p_points, i, h->p_value, type_name(v));
		}
		series_append(s, ts, val);
		h->n_points++;
	}
	return 0;
}

static int map_page(struct httpj *h, struct http_client *c, json_t *doc, struct vigil_error *err)
{
	json_t *arr, *sobj;
	size_t i;

	if (!h->p_series)
		return map_series(h, c, doc, "", err);
	arr = pointer_get(doc, h->p_series);
	if (!arr || json_is_null(arr))
		return 0;   /* a page without series: nothing here */
	if (!json_is_array(arr))
		return vigil_error_set(err, VIGIL_E_DATA, "%s: %s: expected an array of series, found %s",
		                       http_client_name(c), h->p_series, type_name(arr));
	json_array_foreach(arr, i, sobj) {
		char where[300];

		snprintf(where, sizeof(where), "%s/%zu", h->p_series, i);
		if (!json_is_object(sobj) && !json_is_array(sobj))
			return vigil_error_set(err, VIGIL_E_DATA, "%s: %s: expected a series object, found %s",
			                       http_client_name(c), where, type_name(sobj));
		if (map_series(h, c, sobj, where, err))
			return -1;
	}
	return 0;
}

/* --- URLs ---------------------------------------------------------------- */

/* The URL with window placeholders replaced. */
static int expand_url(const char *url, const struct fetch_ctx *ctx, const char *who, struct strbuf *out,
                      struct vigil_error *err)
{
	strbuf_reset(out);
	for (const char *p = url; *p;) {
		const char *e;
		char buf[48];
		int64_t ms;
		int is_end;

		if (*p != '{' || !(e = strchr(p, '}'))) {
			strbuf_addch(out, *p++);
			continue;
		}
		is_end = !strncmp(p + 1, "to", 2);
		ms = is_end ? ctx->to_ms : ctx->from_ms;
		if (ms == INT64_MIN || ms == INT64_MAX)
			return vigil_error_set(err, VIGIL_E_SPEC, "%s: the URL uses '%.*s' but the job has no \"window\"",
			                       who, (int)(e - p + 1), p);
		if (!strncmp(e - 3, "iso", 3)) {
			char *esc;

			time_format_iso(ms, buf, sizeof(buf));
			esc = curl_easy_escape(NULL, buf, 0);
			strbuf_addstr(out, esc ? esc : buf);
			curl_free(esc);
		} else if (!strncmp(e - 2, "ms", 2)) {
			strbuf_addf(out, "%lld", (long long)ms);
		} else {
			strbuf_addf(out, "%lld", (long long)(ms >= 0 || ms % 1000 == 0 ? ms / 1000 : ms / 1000 - 1));
		}
		p = e + 1;
	}
	return 0;
}

/* scheme://host:port of an absolute URL, lower-cased. */
static char *origin(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *r = NULL;

	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) && !curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, &host, 0) && !curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT)) {
		r = xasprintf("%s://%s:%s", scheme, host, port);
		for (char *p = r; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

/* Resolve next (absolute or relative) against cur; NULL when it is not a URL. */
static char *resolve_url(const char *cur, const char *next)
{
	CURLU *u = curl_url();
	char *full = NULL, *r = NULL;

	if (u && !curl_url_set(u, CURLUPART_URL, cur, 0) && !curl_url_set(u, CURLUPART_URL, next, 0) &&
	    !curl_url_get(u, CURLUPART_URL, &full, 0))
		r = xstrdup(full);
	curl_free(full);
	curl_url_cleanup(u);
	return r;
}

/* --- fetch ---------------------------------------------------------------- */

static const char *opt_str(const json_t *cfg, const char *key)
{
	json_t *v = json_object_get(cfg, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int httpj_fetch(const json_t *cfg, const struct fetch_ctx *ctx, struct series_set *out,
                       struct vigil_error *err)
{
	struct httpj h = { .cfg = cfg };
	struct http_client *c;
	struct strbuf first = STRBUF_INIT, url = STRBUF_INIT;
	char *prev_next = NULL, *base_origin = NULL;
	const char *p_cursor = opt_str(cfg, "next_cursor"), *p_next = opt_str(cfg, "next_url");
	const char *cursor_param = opt_str(cfg, "cursor_param") ? opt_str(cfg, "cursor_param") : "cursor";
	json_t *v;
	long max_pages = HTTPJ_DEFAULT_MAX_PAGES;
	int rc = -1;

	c = http_client_new("http", cfg, ctx->spec_dir, err);
	if (!c)
		return -1;
	h.p_series = opt_str(cfg, "series");
	h.p_points = opt_str(cfg, "points");
	h.p_time = opt_str(cfg, "time");
	h.p_value = opt_str(cfg, "value");
	h.p_name = opt_str(cfg, "name");
	h.p_label_obj = opt_str(cfg, "label_object");
	h.labels = json_object_get(cfg, "labels");
	h.tfmt = opt_str(cfg, "time_format") ? (enum time_format)enum_index(time_formats, opt_str(cfg, "time_format"))
	                                     : TIME_AUTO;
	if (json_is_integer(v = json_object_get(cfg, "max_pages")))
		max_pages = (long)json_integer_value(v);
	series_map_init(&h.map, out);
	if (expand_url(http_client_url(c), ctx, http_client_name(c), &first, err))
		goto out;
	base_origin = origin(first.buf);
	strbuf_addstr(&url, first.buf);

	for (long page = 1;; page++) {
		struct http_response resp;
		json_error_t jerr;
		json_t *doc, *nx;
		char *next = NULL;

		http_client_set_note(c, "page %ld", page);
		if (http_get(c, url.buf, &resp, err))
			goto out;
		if (resp.status < 200 || resp.status > 299) {
			http_fail_status(c, &resp, NULL, err);
			goto out;
		}
		doc = json_loadb(resp.body, resp.len, JSON_DECODE_ANY, &jerr);
		if (!doc) {
			char msg[300];

			snprintf(msg, sizeof(msg), "invalid JSON at byte %d: %s%s", jerr.position, jerr.text,
			         (size_t)jerr.position >= resp.len ? " (truncated?)" : "");
			http_fail_json(c, &resp, msg, err);
			goto out;
		}
		if (map_page(&h, c, doc, err)) {
			json_decref(doc);
			goto out;
		}
		nx = p_cursor ? pointer_get(doc, p_cursor) : p_next ? pointer_get(doc, p_next) : NULL;
		if (json_is_string(nx) && json_string_length(nx))
			next = xstrdup(json_string_value(nx));
		else if (json_is_integer(nx) && p_cursor)
			next = xasprintf("%lld", (long long)json_integer_value(nx));
		else if (nx && !json_is_null(nx) && !json_is_string(nx)) {
			vigil_error_set(err, VIGIL_E_DATA, "%s: %s: the next %s must be a string, found %s",
			                http_client_name(c), p_cursor ? p_cursor : p_next, p_cursor ? "cursor" : "URL",
			                type_name(nx));
			json_decref(doc);
			goto out;
		}
		json_decref(doc);
		if (!next)
			break;
		if (prev_next && !strcmp(prev_next, next)) {
			vigil_error_set(err, VIGIL_E_DATA, "%s: the server sent the same next %s twice (a pagination loop)",
			                http_client_name(c), p_cursor ? "cursor" : "URL");
			free(next);
			goto out;
		}
		if (page >= max_pages) {
			vigil_error_set(err, VIGIL_E_LIMIT, "%s: more than %ld pages (raise source.max_pages, or narrow "
			                "the job's window)", http_client_name(c), max_pages);
			free(next);
			goto out;
		}
		free(prev_next);
		prev_next = next;
		strbuf_reset(&url);
		if (p_cursor) {
			strbuf_addstr(&url, first.buf);
			http_add_param(&url, cursor_param, next);
		} else {
			char *abs = resolve_url(first.buf, next), *o = abs ? origin(abs) : NULL;

			if (!abs || !o || !base_origin || strcmp(o, base_origin)) {
				vigil_error_set(err, VIGIL_E_DATA, "%s: the next page URL %s (only pages on the same server "
				                "are followed)", http_client_name(c),
				                !abs ? "is not a URL" : "points to another server");
				free(abs);
				free(o);
				goto out;
			}
			strbuf_addstr(&url, abs);
			free(abs);
			free(o);
		}
	}
	http_client_set_note(c, NULL);
	for (size_t i = 0; i < out->n; i++) {
		size_t unordered = 0, merged = 0;

		series_normalize(out->items[i], DUP_LAST, &unordered, &merged, NULL);
		series_clip(out->items[i], ctx->from_ms, ctx->to_ms);   /* the API may not filter */
		if (merged)
			log_warn("http", "%s: series '%s': %zu duplicate timestamps merged (the last value kept)",
			         http_client_name(c), out->items[i]->name, merged);
		else if (unordered)
			log_debug("http", "%s: series '%s': %zu points out of time order; sorted", http_client_name(c),
			          out->items[i]->name, unordered);
	}
	rc = 0;
out:
	free(prev_next);
	free(base_origin);
	strbuf_release(&first);
	strbuf_release(&url);
	series_map_release(&h.map);
	label_list_release(&h.ll);
	http_client_free(c);
	return rc;
}

const struct source_type source_http = {
	.name = "http",
	.summary = "any HTTP API answering JSON, mapped with JSON pointers, with cursor or next-URL pages",
	.keys = httpj_keys,
	.check = httpj_check,
	.fetch = httpj_fetch,
};

/* adhoc.c - what an ad-hoc spec may do, and how its results are kept (see adhoc.h). */
#include <stdlib.h>
#include <string.h>

#include "adhoc.h"
#include "api.h"
#include "secret.h"
#include "srcpath.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

/* No file is under a directory that does not exist (srcpath.c). */
#define ADHOC_NO_DIR "/nonexistent/vigil-ad-hoc-runs-read-files-only-under-VIGIL_SOURCE_ROOTS"

const char *adhoc_spec_dir(void)
{
	static char first[4096];
	const char *roots = getenv("VIGIL_SOURCE_ROOTS");
	size_t n;

	if (!roots || roots[0] != '/')
		return ADHOC_NO_DIR;
	n = strcspn(roots, ":");
	if (n >= sizeof(first))
		return ADHOC_NO_DIR;
	memcpy(first, roots, n);
	first[n] = '\0';
	return first;
}

/* Every string value holding a ${env:} or ${file:} reference. */
static void check_refs(const json_t *v, const char *path, struct diag *d)
{
	char sub[JPATH_MAX];
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_string(v) && secret_has_ref(json_string_value(v)))
		diag_add(d, path, "secret references (${env:...}, ${file:...}) are not allowed in an ad-hoc run: they "
		         "would read the node's environment and files; put such a job in the spec directory");
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x) {
			jpath_key(sub, sizeof(sub), path, key);
			check_refs(x, sub, d);
		}
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x) {
			jpath_index(sub, sizeof(sub), path, i);
			check_refs(x, sub, d);
		}
	}
}

static void check_path(const json_t *root, struct diag *d)
{
	const json_t *p = json_object_get(json_object_get(root, "source"), "path");
	const char *roots = getenv("VIGIL_SOURCE_ROOTS");
	struct vigil_error err = VIGIL_ERROR_INIT;
	const char *msg;
	char *ok;

	if (!json_is_string(p) || secret_has_ref(json_string_value(p)))
		return;
	if (!roots || !*roots) {
		diag_add(d, "$.source.path", "an ad-hoc run reads files only under VIGIL_SOURCE_ROOTS, which is not set "
		         "for this vigil serve");
		return;
	}
	ok = srcpath_resolve(json_string_value(p), adhoc_spec_dir(), "$.source.path", json_string_value(p), &err);
	if (ok) {
		free(ok);
		return;
	}
	msg = err.msg;
	if (!strncmp(msg, "$.source.path: ", 15))
		msg += 15;
	diag_add(d, "$.source.path", "%s (an ad-hoc run reads files only under VIGIL_SOURCE_ROOTS)", msg);
}

void adhoc_check(const json_t *root, struct diag *d)
{
	const json_t *dets = json_object_get(root, "detectors"), *item;
	char entry[JPATH_MAX], path[JPATH_MAX];
	size_t i;

	if (!json_is_object(root))
		return;
	json_array_foreach(dets, i, item) {
		if (!json_object_get(item, "exec"))
			continue;
		jpath_index(entry, sizeof(entry), "$.detectors", i);
		jpath_key(path, sizeof(path), entry, "exec");
		diag_add(d, path, "executable detectors are not allowed in an ad-hoc run; push the detector to the "
		         "nodes and name it, or put the job in the spec directory");
	}
	if (json_object_get(root, "explain"))
		diag_add(d, "$.explain", "an explain executable is not allowed in an ad-hoc run");
	check_refs(root, "$", d);
	check_path(root, d);
}

int adhoc_refused(const char *text, struct diag *d)
{
	json_t *root = json_loads(text, 0, NULL);

	adhoc_check(root, d);
	json_decref(root);
	return d->n > 0;
}

/* ---- results -------------------------------------------------------------------- */

static void add_string(struct strbuf *sb, const char *s)
{
	json_t *j = json_string(s ? s : "");
	char *text = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	strbuf_addstr(sb, text ? text : "\"\"");
	free(text);
	json_decref(j);
}

static void add_doubles(struct strbuf *sb, const char *name, const double *v, size_t n)
{
	strbuf_addf(sb, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		api_format_number(sb, v[i]);
	}
	strbuf_addch(sb, ']');
}

static void add_flags(struct strbuf *sb, const char *name, const uint8_t *flags, uint8_t bit, size_t n)
{
	strbuf_addf(sb, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++)
		strbuf_addstr(sb, i ? ((flags[i] & bit) ? ",1" : ",0") : ((flags[i] & bit) ? "1" : "0"));
	strbuf_addch(sb, ']');
}

static void add_series(struct strbuf *sb, const struct stored_series *s)
{
	strbuf_addstr(sb, "{\"series\":");
	add_string(sb, s->series);
	strbuf_addf(sb, ",\"labels\":%s,\"n\":%zu,\"ts\":[", s->labels_json ? s->labels_json : "{}", s->n);
	for (size_t i = 0; i < s->n; i++)
		strbuf_addf(sb, i ? ",%lld" : "%lld", (long long)s->ts[i]);
	strbuf_addch(sb, ']');
	add_doubles(sb, "value", s->value, s->n);
	strbuf_addstr(sb, ",\"detectors\":[");
	for (size_t k = 0; k < s->n_detectors; k++) {
		const struct stored_detector *d = &s->det[k];

		strbuf_addstr(sb, k ? ",{\"id\":" : "{\"id\":");
		add_string(sb, d->id);
		strbuf_addf(sb, ",\"shadow\":%s", s->n && (d->flags[0] & STORED_SHADOW) ? "true" : "false");
		add_doubles(sb, "score", d->score, s->n);
		add_doubles(sb, "expected", d->expected, s->n);
		add_doubles(sb, "lower", d->lower, s->n);
		add_doubles(sb, "upper", d->upper, s->n);
		add_flags(sb, "anomaly", d->flags, STORED_FLAGGED, s->n);
		add_flags(sb, "alerted", d->flags, STORED_ALERTED, s->n);
		strbuf_addch(sb, '}');
	}
	strbuf_addstr(sb, "]}");
}

char *adhoc_results_text(const struct stored_series *items, size_t n, size_t dropped)
{
	struct strbuf sb = STRBUF_INIT, one = STRBUF_INIT;
	size_t kept = 0;

	strbuf_addstr(&sb, "{\"series\":[");
	for (size_t i = 0; i < n; i++) {
		strbuf_reset(&one);
		add_series(&one, &items[i]);
		if (sb.len + one.len + 64 > ADHOC_RESULTS_MAX) {
			dropped += n - i;
			break;
		}
		if (kept++)
			strbuf_addch(&sb, ',');
		strbuf_add(&sb, one.buf, one.len);
	}
	strbuf_addf(&sb, "],\"truncated\":%s,\"series_dropped\":%zu}", dropped ? "true" : "false", dropped);
	strbuf_release(&one);
	return strbuf_detach(&sb);
}

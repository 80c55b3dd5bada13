/* diag.c - a list of spec problems, each with its file and JSON path. */
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "log.h"
#include "strbuf.h"
#include "suggest.h"
#include "xmalloc.h"
#include "banned.h"

void diag_init(struct diag *d, const char *file)
{
	memset(d, 0, sizeof(*d));
	d->file = xstrdup(file ? file : "<spec>");
}

void diag_release(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->msgs[i]);
		free(d->paths[i]);
	}
	free(d->msgs);
	free(d->paths);
	free(d->text_at);
	free(d->file);
	memset(d, 0, sizeof(*d));
}

void diag_add(struct diag *d, const char *path, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	size_t at;

	strbuf_addf(&sb, "%s: ", d->file);
	if (path)
		strbuf_addf(&sb, "%s: ", path);
	at = sb.len;
	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (d->n == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 8;
		d->msgs = xreallocarray(d->msgs, d->alloc, sizeof(*d->msgs));
		d->paths = xreallocarray(d->paths, d->alloc, sizeof(*d->paths));
		d->text_at = xreallocarray(d->text_at, d->alloc, sizeof(*d->text_at));
	}
	d->paths[d->n] = path ? xstrdup(path) : NULL;
	d->text_at[d->n] = at;
	d->msgs[d->n++] = strbuf_detach(&sb);
}

/* A JSON string of s; bytes that are not UTF-8 (a file name can hold any) become '?'. */
static json_t *text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = xstrdup(s);
	for (unsigned char *p = (unsigned char *)copy; *p; p++)
		if (*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *diag_json(const struct diag *d)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < d->n; i++) {
		json_t *o = json_object();

		json_object_set_new(o, "file", text(d->file));
		json_object_set_new(o, "path", d->paths[i] ? text(d->paths[i]) : json_null());
		json_object_set_new(o, "message", text(d->msgs[i] + d->text_at[i]));
		json_array_append_new(arr, o);
	}
	return arr;
}

void diag_check_keys(struct diag *d, const void *obj, const char *const *keys, const char *extra,
                     const char *path, const char *where)
{
	const char *key;
	json_t *v;
	char sub[JPATH_MAX];

	json_object_foreach((json_t *)obj, key, v) {
		const char *cands[65], *hint;
		size_t n = 0;
		int ok = extra && !strcmp(key, extra);

		if (extra)
			cands[n++] = extra;
		for (const char *const *k = keys; *k && n < 64; k++) {
			ok |= !strcmp(key, *k);
			cands[n++] = *k;
		}
		if (ok)
			continue;
		jpath_key(sub, sizeof(sub), path, key);
		hint = suggest_closest(key, cands, n);
		if (hint)
			diag_add(d, sub, "unknown key %s (did you mean '%s'?)", where, hint);
		else
			diag_add(d, sub, "unknown key %s", where);
	}
}

void diag_print(const struct diag *d)
{
	char esc[2048];

	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "%s\n", log_escape(esc, sizeof(esc), d->msgs[i]));
}

static int is_ident(const char *key)
{
	if (!*key || isdigit((unsigned char)*key))
		return 0;
	for (; *key; key++)
		if (!isalnum((unsigned char)*key) && *key != '_' && *key != '-')
			return 0;
	return 1;
}

void jpath_key(char *buf, size_t len, const char *parent, const char *key)
{
	if (is_ident(key)) {
		snprintf(buf, len, "%s.%s", parent, key);
		return;
	}
	/* Quote odd keys, escaping quotes and control characters. */
	struct strbuf sb = STRBUF_INIT;

	strbuf_addf(&sb, "%s[\"", parent);
	for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
		if (*k == '"' || *k == '\\')
			strbuf_addf(&sb, "\\%c", *k);
		else if (*k < 0x20)
			strbuf_addf(&sb, "\\u%04x", *k);
		else
			strbuf_addch(&sb, *k);
	}
	strbuf_addstr(&sb, "\"]");
	snprintf(buf, len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
}

void jpath_index(char *buf, size_t len, const char *parent, size_t index)
{
	snprintf(buf, len, "%s[%zu]", parent, index);
}

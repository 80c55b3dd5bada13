/* series-map.c - labelled series by canonical name, in an open-addressing table. */
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"
#include "series-map.h"
#include "xmalloc.h"
#include "banned.h"

void series_map_init(struct series_map *m, struct series_set *out)
{
	memset(m, 0, sizeof(*m));
	m->out = out;
}

void series_map_release(struct series_map *m)
{
	free(m->slots);
	strbuf_release(&m->key);
	memset(m, 0, sizeof(*m));
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct vigil_label *)a)->key, ((const struct vigil_label *)b)->key);
}

static void add_quoted(struct strbuf *sb, const char *v)
{
	strbuf_addch(sb, '"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			strbuf_addch(sb, '\\');
		if (*v == '\n') {
			strbuf_addstr(sb, "\\n");
			continue;
		}
		strbuf_addch(sb, *v);
	}
	strbuf_addch(sb, '"');
}

void series_name_format(struct strbuf *sb, const char *base, struct vigil_label *labels, size_t n)
{
	strbuf_reset(sb);
	if (base)
		strbuf_addstr(sb, base);
	if (!n) {
		if (!base)
			strbuf_addstr(sb, "{}");
		return;
	}
	if (n > 1)
		qsort(labels, n, sizeof(*labels), cmp_label);
	strbuf_addch(sb, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		strbuf_addstr(sb, labels[i].key);
		strbuf_addch(sb, '=');
		add_quoted(sb, labels[i].value);
	}
	strbuf_addch(sb, '}');
}

static uint64_t hash_str(const char *p, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static void grow(struct series_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 64, i;
	struct series **ns = xcalloc(ncap, sizeof(*ns));

	for (size_t k = 0; k < m->cap; k++) {
		struct series *s = m->slots[k];

		if (!s)
			continue;
		for (i = hash_str(s->name, strlen(s->name)) & (ncap - 1); ns[i]; i = (i + 1) & (ncap - 1))
			;
		ns[i] = s;
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
}

struct series *series_map_get(struct series_map *m, const char *base, const struct vigil_label *labels,
                              size_t n)
{
	struct vigil_label stack[16], *sorted = n <= 16 ? stack : XNEWARRAY(struct vigil_label, n);
	struct series *s;
	size_t i;

	if (n)
		memcpy(sorted, labels, n * sizeof(*labels));
	series_name_format(&m->key, base, sorted, n);
	if (m->n * 2 >= m->cap)
		grow(m);
	for (i = hash_str(m->key.buf, m->key.len) & (m->cap - 1); m->slots[i]; i = (i + 1) & (m->cap - 1)) {
		if (!strcmp(m->slots[i]->name, m->key.buf)) {
			if (sorted != stack)
				free(sorted);
			return m->slots[i];
		}
	}
	s = series_new(m->key.buf);
	for (size_t k = 0; k < n; k++)
		series_add_label(s, sorted[k].key, sorted[k].value);
	if (sorted != stack)
		free(sorted);
	m->slots[i] = s;
	m->n++;
	series_set_add(m->out, s);
	return s;
}

void label_list_add(struct label_list *ll, const char *key, size_t klen, const char *value, size_t vlen)
{
	if (ll->n == ll->alloc) {
		ll->alloc = ll->alloc ? ll->alloc * 2 : 8;
		ll->l = xreallocarray(ll->l, ll->alloc, sizeof(*ll->l));
	}
	ll->l[ll->n].key = xstrndup(key, klen);
	ll->l[ll->n].value = xstrndup(value, vlen);
	ll->n++;
}

void label_list_clear(struct label_list *ll)
{
	for (size_t i = 0; i < ll->n; i++) {
		free((char *)ll->l[i].key);
		free((char *)ll->l[i].value);
	}
	ll->n = 0;
}

void label_list_release(struct label_list *ll)
{
	label_list_clear(ll);
	free(ll->l);
	ll->l = NULL;
	ll->alloc = 0;
}

int label_list_scan(struct label_list *ll, struct jscan *js, const char *what, const char *noun)
{
	const char *k, *v;
	size_t kl, vl;
	int r;

	if (jscan_object(js))
		return -1;
	while ((r = jscan_key(js, &k, &kl)) == 1) {
		/* the key is copied: reading the value may reuse the scanner's buffer */
		char *key = xstrndup(k, kl);

		if (jscan_peek(js) != JT_STRING) {
			free(key);
			return jscan_fail(js, "%s: %s values must be strings", what, noun);
		}
		if (jscan_string(js, &v, &vl)) {
			free(key);
			return -1;
		}
		label_list_add(ll, key, kl, v, vl);
		free(key);
	}
	return r;
}

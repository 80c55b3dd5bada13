/* scrub.c - the registry of resolved secrets and the scrubbing of text (see scrub.h). */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redact.h"
#include "scrub.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

/* How much of an upstream body beyond what is quoted is scrubbed, so no secret is cut in two. */
#define SCRUB_QUOTE_WINDOW (256 * 1024)

struct entry {
	char *value;
	size_t len;
	char *ref;
	uint64_t stamp;
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct entry *entries;   /* longest value first, so a whole URL wins over a part of it */
static size_t n_entries, alloc_entries;
static uint64_t clock_stamp;
static unsigned char first_byte[256];

static int by_length_desc(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->len < y->len ? 1 : x->len > y->len ? -1 : 0;
}

static void entry_free(struct entry *e)
{
	explicit_bzero(e->value, e->len);
	free(e->value);
	free(e->ref);
}

/* Under the write lock. */
static void add_entry(const char *value, size_t len, const char *ref)
{
	size_t oldest = 0;

	if (len < SCRUB_MIN_LEN)
		return;
	for (size_t i = 0; i < n_entries; i++) {
		if (entries[i].len == len && !memcmp(entries[i].value, value, len)) {
			entries[i].stamp = ++clock_stamp;
			if (strcmp(entries[i].ref, ref)) {
				free(entries[i].ref);
				entries[i].ref = xstrdup(ref);
			}
			return;
		}
		if (entries[i].stamp < entries[oldest].stamp)
			oldest = i;
	}
	if (n_entries == SCRUB_MAX_ENTRIES) {
		entry_free(&entries[oldest]);
		entries[oldest] = entries[--n_entries];
	}
	if (n_entries == alloc_entries) {
		alloc_entries = alloc_entries ? 2 * alloc_entries : 16;
		entries = xreallocarray(entries, alloc_entries, sizeof(*entries));
	}
	entries[n_entries].value = xstrndup(value, len);
	entries[n_entries].len = len;
	entries[n_entries].ref = xstrdup(ref);
	entries[n_entries].stamp = ++clock_stamp;
	n_entries++;
	qsort(entries, n_entries, sizeof(*entries), by_length_desc);
	memset(first_byte, 0, sizeof(first_byte));
	for (size_t i = 0; i < n_entries; i++)
		first_byte[(unsigned char)entries[i].value[0]] = 1;
}

static void add_encoded(const char *value, const char *ref)
{
	static const char hex[] = "0123456789ABCDEF";
	struct strbuf pct = STRBUF_INIT, js = STRBUF_INIT, go = STRBUF_INIT;

	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			strbuf_addch(&pct, *p);
		} else {
			strbuf_addch(&pct, '%');
			strbuf_addch(&pct, hex[*p >> 4]);
			strbuf_addch(&pct, hex[*p & 15]);
		}
		/* JSON as jansson writes it, and as Go's encoding/json does (<, >, & escaped too) */
		if (*p == '"' || *p == '\\') {
			strbuf_addch(&js, '\\');
			strbuf_addch(&js, *p);
			strbuf_addch(&go, '\\');
			strbuf_addch(&go, *p);
		} else if (*p < 0x20) {
			strbuf_addf(&js, "\\u%04x", *p);
			strbuf_addf(&go, "\\u%04x", *p);
		} else {
			strbuf_addch(&js, *p);
			if (*p == '<' || *p == '>' || *p == '&')
				strbuf_addf(&go, "\\u%04x", *p);
			else
				strbuf_addch(&go, *p);
		}
	}
	add_entry(strbuf_str(&pct), pct.len, ref);
	add_entry(strbuf_str(&js), js.len, ref);
	add_entry(strbuf_str(&go), go.len, ref);
	explicit_bzero(pct.buf, pct.alloc);
	explicit_bzero(js.buf, js.alloc);
	explicit_bzero(go.buf, go.alloc);
	strbuf_release(&pct);
	strbuf_release(&js);
	strbuf_release(&go);
}

/* 16 or more bytes mixing letters and digits: a token, not a word. */
static int token_like(const char *s, size_t n)
{
	int alpha = 0, digit = 0;

	if (n < 16)
		return 0;
	for (size_t i = 0; i < n; i++) {
		alpha |= isalpha((unsigned char)s[i]) != 0;
		digit |= isdigit((unsigned char)s[i]) != 0;
	}
	return alpha && digit;
}

/* The secret parts of the URLs in value (see scrub.h). */
static void add_url_parts(const char *value, const char *ref)
{
	for (const char *sep = strstr(value, "://"); sep; sep = strstr(sep + 3, "://")) {
		const char *auth = sep + 3, *end = auth, *host_end, *at = NULL;

		while (*end && !isspace((unsigned char)*end))
			end++;
		for (host_end = auth; host_end < end && !strchr("/?#", *host_end); host_end++)
			if (*host_end == '@')
				at = host_end;
		if (at) {   /* a user name alone is not a secret: "postgres@" stays */
			const char *colon = memchr(auth, ':', (size_t)(at - auth));

			if (colon) {
				add_entry(auth, (size_t)(at - auth), ref);
				add_entry(colon + 1, (size_t)(at - colon - 1), ref);
			}
		}
		for (const char *p = host_end; p < end;) {
			const char *q = p + 1, *eq;

			while (q < end && !strchr("/?&;#", *q))
				q++;
			eq = *p == '?' || *p == '&' || *p == ';' ? memchr(p, '=', (size_t)(q - p)) : NULL;
			if (eq && (redact_name_is_secret(p + 1, (size_t)(eq - p - 1)) ||
			           token_like(eq + 1, (size_t)(q - eq - 1))))
				add_entry(eq + 1, (size_t)(q - eq - 1), ref);
			else if (*p == '/' && token_like(p + 1, (size_t)(q - p - 1)))
				add_entry(p + 1, (size_t)(q - p - 1), ref);
			p = q;
		}
	}
}

void scrub_register(const char *value, const char *ref)
{
	if (!value || strlen(value) < SCRUB_MIN_LEN)
		return;
	pthread_rwlock_wrlock(&lock);
	add_entry(value, strlen(value), ref);
	add_encoded(value, ref);
	add_url_parts(value, ref);
	pthread_rwlock_unlock(&lock);
}

void scrub_register_url(const char *url, const char *ref)
{
	pthread_rwlock_wrlock(&lock);
	add_url_parts(url, ref);
	pthread_rwlock_unlock(&lock);
}

void scrub_register_basic(const char *user, const char *password, const char *ref)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *plain = xasprintf("%s:%s", user ? user : "", password ? password : "");
	const unsigned char *s = (const unsigned char *)plain;
	size_t n = strlen(plain);
	struct strbuf out = STRBUF_INIT;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
		             (i + 2 < n ? s[i + 2] : 0);

		strbuf_addch(&out, b64[v >> 18 & 63]);
		strbuf_addch(&out, b64[v >> 12 & 63]);
		strbuf_addch(&out, i + 1 < n ? b64[v >> 6 & 63] : '=');
		strbuf_addch(&out, i + 2 < n ? b64[v & 63] : '=');
	}
	pthread_rwlock_wrlock(&lock);
	add_entry(strbuf_str(&out), out.len, ref);
	pthread_rwlock_unlock(&lock);
	explicit_bzero(plain, n);
	free(plain);
	explicit_bzero(out.buf, out.alloc);
	strbuf_release(&out);
}

int scrub_active(void)
{
	size_t n;

	pthread_rwlock_rdlock(&lock);
	n = n_entries;
	pthread_rwlock_unlock(&lock);
	return n != 0;
}

/* Append text[0..len) scrubbed to out; under the read lock. */
static void scrub_into(struct strbuf *out, const char *text, size_t len)
{
	size_t i = 0, run = 0;

	while (i < len) {
		const struct entry *hit = NULL;

		if (first_byte[(unsigned char)text[i]])
			for (size_t k = 0; k < n_entries && !hit; k++)
				if (entries[k].len <= len - i && entries[k].value[0] == text[i] &&
				    !memcmp(text + i, entries[k].value, entries[k].len))
					hit = &entries[k];
		if (!hit) {
			i++;
			run++;
			continue;
		}
		strbuf_add(out, text + i - run, run);
		strbuf_addstr(out, hit->ref);
		i += hit->len;
		run = 0;
	}
	strbuf_add(out, text + len - run, run);
}

char *scrub_dup(const char *text)
{
	struct strbuf out = STRBUF_INIT;

	pthread_rwlock_rdlock(&lock);
	if (!n_entries) {
		pthread_rwlock_unlock(&lock);
		return xstrdup(text);
	}
	strbuf_grow(&out, strlen(text));
	scrub_into(&out, text, strlen(text));
	pthread_rwlock_unlock(&lock);
	return strbuf_detach(&out);
}

void scrub_buf(char *buf, size_t size)
{
	char *s;
	size_t n;

	if (!size || !scrub_active())
		return;
	s = scrub_dup(buf);
	n = strlen(s);
	if (n >= size)
		n = size - 1;
	/* never cut a UTF-8 sequence in two */
	while (n && n < strlen(s) && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	buf[n] = '\0';
	free(s);
}

/*
 * Format into buf with every resolved secret replaced by its reference
 * (scrub.h).  The whole text is scrubbed before it is cut to size, so a
 * secret is never cut in two.
 */
void scrub_vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	va_list again;
	int n;
	char *full;

	if (!scrub_active()) {
		vsnprintf(buf, size, fmt, ap);
		return;
	}
	va_copy(again, ap);
	n = vsnprintf(NULL, 0, fmt, again);
	va_end(again);
	if (n < 0) {
		vsnprintf(buf, size, fmt, ap);
		scrub_buf(buf, size);
		return;
	}
	full = xmalloc((size_t)n + 1);
	vsnprintf(full, (size_t)n + 1, fmt, ap);
	{
		char *clean = scrub_dup(full);

		snprintf(buf, size, "%s", clean);
		free(clean);
	}
	explicit_bzero(full, (size_t)n);
	free(full);
}

void scrub_json(json_t *v)
{
	const char *key;
	json_t *item;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		json_object_foreach(v, key, item)
			scrub_json(item);
		break;
	case JSON_ARRAY:
		json_array_foreach(v, i, item)
			scrub_json(item);
		break;
	case JSON_STRING: {
		char *s = scrub_dup(json_string_value(v));

		if (strcmp(s, json_string_value(v)) && json_string_set(v, s))
			json_string_set(v, REDACTED);
		free(s);
		break;
	}
	default:
		break;
	}
}

char *scrub_quote(char *dst, size_t dstlen, const char *text, size_t len, size_t max_chars)
{
	size_t window = len < max_chars + SCRUB_QUOTE_WINDOW ? len : max_chars + SCRUB_QUOTE_WINDOW;
	struct strbuf raw = STRBUF_INIT, flat = STRBUF_INIT;
	size_t cut;

	/* scrub the whole window first: cutting first could leave half a secret */
	pthread_rwlock_rdlock(&lock);
	scrub_into(&raw, text, window);
	pthread_rwlock_unlock(&lock);
	for (size_t i = 0; i < raw.len; i++) {
		char ch = raw.buf[i];

		if (ch == '\n' || ch == '\r' || ch == '\t' || ch == '\0')
			ch = ' ';
		if (ch == ' ' && flat.len && flat.buf[flat.len - 1] == ' ')
			continue;
		strbuf_addch(&flat, ch);
	}
	cut = flat.len > max_chars ? max_chars : flat.len;
	while (cut && cut < flat.len && ((unsigned char)flat.buf[cut] & 0xc0) == 0x80)
		cut--;
	if (cut < flat.len || window < len) {
		flat.len = cut;
		flat.buf[cut] = '\0';
		strbuf_addstr(&flat, "...");
	}
	log_escape(dst, dstlen, strbuf_str(&flat));
	explicit_bzero(raw.buf, raw.alloc);
	strbuf_release(&raw);
	strbuf_release(&flat);
	return dst;
}

void scrub_reset(void)
{
	pthread_rwlock_wrlock(&lock);
	for (size_t i = 0; i < n_entries; i++)
		entry_free(&entries[i]);
	free(entries);
	entries = NULL;
	n_entries = alloc_entries = 0;
	memset(first_byte, 0, sizeof(first_byte));
	pthread_rwlock_unlock(&lock);
}

/* redact.c - the one policy for what looks like a credential (see redact.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

int redact_name_is_secret(const char *name, size_t len)
{
	static const char *const parts[] = {
		"key", "token", "secret", "auth", "pass", "pwd", "session", "signature", "credential",
		"cookie", "private", "bearer", "webhook", "jwt", "csrf", "xsrf", NULL,
	};
	static const char *const words[] = { "sig", "pw", "sid", NULL };
	char low[128];
	size_t n = len < sizeof(low) - 1 ? len : sizeof(low) - 1;

	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[n] = '\0';
	for (const char *const *p = parts; *p; p++)
		if (strstr(low, *p))
			return 1;
	/* short words only as whole words: "sig" but not "signal" */
	for (size_t i = 0; i < n;) {
		size_t w = 0;

		while (i + w < n && isalnum((unsigned char)low[i + w]))
			w++;
		for (const char *const *p = words; *p && w; p++)
			if (strlen(*p) == w && !memcmp(low + i, *p, w))
				return 1;
		i += w ? w : 1;
	}
	return 0;
}

/* The end of a URL that starts at p: white space, quotes and angle brackets end it. */
static size_t url_len(const char *p)
{
	size_t n = 0;

	while (p[n] && !isspace((unsigned char)p[n]) && !strchr("\"'<>`", p[n]))
		n++;
	return n;
}

/* Append the URL u (n bytes, from "scheme://") with its credentials replaced. */
static void add_redacted_url(struct strbuf *out, const char *u, size_t n)
{
	const char *end = u + n, *auth = strstr(u, "://") + 3, *host_end = auth, *at = NULL, *q, *frag;

	while (host_end < end && !strchr("/?#", *host_end))
		host_end++;
	for (const char *p = auth; p < host_end; p++)
		if (*p == '@')
			at = p;
	strbuf_add(out, u, (size_t)(auth - u));
	if (at) {
		strbuf_addstr(out, REDACTED);
		auth = at;
	}
	q = memchr(host_end, '?', (size_t)(end - host_end));
	frag = memchr(host_end, '#', (size_t)(end - host_end));
	if (!q || (frag && frag < q)) {
		strbuf_add(out, auth, (size_t)(end - auth));
		return;
	}
	strbuf_add(out, auth, (size_t)(q + 1 - auth));
	for (const char *p = q + 1, *stop = frag ? frag : end; p < stop;) {
		const char *amp = p, *eq;

		while (amp < stop && *amp != '&' && *amp != ';')
			amp++;
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq && redact_name_is_secret(p, (size_t)(eq - p))) {
			strbuf_add(out, p, (size_t)(eq + 1 - p));
			strbuf_addstr(out, REDACTED);
		} else {
			strbuf_add(out, p, (size_t)(amp - p));
		}
		if (amp < stop)
			strbuf_addch(out, *amp++);
		p = amp;
	}
	if (frag)
		strbuf_add(out, frag, (size_t)(end - frag));
}

char *redact_url(const char *s)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = s, *sep;

	while ((sep = strstr(p, "://"))) {
		const char *start = sep;

		while (start > p && (isalnum((unsigned char)start[-1]) || strchr("+-.", start[-1])))
			start--;
		if (start == sep) {   /* no scheme: not a URL */
			strbuf_add(&out, p, (size_t)(sep + 3 - p));
			p = sep + 3;
			continue;
		}
		strbuf_add(&out, p, (size_t)(start - p));
		{
			size_t n = url_len(start);

			add_redacted_url(&out, start, n);
			p = start + n;
		}
	}
	strbuf_addstr(&out, p);
	return strbuf_detach(&out);
}

json_t *redact_spec(const json_t *v)
{
	const char *key;
	json_t *item, *out;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		out = json_object();
		json_object_foreach((json_t *)v, key, item)
			json_object_set_new(out, key, redact_name_is_secret(key, strlen(key)) ? json_string(REDACTED)
			                                                                        : redact_spec(item));
		return out;
	case JSON_ARRAY:
		out = json_array();
		json_array_foreach(v, i, item)
			json_array_append_new(out, redact_spec(item));
		return out;
	case JSON_STRING: {
		char *s = redact_url(json_string_value(v));
		json_t *j = json_string(s);

		free(s);
		return j ? j : json_string(REDACTED);
	}
	default:
		return json_deep_copy(v);
	}
}

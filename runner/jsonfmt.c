/* jsonfmt.c - shortest round-trip reals in JSON text (see jsonfmt.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jsonfmt.h"
#include "strbuf.h"
#include "xmalloc.h"
#include "banned.h"

/* The shortest "%.*g" of the real in text[0..len) that reads back the same, kept a real. */
static void shortest(struct strbuf *sb, const char *text, size_t len)
{
	char in[64], buf[64];
	double v;

	if (len >= sizeof(in)) {
		strbuf_add(sb, text, len);
		return;
	}
	memcpy(in, text, len);
	in[len] = '\0';
	v = strtod(in, NULL);
	/* at least the integer digits: "%.1g" of 500 is "5e+02" */
	for (int p = fabs(v) >= 1 && fabs(v) < 1e15 ? (int)floor(log10(fabs(v))) + 1 : 1; p <= 17; p++) {
		snprintf(buf, sizeof(buf), "%.*g", p, v);
		if (strtod(buf, NULL) != v)
			continue;
		/* "5e+02" is shortest, but people read 500.0: no exponent for everyday magnitudes */
		if (strchr(buf, 'e') && fabs(v) >= 1 && fabs(v) < 1e17)
			snprintf(buf, sizeof(buf), "%.0f", v);
		break;
	}
	strbuf_addstr(sb, buf);
	if (!strpbrk(buf, ".eEn"))
		strbuf_addstr(sb, ".0");
}

char *jsonfmt_dumps(const json_t *j, size_t flags)
{
	char *raw = json_dumps(j, (flags & ~(size_t)JSON_REAL_PRECISION(31)) | JSON_REAL_PRECISION(17));
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (!raw)
		return NULL;
	for (p = raw; *p; ) {
		if (*p == '"') {   /* a string: copied as is */
			const char *q = p + 1;

			while (*q && *q != '"')
				q += *q == '\\' && q[1] ? 2 : 1;
			if (*q)
				q++;
			strbuf_add(&sb, p, (size_t)(q - p));
			p = q;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			size_t n = strspn(p, "-+0123456789.eE");

			if (memchr(p, '.', n) || memchr(p, 'e', n) || memchr(p, 'E', n))
				shortest(&sb, p, n);
			else
				strbuf_add(&sb, p, n);
			p += n;
		} else {
			strbuf_addch(&sb, *p++);
		}
	}
	free(raw);
	return strbuf_detach(&sb);
}

int jsonfmt_dumpf(const json_t *j, FILE *out, size_t flags)
{
	char *text = jsonfmt_dumps(j, flags);
	int rc;

	if (!text)
		return -1;
	rc = fputs(text, out) == EOF ? -1 : 0;
	free(text);
	return rc;
}

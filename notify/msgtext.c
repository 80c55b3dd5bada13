/* msgtext.c - outside text into messages: UTF-8 repair, escaping, byte budgets. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "msgtext.h"
#include "banned.h"

#define REPLACEMENT "\xef\xbf\xbd"   /* U+FFFD */

/*
 * Length of the valid UTF-8 sequence at p (1-4), or 0 if the bytes there are
 * not one (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t utf8_seq(const unsigned char *p)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))
			return 0;
		return 4;
	}
	return 0;
}

/* The output for the character at *pp (advanced past it); returns its length in out. */
static size_t piece(const unsigned char **pp, unsigned flags, const char **out)
{
	const unsigned char *p = *pp;
	size_t n = utf8_seq(p);

	if (!n) {
		*pp = p + 1;
		*out = REPLACEMENT;
		return 3;
	}
	*pp = p + n;
	if (n > 1) {
		*out = (const char *)p;
		return n;
	}
	switch (*p) {
	case '&':
		if (flags & MSGTEXT_MRKDWN) {
			*out = "&amp;";
			return 5;
		}
		break;
	case '<':
		if (flags & MSGTEXT_MRKDWN) {
			*out = "&lt;";
			return 4;
		}
		break;
	case '>':
		if (flags & MSGTEXT_MRKDWN) {
			*out = "&gt;";
			return 4;
		}
		break;
	case '`':
		if (flags & MSGTEXT_NOTICK) {
			*out = "'";
			return 1;
		}
		break;
	case '\n':
		if (!(flags & MSGTEXT_ONELINE)) {
			*out = "\n";
			return 1;
		}
		*out = " ";
		return 1;
	default:
		break;
	}
	if (*p < 0x20 || *p == 0x7f) {
		*out = " ";
		return 1;
	}
	*out = (const char *)p;
	return 1;
}

size_t msgtext_len(const char *s, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *out;
	size_t n = 0;

	while (*p)
		n += piece(&p, flags, &out);
	return n;
}

int msgtext_append(struct strbuf *sb, const char *s, size_t max, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t base = sb->len, used = 0, fits_with_ellipsis = 0;
	const char *out;

	while (*p) {
		size_t n = piece(&p, flags, &out);

		if (used + n > max) {
			/* Cut back to the last point that leaves room for the ellipsis. */
			sb->len = base + fits_with_ellipsis;
			if (sb->buf)
				sb->buf[sb->len] = '\0';
			if (max >= 3)
				strbuf_add(sb, MSGTEXT_ELLIPSIS, 3);
			return 1;
		}
		strbuf_add(sb, out, n);
		used += n;
		if (used + 3 <= max)
			fits_with_ellipsis = used;
	}
	return 0;
}

int msgtext_cut(struct strbuf *sb, size_t start, size_t max)
{
	size_t end, limit;

	if (sb->len - start <= max)
		return 0;
	limit = max >= 3 ? max - 3 : 0;
	end = start + limit;
	/* back to a character boundary */
	while (end > start && ((unsigned char)sb->buf[end] & 0xc0) == 0x80)
		end--;
	/* not inside an entity or a <...> sequence */
	for (size_t i = end; i > start; i--) {
		char c = sb->buf[i - 1];

		if (c == ';' || c == '>')
			break;
		if (c == '&' || c == '<') {
			end = i - 1;
			break;
		}
	}
	sb->len = end;
	sb->buf[end] = '\0';
	if (max >= 3)
		strbuf_add(sb, MSGTEXT_ELLIPSIS, 3);
	return 1;
}

json_t *msgtext_json(const char *s, size_t max)
{
	struct strbuf sb = STRBUF_INIT;
	json_t *j;

	msgtext_append(&sb, s ? s : "", max, 0);
	j = json_stringn(strbuf_str(&sb), sb.len);
	strbuf_release(&sb);
	return j ? j : json_string("");
}

/* Four significant digits; whole numbers from 1000 up (no exponent for everyday sizes). */
void msgtext_number(char *buf, size_t len, double v)
{
	if (isnan(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 1000 && fabs(v) < 1e15)
		snprintf(buf, len, "%.0f", v);
	else
		snprintf(buf, len, "%.4g", v);
}

void msgtext_number_short(char *buf, size_t len, double v)
{
	msgtext_number(buf, len, v);
}

/*
 * jsonscan.c - a strict, non-recursive pull scanner over JSON in memory,
 * for the large responses of the HTTP sources (see jsonscan.h).
 *
 * Separators are checked from the last significant character consumed: a
 * member or element needs no comma only right after '{' or '['.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonscan.h"
#include "xmalloc.h"
#include "banned.h"

#define JSCAN_MAX_DEPTH 10000

void jscan_init(struct jscan *s, const char *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	s->start = s->p = buf;
	s->end = buf + len;
	s->last = '\0';
}

void jscan_release(struct jscan *s)
{
	strbuf_release(&s->scratch);
}

int jscan_fail(struct jscan *s, const char *fmt, ...)
{
	char what[200];
	va_list ap;

	if (s->failed)
		return -1;
	s->failed = 1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(s->msg, sizeof(s->msg), "invalid JSON at byte %zu: %s", (size_t)(s->p - s->start), what);
	return -1;
}

static void skip_ws(struct jscan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t'))
		s->p++;
}

static int fail_unexpected(struct jscan *s, const char *expected)
{
	if (s->p >= s->end)
		return jscan_fail(s, "unexpected end of input where %s was expected (truncated?)", expected);
	if ((unsigned char)*s->p >= 0x20 && (unsigned char)*s->p < 0x7f)
		return jscan_fail(s, "'%c' where %s was expected", *s->p, expected);
	return jscan_fail(s, "byte 0x%02x where %s was expected", (unsigned char)*s->p, expected);
}

enum jtype jscan_peek(struct jscan *s)
{
	if (s->failed)
		return JT_ERROR;
	skip_ws(s);
	if (s->p >= s->end)
		return JT_END;
	switch (*s->p) {
	case '{': return JT_OBJECT;
	case '[': return JT_ARRAY;
	case '"': return JT_STRING;
	case 't': return JT_TRUE;
	case 'f': return JT_FALSE;
	case 'n': return JT_NULL;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return JT_NUMBER;
	default:
		fail_unexpected(s, "a value");
		return JT_ERROR;
	}
}

const char *jscan_type_name(enum jtype t)
{
	switch (t) {
	case JT_OBJECT: return "an object";
	case JT_ARRAY: return "an array";
	case JT_STRING: return "a string";
	case JT_NUMBER: return "a number";
	case JT_TRUE: case JT_FALSE: return "a boolean";
	case JT_NULL: return "null";
	case JT_END: return "the end of input";
	default: return "invalid JSON";
	}
}

static int expect_char(struct jscan *s, char c, const char *what)
{
	if (s->failed)
		return -1;
	skip_ws(s);
	if (s->p >= s->end || *s->p != c)
		return fail_unexpected(s, what);
	s->p++;
	s->last = c;
	return 0;
}

int jscan_object(struct jscan *s)
{
	return expect_char(s, '{', "an object");
}

int jscan_array(struct jscan *s)
{
	return expect_char(s, '[', "an array");
}

/* Before a member/element: the closing bracket (returns 0), a comma when needed (1). */
static int next_member(struct jscan *s, char close)
{
	if (s->failed)
		return -1;
	skip_ws(s);
	if (s->p < s->end && *s->p == close && (s->last != ',')) {
		s->p++;
		s->last = close;
		return 0;
	}
	if (s->last != '{' && s->last != '[') {
		if (s->p >= s->end || *s->p != ',')
			return fail_unexpected(s, close == '}' ? "',' or '}'" : "',' or ']'");
		s->p++;
		s->last = ',';
		skip_ws(s);
	}
	return 1;
}

/* Validate UTF-8 in [p, end); returns the length of the sequence at p, or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	unsigned c = p[0], cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static void put_utf8(struct strbuf *sb, unsigned cp)
{
	if (cp < 0x80) {
		strbuf_addch(sb, (int)cp);
	} else if (cp < 0x800) {
		strbuf_addch(sb, (int)(0xc0 | (cp >> 6)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		strbuf_addch(sb, (int)(0xe0 | (cp >> 12)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	} else {
		strbuf_addch(sb, (int)(0xf0 | (cp >> 18)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 12) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | ((cp >> 6) & 0x3f)));
		strbuf_addch(sb, (int)(0x80 | (cp & 0x3f)));
	}
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/*
 * Read a string at s->p (which is '"').  With decode, the text goes to *str
 * (into the input when it has no escapes, else into the scratch buffer).
 */
static int read_string(struct jscan *s, int decode, const char **str, size_t *len)
{
	const char *p = s->p + 1, *run = p;
	int escaped = 0;

	for (;;) {
		while (p < s->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 &&
		       (unsigned char)*p < 0x80)
			p++;
		if (p >= s->end) {
			s->p = p;
			return jscan_fail(s, "unterminated string (truncated?)");
		}
		if (*p == '"')
			break;
		if ((unsigned char)*p < 0x20) {
			s->p = p;
			return jscan_fail(s, "control character 0x%02x in a string", (unsigned char)*p);
		}
		if ((unsigned char)*p >= 0x80) {
			size_t n = utf8_seq((const unsigned char *)p, (const unsigned char *)s->end);

			if (!n) {
				s->p = p;
				return jscan_fail(s, "invalid UTF-8 in a string");
			}
			p += n;
			continue;
		}
		/* a backslash escape */
		if (decode && !escaped) {
			strbuf_reset(&s->scratch);
			escaped = 1;
		}
		if (decode)
			strbuf_add(&s->scratch, run, (size_t)(p - run));
		if (p + 1 >= s->end) {
			s->p = p;
			return jscan_fail(s, "unterminated string (truncated?)");
		}
		switch (p[1]) {
		case '"': case '\\': case '/':
			if (decode)
				strbuf_addch(&s->scratch, p[1]);
			p += 2;
			break;
		case 'b': case 'f': case 'n': case 'r': case 't':
			if (decode)
				strbuf_addch(&s->scratch, p[1] == 'b' ? '\b' : p[1] == 'f' ? '\f' :
				             p[1] == 'n' ? '\n' : p[1] == 'r' ? '\r' : '\t');
			p += 2;
			break;
		case 'u': {
			unsigned cp, lo;

			if (s->end - p < 6 || hex4(p + 2, &cp)) {
				s->p = p;
				return jscan_fail(s, "bad \\u escape in a string");
			}
			p += 6;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (s->end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) ||
				    lo < 0xdc00 || lo > 0xdfff) {
					s->p = p;
					return jscan_fail(s, "unpaired surrogate in a \\u escape");
				}
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p += 6;
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				s->p = p;
				return jscan_fail(s, "unpaired surrogate in a \\u escape");
			} else if (cp == 0) {
				s->p = p;
				return jscan_fail(s, "\\u0000 in a string");
			}
			if (decode)
				put_utf8(&s->scratch, cp);
			break;
		}
		default:
			s->p = p;
			return jscan_fail(s, "bad escape '\\%c' in a string", p[1]);
		}
		run = p;
	}
	if (decode) {
		if (escaped) {
			strbuf_add(&s->scratch, run, (size_t)(p - run));
			*str = strbuf_str(&s->scratch);
			*len = s->scratch.len;
		} else {
			*str = s->p + 1;
			*len = (size_t)(p - s->p - 1);
		}
	}
	s->p = p + 1;
	s->last = '"';
	return 0;
}

int jscan_key(struct jscan *s, const char **key, size_t *len)
{
	int r = next_member(s, '}');

	if (r <= 0)
		return r;
	if (s->p >= s->end || *s->p != '"')
		return fail_unexpected(s, "a member name");
	if (read_string(s, 1, key, len))
		return -1;
	if (expect_char(s, ':', "':'"))
		return -1;
	return 1;
}

int jscan_next(struct jscan *s)
{
	return next_member(s, ']');
}

int jscan_string(struct jscan *s, const char **str, size_t *len)
{
	if (s->failed)
		return -1;
	skip_ws(s);
	if (s->p >= s->end || *s->p != '"')
		return fail_unexpected(s, "a string");
	return read_string(s, 1, str, len);
}

int jscan_number_text(struct jscan *s, const char **text, size_t *len)
{
	const char *p, *b;

	if (s->failed)
		return -1;
	skip_ws(s);
	p = b = s->p;
	if (p < s->end && *p == '-')
		p++;
	if (p < s->end && *p == '0') {
		p++;
	} else if (p < s->end && *p >= '1' && *p <= '9') {
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return fail_unexpected(s, "a number");
	}
	if (p < s->end && *p == '.') {
		const char *d = ++p;

		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
		if (p == d) {
			s->p = p;
			return fail_unexpected(s, "a digit");
		}
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		const char *d;

		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			p++;
		d = p;
		while (p < s->end && *p >= '0' && *p <= '9')
			p++;
		if (p == d) {
			s->p = p;
			return fail_unexpected(s, "a digit");
		}
	}
	*text = b;
	*len = (size_t)(p - b);
	s->p = p;
	s->last = '0';
	return 0;
}

static const double pow10_exact[23];

/*
 * The grammar of jscan_number_text() and the value in one pass: up to 19
 * significant digits accumulate exactly, and a mantissa below 2^53 with a
 * power of ten up to 22 is one exact operation (Clinger's fast path); any
 * other number goes to json_parse_double().  Numbers are most of a detector's
 * response (docs/exec-protocol.md#performance), so this is the hot loop.
 */
static inline int scan_double(struct jscan *s, double *v)
{
	const char *p, *b;
	uint64_t m = 0;
	int digits = 0, exp10 = 0, neg = 0, exact = 1;

	if (s->failed)
		return -1;
	skip_ws(s);
	p = b = s->p;
	if (p < s->end && *p == '-') {
		neg = 1;
		p++;
	}
	if (p < s->end && *p == '0') {
		p++;
	} else if (p < s->end && *p >= '1' && *p <= '9') {
		for (; p < s->end && *p >= '0' && *p <= '9'; p++) {
			if (digits < 19) {
				m = m * 10 + (uint64_t)(*p - '0');
				digits++;
			} else {
				exact = 0;
			}
		}
	} else {
		return fail_unexpected(s, "a number");
	}
	if (p < s->end && *p == '.') {
		const char *d = ++p;

		for (; p < s->end && *p >= '0' && *p <= '9'; p++) {
			if (digits < 19) {
				m = m * 10 + (uint64_t)(*p - '0');
				digits += m != 0;
				exp10--;
			} else {
				exact = 0;
			}
		}
		if (p == d) {
			s->p = p;
			return fail_unexpected(s, "a digit");
		}
	}
	if (p < s->end && (*p == 'e' || *p == 'E')) {
		const char *d;
		int eneg = 0, e = 0;

		p++;
		if (p < s->end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		for (d = p; p < s->end && *p >= '0' && *p <= '9'; p++)
			if (e < 100000)
				e = e * 10 + (*p - '0');
		if (p == d) {
			s->p = p;
			return fail_unexpected(s, "a digit");
		}
		exp10 += eneg ? -e : e;
	}
	s->p = p;
	s->last = '0';
	if (exact && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
		double d = (double)m;

		d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
		*v = neg ? -d : d;
		return 0;
	}
	if (json_parse_double(b, (size_t)(p - b), v))
		return jscan_fail(s, "bad number");
	return 0;
}

int jscan_double(struct jscan *s, double *v)
{
	return scan_double(s, v);
}

static int literal(struct jscan *s, const char *word);

int jscan_doubles(struct jscan *s, double *out, size_t cap, size_t *count)
{
	for (;;) {
		int r = next_member(s, ']');
		double v;

		if (r <= 0)
			return r;
		if (s->p < s->end && (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))) {
			if (scan_double(s, &v))
				return -1;
		} else if (s->p < s->end && *s->p == 'n') {
			if (literal(s, "null"))
				return -1;
			v = NAN;
		} else {
			return 1;
		}
		if (*count < cap)
			out[*count] = v;
		(*count)++;
	}
}

static int literal(struct jscan *s, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return fail_unexpected(s, "a value");
	s->p += n;
	s->last = 'l';
	return 0;
}

int jscan_null(struct jscan *s)
{
	if (s->failed)
		return -1;
	skip_ws(s);
	return literal(s, "null");
}

int jscan_skip(struct jscan *s)
{
	char *stack = NULL;
	size_t depth = 0, alloc = 0;
	int rc = -1;

	for (;;) {
		enum jtype t = jscan_peek(s);
		const char *x;
		size_t l;

		/* one value, or the opening of a container */
		switch (t) {
		case JT_OBJECT:
		case JT_ARRAY:
			if (depth == JSCAN_MAX_DEPTH) {
				jscan_fail(s, "nested deeper than %d levels", JSCAN_MAX_DEPTH);
				goto out;
			}
			if (depth == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				stack = xreallocarray(stack, alloc, 1);
			}
			stack[depth++] = t == JT_OBJECT ? '}' : ']';
			s->last = *s->p;
			s->p++;
			break;
		case JT_STRING:
			if (read_string(s, 0, NULL, NULL))
				goto out;
			break;
		case JT_NUMBER:
			if (jscan_number_text(s, &x, &l))
				goto out;
			break;
		case JT_TRUE:
		case JT_FALSE:
		case JT_NULL:
			if (literal(s, t == JT_TRUE ? "true" : t == JT_FALSE ? "false" : "null"))
				goto out;
			break;
		case JT_END:
			fail_unexpected(s, "a value");
			goto out;
		default:
			goto out;
		}
		/* then the next member to read, closing containers on the way */
		for (;;) {
			int r;

			if (!depth) {
				rc = 0;
				goto out;
			}
			r = next_member(s, stack[depth - 1]);
			if (r < 0)
				goto out;
			if (r == 0) {
				depth--;
				continue;
			}
			if (stack[depth - 1] == '}') {
				if (s->p >= s->end || *s->p != '"') {
					fail_unexpected(s, "a member name");
					goto out;
				}
				if (read_string(s, 0, NULL, NULL) || expect_char(s, ':', "':'"))
					goto out;
			}
			break;
		}
	}
out:
	free(stack);
	return rc;
}

int jscan_finish(struct jscan *s)
{
	if (s->failed)
		return -1;
	skip_ws(s);
	if (s->p != s->end)
		return jscan_fail(s, "unexpected data after the JSON value");
	return 0;
}

/* --- numbers ---------------------------------------------------------- */

static const double pow10_exact[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

int json_parse_double(const char *s, size_t len, double *out)
{
	uint64_t mant = 0;
	int digits = 0, exp10 = 0, neg = 0, seen = 0;
	size_t i = 0;
	char buf[128], *end;

	if (!len)
		return -1;
	if (len == 3 && !strncasecmp(s, "nan", 3)) {
		*out = NAN;
		return 0;
	}
	if (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-';
		i++;
	}
	if ((len - i == 3 && !strncasecmp(s + i, "inf", 3)) || (len - i == 8 && !strncasecmp(s + i, "infinity", 8))) {
		*out = neg ? -INFINITY : INFINITY;
		return 0;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		seen = 1;
		if (digits >= 19)
			goto slow;
		mant = mant * 10 + (uint64_t)(s[i] - '0');
		if (mant)
			digits++;
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			seen = 1;
			if (digits >= 19)
				goto slow;
			mant = mant * 10 + (uint64_t)(s[i] - '0');
			if (mant)
				digits++;
			exp10--;
		}
	}
	if (!seen || i != len || (mant >> 53) || exp10 < -22)
		goto slow;
	*out = exp10 < 0 ? (double)mant / pow10_exact[-exp10] : (double)mant;
	if (neg)
		*out = -*out;
	return 0;
slow:
	if (len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	if (end != buf + len || end == buf || isnan(*out))
		return -1;
	return 0;
}

int json_decimal_to_ms(const char *s, size_t len, int64_t unit_ms, int64_t *ms)
{
	__int128 mant = 0, v;
	int exp10 = 0, neg = 0, digits = 0, seen = 0;
	size_t i = 0;
	long e = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, seen = 1) {
		if (digits < 30) {
			mant = mant * 10 + (s[i] - '0');
			digits += mant != 0;
		} else {
			exp10++;
		}
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, seen = 1) {
			if (digits < 30) {
				mant = mant * 10 + (s[i] - '0');
				digits += mant != 0;
				exp10--;
			}
		}
	}
	if (!seen)
		return -1;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		int eneg = 0, ed = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, ed++)
			if (e < 100000)
				e = e * 10 + (s[i] - '0');
		if (!ed)
			return -1;
		exp10 += (int)(eneg ? -e : e);
	}
	if (i != len)
		return -1;
	v = mant * unit_ms;
	if (neg)
		v = -v;
	for (; exp10 > 0; exp10--) {
		v *= 10;
		if (v > (__int128)INT64_MAX || v < (__int128)INT64_MIN)
			return -1;
	}
	if (exp10 < 0) {
		__int128 d = 1;

		if (exp10 < -38) {
			*ms = v < 0 ? -1 : 0;
			return 0;
		}
		for (; exp10 < 0; exp10++)
			d *= 10;
		if (v >= 0)
			v /= d;
		else
			v = -((-v + d - 1) / d);
	}
	if (v > (__int128)INT64_MAX || v < (__int128)INT64_MIN)
		return -1;
	*ms = (int64_t)v;
	return 0;
}

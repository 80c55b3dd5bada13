/*
 * exec-proto.c - encode requests and decode responses of the external
 * detector protocol (docs/exec-protocol.md).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec-proto.h"
#include "log.h"
#include "xmalloc.h"
#include "banned.h"

static const double p10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* --- encoding ------------------------------------------------------------ */

static const char digits2[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Digits of u into the end of buf; returns the first digit. */
static char *u64_digits(char *end, uint64_t u)
{
	while (u >= 100) {
		unsigned d = (unsigned)(u % 100) * 2;

		u /= 100;
		*--end = digits2[d + 1];
		*--end = digits2[d];
	}
	if (u >= 10) {
		*--end = digits2[u * 2 + 1];
		*--end = digits2[u * 2];
	} else {
		*--end = (char)('0' + u);
	}
	return end;
}

/* Write v at p (at most 21 bytes); returns the end. */
static char *fmt_i64(char *p, int64_t v)
{
	char buf[24], *d = u64_digits(buf + sizeof(buf), v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	size_t len = (size_t)(buf + sizeof(buf) - d);

	if (v < 0)
		*p++ = '-';
	memcpy(p, d, len);
	return p + len;
}

static void put_i64(struct strbuf *sb, int64_t v)
{
	strbuf_grow(sb, 24);
	sb->len = (size_t)(fmt_i64(sb->buf + sb->len, v) - sb->buf);
	sb->buf[sb->len] = '\0';
}

/*
 * Write v at p (at most 26 bytes); returns the end.  The shortest of "m",
 * "m/10", ... "m/10^k" that reads back as v, checked exactly: m < 2^53 and
 * 10^k are exact doubles, so m / 10^k is correctly rounded, as strtod of
 * the same digits is.  Metric values usually have a few decimals and take
 * this path; others take %.17g.
 */
static char *fmt_double(char *p, double v)
{
	double a = fabs(v);

	if (isnan(v)) {
		memcpy(p, "null", 4);
		return p + 4;
	}
	if (isinf(v)) {
		if (v > 0) {
			memcpy(p, "\"inf\"", 5);
			return p + 5;
		}
		memcpy(p, "\"-inf\"", 6);
		return p + 6;
	}
	if (a < 9e15 && v == (double)(int64_t)v)
		return fmt_i64(p, (int64_t)v);
	if (a >= 1e-6 && a < 1e15) {
		for (int k = 1; k <= 17 && a * p10[k] < 9e15; k++) {
			double x = a * p10[k], scaled = (double)(int64_t)(x + 0.5);

			/* The exact check (a division) only when the product is nearly whole. */
			if (fabs(x - scaled) <= 1e-6 * scaled && scaled / p10[k] == a) {
				/* The digits of m, then the point inserted k digits from the end. */
				char buf[32], *end = buf + sizeof(buf), *q = u64_digits(end, (uint64_t)scaled);
				size_t nd = (size_t)(end - q), ip = nd > (size_t)k ? nd - (size_t)k : 0;

				if (v < 0)
					*p++ = '-';
				if (ip) {
					memcpy(p, q, ip);
					p += ip;
				} else {
					*p++ = '0';
				}
				*p++ = '.';
				for (size_t z = nd; z < (size_t)k; z++)
					*p++ = '0';
				memcpy(p, q + ip, nd - ip);
				return p + (nd - ip);
			}
		}
	}
	return p + snprintf(p, 26, "%.17g", v);
}

void exec_proto_put_double(struct strbuf *sb, double v)
{
	strbuf_grow(sb, 32);
	sb->len = (size_t)(fmt_double(sb->buf + sb->len, v) - sb->buf);
	sb->buf[sb->len] = '\0';
}

static size_t utf8_len(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	uint32_t cp;

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
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void exec_proto_put_string(struct strbuf *sb, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;

	strbuf_addch(sb, '"');
	while (*s) {
		const unsigned char *run = s;
		size_t n;

		while (*s >= 0x20 && *s < 0x80 && *s != '"' && *s != '\\')
			s++;
		if (s > run)
			strbuf_add(sb, run, (size_t)(s - run));
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			char esc[2] = { '\\', (char)*s };

			strbuf_add(sb, esc, 2);
			s++;
		} else if (*s < 0x20) {
			char esc[6] = { '\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 15] };

			strbuf_add(sb, esc, 6);
			s++;
		} else if ((n = utf8_len(s)) > 0) {
			strbuf_add(sb, s, n);
			s += n;
		} else {
			strbuf_addstr(sb, "\\ufffd");
			s++;
		}
	}
	strbuf_addch(sb, '"');
}

void exec_proto_detect_request(struct strbuf *sb, uint64_t id, const char *detector,
                               const char *params_json, const struct exec_context *ctx,
                               const struct series *s)
{
	strbuf_addstr(sb, "{\"protocol\":1,\"method\":\"detect\",\"id\":");
	put_i64(sb, (int64_t)id);
	strbuf_addstr(sb, ",\"detector\":");
	exec_proto_put_string(sb, detector);
	strbuf_addstr(sb, ",\"params\":");
	strbuf_addstr(sb, params_json ? params_json : "{}");
	strbuf_addstr(sb, ",\"context\":{\"job\":");
	exec_proto_put_string(sb, ctx && ctx->job ? ctx->job : "");
	strbuf_addstr(sb, ",\"run_id\":");
	if (ctx && ctx->run_id)
		put_i64(sb, ctx->run_id);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ",\"entry\":");
	exec_proto_put_string(sb, ctx && ctx->entry_id ? ctx->entry_id : detector);
	strbuf_addstr(sb, "},\"series\":{\"name\":");
	exec_proto_put_string(sb, s->name);
	strbuf_addstr(sb, ",\"labels\":{");
	for (size_t i = 0; i < s->n_labels; i++) {
		if (i)
			strbuf_addch(sb, ',');
		exec_proto_put_string(sb, s->labels[i].key);
		strbuf_addch(sb, ':');
		exec_proto_put_string(sb, s->labels[i].value);
	}
	strbuf_addstr(sb, "},\"ts\":[");
	/* The arrays are written straight into the buffer: room for the longest numbers. */
	strbuf_grow(sb, s->n * 50 + 32);
	{
		char *p = sb->buf + sb->len;

		for (size_t i = 0; i < s->n; i++) {
			if (i)
				*p++ = ',';
			p = fmt_i64(p, s->ts[i]);
		}
		memcpy(p, "],\"values\":[", 12);
		p += 12;
		for (size_t i = 0; i < s->n; i++) {
			if (i)
				*p++ = ',';
			p = fmt_double(p, s->v[i]);
		}
		sb->len = (size_t)(p - sb->buf);
		sb->buf[sb->len] = '\0';
	}
	strbuf_addstr(sb, "]}}\n");
}

void exec_proto_describe_request(struct strbuf *sb, uint64_t id)
{
	strbuf_addstr(sb, "{\"protocol\":1,\"method\":\"describe\",\"id\":");
	put_i64(sb, (int64_t)id);
	strbuf_addstr(sb, "}\n");
}

/* --- decoding: a pull parser over one line -------------------------------- */

struct cur {
	const char *p, *end;
	struct vigil_error *err;
};

static int bad(struct cur *c, const char *fmt, const char *what)
{
	return vigil_error_set(c->err, VIGIL_E_PLUGIN, fmt, what);
}

static void ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static int peek(struct cur *c)
{
	ws(c);
	return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int eat(struct cur *c, char ch)
{
	if (peek(c) != ch)
		return 0;
	c->p++;
	return 1;
}

static int lit(struct cur *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n))
		return -1;
	c->p += n;
	return 0;
}

static int hex4(const char *p, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		int ch = p[i], d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return 0;
}

static void put_utf8(struct strbuf *sb, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		b[0] = (char)cp;
		strbuf_add(sb, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		strbuf_add(sb, b, 4);
	}
}

/* A string into out (may be NULL to skip it). */
static int str(struct cur *c, struct strbuf *out)
{
	if (!eat(c, '"'))
		return bad(c, "malformed response: %s", "a string was expected");
	while (c->p < c->end) {
		const char *run = c->p;

		while (c->p < c->end && *c->p != '"' && *c->p != '\\' && (unsigned char)*c->p >= 0x20)
			c->p++;
		if (out && c->p > run)
			strbuf_add(out, run, (size_t)(c->p - run));
		if (c->p >= c->end)
			break;
		if (*c->p == '"') {
			c->p++;
			return 0;
		}
		if ((unsigned char)*c->p < 0x20)
			return bad(c, "malformed response: %s", "control character in a string");
		c->p++;
		if (c->p >= c->end)
			break;
		switch (*c->p++) {
		case '"': if (out) strbuf_addch(out, '"'); break;
		case '\\': if (out) strbuf_addch(out, '\\'); break;
		case '/': if (out) strbuf_addch(out, '/'); break;
		case 'b': if (out) strbuf_addch(out, '\b'); break;
		case 'f': if (out) strbuf_addch(out, '\f'); break;
		case 'n': if (out) strbuf_addch(out, '\n'); break;
		case 'r': if (out) strbuf_addch(out, '\r'); break;
		case 't': if (out) strbuf_addch(out, '\t'); break;
		case 'u': {
			uint32_t cp, lo;

			if (c->end - c->p < 4 || hex4(c->p, &cp))
				return bad(c, "malformed response: %s", "bad \\u escape");
			c->p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff && c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u'
			    && !hex4(c->p + 2, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				c->p += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			if (out)
				put_utf8(out, cp);
			break;
		}
		default:
			return bad(c, "malformed response: %s", "bad escape in a string");
		}
	}
	return bad(c, "malformed response: %s", "unterminated string");
}

/*
 * A JSON number.  Up to 19 significant digits accumulate exactly; with a
 * mantissa below 2^53 and a power of ten up to 22 one multiplication or
 * division is exact (Clinger's fast path); the rest goes to strtod.
 */
static int num(struct cur *c, double *out)
{
	const char *s, *q;
	uint64_t m = 0;
	int digits = 0, exp10 = 0, neg = 0, any = 0;

	ws(c);
	s = q = c->p;

	if (q < c->end && *q == '-') {
		neg = 1;
		q++;
	}
	if (q < c->end && *q == '0') {
		q++;
		any = 1;
	} else {
		while (q < c->end && *q >= '0' && *q <= '9') {
			if (digits < 19) {
				m = m * 10 + (uint64_t)(*q - '0');
				digits += m != 0;
			} else {
				exp10++;
			}
			q++;
			any = 1;
		}
	}
	if (!any)
		return bad(c, "malformed response: %s", "a number was expected");
	if (q < c->end && *q == '.') {
		q++;
		if (q >= c->end || *q < '0' || *q > '9')
			return bad(c, "malformed response: %s", "bad number");
		while (q < c->end && *q >= '0' && *q <= '9') {
			if (digits < 19) {
				m = m * 10 + (uint64_t)(*q - '0');
				digits += m != 0;
				exp10--;
			}
			q++;
		}
	}
	if (q < c->end && (*q == 'e' || *q == 'E')) {
		int eneg = 0, e = 0;

		q++;
		if (q < c->end && (*q == '+' || *q == '-'))
			eneg = *q++ == '-';
		if (q >= c->end || *q < '0' || *q > '9')
			return bad(c, "malformed response: %s", "bad number");
		while (q < c->end && *q >= '0' && *q <= '9') {
			if (e < 100000)
				e = e * 10 + (*q - '0');
			q++;
		}
		exp10 += eneg ? -e : e;
	}
	c->p = q;
	if (digits < 19 && m <= (1ull << 53) && exp10 >= -22 && exp10 <= 22) {
		double d = (double)m;

		d = exp10 < 0 ? d / p10[-exp10] : d * p10[exp10];
		*out = neg ? -d : d;
		return 0;
	}
	{
		char tmp[64], *end;
		size_t len = (size_t)(q - s);

		if (len >= sizeof(tmp)) {
			char *big = xstrndup(s, len);

			*out = strtod(big, NULL);
			free(big);
			return 0;
		}
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		*out = strtod(tmp, &end);
	}
	return 0;
}

static int skip(struct cur *c, int depth);

/* A value that is a number, null (NaN) or one of the strings "inf", "-inf", "nan". */
static int num_or_null(struct cur *c, double *out)
{
	int ch = peek(c);

	if (ch == 'n') {
		*out = NAN;
		return lit(c, "null") ? bad(c, "malformed response: %s", "bad literal") : 0;
	}
	if (ch == '"') {
		struct strbuf sb = STRBUF_INIT;
		int rc = str(c, &sb);
		const char *t = strbuf_str(&sb);

		if (!rc) {
			if (!strcmp(t, "inf") || !strcmp(t, "+inf") || !strcmp(t, "Infinity"))
				*out = INFINITY;
			else if (!strcmp(t, "-inf") || !strcmp(t, "-Infinity"))
				*out = -INFINITY;
			else if (!strcmp(t, "nan") || !strcmp(t, "NaN"))
				*out = NAN;
			else
				rc = bad(c, "malformed response: %s", "a number was expected");
		}
		strbuf_release(&sb);
		return rc;
	}
	return num(c, out);
}

static int skip(struct cur *c, int depth)
{
	int ch = peek(c);
	double d;

	if (depth > 64)
		return bad(c, "malformed response: %s", "nested too deeply");
	switch (ch) {
	case '"':
		return str(c, NULL);
	case '{':
		c->p++;
		if (eat(c, '}'))
			return 0;
		do {
			if (str(c, NULL) || !eat(c, ':') || skip(c, depth + 1))
				return bad(c, "malformed response: %s", "bad object");
		} while (eat(c, ','));
		return eat(c, '}') ? 0 : bad(c, "malformed response: %s", "'}' expected");
	case '[':
		c->p++;
		if (eat(c, ']'))
			return 0;
		do {
			if (skip(c, depth + 1))
				return -1;
		} while (eat(c, ','));
		return eat(c, ']') ? 0 : bad(c, "malformed response: %s", "']' expected");
	case 't':
		return lit(c, "true") ? bad(c, "malformed response: %s", "bad literal") : 0;
	case 'f':
		return lit(c, "false") ? bad(c, "malformed response: %s", "bad literal") : 0;
	case 'n':
		return lit(c, "null") ? bad(c, "malformed response: %s", "bad literal") : 0;
	default:
		if (ch == '-' || (ch >= '0' && ch <= '9'))
			return num(c, &d);
		return bad(c, "malformed response: %s", ch < 0 ? "unexpected end of line" : "unexpected character");
	}
}

/* An array of exactly n numbers/nulls into out (NULL: parse and drop). */
static int num_array(struct cur *c, const char *key, double *out, size_t n)
{
	size_t k = 0;
	double d;

	if (peek(c) == 'n')
		return lit(c, "null") ? bad(c, "malformed response: %s", "bad literal") : 0;
	if (!eat(c, '['))
		return vigil_error_set(c->err, VIGIL_E_PLUGIN, "malformed response: '%s' must be an array", key);
	if (!eat(c, ']')) {
		do {
			if (num_or_null(c, &d))
				return vigil_error_prefix(c->err, "'%s'[%zu]", key, k);
			if (k < n && out)
				out[k] = d;
			k++;
		} while (eat(c, ','));
		if (!eat(c, ']'))
			return vigil_error_set(c->err, VIGIL_E_PLUGIN, "malformed response: '%s': ']' expected", key);
	}
	if (k != n)
		return vigil_error_set(c->err, VIGIL_E_PLUGIN,
		                       "malformed response: '%s' has %zu values for a series of %zu points", key, k, n);
	return 0;
}

static int index_of(struct cur *c, size_t n, size_t *out)
{
	double d;

	if (num(c, &d))
		return -1;
	if (!(d >= 0) || d != floor(d) || d >= (double)n)
		return vigil_error_set(c->err, VIGIL_E_PLUGIN,
		                       "malformed response: anomaly index %g is not a point of the series (0..%zu)",
		                       d, n ? n - 1 : 0);
	*out = (size_t)d;
	return 0;
}

/* One member of "anomalies": an index, or {"index": i, "reason": ..., "expected": ..., ...}. */
static int anomaly(struct cur *c, size_t n, struct detection *det)
{
	struct strbuf key = STRBUF_INIT, reason = STRBUF_INIT;
	size_t i = 0;
	int have_i = 0, have_reason = 0, rc = -1;
	double exp_v = NAN, lo = NAN, hi = NAN, score = NAN;

	if (peek(c) != '{') {
		if (index_of(c, n, &i))
			return -1;
		det->r.anomaly[i] = 1;
		return 0;
	}
	c->p++;
	if (!eat(c, '}')) {
		do {
			strbuf_reset(&key);
			if (str(c, &key) || !eat(c, ':'))
				goto out;
			if (!strcmp(key.buf, "index")) {
				if (index_of(c, n, &i))
					goto out;
				have_i = 1;
			} else if (!strcmp(key.buf, "reason") && peek(c) == '"') {
				strbuf_reset(&reason);
				if (str(c, &reason))
					goto out;
				have_reason = 1;
			} else if (!strcmp(key.buf, "expected")) {
				if (num_or_null(c, &exp_v))
					goto out;
			} else if (!strcmp(key.buf, "lower")) {
				if (num_or_null(c, &lo))
					goto out;
			} else if (!strcmp(key.buf, "upper")) {
				if (num_or_null(c, &hi))
					goto out;
			} else if (!strcmp(key.buf, "score")) {
				if (num_or_null(c, &score))
					goto out;
			} else if (skip(c, 1)) {
				goto out;
			}
		} while (eat(c, ','));
		if (!eat(c, '}')) {
			bad(c, "malformed response: %s", "'}' expected in an anomaly");
			goto out;
		}
	}
	if (!have_i) {
		bad(c, "malformed response: %s", "an anomaly has no \"index\"");
		goto out;
	}
	det->r.anomaly[i] = 1;
	if (!isnan(exp_v))
		det->r.expected[i] = exp_v;
	if (!isnan(lo))
		det->r.lower[i] = lo;
	if (!isnan(hi))
		det->r.upper[i] = hi;
	if (!isnan(score))
		det->r.score[i] = score;
	if (have_reason) {
		if (reason.len > 255)
			reason.buf[255] = '\0';
		detection_set_reason(det, i, reason.buf);
	}
	rc = 0;
out:
	strbuf_release(&key);
	strbuf_release(&reason);
	return rc;
}

/* "error": {"message": "..."} (or a bare string) into msg. */
static int error_object(struct cur *c, struct strbuf *msg)
{
	struct strbuf key = STRBUF_INIT;
	int rc = -1;

	if (peek(c) == '"') {
		rc = str(c, msg);
		goto out;
	}
	if (!eat(c, '{')) {
		bad(c, "malformed response: %s", "\"error\" must be an object with a \"message\"");
		goto out;
	}
	if (!eat(c, '}')) {
		do {
			strbuf_reset(&key);
			if (str(c, &key) || !eat(c, ':'))
				goto out;
			if (!strcmp(key.buf, "message") && peek(c) == '"') {
				strbuf_reset(msg);
				if (str(c, msg))
					goto out;
			} else if (skip(c, 1)) {
				goto out;
			}
		} while (eat(c, ','));
		if (!eat(c, '}')) {
			bad(c, "malformed response: %s", "'}' expected in \"error\"");
			goto out;
		}
	}
	rc = 0;
out:
	strbuf_release(&key);
	return rc;
}

int exec_proto_detect_response(const char *line, size_t len, uint64_t want_id, size_t n,
                               size_t min_history, struct detection *det, struct vigil_error *err)
{
	struct cur c = { .p = line, .end = line + len, .err = err };
	struct strbuf key = STRBUF_INIT, emsg = STRBUF_INIT;
	int have_id = 0, have_err = 0, have_warmup = 0, rc = -1;
	double id = -1, warmup = 0;

	if (!eat(&c, '{')) {
		bad(&c, "malformed response: %s", "not a JSON object");
		goto out;
	}
	if (!eat(&c, '}')) {
		do {
			strbuf_reset(&key);
			if (str(&c, &key) || !eat(&c, ':')) {
				bad(&c, "malformed response: %s", "bad object");
				goto out;
			}
			if (!strcmp(key.buf, "id")) {
				if (num(&c, &id))
					goto out;
				have_id = 1;
			} else if (!strcmp(key.buf, "scores")) {
				if (num_array(&c, "scores", det->r.score, n))
					goto out;
			} else if (!strcmp(key.buf, "expected")) {
				if (num_array(&c, "expected", det->r.expected, n))
					goto out;
			} else if (!strcmp(key.buf, "lower")) {
				if (num_array(&c, "lower", det->r.lower, n))
					goto out;
			} else if (!strcmp(key.buf, "upper")) {
				if (num_array(&c, "upper", det->r.upper, n))
					goto out;
			} else if (!strcmp(key.buf, "warmup")) {
				if (num(&c, &warmup))
					goto out;
				if (!(warmup >= 0) || warmup != floor(warmup)) {
					bad(&c, "malformed response: %s", "\"warmup\" must be an integer >= 0");
					goto out;
				}
				have_warmup = 1;
			} else if (!strcmp(key.buf, "anomalies")) {
				if (peek(&c) == 'n') {
					if (skip(&c, 0))
						goto out;
					continue;
				}
				if (!eat(&c, '[')) {
					bad(&c, "malformed response: %s", "\"anomalies\" must be an array");
					goto out;
				}
				if (!eat(&c, ']')) {
					do {
						if (anomaly(&c, n, det))
							goto out;
					} while (eat(&c, ','));
					if (!eat(&c, ']')) {
						bad(&c, "malformed response: %s", "']' expected after the anomalies");
						goto out;
					}
				}
			} else if (!strcmp(key.buf, "error")) {
				if (peek(&c) == 'n') {
					if (skip(&c, 0))
						goto out;
					continue;
				}
				if (error_object(&c, &emsg))
					goto out;
				have_err = 1;
			} else if (skip(&c, 0)) {
				goto out;
			}
		} while (eat(&c, ','));
		if (!eat(&c, '}')) {
			bad(&c, "malformed response: %s", "'}' or ',' expected");
			goto out;
		}
	}
	if (peek(&c) != -1) {
		bad(&c, "malformed response: %s", "text after the JSON object");
		goto out;
	}
	if (!have_id) {
		bad(&c, "malformed response: %s", "no \"id\"");
		goto out;
	}
	if (id != (double)want_id) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "response has id %.17g, expected %llu (out of step)", id,
		                (unsigned long long)want_id);
		goto out;
	}
	if (have_err) {
		char esc[512];

		vigil_error_set(err, VIGIL_E_PLUGIN, "%s",
		                log_escape(esc, sizeof(esc), emsg.len ? emsg.buf : "failed without a message"));
		goto out;
	}
	det->r.warmup = have_warmup ? (size_t)fmin(warmup, (double)n) : min_history < n ? min_history : n;
	rc = 0;
out:
	strbuf_release(&key);
	strbuf_release(&emsg);
	return rc;
}

json_t *exec_proto_describe_response(const char *line, size_t len, uint64_t want_id, int *explains,
                                     struct vigil_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *id, *dets, *e;

	if (!root) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "malformed describe response: %s", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "malformed describe response: not a JSON object");
		goto fail;
	}
	id = json_object_get(root, "id");
	if (!json_is_integer(id) || (uint64_t)json_integer_value(id) != want_id) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "describe response has %s id, expected %llu",
		                json_is_integer(id) ? "another" : "no", (unsigned long long)want_id);
		goto fail;
	}
	if ((e = json_object_get(root, "error")) && !json_is_null(e)) {
		json_t *m = json_object_get(e, "message");

		vigil_error_set(err, VIGIL_E_PLUGIN, "describe failed: %s",
		                json_is_string(m) ? json_string_value(m) : json_is_string(e) ? json_string_value(e)
		                : "(no message)");
		goto fail;
	}
	*explains = json_is_true(json_object_get(root, "explain"));
	dets = json_object_get(root, "detectors");
	if (*explains && !dets)
		dets = json_object_set_new(root, "detectors", json_array()) ? NULL : json_object_get(root, "detectors");
	if (!json_is_array(dets) || (!json_array_size(dets) && !*explains)) {
		vigil_error_set(err, VIGIL_E_PLUGIN, "malformed describe response: \"detectors\" must be a "
		                "non-empty array");
		goto fail;
	}
	json_incref(dets);
	json_decref(root);
	return dets;
fail:
	json_decref(root);
	return NULL;
}

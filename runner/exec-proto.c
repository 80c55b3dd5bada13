/*
 * exec-proto.c - encode requests and decode responses of the external
 * detector protocol (docs/exec-protocol.md).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec-proto.h"
#include "jsonscan.h"
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

/* --- decoding the detect response: jsonscan over one line ------------------ */

/* A jsonscan failure as the reason ("malformed response: invalid JSON at byte 12: ..."). */
static int scan_failed(struct jscan *js, struct vigil_error *err)
{
	return vigil_error_set(err, VIGIL_E_PLUGIN, "malformed response: %s",
	                       js->failed ? js->msg : "invalid JSON");
}

static int bad(struct vigil_error *err, const char *what)
{
	return vigil_error_set(err, VIGIL_E_PLUGIN, "malformed response: %s", what);
}

/* A JSON number as a double (the type checked first, for a clear reason). */
static int number(struct jscan *js, double *out, struct vigil_error *err)
{
	enum jtype t = jscan_peek(js);

	if (t == JT_ERROR)
		return scan_failed(js, err);
	if (t != JT_NUMBER)
		return bad(err, "a number was expected");
	return jscan_double(js, out) ? scan_failed(js, err) : 0;
}

/* A value that is a number, null (NaN) or one of the strings "inf", "-inf", "nan" (and spellings). */
static int num_or_null(struct jscan *js, double *out, struct vigil_error *err)
{
	const char *t;
	size_t len;

	switch (jscan_peek(js)) {
	case JT_NUMBER:
		return jscan_double(js, out) ? scan_failed(js, err) : 0;
	case JT_NULL:
		*out = NAN;
		return jscan_null(js) ? scan_failed(js, err) : 0;
	case JT_STRING:
		if (jscan_string(js, &t, &len))
			return scan_failed(js, err);
		if (jscan_key_is(t, len, "inf") || jscan_key_is(t, len, "+inf") || jscan_key_is(t, len, "Infinity"))
			*out = INFINITY;
		else if (jscan_key_is(t, len, "-inf") || jscan_key_is(t, len, "-Infinity"))
			*out = -INFINITY;
		else if (jscan_key_is(t, len, "nan") || jscan_key_is(t, len, "NaN"))
			*out = NAN;
		else
			return bad(err, "a number was expected");
		return 0;
	case JT_ERROR:
		return scan_failed(js, err);
	default:
		return bad(err, "a number was expected");
	}
}

/* An array of exactly n numbers/nulls into out (or null: nothing). */
static int num_array(struct jscan *js, const char *key, double *out, size_t n, struct vigil_error *err)
{
	enum jtype t = jscan_peek(js);
	size_t k = 0;
	int r;

	if (t == JT_NULL)
		return jscan_null(js) ? scan_failed(js, err) : 0;
	if (t != JT_ARRAY)
		return vigil_error_set(err, VIGIL_E_PLUGIN, "malformed response: '%s' must be an array", key);
	jscan_array(js);
	/* Numbers and nulls in one loop; anything else (the strings "inf", ...) one by one. */
	while ((r = jscan_doubles(js, out, n, &k)) > 0) {
		double d;

		if (num_or_null(js, &d, err))
			return vigil_error_prefix(err, "'%s'[%zu]", key, k);
		if (k < n)
			out[k] = d;
		k++;
	}
	if (r < 0)
		return scan_failed(js, err), vigil_error_prefix(err, "'%s'[%zu]", key, k);
	if (k != n)
		return vigil_error_set(err, VIGIL_E_PLUGIN,
		                       "malformed response: '%s' has %zu values for a series of %zu points", key, k, n);
	return 0;
}

static int index_of(struct jscan *js, size_t n, size_t *out, struct vigil_error *err)
{
	double d;

	if (number(js, &d, err))
		return -1;
	if (!(d >= 0) || d != floor(d) || d >= (double)n)
		return vigil_error_set(err, VIGIL_E_PLUGIN,
		                       "malformed response: anomaly index %g is not a point of the series (0..%zu)",
		                       d, n ? n - 1 : 0);
	*out = (size_t)d;
	return 0;
}

/* One member of "anomalies": an index, or {"index": i, "reason": ..., "expected": ..., ...}. */
static int anomaly(struct jscan *js, size_t n, struct detection *det, struct vigil_error *err)
{
	struct strbuf reason = STRBUF_INIT;
	size_t i = 0;
	int have_i = 0, have_reason = 0, rc = -1, r;
	double exp_v = NAN, lo = NAN, hi = NAN, score = NAN, rarity = NAN;
	const char *k;
	size_t klen;

	if (jscan_peek(js) != JT_OBJECT) {
		if (index_of(js, n, &i, err))
			return -1;
		det->r.anomaly[i] = 1;
		return 0;
	}
	jscan_object(js);
	while ((r = jscan_key(js, &k, &klen)) > 0) {
		if (jscan_key_is(k, klen, "index")) {
			if (index_of(js, n, &i, err))
				goto out;
			have_i = 1;
		} else if (jscan_key_is(k, klen, "reason") && jscan_peek(js) == JT_STRING) {
			const char *t;
			size_t len;

			if (jscan_string(js, &t, &len))
				break;
			strbuf_reset(&reason);
			strbuf_add(&reason, t, len);
			have_reason = 1;
		} else if (jscan_key_is(k, klen, "expected")) {
			if (num_or_null(js, &exp_v, err))
				goto out;
		} else if (jscan_key_is(k, klen, "lower")) {
			if (num_or_null(js, &lo, err))
				goto out;
		} else if (jscan_key_is(k, klen, "upper")) {
			if (num_or_null(js, &hi, err))
				goto out;
		} else if (jscan_key_is(k, klen, "score")) {
			if (num_or_null(js, &score, err))
				goto out;
		} else if (jscan_key_is(k, klen, "rarity")) {   /* optional: -log10 of the tail probability */
			if (num_or_null(js, &rarity, err))
				goto out;
		} else if (jscan_skip(js)) {
			break;
		}
	}
	if (js->failed) {
		scan_failed(js, err);
		goto out;
	}
	if (!have_i) {
		bad(err, "an anomaly has no \"index\"");
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
	if (!isnan(rarity) && rarity >= 0 && det->r.rarity)
		det->r.rarity[i] = rarity;
	if (have_reason) {
		if (reason.len > 255)
			reason.buf[255] = '\0';
		detection_set_reason(det, i, reason.buf);
	}
	rc = 0;
out:
	strbuf_release(&reason);
	return rc;
}

/* "error": {"message": "..."} (or a bare string) into msg. */
static int error_object(struct jscan *js, struct strbuf *msg, struct vigil_error *err)
{
	const char *k, *t;
	size_t klen, len;
	int r;

	if (jscan_peek(js) == JT_STRING) {
		if (jscan_string(js, &t, &len))
			return scan_failed(js, err);
		strbuf_add(msg, t, len);
		return 0;
	}
	if (jscan_peek(js) == JT_ERROR)
		return scan_failed(js, err);
	if (jscan_peek(js) != JT_OBJECT)
		return bad(err, "\"error\" must be an object with a \"message\"");
	jscan_object(js);
	while ((r = jscan_key(js, &k, &klen)) > 0) {
		if (jscan_key_is(k, klen, "message") && jscan_peek(js) == JT_STRING) {
			if (jscan_string(js, &t, &len))
				break;
			strbuf_reset(msg);
			strbuf_add(msg, t, len);
		} else if (jscan_skip(js)) {
			break;
		}
	}
	return js->failed ? scan_failed(js, err) : 0;
}

/* The members of the response object into det; -1 with err set. */
static int detect_members(struct jscan *js, size_t n, struct detection *det, double *id, int *have_id,
                          double *warmup, int *have_warmup, struct strbuf *emsg, int *have_err,
                          struct vigil_error *err)
{
	const char *k;
	size_t klen;
	int r;

	while ((r = jscan_key(js, &k, &klen)) > 0) {
		if (jscan_key_is(k, klen, "id")) {
			if (number(js, id, err))
				return -1;
			*have_id = 1;
		} else if (jscan_key_is(k, klen, "scores")) {
			if (num_array(js, "scores", det->r.score, n, err))
				return -1;
		} else if (jscan_key_is(k, klen, "expected")) {
			if (num_array(js, "expected", det->r.expected, n, err))
				return -1;
		} else if (jscan_key_is(k, klen, "lower")) {
			if (num_array(js, "lower", det->r.lower, n, err))
				return -1;
		} else if (jscan_key_is(k, klen, "rarity") && det->r.rarity) {   /* optional, any version */
			if (num_array(js, "rarity", det->r.rarity, n, err))
				return -1;
		} else if (jscan_key_is(k, klen, "upper")) {
			if (num_array(js, "upper", det->r.upper, n, err))
				return -1;
		} else if (jscan_key_is(k, klen, "warmup")) {
			if (number(js, warmup, err))
				return -1;
			if (!(*warmup >= 0) || *warmup != floor(*warmup))
				return bad(err, "\"warmup\" must be an integer >= 0");
			*have_warmup = 1;
		} else if (jscan_key_is(k, klen, "anomalies")) {
			enum jtype t = jscan_peek(js);

			if (t == JT_NULL) {
				jscan_null(js);
				continue;
			}
			if (t != JT_ARRAY)
				return t == JT_ERROR ? scan_failed(js, err) : bad(err, "\"anomalies\" must be an array");
			jscan_array(js);
			while ((r = jscan_next(js)) > 0)
				if (anomaly(js, n, det, err))
					return -1;
			if (r < 0)
				return scan_failed(js, err);
		} else if (jscan_key_is(k, klen, "error")) {
			if (jscan_peek(js) == JT_NULL) {
				jscan_null(js);
				continue;
			}
			if (error_object(js, emsg, err))
				return -1;
			*have_err = 1;
		} else if (jscan_skip(js)) {
			return scan_failed(js, err);
		}
	}
	return r < 0 ? scan_failed(js, err) : 0;
}

int exec_proto_detect_response(const char *line, size_t len, uint64_t want_id, size_t n,
                               size_t min_history, struct detection *det, struct vigil_error *err)
{
	struct jscan js;
	struct strbuf emsg = STRBUF_INIT;
	int have_id = 0, have_err = 0, have_warmup = 0, rc = -1;
	double id = -1, warmup = 0;

	jscan_init(&js, line, len);
	if (jscan_peek(&js) != JT_OBJECT) {
		bad(err, "not a JSON object");
		goto out;
	}
	jscan_object(&js);
	if (detect_members(&js, n, det, &id, &have_id, &warmup, &have_warmup, &emsg, &have_err, err))
		goto out;
	if (jscan_peek(&js) != JT_END) {
		bad(err, "text after the JSON object");
		goto out;
	}
	if (!have_id) {
		bad(err, "no \"id\"");
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
	jscan_release(&js);
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

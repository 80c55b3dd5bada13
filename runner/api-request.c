/* api-request.c - strict checks of the raw HTTP request (see api-request.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api-request.h"
#include "banned.h"

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Decode s[0..len) (percent escapes; '+' is a space when plus is set) into
 * out (at most out_size - 1 bytes kept, the rest only checked).  Returns the
 * decoded length, or -1 with msg set.
 */
static long decode(const char *s, size_t len, int plus, const char *what, char *out, size_t out_size,
                   char *msg, size_t msg_size)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (len - i < 3) {
				snprintf(msg, msg_size, "malformed %%-escape in the %s", what);
				return -1;
			}
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0) {
				snprintf(msg, msg_size, "malformed %%-escape in the %s", what);
				return -1;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus) {
			c = ' ';
		}
		if (is_control(c)) {
			snprintf(msg, msg_size, "control character in the %s", what);
			return -1;
		}
		if (out && n + 1 < out_size)
			out[n] = (char)c;
		n++;
	}
	if (out && out_size)
		out[n < out_size ? n : out_size - 1] = '\0';
	return (long)n;
}

int api_target_check(const char *target, size_t len, char *msg, size_t msg_size)
{
	char names[API_MAX_PARAMS][64];
	size_t name_len[API_MAX_PARAMS], n_params = 0, path_len, i;
	const char *q;

	if (!len || target[0] != '/') {
		snprintf(msg, msg_size, "the request target must be a path starting with '/'");
		return -1;
	}
	q = memchr(target, '?', len);
	path_len = q ? (size_t)(q - target) : len;
	if (decode(target, path_len, 0, "path", NULL, 0, msg, msg_size) < 0)
		return -1;
	if (!q)
		return 0;
	for (i = path_len + 1; i <= len;) {
		const char *p = target + i, *amp = memchr(p, '&', len - i), *eq;
		size_t plen = amp ? (size_t)(amp - p) : len - i, klen;
		char name[64];
		long dlen;

		i += plen + 1;
		if (!plen)
			continue;
		eq = memchr(p, '=', plen);
		klen = eq ? (size_t)(eq - p) : plen;
		dlen = decode(p, klen, 1, "query", name, sizeof(name), msg, msg_size);
		if (dlen < 0)
			return -1;
		if (eq && decode(eq + 1, plen - klen - 1, 1, "query", NULL, 0, msg, msg_size) < 0)
			return -1;
		if (dlen >= (long)sizeof(name)) {
			snprintf(msg, msg_size, "query parameter name longer than %zu bytes", sizeof(name) - 1);
			return -1;
		}
		for (size_t k = 0; k < n_params; k++) {
			if (name_len[k] == (size_t)dlen && !memcmp(names[k], name, (size_t)dlen)) {
				for (char *c = name; *c; c++)
					if ((unsigned char)*c >= 0x80 || *c == '\'' || *c == '\\')
						*c = '?';  /* the message goes into JSON as is */
				snprintf(msg, msg_size, "query parameter '%s' given more than once", name);
				return -1;
			}
		}
		if (n_params == API_MAX_PARAMS) {
			snprintf(msg, msg_size, "more than %d query parameters", API_MAX_PARAMS);
			return -1;
		}
		memcpy(names[n_params], name, (size_t)dlen + 1);
		name_len[n_params++] = (size_t)dlen;
	}
	return 0;
}

int api_parse_int(const char *s, long long lo, long long hi, long long *v)
{
	unsigned long long x = 0, limit;
	int neg = 0;
	const char *p = s;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (!*p || strlen(p) > 19)
		return -1;
	limit = neg ? 9223372036854775808ull : 9223372036854775807ull;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (x > (limit - (unsigned long long)(*p - '0')) / 10)
			return -1;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	{
		long long r = neg ? (x == 9223372036854775808ull ? (-9223372036854775807LL - 1) : -(long long)x)
		                  : (long long)x;

		if (r < lo || r > hi)
			return -1;
		*v = r;
	}
	return 0;
}

int api_token_equal_n(const char *given, size_t lg, const char *expected, size_t le)
{
	size_t n = lg > le ? lg : le;
	unsigned char diff = lg != le;

	/* every byte of the longer string is looked at, whatever the first difference */
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(i < lg ? given[i] : 0) ^ (unsigned char)(i < le ? expected[i] : 0);
	return diff == 0;
}

int api_bearer_matches(const char *value, size_t len, const char *expected)
{
	if (len < 7 || strncasecmp(value, "Bearer ", 7))
		return 0;
	return api_token_equal_n(value + 7, len - 7, expected, strlen(expected));
}
